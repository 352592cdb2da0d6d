//! The agent listener: its own port, TLS with client certificates from the center's CA.
//! Enrolment is the only request without a certificate; every other request must come
//! with a certificate that the CA signed and whose serial is known, unrevoked,
//! unexpired and of its unit's current installation (checked on every request, so a
//! revocation takes effect at once; a refused certificate is answered 401). A long-poll
//! waiting when its certificate is revoked, on this or another center process, ends at
//! once with 401.
//!
//! Reconcile: `GET /agent/v1/desired?after=G&wait=S` (long-poll: 200 with the site's
//! newest generation when it is not `G`, else 204 after `S` seconds, or at once when the
//! listener stops) and `POST /agent/v1/reports` (a batch, answered with the ids stored).
//! The site is always the one the certificate names.
//!
//! Connections ([`serve_with`], with the pieces of [`super::conn`]): capped in total,
//! per source address during the TLS handshake, then per certificate, or, without one,
//! under small anonymous caps with a short deadline and the enrolment route only.
//! Enrolment is throttled per source ([`EnrolRefusals`]): its refusals reach the audit
//! log as one entry per source and window, with the count.

use mamori_center_model::ids::*;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use mamori_api::agent as wire;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig};

use super::conn::{self, AcceptLog, ConnStats, Gate, Limits, Permit, Stall, source_key};

use crate::app::App;
use crate::ca::{self, Ca};
use crate::gateways::AgentCert;
use crate::gateways::enrol::{AgentRefusal, EnrolError, EnrolRefusals};
use crate::gateways::reconcile::Wakeups;

pub struct AgentState {
    pub app: App,
    pub ca: Arc<Ca>,
}

/// What the handlers share: the state, the long-poll wake-ups of this process, and
/// when each agent's contact was last written.
struct Ctx {
    s: Arc<AgentState>,
    wake: Arc<Wakeups>,
    /// Keyed by unit and installation, so a unit moved elsewhere is seen at once.
    touched: std::sync::Mutex<std::collections::HashMap<(EquipmentId, i64), i64>>,
    /// Turns true when the listener stops: waiting long-polls answer at once.
    stopping: watch::Receiver<bool>,
    /// Refused enrolments per source: the throttle and their audit.
    refusals: EnrolRefusals,
}

/// How often this process looks for new generations to wake its long-polls.
pub const WAKE_POLL: std::time::Duration = std::time::Duration::from_millis(500);

/// An agent's last contact is written at most this often per process.
const TOUCH_EVERY_MS: i64 = 10_000;

/// The peer of one TLS connection: its address and the serial of its certificate.
#[derive(Clone, Debug)]
pub struct AgentPeer {
    pub addr: SocketAddr,
    pub cert: Option<Vec<u8>>,
}

/// The TLS configuration: the center's server certificate, client certificates
/// verified against the CA but optional (enrolment comes without one).
pub fn tls_config(
    ca: &Ca,
    server_names: Vec<String>,
    now: i64,
) -> Result<Arc<ServerConfig>, String> {
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(
            ca.cert_der().map_err(|e| e.to_string())?,
        ))
        .map_err(|e| e.to_string())?;
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()
        .map_err(|e| e.to_string())?;
    let (cert, key) = ca
        .server_identity(server_names, now, 365 * 86_400_000)
        .map_err(|e| e.to_string())?;
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_client_cert_verifier(verifier)
        // The CA goes with the server certificate: an agent's first contact pins it by
        // its fingerprint (from the enrolment token).
        .with_single_cert(
            vec![
                CertificateDer::from(cert),
                CertificateDer::from(ca.cert_der().map_err(|e| e.to_string())?),
            ],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
        )
        .map_err(|e| e.to_string())?;
    Ok(Arc::new(config))
}

