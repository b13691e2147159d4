//! The MFA store: pending secrets, enable and disable as compare-and-swap
//! steps, and codes that are spent once, even by many logins at once.

use futures_util::future::join_all;
use gatehouse_domain::*;

use super::support::*;
use crate::ports::*;

fn enable(user_id: gatehouse_domain::UserId, pending: &[u8], codes: &[&str]) -> MfaEnable {
    MfaEnable {
        user_id,
        pending: pending.to_vec(),
        spent_step: 100,
        backup_codes: codes.iter().map(|c| (*c).to_owned()).collect(),
        keep_session: gatehouse_domain::SessionId::new(),
        audit: audit(AuditKind::MfaEnabled, user_id),
        notice: mail_to("mfa@example.com", at(0)),
    }
}

fn disable(user_id: gatehouse_domain::UserId) -> MfaDisable {
    MfaDisable {
        user_id,
        audit: audit(AuditKind::MfaDisabled, user_id),
        notice: mail_to("mfa@example.com", at(0)),
    }
}

/// Setup keeps a pending secret until enable; enable takes only the pending
/// secret it was checked against; with MFA on, setup and enable change
/// nothing; disable forgets everything, once.
pub async fn mfa_turns_on_and_off_as_compare_and_swap<S: UserStore + MfaStore>(store: &S) {
    let id = user(store, "mfa@example.com").await;
    assert!(!store.mfa_state(id).await.unwrap().enabled);
    assert!(store.set_pending_totp(id, vec![1; 8]).await.unwrap());
    assert!(
        store.set_pending_totp(id, vec![2; 8]).await.unwrap(),
        "replaced"
    );
    assert!(
        !store
            .enable_totp(enable(id, &[1; 8], &["a"]))
            .await
            .unwrap(),
        "a replaced secret enables nothing"
    );
    assert!(!store.mfa_state(id).await.unwrap().enabled);
    assert!(
        store
            .enable_totp(enable(id, &[2; 8], &["a", "b"]))
            .await
            .unwrap()
    );
    let state = store.mfa_state(id).await.unwrap();
    assert!(state.enabled);
    assert_eq!(state.secret.as_deref(), Some(&[2; 8][..]));
    assert_eq!(state.pending, None);
    assert!(store.find_user(id).await.unwrap().unwrap().mfa_enabled);

    assert!(
        !store.set_pending_totp(id, vec![3; 8]).await.unwrap(),
        "MFA is on"
    );
    assert!(
        !store
            .enable_totp(enable(id, &[2; 8], &["c"]))
            .await
            .unwrap()
    );

    assert!(store.disable_totp(disable(id)).await.unwrap());
    assert!(
        !store.disable_totp(disable(id)).await.unwrap(),
        "already off"
    );
    let state = store.mfa_state(id).await.unwrap();
    assert!(!state.enabled && state.secret.is_none() && state.pending.is_none());
    assert!(
        !store
            .spend_backup_code(id, &["a".into()], at(1))
            .await
            .unwrap(),
        "codes go with it"
    );
}

/// A TOTP step is spent once, and never after a later one; a backup code
/// once, found by any of the digests given.
pub async fn codes_are_spent_once<S: UserStore + MfaStore>(store: &S) {
    let id = user(store, "codes@example.com").await;
    assert!(!store.spend_totp_step(id, 101).await.unwrap(), "MFA is off");
    store.set_pending_totp(id, vec![1; 8]).await.unwrap();
    store
        .enable_totp(enable(id, &[1; 8], &["a", "b"]))
        .await
        .unwrap();
    // The enabling code spent step 100.
    assert!(!store.spend_totp_step(id, 100).await.unwrap());
    assert!(store.spend_totp_step(id, 102).await.unwrap());
    assert!(!store.spend_totp_step(id, 102).await.unwrap(), "replay");
    assert!(
        !store.spend_totp_step(id, 101).await.unwrap(),
        "older than spent"
    );
    assert!(store.spend_totp_step(id, 103).await.unwrap());

    let under_two_keys = ["not-this".to_owned(), "b".to_owned()];
    assert!(
        store
            .spend_backup_code(id, &under_two_keys, at(1))
            .await
            .unwrap()
    );
    assert!(
        !store
            .spend_backup_code(id, &under_two_keys, at(2))
            .await
            .unwrap()
    );
    assert!(
        store
            .spend_backup_code(id, &["a".into()], at(3))
            .await
            .unwrap()
    );
    assert!(
        !store
            .spend_backup_code(id, &["zzz".into()], at(3))
            .await
            .unwrap()
    );
    let other = gatehouse_domain::UserId::new();
    assert!(
        !store
            .spend_backup_code(other, &["a".into()], at(3))
            .await
            .unwrap()
    );
}

