//! Data at rest, on SQLite and PostgreSQL: the data directory is 0700 and the center's
//! files in it 0600 (fresh, and tightened when an earlier run left them open); TOTP
//! secrets are encrypted in the database (read back with SQL), including those an
//! earlier version stored in plain text, and sign-in with TOTP works throughout; a
//! missing or different `secret.key` stops the center with a clear error.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use mamori_center::app::{App, Settings};
use mamori_center::config::Config;
use mamori_center::domain::{Actor, Role, Scope};
use mamori_center::store::Store;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Backend, Center, PASSWORD, code};

both_backends!(
    data_directory_is_private_and_tightened_at_start,
    totp_secrets_are_encrypted_in_the_database,
    plain_text_secrets_of_an_earlier_version_are_encrypted_at_start_once,
    a_missing_or_different_key_stops_the_center_with_a_clear_error
);

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o7777
}

fn set_mode(p: &Path, m: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
}

fn now_ms() -> i64 {
    support::now_secs() * 1000
}

/// Every TOTP secret as it lies in the database (users and setup links), read with SQL.
/// The TOTP secrets as stored: the users' and those of setup links still to be used (a
/// used link is purged by the `accounts.purge` task, which may run as the center starts).
async fn raw_secrets(url: &str) -> Vec<String> {
    secrets_where(url, "WHERE used = 0").await
}

/// Every TOTP secret as stored, used setup links' included.
async fn every_secret(url: &str) -> Vec<String> {
    secrets_where(url, "").await
}

async fn secrets_where(url: &str, links: &str) -> Vec<String> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    let v: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT totp_secret FROM users WHERE totp_secret IS NOT NULL UNION ALL SELECT totp_secret FROM setup_links {links}"
    )))
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    v
}

fn url_of(c: &Center) -> String {
    match &c.pg {
        Some(pg) => pg.url(),
        None => format!("sqlite://{}", c.data_dir.join("center.db").display()),
    }
}

fn config(data_dir: &Path, database_url: &str) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: data_dir.to_path_buf(),
        database_url: database_url.into(),
        log: "warn".into(),
        agent_listen: String::new(),
        ..Config::default()
    }
}

/// Signs in with `totp_code` (from `Center::code` when the center's clock is the
/// test's, else from `support::code`).
async fn login(base: &str, email: &str, totp_code: &str) -> StatusCode {
    reqwest::Client::new()
        .post(format!("{base}/api/v1/login"))
        .json(&json!({"email": email, "password": PASSWORD, "totp_code": totp_code}))
        .send()
        .await
        .unwrap()
        .status()
}

async fn data_directory_is_private_and_tightened_at_start(backend: Backend) {
    let mut c = Center::start_with(backend, |cfg| cfg.agent_listen = "127.0.0.1:0".into()).await;
    // Writes, so that SQLite has its -wal and -shm files.
    let admin = c.admin().await;
    c.customer(&admin, "Alpha").await;
    let dir = c.data_dir.clone();
    let ours = {
        let mut v = vec![
            dir.join("secret.key"),
            dir.join("ca/ca.key"),
            dir.join("ca/ca.pem"),
        ];
        if backend == Backend::Sqlite {
            for f in ["center.db", "center.db-wal", "center.db-shm"] {
                v.push(dir.join(f));
            }
        }
        v
    };
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("ca")), 0o700);
    for f in &ours {
        assert_eq!(mode(f), 0o600, "{}", f.display());
    }

    // An earlier run left everything open to other users; a file of someone else's too.
    let running = c.running.take().unwrap();
    running.stop().await.unwrap();
    set_mode(&dir, 0o755);
    set_mode(&dir.join("ca"), 0o755);
    // (SQLite removes -wal and -shm when the last connection closes.)
    for f in ours.iter().filter(|f| f.exists()) {
        set_mode(f, 0o644);
    }
    std::fs::write(dir.join("notes.txt"), "not the center's").unwrap();
    set_mode(&dir.join("notes.txt"), 0o644);
    let url = c.pg.as_ref().map(|p| p.url()).unwrap_or_default();
    let again = mamori_center::start(Config {
        agent_listen: "127.0.0.1:0".into(),
        ..config(&dir, &url)
    })
    .await
    .expect("the center starts on the loose directory");
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("ca")), 0o700);
    for f in &ours {
        assert_eq!(mode(f), 0o600, "{}", f.display());
    }
    assert_eq!(
        mode(&dir.join("notes.txt")),
        0o644,
        "files that are not the center's are left alone"
    );
    // The warnings that went to the log, one per change, name each path.
    set_mode(&dir.join("secret.key"), 0o640);
    let db = (backend == Backend::Sqlite).then(|| dir.join("center.db"));
    let warnings = mamori_center::datadir::secure(&dir, db.as_deref()).unwrap();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].contains("secret.key") && warnings[0].contains("0640"),
        "{warnings:?}"
    );
    assert!(warnings[1].contains("notes.txt"), "{warnings:?}");
    assert_eq!(mode(&dir.join("secret.key")), 0o600);
    again.stop().await.unwrap();
    c.stop().await;
}

