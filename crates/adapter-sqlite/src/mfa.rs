//! TOTP secrets (sealed) and backup codes (keyed digests). Every spend is
//! one conditional update, so a code works once however many requests race.

use diesel::sql_types::{BigInt, Binary, Bool, Nullable, Text};
use diesel::{OptionalExtension, QueryableByName, RunQueryDsl};
use gatehouse_application::PortError;
use gatehouse_application::ports::{
    MfaDisable, MfaEnable, MfaRemoval, MfaState, MfaStore, RevokeReason,
};
use gatehouse_domain::{Timestamp, UserId};

use crate::SqliteStore;
use crate::codec::micros;
use crate::writes::{Sessions, end_sessions, enqueue, insert_audit};

#[derive(QueryableByName)]
struct StateRow {
    #[diesel(sql_type = Bool)]
    mfa_enabled: bool,
    #[diesel(sql_type = Nullable<Binary>)]
    totp_secret: Option<Vec<u8>>,
    #[diesel(sql_type = Nullable<Binary>)]
    totp_pending: Option<Vec<u8>>,
}

impl MfaStore for SqliteStore {
    async fn set_pending_totp(&self, user_id: UserId, sealed: Vec<u8>) -> Result<bool, PortError> {
        self.write(move |c| {
            diesel::sql_query("UPDATE users SET totp_pending = ? WHERE id = ? AND mfa_enabled = 0")
                .bind::<Binary, _>(sealed)
                .bind::<Text, _>(user_id.to_string())
                .execute(c)
                .map(|n| n == 1)
        })
        .await
    }

    async fn mfa_state(&self, user_id: UserId) -> Result<MfaState, PortError> {
        self.read(move |c| {
            let row: Option<StateRow> = diesel::sql_query(
                "SELECT mfa_enabled, totp_secret, totp_pending FROM users WHERE id = ?",
            )
            .bind::<Text, _>(user_id.to_string())
            .get_result(c)
            .optional()?;
            Ok(row.map_or_else(MfaState::default, |row| MfaState {
                enabled: row.mfa_enabled,
                secret: row.totp_secret,
                pending: row.totp_pending,
            }))
        })
        .await
    }

    async fn enable_totp(&self, enable: MfaEnable) -> Result<bool, PortError> {
        self.write(move |c| {
            let user_id = enable.user_id.to_string();
            let enabled = diesel::sql_query(
                "UPDATE users SET mfa_enabled = 1, totp_secret = totp_pending, totp_pending = NULL, \
                 totp_last_step = ?, updated_at = CAST(unixepoch('subsec') * 1000000 AS INTEGER) WHERE id = ? AND mfa_enabled = 0 AND totp_pending = ?",
            )
            .bind::<BigInt, _>(enable.spent_step)
            .bind::<Text, _>(&user_id)
            .bind::<Binary, _>(&enable.pending)
            .execute(c)?;
            if enabled == 0 {
                return Ok(false);
            }
            diesel::sql_query("DELETE FROM mfa_backup_codes WHERE user_id = ?")
                .bind::<Text, _>(&user_id)
                .execute(c)?;
            diesel::sql_query(
                "INSERT INTO mfa_backup_codes (user_id, digest) SELECT ?, value FROM json_each(?)",
            )
            .bind::<Text, _>(&user_id)
            .bind::<Text, _>(serde_json::Value::from(enable.backup_codes.clone()).to_string())
            .execute(c)?;
            end_sessions(
                c,
                enable.user_id,
                Sessions::AllBut(enable.keep_session),
                enable.audit.at,
                RevokeReason::MfaEnabled,
            )?;
            insert_audit(c, &enable.audit)?;
            enqueue(c, &enable.notice)?;
            Ok(true)
        })
        .await
    }

    async fn remove_mfa(&self, removal: MfaRemoval) -> Result<bool, PortError> {
        self.write(move |c| {
            let removed = diesel::sql_query(
                "UPDATE users SET mfa_enabled = 0, totp_secret = NULL, totp_pending = NULL, \
                 totp_last_step = NULL, updated_at = ? WHERE id = ?",
            )
            .bind::<BigInt, _>(micros(removal.at))
            .bind::<Text, _>(removal.user_id.to_string())
            .execute(c)?;
            if removed == 0 {
                return Ok(false);
            }
            diesel::sql_query("DELETE FROM mfa_backup_codes WHERE user_id = ?")
                .bind::<Text, _>(removal.user_id.to_string())
                .execute(c)?;
            end_sessions(
                c,
                removal.user_id,
                Sessions::All,
                removal.at,
                RevokeReason::AdminAction,
            )?;
            insert_audit(c, &removal.audit)?;
            enqueue(c, &removal.notice)?;
            Ok(true)
        })
        .await
    }

    async fn disable_totp(&self, disable: MfaDisable) -> Result<bool, PortError> {
        self.write(move |c| {
            let user_id = disable.user_id.to_string();
            let disabled = diesel::sql_query(
                "UPDATE users SET mfa_enabled = 0, totp_secret = NULL, totp_pending = NULL, \
                 totp_last_step = NULL, updated_at = CAST(unixepoch('subsec') * 1000000 AS INTEGER) WHERE id = ? AND mfa_enabled = 1",
            )
            .bind::<Text, _>(&user_id)
            .execute(c)?;
            if disabled == 0 {
                return Ok(false);
            }
            diesel::sql_query("DELETE FROM mfa_backup_codes WHERE user_id = ?")
                .bind::<Text, _>(&user_id)
                .execute(c)?;
            insert_audit(c, &disable.audit)?;
            enqueue(c, &disable.notice)?;
            Ok(true)
        })
        .await
    }

    async fn spend_totp_step(&self, user_id: UserId, step: i64) -> Result<bool, PortError> {
        self.write(move |c| {
            diesel::sql_query(
                "UPDATE users SET totp_last_step = ?1 \
                 WHERE id = ?2 AND mfa_enabled = 1 AND (totp_last_step IS NULL OR totp_last_step < ?1)",
            )
            .bind::<BigInt, _>(step)
            .bind::<Text, _>(user_id.to_string())
            .execute(c)
            .map(|n| n == 1)
        })
        .await
    }

    async fn spend_backup_code(
        &self,
        user_id: UserId,
        digests: &[String],
        at: Timestamp,
    ) -> Result<bool, PortError> {
        let digests = serde_json::Value::from(digests.to_vec()).to_string();
        self.write(move |c| {
            diesel::sql_query(
                "UPDATE mfa_backup_codes SET used_at = ? WHERE rowid = ( \
                     SELECT rowid FROM mfa_backup_codes WHERE user_id = ? AND used_at IS NULL \
                     AND digest IN (SELECT value FROM json_each(?)) LIMIT 1)",
            )
            .bind::<BigInt, _>(micros(at))
            .bind::<Text, _>(user_id.to_string())
            .bind::<Text, _>(digests)
            .execute(c)
            .map(|n| n == 1)
        })
        .await
    }
}
