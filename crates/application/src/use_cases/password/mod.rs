//! The password area: a signed-in user changes their password; a user who
//! forgot it asks for a reset link and sets a new one with it.

mod change;
mod forgot;
mod reset;

pub use change::{ChangePassword, ChangePasswordCommand, ChangePasswordError};
pub use forgot::{RequestPasswordReset, RequestPasswordResetError};
pub use reset::{ResetPassword, ResetPasswordCommand, ResetPasswordError};
