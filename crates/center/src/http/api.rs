//! The REST API under `/api/v1`: bearer authentication (session or API token), JSON in
//! and out, errors as RFC 9457 problem details. Wire types come from `mamori_api` and
//! are converted from domain types here, explicitly.

use axum::extract::{FromRef, FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use mamori_api::v1 as wire;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{AppState, Peer, now_ms, status_of};
use crate::app::{ApiHint, AppError, Lang};
use crate::domain::{self, Actor, InstructionState, rfc3339};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/login", post(login))
        .route("/setup/{token}", get(setup_info).post(setup))
        .route("/me", get(me))
        .route("/users", get(users).post(create_user))
        .route("/users/{id}", get(user))
        .route("/users/{id}/deactivate", post(deactivate_user))
        .route("/users/{id}/role", post(set_role))
        .route("/customers", get(customers).post(create_customer))
        .route("/customers/{id}", get(customer))
        .route("/sites", get(sites).post(create_site))
        .route("/sites/{id}", get(site))
        .route("/instructions", get(instructions).post(submit_instruction))
        .route("/instructions/{id}", get(instruction))
        .route("/instructions/{id}/accept", post(accept))
        .route("/instructions/{id}/reject", post(reject))
        .route("/instructions/{id}/done", post(done))
        .route("/instructions/{id}/comments", post(comment))
        .route("/audit", get(audit))
        .route("/tokens", get(tokens).post(create_token))
        .route("/tokens/{id}", delete(revoke_token))
        .merge(super::backoffice_api::routes())
        .merge(super::gateways_api::routes())
        .route("/fleet", get(super::panel::fleet::fleet_api))
        .merge(super::revisions_api::routes())
        .merge(super::tasks_api::routes())
        .fallback(not_found)
        .layer(axum::middleware::from_fn(localize))
}

// ---- errors ------------------------------------------------------------------------

pub struct Problem {
    status: StatusCode,
    title: &'static str,
    detail: String,
    hint: Option<String>,
    /// The detail and hint in Japanese, sent instead when the caller's language is
    /// Japanese (see [`problem_lang`]).
    ja: Option<(String, Option<String>)>,
}

/// The Japanese form of a problem, left on the response for [`localize`].
#[derive(Clone)]
struct JaProblem(wire::Problem);

/// The language of an API problem's `detail` and `hint`: English when the request
/// sends no `Accept-Language` (a script reads the same English texts whatever language
/// its user chose for the panel), else the center's one negotiation,
/// [`Lang::negotiate`], of the user's stored preference (once the bearer is known) and
/// the header.
pub(crate) fn problem_lang(preference: Option<&str>, accept_language: Option<&str>) -> Lang {
    match accept_language {
        None => Lang::En,
        Some(header) => Lang::negotiate(preference, Some(header)),
    }
}

/// The stored language preference of the bearer, filled in by [`ApiActor`] for
/// [`localize`].
#[derive(Clone, Default)]
struct BearerLocale(std::sync::Arc<std::sync::Mutex<Option<String>>>);

/// Sends the Japanese form of a problem to callers whose language ([`problem_lang`])
/// is Japanese; everything else passes through unchanged.
async fn localize(mut req: Request, next: axum::middleware::Next) -> Response {
    let accept = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .map(|v| v.to_str().unwrap_or("").to_string());
    let locale = BearerLocale::default();
    req.extensions_mut().insert(locale.clone());
    let mut resp = next.run(req).await;
    let preference = locale.0.lock().ok().and_then(|l| l.clone());
    if let Some(JaProblem(p)) = resp.extensions_mut().remove::<JaProblem>()
        && problem_lang(preference.as_deref(), accept.as_deref()) == Lang::Ja
    {
        let status = resp.status();
        let text = serde_json::to_string(&p).unwrap_or_default();
        return (
            status,
            [
                (header::CONTENT_TYPE, "application/problem+json"),
                (header::CONTENT_LANGUAGE, "ja"),
            ],
            text,
        )
            .into_response();
    }
    resp
}

