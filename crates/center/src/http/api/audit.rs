//! The audit trail: `GET /audit`.

use axum::Json;
use axum::extract::{Query, State};
use mamori_api::v1 as wire;

use super::extract::{ApiActor, Page};
use super::problem::ApiResult;
use crate::domain::rfc3339;
use crate::http::AppState;

fn audit_wire(e: crate::audit::Entry) -> wire::AuditEntry {
    wire::AuditEntry {
        seq: e.seq,
        at: rfc3339(e.at),
        actor_id: e.actor_id,
        actor: e.actor,
        customer_id: e.customer_id,
        source: e.source,
        action: e.action,
        object: e.object,
        outcome: e.outcome,
        detail: e.detail,
    }
}

/// The audit trail the caller may see, newest first
///
/// `limit` (default 100) and `before` (a sequence number).
#[utoipa::path(get, path = "/audit", tag = "audit", params(Page),
    responses((status = 200, description = "a page of the audit trail", body = Vec<wire::AuditEntry>)))]
pub(super) async fn audit(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Query(q): Query<Page>,
) -> ApiResult<Json<Vec<wire::AuditEntry>>> {
    let list = s
        .app
        .audit_trail()
        .list(&a, q.before, q.limit.unwrap_or(100))
        .await?;
    Ok(Json(list.into_iter().map(audit_wire).collect()))
}
