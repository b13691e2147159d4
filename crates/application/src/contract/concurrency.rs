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
    AccountTokenStore, AttemptKeys, AttemptRules, Lockout, LoginAttempt, LoginThrottleStore,
    MailOutbox, MailedToken, MfaEnable, MfaStore, PasswordReset, ResetRequest, RotationOutcome,
    SessionStore, Throttle, ThrottleKey, TokenPurpose, Transactional, UserStore,
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
            throttle_account: crate::ports::ThrottleKey("contract-reset-account-0123".into()),
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

fn attempt_on(network: &str, rules: AttemptRules, at_secs: i64) -> LoginAttempt {
    LoginAttempt {
        id: uuid::Uuid::now_v7(),
        keys: AttemptKeys {
            network: ThrottleKey(format!("contract-net-{network}-0123456789")),
            account: ThrottleKey("contract-account-0123456789".into()),
        },
        at: at(at_secs),
        rules,
    }
}

fn rules(per_network: u32, per_account: u32) -> AttemptRules {
    let rule = |max_failures| Lockout {
        max_failures,
        first: Duration::from_secs(10),
        longest: Duration::from_secs(1 << 30),
    };
    AttemptRules {
        per_network: rule(per_network),
        per_account: rule(per_account),
    }
}

/// Of many attempts started at once on one account and network, exactly
/// as many are let in as the network's counter allows; the rest are
/// refused before anything is checked. Another network is still let in.
pub async fn concurrent_attempts_are_let_in_up_to_the_limit<S: LoginThrottleStore>(store: &S) {
    let email = Email::parse("nobody@example.com").unwrap();
    let rules = rules(5, 100);
    let begun = join_all((0..40).map(|_| async {
        store
            .begin_login_attempt(&email, &attempt_on("a", rules, 0))
            .await
            .unwrap()
    }))
    .await;
    let let_in = begun.iter().filter(|b| b.locked_until.is_none()).count();
    assert_eq!(let_in, 5, "at most the limit is let in");
    assert!(
        begun
            .iter()
            .filter_map(|b| b.locked_until)
            .all(|until| until == at(10)),
        "the rest are told when the lockout ends"
    );
    let elsewhere = store
        .begin_login_attempt(&email, &attempt_on("b", rules, 1))
        .await
        .unwrap();
    assert!(
        elsewhere.locked_until.is_none(),
        "another network is let in"
    );
}

/// The account's own counter locks every network out, and a refund takes
/// an attempt back (below the threshold, the lockout too).
pub async fn the_account_counter_spans_networks_and_refunds_take_back<S: LoginThrottleStore>(
    store: &S,
) {
    let email = Email::parse("nobody@example.com").unwrap();
    let rules = rules(100, 3);
    for network in ["a", "b", "c"] {
        let begun = store
            .begin_login_attempt(&email, &attempt_on(network, rules, 0))
            .await
            .unwrap();
        assert!(begun.locked_until.is_none(), "{network} is let in");
    }
    let fourth = attempt_on("d", rules, 1);
    let refused = store.begin_login_attempt(&email, &fourth).await.unwrap();
    assert_eq!(
        refused.locked_until,
        Some(at(10)),
        "locked for every network"
    );
    // Refunding the third attempt brings the account below its threshold.
    store
        .refund_login_attempt(&attempt_on("c", rules, 0))
        .await
        .unwrap();
    let again = store.begin_login_attempt(&email, &fourth).await.unwrap();
    assert!(
        again.locked_until.is_none(),
        "let in again after the refund"
    );
}

