//! Signing in and setting up an account: `POST /login`, `/setup/{token}`, `GET /me`.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use mamori_api::v1 as wire;
use mamori_center_model::ids::CustomerId;

use super::extract::{ApiActor, ApiJson, created};
use super::problem::ApiResult;
use super::users::user_wire;
use crate::domain::{self, rfc3339};
use crate::http::{AppState, Peer, shows_secret};

/// Sign in with e-mail, password and TOTP code; returns a session token
///
/// The token goes in `Authorization: Bearer` on every other request. Failed sign-ins
/// are throttled per address and per account.
#[utoipa::path(post, path = "/login", tag = "accounts", security(()),
    request_body = wire::LoginRequest,
    responses((status = 200, description = "a session token", body = wire::LoginResponse)))]
pub(super) async fn login(
    State(s): State<AppState>,
    Peer(ip): Peer,
    ApiJson(req): ApiJson<wire::LoginRequest>,
) -> ApiResult<Response> {
    let now = s.now_ms();
    // Checked and counted in one step, before the attempt is evaluated.
    if !s.admit_signin(ip, now) {
        return Err(
            crate::app::AppError::Throttled(crate::app::Throttled::SigninsFromAddress).into(),
        );
    }
    let result = s
        .app
        .accounts()
        .sign_in_guarded(
            &req.email,
            &req.password,
            req.totp_code.as_deref(),
            &ip.to_string(),
            &s.signin_guard(),
            now,
        )
        .await;
    s.settle_signin(ip, now, result.as_ref().map(|_| ()));
    let (token, _) = result?;
    Ok(shows_secret(Json(wire::LoginResponse {
        token,
        expires_at: rfc3339(now + s.app.settings.session_ttl_ms),
    })))
}

/// What a one-time setup link is for, with the TOTP secret to enrol
#[utoipa::path(get, path = "/setup/{token}", tag = "accounts", security(()),
    params(("token" = String, Path, description = "the one-time token of the setup link")),
    responses((status = 200, description = "the link's purpose and TOTP secret", body = wire::SetupInfo)))]
pub(super) async fn setup_info(
    State(s): State<AppState>,
    Path(token): Path<String>,
) -> ApiResult<Response> {
    let (link, user) = s.app.accounts().setup_link(&token, s.now_ms()).await?;
    let role = user.as_ref().map_or(domain::Role::Admin, |u| u.role);
    let account = user.as_ref().map_or("admin", |u| u.email.as_str());
    Ok(shows_secret(Json(wire::SetupInfo {
        purpose: link.purpose.clone(),
        email: user.as_ref().map(|u| u.email.clone()),
        role: role.as_str().into(),
        totp_uri: crate::auth::totp_uri(&link.totp_secret, account),
        totp_secret: link.totp_secret,
        totp_required: role.totp_required(),
    })))
}

/// Set password and TOTP through a one-time link
#[utoipa::path(post, path = "/setup/{token}", tag = "accounts", security(()),
    params(("token" = String, Path, description = "the one-time token of the setup link")),
    request_body = wire::SetupRequest,
    responses((status = 201, description = "the account", body = wire::User)))]
pub(super) async fn setup(
    State(s): State<AppState>,
    Peer(ip): Peer,
    Path(token): Path<String>,
    ApiJson(req): ApiJson<wire::SetupRequest>,
) -> ApiResult<Response> {
    let u = s
        .app
        .accounts()
        .complete_setup(
            &token,
            req.email.as_deref(),
            &req.display_name,
            &req.password,
            req.totp_code.as_deref(),
            &ip.to_string(),
            s.now_ms(),
        )
        .await?;
    Ok(created(user_wire(u)))
}

/// The caller
#[utoipa::path(get, path = "/me", tag = "accounts",
    responses((status = 200, description = "the caller's account and role", body = wire::Me)))]
pub(super) async fn me(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
) -> ApiResult<Json<wire::Me>> {
    let u = s.app.accounts().me(&a).await?;
    Ok(Json(wire::Me {
        user: user_wire(u),
        role: a.role.as_str().into(),
        customer_id: a.customer_id.map(CustomerId::get),
    }))
}
