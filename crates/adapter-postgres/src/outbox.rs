//! The mail outbox. Claims take due rows with `FOR UPDATE SKIP LOCKED` and
//! move them past a lease in the same statement, so concurrent senders on
//! any number of instances never claim one mail twice, and none waits for
//! another.

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{Bytea, Integer, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use gatehouse_application::PortError;
use gatehouse_application::ports::{
    ClaimedMail, DeliveryOutcome, MailOutbox, OutboxTx, OutgoingMail,
};
use gatehouse_domain::{Email, Timestamp};

use crate::error::{bounded, from_diesel};
use crate::prepared::Prepared;
use crate::rows::{Statement, corrupt};
use crate::{PgStore, PgTx};

const CLAIM_DUE: &str = "\
WITH due AS ( \
    SELECT id FROM mail_outbox \
    WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1 \
    ORDER BY next_attempt_at, id LIMIT $3 \
    FOR UPDATE SKIP LOCKED) \
UPDATE mail_outbox m SET next_attempt_at = $2, attempts = m.attempts + 1 \
FROM due WHERE m.id = due.id \
RETURNING m.id, m.recipient, m.subject, m.sealed_body, m.queued_at, m.attempts";

// Fenced by the attempt count: a settle from a claim whose lease ran out
// (the mail was claimed again since) changes nothing.
const MARK_SENT: &str = "UPDATE mail_outbox SET sent_at = $2, sealed_body = NULL \
                         WHERE id = $1 AND attempts = $3 AND sealed_body IS NOT NULL";
const MARK_FAILED: &str = "UPDATE mail_outbox SET failed_at = $2, sealed_body = NULL \
                           WHERE id = $1 AND attempts = $3 AND sealed_body IS NOT NULL";
const RETRY_AT: &str = "UPDATE mail_outbox SET next_attempt_at = $2 \
                        WHERE id = $1 AND attempts = $3 AND sealed_body IS NOT NULL";

const ENQUEUE: &str = "INSERT INTO mail_outbox (id, recipient, subject, sealed_body, queued_at, next_attempt_at) \
                       VALUES ($1, $2, $3, $4, $5, $5)";

/// A CTE queuing one mail (5 placeholders from `$first`), for statements
/// that queue a mail with the change it reports. `source` is the rest of
/// an `INSERT … SELECT`: a `FROM`/`WHERE` deciding whether the row is
/// written, or empty to always write it. Ends with a comma.
pub(crate) fn enqueue_cte(name: &str, first: usize, source: &str) -> String {
    let p = |i: usize| format!("${}", first + i);
    format!(
        "{name} AS (INSERT INTO mail_outbox (id, recipient, subject, sealed_body, queued_at, next_attempt_at) \
         SELECT {}, {}, {}, {}, {4}, {4} {source}), ",
        p(0),
        p(1),
        p(2),
        p(3),
        p(4),
    )
}

pub(crate) fn bind_mail(q: Statement, mail: OutgoingMail) -> Statement {
    q.bind::<SqlUuid, _>(mail.id)
        .bind::<Text, _>(mail.to.as_str().to_owned())
        .bind::<Text, _>(mail.subject)
        .bind::<Bytea, _>(mail.sealed_body)
        .bind::<Timestamptz, _>(mail.queued_at)
}

#[derive(QueryableByName)]
struct ClaimedRow {
    #[diesel(sql_type = SqlUuid)]
    id: uuid::Uuid,
    #[diesel(sql_type = Text)]
    recipient: String,
    #[diesel(sql_type = Text)]
    subject: String,
    #[diesel(sql_type = Bytea)]
    sealed_body: Vec<u8>,
    #[diesel(sql_type = Timestamptz)]
    queued_at: DateTime<Utc>,
    #[diesel(sql_type = Integer)]
    attempts: i32,
}

impl ClaimedRow {
    fn into_claimed(self) -> Result<ClaimedMail, PortError> {
        Ok(ClaimedMail {
            mail: OutgoingMail {
                id: self.id,
                to: Email::parse(&self.recipient).map_err(|_| corrupt("mail recipient"))?,
                subject: self.subject,
                sealed_body: self.sealed_body,
                queued_at: self.queued_at,
            },
            attempts: u32::try_from(self.attempts).map_err(|_| corrupt("mail attempts"))?,
        })
    }
}

impl MailOutbox for PgStore {
    async fn claim_due_mail(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<ClaimedMail>, PortError> {
        let q = Prepared(
            diesel::sql_query(CLAIM_DUE)
                .bind::<Timestamptz, _>(now)
                .bind::<Timestamptz, _>(lease_until)
                .bind::<diesel::sql_types::BigInt, _>(i64::from(limit)),
        );
        bounded(self.query_timeout, async {
            let mut conn = self.conn().await?;
            let rows: Vec<ClaimedRow> = q.load(&mut *conn).await.map_err(from_diesel)?;
            let mut claimed = Vec::with_capacity(rows.len());
            for row in rows {
                let (id, attempts) = (row.id, row.attempts);
                match row.into_claimed() {
                    Ok(mail) => claimed.push(mail),
                    // A row no transport could take must not hold up the
                    // mails claimed with it, nor come back forever.
                    Err(error) => {
                        tracing::error!(mail_id = %id, error = %error, "queued mail is corrupt; given up");
                        Prepared(
                            diesel::sql_query(MARK_FAILED)
                                .bind::<SqlUuid, _>(id)
                                .bind::<Timestamptz, _>(now)
                                .bind::<Integer, _>(attempts),
                        )
                        .execute(&mut *conn)
                        .await
                        .map_err(from_diesel)?;
                    }
                }
            }
            Ok(claimed)
        })
        .await
    }

    async fn settle_mail(
        &self,
        claim: &ClaimedMail,
        outcome: DeliveryOutcome,
        at: Timestamp,
    ) -> Result<(), PortError> {
        let (sql, when) = match outcome {
            DeliveryOutcome::Sent => (MARK_SENT, at),
            DeliveryOutcome::Failed => (MARK_FAILED, at),
            DeliveryOutcome::RetryAt(next) => (RETRY_AT, next),
        };
        let q = Prepared(
            diesel::sql_query(sql)
                .bind::<SqlUuid, _>(claim.mail.id)
                .bind::<Timestamptz, _>(when)
                .bind::<Integer, _>(i32::try_from(claim.attempts).unwrap_or(i32::MAX)),
        );
        bounded(self.query_timeout, async {
            let mut conn = self.conn().await?;
            q.execute(&mut *conn).await.map(|_| ()).map_err(from_diesel)
        })
        .await
    }
}

impl OutboxTx for PgTx {
    async fn enqueue(&mut self, mail: OutgoingMail) -> Result<(), PortError> {
        let q = Prepared(bind_mail(diesel::sql_query(ENQUEUE).into_boxed(), mail));
        self.write(q).await
    }
}
