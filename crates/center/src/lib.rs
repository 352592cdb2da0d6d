//! The operations center: one server process with the control panel, the operator
//! console and REST API, the mutual-TLS agent listener, configuration revisions, the
//! fleet view, and the back office (contracts, invoices, payments, notices). SQL lives
//! only in the `store` module.
//!
//! Layers, outside in: `http` (who is asking, the clock, HTML and JSON) calls `app`
//! (the use cases, scoped to the caller's customer), which calls `store` (all SQL, and
//! the audit chain, appended in the same transaction as each change). `config` reads
//! the configuration; `auth` holds the credential primitives; `domain` the types.

pub mod adapters;
pub mod app;
pub mod audit_head;
pub mod auth;
pub mod backoffice;
pub mod ca;
pub mod clock;
pub mod config;
pub mod datadir;
pub mod gateways;
pub mod http;
pub mod secrets;
pub mod signin;
pub mod tasks;

pub use mamori_center_db as store;
pub use mamori_center_db::audit;
pub use mamori_center_model::domain;

use std::net::SocketAddr;
use std::sync::Arc;

use app::{App, AppError, Settings};
use config::Config;
use store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum CenterError {
    #[error(transparent)]
    DataDir(#[from] datadir::DataDirError),
    #[error(transparent)]
    Secrets(#[from] secrets::SecretError),
    #[error(
        "cannot listen on {addr}: {source}\nhint: pick another address with --listen or MAMORI_LISTEN"
    )]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    App(#[from] AppError),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("the server stopped with an error: {0}")]
    Serve(std::io::Error),
    #[error(
        "cannot start the agent listener: {0}\nhint: check agent_listen (MAMORI_AGENT_LISTEN) and the CA files in <data_dir>/ca"
    )]
    AgentListener(String),
    #[error("{0}\nhint: see `mamori center --print-config` for every key and its default")]
    Config(String),
    /// The audit key or the last checkpoint of the audit chain's head (at start).
    #[error("audit checkpoint: {0}")]
    AuditHead(String),
    /// The chain does not reach its checkpoint, or the checkpoint is not the center's.
    #[error(transparent)]
    Anchor(#[from] audit_head::AnchorError),
}

/// A started center.
pub struct Running {
    pub addr: SocketAddr,
    /// The agent listener, when `agent_listen` is set.
    pub agent: Option<gateways::listener::AgentListener>,
    /// Where agents reach the agent listener (`Config::agent_url`), when it listens.
    pub agent_url: Option<String>,
    /// The one-time bootstrap token, when no administrator exists yet.
    pub bootstrap_token: Option<String>,
    pub public_url: String,
    pub store: Store,
    /// The public key that signs the audit checkpoints (`ed25519:HEX`).
    pub audit_key: String,
    /// The background tasks (also reachable from the API).
    pub tasks: Arc<tasks::Tasks>,
    head: audit_head::HeadWriter,
    shutdown: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    stop_tasks: tokio::sync::watch::Sender<bool>,
    tasks_loop: tokio::task::JoinHandle<()>,
}

impl Running {
    pub fn bootstrap_url(&self) -> Option<String> {
        self.bootstrap_token
            .as_ref()
            .map(|t| format!("{}/setup/{t}", self.public_url))
    }

    /// Stops accepting on both listeners at once, answers waiting long-polls, gives
    /// open requests up to [`http::conn::GRACE`], and closes the database.
    pub async fn stop(self) -> Result<(), CenterError> {
        let _ = self.shutdown.send(());
        let agent = async {
            if let Some(a) = self.agent {
                a.stop().await;
            }
        };
        let _ = self.stop_tasks.send(true);
        let ((), r, _) = tokio::join!(agent, self.task, self.tasks_loop);
        let r = r.unwrap_or(Ok(()));
        // The last checkpoint, after the last request.
        self.head.stop().await;
        self.store.close().await;
        r.map_err(CenterError::Serve)
    }

