//! The REST API of managed gateways under `/api/v1`: the equipment inventory.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use mamori_api::gateways as wire;
use serde::Deserialize;

use super::api::{ApiActor, ApiJson, Id, Problem};
use super::{AppState, now_ms};
use crate::domain::rfc3339;
use crate::gateways::inventory::{EquipmentState, Move};
use crate::gateways::{Equipment, EquipmentEvent, EquipmentFilter};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/equipment", get(list).post(stock))
        .route("/equipment/{id}", get(one))
        .route("/equipment/{id}/move", post(move_unit))
        .route("/sites/{id}/enrolment-tokens", post(enrolment_token))
}

type ApiResult<T> = Result<T, Problem>;

fn equipment_wire(e: Equipment, history: Vec<EquipmentEvent>) -> wire::Equipment {
    wire::Equipment {
        id: e.id,
        serial: e.serial,
        model: e.model,
        state: e.placement.state.as_str().into(),
        customer_id: e.placement.customer_id,
        site_id: e.placement.site_id,
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
        customer_id: e.customer_id,
        site_id: e.site_id,
        note: e.note,
    }
}

fn state_param(field: &str, s: &str) -> Result<EquipmentState, Problem> {
    EquipmentState::parse(s).ok_or_else(|| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid Field",
            format!(
                "{field}: {s:?} is not an equipment state; one of: {}",
                EquipmentState::ALL.map(|s| s.as_str()).join(", ")
            ),
        )
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    state: Option<String>,
    customer_id: Option<i64>,
}

async fn list(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Vec<wire::Equipment>>> {
    let filter = EquipmentFilter {
        state: q
            .state
            .as_deref()
            .map(|v| state_param("state", v))
            .transpose()?,
        customer_id: q.customer_id,
    };
    Ok(Json(
        s.app
            .equipment_list(&a, &filter)
            .await?
            .into_iter()
            .map(|e| equipment_wire(e, Vec::new()))
            .collect(),
    ))
}

async fn one(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(id): Id,
) -> ApiResult<Json<wire::Equipment>> {
    let (e, h) = s.app.equipment(&a, id).await?;
    Ok(Json(equipment_wire(e, h)))
}

async fn stock(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(req): ApiJson<wire::NewEquipment>,
) -> ApiResult<Response> {
    let e = s
        .app
        .stock_equipment(&a, &req.serial, &req.model, now_ms())
        .await?;
    Ok((StatusCode::CREATED, Json(equipment_wire(e, Vec::new()))).into_response())
}

async fn move_unit(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(id): Id,
    ApiJson(req): ApiJson<wire::MoveEquipment>,
) -> ApiResult<Json<wire::Equipment>> {
    let m = Move {
        to: state_param("to", &req.to)?,
        customer_id: req.customer_id,
        site_id: req.site_id,
    };
    let e = s.app.move_equipment(&a, id, m, &req.note, now_ms()).await?;
    let (e, h) = s.app.equipment(&a, e.id).await?;
    Ok(Json(equipment_wire(e, h)))
}

async fn enrolment_token(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(site): Id,
    ApiJson(req): ApiJson<wire::NewEnrolmentToken>,
) -> ApiResult<Response> {
    let ttl_ms = req.ttl_minutes.unwrap_or(60).saturating_mul(60_000);
    let (token, expires_at) = s
        .app
        .create_enrolment_token(&a, site, req.equipment_id, ttl_ms, now_ms())
        .await?;
    Ok(super::shows_secret((
        StatusCode::CREATED,
        Json(wire::EnrolmentToken {
            token,
            site_id: site,
            equipment_id: req.equipment_id,
            expires_at: rfc3339(expires_at),
        }),
    )))
}
