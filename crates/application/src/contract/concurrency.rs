//! The contract's races: many callers at once on one token, code, counter
//! or queue. Every future is started before any is awaited to completion
//! (`join_all`), so an adapter whose calls can run side by side does run
//! them side by side.

use std::collections::HashSet;
use std::time::Duration;

use futures_util::future::join_all;
use gatehouse_domain::{AuditEvent, AuditKind, ClientInfo, Email, PasswordHash};

use super::mail::mail_to;
use super::{at, attempt, audit, digest, new_session, new_user};
use crate::ports::{
    AccountTokenStore, Lockout, LoginFailure, LoginThrottleStore, MailOutbox, MailedToken,
    MfaEnable, MfaStore, PasswordReset, ResetRequest, RotationOutcome, SessionStore, Throttle,
    ThrottleKey, TokenPurpose, Transactional, UserStore,
};

const RACERS: u8 = 16;

/// Of many rotations of one current token, exactly one rotates; the family
/// gains exactly one token.
pub async fn concurrent_rotations_have_one_winner<S: UserStore + SessionStore + Transactional>(
    store: &S,
) {
    let user = new_user("race-rotate@example.com");
    let id = user.id;
    store
        .create_user(
            user,
            Some(new_session(id, 1)),
            audit(AuditKind::UserRegistered, id),
        )
        .await
        .unwrap();
    let outcomes =
        join_all((0..RACERS).map(|i| store.rotate_if_current(attempt(1, 100 + i, 5, 105)))).await;
    let rotated: Vec<u8> = outcomes
        .iter()
        .zip(100..)
        .filter(|(outcome, _)| matches!(outcome, Ok(RotationOutcome::Rotated(_))))
        .map(|(_, successor)| successor)
        .collect();
    assert_eq!(rotated.len(), 1, "one winner: {outcomes:?}");
    for outcome in &outcomes {
        assert!(
            matches!(
                outcome,
                Ok(RotationOutcome::Rotated(_) | RotationOutcome::Declined(_))
            ),
            "a loser is declined, never an error: {outcome:?}"
        );
    }
    // Only the winner's successor is current.
    for successor in 100..100 + RACERS {
        let next = store
            .rotate_if_current(attempt(successor, 200 + successor % 50, 6, 106))
            .await
            .unwrap();
        assert_eq!(
            matches!(next, RotationOutcome::Rotated(_)),
            successor == rotated[0],
            "successor {successor}: {next:?}"
        );
    }
}

/// A reset link spent by many requests at once resets once.
pub async fn a_reset_link_is_spent_once_under_a_race<S>(store: &S)
where
    S: UserStore + AccountTokenStore,
{
    let user = new_user("race-reset@example.com");
    let id = user.id;
    store
        .create_user(user, None, audit(AuditKind::UserRegistered, id))
        .await
        .unwrap();
    let mailed = store
        .request_password_reset(ResetRequest {
            email: Email::parse("race-reset@example.com").unwrap(),
            token: MailedToken {
                digest: digest(40),
                purpose: TokenPurpose::PasswordReset,
                created_at: at(0),
                expires_at: at(1_800),
                mail: mail_to("race-reset@example.com", at(0)),
            },
            throttle: Throttle {
                since: at(-3_600),
                max: 100,
            },
            audit: AuditEvent::new(
                AuditKind::PasswordResetRequested,
                at(0),
                None,
                &ClientInfo::default(),
            ),
        })
        .await
        .unwrap();
    assert!(mailed);
    let resets = join_all((0..RACERS).map(|i| {
        store.reset_password(PasswordReset {
            digest: digest(40),
            new_hash: PasswordHash::new(format!("$argon2id$race{i}")),
            at: at(10),
            audit: AuditEvent::new(
                AuditKind::PasswordReset,
                at(10),
                None,
                &ClientInfo::default(),
            ),
        })
    }))
    .await;
    let won: Vec<usize> = resets
        .iter()
        .enumerate()
        .filter(|(_, r)| matches!(r, Ok(Some(_))))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(won.len(), 1, "one reset: {resets:?}");
    assert!(resets.iter().all(Result::is_ok), "{resets:?}");
    let stored = store
        .find_credentials(&Email::parse("race-reset@example.com").unwrap())
        .await
        .unwrap()
        .unwrap()
        .password_hash;
    assert_eq!(stored.as_str(), format!("$argon2id$race{}", won[0]));
}