/// The SHA-256 fingerprint (hex) of the CA certificate: what enrolment tokens carry.
pub fn ca_fingerprint(ca: &Ca) -> Result<String, String> {
    use sha2::Digest;
    let der = ca.cert_der().map_err(|e| e.to_string())?;
    Ok(sha2::Sha256::digest(&der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// The routes; starts this router's poller for new generations (it ends with the router).
pub fn router(state: Arc<AgentState>) -> Router {
    routers(state, &Limits::default(), never_stops()).0
}

/// A stop signal that never fires (its sender is gone, which the waiters ignore).
fn never_stops() -> watch::Receiver<bool> {
    watch::channel(false).1
}

/// The routes of a connection with a client certificate (all of them), and those of a
/// connection without one (enrolment only); the context they share.
fn routers(
    state: Arc<AgentState>,
    limits: &Limits,
    stopping: watch::Receiver<bool>,
) -> (Router, Router, Arc<Ctx>) {
    let wake = Arc::new(Wakeups::default());
    state
        .app
        .agents()
        .spawn_wake_poller(Arc::downgrade(&wake), WAKE_POLL);
    let ctx = Arc::new(Ctx {
        s: state,
        wake,
        touched: Default::default(),
        stopping,
        refusals: EnrolRefusals::new(
            limits.enrol_refusals_per_window,
            i64::try_from(limits.enrol_window.as_millis()).unwrap_or(i64::MAX),
        ),
    });
    let full = Router::new()
        .route("/agent/v1/enrol", post(enrol))
        .route("/agent/v1/whoami", get(whoami))
        .route("/agent/v1/renew", post(renew))
        .route("/agent/v1/desired", get(desired))
        .route("/agent/v1/reports", post(reports))
        .with_state(ctx.clone());
    let anonymous = Router::new()
        .route("/agent/v1/enrol", post(enrol))
        .fallback(needs_certificate)
        .with_state(ctx.clone());
    (full, anonymous, ctx)
}

/// Any request but enrolment on a connection without a client certificate: refused, and
/// the connection is closed.
async fn needs_certificate() -> Response {
    let mut r = err(
        StatusCode::UNAUTHORIZED,
        "this request needs the agent's client certificate; enrol first",
    );
    r.headers_mut().insert(
        axum::http::header::CONNECTION,
        axum::http::HeaderValue::from_static("close"),
    );
    r
}

/// Serves the agent protocol on `tcp` until `shutdown` resolves, with the default caps
/// and timeouts.
pub async fn serve(
    state: Arc<AgentState>,
    tcp: TcpListener,
    config: Arc<ServerConfig>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(
        state,
        tcp,
        config,
        Limits::default(),
        Default::default(),
        shutdown,
    )
    .await
}

/// Serves the agent protocol on `tcp` until `shutdown` resolves. Each accepted
/// connection takes a place under `agent_max` and, during its TLS handshake, one of its
/// source address's (`anonymous_per_source`); the handshake must end within the
/// header-read timeout and the anonymous deadline. With a certificate the connection
/// takes a place under the per-certificate cap and gets every route; without one, a
/// place under the anonymous caps (in total and per source), only enrolment, and the
/// anonymous deadline. Connections with certificates thus never wait for anonymous
/// ones. When `shutdown` resolves, waiting
/// long-polls answer at once, idle connections close, and refused enrolments not yet
/// audited are written.
pub async fn serve_with(
    state: Arc<AgentState>,
    tcp: TcpListener,
    config: Arc<ServerConfig>,
    limits: Limits,
    stats: Arc<ConnStats>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Ok(fp) = ca_fingerprint(&state.ca)
        && let Err(e) = state.app.agents().record_ca(&fp).await
    {
        tracing::warn!(error = %e, "cannot record the CA fingerprint; enrolment tokens will lack it");
    }
    let limits = Arc::new(limits);
    let (stop_tx, stop_rx) = watch::channel(false);
    let (full, anonymous, ctx) = routers(state, &limits, stop_rx.clone());
    let flusher = tokio::spawn(flush_refusals(ctx.clone(), stop_rx.clone()));
    let acceptor = TlsAcceptor::from(config);
    let all: Gate<()> = Gate::new(limits.agent_max, usize::MAX);
    let handshakes: Gate<IpAddr> = Gate::new(usize::MAX, limits.anonymous_per_source);
    let anon: Gate<IpAddr> = Gate::new(limits.anonymous_max, limits.anonymous_per_source);
    let certs: Gate<[u8; 32]> = Gate::new(usize::MAX, limits.agent_per_certificate);
    let mut conns = tokio::task::JoinSet::new();
    let mut log = AcceptLog::new();
    tokio::pin!(shutdown);
    'accept: loop {
        tokio::select! {
            () = &mut shutdown => break 'accept,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            r = tcp.accept() => match r {
                Ok((sock, addr)) => {
                    if let Some(m) = log.accepted(Instant::now()) {
                        tracing::warn!(listener = "agent", "{m}");
                    }
                    let (Ok(place), Ok(handshake)) =
                        (all.admit(()), handshakes.admit(source_key(addr.ip())))
                    else {
                        stats.refused();
                        continue;
                    };
                    let _ = sock.set_nodelay(true);
                    let c = Conn {
                        acceptor: acceptor.clone(),
                        full: full.clone(),
                        anonymous: anonymous.clone(),
                        anon: anon.clone(),
                        certs: certs.clone(),
                        limits: limits.clone(),
                        stats: stats.clone(),
                        stop: stop_rx.clone(),
                    };
                    conns.spawn(async move {
                        let _open = c.stats.opened();
                        c.run(sock, addr, handshake).await;
                        drop(place);
                    });
                }
                Err(e) => {
                    let wait = log.accept_failed("agent", &stats, &e);
                    tokio::select! {
                        () = &mut shutdown => break 'accept,
                        () = tokio::time::sleep(wait) => {}
                    }
                }
            }
        }
    }
    drop(tcp);
    conn::finish(stop_tx, conns).await;
    let _ = flusher.await;
    Ok(())
}

/// What one agent connection needs.
struct Conn {
    acceptor: TlsAcceptor,
    full: Router,
    anonymous: Router,
    anon: Gate<IpAddr>,
    certs: Gate<[u8; 32]>,
    limits: Arc<Limits>,
    stats: Arc<ConnStats>,
    stop: watch::Receiver<bool>,
}

impl Conn {
    async fn run(self, sock: TcpStream, addr: SocketAddr, handshake: Permit<IpAddr>) {
        let l = &self.limits;
        let anonymous_until = Instant::now() + l.anonymous_time;
        let handshake_until = (Instant::now() + l.header_read).min(anonymous_until);
        let io = Stall::new(sock, l.idle);
        let tls = match tokio::time::timeout_at(handshake_until, self.acceptor.accept(io)).await {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => {
                tracing::debug!(peer = %addr, error = %e, "agent TLS handshake failed");
                return;
            }
            Err(_) => {
                self.stats.timed_out();
                tracing::debug!(peer = %addr, "agent TLS handshake timed out");
                return;
            }
        };
        drop(handshake);
        let cert = tls
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|c| c.first())
            .map(|c| c.to_vec());
        let timed_out = match cert {
            Some(der) => {
                use sha2::Digest;
                let Ok(place) = self.certs.admit(sha2::Sha256::digest(&der).into()) else {
                    self.stats.refused();
                    return;
                };
                let peer = AgentPeer {
                    addr,
                    cert: Some(der),
                };
                let t = conn::serve_connection(tls, self.full, peer, l, self.stop, None).await;
                drop(place);
                t
            }
            None => {
                let Ok(place) = self.anon.admit(source_key(addr.ip())) else {
                    self.stats.refused();
                    return;
                };
                let peer = AgentPeer { addr, cert: None };
                let t = conn::serve_connection(
                    tls,
                    self.anonymous,
                    peer,
                    l,
                    self.stop,
                    Some(anonymous_until),
                )
                .await;
                drop(place);
                t
            }
        };
        if timed_out {
            self.stats.timed_out();
        }
    }
}

