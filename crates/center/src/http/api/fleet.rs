//! The equipment status as JSON: `GET /fleet?customer_id=&state=` (the panel's page is
//! `/fleet`).

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use mamori_api::agent as wire;
use mamori_center_model::ids::CustomerId;
use serde::Deserialize;

use super::extract::ApiActor;
use super::problem::{ApiResult, Problem};
use crate::app::ApiProblem;
use crate::domain::rfc3339;
use crate::gateways::reconcile::{FleetFilter, FleetRow, FleetState};
use crate::http::AppState;

/// The filters of the equipment status.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct Filter {
    /// Only the equipment in this state: `never_seen`, `drift`, `failed`, `pending` or
    /// `in_sync`.
    state: Option<String>,
    /// Only this customer's equipment (a number).
    customer_id: Option<String>,
}

/// The filter, or the field that is wrong and what is wrong with it.
fn filter_of(q: &Filter) -> Result<FleetFilter, (&'static str, ApiProblem)> {
    let state = match q.state.as_deref().filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => Some(FleetState::parse(v).ok_or_else(|| {
            (
                "state",
                ApiProblem::NotAFleetState {
                    field: "state".into(),
                    value: format!("{v:?}"),
                    allowed: FleetState::ALL.map(|s| s.as_str()).join(", "),
                },
            )
        })?),
    };
    let customer_id = match q
        .customer_id
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        None => None,
        Some(v) => Some(v.parse::<i64>().map_err(|_| {
            (
                "customer_id",
                ApiProblem::NotANumber {
                    field: "customer_id".into(),
                    value: format!("{v:?}"),
                },
            )
        })?),
    };
    Ok(FleetFilter {
        customer_id: customer_id.map(CustomerId::new),
        state,
    })
}

fn row_wire(r: FleetRow) -> wire::FleetAppliance {
    wire::FleetAppliance {
        state: r.state().as_str().into(),
        equipment_id: r.equipment_id.get(),
        serial: r.serial,
        customer_id: r.customer_id.get(),
        customer: r.customer_name,
        site_id: r.site_id.get(),
        site: r.site_name,
        last_contact: r.last_contact.map(rfc3339),
        applied_generation: r.applied_generation,
        desired_generation: r.desired_generation,
        apply_state: r.apply_state,
        apply_generation: r.apply_generation,
        apply_error: r.apply_error,
        drift: r.drift,
    }
}

/// The equipment status
///
/// Per enrolled piece of equipment: last contact, applied vs desired generation, last
/// apply, drift.
#[utoipa::path(get, path = "/fleet", tag = "equipment", params(Filter),
    responses((status = 200, description = "the equipment status", body = Vec<wire::FleetAppliance>)))]
pub(super) async fn fleet(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Query(q): Query<Filter>,
) -> ApiResult<Json<Vec<wire::FleetAppliance>>> {
    let f = filter_of(&q).map_err(|(field, e)| {
        Problem::says(StatusCode::UNPROCESSABLE_ENTITY, "Invalid Field", e).field(field)
    })?;
    Ok(Json(
        s.app
            .fleet()
            .list(&a, &f)
            .await?
            .into_iter()
            .map(row_wire)
            .collect(),
    ))
}
