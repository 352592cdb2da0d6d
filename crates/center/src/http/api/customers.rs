//! Customers: `/customers`, `/customers/{id}`; a customer is created with its security
//! officer.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use mamori_api::v1 as wire;
use mamori_center_model::ids::CustomerId;

use super::extract::{ApiActor, ApiJson, Id, created};
use super::problem::ApiResult;
use super::users::user_wire;
use crate::domain::{self, rfc3339};
use crate::http::{AppState, shows_secret};

fn customer_wire(c: domain::Customer) -> wire::Customer {
    wire::Customer {
        id: c.id.get(),
        name: c.name,
        created_at: rfc3339(c.created_at),
    }
}

/// Customers the caller may see
#[utoipa::path(get, path = "/customers", tag = "customers",
    responses((status = 200, description = "the customers", body = Vec<wire::Customer>)))]
pub(super) async fn customers(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
) -> ApiResult<Json<Vec<wire::Customer>>> {
    Ok(Json(
        s.app
            .customers()
            .list(&a)
            .await?
            .into_iter()
            .map(customer_wire)
            .collect(),
    ))
}

/// One customer
#[utoipa::path(get, path = "/customers/{id}", tag = "customers",
    params(("id" = i64, Path, description = "the customer")),
    responses((status = 200, description = "the customer", body = wire::Customer)))]
pub(super) async fn customer(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(id): Id,
) -> ApiResult<Json<wire::Customer>> {
    Ok(Json(customer_wire(
        s.app.customers().get(&a, CustomerId::new(id)).await?,
    )))
}

/// Create a customer with its security officer
#[utoipa::path(post, path = "/customers", tag = "customers",
    request_body = wire::NewCustomer,
    responses((status = 201, description = "the customer and its officer's setup link", body = wire::CreatedCustomer)))]
pub(super) async fn create_customer(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(req): ApiJson<wire::NewCustomer>,
) -> ApiResult<Response> {
    let (c, u, token) = s
        .app
        .customers()
        .create(
            &a,
            &req.name,
            &req.officer.email,
            &req.officer.display_name,
            s.now_ms(),
        )
        .await?;
    Ok(shows_secret(created(wire::CreatedCustomer {
        customer: customer_wire(c),
        officer: wire::Invitation {
            user: user_wire(u),
            setup_path: format!("/setup/{token}"),
        },
    })))
}
