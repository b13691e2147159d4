//! API keys. Creation counts the user's live keys behind an advisory lock
//! on the user (a count cannot see rows concurrent statements insert), so
//! parallel creations cannot pass the limit together. A presented key is
//! found with its owner in one statement, which also records the use when
//! the last record is a minute old: a conditional update, not a write per
//! request.

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Bool, Bytea, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use gatehouse_application::PortError;
use gatehouse_application::ports::{
    ApiKeyStore, ApiKeyView, CreateApiKeyError, KeyHolder, NewApiKey, TokenDigest,
};
use gatehouse_domain::{AuditEvent, Timestamp, UserId};

use crate::PgStore;
use crate::error::{bounded, from_diesel};
use crate::prepared::Prepared;
use crate::rows::UserColumns;

const CREATE: &str = "\
WITH live AS ( \
    SELECT count(*) AS n FROM api_keys \
    WHERE user_id = $2 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $6)), \
inserted AS ( \
    INSERT INTO api_keys (id, user_id, name, digest, prefix, created_at, expires_at) \
    SELECT $1, $2, $3, $4, $5, $6, $7 WHERE (SELECT n FROM live) < $8 RETURNING id), \
audited AS ( \
    INSERT INTO audit_events (id, at, kind, user_id, ip, user_agent, detail) \
    SELECT $9, $6, $10, $2, $11, $12, $13 FROM inserted), \
notice AS ( \
    INSERT INTO mail_outbox (id, recipient, subject, sealed_body, queued_at, next_attempt_at) \
    SELECT $14, $15, $16, $17, $18, $18 FROM inserted) \
SELECT EXISTS (SELECT 1 FROM inserted) AS wrote";

const LIVE: &str = "\
SELECT id, name, prefix, created_at, expires_at, last_used_at FROM api_keys \
WHERE user_id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2) \
ORDER BY created_at DESC, id DESC";

const REVOKE: &str = "\
WITH revoked AS ( \
    UPDATE api_keys SET revoked_at = $3 \
    WHERE id = $2 AND user_id = $1 AND revoked_at IS NULL RETURNING id), \
audited AS ( \
    INSERT INTO audit_events (id, at, kind, user_id, ip, user_agent, detail) \
    SELECT $4, $3, $5, $1, $6, $7, $8 FROM revoked) \
SELECT EXISTS (SELECT 1 FROM revoked) AS found";

const FIND_HOLDER: &str = "\
WITH k AS ( \
    SELECT id, user_id, expires_at FROM api_keys \
    WHERE digest = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)), \
touched AS ( \
    UPDATE api_keys SET last_used_at = $2 \
    WHERE id IN (SELECT id FROM k) AND (last_used_at IS NULL OR last_used_at < $3)) \
SELECT k.id AS key_id, k.expires_at AS key_expires_at, \
       u.id, u.email, u.role, u.email_verified_at, u.disabled_at, u.mfa_enabled, u.created_at, u.name, u.metadata, u.password_must_change, u.last_sign_in_at \
FROM k JOIN users u ON u.id = k.user_id";

#[derive(QueryableByName)]
struct KeyRow {
    #[diesel(sql_type = SqlUuid)]
    id: uuid::Uuid,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    prefix: String,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    expires_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    last_used_at: Option<DateTime<Utc>>,
}

impl From<KeyRow> for ApiKeyView {
    fn from(r: KeyRow) -> Self {
        Self {
            id: r.id,
            name: r.name,
            prefix: r.prefix,
            created_at: r.created_at,
            expires_at: r.expires_at,
            last_used_at: r.last_used_at,
        }
    }
}

#[derive(QueryableByName)]
struct HolderRow {
    #[diesel(sql_type = SqlUuid)]
    key_id: uuid::Uuid,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    key_expires_at: Option<DateTime<Utc>>,
    #[diesel(embed)]
    user: UserColumns,
}

#[derive(QueryableByName)]
struct Found {
    #[diesel(sql_type = Bool)]
    found: bool,
}