/// Writes the counted enrolment refusals as their windows end, and all of them when the
/// listener stops.
async fn flush_refusals(ctx: Arc<Ctx>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let stopping = tokio::select! {
            _ = tick.tick() => false,
            r = stop.wait_for(|s| *s) => { let _ = r; true }
        };
        let now = ctx.s.app.now_ms();
        let due = if stopping {
            ctx.refusals.take_all()
        } else {
            ctx.refusals.due(now)
        };
        for s in due {
            if let Err(e) = ctx.s.app.enrolment().audit_refusals(&s, now).await {
                tracing::error!(error = %e, source = %s.source, count = s.count(), "cannot audit refused enrolments");
            }
        }
        if stopping {
            return;
        }
    }
}

fn err(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, Json(wire::AgentError { error: msg.into() })).into_response()
}

fn refusal(e: EnrolError) -> Response {
    match e {
        EnrolError::Refused(r @ AgentRefusal::BadRequest(_)) => {
            err(StatusCode::UNPROCESSABLE_ENTITY, r.to_string())
        }
        EnrolError::Refused(r) => err(StatusCode::FORBIDDEN, r.to_string()),
        EnrolError::App(e) => internal(e),
    }
}

async fn enrol(
    State(c): State<Arc<Ctx>>,
    ConnectInfo(peer): ConnectInfo<AgentPeer>,
    body: axum::body::Bytes,
) -> Response {
    let s = &c.s;
    let key = source_key(peer.addr.ip()).to_string();
    let now = s.app.now_ms();
    if let Some(wait_ms) = c.refusals.throttled(&key, now) {
        let secs = (wait_ms.max(0) + 999) / 1000;
        let mut r = err(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "{}; try again in {secs} s",
                crate::gateways::enrol::THROTTLED,
            ),
        );
        if let Ok(v) = axum::http::HeaderValue::from_str(&secs.to_string()) {
            r.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
        }
        return r;
    }
    let req: wire::EnrolRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return err(
                StatusCode::BAD_REQUEST,
                format!("the request body is not an enrolment request: {e}"),
            );
        }
    };
    match s
        .app
        .enrolment()
        .enrol_counted(
            &s.ca,
            &req.token,
            &req.csr_pem,
            &peer.addr.ip().to_string(),
            Some((&c.refusals, &key)),
            now,
        )
        .await
    {
        Ok((issued, who)) => Json(wire::EnrolResponse {
            cert_pem: issued.cert_pem,
            ca_pem: s.ca.cert_pem().to_string(),
            site_id: who.site_id.get(),
            equipment_id: who.equipment_id.get(),
        })
        .into_response(),
        Err(e) => refusal(e),
    }
}

