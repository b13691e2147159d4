//! The password area: a signed-in user changes their password. (Forgotten
//! passwords and resets join this area with the mail outbox.)

mod change;

pub use change::{ChangePassword, ChangePasswordCommand, ChangePasswordError};
