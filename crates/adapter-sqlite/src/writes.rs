//! Statements shared by the methods that write: each runs inside the
//! caller's transaction.

use diesel::sql_types::{BigInt, Binary, Nullable, Text};
use diesel::{QueryResult, RunQueryDsl, SqliteConnection};
use gatehouse_application::ports::{MailedToken, NewSession, OutgoingMail, RevokeReason};
use gatehouse_domain::{AuditEvent, SessionId, Timestamp, UserId};

use crate::codec::{IdRow, amr_json, micros};
use crate::prepared::Prepared;

pub(crate) fn insert_session(c: &mut SqliteConnection, s: &NewSession) -> QueryResult<()> {
    Prepared(
        diesel::sql_query(
            "INSERT INTO sessions (id, user_id, created_at, last_used_at, auth_time, expires_at, amr, ip, user_agent) \
             VALUES (?1, ?2, ?3, ?3, ?3, ?4, ?5, ?6, ?7)",
        )
        .bind::<Text, _>(s.id.to_string())
        .bind::<Text, _>(s.user_id.to_string())
        .bind::<BigInt, _>(micros(s.created_at))
        .bind::<BigInt, _>(micros(s.expires_at))
        .bind::<Text, _>(amr_json(s.amr))
        .bind::<Nullable<Text>, _>(s.client.ip.clone())
        .bind::<Nullable<Text>, _>(s.client.user_agent.clone()),
    )
    .execute(c)?;
    // Every session started is a sign-in.
    Prepared(
        diesel::sql_query("UPDATE users SET last_sign_in_at = ? WHERE id = ?")
            .bind::<BigInt, _>(micros(s.created_at))
            .bind::<Text, _>(s.user_id.to_string()),
    )
    .execute(c)?;
    insert_token(
        c,
        s.id,
        &s.first_token.id,
        &s.first_token.digest.0,
        s.first_token.issued_at,
        s.first_token.expires_at,
    )
}

pub(crate) fn insert_token(
    c: &mut SqliteConnection,
    session_id: SessionId,
    id: &uuid::Uuid,
    digest: &[u8],
    issued_at: Timestamp,
    expires_at: Timestamp,
) -> QueryResult<()> {
    Prepared(
        diesel::sql_query(
            "INSERT INTO refresh_tokens (id, session_id, digest, issued_at, expires_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind::<Text, _>(id.to_string())
        .bind::<Text, _>(session_id.to_string())
        .bind::<Binary, _>(digest.to_vec())
        .bind::<BigInt, _>(micros(issued_at))
        .bind::<BigInt, _>(micros(expires_at)),
    )
    .execute(c)
    .map(|_| ())
}

pub(crate) fn insert_audit(c: &mut SqliteConnection, e: &AuditEvent) -> QueryResult<()> {
    Prepared(
        diesel::sql_query(
            "INSERT INTO audit_events (id, at, kind, user_id, ip, user_agent, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind::<Text, _>(e.id.to_string())
        .bind::<BigInt, _>(micros(e.at))
        .bind::<Text, _>(e.kind.as_str())
        .bind::<Nullable<Text>, _>(e.user_id.map(|u| u.to_string()))
        .bind::<Nullable<Text>, _>(e.client.ip.clone())
        .bind::<Nullable<Text>, _>(e.client.user_agent.clone())
        .bind::<Text, _>(e.detail.to_string()),
    )
    .execute(c)
    .map(|_| ())
}

/// The event with `key` added to its detail, as the store reports what a
/// change touched.
pub(crate) fn with_detail(audit: &AuditEvent, key: &str, value: serde_json::Value) -> AuditEvent {
    let mut event = audit.clone();
    if let Some(detail) = event.detail.as_object_mut() {
        detail.insert(key.into(), value);
    }
    event
}

pub(crate) fn enqueue(c: &mut SqliteConnection, mail: &OutgoingMail) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO mail_outbox (id, recipient, subject, sealed_body, queued_at, next_attempt_at) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind::<Text, _>(mail.id.to_string())
    .bind::<Text, _>(mail.to.as_str())
    .bind::<Text, _>(&mail.subject)
    .bind::<Binary, _>(&mail.sealed_body)
    .bind::<BigInt, _>(micros(mail.queued_at))
    .bind::<BigInt, _>(micros(mail.queued_at))
    .execute(c)
    .map(|_| ())
}

pub(crate) fn insert_account_token(
    c: &mut SqliteConnection,
    user_id: UserId,
    token: &MailedToken,
) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO account_tokens (digest, purpose, user_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
    )
    .bind::<Binary, _>(&token.digest.0)
    .bind::<Text, _>(token.purpose.as_str())
    .bind::<Text, _>(user_id.to_string())
    .bind::<BigInt, _>(micros(token.created_at))
    .bind::<BigInt, _>(micros(token.expires_at))
    .execute(c)?;
    enqueue(c, &token.mail)
}

/// Which of a user's sessions to end.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Sessions {
    All,
    AllBut(SessionId),
    One(SessionId),
}

/// Ends the user's unrevoked sessions that `which` names, and erases the
/// successors their tokens kept for grace replays (a revoked family
/// answers no replay). Answers the ids ended, in id order.
pub(crate) fn end_sessions(
    c: &mut SqliteConnection,
    user_id: UserId,
    which: Sessions,
    at: Timestamp,
    reason: RevokeReason,
) -> QueryResult<Vec<String>> {
    let (filter, session) = match which {
        Sessions::All => ("", None),
        Sessions::AllBut(id) => (" AND id <> ?", Some(id)),
        Sessions::One(id) => (" AND id = ?", Some(id)),
    };
    let sql = format!(
        "UPDATE sessions SET revoked_at = ?, revoke_reason = ? \
         WHERE user_id = ? AND revoked_at IS NULL{filter} RETURNING id"
    );
    let query = diesel::sql_query(sql)
        .into_boxed()
        .bind::<BigInt, _>(micros(at))
        .bind::<Text, _>(reason.as_str())
        .bind::<Text, _>(user_id.to_string());
    let query = match session {
        Some(id) => query.bind::<Text, _>(id.to_string()),
        None => query,
    };
    if !matches!(which, Sessions::One(_)) {
        // A sign-in whose check began before this starts no session after
        // it (its guard compares the epoch).
        diesel::sql_query("UPDATE users SET sessions_epoch = sessions_epoch + 1 WHERE id = ?")
            .bind::<Text, _>(user_id.to_string())
            .execute(c)?;
    }
    let mut ended: Vec<String> = query.load::<IdRow>(c)?.into_iter().map(|r| r.id).collect();
    ended.sort();
    erase_kept_successors(c, &ended)?;
    Ok(ended)
}

pub(crate) fn erase_kept_successors(
    c: &mut SqliteConnection,
    sessions: &[String],
) -> QueryResult<()> {
    if sessions.is_empty() {
        return Ok(());
    }
    diesel::sql_query(
        "UPDATE refresh_tokens SET sealed_successor = NULL \
         WHERE session_id IN (SELECT value FROM json_each(?)) AND sealed_successor IS NOT NULL",
    )
    .bind::<Text, _>(serde_json::Value::from(sessions.to_vec()).to_string())
    .execute(c)
    .map(|_| ())
}
