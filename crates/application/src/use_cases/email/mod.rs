//! The email-verification area: a link is mailed at registration and on
//! request; opening it marks the email verified. With
//! `AUTH_REQUIRE_VERIFIED_EMAIL`, login waits for it.

mod resend;
mod verify;

pub use resend::{ResendVerification, ResendVerificationError};
pub use verify::{VerifyEmail, VerifyEmailError};