impl Problem {
    pub fn new(status: StatusCode, title: &'static str, detail: impl Into<String>) -> Problem {
        Problem {
            status,
            title,
            detail: detail.into(),
            hint: None,
            ja: None,
        }
    }
    fn hint(mut self, hint: impl Into<String>) -> Problem {
        self.hint = Some(hint.into());
        self
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = wire::Problem {
            kind: format!("https://mamori.invalid/problems/{}", self.status.as_u16()),
            title: self.title.into(),
            status: self.status.as_u16(),
            detail: self.detail,
            hint: self.hint,
        };
        let text = serde_json::to_string(&body).unwrap_or_default();
        let ja = self.ja.map(|(detail, hint)| {
            JaProblem(wire::Problem {
                detail,
                hint,
                ..body
            })
        });
        let mut resp = (
            self.status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            text,
        )
            .into_response();
        if let Some(ja) = ja {
            resp.extensions_mut().insert(ja);
        }
        resp
    }
}

impl From<AppError> for Problem {
    /// The problem of an error, its `detail` and `hint` in English and Japanese from
    /// the message catalog ([`AppError::text`]).
    fn from(e: AppError) -> Problem {
        let status = status_of(&e);
        let title = match &e {
            AppError::NotFound => "Not Found",
            AppError::Forbidden(_) => "Forbidden",
            AppError::Unauthenticated(_) | AppError::TotpRequired => "Unauthorized",
            AppError::Invalid { .. } => "Invalid Field",
            AppError::Conflict(_) | AppError::Store(crate::store::StoreError::Conflict(_)) => {
                "Conflict"
            }
            AppError::Throttled(_) => "Too Many Requests",
            AppError::Store(_) | AppError::Auth(_) => {
                tracing::error!(error = %e, "request failed");
                "Internal Server Error"
            }
        };
        let hint = match &e {
            AppError::TotpRequired => Some(ApiHint::SendTotp),
            AppError::Invalid { field, .. } => Some(ApiHint::CorrectField { field: *field }),
            _ => None,
        };
        let mut p = Problem::new(status, title, e.text(Lang::En));
        p.hint = hint.as_ref().map(|h| h.text(Lang::En));
        p.ja = Some((e.text(Lang::Ja), hint.map(|h| h.text(Lang::Ja))));
        p
    }
}

type ApiResult<T> = Result<T, Problem>;

async fn not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "Not Found", "no such endpoint")
        .hint("see /api/v1/openapi.json")
}

// ---- extractors ------------------------------------------------------------------------

fn too_large() -> Problem {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "Payload Too Large",
        "the request body is larger than the center accepts",
    )
    .hint("see max_body_bytes in the configuration")
}

/// Reads a request body of at most `limit` bytes. A larger body is still read (and
/// thrown away) up to a bounded amount before the 413 answer: closing a socket that
/// has unread data makes the kernel reset the connection, and the client may then lose
/// the answer and see only "connection reset".
async fn read_body(mut body: axum::body::Body, limit: usize) -> Result<Vec<u8>, Problem> {
    use axum::body::HttpBody;
    let drain_cap = limit.saturating_mul(16).max(1 << 20);
    if body.size_hint().lower() > drain_cap as u64 {
        return Err(too_large());
    }
    let mut buf = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) =
        std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await
    {
        let frame = frame.map_err(|e| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "Bad Request",
                format!("cannot read the body: {e}"),
            )
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen = seen.saturating_add(data.len());
        if seen <= limit {
            buf.extend_from_slice(&data);
        } else if seen > drain_cap {
            break;
        }
    }
    if seen > limit {
        return Err(too_large());
    }
    Ok(buf)
}

/// A JSON body: `application/json`, valid UTF-8, well-formed, the right shape.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T>
where
    AppState: FromRef<S>,
{
    type Rejection = Problem;
    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let mime = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if mime != "application/json" {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported Media Type",
                format!(
                    "the body is {:?}; this endpoint takes application/json",
                    if ct.is_empty() {
                        "(no content type)"
                    } else {
                        &ct
                    }
                ),
            ));
        }
        let limit = AppState::from_ref(state).config.max_body_bytes;
        let bytes = read_body(req.into_body(), limit).await?;
        if let Err(e) = std::str::from_utf8(&bytes) {
            return Err(Problem::new(
                StatusCode::BAD_REQUEST,
                "Malformed Body",
                format!("the body is not valid UTF-8 at byte {}", e.valid_up_to()),
            ));
        }
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let v = T::deserialize(&mut de)
            .and_then(|v| de.end().map(|()| v))
            .map_err(|e| {
                Problem::new(
                    StatusCode::BAD_REQUEST,
                    "Malformed Body",
                    format!(
                        "the JSON body is not valid at line {} column {}: {e}",
                        e.line(),
                        e.column()
                    ),
                )
            })?;
        Ok(ApiJson(v))
    }
}