    /// Waits until the server ends by itself (it does not unless it fails).
    pub async fn wait(self) -> Result<(), CenterError> {
        let r = self.task.await.unwrap_or(Ok(()));
        r.map_err(CenterError::Serve)
    }
}

/// Creates the data directory (0700) or tightens it and the center's files in it (0600),
/// with a warning for each change (`datadir`).
fn prepare(config: &Config) -> Result<(), CenterError> {
    let db = datadir::sqlite_file(&config.effective_database_url());
    for w in datadir::secure(&config.data_dir, db.as_deref())? {
        tracing::warn!("{w}");
    }
    Ok(())
}

pub async fn open_store(config: &Config) -> Result<Store, CenterError> {
    prepare(config)?;
    Ok(Store::open(&config.effective_database_url(), config.max_connections).await?)
}

/// Opens the database (migrating it) with the data directory's secret key, binds the
/// listener and starts serving, on the system clock.
pub async fn start(config: Config) -> Result<Running, CenterError> {
    start_with_clock(config, clock::system()).await
}

/// [`start`] on a given clock (tests: a fixed one).
pub async fn start_with_clock(
    mut config: Config,
    clock: clock::Clock,
) -> Result<Running, CenterError> {
    let store = open_store(&config).await?;
    let store = secrets::attach(store, &config.data_dir, clock.now_ms()).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| CenterError::Listen {
            addr: config.listen,
            source,
        })?;
    let addr = listener
        .local_addr()
        .map_err(|source| CenterError::Listen {
            addr: config.listen,
            source,
        })?;
    config.listen = addr;
    let app = App {
        store: store.clone(),
        settings: Settings {
            clock,
            ..Settings::from_config(&config).map_err(CenterError::Config)?
        },
    };
    // Before anything is written: the chain must still reach its last checkpoint.
    let head = audit_head::start(
        &store,
        app.settings.clock.clone(),
        &config.data_dir,
        &config.audit_checkpoint,
        &config.backoffice.smtp,
        &config.backoffice.mail_from,
    )
    .await
    .map_err(CenterError::AuditHead)?;
    let bootstrap_token = app.accounts().ensure_bootstrap(app.now_ms()).await?;
    let tasks = Arc::new(tasks::Tasks::builtin(app.clone()));
    let (stop_tasks, stop_rx) = tokio::sync::watch::channel(false);
    let tasks_loop = tasks.clone().spawn(stop_rx);
    let public_url = config.effective_public_url();
    let limits = fitted_limits(&config);
    let shared = Arc::new(http::Shared {
        app,
        tasks: tasks.clone(),
        secure_cookies: public_url.starts_with("https:"),
        config,
        metrics: Default::default(),
        throttle: Default::default(),
        limits,
        listeners: Default::default(),
        agent_url: Default::default(),
    });
    let agent = match gateways::listener::start(
        &shared.config,
        &shared.app,
        shared.limits.clone(),
        shared.listeners.agent.clone(),
    )
    .await
    {
        Ok(a) => a,
        Err(message) => return Err(CenterError::AgentListener(message)),
    };
    if let Some(a) = &agent {
        let _ = shared.agent_url.set(shared.config.agent_url(a.addr.port()));
    }
    let agent_url = shared.agent_url.get().cloned();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(http::serve(shared, listener, async move {
        let _ = rx.await;
    }));
    Ok(Running {
        agent_url,
        agent,
        audit_key: head.public_key.clone(),
        head,
        addr,
        bootstrap_token,
        public_url,
        store,
        shutdown: tx,
        task,
        tasks,
        stop_tasks,
        tasks_loop,
    })
}

