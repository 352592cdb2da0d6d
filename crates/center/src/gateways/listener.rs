//! Starting the agent listener from the configuration: the CA from `<data_dir>/ca`
//! (created on first start), a server certificate for the listener, and the server task.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::app::App;
use crate::ca;
use crate::config::Config;
use crate::http::agent::{self, AgentState};
use crate::http::conn::{ConnStats, Limits};

/// A running agent listener.
pub struct AgentListener {
    pub addr: SocketAddr,
    /// The CA certificate agents trust (PEM).
    pub ca_pem: String,
    shutdown: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl AgentListener {
    pub async fn stop(self) {
        let _ = self.shutdown.send(());
        let _ = self.task.await;
    }
}

/// Starts the listener when `agent_listen` is set, under `limits`, counting its
/// connections in `stats`; `Ok(None)` when it is empty.
pub async fn start(
    config: &Config,
    app: &App,
    limits: Limits,
    stats: Arc<ConnStats>,
) -> Result<Option<AgentListener>, String> {
    if config.agent_listen.trim().is_empty() {
        return Ok(None);
    }
    let want: SocketAddr = config.agent_listen.trim().parse().map_err(|e| {
        format!(
            "agent_listen {:?}: {e}; expected address:port",
            config.agent_listen
        )
    })?;
    let now = app.now_ms();
    let ca =
        Arc::new(ca::load_or_create(&config.data_dir.join("ca"), now).map_err(|e| e.to_string())?);
    let mut names = vec!["localhost".to_string(), want.ip().to_string()];
    for url in [&config.public_url, &config.agent_public_url] {
        if let Some(host) = url
            .split("://")
            .nth(1)
            .and_then(|r| r.split(['/', ':']).next())
            .filter(|h| !h.is_empty())
        {
            names.push(host.to_string());
        }
    }
    names.dedup();
    let tls = agent::tls_config(&ca, names, now)?;
    let tcp = tokio::net::TcpListener::bind(want)
        .await
        .map_err(|e| format!("cannot listen on {want}: {e}"))?;
    let addr = tcp.local_addr().map_err(|e| e.to_string())?;
    // Enrolment tokens carry the CA's fingerprint from now on.
    app.store
        .set_agent_ca_fingerprint(&agent::ca_fingerprint(&ca)?)
        .await
        .map_err(|e| format!("cannot record the CA fingerprint: {e}"))?;
    let state = Arc::new(AgentState {
        app: app.clone(),
        ca: ca.clone(),
    });
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(agent::serve_with(
        state,
        tcp,
        tls,
        limits,
        stats,
        async move {
            let _ = rx.await;
        },
    ));
    tracing::info!(%addr, "agent listener started");
    Ok(Some(AgentListener {
        addr,
        ca_pem: ca.cert_pem().to_string(),
        shutdown: tx,
        task,
    }))
}
