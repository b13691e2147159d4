//! API keys: digest and display prefix only.

use diesel::sql_types::{BigInt, Binary, Nullable, Text};
use diesel::{OptionalExtension, QueryResult, QueryableByName, RunQueryDsl};
use gatehouse_application::PortError;
use gatehouse_application::ports::{
    ApiKeyStore, ApiKeyView, CreateApiKeyError, KeyHolder, NewApiKey, TokenDigest,
};
use gatehouse_domain::{AuditEvent, Timestamp, UserId};

use crate::SqliteStore;
use crate::codec::{Count, USER_COLUMNS, UserColumns, instant, maybe_instant, micros, uuid};
use crate::writes::insert_audit;

#[derive(QueryableByName)]
struct KeyRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    prefix: String,
    #[diesel(sql_type = BigInt)]
    created_at: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    expires_at: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    last_used_at: Option<i64>,
}

impl KeyRow {
    fn into_view(self) -> QueryResult<ApiKeyView> {
        Ok(ApiKeyView {
            id: uuid(&self.id)?,
            name: self.name,
            prefix: self.prefix,
            created_at: instant(self.created_at)?,
            expires_at: maybe_instant(self.expires_at)?,
            last_used_at: maybe_instant(self.last_used_at)?,
        })
    }
}

#[derive(QueryableByName)]
struct HolderRow {
    #[diesel(sql_type = Text)]
    key_id: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    expires_at: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    last_used_at: Option<i64>,
    #[diesel(embed)]
    user: UserColumns,
}

const LIVE: &str = "revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)";

impl ApiKeyStore for SqliteStore {
    async fn create_api_key(
        &self,
        key: NewApiKey,
        max_live: u32,
    ) -> Result<ApiKeyView, CreateApiKeyError> {
        let created = self
            .write(move |c| {
                let live = diesel::sql_query(format!(
                    "SELECT count(*) AS n FROM api_keys WHERE user_id = ? AND {LIVE}"
                ))
                .bind::<Text, _>(key.user_id.to_string())
                .bind::<BigInt, _>(micros(key.created_at))
                .get_result::<Count>(c)?
                .n;
                if live >= i64::from(max_live) {
                    return Ok(None);
                }
                diesel::sql_query(
                    "INSERT INTO api_keys (id, user_id, name, digest, prefix, created_at, expires_at) \
                     VALUES (?, ?, ?, ?, ?, ?, ?)",
                )
                .bind::<Text, _>(key.id.to_string())
                .bind::<Text, _>(key.user_id.to_string())
                .bind::<Text, _>(&key.name)
                .bind::<Binary, _>(&key.digest.0)
                .bind::<Text, _>(&key.prefix)
                .bind::<BigInt, _>(micros(key.created_at))
                .bind::<Nullable<BigInt>, _>(key.expires_at.map(micros))
                .execute(c)?;
                insert_audit(c, &key.audit)?;
                crate::writes::enqueue(c, &key.notice)?;
                Ok(Some(ApiKeyView {
                    id: key.id,
                    name: key.name,
                    prefix: key.prefix,
                    created_at: key.created_at,
                    expires_at: key.expires_at,
                    last_used_at: None,
                }))
            })
            .await?;
        created.ok_or(CreateApiKeyError::LimitReached)
    }

    async fn live_api_keys(
        &self,
        user_id: UserId,
        now: Timestamp,
    ) -> Result<Vec<ApiKeyView>, PortError> {
        self.read(move |c| {
            diesel::sql_query(format!(
                "SELECT id, name, prefix, created_at, expires_at, last_used_at FROM api_keys \
                 WHERE user_id = ? AND {LIVE} ORDER BY created_at DESC, id DESC"
            ))
            .bind::<Text, _>(user_id.to_string())
            .bind::<BigInt, _>(micros(now))
            .load::<KeyRow>(c)?
            .into_iter()
            .map(KeyRow::into_view)
            .collect()
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
        self.write(move |c| {
            let revoked = diesel::sql_query(
                "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
            )
            .bind::<BigInt, _>(micros(at))
            .bind::<Text, _>(key_id.to_string())
            .bind::<Text, _>(user_id.to_string())
            .execute(c)?;
            if revoked == 0 {
                return Ok(false);
            }
            insert_audit(c, &audit)?;
            Ok(true)
        })
        .await
    }

    /// A read; the use is written only when the last one recorded is old,
    /// so most requests with a key take no write lock.
    async fn find_key_holder(
        &self,
        digest: &TokenDigest,
        now: Timestamp,
        touch_before: Timestamp,
    ) -> Result<Option<KeyHolder>, PortError> {
        let digest = digest.0.clone();
        let holder = self
            .read(move |c| {
                diesel::sql_query(format!(
                    "SELECT k.id AS key_id, k.expires_at, k.last_used_at, {USER_COLUMNS} \
                     FROM api_keys k JOIN users u ON u.id = k.user_id \
                     WHERE k.digest = ? AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > ?)"
                ))
                .bind::<Binary, _>(digest)
                .bind::<BigInt, _>(micros(now))
                .get_result::<HolderRow>(c)
                .optional()
            })
            .await?;
        let Some(row) = holder else {
            return Ok(None);
        };
        let key_id = row.key_id.clone();
        if row.last_used_at.is_none_or(|at| at < micros(touch_before)) {
            let touch_before = micros(touch_before);
            let touched = self
                .write(move |c| {
                    diesel::sql_query(
                        "UPDATE api_keys SET last_used_at = ? \
                     WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)",
                    )
                    .bind::<BigInt, _>(micros(now))
                    .bind::<Text, _>(key_id)
                    .bind::<BigInt, _>(touch_before)
                    .execute(c)
                    .map(|_| ())
                })
                .await;
            // Recording the use is bookkeeping: a request with a good key
            // is not refused because the write lock was busy.
            if let Err(error) = touched {
                tracing::warn!(%error, "could not record an API key's use");
            }
        }
        let key_id = uuid(&row.key_id).map_err(crate::error::from_diesel)?;
        let expires_at = maybe_instant(row.expires_at).map_err(crate::error::from_diesel)?;
        let user = row.user.into_user().map_err(crate::error::from_diesel)?;
        Ok(Some(KeyHolder {
            key_id,
            expires_at,
            user,
        }))
    }
}
