//! The durable outbox. A claim is one transaction: SQLite's single writer
//! stands in for PostgreSQL's `FOR UPDATE SKIP LOCKED`.

use diesel::sql_types::{BigInt, Binary, Integer, Text};
use diesel::{QueryResult, QueryableByName, RunQueryDsl};
use gatehouse_application::PortError;
use gatehouse_application::ports::{ClaimedMail, DeliveryOutcome, MailOutbox, OutgoingMail};
use gatehouse_domain::{Email, Timestamp};

use crate::SqliteStore;
use crate::codec::{corrupt, instant, micros, uuid};

#[derive(QueryableByName)]
struct DueRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    recipient: String,
    #[diesel(sql_type = Text)]
    subject: String,
    #[diesel(sql_type = Binary)]
    sealed_body: Vec<u8>,
    #[diesel(sql_type = BigInt)]
    queued_at: i64,
    #[diesel(sql_type = Integer)]
    attempts: i32,
}

impl DueRow {
    /// The mail as this claim takes it: one attempt more.
    fn into_claim(self) -> QueryResult<ClaimedMail> {
        Ok(ClaimedMail {
            mail: OutgoingMail {
                id: uuid(&self.id)?,
                to: Email::parse(&self.recipient).map_err(|_| corrupt("recipient"))?,
                subject: self.subject,
                sealed_body: self.sealed_body,
                queued_at: instant(self.queued_at)?,
            },
            attempts: u32::try_from(self.attempts)
                .map_err(|_| corrupt("attempts"))?
                .saturating_add(1),
        })
    }
}

impl MailOutbox for SqliteStore {
    async fn claim_due_mail(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<ClaimedMail>, PortError> {
        self.write(move |c| {
            let due: Vec<DueRow> = diesel::sql_query(
                "SELECT id, recipient, subject, sealed_body, queued_at, attempts FROM mail_outbox \
                 WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ? \
                 ORDER BY next_attempt_at, id LIMIT ?",
            )
            .bind::<BigInt, _>(micros(now))
            .bind::<BigInt, _>(i64::from(limit))
            .load(c)?;
            let ids: Vec<String> = due.iter().map(|row| row.id.clone()).collect();
            if !ids.is_empty() {
                diesel::sql_query(
                    "UPDATE mail_outbox SET attempts = attempts + 1, next_attempt_at = ? \
                     WHERE id IN (SELECT value FROM json_each(?))",
                )
                .bind::<BigInt, _>(micros(lease_until))
                .bind::<Text, _>(serde_json::Value::from(ids).to_string())
                .execute(c)?;
            }
            let mut claimed = Vec::with_capacity(due.len());
            for row in due {
                let id = row.id.clone();
                match row.into_claim() {
                    Ok(claim) => claimed.push(claim),
                    // One unreadable row must not stop every mail behind
                    // it: it is given up, and said so.
                    Err(error) => {
                        tracing::error!(mail_id = %id, %error, "unreadable mail in the outbox given up");
                        diesel::sql_query(
                            "UPDATE mail_outbox SET failed_at = ?, sealed_body = NULL WHERE id = ?",
                        )
                        .bind::<BigInt, _>(micros(now))
                        .bind::<Text, _>(id)
                        .execute(c)?;
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
        let id = claim.mail.id.to_string();
        let attempts = i64::from(claim.attempts);
        // Only the latest claim settles: a lease that ran out and was
        // claimed again has more attempts.
        let (sql, instant) = match outcome {
            DeliveryOutcome::Sent => (
                "UPDATE mail_outbox SET sent_at = ?, sealed_body = NULL \
                 WHERE id = ? AND attempts = ? AND sealed_body IS NOT NULL",
                at,
            ),
            DeliveryOutcome::Failed => (
                "UPDATE mail_outbox SET failed_at = ?, sealed_body = NULL \
                 WHERE id = ? AND attempts = ? AND sealed_body IS NOT NULL",
                at,
            ),
            DeliveryOutcome::RetryAt(next) => (
                "UPDATE mail_outbox SET next_attempt_at = ? \
                 WHERE id = ? AND attempts = ? AND sealed_body IS NOT NULL",
                next,
            ),
        };
        self.write(move |c| {
            diesel::sql_query(sql)
                .bind::<BigInt, _>(micros(instant))
                .bind::<Text, _>(id)
                .bind::<BigInt, _>(attempts)
                .execute(c)
                .map(|_| ())
        })
        .await
    }
}
