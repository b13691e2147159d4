//! TOTP secrets and backup codes. Every change is one statement whose
//! writes hang off one conditional update, so they happen exactly when it
//! does; spending a code is a conditional update too, so of two requests
//! with one code, one wins.

use diesel::sql_types::Uuid as SqlUuid;
use diesel::sql_types::{Array, BigInt, Bool, Bytea, Jsonb, Nullable, Text, Timestamptz};
use diesel::{OptionalExtension, QueryableByName};
use diesel_async::RunQueryDsl;
use gatehouse_application::PortError;
use gatehouse_application::ports::{MfaDisable, MfaEnable, MfaRemoval, MfaState, MfaStore};
use gatehouse_domain::{AuditEvent, Timestamp, UserId};

use crate::PgStore;
use crate::error::{bounded, from_diesel, retried};
use crate::outbox::{bind_mail, enqueue_cte};
use crate::prepared::Prepared;
use crate::rows::Statement;

const SET_PENDING: &str = "\
UPDATE users SET totp_pending = $2 WHERE id = $1 AND NOT mfa_enabled";

const STATE: &str = "\
SELECT mfa_enabled, totp_secret, totp_pending FROM users WHERE id = $1";

/// The last CTE: the audit row, its columns from `$first` (id, kind, ip,
/// user agent, detail) and `at` from `$at`.
fn audit_cte(first: usize, at: usize, source: &str) -> String {
    format!(
        "audited AS (INSERT INTO audit_events (id, at, kind, user_id, ip, user_agent, detail) \
         SELECT ${first}, ${at}, ${}, id, ${}, ${}, ${} FROM {source}) ",
        first + 1,
        first + 2,
        first + 3,
        first + 4,
    )
}

fn enable_statement() -> String {
    format!(
        "WITH enabled AS ( \
             UPDATE users SET mfa_enabled = true, totp_secret = totp_pending, \
                              totp_pending = NULL, totp_last_step = $3, updated_at = $4 \
             WHERE id = $1 AND NOT mfa_enabled AND totp_pending = $2 RETURNING id), \
         cleared AS (DELETE FROM mfa_backup_codes WHERE user_id IN (SELECT id FROM enabled)), \
         codes AS (INSERT INTO mfa_backup_codes (user_id, digest) \
                   SELECT enabled.id, d FROM enabled, unnest($5::text[]) AS d), \
         others AS (SELECT s.id FROM sessions s JOIN enabled e ON s.user_id = e.id \
                    WHERE s.revoked_at IS NULL AND s.id <> $16 ORDER BY s.id FOR NO KEY UPDATE OF s), \
         {}, {}{}SELECT EXISTS (SELECT 1 FROM enabled) AS changed",
        end_sessions!(from "others", at "$4", reason "'mfa_enabled'"),
        enqueue_cte("notice", 11, "FROM enabled"),
        audit_cte(6, 4, "enabled"),
    )
}

fn disable_statement() -> String {
    format!(
        "WITH disabled AS ( \
             UPDATE users SET mfa_enabled = false, totp_secret = NULL, totp_pending = NULL, \
                              totp_last_step = NULL, updated_at = $2 \
             WHERE id = $1 AND mfa_enabled RETURNING id), \
         cleared AS (DELETE FROM mfa_backup_codes WHERE user_id IN (SELECT id FROM disabled)), \
         {}{}SELECT EXISTS (SELECT 1 FROM disabled) AS changed",
        enqueue_cte("notice", 8, "FROM disabled"),
        audit_cte(3, 2, "disabled"),
    )
}

/// As disabling, whatever the state, and every session ends; run after
/// the user's epoch is bumped (`after_bumping_epoch`), which locks the row.
fn removal_statement() -> String {
    format!(
        "WITH off AS ( \
             UPDATE users SET mfa_enabled = false, totp_secret = NULL, totp_pending = NULL, \
                              totp_last_step = NULL, updated_at = $2 \
             WHERE id = $1 RETURNING id), \
         cleared AS (DELETE FROM mfa_backup_codes WHERE user_id IN (SELECT id FROM off)), \
         doomed AS (SELECT s.id FROM sessions s JOIN off o ON s.user_id = o.id \
                    WHERE s.revoked_at IS NULL ORDER BY s.id FOR NO KEY UPDATE OF s), \
         {}, {}{}SELECT EXISTS (SELECT 1 FROM off) AS changed",
        end_sessions!(from "doomed", at "$2", reason "'admin_action'"),
        enqueue_cte("notice", 8, "FROM off"),
        audit_cte(3, 2, "off"),
    )
}

const SPEND_STEP: &str = "\
UPDATE users SET totp_last_step = $2 \
WHERE id = $1 AND mfa_enabled AND (totp_last_step IS NULL OR totp_last_step < $2)";

const SPEND_BACKUP_CODE: &str = "\
UPDATE mfa_backup_codes SET used_at = $3 \
WHERE user_id = $1 AND digest = ANY($2) AND used_at IS NULL";

#[derive(QueryableByName)]
struct StateRow {
    #[diesel(sql_type = Bool)]
    mfa_enabled: bool,
    #[diesel(sql_type = Nullable<Bytea>)]
    totp_secret: Option<Vec<u8>>,
    #[diesel(sql_type = Nullable<Bytea>)]
    totp_pending: Option<Vec<u8>>,
}

