use diesel_async::RunQueryDsl;
use gatehouse_application::PortError;
use gatehouse_application::ports::AuditLog;
use gatehouse_domain::AuditEvent;

use crate::PgStore;
use crate::error::{bounded, from_diesel};
use crate::schema::audit_events;

pub(crate) async fn insert(
    conn: &mut diesel_async::AsyncPgConnection,
    e: AuditEvent,
) -> Result<(), PortError> {
    use diesel::ExpressionMethods;
    diesel::insert_into(audit_events::table)
        .values((
            audit_events::id.eq(e.id),
            audit_events::at.eq(e.at),
            audit_events::kind.eq(e.kind.as_str()),
            audit_events::user_id.eq(e.user_id.map(|u| u.as_uuid())),
            audit_events::ip.eq(e.client.ip),
            audit_events::user_agent.eq(e.client.user_agent),
            audit_events::detail.eq(e.detail),
        ))
        .execute(conn)
        .await
        .map(|_| ())
        .map_err(from_diesel)
}

impl AuditLog for PgStore {
    async fn record(&self, event: AuditEvent) -> Result<(), PortError> {
        bounded(self.query_timeout, async {
            let mut conn = self.conn().await?;
            insert(&mut conn, event).await
        })
        .await
    }
}
