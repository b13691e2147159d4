//! What PostgreSQL holds of a mailed link: a digest and a sealed body,
//! never the link (the outbox and token races are in the store contract).

use gatehouse_adapter_postgres::test_support::TestDatabase;
use gatehouse_application::AuthPolicy;
use gatehouse_application::use_cases::mail::DeliverMail;
use gatehouse_application::use_cases::password::RequestPasswordReset;
use gatehouse_domain::Email;

use crate::support::*;

pub(crate) async fn queued_link(ports: &PgPorts, subject: &str) -> String {
    DeliverMail::new(ports).execute().await.unwrap();
    let mail = ports
        .mailer
        .sent()
        .into_iter()
        .rev()
        .find(|m| m.subject.contains(subject))
        .expect("the mail");
    let body = mail.body.expose();
    let start = body.find("?token=").unwrap() + "?token=".len();
    body[start..].split_whitespace().next().unwrap().to_owned()
}

/// A copy of the database yields no usable link: the outbox holds the
/// body sealed (and erases it once sent), the token table a digest.
#[tokio::test]
async fn the_reset_link_is_not_readable_at_rest() {
    let db = TestDatabase::create().await;
    let ports = ports(&db, AuthPolicy::default());
    register(&ports, "at-rest@example.com").await;
    RequestPasswordReset::new(&ports)
        .execute(Email::parse("at-rest@example.com").unwrap(), &client())
        .await
        .unwrap();
    let leaked = count(
        &db,
        "SELECT count(*) AS n FROM mail_outbox WHERE position('token='::bytea in sealed_body) > 0",
    )
    .await;
    assert_eq!(leaked, 0, "bodies are sealed");
    let token = queued_link(&ports, "Reset").await;
    let stored = count(
        &db,
        &format!("SELECT count(*) AS n FROM account_tokens WHERE digest = sha256(convert_to('{token}', 'UTF8'))"),
    )
    .await;
    assert_eq!(stored, 1, "the link's digest is what is kept");
    let in_clear = count(
        &db,
        &format!(
            "SELECT count(*) AS n FROM account_tokens t, mail_outbox m, audit_events a \
             WHERE position('{token}' in encode(t.digest, 'escape')) > 0 \
                OR position('{token}' in m.subject || m.recipient) > 0 \
                OR position('{token}' in a.detail::text) > 0"
        ),
    )
    .await;
    assert_eq!(in_clear, 0, "the token itself is nowhere");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) AS n FROM mail_outbox WHERE sealed_body IS NOT NULL"
        )
        .await,
        0,
        "sent bodies are erased"
    );
}
