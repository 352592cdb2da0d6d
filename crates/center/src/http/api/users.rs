//! Users: `/users`, `/users/{id}`, deactivation and role changes.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use mamori_api::v1 as wire;
use mamori_center_model::ids::{CustomerId, UserId};

use super::extract::{ApiActor, ApiJson, Id, created};
use super::problem::ApiResult;
use crate::domain::{self, rfc3339};
use crate::http::{AppState, shows_secret};

pub(super) fn user_wire(u: domain::User) -> wire::User {
    wire::User {
        id: u.id.get(),
        customer_id: u.customer_id.map(CustomerId::get),
        email: u.email,
        display_name: u.display_name,
        role: u.role.as_str().into(),
        active: u.active,
        totp_enabled: u.totp_enabled,
        locale: u.locale,
        created_at: rfc3339(u.created_at),
    }
}

/// Users the caller may see
#[utoipa::path(get, path = "/users", tag = "users",
    responses((status = 200, description = "the users", body = Vec<wire::User>)))]
pub(super) async fn users(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
) -> ApiResult<Json<Vec<wire::User>>> {
    Ok(Json(
        s.app
            .users()
            .list(&a)
            .await?
            .into_iter()
            .map(user_wire)
            .collect(),
    ))
}

/// One user
#[utoipa::path(get, path = "/users/{id}", tag = "users",
    params(("id" = i64, Path, description = "the user")),
    responses((status = 200, description = "the user", body = wire::User)))]
pub(super) async fn user(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(id): Id,
) -> ApiResult<Json<wire::User>> {
    Ok(Json(user_wire(
        s.app.users().get(&a, UserId::new(id)).await?,
    )))
}

/// Create a user (administrators; officers create staff)
///
/// The answer carries the one-time setup link the new user opens to set a password
/// and TOTP.
#[utoipa::path(post, path = "/users", tag = "users",
    request_body = wire::NewUser,
    responses((status = 201, description = "the account and its setup link", body = wire::Invitation)))]
pub(super) async fn create_user(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(req): ApiJson<wire::NewUser>,
) -> ApiResult<Response> {
    let (u, token) = s
        .app
        .users()
        .create(
            &a,
            &req.email,
            &req.display_name,
            &req.role,
            req.customer_id.map(CustomerId::new),
            s.now_ms(),
        )
        .await?;
    Ok(shows_secret(created(wire::Invitation {
        user: user_wire(u),
        setup_path: format!("/setup/{token}"),
    })))
}

/// Deactivate a user
#[utoipa::path(post, path = "/users/{id}/deactivate", tag = "users",
    params(("id" = i64, Path, description = "the user")),
    responses((status = 200, description = "the user, deactivated", body = wire::User)))]
pub(super) async fn deactivate_user(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(id): Id,
) -> ApiResult<Json<wire::User>> {
    Ok(Json(user_wire(
        s.app
            .users()
            .set_active(&a, UserId::new(id), false, s.now_ms())
            .await?,
    )))
}

/// Change a provider user's role (administrators)
#[utoipa::path(post, path = "/users/{id}/role", tag = "users",
    params(("id" = i64, Path, description = "the user")),
    request_body = wire::RoleChange,
    responses((status = 200, description = "the user with the new role", body = wire::User)))]
pub(super) async fn set_role(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(id): Id,
    ApiJson(req): ApiJson<wire::RoleChange>,
) -> ApiResult<Json<wire::User>> {
    Ok(Json(user_wire(
        s.app
            .users()
            .set_role(&a, UserId::new(id), &req.role, s.now_ms())
            .await?,
    )))
}