/// After a lockout ends, the next attempt is let in and locks for twice
/// as long; a locked-out attempt extends nothing.
pub async fn a_lockout_doubles_once_it_has_ended<S: LoginThrottleStore>(store: &S) {
    let email = &Email::parse("nobody@example.com").unwrap();
    let rules = rules(2, 100);
    let try_at = |secs| async move {
        store
            .begin_login_attempt(email, &attempt_on("a", rules, secs))
            .await
            .unwrap()
            .locked_until
    };
    assert_eq!(try_at(0).await, None);
    assert_eq!(try_at(0).await, None, "the second reaches the threshold");
    assert_eq!(try_at(5).await, Some(at(10)));
    assert_eq!(try_at(10).await, None, "let in once the lockout ended");
    assert_eq!(try_at(11).await, Some(at(30)), "then locked for 20 s");
    assert_eq!(try_at(30).await, None);
    assert_eq!(try_at(30).await, Some(at(70)));
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
/// each test): `store_contract_tests!(TestDatabase::create().await, |db| db.store());`.
#[macro_export]
macro_rules! store_contract_tests {
    ($fixture:expr, |$f:ident| $store:expr) => {
        $crate::store_contract_tests!(@cases $fixture, $f, $store;
            accounts::users_are_created_once_and_found,
            accounts::password_hash_replacement_is_compare_and_swap,
            accounts::sessions_rotate_and_revoke,
            accounts::dropped_units_of_work_leave_no_trace,
            accounts::rotation_in_one_step_only_takes_current_tokens,
            accounts::a_replay_needs_its_successor_current,
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
            mfa::enabling_mfa_ends_every_other_session,
            concurrency::concurrent_rotations_have_one_winner,
            concurrency::a_reset_link_is_spent_once_under_a_race,
            concurrency::one_code_many_logins_one_success,
            concurrency::concurrent_attempts_are_let_in_up_to_the_limit,
            concurrency::the_account_counter_spans_networks_and_refunds_take_back,
            concurrency::a_lockout_doubles_once_it_has_ended,
            concurrency::a_sign_in_starts_only_on_what_it_checked,
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

/// A sign-in's session starts only if the account still has the password
/// hash and sessions epoch its check began with and is enabled; "sign out
/// everywhere" moves the epoch on. Anything else writes nothing.
pub async fn a_sign_in_starts_only_on_what_it_checked<
    S: LoginThrottleStore + UserStore + SessionStore + crate::ports::AdminStore,
>(
    store: &S,
) {
    use crate::ports::{RevokeReason, SessionRevocation, SessionStart, SignInGuard, UserUpdate};
    let user = new_user("guarded@example.com");
    let (id, hash) = (user.id, user.password_hash.clone());
    store
        .create_user(user, None, audit(AuditKind::UserRegistered, id))
        .await
        .unwrap();
    let email = Email::parse("guarded@example.com").unwrap();
    let rules = rules(1, 100);
    let begun = store
        .begin_login_attempt(&email, &attempt_on("a", rules, 0))
        .await
        .unwrap();
    assert!(begun.credentials.is_some() && begun.locked_until.is_none());
    let epoch = begun.sessions_epoch;
    let start = |token: u8, hash: &PasswordHash, epoch: i64| {
        let guard = SignInGuard {
            password_hash: hash.clone(),
            sessions_epoch: epoch,
        };
        async move {
            store
                .start_login_session(
                    new_session(id, token),
                    audit(AuditKind::LoginSucceeded, id),
                    &attempt_on("a", rules, 0).keys,
                    &guard,
                )
                .await
                .unwrap()
        }
    };
    let other_hash = PasswordHash::new("$argon2id$v=19$m=64,t=1,p=1$b3RoZXJzYWx0$b3RoZXI");
    assert_eq!(start(60, &other_hash, epoch).await, SessionStart::Stale);
    assert_eq!(start(61, &hash, epoch + 1).await, SessionStart::Stale);
    assert_eq!(
        store.live_sessions(id, at(1)).await.unwrap().len(),
        0,
        "a stale sign-in writes nothing"
    );
    assert_eq!(start(62, &hash, epoch).await, SessionStart::Started);
    // The success forgot the failures: the limit of one lets in again.
    let again = store
        .begin_login_attempt(&email, &attempt_on("a", rules, 0))
        .await
        .unwrap();
    assert!(
        again.locked_until.is_none(),
        "counters forgotten on success"
    );

    store
        .revoke_all_sessions(SessionRevocation {
            user_id: id,
            at: at(1),
            reason: RevokeReason::UserRevoked,
            audit: audit(AuditKind::SessionRevoked, id),
        })
        .await
        .unwrap();
    assert_eq!(
        start(63, &hash, epoch).await,
        SessionStart::Stale,
        "an epoch read before signing out everywhere is stale"
    );
    let moved = store
        .begin_login_attempt(&email, &attempt_on("b", rules, 2))
        .await
        .unwrap();
    assert!(moved.sessions_epoch > epoch);
    assert_eq!(
        start(64, &hash, moved.sessions_epoch).await,
        SessionStart::Started
    );

    store
        .update_user(UserUpdate {
            user_id: id,
            role: None,
            disabled: Some(true),
            at: at(3),
            audit: audit(AuditKind::AdminUserUpdated, id),
        })
        .await
        .unwrap();
    let disabled = store
        .begin_login_attempt(&email, &attempt_on("c", rules, 4))
        .await
        .unwrap();
    assert_eq!(
        start(65, &hash, disabled.sessions_epoch).await,
        SessionStart::Disabled
    );
}
