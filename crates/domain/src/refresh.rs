//! What presenting a refresh token means. The store finds and locks the
//! token; this rule decides; the use case acts. Keeping the decision pure
//! lets every branch be tested with plain values and a chosen `now`.

use std::time::Duration;

use crate::Timestamp;

/// The facts about one presented token and its session (token family),
/// read under a row lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentedToken {
    /// When this token was idle-expired: issued + idle TTL, capped by the session.
    pub expires_at: Timestamp,
    /// Set once the token has been exchanged for a successor.
    pub rotated_at: Option<Timestamp>,
    /// Whether the successor was kept (encrypted) to answer retries.
    pub successor_kept: bool,
    /// Whether the successor this token was exchanged for is still the
    /// family's current token (not rotated itself). A replay hands out that
    /// successor, so it is only safe while nobody has moved past it.
    pub successor_current: bool,
    /// The session's absolute end, however often it is refreshed.
    pub session_expires_at: Timestamp,
    pub session_revoked: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presentation {
    /// The family's current token: issue a successor.
    Rotate,
    /// A retry of a token rotated moments ago: answer with the same successor.
    GraceReplay,
    /// A token already exchanged, presented again: the family is compromised.
    Reuse,
    /// Past its idle TTL or its session's absolute lifetime.
    Expired,
    /// The family was already ended (logout, revocation, earlier reuse).
    Revoked,
}

impl PresentedToken {
    pub fn classify(&self, now: Timestamp, grace: Duration) -> Presentation {
        if now >= self.session_expires_at {
            return Presentation::Expired;
        }
        if let Some(rotated_at) = self.rotated_at {
            // A grace of zero means strict: no retry window at all.
            let within_grace = chrono::Duration::from_std(grace)
                .ok()
                .and_then(|g| rotated_at.checked_add_signed(g))
                .is_some_and(|end| now < end);
            // An old token stays "reused" even once its family is revoked,
            // so every late presentation gets the same answer. Once the
            // successor was rotated too, this token is two steps behind:
            // no retry explains that (R1 -> R2 -> R3, then R1).
            let replayable = self.successor_kept && self.successor_current && !self.session_revoked;
            return if within_grace && replayable {
                Presentation::GraceReplay
            } else {
                Presentation::Reuse
            };
        }
        if self.session_revoked {
            return Presentation::Revoked;
        }
        if now >= self.expires_at {
            return Presentation::Expired;
        }
        Presentation::Rotate
    }
}

/// When a token issued `now` idles out: never past its session's end.
pub fn token_expiry(
    now: Timestamp,
    idle_ttl: Duration,
    session_expires_at: Timestamp,
) -> Timestamp {
    let idle_end = chrono::Duration::from_std(idle_ttl)
        .ok()
        .and_then(|ttl| now.checked_add_signed(ttl))
        .unwrap_or(session_expires_at);
    idle_end.min(session_expires_at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(secs: i64) -> Timestamp {
        chrono::Utc
            .timestamp_opt(1_700_000_000 + secs, 0)
            .single()
            .unwrap_or_default()
    }

    fn current() -> PresentedToken {
        PresentedToken {
            expires_at: t(100),
            rotated_at: None,
            successor_kept: false,
            successor_current: false,
            session_expires_at: t(1000),
            session_revoked: false,
        }
    }

    fn rotated_at(at: i64) -> PresentedToken {
        PresentedToken {
            rotated_at: Some(t(at)),
            successor_kept: true,
            successor_current: true,
            ..current()
        }
    }

    const GRACE: Duration = Duration::from_secs(10);

    #[test]
    fn current_token_rotates() {
        assert_eq!(current().classify(t(50), GRACE), Presentation::Rotate);
    }

    #[test]
    fn idle_expiry_is_exclusive_of_the_end() {
        assert_eq!(current().classify(t(99), GRACE), Presentation::Rotate);
        assert_eq!(current().classify(t(100), GRACE), Presentation::Expired);
    }

    #[test]
    fn absolute_lifetime_wins_over_everything_but_revocation() {
        let token = PresentedToken {
            expires_at: t(5000),
            ..current()
        };
        assert_eq!(token.classify(t(1000), GRACE), Presentation::Expired);
        assert_eq!(
            rotated_at(999).classify(t(1000), GRACE),
            Presentation::Expired
        );
    }

    #[test]
    fn retry_within_grace_replays() {
        assert_eq!(
            rotated_at(50).classify(t(50), GRACE),
            Presentation::GraceReplay
        );
        assert_eq!(
            rotated_at(50).classify(t(59), GRACE),
            Presentation::GraceReplay
        );
    }

    #[test]
    fn after_grace_it_is_reuse() {
        assert_eq!(rotated_at(50).classify(t(60), GRACE), Presentation::Reuse);
        assert_eq!(rotated_at(50).classify(t(500), GRACE), Presentation::Reuse);
    }

    #[test]
    fn zero_grace_is_strict() {
        assert_eq!(
            rotated_at(50).classify(t(50), Duration::ZERO),
            Presentation::Reuse
        );
    }

    #[test]
    fn a_token_two_rotations_old_is_reuse_even_within_the_grace() {
        // R1 rotated to R2 at 50, R2 to R3 at 52: R1 at 53 is not a retry.
        let r1 = PresentedToken {
            successor_current: false,
            ..rotated_at(50)
        };
        assert_eq!(r1.classify(t(53), GRACE), Presentation::Reuse);
        // R2, rotated at 52 with R3 still current, is a retry.
        assert_eq!(
            rotated_at(52).classify(t(53), GRACE),
            Presentation::GraceReplay
        );
    }

    #[test]
    fn without_a_kept_successor_there_is_nothing_to_replay() {
        let token = PresentedToken {
            successor_kept: false,
            ..rotated_at(50)
        };
        assert_eq!(token.classify(t(51), GRACE), Presentation::Reuse);
    }

    #[test]
    fn in_a_revoked_family_the_current_token_is_revoked_and_old_ones_stay_reused() {
        let revoked = PresentedToken {
            session_revoked: true,
            ..current()
        };
        assert_eq!(revoked.classify(t(1), GRACE), Presentation::Revoked);
        let old = PresentedToken {
            session_revoked: true,
            ..rotated_at(1)
        };
        assert_eq!(old.classify(t(500), GRACE), Presentation::Reuse);
        // No replay out of a revoked family, even within the grace.
        assert_eq!(old.classify(t(2), GRACE), Presentation::Reuse);
    }

    #[test]
    fn successor_expiry_is_capped_by_the_session() {
        assert_eq!(token_expiry(t(0), Duration::from_secs(50), t(1000)), t(50));
        assert_eq!(
            token_expiry(t(990), Duration::from_secs(50), t(1000)),
            t(1000)
        );
    }
}
