//! How domain values are stored: ids as text, instants as microseconds
//! since the epoch, and the row shapes every query that loads a user or a
//! token reads.

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::result::Error as DieselError;
use diesel::sql_types::{BigInt, Binary, Bool, Nullable, Text};
use gatehouse_application::ports::StoredToken;
use gatehouse_domain::{
    Amr, DisplayName, Email, Metadata, PresentedToken, Role, SessionId, Timestamp, User, UserId,
};

/// Stored data that does not read back: surfaces as `Unexpected`.
pub(crate) fn corrupt(what: &str) -> DieselError {
    DieselError::DeserializationError(format!("stored {what} is not valid").into())
}

pub(crate) fn micros(at: Timestamp) -> i64 {
    at.timestamp_micros()
}

pub(crate) fn instant(micros: i64) -> Result<Timestamp, DieselError> {
    DateTime::<Utc>::from_timestamp_micros(micros).ok_or_else(|| corrupt("instant"))
}

pub(crate) fn maybe_instant(micros: Option<i64>) -> Result<Option<Timestamp>, DieselError> {
    micros.map(instant).transpose()
}

pub(crate) fn uuid(text: &str) -> Result<uuid::Uuid, DieselError> {
    uuid::Uuid::parse_str(text).map_err(|_| corrupt("id"))
}

pub(crate) fn amr_json(amr: Amr) -> String {
    serde_json::Value::from(amr.to_strings()).to_string()
}

pub(crate) fn amr(json: &str) -> Result<Amr, DieselError> {
    let methods: Vec<String> = serde_json::from_str(json).map_err(|_| corrupt("amr"))?;
    Amr::parse(&methods).ok_or_else(|| corrupt("amr"))
}

/// The columns of `users u` that make a [`User`], in this order.
pub(crate) const USER_COLUMNS: &str = "u.id, u.email, u.role, u.email_verified_at, u.disabled_at, \
     u.mfa_enabled, u.created_at, u.name, u.metadata, u.password_must_change, u.last_sign_in_at";

#[derive(QueryableByName)]
pub(crate) struct UserColumns {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub email: String,
    #[diesel(sql_type = Text)]
    pub role: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub email_verified_at: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub disabled_at: Option<i64>,
    #[diesel(sql_type = Bool)]
    pub mfa_enabled: bool,
    #[diesel(sql_type = BigInt)]
    pub created_at: i64,
    #[diesel(sql_type = Nullable<Text>)]
    pub name: Option<String>,
    #[diesel(sql_type = Text)]
    pub metadata: String,
    #[diesel(sql_type = Bool)]
    pub password_must_change: bool,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub last_sign_in_at: Option<i64>,
}

impl UserColumns {
    pub fn into_user(self) -> Result<User, DieselError> {
        Ok(User {
            id: UserId::from_uuid(uuid(&self.id)?),
            email: Email::parse(&self.email).map_err(|_| corrupt("email"))?,
            role: Role::parse(&self.role).ok_or_else(|| corrupt("role"))?,
            email_verified: self.email_verified_at.is_some(),
            mfa_enabled: self.mfa_enabled,
            disabled: self.disabled_at.is_some(),
            created_at: instant(self.created_at)?,
            name: self
                .name
                .map(|n| DisplayName::parse(&n).map_err(|_| corrupt("name")))
                .transpose()?,
            metadata: Metadata::from_json(&self.metadata).map_err(|_| corrupt("metadata"))?,
            password_must_change: self.password_must_change,
            last_sign_in_at: self.last_sign_in_at.map(instant).transpose()?,
        })
    }
}

#[derive(QueryableByName)]
pub(crate) struct IdRow {
    #[diesel(sql_type = Text)]
    pub id: String,
}

#[derive(QueryableByName)]
pub(crate) struct Count {
    #[diesel(sql_type = BigInt)]
    pub n: i64,
}

/// A refresh token with its session and user, as rotation reads it.
pub(crate) const STORED_TOKEN: &str = "\
SELECT t.id AS token_id, t.session_id, t.expires_at, t.rotated_at, t.sealed_successor, \
       EXISTS (SELECT 1 FROM refresh_tokens n WHERE n.id = t.successor_id AND n.rotated_at IS NULL) \
           AS successor_current, \
       s.user_id, s.expires_at AS session_expires_at, s.revoked_at IS NOT NULL AS session_revoked, \
       s.amr, s.auth_time, u.email, u.role, u.disabled_at IS NOT NULL AS user_disabled \
FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id JOIN users u ON u.id = s.user_id \
WHERE t.digest = ?";

#[derive(QueryableByName)]
pub(crate) struct StoredTokenRow {
    #[diesel(sql_type = Text)]
    token_id: String,
    #[diesel(sql_type = Text)]
    session_id: String,
    #[diesel(sql_type = BigInt)]
    expires_at: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    rotated_at: Option<i64>,
    #[diesel(sql_type = Nullable<Binary>)]
    sealed_successor: Option<Vec<u8>>,
    #[diesel(sql_type = Bool)]
    successor_current: bool,
    #[diesel(sql_type = Text)]
    user_id: String,
    #[diesel(sql_type = BigInt)]
    session_expires_at: i64,
    #[diesel(sql_type = Bool)]
    session_revoked: bool,
    #[diesel(sql_type = Text)]
    amr: String,
    #[diesel(sql_type = BigInt)]
    auth_time: i64,
    #[diesel(sql_type = Text)]
    email: String,
    #[diesel(sql_type = Text)]
    role: String,
    #[diesel(sql_type = Bool)]
    user_disabled: bool,
}

impl StoredTokenRow {
    pub fn into_token(self) -> Result<StoredToken, DieselError> {
        Ok(StoredToken {
            token_id: uuid(&self.token_id)?,
            session_id: SessionId::from_uuid(uuid(&self.session_id)?),
            user_id: UserId::from_uuid(uuid(&self.user_id)?),
            email: Email::parse(&self.email).map_err(|_| corrupt("email"))?,
            role: Role::parse(&self.role).ok_or_else(|| corrupt("role"))?,
            user_disabled: self.user_disabled,
            amr: amr(&self.amr)?,
            auth_time: instant(self.auth_time)?,
            presented: PresentedToken {
                expires_at: instant(self.expires_at)?,
                rotated_at: maybe_instant(self.rotated_at)?,
                successor_kept: self.sealed_successor.is_some(),
                successor_current: self.successor_current,
                session_expires_at: instant(self.session_expires_at)?,
                session_revoked: self.session_revoked,
            },
            sealed_successor: self.sealed_successor,
        })
    }
}