/// Raises the open-file limit to the hard limit and fits the connection caps under it.
fn fitted_limits(config: &Config) -> http::conn::Limits {
    let limits = http::conn::Limits::from_config(&config.connections);
    match http::conn::Budget::raise(config.max_connections) {
        Some(budget) => {
            let (limits, warning) = budget.fit(limits, !config.agent_listen.trim().is_empty());
            if let Some(w) = warning {
                tracing::warn!("{w}");
            }
            limits
        }
        None => limits,
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, CenterError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CenterError::Runtime)
}

/// Structured logs on standard error, filtered by `filter` (e.g. `info`).
pub fn init_logging(filter: &str) {
    let f = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(f)
        .with_writer(std::io::stderr)
        .try_init();
}

/// `mamori center`: runs until Ctrl-C or SIGTERM. Prints the panel address and, when
/// there is no administrator yet, the one-time bootstrap link.
pub fn run_blocking(config: Config) -> Result<(), CenterError> {
    init_logging(&config.log);
    runtime()?.block_on(async move {
        let db = redacted_db(&config);
        let running = start(config).await?;
        println!("Mamori center: control panel at {}/", running.public_url);
        if let Some(a) = &running.agent {
            println!("agent listener: https://{}", a.addr);
            if let Some(url) = &running.agent_url {
                println!("agents enrol at {url}");
            }
        }
        println!("database: {db}");
        println!("audit checkpoints signed with {}", running.audit_key);
        match running.bootstrap_url() {
            Some(url) => println!(
                "No administrator yet. Create the first one (one-time link, valid 24 h):\n  {url}"
            ),
            None => println!("Sign in at {}/login", running.public_url),
        }
        tracing::info!(addr = %running.addr, "center started");
        let stop = async {
            let ctrl_c = tokio::signal::ctrl_c();
            #[cfg(unix)]
            {
                let mut term =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                        .map_err(CenterError::Runtime)?;
                tokio::select! {
                    _ = ctrl_c => {},
                    _ = term.recv() => {},
                }
            }
            #[cfg(not(unix))]
            {
                let _ = ctrl_c.await;
            }
            Ok::<(), CenterError>(())
        };
        stop.await?;
        tracing::info!("stopping");
        running.stop().await
    })
}

fn redacted_db(config: &Config) -> String {
    let url = config.effective_database_url();
    match url.split_once('@') {
        Some((left, right)) if left.contains("://") => {
            let scheme_end = left.find("://").map_or(0, |i| i + 3);
            let user = left[scheme_end..].split(':').next().unwrap_or("");
            format!("{}{user}:***@{right}", &left[..scheme_end])
        }
        _ => url,
    }
}

/// What `audit verify` found: the entries that verified and how the end of the chain
/// was anchored.
#[derive(Debug, Clone)]
pub struct AuditVerified {
    pub entries: u64,
    pub anchor: audit_head::Anchor,
}

/// `mamori center audit verify`: walks the whole chain, then checks that it still
/// reaches the latest signed checkpoint of its head.
pub async fn audit_verify(
    config: &Config,
    opts: &audit_head::VerifyOptions,
) -> Result<AuditVerified, CenterError> {
    let store = open_store(config).await?;
    let r = async {
        let entries = store.verify_audit().await?;
        let anchor = audit_head::verify_anchor(&store, &config.data_dir, opts).await?;
        Ok(AuditVerified { entries, anchor })
    }
    .await;
    store.close().await;
    r
}

/// [`audit_verify`] on a runtime of its own.
pub fn audit_verify_blocking(
    config: &Config,
    opts: &audit_head::VerifyOptions,
) -> Result<AuditVerified, CenterError> {
    runtime()?.block_on(audit_verify(config, opts))
}

/// `mamori center audit key`: the public key that signs the audit checkpoints of this
/// data directory (created with the key when there is none yet).
pub fn audit_key(config: &Config) -> Result<String, CenterError> {
    for warning in datadir::secure(&config.data_dir, None)? {
        tracing::warn!("{warning}");
    }
    audit_head::Signer::load_or_create(&config.data_dir)
        .map(|s| s.public_key())
        .map_err(CenterError::AuditHead)
}
