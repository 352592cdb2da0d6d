//! The REST API of managed gateways under `/api/v1`: the equipment inventory.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use mamori_api::gateways as wire;
use mamori_center_model::ids::*;
use serde::Deserialize;

use super::extract::{ApiActor, ApiJson, ApiQuery, Id, created};
use super::problem::{ApiResult, Problem};
use crate::app::ApiProblem;
use crate::domain::rfc3339;
use crate::gateways::inventory::{EquipmentState, Move};
use crate::gateways::{Equipment, EquipmentEvent, EquipmentFilter};
use crate::http::{AppState, shows_secret};

fn equipment_wire(e: Equipment, history: Vec<EquipmentEvent>) -> wire::Equipment {
    wire::Equipment {
        id: e.id.get(),
        serial: e.serial,
        model: e.model,
        state: e.placement.state.as_str().into(),
        customer_id: e.placement.customer_id.map(CustomerId::get),
        site_id: e.placement.site_id.map(SiteId::get),
        created_at: rfc3339(e.created_at),
        updated_at: rfc3339(e.updated_at),
        history: history.into_iter().map(event_wire).collect(),
    }
}

fn event_wire(e: EquipmentEvent) -> wire::EquipmentEvent {
    wire::EquipmentEvent {
        at: rfc3339(e.at),
        actor: e.actor,
        from: e.from.map(|s| s.as_str().into()),
        to: e.to.as_str().into(),
        customer_id: e.customer_id.map(CustomerId::get),
        site_id: e.site_id.map(SiteId::get),
        note: e.note,
    }
}

fn state_param(field: &str, s: &str) -> Result<EquipmentState, Problem> {
    EquipmentState::parse(s).ok_or_else(|| {
        Problem::says(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid Field",
            ApiProblem::NotAnEquipmentState {
                field: field.into(),
                value: format!("{s:?}"),
                allowed: EquipmentState::ALL.map(|s| s.as_str()).join(", "),
            },
        )
        .field(field)
    })
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct ListQuery {
    /// Only the equipment in this state.
    state: Option<String>,
    /// Only this customer's equipment.
    customer_id: Option<i64>,
}

/// Equipment in the inventory
#[utoipa::path(get, path = "/equipment", tag = "equipment", params(ListQuery), responses((status = 200, description = "the equipment", body = Vec<wire::Equipment>)))]
pub(super) async fn list(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Vec<wire::Equipment>>> {
    let filter = EquipmentFilter {
        state: q
            .state
            .as_deref()
            .map(|v| state_param("state", v))
            .transpose()?,
        customer_id: q.customer_id.map(CustomerId::new),
    };
    Ok(Json(
        s.app
            .inventory()
            .list(&a, &filter)
            .await?
            .into_iter()
            .map(|e| equipment_wire(e, Vec::new()))
            .collect(),
    ))
}

/// One piece of equipment with its history
#[utoipa::path(get, path = "/equipment/{id}", tag = "equipment", params(("id" = i64, Path, description = "the equipment")), responses((status = 200, description = "the equipment", body = wire::Equipment)))]
pub(super) async fn one(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(id): Id,
) -> ApiResult<Json<wire::Equipment>> {
    let (e, h) = s.app.inventory().get(&a, EquipmentId::new(id)).await?;
    Ok(Json(equipment_wire(e, h)))
}

/// Put a new piece of equipment into stock
#[utoipa::path(post, path = "/equipment", tag = "equipment", request_body = wire::NewEquipment, responses((status = 201, description = "the equipment", body = wire::Equipment)))]
pub(super) async fn stock(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(req): ApiJson<wire::NewEquipment>,
) -> ApiResult<Response> {
    let e = s
        .app
        .inventory()
        .stock(&a, &req.serial, &req.model, s.now_ms())
        .await?;
    Ok(created(equipment_wire(e, Vec::new())))
}

/// Move a piece of equipment to another state
///
/// lent, installed, disconnected, relocating, failed, replaced, returned.
#[utoipa::path(post, path = "/equipment/{id}/move", tag = "equipment", params(("id" = i64, Path, description = "the equipment")), request_body = wire::MoveEquipment, responses((status = 200, description = "the equipment with its history", body = wire::Equipment)))]
pub(super) async fn move_unit(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(id): Id,
    ApiJson(req): ApiJson<wire::MoveEquipment>,
) -> ApiResult<Json<wire::Equipment>> {
    let m = Move {
        to: state_param("to", &req.to)?,
        customer_id: req.customer_id.map(CustomerId::new),
        site_id: req.site_id.map(SiteId::new),
    };
    let e = s
        .app
        .inventory()
        .apply_move(&a, EquipmentId::new(id), m, &req.note, s.now_ms())
        .await?;
    let (e, h) = s.app.inventory().get(&a, e.id).await?;
    Ok(Json(equipment_wire(e, h)))
}

/// A one-time enrolment token for equipment installed at this site
#[utoipa::path(post, path = "/sites/{id}/enrolment-tokens", tag = "equipment", params(("id" = i64, Path, description = "the site")), request_body = wire::NewEnrolmentToken, responses((status = 201, description = "the token, shown once", body = wire::EnrolmentToken)))]
pub(super) async fn enrolment_token(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(site): Id,
    ApiJson(req): ApiJson<wire::NewEnrolmentToken>,
) -> ApiResult<Response> {
    let ttl_ms = req.ttl_minutes.unwrap_or(60).saturating_mul(60_000);
    let (token, expires_at) = s
        .app
        .enrolment()
        .create_token(
            &a,
            SiteId::new(site),
            EquipmentId::new(req.equipment_id),
            ttl_ms,
            s.now_ms(),
        )
        .await?;
    Ok(shows_secret((
        StatusCode::CREATED,
        Json(wire::EnrolmentToken {
            token,
            site_id: site,
            equipment_id: req.equipment_id,
            expires_at: rfc3339(expires_at),
        }),
    )))
}