/// A numeric identifier in the path; anything else is a missing object.
pub struct Id(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = Problem;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| Problem::new(StatusCode::NOT_FOUND, "Not Found", "no such object"))?;
        raw.parse()
            .map(Id)
            .map_err(|_| Problem::new(StatusCode::NOT_FOUND, "Not Found", "no such object"))
    }
}

/// The authenticated caller (`Authorization: Bearer <token>`).
pub struct ApiActor(pub Actor);

impl FromRequestParts<AppState> for ApiActor {
    type Rejection = Problem;
    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Problem> {
        let Peer(ip) = Peer::from_request_parts(parts, s)
            .await
            .unwrap_or(Peer([0, 0, 0, 0].into()));
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| {
                Problem::new(StatusCode::UNAUTHORIZED, "Unauthorized", "no bearer token").hint(
                    "send Authorization: Bearer <token> from POST /api/v1/login or an API token",
                )
            })?;
        match s.app.bearer_actor(token, &ip.to_string(), now_ms()).await {
            Ok(Some(a)) => {
                if let (Some(slot), Some(l)) = (parts.extensions.get::<BearerLocale>(), &a.locale)
                    && let Ok(mut slot) = slot.0.lock()
                {
                    *slot = Some(l.clone());
                }
                Ok(ApiActor(a))
            }
            Ok(None) => Err(Problem::new(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "the token is unknown, revoked or expired",
            )
            .hint("sign in again")),
            Err(e) => Err(e.into()),
        }
    }
}

// ---- conversions ---------------------------------------------------------------------

pub fn user_wire(u: domain::User) -> wire::User {
    wire::User {
        id: u.id,
        customer_id: u.customer_id,
        email: u.email,
        display_name: u.display_name,
        role: u.role.as_str().into(),
        active: u.active,
        totp_enabled: u.totp_enabled,
        locale: u.locale,
        created_at: rfc3339(u.created_at),
    }
}

fn customer_wire(c: domain::Customer) -> wire::Customer {
    wire::Customer {
        id: c.id,
        name: c.name,
        created_at: rfc3339(c.created_at),
    }
}

fn site_wire(s: domain::Site) -> wire::Site {
    wire::Site {
        id: s.id,
        customer_id: s.customer_id,
        name: s.name,
        address: s.address,
        created_at: rfc3339(s.created_at),
    }
}

fn instruction_wire(i: domain::Instruction, comments: Vec<domain::Comment>) -> wire::Instruction {
    wire::Instruction {
        id: i.id,
        customer_id: i.customer_id,
        submitted_by: i.submitted_by,
        subject: i.subject,
        body: i.body,
        kind: i.kind.as_str().into(),
        state: i.state.as_str().into(),
        reason: i.reason,
        created_at: rfc3339(i.created_at),
        updated_at: rfc3339(i.updated_at),
        comments: comments.into_iter().map(comment_wire).collect(),
    }
}

fn comment_wire(c: domain::Comment) -> wire::Comment {
    wire::Comment {
        id: c.id,
        author_id: c.author_id,
        body: c.body,
        created_at: rfc3339(c.created_at),
    }
}

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

fn created<T: serde::Serialize>(v: T) -> Response {
    (StatusCode::CREATED, Json(v)).into_response()
}

// ---- handlers ------------------------------------------------------------------------

async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        super::openapi::document(),
    )
        .into_response()
}

async fn login(
    State(s): State<AppState>,
    Peer(ip): Peer,
    ApiJson(req): ApiJson<wire::LoginRequest>,
) -> ApiResult<Response> {
    let now = now_ms();
    // Checked and counted in one step, before the attempt is evaluated.
    if !s.admit_signin(ip, now) {
        return Err(AppError::Throttled(crate::app::Throttled::SigninsFromAddress).into());
    }
    let result = s
        .app
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
    Ok(super::shows_secret(Json(wire::LoginResponse {
        token,
        expires_at: rfc3339(now + s.app.settings.session_ttl_ms),
    })))
}