async fn totp_secrets_are_encrypted_in_the_database(backend: Backend) {
    let c = Center::start(backend).await;
    // The secrets the center showed: the administrator's, an officer's, and one of a
    // setup link not used yet.
    let (s, info) = c
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/setup/{}", c.bootstrap),
            None,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let admin_secret = info["totp_secret"].as_str().unwrap().to_string();
    let admin = c.admin().await;
    let (_, _, officer_secret) = c.customer(&admin, "Alpha").await;
    let (s, v) = c
        .post(
            "/api/v1/users",
            &admin,
            json!({"email": "op@provider.example.jp", "display_name": "Op", "role": "operator"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let token = v["setup_path"]
        .as_str()
        .unwrap()
        .trim_start_matches("/setup/");
    let (_, info) = c
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/setup/{token}"),
            None,
            None,
        )
        .await;
    let pending_secret = info["totp_secret"].as_str().unwrap().to_string();

    let raw = raw_secrets(&url_of(&c)).await;
    // Two accounts and the link not used yet (used links are gone).
    assert!(raw.len() >= 3, "{raw:?}");
    for v in &raw {
        assert!(v.starts_with("v1:"), "a TOTP secret in the clear: {v}");
        for plain in [&admin_secret, &officer_secret, &pending_secret] {
            assert!(!v.contains(plain.as_str()), "{v} holds {plain}");
        }
    }
    // Sign-in with TOTP works with the encrypted secrets.
    assert_eq!(
        login(&c.base, "admin@provider.example.jp", &c.code(&admin_secret)).await,
        StatusCode::OK
    );
    assert_eq!(
        login(
            &c.base,
            "officer@alpha.example.jp",
            &c.code(&officer_secret)
        )
        .await,
        StatusCode::OK
    );
    c.stop().await;
}

/// What an earlier version left: an administrator with TOTP and a setup link not used
/// yet, their secrets in plain text. Returns (administrator's secret, link, its secret).
async fn earlier_version_database(url: &str) -> (String, String, String) {
    let store = Store::open(url, 2).await.unwrap().with_plain_secrets();
    let app = App {
        store: store.clone(),
        settings: Settings::default(),
    };
    let now = now_ms();
    let boot = app.accounts().ensure_bootstrap(now).await.unwrap().unwrap();
    let (link, _) = app.accounts().setup_link(&boot, now).await.unwrap();
    let admin_secret = link.totp_secret.clone();
    let admin = app
        .accounts()
        .complete_setup(
            &boot,
            Some("admin@provider.example.jp"),
            "Admin",
            PASSWORD,
            Some(&code(&admin_secret)),
            "test",
            now,
        )
        .await
        .unwrap();
    let actor = Actor {
        user_id: admin.id,
        label: admin.email.clone(),
        role: Role::Admin,
        customer_id: None,
        source: "test".into(),
        locale: None,
    };
    let (_, invite) = app
        .users()
        .create(
            &actor,
            "op@provider.example.jp",
            "Op",
            "operator",
            None,
            now,
        )
        .await
        .unwrap();
    let (link, _) = app.accounts().setup_link(&invite, now).await.unwrap();
    store.close().await;
    (admin_secret, invite, link.totp_secret)
}

async fn encrypt_entries(store: &Store) -> usize {
    store
        .audit_entries(Scope::All, None, 10_000)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.action == "secrets.encrypt")
        .count()
}

async fn plain_text_secrets_of_an_earlier_version_are_encrypted_at_start_once(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let pg = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(
            tokio::task::spawn_blocking(support::pg::PgCluster::start)
                .await
                .unwrap(),
        ),
    };
    let url = match &pg {
        Some(p) => p.url(),
        None => format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("center.db").display()
        ),
    };
    let (admin_secret, invite, pending_secret) = earlier_version_database(&url).await;
    let before = raw_secrets(&url).await;
    assert!(
        before.contains(&admin_secret) && before.contains(&pending_secret),
        "the earlier version's secrets are in plain text: {before:?}"
    );

    let db = pg.as_ref().map(|p| p.url()).unwrap_or_default();
    let running = mamori_center::start(config(dir.path(), &db)).await.unwrap();
    let base = format!("http://{}", running.addr);
    let after = raw_secrets(&url).await;
    assert_eq!(after.len(), before.len());
    for v in &every_secret(&url).await {
        assert!(v.starts_with("v1:"), "left in the clear: {v}");
        assert!(!v.contains(&admin_secret) && !v.contains(&pending_secret));
    }
    assert_eq!(encrypt_entries(&running.store).await, 1);
    // The administrator signs in with the same authenticator as before.
    assert_eq!(
        login(&base, "admin@provider.example.jp", &code(&admin_secret)).await,
        StatusCode::OK
    );
    // The pending link shows the same secret, and completes.
    let client = reqwest::Client::new();
    let info: Value = client
        .get(format!("{base}/api/v1/setup/{invite}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["totp_secret"], pending_secret.as_str());
    let r = client
        .post(format!("{base}/api/v1/setup/{invite}"))
        .json(&json!({"display_name": "Op", "password": PASSWORD, "totp_code": code(&pending_secret)}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(
        login(&base, "op@provider.example.jp", &code(&pending_secret)).await,
        StatusCode::OK
    );
    let sealed = raw_secrets(&url).await;
    assert!(sealed.iter().all(|v| v.starts_with("v1:")), "{sealed:?}");
    running.stop().await.unwrap();

    // A second start finds nothing to encrypt: nothing changes, no second entry.
    let running = mamori_center::start(config(dir.path(), &db)).await.unwrap();
    let mut again = raw_secrets(&url).await;
    let mut sealed = sealed;
    again.sort();
    sealed.sort();
    assert_eq!(again, sealed);
    assert_eq!(encrypt_entries(&running.store).await, 1);
    running.stop().await.unwrap();
}

async fn a_missing_or_different_key_stops_the_center_with_a_clear_error(backend: Backend) {
    let mut c = Center::start(backend).await;
    let admin_secret = c
        .setup(
            &format!("/setup/{}", c.bootstrap),
            Some("admin@provider.example.jp"),
            "Admin",
        )
        .await;
    c.running.take().unwrap().stop().await.unwrap();
    let dir = c.data_dir.clone();
    let db = c.pg.as_ref().map(|p| p.url()).unwrap_or_default();
    let key = dir.join("secret.key");
    let backup = dir.join("secret.key.bak");
    std::fs::rename(&key, &backup).unwrap();

    let e = mamori_center::start(config(&dir, &db))
        .await
        .err()
        .expect("no start without the key")
        .to_string();
    assert!(
        e.contains("encrypted TOTP secrets")
            && e.contains(&key.display().to_string())
            && e.contains("is missing")
            && e.contains("same secret.key"),
        "{e}"
    );
    assert!(!key.exists(), "no new key is made over encrypted secrets");

    // Another key (another center's, say): refused as well.
    std::fs::write(&key, format!("{}\n", "ab".repeat(32))).unwrap();
    let e = mamori_center::start(config(&dir, &db))
        .await
        .err()
        .expect("no start with another key")
        .to_string();
    assert!(
        e.contains("is not the key of this database") && e.contains("same secret.key"),
        "{e}"
    );
    std::fs::write(&key, "not a key\n").unwrap();
    let e = mamori_center::start(config(&dir, &db))
        .await
        .err()
        .expect("no start with a damaged key")
        .to_string();
    assert!(e.contains("64 hexadecimal digits"), "{e}");

    // The key restored: the center starts and TOTP sign-in works as before (on the
    // test's clock, which the first center's sign-ins moved on).
    std::fs::rename(&backup, &key).unwrap();
    let running = mamori_center::start_with_clock(config(&dir, &db), c.clock.clone())
        .await
        .unwrap();
    let base = format!("http://{}", running.addr);
    assert_eq!(
        login(&base, "admin@provider.example.jp", &c.code(&admin_secret)).await,
        StatusCode::OK
    );
    if backend == Backend::Postgres {
        // A second center process with a data directory of its own needs the same key.
        let other = tempfile::tempdir().unwrap();
        let e = mamori_center::start(config(other.path(), &db))
            .await
            .err()
            .expect("a second center without the key")
            .to_string();
        assert!(e.contains("same secret.key"), "{e}");
        c.share_secret_key(other.path());
        let second = mamori_center::start_with_clock(config(other.path(), &db), c.clock.clone())
            .await
            .unwrap();
        assert_eq!(
            login(
                &format!("http://{}", second.addr),
                "admin@provider.example.jp",
                &c.code(&admin_secret)
            )
            .await,
            StatusCode::OK
        );
        second.stop().await.unwrap();
    }
    running.stop().await.unwrap();
    c.stop().await;
}