/// Enabling MFA ends every session of the user but the one named: the
/// others were signed in without the new factor.
pub async fn enabling_mfa_ends_every_other_session<
    S: MfaStore + UserStore + crate::ports::SessionStore,
>(
    store: &S,
) {
    let id = user(store, "mfa-sessions@example.com").await;
    let (kept, other) = (new_session(id, 70), new_session(id, 71));
    let kept_id = kept.id;
    for session in [kept, other] {
        store
            .start_session(session, audit(AuditKind::LoginSucceeded, id))
            .await
            .unwrap();
    }
    assert!(store.set_pending_totp(id, vec![7; 8]).await.unwrap());
    let mut enabling = enable(id, &[7; 8], &["code-a"]);
    enabling.keep_session = kept_id;
    assert!(store.enable_totp(enabling).await.unwrap());
    let live: Vec<_> = store
        .live_sessions(id, at(1))
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(live, vec![kept_id]);
}

/// One TOTP step, and one backup code, each presented by many logins at
/// once: each works exactly once.
pub async fn one_code_many_logins_one_success<S: UserStore + MfaStore>(store: &S) {
    let id = user(store, "race-mfa@example.com").await;
    assert!(store.set_pending_totp(id, vec![9; 8]).await.unwrap());
    assert!(
        store
            .enable_totp(MfaEnable {
                user_id: id,
                pending: vec![9; 8],
                spent_step: 100,
                backup_codes: vec!["backup-1".into(), "backup-2".into()],
                keep_session: gatehouse_domain::SessionId::new(),
                audit: audit(AuditKind::MfaEnabled, id),
                notice: mail_to("race-mfa@example.com", at(0)),
            })
            .await
            .unwrap()
    );
    let steps = join_all((0..RACERS).map(|_| store.spend_totp_step(id, 101))).await;
    let spent = steps.iter().filter(|s| matches!(s, Ok(true))).count();
    assert_eq!(spent, 1, "one step, once: {steps:?}");
    let digests = vec!["backup-2".to_owned()];
    let codes = join_all((0..RACERS).map(|_| store.spend_backup_code(id, &digests, at(5)))).await;
    let spent = codes.iter().filter(|s| matches!(s, Ok(true))).count();
    assert_eq!(spent, 1, "one backup code, once: {codes:?}");
}

/// Removal (the support desk's) forgets the second factor whatever its
/// state, ends every session and moves the sessions epoch on (a sign-in
/// checked before it starts nothing), with the notice; an unknown user is
/// `false`, nothing written.
pub async fn removing_mfa_forgets_it_and_ends_every_session<
    S: UserStore + MfaStore + SessionStore + SignInStore + MailOutbox,
>(
    store: &S,
) {
    let (id, _) = user_with_session(store, "lost@example.com", 1).await;
    store
        .start_session(new_session(id, 2), audit(AuditKind::LoginSucceeded, id))
        .await
        .unwrap();
    store.set_pending_totp(id, vec![1; 8]).await.unwrap();
    store
        .enable_totp(enable(id, &[1; 8], &["a", "b"]))
        .await
        .unwrap();
    store.set_pending_totp(id, vec![2; 8]).await.unwrap();
    let email = Email::parse("lost@example.com").unwrap();
    let before = store
        .begin_login_attempt(&email, &attempt_on("a", rules(100, 100), 0))
        .await
        .unwrap()
        .sessions_epoch;
    let mails = pending(store).await.len();
    let removal = |user_id| MfaRemoval {
        user_id,
        at: at(5),
        audit: audit(AuditKind::MfaDisabled, user_id),
        notice: mail_to("lost@example.com", at(5)),
    };

    assert!(store.remove_mfa(removal(id)).await.unwrap());
    let state = store.mfa_state(id).await.unwrap();
    assert!(!state.enabled && state.secret.is_none() && state.pending.is_none());
    assert!(!store.find_user(id).await.unwrap().unwrap().mfa_enabled);
    assert!(
        !store
            .spend_backup_code(id, &["a".into()], at(6))
            .await
            .unwrap()
    );
    assert!(store.live_sessions(id, at(6)).await.unwrap().is_empty());
    let after = store
        .begin_login_attempt(&email, &attempt_on("a", rules(100, 100), 6))
        .await
        .unwrap()
        .sessions_epoch;
    assert!(after > before, "the epoch moved on");
    assert_eq!(
        pending(store).await.len(),
        1,
        "the notice (claimed earlier: {mails})"
    );

    assert!(
        store.remove_mfa(removal(id)).await.unwrap(),
        "again: still the user's"
    );
    assert!(!store.remove_mfa(removal(UserId::new())).await.unwrap());
}