async fn setup_info(State(s): State<AppState>, Path(token): Path<String>) -> ApiResult<Response> {
    let (link, user) = s.app.setup_link(&token, now_ms()).await?;
    let role = user.as_ref().map_or(domain::Role::Admin, |u| u.role);
    let account = user.as_ref().map_or("admin", |u| u.email.as_str());
    Ok(super::shows_secret(Json(wire::SetupInfo {
        purpose: link.purpose.clone(),
        email: user.as_ref().map(|u| u.email.clone()),
        role: role.as_str().into(),
        totp_uri: crate::auth::totp_uri(&link.totp_secret, account),
        totp_secret: link.totp_secret,
        totp_required: role.totp_required(),
    })))
}

async fn setup(
    State(s): State<AppState>,
    Peer(ip): Peer,
    Path(token): Path<String>,
    ApiJson(req): ApiJson<wire::SetupRequest>,
) -> ApiResult<Response> {
    let u = s
        .app
        .complete_setup(
            &token,
            req.email.as_deref(),
            &req.display_name,
            &req.password,
            req.totp_code.as_deref(),
            &ip.to_string(),
            now_ms(),
        )
        .await?;
    Ok(created(user_wire(u)))
}

async fn me(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult<Json<wire::Me>> {
    let u = s.app.me(&a).await?;
    Ok(Json(wire::Me {
        user: user_wire(u),
        role: a.role.as_str().into(),
        customer_id: a.customer_id,
    }))
}

async fn users(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
) -> ApiResult<Json<Vec<wire::User>>> {
    Ok(Json(
        s.app.users(&a).await?.into_iter().map(user_wire).collect(),
    ))
}

async fn user(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(id): Id,
) -> ApiResult<Json<wire::User>> {
    Ok(Json(user_wire(s.app.user(&a, id).await?)))
}

async fn create_user(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(req): ApiJson<wire::NewUser>,
) -> ApiResult<Response> {
    let (u, token) = s
        .app
        .create_user(
            &a,
            &req.email,
            &req.display_name,
            &req.role,
            req.customer_id,
            now_ms(),
        )
        .await?;
    Ok(super::shows_secret(created(wire::Invitation {
        user: user_wire(u),
        setup_path: format!("/setup/{token}"),
    })))
}

async fn deactivate_user(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(id): Id,
) -> ApiResult<Json<wire::User>> {
    Ok(Json(user_wire(
        s.app.set_user_active(&a, id, false, now_ms()).await?,
    )))
}

async fn set_role(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(id): Id,
    ApiJson(req): ApiJson<wire::RoleChange>,
) -> ApiResult<Json<wire::User>> {
    Ok(Json(user_wire(
        s.app.set_user_role(&a, id, &req.role, now_ms()).await?,
    )))
}

async fn customers(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
) -> ApiResult<Json<Vec<wire::Customer>>> {
    Ok(Json(
        s.app
            .customers(&a)
            .await?
            .into_iter()
            .map(customer_wire)
            .collect(),
    ))
}

async fn customer(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(id): Id,
) -> ApiResult<Json<wire::Customer>> {
    Ok(Json(customer_wire(s.app.customer(&a, id).await?)))
}

async fn create_customer(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(req): ApiJson<wire::NewCustomer>,
) -> ApiResult<Response> {
    let (c, u, token) = s
        .app
        .create_customer(
            &a,
            &req.name,
            &req.officer.email,
            &req.officer.display_name,
            now_ms(),
        )
        .await?;
    Ok(super::shows_secret(created(wire::CreatedCustomer {
        customer: customer_wire(c),
        officer: wire::Invitation {
            user: user_wire(u),
            setup_path: format!("/setup/{token}"),
        },
    })))
}

async fn sites(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
) -> ApiResult<Json<Vec<wire::Site>>> {
    Ok(Json(
        s.app.sites(&a).await?.into_iter().map(site_wire).collect(),
    ))
}

async fn site(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(id): Id,
) -> ApiResult<Json<wire::Site>> {
    Ok(Json(site_wire(s.app.site(&a, id).await?)))
}

async fn create_site(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(req): ApiJson<wire::NewSite>,
) -> ApiResult<Response> {
    Ok(created(site_wire(
        s.app
            .create_site(&a, req.customer_id, &req.name, &req.address, now_ms())
            .await?,
    )))
}

/// Items per page of a list when the caller gives no `limit`.
const DEFAULT_PAGE: i64 = 25;

#[derive(Deserialize)]
struct ListQuery {
    limit: Option<i64>,
    before: Option<i64>,
}

async fn instructions(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Vec<wire::Instruction>>> {
    let list = s
        .app
        .instructions_page(&a, q.before, q.limit.unwrap_or(DEFAULT_PAGE))
        .await?;
    Ok(Json(
        list.into_iter()
            .map(|i| instruction_wire(i, Vec::new()))
            .collect(),
    ))
}

async fn instruction(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(id): Id,
) -> ApiResult<Json<wire::Instruction>> {
    let (i, c) = s.app.instruction(&a, id).await?;
    Ok(Json(instruction_wire(i, c)))
}

async fn submit_instruction(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(req): ApiJson<wire::NewInstruction>,
) -> ApiResult<Response> {
    let i = s
        .app
        .submit_instruction(&a, &req.subject, &req.body, &req.kind, now_ms())
        .await?;
    Ok(created(instruction_wire(i, Vec::new())))
}

async fn decide(
    s: AppState,
    a: Actor,
    id: i64,
    to: InstructionState,
    reason: Option<String>,
) -> ApiResult<Json<wire::Instruction>> {
    let i = s
        .app
        .decide_instruction(&a, id, to, reason.as_deref(), now_ms())
        .await?;
    Ok(Json(instruction_wire(i, Vec::new())))
}

async fn accept(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(id): Id,
    ApiJson(d): ApiJson<wire::Decision>,
) -> ApiResult<Json<wire::Instruction>> {
    decide(s, a, id, InstructionState::Accepted, d.reason).await
}

async fn reject(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(id): Id,
    ApiJson(d): ApiJson<wire::Decision>,
) -> ApiResult<Json<wire::Instruction>> {
    decide(s, a, id, InstructionState::Rejected, d.reason).await
}

async fn done(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(id): Id,
    ApiJson(d): ApiJson<wire::Decision>,
) -> ApiResult<Json<wire::Instruction>> {
    decide(s, a, id, InstructionState::Done, d.reason).await
}

async fn comment(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(id): Id,
    ApiJson(c): ApiJson<wire::NewComment>,
) -> ApiResult<Response> {
    Ok(created(comment_wire(
        s.app.comment_instruction(&a, id, &c.body, now_ms()).await?,
    )))
}

async fn audit(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Vec<wire::AuditEntry>>> {
    let list = s
        .app
        .audit_trail(&a, q.before, q.limit.unwrap_or(100))
        .await?;
    Ok(Json(list.into_iter().map(audit_wire).collect()))
}

async fn create_token(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(req): ApiJson<wire::NewToken>,
) -> ApiResult<Response> {
    let now = now_ms();
    let (id, token, role, customer_id) = s
        .app
        .create_token(
            &a,
            &req.name,
            &req.role,
            req.customer_id,
            req.expires_in_days,
            now,
        )
        .await?;
    let expires_at = req
        .expires_in_days
        .map(|d| rfc3339(now + d * 24 * 3600 * 1000));
    Ok(super::shows_secret(created(wire::CreatedToken {
        id,
        token,
        role: role.as_str().into(),
        customer_id,
        expires_at,
    })))
}

pub(crate) fn token_wire(t: domain::ApiToken) -> wire::Token {
    wire::Token {
        id: t.id,
        name: t.name,
        role: t.role.as_str().into(),
        customer_id: t.customer_id,
        owner_id: t.user_id,
        owner: t.owner,
        created_at: rfc3339(t.created_at),
        expires_at: t.expires_at.map(rfc3339),
        last_used_at: t.last_used_at.map(rfc3339),
        revoked: t.revoked,
        revoked_at: t.revoked_at.map(rfc3339),
    }
}

async fn tokens(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
) -> ApiResult<Json<Vec<wire::Token>>> {
    Ok(Json(
        s.app
            .tokens(&a)
            .await?
            .into_iter()
            .map(token_wire)
            .collect(),
    ))
}

async fn revoke_token(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(id): Id,
) -> ApiResult<Json<wire::Token>> {
    Ok(Json(token_wire(
        s.app.revoke_token(&a, id, now_ms()).await?,
    )))
}
