//! The audit log's writes outside a unit of work.

use gatehouse_application::PortError;
use gatehouse_application::ports::AuditLog;
use gatehouse_domain::AuditEvent;

use crate::SqliteStore;
use crate::writes::insert_audit;

impl AuditLog for SqliteStore {
    async fn record(&self, event: AuditEvent) -> Result<(), PortError> {
        self.write(move |c| insert_audit(c, &event)).await
    }
}
