//! The HTTP edge: the REST API (`/api/v1`), the control panel (server-rendered HTML),
//! health and metrics. It establishes who the caller is, reads the clock, and calls
//! `app`; it holds no business rules.

pub mod agent_api;
mod api;
mod backoffice_api;
mod backoffice_panel;
mod gateways_api;
mod openapi;
mod panel;
mod revisions_api;

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
    pub config: Config,
    pub metrics: Metrics,
    pub throttle: Throttle,
    /// Cookies get `Secure` when the panel is served over TLS.
    pub secure_cookies: bool,
}

pub type AppState = Arc<Shared>;

impl Shared {
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

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub fn router(state: AppState) -> Router {
    let limit = state.config.max_body_bytes;
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .nest("/api/v1", api::routes())
        .merge(panel::routes())
        .merge(backoffice_panel::routes())
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(s): State<AppState>) -> Response {
    match s.app.store.ping().await {
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

async fn metrics(State(s): State<AppState>) -> Response {
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
    let up = i32::from(s.app.store.ping().await.is_ok());
    out.push_str("# HELP mamori_database_up Whether the database answered.\n# TYPE mamori_database_up gauge\n");
    out.push_str(&format!("mamori_database_up {up}\n"));
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}

/// The peer address of the request.
pub struct Peer(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
        Ok(Peer(ip))
    }
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

/// Serves until `shutdown` resolves.
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
