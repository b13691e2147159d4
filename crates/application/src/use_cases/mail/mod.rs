//! The mail area: what each mail says ([`letters`]), queuing it in the
//! outbox sealed under the data key, and delivering what is queued
//! ([`DeliverMail`], run by a background task on every instance).

mod deliver;
pub(crate) mod letters;

pub use deliver::{DeliverMail, DeliveryReport};

use std::time::Duration;

use gatehouse_domain::{Email, Timestamp, User};

use crate::ports::{
    DataCipher, MailedToken, OpaqueTokens, OutgoingMail, PortError, Ports, SealPurpose, Throttle,
    TokenPurpose, VerificationRequest,
};
use crate::use_cases::issue::add;
use letters::Letter;

/// How long a reset link works.
pub const RESET_TOKEN_TTL: Duration = Duration::from_secs(30 * 60);
/// How long a verification link works.
pub const VERIFY_TOKEN_TTL: Duration = Duration::from_secs(24 * 3_600);
/// At most this many links of one kind per user and hour (the mail of
/// registration included), so that nobody can flood a mailbox through us.
pub const MAILS_PER_HOUR: u32 = 5;

/// `letter` to `to`, its body sealed under the mail's id.
pub(crate) fn outgoing<P: Ports>(
    ports: &P,
    to: &Email,
    letter: Letter,
    now: Timestamp,
) -> Result<OutgoingMail, PortError> {
    let id = uuid::Uuid::now_v7();
    let sealed_body =
        ports
            .cipher()
            .seal(SealPurpose::MailBody, id.as_bytes(), letter.body.as_bytes())?;
    Ok(OutgoingMail {
        id,
        to: to.clone(),
        subject: letter.subject,
        sealed_body,
        queued_at: now,
    })
}

/// A new single-use token of `purpose` for `to`, and the mail carrying its link.
pub(crate) fn mailed_token<P: Ports>(
    ports: &P,
    purpose: TokenPurpose,
    to: &Email,
    now: Timestamp,
) -> Result<MailedToken, PortError> {
    let token = ports.opaque().generate_account_token()?;
    let public_url = &ports.policy().public_url;
    let (letter, ttl) = match purpose {
        TokenPurpose::PasswordReset => {
            (letters::password_reset(public_url, &token), RESET_TOKEN_TTL)
        }
        TokenPurpose::EmailVerification => {
            (letters::verification(public_url, &token), VERIFY_TOKEN_TTL)
        }
    };
    Ok(MailedToken {
        digest: ports.opaque().digest(token.expose()),
        purpose,
        created_at: now,
        expires_at: add(now, ttl),
        mail: outgoing(ports, to, letter, now)?,
    })
}

/// At most [`MAILS_PER_HOUR`] links of a kind in the last hour.
pub(crate) fn hourly_limit(now: Timestamp) -> Throttle {
    Throttle {
        since: now - chrono::Duration::hours(1),
        max: MAILS_PER_HOUR,
    }
}

/// A new verification link for `user`, under the hourly limit.
pub(crate) fn verification_request<P: Ports>(
    ports: &P,
    user: &User,
    now: Timestamp,
) -> Result<VerificationRequest, PortError> {
    Ok(VerificationRequest {
        user_id: user.id,
        token: mailed_token(ports, TokenPurpose::EmailVerification, &user.email, now)?,
        throttle: hourly_limit(now),
    })
}
