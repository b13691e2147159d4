//! The account as the rest of the system sees it (never with its hash).

use crate::{DisplayName, Email, Metadata, Timestamp, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Admin,
}

impl Role {
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "user" => Some(Role::User),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub role: Role,
    pub email_verified: bool,
    pub mfa_enabled: bool,
    pub disabled: bool,
    pub created_at: Timestamp,
    pub name: Option<DisplayName>,
    pub metadata: Metadata,
    /// Set on an account an admin made with a password: its next sign-in
    /// must choose a new one.
    pub password_must_change: bool,
    /// The last successful sign-in, by any method.
    pub last_sign_in_at: Option<Timestamp>,
}
