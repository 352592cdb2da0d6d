//! The audit trail's use cases: `app.audit_trail()`

use super::*;

capability!(
    /// The audit trail's use cases.
    AuditTrail, audit_trail
);

impl AuditTrail<'_> {
    pub async fn list(
        self,
        actor: &Actor,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<crate::audit::Entry>> {
        Ok(self
            .store
            .audit_entries(actor.scope(), before, limit.clamp(1, 500))
            .await?)
    }
}
