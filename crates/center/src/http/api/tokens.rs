//! API tokens: issue, list, revoke.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use mamori_api::v1 as wire;
use mamori_center_model::ids::CustomerId;

use super::extract::{ApiActor, ApiJson, Id, created};
use super::problem::ApiResult;
use crate::domain::{self, rfc3339};
use crate::http::{AppState, shows_secret};

/// Issue an API token
///
/// Scoped to a role and a customer, optionally expiring (`expires_in_days`); it never
/// acts with more than its owner's current role allows. The secret is shown once.
#[utoipa::path(post, path = "/tokens", tag = "tokens",
    request_body = wire::NewToken,
    responses((status = 201, description = "the token with its secret", body = wire::CreatedToken)))]
pub(super) async fn create_token(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(req): ApiJson<wire::NewToken>,
) -> ApiResult<Response> {
    let now = s.now_ms();
    let (id, token, role, customer_id) = s
        .app
        .tokens()
        .create(
            &a,
            &req.name,
            &req.role,
            req.customer_id.map(CustomerId::new),
            req.expires_in_days,
            now,
        )
        .await?;
    let expires_at = req
        .expires_in_days
        .map(|d| rfc3339(now + d * 24 * 3600 * 1000));
    Ok(shows_secret(created(wire::CreatedToken {
        id,
        token,
        role: role.as_str().into(),
        customer_id,
        expires_at,
    })))
}

pub(super) fn token_wire(t: domain::ApiToken) -> wire::Token {
    wire::Token {
        id: t.id,
        name: t.name,
        role: t.role.as_str().into(),
        customer_id: t.customer_id.map(CustomerId::get),
        owner_id: t.user_id.get(),
        owner: t.owner,
        created_at: rfc3339(t.created_at),
        expires_at: t.expires_at.map(rfc3339),
        last_used_at: t.last_used_at.map(rfc3339),
        revoked: t.revoked,
        revoked_at: t.revoked_at.map(rfc3339),
    }
}

/// The API tokens the caller may see (never their secrets), newest first
///
/// The caller's own; an administrator's, every one.
#[utoipa::path(get, path = "/tokens", tag = "tokens",
    responses((status = 200, description = "the tokens", body = Vec<wire::Token>)))]
pub(super) async fn tokens(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
) -> ApiResult<Json<Vec<wire::Token>>> {
    Ok(Json(
        s.app
            .tokens()
            .list(&a)
            .await?
            .into_iter()
            .map(token_wire)
            .collect(),
    ))
}

/// Revoke an API token (its owner, or an administrator)
///
/// Another's token answers 404, like a missing one.
#[utoipa::path(delete, path = "/tokens/{id}", tag = "tokens",
    params(("id" = i64, Path, description = "the token")),
    responses((status = 200, description = "the token, revoked", body = wire::Token)))]
pub(super) async fn revoke_token(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(id): Id,
) -> ApiResult<Json<wire::Token>> {
    Ok(Json(token_wire(
        s.app.tokens().revoke(&a, id, s.now_ms()).await?,
    )))
}