impl ApiKeyStore for PgStore {
    async fn create_api_key(
        &self,
        key: NewApiKey,
        max_live: u32,
    ) -> Result<ApiKeyView, CreateApiKeyError> {
        let audit = key.audit.clone();
        let q = diesel::sql_query(CREATE)
            .into_boxed()
            .bind::<SqlUuid, _>(key.id)
            .bind::<SqlUuid, _>(key.user_id.as_uuid())
            .bind::<Text, _>(key.name.clone())
            .bind::<Bytea, _>(key.digest.0.clone())
            .bind::<Text, _>(key.prefix.clone())
            .bind::<Timestamptz, _>(key.created_at)
            .bind::<Nullable<Timestamptz>, _>(key.expires_at)
            .bind::<BigInt, _>(i64::from(max_live))
            .bind::<SqlUuid, _>(audit.id)
            .bind::<Text, _>(audit.kind.as_str())
            .bind::<Nullable<Text>, _>(audit.client.ip)
            .bind::<Nullable<Text>, _>(audit.client.user_agent)
            .bind::<Jsonb, _>(audit.detail);
        let q = crate::outbox::bind_mail(q, key.notice.clone());
        let wrote = self
            .wrote_in_turn(format!("api_keys:{}", key.user_id), Prepared(q))
            .await?;
        if !wrote {
            return Err(CreateApiKeyError::LimitReached);
        }
        Ok(ApiKeyView {
            id: key.id,
            name: key.name,
            prefix: key.prefix,
            created_at: key.created_at,
            expires_at: key.expires_at,
            last_used_at: None,
        })
    }

    async fn live_api_keys(
        &self,
        user_id: UserId,
        now: Timestamp,
    ) -> Result<Vec<ApiKeyView>, PortError> {
        let q = Prepared(
            diesel::sql_query(LIVE)
                .bind::<SqlUuid, _>(user_id.as_uuid())
                .bind::<Timestamptz, _>(now),
        );
        bounded(self.query_timeout, async {
            let mut conn = self.conn().await?;
            let rows: Vec<KeyRow> = q.load(&mut *conn).await.map_err(from_diesel)?;
            Ok(rows.into_iter().map(ApiKeyView::from).collect())
        })
        .await
    }

    async fn revoke_api_key(
        &self,
        user_id: UserId,
        key_id: uuid::Uuid,
        at: Timestamp,
        audit: AuditEvent,
    ) -> Result<bool, PortError> {
        let q = Prepared(
            diesel::sql_query(REVOKE)
                .bind::<SqlUuid, _>(user_id.as_uuid())
                .bind::<SqlUuid, _>(key_id)
                .bind::<Timestamptz, _>(at)
                .bind::<SqlUuid, _>(audit.id)
                .bind::<Text, _>(audit.kind.as_str())
                .bind::<Nullable<Text>, _>(audit.client.ip)
                .bind::<Nullable<Text>, _>(audit.client.user_agent)
                .bind::<Jsonb, _>(audit.detail),
        );
        bounded(self.query_timeout, async {
            let mut conn = self.conn().await?;
            Ok(q.get_result::<Found>(&mut *conn)
                .await
                .map_err(from_diesel)?
                .found)
        })
        .await
    }

    async fn find_key_holder(
        &self,
        digest: &TokenDigest,
        now: Timestamp,
        touch_before: Timestamp,
    ) -> Result<Option<KeyHolder>, PortError> {
        let q = Prepared(
            diesel::sql_query(FIND_HOLDER)
                .bind::<Bytea, _>(digest.0.clone())
                .bind::<Timestamptz, _>(now)
                .bind::<Timestamptz, _>(touch_before),
        );
        bounded(self.query_timeout, async {
            let mut conn = self.conn().await?;
            let row: Option<HolderRow> =
                diesel::OptionalExtension::optional(q.get_result(&mut *conn).await)
                    .map_err(from_diesel)?;
            row.map(|r| {
                Ok(KeyHolder {
                    key_id: r.key_id,
                    expires_at: r.key_expires_at,
                    user: r.user.into_user()?,
                })
            })
            .transpose()
        })
        .await
    }
}
