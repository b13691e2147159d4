//! The caller's own profile (`PATCH /v1/users/me`): name and metadata.

use gatehouse_domain::{AuditEvent, AuditKind, ClientInfo, DisplayName, Metadata, User};
use tracing::instrument;

use super::signed_in::{CallerError, caller};
use crate::ports::{AccessClaims, Clock, PortError, Ports, ProfileUpdate, UserStore};

#[derive(Debug, thiserror::Error)]
pub enum UpdateProfileError {
    #[error(transparent)]
    Caller(#[from] CallerError),
    #[error(transparent)]
    Port(#[from] PortError),
}

/// What to change: a field left `None` stays as it is.
#[derive(Debug, Clone, Default)]
pub struct ProfileChange {
    /// `Some(None)` clears the name.
    pub name: Option<Option<DisplayName>>,
    pub metadata: Option<Metadata>,
}

#[derive(Debug)]
pub struct UpdateProfile<'a, P: Ports> {
    ports: &'a P,
}

impl<'a, P: Ports> UpdateProfile<'a, P> {
    pub fn new(ports: &'a P) -> Self {
        Self { ports }
    }

    /// Changes what `change` names, with a `user.updated` event naming the
    /// fields (never their values: metadata is the user's own). An empty
    /// change writes nothing and answers the user as it is.
    ///
    /// # Errors
    /// `Caller` when the session has ended or the account is disabled or
    /// gone.
    #[instrument(skip_all, fields(user_id = %claims.user_id))]
    pub async fn execute(
        &self,
        claims: &AccessClaims,
        change: ProfileChange,
        client: &ClientInfo,
    ) -> Result<User, UpdateProfileError> {
        let me = caller(self.ports, claims).await?;
        if change.name.is_none() && change.metadata.is_none() {
            return Ok(me);
        }
        let fields: Vec<&str> = [
            change.name.as_ref().map(|_| "name"),
            change.metadata.as_ref().map(|_| "metadata"),
        ]
        .into_iter()
        .flatten()
        .collect();
        let now = self.ports.clock().now();
        let updated = self
            .ports
            .store()
            .update_profile(ProfileUpdate {
                user_id: me.id,
                name: change.name,
                metadata: change.metadata,
                at: now,
                audit: AuditEvent::new(AuditKind::UserUpdated, now, Some(me.id), client)
                    .with_detail(serde_json::json!({ "fields": fields })),
            })
            .await?;
        // Deleted between the check and the write: as if gone before.
        updated.ok_or(UpdateProfileError::Caller(CallerError::Gone))
    }
}