#[derive(QueryableByName)]
struct Changed {
    #[diesel(sql_type = Bool)]
    changed: bool,
}

fn bind_audit_columns(q: Statement, audit: AuditEvent) -> Statement {
    q.bind::<SqlUuid, _>(audit.id)
        .bind::<Text, _>(audit.kind.as_str())
        .bind::<Nullable<Text>, _>(audit.client.ip)
        .bind::<Nullable<Text>, _>(audit.client.user_agent)
        .bind::<Jsonb, _>(audit.detail)
}

impl MfaStore for PgStore {
    async fn set_pending_totp(&self, user_id: UserId, sealed: Vec<u8>) -> Result<bool, PortError> {
        bounded(self.query_timeout, async {
            let mut conn = self.conn().await?;
            let updated = diesel::sql_query(SET_PENDING)
                .bind::<SqlUuid, _>(user_id.as_uuid())
                .bind::<Bytea, _>(sealed)
                .execute(&mut *conn)
                .await
                .map_err(from_diesel)?;
            Ok(updated == 1)
        })
        .await
    }

    async fn mfa_state(&self, user_id: UserId) -> Result<MfaState, PortError> {
        bounded(self.query_timeout, async {
            let mut conn = self.conn().await?;
            let row = diesel::sql_query(STATE)
                .bind::<SqlUuid, _>(user_id.as_uuid())
                .get_result::<StateRow>(&mut *conn)
                .await
                .optional()
                .map_err(from_diesel)?;
            Ok(row.map_or_else(MfaState::default, |r| MfaState {
                enabled: r.mfa_enabled,
                secret: r.totp_secret,
                pending: r.totp_pending,
            }))
        })
        .await
    }

    async fn enable_totp(&self, enable: MfaEnable) -> Result<bool, PortError> {
        let sql = enable_statement();
        retried(self.query_timeout, || {
            let enable = enable.clone();
            let at = enable.audit.at;
            let q = diesel::sql_query(sql.clone())
                .into_boxed()
                .bind::<SqlUuid, _>(enable.user_id.as_uuid())
                .bind::<Bytea, _>(enable.pending)
                .bind::<BigInt, _>(enable.spent_step)
                .bind::<Timestamptz, _>(at)
                .bind::<Array<Text>, _>(enable.backup_codes);
            let q = bind_audit_columns(q, enable.audit);
            let q = Prepared(
                bind_mail(q, enable.notice).bind::<SqlUuid, _>(enable.keep_session.as_uuid()),
            );
            let user = enable.user_id.as_uuid();
            async move {
                let mut conn = self.conn().await?;
                let changed: Changed = crate::rows::after_bumping_epoch(&mut conn, user, q).await?;
                Ok(changed.changed)
            }
        })
        .await
    }

    async fn disable_totp(&self, disable: MfaDisable) -> Result<bool, PortError> {
        let sql = disable_statement();
        retried(self.query_timeout, || {
            let disable = disable.clone();
            let q = diesel::sql_query(sql.clone())
                .into_boxed()
                .bind::<SqlUuid, _>(disable.user_id.as_uuid())
                .bind::<Timestamptz, _>(disable.audit.at);
            let q = bind_audit_columns(q, disable.audit);
            let q = Prepared(bind_mail(q, disable.notice));
            async move {
                let mut conn = self.conn().await?;
                Ok(q.get_result::<Changed>(&mut *conn).await?.changed)
            }
        })
        .await
    }

    async fn remove_mfa(&self, removal: MfaRemoval) -> Result<bool, PortError> {
        let sql = removal_statement();
        retried(self.query_timeout, || {
            let removal = removal.clone();
            let q = diesel::sql_query(sql.clone())
                .into_boxed()
                .bind::<SqlUuid, _>(removal.user_id.as_uuid())
                .bind::<Timestamptz, _>(removal.at);
            let q = bind_audit_columns(q, removal.audit);
            let q = Prepared(bind_mail(q, removal.notice));
            let user = removal.user_id.as_uuid();
            async move {
                let mut conn = self.conn().await?;
                let changed: Changed = crate::rows::after_bumping_epoch(&mut conn, user, q).await?;
                Ok(changed.changed)
            }
        })
        .await
    }

    async fn spend_totp_step(&self, user_id: UserId, step: i64) -> Result<bool, PortError> {
        bounded(self.query_timeout, async {
            let mut conn = self.conn().await?;
            let updated = diesel::sql_query(SPEND_STEP)
                .bind::<SqlUuid, _>(user_id.as_uuid())
                .bind::<BigInt, _>(step)
                .execute(&mut *conn)
                .await
                .map_err(from_diesel)?;
            Ok(updated == 1)
        })
        .await
    }

    async fn spend_backup_code(
        &self,
        user_id: UserId,
        digests: &[String],
        at: Timestamp,
    ) -> Result<bool, PortError> {
        bounded(self.query_timeout, async {
            let mut conn = self.conn().await?;
            let updated = diesel::sql_query(SPEND_BACKUP_CODE)
                .bind::<SqlUuid, _>(user_id.as_uuid())
                .bind::<Array<Text>, _>(digests.to_vec())
                .bind::<Timestamptz, _>(at)
                .execute(&mut *conn)
                .await
                .map_err(from_diesel)?;
            Ok(updated == 1)
        })
        .await
    }
}
