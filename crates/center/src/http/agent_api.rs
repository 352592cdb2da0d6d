//! The agent listener: its own port, TLS with client certificates from the center's CA.
//! Enrolment is the only request without a certificate; every other request must come
//! with a certificate that the CA signed and whose serial is known, unrevoked,
//! unexpired and of its unit's current installation (checked on every request, so a
//! revocation takes effect at once; a refused certificate is answered 401). A long-poll
//! waiting when its certificate is revoked, on this or another center process, ends at
//! once with 401.
//!
//! Reconcile: `GET /agent/v1/desired?after=G&wait=S` (long-poll: 200 with the site's
//! newest generation when it is not `G`, else 204 after `S` seconds) and
//! `POST /agent/v1/reports` (a batch, answered with the ids stored). The site is always
//! the one the certificate names.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::{IncomingStream, Listener};
use axum::{Json, Router};
use mamori_api::agent as wire;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig};
use tokio_rustls::server::TlsStream;

use super::now_ms;
use crate::app::App;
use crate::ca::{self, Ca};
use crate::gateways::AgentCert;
use crate::gateways::enrol::{AgentRefusal, EnrolError};
use crate::gateways::reconcile::{self, Wakeups};

pub struct AgentState {
    pub app: App,
    pub ca: Arc<Ca>,
}

/// What the handlers share: the state, the long-poll wake-ups of this process, and
/// when each agent's contact was last written.
struct Ctx {
    s: Arc<AgentState>,
    wake: Arc<Wakeups>,
    touched: std::sync::Mutex<std::collections::HashMap<i64, i64>>,
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

/// A TCP listener that hands out connections after their TLS handshake; handshakes run
/// in their own tasks, so a slow client does not hold up the others.
pub struct TlsListener {
    rx: tokio::sync::mpsc::Receiver<(TlsStream<TcpStream>, AgentPeer)>,
    local: SocketAddr,
}

impl TlsListener {
    pub fn new(tcp: TcpListener, config: Arc<ServerConfig>) -> std::io::Result<TlsListener> {
        let local = tcp.local_addr()?;
        let (tx, rx) = tokio::sync::mpsc::channel(1024);
        let acceptor = TlsAcceptor::from(config);
        tokio::spawn(async move {
            loop {
                let (sock, addr) = match tcp.accept().await {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!(error = %e, "agent listener accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                };
                if tx.is_closed() {
                    break;
                }
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    let hs = tokio::time::timeout(
                        std::time::Duration::from_secs(10),
                        acceptor.accept(sock),
                    )
                    .await;
                    match hs {
                        Ok(Ok(tls)) => {
                            let cert = tls
                                .get_ref()
                                .1
                                .peer_certificates()
                                .and_then(|c| c.first())
                                .map(|c| c.to_vec());
                            let _ = tx.send((tls, AgentPeer { addr, cert })).await;
                        }
                        Ok(Err(e)) => {
                            tracing::info!(peer = %addr, error = %e, "agent TLS handshake failed")
                        }
                        Err(_) => tracing::info!(peer = %addr, "agent TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(TlsListener { rx, local })
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = AgentPeer;
    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(x) => x,
            // The acceptor task ended: never hand out another connection.
            None => std::future::pending().await,
        }
    }
    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(AgentPeer {
            addr: self.local,
            cert: None,
        })
    }
}

impl axum::extract::connect_info::Connected<IncomingStream<'_, TlsListener>> for AgentPeer {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> Self {
        stream.remote_addr().clone()
    }
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
    let wake = Arc::new(Wakeups::default());
    reconcile::spawn_poller(
        state.app.store.clone(),
        Arc::downgrade(&wake),
        WAKE_POLL,
        now_ms,
    );
    let ctx = Arc::new(Ctx {
        s: state,
        wake,
        touched: Default::default(),
    });
    Router::new()
        .route("/agent/v1/enrol", post(enrol))
        .route("/agent/v1/whoami", get(whoami))
        .route("/agent/v1/renew", post(renew))
        .route("/agent/v1/desired", get(desired))
        .route("/agent/v1/reports", post(reports))
        .with_state(ctx)
}

/// Serves the agent protocol on `tcp` until `shutdown` resolves.
pub async fn serve(
    state: Arc<AgentState>,
    tcp: TcpListener,
    config: Arc<ServerConfig>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Ok(fp) = ca_fingerprint(&state.ca)
        && let Err(e) = state.app.store.set_agent_ca_fingerprint(&fp).await
    {
        tracing::warn!(error = %e, "cannot record the CA fingerprint; enrolment tokens will lack it");
    }
    let listener = TlsListener::new(tcp, config)?;
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<AgentPeer>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
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
        .enrol_agent(
            &s.ca,
            &req.token,
            &req.csr_pem,
            &peer.addr.ip().to_string(),
            now_ms(),
        )
        .await
    {
        Ok((issued, who)) => Json(wire::EnrolResponse {
            cert_pem: issued.cert_pem,
            ca_pem: s.ca.cert_pem().to_string(),
            site_id: who.site_id,
            equipment_id: who.equipment_id,
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
        .agent_identity(&serial, &peer.addr.ip().to_string(), now_ms())
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
                site_id: c.site_id,
                equipment_id: c.equipment_id,
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
        .renew_agent(
            &s.ca,
            &current,
            &req.csr_pem,
            &peer.addr.ip().to_string(),
            now_ms(),
        )
        .await
    {
        Ok(issued) => Json(wire::EnrolResponse {
            cert_pem: issued.cert_pem,
            ca_pem: s.ca.cert_pem().to_string(),
            site_id: current.site_id,
            equipment_id: current.equipment_id,
        })
        .into_response(),
        Err(e) => refusal(e),
    }
}

/// Writes the agent's last contact, at most every [`TOUCH_EVERY_MS`] per process.
async fn touch(ctx: &Ctx, cert: &AgentCert, peer: &AgentPeer) {
    let now = now_ms();
    {
        let mut m = ctx.touched.lock().unwrap_or_else(|p| p.into_inner());
        let last = m.get(&cert.equipment_id).copied().unwrap_or(i64::MIN);
        if now.saturating_sub(last) < TOUCH_EVERY_MS {
            return;
        }
        m.insert(cert.equipment_id, now);
    }
    if let Err(e) = ctx
        .s
        .app
        .agent_contact(cert, &peer.addr.ip().to_string(), now)
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
                .agent_request_refused(&cert, &peer.addr.ip().to_string(), &what, now_ms())
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
        match ctx.s.app.desired_for(&cert, q.after).await {
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
        tokio::select! {
            woken = tokio::time::timeout_at(deadline, rx.changed()) => match woken {
                Ok(Ok(())) => continue,
                // Timed out, or the process is stopping.
                _ => return StatusCode::NO_CONTENT.into_response(),
            },
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
        .agent_reports(&cert, &batch, &peer.addr.ip().to_string(), now_ms())
        .await
    {
        Ok(acknowledged) => Json(wire::ReportAck { acknowledged }).into_response(),
        Err(crate::app::AppError::Invalid { field, message, .. }) => err(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{field}: {message}"),
        ),
        // Revoked between the check above and the reports' transaction.
        Err(crate::app::AppError::Unauthenticated(m)) => err(StatusCode::UNAUTHORIZED, m),
        Err(e) => internal(e),
    }
}
