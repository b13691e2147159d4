//! One file per use case: a verb-named struct with one `execute`, and one
//! error enum whose variants say what a caller can act on.

pub mod admin;
pub mod api_keys;
mod attempts;
mod authenticate;
mod current_user;
pub mod email;
mod housekeeping;
mod introspect;
mod issue;
mod login;
mod logout;
pub mod mail;
pub mod mfa;
pub mod password;
mod reauth;
mod refresh;
mod register;
pub mod sessions;
pub mod signed_in;
mod update_profile;

pub use authenticate::Authenticate;
pub use current_user::{GetCurrentUser, GetCurrentUserError};
pub use housekeeping::SweepExpiredData;
pub use introspect::{Introspect, Introspection};
pub use issue::TokenPair;
pub use login::{Login, LoginCommand, LoginError};
pub use logout::{Logout, LogoutError};
pub use reauth::{ReauthError, Reauthenticate, Reauthenticated};
pub use refresh::{RotateRefreshToken, RotateRefreshTokenError};
pub use register::{Register, RegisterCommand, RegisterError, Registered};
pub use update_profile::{ProfileChange, UpdateProfile, UpdateProfileError};

/// Maps hashing failures for use cases that hash: saturation is
/// `Overloaded` (503 with Retry-After), anything else an unexpected port
/// failure, as every use-case error has one (`Port(#[from] PortError)`).
macro_rules! from_hash_error {
    ($error:ident) => {
        impl From<$crate::ports::HashError> for $error {
            fn from(error: $crate::ports::HashError) -> Self {
                match error {
                    $crate::ports::HashError::Overloaded { retry_after } => {
                        $error::Overloaded { retry_after }
                    }
                    $crate::ports::HashError::Unexpected(e) => {
                        $error::Port($crate::ports::PortError::Unexpected(e))
                    }
                }
            }
        }
    };
}
pub(crate) use from_hash_error;
