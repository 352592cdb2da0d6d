//! Test harness: a real center on loopback over SQLite or a throwaway PostgreSQL, and an
//! HTTP client that signs in like a user does (password and TOTP).
//!
//! PostgreSQL, Chromium and the SMTP server are software installed on the machine: their
//! modules exist only with the cargo feature `external` (`scripts/test` enables it).
//! Without it, `pg` is a stand-in whose cluster cannot be made, so that scenarios that
//! match on the backend still compile, and `both_backends!` makes only the SQLite test.

#![allow(dead_code)]

#[cfg(feature = "external")]
pub mod browser;
#[cfg(feature = "external")]
pub mod pg;
#[cfg(not(feature = "external"))]
#[path = "no_pg.rs"]
pub mod pg;
#[cfg(feature = "external")]
pub mod smtp;

use mamori_api::v1 as wire;
use mamori_center::Running;
use mamori_center::config::Config;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct Center {
    pub running: Option<Running>,
    pub base: String,
    pub bootstrap: String,
    pub client: reqwest::Client,
    pub pg: Option<pg::PgCluster>,
    /// The data directory the center runs with.
    pub data_dir: std::path::PathBuf,
    /// The center's clock: the system's, or a fixed one the test moves.
    pub clock: mamori_center::clock::Clock,
    _dir: tempfile::TempDir,
}

pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A TOTP code for `secret` that this test process has not used yet (the center takes
/// each code once), for a center running on the system clock that the test cannot
/// move (one started with `mamori_center::start`): the codes of the previous, current
/// and next time step, in turn. A fourth code within one step is a mistake of the test,
/// not a reason to wait: a test that needs more uses [`Center::code`], which moves the
/// center's clock on instead.
pub fn code(secret: &str) -> String {
    static USED: std::sync::Mutex<std::collections::BTreeMap<String, i64>> =
        std::sync::Mutex::new(std::collections::BTreeMap::new());
    let now = now_secs();
    let cur = now / 30;
    let mut used = USED.lock().unwrap();
    let last = used.get(secret).copied().unwrap_or(i64::MIN);
    // The previous step only well before the next boundary, so that it is still in the
    // center's window when the request arrives.
    let lowest = if now % 30 < 20 { cur - 1 } else { cur };
    let step = last.saturating_add(1).max(lowest);
    assert!(
        step <= cur + 1,
        "no unused TOTP code for this secret in the center's window: use Center::code"
    );
    used.insert(secret.to_string(), step);
    mamori_center::auth::totp_code(secret, step * 30).unwrap()
}

pub const PASSWORD: &str = "correct horse battery staple";

/// An answer of `/api/v1` read as the wire type `T`, after checking its status is
/// `want`: a field the type does not have, or one missing, fails the test.
#[track_caller]
pub fn ok<T: DeserializeOwned>(want: StatusCode, (status, v): (StatusCode, Value)) -> T {
    assert_eq!(status, want, "{v}");
    serde_json::from_value(v.clone())
        .unwrap_or_else(|e| panic!("not a {}: {e}: {v}", std::any::type_name::<T>()))
}

/// A problem answer of `/api/v1` with status `want`, read as `mamori_api::v1::Problem`.
#[track_caller]
pub fn problem(want: StatusCode, answer: (StatusCode, Value)) -> wire::Problem {
    ok(want, answer)
}

/// Runs one scenario against both databases: on SQLite always, on a throwaway
/// PostgreSQL with the feature `external`. Attributes before a name go on its module,
/// e.g. `#[cfg(feature = "external")] name` for a scenario that needs other installed
/// software (an SMTP server, poppler).
#[macro_export]
macro_rules! both_backends {
    ($($(#[$attr:meta])* $name:ident),* $(,)?) => {
        $(
            $(#[$attr])*
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name(super::support::Backend::Sqlite).await
                }
                #[cfg(feature = "external")]
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name(super::support::Backend::Postgres).await
                }
            }
        )*
    };
}

impl Center {
    pub async fn start(backend: Backend) -> Center {
        Self::start_with(backend, |_| {}).await
    }

    pub async fn start_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Center {
        Self::start_with_clock(backend, mamori_center::clock::system(), tweak).await
    }

    /// A center whose use cases and background tasks read `clock` (a fixed one, moved by
    /// the test).
    pub async fn start_with_clock(
        backend: Backend,
        clock: mamori_center::clock::Clock,
        tweak: impl FnOnce(&mut Config),
    ) -> Center {
        let dir = tempfile::tempdir().unwrap();
        let pg = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(
                tokio::task::spawn_blocking(pg::PgCluster::start)
                    .await
                    .unwrap(),
            ),
        };
        let mut config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().to_path_buf(),
            database_url: pg.as_ref().map(|p| p.url()).unwrap_or_default(),
            log: "warn".into(),
            // Off unless a test turns it on (it is on by default, on a fixed port).
            agent_listen: String::new(),
            ..Config::default()
        };
        tweak(&mut config);
        let data_dir = config.data_dir.clone();
        let running = mamori_center::start_with_clock(config, clock.clone())
            .await
            .expect("the center starts");
        let base = format!("http://{}", running.addr);
        let bootstrap = running
            .bootstrap_token
            .clone()
            .expect("a bootstrap link on a fresh database");
        Center {
            running: Some(running),
            base,
            bootstrap,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            pg,
            data_dir,
            clock,
            _dir: dir,
        }
    }

    /// Copies this center's `secret.key` into `dir`: what a second center process on the
    /// same PostgreSQL database needs in its data directory.
    pub fn share_secret_key(&self, dir: &std::path::Path) {
        std::fs::copy(
            self.data_dir.join(mamori_center::secrets::KEY_FILE),
            dir.join(mamori_center::secrets::KEY_FILE),
        )
        .expect("copy secret.key");
    }

    /// This center's key of the TOTP secrets (for another store on its database).
    pub fn secret_key(&self) -> mamori_center::secrets::SecretKey {
        mamori_center::secrets::read_key_file(&self.data_dir)
            .unwrap()
            .expect("secret.key in the data directory")
    }

    /// Another center process on this center's database: `config` names the database
    /// (and whatever else differs); listen address, data directory and log level are
    /// the harness's, and its data directory gets this center's `secret.key`. It has no
    /// bootstrap link (`bootstrap` is empty).
    pub async fn another(&self, mut config: Config) -> Center {
        let dir = tempfile::tempdir().unwrap();
        self.share_secret_key(dir.path());
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.data_dir = dir.path().to_path_buf();
        config.log = "warn".into();
        let data_dir = config.data_dir.clone();
        let running = mamori_center::start_with_clock(config, self.clock.clone())
            .await
            .expect("the center starts");
        Center {
            clock: self.clock.clone(),
            base: format!("http://{}", running.addr),
            running: Some(running),
            bootstrap: String::new(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            pg: None,
            data_dir,
            _dir: dir,
        }
    }

    /// A TOTP code for `secret` that this center takes: its clock (fixed, or the
    /// system's) moves on by one time step (30 s) first, so every code is a fresh one and
    /// nothing waits.
    pub fn code(&self, secret: &str) -> String {
        // The next time step on the center's clock (fixed or running), so that the code
        // is one the center has not seen, without waiting for the wall clock.
        self.clock.advance(30_000);
        mamori_center::auth::totp_code(secret, self.clock.now_ms() / 1000).unwrap()
    }

    pub fn store(&self) -> &mamori_center::store::Store {
        &self.running.as_ref().unwrap().store
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await.unwrap();
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut rb = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let resp = rb.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, v)
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    /// Completes a setup link (`/setup/<token>`) with the TOTP secret it shows.
    pub async fn setup(&self, setup_path: &str, email: Option<&str>, name: &str) -> String {
        let token = setup_path.trim_start_matches("/setup/");
        let info: wire::SetupInfo = ok(
            StatusCode::OK,
            self.call(Method::GET, &format!("/api/v1/setup/{token}"), None, None)
                .await,
        );
        let secret = info.totp_secret;
        let mut body =
            json!({"display_name": name, "password": PASSWORD, "totp_code": self.code(&secret)});
        if let Some(e) = email {
            body["email"] = json!(e);
        }
        let _: wire::User = ok(
            StatusCode::CREATED,
            self.call(
                Method::POST,
                &format!("/api/v1/setup/{token}"),
                None,
                Some(body),
            )
            .await,
        );
        secret
    }

    pub async fn login(&self, email: &str, secret: &str) -> String {
        let v: wire::LoginResponse = ok(
            StatusCode::OK,
            self.call(
                Method::POST,
                "/api/v1/login",
                None,
                Some(json!({"email": email, "password": PASSWORD, "totp_code": self.code(secret)})),
            )
            .await,
        );
        v.token
    }

    /// Creates the first administrator through the bootstrap link; their session token.
    pub async fn admin(&self) -> String {
        let secret = self
            .setup(
                &format!("/setup/{}", self.bootstrap),
                Some("admin@provider.example.jp"),
                "Admin",
            )
            .await;
        self.login("admin@provider.example.jp", &secret).await
    }

    /// Creates a provider user with `role` and signs them in.
    pub async fn provider_user(&self, admin: &str, role: &str) -> String {
        let email = format!("{role}@provider.example.jp");
        let v: wire::Invitation = ok(
            StatusCode::CREATED,
            self.post(
                "/api/v1/users",
                admin,
                json!({"email": email, "display_name": role, "role": role}),
            )
            .await,
        );
        let secret = self.setup(&v.setup_path, None, role).await;
        self.login(&email, &secret).await
    }

    /// Creates a customer and its officer; returns (customer id, officer token, officer secret).
    pub async fn customer(&self, admin: &str, name: &str) -> (i64, String, String) {
        let email = format!("officer@{}.example.jp", name.to_lowercase());
        let v: wire::CreatedCustomer = ok(
            StatusCode::CREATED,
            self.post("/api/v1/customers", admin, json!({"name": name, "officer": {"email": email, "display_name": format!("{name} officer")}}))
                .await,
        );
        let id = v.customer.id;
        let secret = self.setup(&v.officer.setup_path, None, "Officer").await;
        (id, self.login(&email, &secret).await, secret)
    }

    /// The officer creates a staff user; their session token (staff have no TOTP here).
    pub async fn staff(&self, officer: &str, name: &str) -> String {
        let email = format!("{name}@staff.example.jp");
        let v: wire::Invitation = ok(
            StatusCode::CREATED,
            self.post(
                "/api/v1/users",
                officer,
                json!({"email": email, "display_name": name, "role": "staff"}),
            )
            .await,
        );
        let token = v.setup_path.trim_start_matches("/setup/").to_string();
        let _: wire::User = ok(
            StatusCode::CREATED,
            self.call(
                Method::POST,
                &format!("/api/v1/setup/{token}"),
                None,
                Some(json!({"display_name": name, "password": PASSWORD})),
            )
            .await,
        );
        let v: wire::LoginResponse = ok(
            StatusCode::OK,
            self.call(
                Method::POST,
                "/api/v1/login",
                None,
                Some(json!({"email": email, "password": PASSWORD})),
            )
            .await,
        );
        v.token
    }

    pub async fn audit_len(&self) -> usize {
        self.store()
            .audit_entries(mamori_center::domain::Scope::All, None, 100_000)
            .await
            .unwrap()
            .len()
    }
}
