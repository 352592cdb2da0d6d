//! The monitoring's incidents: the list (filters, keyset paging), one incident with its
//! timeline, and an operator's acknowledgement, resolution and comments.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mamori_api::monitoring as wire;
use mamori_center_model::ids::{IncidentId, SiteId, UserId};
use mamori_center_model::monitoring::{Incident, IncidentFilter, IncidentState};
use serde::Deserialize;

use super::extract::{ApiActor, ApiJson, ApiQuery, DEFAULT_PAGE, Id};
use super::problem::{ApiResult, Problem};
use crate::app::ApiProblem;
use crate::domain::rfc3339;
use crate::http::AppState;

fn incident_wire(i: Incident, now: i64) -> wire::Incident {
    wire::Incident {
        id: i.id.get(),
        customer_id: i.customer_id.get(),
        site_id: i.site_id.get(),
        duration_secs: i.duration_ms(now) / 1000,
        key: i.key,
        severity: i.severity.as_str().into(),
        state: i.state.as_str().into(),
        summary: i.summary,
        opened_at: rfc3339(i.opened_at),
        acknowledged_at: i.acknowledged_at.map(rfc3339),
        acknowledged_by: i.acknowledged_by.map(UserId::get),
        resolved_at: i.resolved_at.map(rfc3339),
        in_maintenance: i.in_maintenance,
    }
}

/// Which incidents, and which page.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct ListQuery {
    /// Only incidents in this state: `open`, `acknowledged` or `resolved`.
    state: Option<String>,
    /// Only this site's incidents.
    site_id: Option<i64>,
    /// The page before this incident id (keyset paging: the last id of a page).
    before: Option<i64>,
    /// How many (1 to 500; 25 when absent).
    limit: Option<i64>,
}

/// The incidents
///
/// Newest first: every customer's for the operations staff, the caller's own sites'
/// for a customer's officer and staff.
#[utoipa::path(get, path = "/incidents", tag = "monitoring", params(ListQuery),
    responses((status = 200, description = "the incidents", body = Vec<wire::Incident>)))]
pub(super) async fn list(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Vec<wire::Incident>>> {
    let state = match q.state.as_deref().filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => Some(IncidentState::parse(v).ok_or_else(|| {
            Problem::says(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Invalid Field",
                ApiProblem::NotAnIncidentState {
                    field: "state".into(),
                    value: format!("{v:?}"),
                    allowed: IncidentState::ALL.map(|s| s.as_str()).join(", "),
                },
            )
            .field("state")
        })?),
    };
    let f = IncidentFilter {
        state,
        site_id: q.site_id.map(SiteId::new),
    };
    let now = s.now_ms();
    Ok(Json(
        s.app
            .monitoring()
            .incidents(
                &a,
                &f,
                q.before.map(IncidentId::new),
                q.limit.unwrap_or(DEFAULT_PAGE),
            )
            .await?
            .into_iter()
            .map(|i| incident_wire(i, now))
            .collect(),
    ))
}

/// An incident with its timeline
#[utoipa::path(get, path = "/incidents/{id}", tag = "monitoring",
    params(("id" = i64, Path, description = "the incident")),
    responses((status = 200, description = "the incident", body = wire::IncidentDetail)))]
pub(super) async fn one(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(id): Id,
) -> ApiResult<Json<wire::IncidentDetail>> {
    let (i, events) = s.app.monitoring().incident(&a, IncidentId::new(id)).await?;
    Ok(Json(wire::IncidentDetail {
        incident: incident_wire(i, s.now_ms()),
        timeline: events
            .into_iter()
            .map(|e| wire::IncidentEvent {
                at: rfc3339(e.at),
                kind: e.kind.as_str().into(),
                actor: e.actor,
                note: e.note,
            })
            .collect(),
    }))
}

async fn move_to(
    s: AppState,
    a: crate::domain::Actor,
    id: i64,
    to: IncidentState,
    note: &str,
) -> ApiResult<Json<wire::Incident>> {
    let now = s.now_ms();
    let i = s
        .app
        .monitoring()
        .set_state(&a, IncidentId::new(id), to, Some(note), now)
        .await?;
    Ok(Json(incident_wire(i, now)))
}

/// Acknowledge an incident
///
/// Someone is on it (administrators and operators).
#[utoipa::path(post, path = "/incidents/{id}/acknowledge", tag = "monitoring",
    params(("id" = i64, Path, description = "the incident")), request_body = wire::IncidentNote,
    responses((status = 200, description = "the incident, acknowledged", body = wire::Incident)))]
pub(super) async fn acknowledge(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(id): Id,
    ApiJson(req): ApiJson<wire::IncidentNote>,
) -> ApiResult<Json<wire::Incident>> {
    move_to(s, a, id, IncidentState::Acknowledged, &req.note).await
}

/// Resolve an incident
///
/// By hand (administrators and operators); the monitoring resolves an incident by
/// itself when its problem clears.
#[utoipa::path(post, path = "/incidents/{id}/resolve", tag = "monitoring",
    params(("id" = i64, Path, description = "the incident")), request_body = wire::IncidentNote,
    responses((status = 200, description = "the incident, resolved", body = wire::Incident)))]
pub(super) async fn resolve(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(id): Id,
    ApiJson(req): ApiJson<wire::IncidentNote>,
) -> ApiResult<Json<wire::Incident>> {
    move_to(s, a, id, IncidentState::Resolved, &req.note).await
}

/// Comment on an incident
#[utoipa::path(post, path = "/incidents/{id}/comments", tag = "monitoring",
    params(("id" = i64, Path, description = "the incident")), request_body = wire::IncidentNote,
    responses((status = 204, description = "the comment is in the timeline")))]
pub(super) async fn comment(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(id): Id,
    ApiJson(req): ApiJson<wire::IncidentNote>,
) -> ApiResult<StatusCode> {
    s.app
        .monitoring()
        .comment(&a, IncidentId::new(id), &req.note, s.now_ms())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