/// One TOTP step, and one backup code, each presented by many logins at
/// once: each works exactly once.
pub async fn one_code_many_logins_one_success<S: UserStore + MfaStore>(store: &S) {
    let user = new_user("race-mfa@example.com");
    let id = user.id;
    store
        .create_user(user, None, audit(AuditKind::UserRegistered, id))
        .await
        .unwrap();
    assert!(store.set_pending_totp(id, vec![9; 8]).await.unwrap());
    assert!(
        store
            .enable_totp(MfaEnable {
                user_id: id,
                pending: vec![9; 8],
                spent_step: 100,
                backup_codes: vec!["backup-1".into(), "backup-2".into()],
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

/// Failures counted at once are all counted: the lockout that follows is
/// the one for their total.
pub async fn concurrent_failures_are_all_counted<S: LoginThrottleStore>(store: &S) {
    let lockout = Lockout {
        max_failures: 3,
        first: Duration::from_secs(1),
        longest: Duration::from_secs(1 << 30),
    };
    let key = ThrottleKey("contract-race-key-0123456789".into());
    let failures = 20u32;
    let ends = join_all((0..failures).map(|_| {
        store.record_login_failure(LoginFailure {
            key: key.clone(),
            at: at(0),
            lockout,
            audit: AuditEvent::new(AuditKind::LoginFailed, at(0), None, &ClientInfo::default()),
        })
    }))
    .await;
    let expected = at(0) + chrono::Duration::from_std(lockout.after(failures).unwrap()).unwrap();
    let latest = ends
        .iter()
        .map(|end| end.as_ref().unwrap().unwrap_or(at(0)))
        .max()
        .unwrap();
    assert_eq!(latest, expected, "the last failure counts all {failures}");
    let lookup = store
        .find_login(&Email::parse("nobody@example.com").unwrap(), &key)
        .await
        .unwrap();
    assert_eq!(lookup.locked_until, Some(expected));
}

/// Many senders claiming at once never share a mail, and together take
/// every due one.
pub async fn concurrent_claims_never_share_a_mail<S: MailOutbox + Transactional>(store: &S) {
    use crate::ports::{OutboxTx, UnitOfWork};
    let mut queued = HashSet::new();
    let mut tx = store.begin().await.unwrap();
    for _ in 0..12 {
        let mail = mail_to("queue@example.com", at(0));
        queued.insert(mail.id);
        tx.enqueue(mail).await.unwrap();
    }
    tx.commit().await.unwrap();
    let claims = join_all((0..8).map(|_| store.claim_due_mail(at(1), at(600), 3))).await;
    let mut claimed = Vec::new();
    for claim in claims {
        claimed.extend(claim.unwrap().into_iter().map(|c| c.mail.id));
    }
    let distinct: HashSet<_> = claimed.iter().copied().collect();
    assert_eq!(distinct.len(), claimed.len(), "no mail claimed twice");
    assert_eq!(distinct, queued, "every due mail claimed");
}

/// Runs the whole store contract, one `#[tokio::test]` per case, against
/// the store `$store` makes from the fixture `$fixture` (built anew for
/// each test): `store_contract_tests!(MemoryStore::new(), |s| s.clone());`.
#[macro_export]
macro_rules! store_contract_tests {
    ($fixture:expr, |$f:ident| $store:expr) => {
        $crate::store_contract_tests!(@cases $fixture, $f, $store;
            accounts::users_are_created_once_and_found,
            accounts::password_hash_replacement_is_compare_and_swap,
            accounts::sessions_rotate_and_revoke,
            accounts::dropped_units_of_work_leave_no_trace,
            accounts::rotation_in_one_step_only_takes_current_tokens,
            accounts::session_liveness_comes_with_the_user,
            accounts::rolled_back_units_of_work_leave_no_trace,
            accounts::sessions_are_listed_and_ended_by_their_user,
            accounts::a_password_change_swaps_the_hash_and_ends_other_sessions,
            accounts::ending_a_session_erases_its_kept_successors,
            mail::the_outbox_claims_leases_and_settles,
            mail::reset_tokens_work_once,
            mail::verification_tokens_work_once,
            mfa::mfa_turns_on_and_off_as_compare_and_swap,
            mfa::codes_are_spent_once,
            concurrency::concurrent_rotations_have_one_winner,
            concurrency::a_reset_link_is_spent_once_under_a_race,
            concurrency::one_code_many_logins_one_success,
            concurrency::concurrent_failures_are_all_counted,
            concurrency::concurrent_claims_never_share_a_mail
        );
    };
    (@cases $fixture:expr, $f:ident, $store:expr; $($module:ident :: $case:ident),+) => {
        $(
            #[tokio::test]
            async fn $case() {
                let $f = $fixture;
                let store = $store;
                $crate::contract::$module::$case(&store).await;
            }
        )+
    };
}
