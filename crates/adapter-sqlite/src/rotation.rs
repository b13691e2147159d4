//! Refresh-token rotation: finding a presented token, and retiring it for
//! its successor, in one writer job for the common case of a refresh.

use std::time::Duration;

use diesel::sql_types::{BigInt, Binary, Nullable, Text};
use diesel::{OptionalExtension, QueryResult, RunQueryDsl, SqliteConnection};
use gatehouse_application::PortError;
use gatehouse_application::ports::{Rotation, RotationAttempt, RotationOutcome, StoredToken};
use gatehouse_domain::Presentation;

use crate::SqliteStore;
use crate::codec::{STORED_TOKEN, StoredTokenRow, micros};
use crate::prepared::Prepared;
use crate::writes::{insert_audit, insert_token, with_detail};

pub(crate) fn stored_token(
    c: &mut SqliteConnection,
    digest: &[u8],
) -> QueryResult<Option<StoredToken>> {
    Prepared(diesel::sql_query(STORED_TOKEN).bind::<Binary, _>(digest))
        .get_result::<StoredTokenRow>(c)
        .optional()?
        .map(StoredTokenRow::into_token)
        .transpose()
}

/// Retires the token keeping its sealed successor (and naming it), inserts
/// the successor, touches the session and records the event; answers
/// `false`, writing nothing, when the token was rotated already (then no
/// successor may join the family). The predecessor's kept successor is the
/// token rotated now: it is erased, since no replay may hand out a token
/// that is no longer current.
pub(crate) fn apply(c: &mut SqliteConnection, r: &Rotation) -> QueryResult<bool> {
    let retired = Prepared(
        diesel::sql_query(
            "UPDATE refresh_tokens SET rotated_at = ?, sealed_successor = ?, successor_id = ? \
             WHERE id = ? AND rotated_at IS NULL",
        )
        .bind::<BigInt, _>(micros(r.at))
        .bind::<Nullable<Binary>, _>(r.sealed_successor.as_deref())
        .bind::<Text, _>(r.successor.id.to_string())
        .bind::<Text, _>(r.token_id.to_string()),
    )
    .execute(c)?;
    if retired == 0 {
        return Ok(false);
    }
    Prepared(
        diesel::sql_query(
            "UPDATE refresh_tokens SET sealed_successor = NULL \
             WHERE successor_id = ? AND sealed_successor IS NOT NULL",
        )
        .bind::<Text, _>(r.token_id.to_string()),
    )
    .execute(c)?;
    insert_token(
        c,
        r.session_id,
        &r.successor.id,
        &r.successor.digest.0,
        r.successor.issued_at,
        r.successor.expires_at,
    )?;
    Prepared(
        diesel::sql_query("UPDATE sessions SET last_used_at = ? WHERE id = ?")
            .bind::<BigInt, _>(micros(r.at))
            .bind::<Text, _>(r.session_id.to_string()),
    )
    .execute(c)?;
    if let Some(audit) = &r.audit {
        insert_audit(c, audit)?;
    }
    Ok(true)
}

impl SqliteStore {
    pub(crate) async fn rotate_in_one_step(
        &self,
        attempt: RotationAttempt,
    ) -> Result<RotationOutcome, PortError> {
        self.write(move |c| {
            let Some(token) = stored_token(c, &attempt.digest.0)? else {
                return Ok(RotationOutcome::Unknown);
            };
            let at = attempt.at;
            // The domain's rule says what "current" is; the grace plays no
            // part for a token that was never rotated.
            let current = !token.user_disabled
                && token.presented.classify(at, Duration::ZERO) == Presentation::Rotate;
            if !current {
                return Ok(RotationOutcome::Declined(token));
            }
            let mut successor = attempt.successor;
            successor.expires_at = successor.expires_at.min(token.presented.session_expires_at);
            let audit = attempt.audit.as_ref().map(|audit| {
                let mut audit =
                    with_detail(audit, "session_id", token.session_id.to_string().into());
                audit.user_id = Some(token.user_id);
                audit
            });
            // Found current inside this transaction, so it rotates.
            apply(
                c,
                &Rotation {
                    token_id: token.token_id,
                    session_id: token.session_id,
                    at,
                    sealed_successor: attempt.sealed_successor,
                    successor,
                    audit,
                },
            )?;
            Ok(RotationOutcome::Rotated(token))
        })
        .await
    }
}
