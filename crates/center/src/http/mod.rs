//! The HTTP edge: the REST API (`/api/v1`), the control panel (server-rendered HTML),
//! health and metrics. It establishes who the caller is, reads the clock, and calls
//! `app`; it holds no business rules.
//!
//! Every response passes [`edge`]: the client's address and scheme (through trusted
//! proxies only), the security headers (CSP, `nosniff`, `Referrer-Policy`), `Secure`
//! cookies over HTTPS, and `Cache-Control: no-store` unless a handler set its own
//! caching (static files); a response marked with [`shows_secret`] is `no-store`
//! whatever the handler set.

pub mod agent;
mod api;
pub mod conn;
mod panel;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::app::{App, AppError};
use crate::config::Config;
pub use crate::signin::Throttle;

pub struct Shared {
    pub app: App,
    /// The background tasks (`GET /api/v1/tasks`).
    pub tasks: Arc<crate::tasks::Tasks>,
    pub config: Config,
    pub metrics: Metrics,
    pub throttle: Throttle,
    /// Cookies get `Secure` when the public URL is `https:`; [`edge`] also adds it to
    /// a request that came over HTTPS through a trusted proxy.
    pub secure_cookies: bool,
    /// Caps and timeouts of both listeners, fitted under the open-file limit.
    pub limits: conn::Limits,
    /// Both listeners' connection counters (`/metrics`).
    pub listeners: Arc<conn::Listeners>,
    /// Where agents reach the agent listener (`Config::agent_url` of its bound port),
    /// set once it listens; unset while the listener is off.
    pub agent_url: std::sync::OnceLock<String>,
}

pub type AppState = Arc<Shared>;

impl Shared {
    /// Now, from the center's clock: what every handler reads.
    pub fn now_ms(&self) -> i64 {
        self.app.now_ms()
    }

    /// The sign-in's guards from the configuration: the throttle, the per-account
    /// limit of TOTP codes, and the back office's SMTP relay for lock notices.
    pub fn signin_guard(&self) -> crate::signin::Guard<'_> {
        let b = &self.config.backoffice;
        crate::signin::Guard {
            throttle: &self.throttle,
            totp_per_account: self.config.totp_throttle_per_minute,
            mail: (!b.smtp.trim().is_empty()).then(|| crate::signin::Mail {
                smtp: b.smtp.trim().to_string(),
                from: b.mail_from.clone(),
            }),
        }
    }

    /// Counts a sign-in attempt from `ip` before it is evaluated; false (and counted as
    /// throttled) when the address has used up its attempts of the minute.
    pub(crate) fn admit_signin(&self, ip: IpAddr, now: i64) -> bool {
        let ok = self.throttle.admit(
            crate::signin::Key::Address(ip),
            now,
            self.config.throttle_per_minute,
        );
        if !ok {
            self.metrics
                .signin_throttled
                .fetch_add(1, Ordering::Relaxed);
        }
        ok
    }

    /// Takes back the attempt of `ip` when it did not fail as a sign-in (it succeeded,
    /// or failed for another reason than the credentials).
    pub(crate) fn settle_signin(&self, ip: IpAddr, now: i64, result: Result<(), &AppError>) {
        let failed = matches!(
            result,
            Err(AppError::Unauthenticated(_) | AppError::TotpRequired | AppError::Throttled(_))
        );
        if !failed {
            self.throttle.forgive(crate::signin::Key::Address(ip), now);
        }
    }
}

/// The OpenAPI document of `/api/v1` as served at `/api/v1/openapi.json` and committed
/// as `docs/openapi.json`.
pub fn openapi_json() -> &'static str {
    api::openapi_text()
}

pub fn router(state: AppState) -> Router {
    let limit = state.config.max_body_bytes;
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .nest("/api/v1", api::routes())
        .merge(panel::routes())
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), edge))
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(s): State<AppState>) -> Response {
    match s.app.ping().await {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("database unavailable: {e}\n"),
        )
            .into_response(),
    }
}

/// Request counters by status class, exposed in the Prometheus text format.
#[derive(Default)]
pub struct Metrics {
    by_class: [AtomicU64; 6],
    signin_throttled: AtomicU64,
}

async fn count_requests(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let class = (resp.status().as_u16() / 100) as usize;
    s.metrics.by_class[class.min(5)].fetch_add(1, Ordering::Relaxed);
    resp
}