/// The caller's certificate, checked: known, unrevoked, unexpired, of the unit's
/// current installation. A refused certificate is 401: it no longer authenticates.
async fn agent_of(
    s: &AgentState,
    peer: &AgentPeer,
) -> Result<crate::gateways::AgentCert, Response> {
    let Some(der) = &peer.cert else {
        return Err(err(
            StatusCode::UNAUTHORIZED,
            "this request needs the agent's client certificate; enrol first",
        ));
    };
    let (_, serial) =
        ca::identity_of(der).map_err(|e| err(StatusCode::FORBIDDEN, e.to_string()))?;
    s.app
        .enrolment()
        .identity(&serial, &peer.addr.ip().to_string(), s.app.now_ms())
        .await
        .map_err(|e| match e {
            EnrolError::Refused(r) => err(StatusCode::UNAUTHORIZED, r.to_string()),
            e => refusal(e),
        })
}

async fn whoami(
    State(ctx): State<Arc<Ctx>>,
    ConnectInfo(peer): ConnectInfo<AgentPeer>,
) -> Response {
    match agent_of(&ctx.s, &peer).await {
        Ok(c) => {
            touch(&ctx, &c, &peer).await;
            Json(wire::Identity {
                site_id: c.site_id.get(),
                equipment_id: c.equipment_id.get(),
                serial: c.serial,
            })
            .into_response()
        }
        Err(r) => r,
    }
}

async fn renew(
    State(c): State<Arc<Ctx>>,
    ConnectInfo(peer): ConnectInfo<AgentPeer>,
    body: axum::body::Bytes,
) -> Response {
    let s = &c.s;
    let current = match agent_of(s, &peer).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let req: wire::RenewRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return err(
                StatusCode::BAD_REQUEST,
                format!("the request body is not a renewal request: {e}"),
            );
        }
    };
    match s
        .app
        .enrolment()
        .renew(
            &s.ca,
            &current,
            &req.csr_pem,
            &peer.addr.ip().to_string(),
            s.app.now_ms(),
        )
        .await
    {
        Ok(issued) => Json(wire::EnrolResponse {
            cert_pem: issued.cert_pem,
            ca_pem: s.ca.cert_pem().to_string(),
            site_id: current.site_id.get(),
            equipment_id: current.equipment_id.get(),
        })
        .into_response(),
        Err(e) => refusal(e),
    }
}

/// Writes the agent's last contact, at most every [`TOUCH_EVERY_MS`] per process.
async fn touch(ctx: &Ctx, cert: &AgentCert, peer: &AgentPeer) {
    let now = ctx.s.app.now_ms();
    {
        let mut m = ctx.touched.lock().unwrap_or_else(|p| p.into_inner());
        let key = (cert.equipment_id, cert.installation);
        let last = m.get(&key).copied().unwrap_or(i64::MIN);
        if now.saturating_sub(last) < TOUCH_EVERY_MS {
            return;
        }
        m.insert(key, now);
    }
    if let Err(e) = ctx
        .s
        .app
        .agents()
        .contact(cert, &peer.addr.ip().to_string(), now)
        .await
    {
        tracing::warn!(error = %e, "cannot record an agent's contact");
    }
}

fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "agent request failed");
    err(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal error; it has been logged",
    )
}

/// `GET /agent/v1/desired?after=G&wait=S`.
async fn desired(
    State(ctx): State<Arc<Ctx>>,
    ConnectInfo(peer): ConnectInfo<AgentPeer>,
    RawQuery(query): RawQuery,
) -> Response {
    let cert = match agent_of(&ctx.s, &peer).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    touch(&ctx, &cert, &peer).await;
    let q: wire::DesiredQuery = match serde_urlencoded::from_str(query.as_deref().unwrap_or("")) {
        Ok(q) => q,
        Err(e) => {
            let what = format!(
                "desired configuration: bad query {:?}: {e}",
                query.unwrap_or_default()
            );
            if let Err(e) = ctx
                .s
                .app
                .agents()
                .request_refused(
                    &cert,
                    &peer.addr.ip().to_string(),
                    &what,
                    ctx.s.app.now_ms(),
                )
                .await
            {
                return internal(e);
            }
            return err(
                StatusCode::BAD_REQUEST,
                format!(
                    "{what}; expected after=<generation>&wait=<seconds>, nothing else (the site is the one of the certificate)"
                ),
            );
        }
    };
    let wait = std::time::Duration::from_secs(u64::from(q.wait.min(wire::MAX_WAIT_SECONDS)));
    let deadline = tokio::time::Instant::now() + wait;
    let mut rx = ctx.wake.subscribe(cert.site_id);
    let mut revoked = ctx.wake.watch_cert(&cert.serial);
    let mut watching = true;
    loop {
        match ctx.s.app.agents().desired_for(&cert, q.after).await {
            Ok(Some(p)) => {
                let settings = match serde_json::to_value(&p.settings) {
                    Ok(v) => v,
                    Err(e) => return internal(e),
                };
                return Json(wire::DesiredConfig {
                    generation: p.generation,
                    policy_text: p.policy_text,
                    settings,
                })
                .into_response();
            }
            Ok(None) => {}
            Err(e) => return internal(e),
        }
        rx.borrow_and_update();
        let mut stopping = ctx.stopping.clone();
        tokio::select! {
            woken = tokio::time::timeout_at(deadline, rx.changed()) => match woken {
                Ok(Ok(())) => continue,
                // Timed out, or the process is stopping.
                _ => return StatusCode::NO_CONTENT.into_response(),
            },
            // The listener stops: no news now; the agent asks again (here or elsewhere).
            true = async { stopping.wait_for(|s| *s).await.is_ok() } => {
                return (
                    StatusCode::NO_CONTENT,
                    [(axum::http::header::CONNECTION, "close")],
                )
                    .into_response();
            }
            // The certificate was revoked (its unit moved, failed, was renewed): the
            // check refuses it now, audited, and the agent hears so at once.
            true = async { revoked.wait_for(|r| *r).await.is_ok() }, if watching => {
                if let Err(r) = agent_of(&ctx.s, &peer).await {
                    return r;
                }
                watching = false;
            }
        }
    }
}

/// `POST /agent/v1/reports`.
async fn reports(
    State(ctx): State<Arc<Ctx>>,
    ConnectInfo(peer): ConnectInfo<AgentPeer>,
    body: axum::body::Bytes,
) -> Response {
    let cert = match agent_of(&ctx.s, &peer).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let batch: wire::ReportBatch = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => {
            return err(
                StatusCode::BAD_REQUEST,
                format!("the request body is not a report batch: {e}"),
            );
        }
    };
    match ctx
        .s
        .app
        .agents()
        .reports(
            &cert,
            &batch,
            &peer.addr.ip().to_string(),
            ctx.s.app.now_ms(),
        )
        .await
    {
        Ok(acknowledged) => Json(wire::ReportAck { acknowledged }).into_response(),
        // The agent reads English.
        Err(e @ crate::app::AppError::Invalid { .. }) => err(
            StatusCode::UNPROCESSABLE_ENTITY,
            e.text(crate::app::Lang::En),
        ),
        // Revoked between the check above and the reports' transaction.
        Err(e @ crate::app::AppError::Unauthenticated(_)) => {
            err(StatusCode::UNAUTHORIZED, e.text(crate::app::Lang::En))
        }
        Err(e) => internal(e),
    }
}