/// `/metrics`: counters of the center as a whole, nothing of any customer. With
/// `metrics_token` set it takes `Authorization: Bearer <metrics_token>` only.
async fn metrics(State(s): State<AppState>, headers: HeaderMap) -> Response {
    if !s.config.metrics_token.is_empty() {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !crate::auth::constant_time_eq(given.as_bytes(), s.config.metrics_token.as_bytes()) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\"")],
                "metrics need Authorization: Bearer <metrics_token>\n",
            )
                .into_response();
        }
    }
    let mut out = String::from(
        "# HELP mamori_http_requests_total HTTP requests answered, by status class.\n# TYPE mamori_http_requests_total counter\n",
    );
    for (i, c) in s.metrics.by_class.iter().enumerate().skip(1) {
        out.push_str(&format!(
            "mamori_http_requests_total{{class=\"{i}xx\"}} {}\n",
            c.load(Ordering::Relaxed)
        ));
    }
    out.push_str("# HELP mamori_signin_throttled_total Sign-in attempts refused by the per-address throttle.\n# TYPE mamori_signin_throttled_total counter\n");
    out.push_str(&format!(
        "mamori_signin_throttled_total {}\n",
        s.metrics.signin_throttled.load(Ordering::Relaxed)
    ));
    let up = i32::from(s.app.ping().await.is_ok());
    out.push_str("# HELP mamori_database_up Whether the database answered.\n# TYPE mamori_database_up gauge\n");
    out.push_str(&format!("mamori_database_up {up}\n"));
    out.push_str(
        &s.listeners
            .metrics(!s.config.agent_listen.trim().is_empty()),
    );
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}

/// The client's address: the peer's, or through a trusted proxy the address it
/// forwards (see [`edge`]).
pub struct Peer(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        if let Some(c) = parts.extensions.get::<Client>() {
            return Ok(Peer(c.ip));
        }
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
        Ok(Peer(ip))
    }
}

/// Who is on the other end, as [`edge`] worked it out: the client's address and whether
/// it reached the center over HTTPS.
#[derive(Debug, Clone, Copy)]
pub struct Client {
    pub ip: IpAddr,
    pub https: bool,
}

/// The client behind `peer`. Only when `peer` is a trusted proxy are `X-Forwarded-For`
/// (walked from the right, past trusted proxies, to the first address that is not one)
/// and `X-Forwarded-Proto` (its last value) believed.
pub fn client_of(trusted: &[crate::config::ProxyNet], headers: &HeaderMap, peer: IpAddr) -> Client {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(peer) {
        return Client {
            ip: peer,
            https: false,
        };
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut ip = peer;
    for hop in hops.iter().rev() {
        let parsed = hop
            .parse::<IpAddr>()
            .or_else(|_| hop.parse::<SocketAddr>().map(|a| a.ip()));
        let Ok(hop_ip) = parsed else { break };
        ip = hop_ip.to_canonical();
        if !is_trusted(ip) {
            break;
        }
    }
    let https = headers
        .get_all("x-forwarded-proto")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .last()
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
    Client { ip, https }
}

/// The Content-Security-Policy of every response: scripts and styles only from the
/// center's own files (no inline script or style, no `eval`), no framing, forms only to
/// the center, no plugins.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Marks a response that shows a secret (a setup link, a TOTP secret, an enrolment or
/// API token): [`edge`] makes it `Cache-Control: no-store` whatever else was set.
#[derive(Debug, Clone, Copy)]
pub struct ShowsSecret;

/// `resp`, marked as showing a secret (see [`ShowsSecret`]).
pub fn shows_secret(resp: impl IntoResponse) -> Response {
    let mut r = resp.into_response();
    r.extensions_mut().insert(ShowsSecret);
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The edge of every request: works out the [`Client`] (for [`Peer`]) and sets the
/// security headers on the response; see the module documentation.
async fn edge(State(s): State<AppState>, mut req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
    let client = client_of(&s.config.trusted_proxies, req.headers(), peer);
    req.extensions_mut().insert(client);
    let mut resp = next.run(req).await;
    let secret = resp.extensions().get::<ShowsSecret>().is_some();
    let h = resp.headers_mut();
    if client.https || s.secure_cookies {
        let cookies: Vec<HeaderValue> = h
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| match v.to_str() {
                Ok(c) if !c.to_ascii_lowercase().contains("; secure") => {
                    HeaderValue::from_str(&format!("{c}; Secure")).unwrap_or_else(|_| v.clone())
                }
                _ => v.clone(),
            })
            .collect();
        h.remove(header::SET_COOKIE);
        for c in cookies {
            h.append(header::SET_COOKIE, c);
        }
    }
    // A PDF document (an invoice) is shown by the browser's viewer, which a policy
    // written for the panel's pages would break; the PDF runs none of the panel's code.
    let pdf = h
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/pdf"));
    if !pdf {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if secret || !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

pub fn set_cookie(s: &Shared, name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
    if let Some(a) = max_age {
        c.push_str(&format!("; Max-Age={a}"));
    }
    if s.secure_cookies {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

/// Maps an application error to a status code, for both the API and the panel.
pub fn status_of(e: &AppError) -> StatusCode {
    match e {
        AppError::NotFound => StatusCode::NOT_FOUND,
        AppError::Forbidden(_) => StatusCode::FORBIDDEN,
        AppError::Unauthenticated(_) | AppError::TotpRequired => StatusCode::UNAUTHORIZED,
        AppError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        AppError::Conflict(_) => StatusCode::CONFLICT,
        AppError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
        AppError::Store(crate::store::StoreError::Conflict(_)) => StatusCode::CONFLICT,
        AppError::Store(_) | AppError::Auth(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Serves until `shutdown` resolves, under the caps and timeouts of `state.limits`.
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (limits, stats) = (state.limits.clone(), state.listeners.panel.clone());
    conn::serve_http(listener, router(state), limits, stats, shutdown).await
}
