//! The agent channel end to end, with real processes and real TLS on the netns testbed:
//! the real `mamori center` in the center namespace (agent listener on 198.51.100.50),
//! a real `mamori agent run` in the gateway namespace. Configuration is drafted,
//! approved (four eyes) and published through the center's revision use cases on the
//! same database; everything the agent does is seen through the center's store and
//! through traffic across the gateway.

// Needs network namespaces, nft and the testbed's tools, as root: only with `external`.
#![cfg(feature = "external")]

mod agent_support;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use agent_support::*;
use mamori_api::settings::GatewaySettings;
use mamori_center::app::{App, Settings};
use mamori_center::domain::{Actor, CustomerId, EquipmentId, Role, Scope, SiteId, UserId};
use mamori_center::gateways::inventory::{EquipmentState, Move};
use mamori_center::gateways::revisions::Draft;
use mamori_center::store::Store;
use xtask::testbed::{Host, Probe, Testbed, addr};

const T: Duration = Duration::from_millis(1500);
const AGENT_PORT: u16 = 7443;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// `mamori center` inside the center namespace; killed on drop.
struct CenterProc {
    child: Child,
}

impl CenterProc {
    fn start(tb: &Testbed, data: &Path) -> CenterProc {
        let mut cmd = tb.command(Host::Center, MAMORI);
        cmd.args([
            "center",
            "--data-dir",
            data.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .env(
            "MAMORI_AGENT_LISTEN",
            format!("{}:{AGENT_PORT}", addr::CENTER),
        )
        .env("MAMORI_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
        let mut child = cmd.spawn().unwrap();
        // The first line is printed once both listeners are up.
        use std::io::BufRead;
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        out.read_line(&mut first).unwrap();
        assert!(first.contains("http://"), "center did not start: {first:?}");
        // Keep reading, so the center never writes into a closed pipe.
        std::thread::spawn(move || {
            let mut sink = String::new();
            while out.read_line(&mut sink).is_ok_and(|n| n > 0) {
                sink.clear();
            }
        });
        CenterProc { child }
    }
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for CenterProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct World {
    app: App,
    operator: Actor,
    admin: Actor,
    site: i64,
    customer: i64,
}

fn actor(id: i64, label: &str, role: Role) -> Actor {
    Actor {
        user_id: UserId::new(id),
        label: label.into(),
        role,
        customer_id: None,
        source: "test".into(),
        locale: None,
    }
}

async fn world(data: &Path) -> World {
    let url = format!("sqlite://{}", data.join("center.db").display());
    // The running center's key: the officer's setup link carries a TOTP secret.
    let key = mamori_center::secrets::read_key_file(data)
        .unwrap()
        .expect("the center made secret.key");
    let store = Store::open(&url, 4).await.unwrap().with_secret_key(key);
    let app = App {
        store: store.clone(),
        settings: Settings::default(),
    };
    let mut tx = store.begin().await.unwrap();
    let op = tx
        .insert_user(None, "op@provider.example.jp", "Op", Role::Operator, now())
        .await
        .unwrap();
    let ad = tx
        .insert_user(
            None,
            "admin@provider.example.jp",
            "Admin",
            Role::Admin,
            now(),
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let operator = actor(op.get(), "op@provider.example.jp", Role::Operator);
    let admin = actor(ad.get(), "admin@provider.example.jp", Role::Admin);
    let (cust, _, _) = app
        .customers()
        .create(&admin, "Alpha", "o@alpha.example.jp", "Officer", now())
        .await
        .unwrap();
    let site = app
        .sites()
        .create(&admin, cust.id, "HQ", "Tokyo", now())
        .await
        .unwrap();
    World {
        app,
        operator,
        admin,
        site: site.id.get(),
        customer: cust.id.get(),
    }
}

impl World {
    /// A unit lent and installed at the site, and an enrolment token for it.
    async fn unit(&self, serial: &str) -> (i64, String) {
        let u = self
            .app
            .inventory()
            .stock(&self.admin, serial, "MG-100", now())
            .await
            .unwrap();
        for m in [
            Move {
                to: EquipmentState::Lent,
                customer_id: Some(CustomerId::new(self.customer)),
                site_id: None,
            },
            Move {
                to: EquipmentState::Installed,
                customer_id: None,
                site_id: Some(SiteId::new(self.site)),
            },
        ] {
            self.app
                .inventory()
                .apply_move(&self.admin, u.id, m, "test", now())
                .await
                .unwrap();
        }
        // The token carries the CA fingerprint once the agent listener has recorded it.
        let (token, _) = self
            .app
            .enrolment()
            .create_token(&self.admin, SiteId::new(self.site), u.id, 600_000, now())
            .await
            .unwrap();
        assert!(token.contains('.'), "token without CA fingerprint: {token}");
        (u.id.get(), token)
    }

    /// Drafts (operator), approves (admin: four eyes) and publishes a configuration.
    async fn publish(&self, policy: &str, settings: GatewaySettings, reason: &str) -> i64 {
        let r = self
            .app
            .revisions()
            .draft(
                &self.operator,
                SiteId::new(self.site),
                Draft {
                    policy_text: policy.into(),
                    settings,
                    reason: reason.into(),
                    instruction_id: None,
                },
                now(),
            )
            .await
            .unwrap();
        self.app
            .revisions()
            .review(
                &self.admin,
                SiteId::new(self.site),
                r.number,
                true,
                "ok",
                true,
                now(),
            )
            .await
            .unwrap();
        let p = self
            .app
            .revisions()
            .publish(&self.admin, SiteId::new(self.site), r.number, now())
            .await
            .unwrap();
        p.generation.unwrap()
    }

    async fn status(&self, unit: i64) -> Option<mamori_center::gateways::reconcile::AgentStatus> {
        self.app
            .store
            .agent_status(Scope::All, EquipmentId::new(unit))
            .await
            .unwrap()
    }

    async fn reports(&self, unit: i64) -> Vec<mamori_center::gateways::reconcile::StoredReport> {
        self.app
            .store
            .agent_reports(Scope::All, EquipmentId::new(unit), 1000)
            .await
            .unwrap()
    }

    /// The audit log (up to 100,000 entries).
    async fn audit(&self) -> Vec<mamori_center::audit::Entry> {
        self.app
            .store
            .audit_entries(Scope::All, None, 100_000)
            .await
            .unwrap()
    }
}

fn settings() -> GatewaySettings {
    serde_json::from_value(serde_json::json!({
        "syslog": {"host": "198.51.100.2", "protocol": "udp"},
        "ntp": ["198.51.100.2"],
        "dns": ["198.51.100.2"]
    }))
    .unwrap()
}

/// A policy whose source NAT on the WAN rewrites the gateway's own connections to an
/// address nobody has: the agent can no longer reach the center.
fn cutting_policy() -> String {
    format!(
        "{}\n[[nat.snat]]\nzone = \"wan\"\nsource = \"{}\"\nto = \"198.51.100.99\"\n",
        gateway_policy(addr::CENTER),
        addr::GW_WAN
    )
}

/// How `mamori agent run` gets its enrolment token, if it needs one.
#[derive(Clone, Copy)]
enum Token<'a> {
    /// Already enrolled.
    None,
    /// In a file only its owner reads (`--token-file`).
    File(&'a str),
    /// In the environment (`MAMORI_AGENT_TOKEN`).
    Env(&'a str),
}

fn spawn_agent(tb: &Testbed, state: &Path, conf: &Path, token: Token) -> u32 {
    spawn_agent_with(tb, state, conf, token, &[])
}

fn spawn_agent_with(tb: &Testbed, state: &Path, conf: &Path, token: Token, extra: &[&str]) -> u32 {
    let center = format!("https://{}:{AGENT_PORT}", addr::CENTER);
    let file = state.with_extension("token");
    let env = match token {
        Token::Env(t) => format!("MAMORI_AGENT_TOKEN={t}"),
        _ => String::new(),
    };
    let mut args = vec![];
    if let Token::Env(_) = token {
        args.extend(["env", env.as_str()]);
    }
    args.extend([
        MAMORI,
        "agent",
        "run",
        "--state-dir",
        state.to_str().unwrap(),
        "--settings-dir",
        conf.to_str().unwrap(),
        "--confirm-within",
        "5s",
        "--poll-wait",
        "2s",
        "--drift-interval",
        "1s",
    ]);
    args.extend(extra);
    match token {
        Token::None => {}
        Token::File(t) => {
            use std::os::unix::fs::PermissionsExt;
            std::fs::write(&file, format!("{t}\n")).unwrap();
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
            args.extend(["--center", &center, "--token-file", file.to_str().unwrap()]);
        }
        Token::Env(_) => args.extend(["--center", &center]),
    }
    tb.spawn(Host::Gw, &args).unwrap()
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// Polls an async condition every 200 ms for up to `limit`.
async fn until<F, Fut>(limit: Duration, what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !f().await {
        if start.elapsed() > limit {
            let logs: Vec<String> = std::fs::read_dir(LOGS.get().unwrap())
                .unwrap()
                .flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "err"))
                .map(|e| {
                    format!(
                        "{}:\n{}",
                        e.path().display(),
                        std::fs::read_to_string(e.path()).unwrap_or_default()
                    )
                })
                .collect();
            panic!("timed out waiting: {what}\n{}", logs.join("\n"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

static LOGS: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

fn echo_ok(tb: &Testbed, port: u16) -> bool {
    tb.probe(Host::Lan, "tcp", None, 0, addr::WAN_SERVER, port, T)
        .unwrap()
        .is_reply()
}

#[test]
fn enrol_publish_apply_roll_back_drift_outage_crash_replacement_and_older_generation() {
    let tb = Testbed::up().unwrap();
    LOGS.set(tb.dir().to_path_buf()).unwrap();
    let data = tb.dir().join("center");
    std::fs::create_dir_all(&data).unwrap();
    let center = CenterProc::start(&tb, &data);
    block_on(async {
        let w = world(&data).await;
        let _o = tb.observer(Host::Wan, "0.0.0.0", 7000).unwrap();
        let _o2 = tb.observer(Host::Wan, "0.0.0.0", 7002).unwrap();
        let (unit, token) = w.unit("SN-A1").await;
        let g1 = w
            .publish(&gateway_policy(addr::CENTER), settings(), "initial")
            .await;
        assert_eq!(g1, 1);

        // Enrol (the token in the environment) and apply: traffic proves the ruleset,
        // the settings are written.
        let state = tb.dir().join("agent-a");
        let conf = tb.dir().join("conf-a");
        let agent = spawn_agent(&tb, &state, &conf, Token::Env(&token));
        until(Duration::from_secs(60), "generation 1 applied", || async {
            w.status(unit)
                .await
                .is_some_and(|s| s.applied_generation == 1)
        })
        .await;
        assert!(
            echo_ok(&tb, 7000),
            "LAN to WAN 7000 is allowed by generation 1"
        );
        assert_eq!(
            tb.probe(Host::Lan, "tcp", None, 0, addr::WAN_SERVER, 7002, T)
                .unwrap(),
            Probe::Timeout,
            "7002 is dropped"
        );
        let resolv = std::fs::read_to_string(conf.join("resolv.conf")).unwrap();
        assert!(resolv.contains("nameserver 198.51.100.2"), "{resolv}");
        let key_mode = {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(state.join("key.pem"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(key_mode, 0o600);

        // A replayed token is refused, and recorded.
        let out = mamori(
            &tb,
            &[
                "agent",
                "enrol",
                "--center",
                &format!("https://{}:{AGENT_PORT}", addr::CENTER),
                "--token",
                &token,
                "--state-dir",
                tb.dir().join("replay").to_str().unwrap(),
            ],
        );
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("already used"), "{err}");

        // A generation that cuts the agent's path to the center is rolled back by the
        // agent within the window, and the center shows why.
        let g2 = w.publish(&cutting_policy(), settings(), "cut").await;
        let t0 = Instant::now();
        until(
            Duration::from_secs(40),
            "generation 2 rolled back",
            || async {
                w.status(unit).await.is_some_and(|s| {
                    s.apply_state == "rolled_back" && s.apply_generation == Some(g2)
                })
            },
        )
        .await;
        let s = w.status(unit).await.unwrap();
        assert_eq!(s.applied_generation, 1);
        let why = s.apply_error.unwrap();
        assert!(why.contains("could not be reached"), "{why}");
        println!(
            "rollback of a path-cutting generation seen at the center after {} ms (window 5000 ms)",
            t0.elapsed().as_millis()
        );
        assert!(
            !live(&tb).contains("198.51.100.99"),
            "the cutting ruleset is gone"
        );
        assert!(echo_ok(&tb, 7000));

        // Drift: a rule removed by hand is reported and put back.
        tb.run_ok(
            Host::Gw,
            &["nft", "flush", "chain", "inet", "mamori", "forward"],
        )
        .unwrap();
        until(
            Duration::from_secs(30),
            "drift reported and restored",
            || async {
                let r = w.reports(unit).await;
                r.iter().any(|r| r.kind == "drift") && r.iter().any(|r| r.kind == "drift_restored")
            },
        )
        .await;
        assert!(echo_ok(&tb, 7000), "the forward rules are back");

        // The center stops: the agent keeps enforcing and queues what it sees; when the
        // center is back every report arrives once.
        center.kill();
        // A copy of the center's database as it is now (generations 1 and 2), restored
        // at the end like a backup.
        let backup = tb.dir().join("backup");
        std::fs::create_dir_all(&backup).unwrap();
        for f in ["center.db", "center.db-wal", "center.db-shm"] {
            if data.join(f).exists() {
                std::fs::copy(data.join(f), backup.join(f)).unwrap();
            }
        }
        let drift_before = w
            .reports(unit)
            .await
            .iter()
            .filter(|r| r.kind == "drift")
            .count();
        for _ in 0..2 {
            tb.run_ok(
                Host::Gw,
                &["nft", "flush", "chain", "inet", "mamori", "forward"],
            )
            .unwrap();
            assert!(eventually(Duration::from_secs(20), || echo_ok(&tb, 7000)));
        }
        let queued: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(state.join("reconcile.json")).unwrap())
                .unwrap();
        let queued = queued["queue"]["reports"].as_array().unwrap().len();
        assert!(
            queued >= 4,
            "two drifts and two restores queued, got {queued}"
        );
        let center = CenterProc::start(&tb, &data);
        until(
            Duration::from_secs(40),
            "queued reports delivered",
            || async {
                let s: serde_json::Value = serde_json::from_str(
                    &std::fs::read_to_string(state.join("reconcile.json")).unwrap(),
                )
                .unwrap();
                s["queue"]["reports"].as_array().unwrap().is_empty()
            },
        )
        .await;
        let reports = w.reports(unit).await;
        let drift_after = reports.iter().filter(|r| r.kind == "drift").count();
        assert_eq!(drift_after, drift_before + 2, "each drift arrives once");
        let mut ids: Vec<&str> = reports.iter().map(|r| r.report_id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), reports.len());
        // Each stored report is in the audit log once.
        let audit = w.audit().await;
        let audited_drifts = audit.iter().filter(|e| e.action == "agent.drift").count();
        assert_eq!(audited_drifts, drift_after);
        assert!(
            audit.iter().any(|e| e.action == "agent.enrol"
                && e.outcome == "refused"
                && e.detail.contains("already used")),
            "the replayed token is recorded"
        );

        // kill -9 in the middle of an apply (pending, waiting for its proof), then a
        // restart: the last good ruleset and generation, and the interruption reported.
        let g3 = w.publish(&cutting_policy(), settings(), "cut again").await;
        let pending = eventually(Duration::from_secs(30), || {
            std::fs::read_to_string(state.join("reconcile.json"))
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                .is_some_and(|v| !v["safe"]["pending"].is_null())
        });
        assert!(pending, "the agent started applying generation {g3}");
        tb.kill(agent).unwrap();
        assert!(
            live(&tb).contains("198.51.100.99"),
            "killed with the new ruleset live"
        );
        let agent = spawn_agent(&tb, &state, &conf, Token::None);
        until(
            Duration::from_secs(40),
            "interrupted apply reported",
            || async {
                w.reports(unit).await.iter().any(|r| {
                    r.kind == "rolled_back" && r.detail.contains("stopped during the apply")
                })
            },
        )
        .await;
        // After the restart the interrupted generation is tried once more, and rolled
        // back by the agent again.
        until(
            Duration::from_secs(40),
            "generation 3 rolled back again",
            || async {
                w.reports(unit)
                    .await
                    .iter()
                    .filter(|r| r.kind == "rolled_back" && r.generation == g3)
                    .count()
                    == 2
            },
        )
        .await;
        let s = w.status(unit).await.unwrap();
        assert_eq!((s.applied_generation, s.apply_generation), (1, Some(g3)));
        let saved: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(state.join("reconcile.json")).unwrap())
                .unwrap();
        assert!(saved["safe"]["pending"].is_null());
        assert!(!live(&tb).contains("198.51.100.99"));
        assert!(echo_ok(&tb, 7000));

        // A good generation after that is applied.
        let open =
            gateway_policy(addr::CENTER).replace("\"tcp/7000\"", "\"tcp/7000\", \"tcp/7002\"");
        let g4 = w.publish(&open, settings(), "open 7002").await;
        until(Duration::from_secs(40), "generation 4 applied", || async {
            w.status(unit)
                .await
                .is_some_and(|s| s.applied_generation == g4)
        })
        .await;
        assert!(echo_ok(&tb, 7002), "generation 4 lets 7002 through");

        // Replacement: the unit fails (its certificate is revoked), a spare is enrolled
        // for the site (the token in a file) and enforces the site's generation by
        // itself. The failed unit's installation has ended: its status is not shown.
        w.app
            .inventory()
            .apply_move(
                &w.admin,
                EquipmentId::new(unit),
                Move {
                    to: EquipmentState::Failed,
                    customer_id: None,
                    site_id: None,
                },
                "RMA",
                now(),
            )
            .await
            .unwrap();
        let old_log = eventually(Duration::from_secs(20), || {
            tb.stderr_of(agent).contains("revoked")
        });
        assert!(
            old_log,
            "the failed unit's agent is refused: {}",
            tb.stderr_of(agent)
        );
        assert!(
            tb.stderr_of(agent).contains("401"),
            "{}",
            tb.stderr_of(agent)
        );
        assert_eq!(
            w.status(unit).await,
            None,
            "the ended installation is not shown"
        );
        tb.kill(agent).unwrap();
        tb.run_ok(Host::Gw, &["nft", "delete", "table", "inet", "mamori"])
            .unwrap();
        let (spare, spare_token) = w.unit("SN-A2").await;
        let spare_state = tb.dir().join("agent-b");
        let started = Instant::now();
        let spare_agent = spawn_agent(
            &tb,
            &spare_state,
            &tb.dir().join("conf-b"),
            Token::File(&spare_token),
        );
        until(
            Duration::from_secs(60),
            "the spare enforces the site's generation",
            || async {
                w.status(spare)
                    .await
                    .is_some_and(|s| s.applied_generation == g4)
            },
        )
        .await;
        let enforce = {
            let s = w.status(spare).await.unwrap();
            s.apply_at.unwrap()
        };
        println!(
            "replacement: spare enrolled and enforcing generation {g4} {} ms after its agent started (applied at {enforce})",
            started.elapsed().as_millis()
        );
        assert!(echo_ok(&tb, 7002));
        let audit = w.audit().await;
        assert!(
            audit.iter().any(|e| e.action == "agent.request"
                && e.outcome == "refused"
                && e.detail.contains("revoked")),
            "the failed unit's revoked certificate is refused and recorded"
        );

        // Renewal: the spare restarts with a renewal window just longer than what is
        // left of its certificate (but shorter than a fresh one's), so it renews; the
        // center revokes the old certificate and the agent goes on with the new one.
        tb.kill(spare_agent).unwrap();
        std::thread::sleep(Duration::from_secs(3));
        let certs = w
            .app
            .store
            .agent_certs_of(Scope::All, EquipmentId::new(spare))
            .await
            .unwrap();
        assert_eq!(certs.len(), 1, "one certificate before renewal: {certs:?}");
        let left_s = (certs[0].not_after - now()) / 1000;
        let window = format!("{}s", left_s + 1);
        let renewing = now();
        let spare_agent = spawn_agent_with(
            &tb,
            &spare_state,
            &tb.dir().join("conf-b"),
            Token::None,
            &["--renew-before", &window],
        );
        until(
            Duration::from_secs(40),
            "the spare renews its certificate",
            || async {
                let c = w
                    .app
                    .store
                    .agent_certs_of(Scope::All, EquipmentId::new(spare))
                    .await
                    .unwrap();
                c.len() >= 2 && c.iter().filter(|c| c.revoked_at.is_none()).count() == 1
            },
        )
        .await;
        let certs = w
            .app
            .store
            .agent_certs_of(Scope::All, EquipmentId::new(spare))
            .await
            .unwrap();
        let old = certs.iter().find(|c| c.revoked_at.is_some()).unwrap();
        assert_eq!(old.revoked_reason.as_deref(), Some("renewed"), "{certs:?}");
        let fresh = certs.iter().find(|c| c.revoked_at.is_none()).unwrap();
        assert!(fresh.not_after > old.not_after, "{certs:?}");
        until(
            Duration::from_secs(40),
            "the spare talks to the center with its new certificate",
            || async {
                w.status(spare)
                    .await
                    .is_some_and(|s| s.last_contact > renewing)
            },
        )
        .await;
        let log = tb.stderr_of(spare_agent);
        assert!(log.contains("certificate renewed"), "{log}");
        assert!(!log.contains("renewal failed"), "{log}");
        // The window stays fixed while time passes, so the agent may renew again; each
        // renewal revokes the certificate it replaces, and one stays valid.
        let certs = w
            .app
            .store
            .agent_certs_of(Scope::All, EquipmentId::new(spare))
            .await
            .unwrap();
        assert_eq!(
            certs.iter().filter(|c| c.revoked_at.is_none()).count(),
            1,
            "{certs:?}"
        );
        assert!(
            certs
                .iter()
                .filter(|c| c.revoked_at.is_some())
                .all(|c| c.revoked_reason.as_deref() == Some("renewed")),
            "{certs:?}"
        );

        // The center's database is restored from the older copy: its newest generation
        // (2) is older than the one the gateway runs (4). The agent refuses it, keeps
        // enforcing 4, and the refusal is recorded.
        tb.kill(spare_agent).unwrap();
        center.kill();
        w.app.store.close().await;
        for f in ["center.db", "center.db-wal", "center.db-shm"] {
            let _ = std::fs::remove_file(data.join(f));
            if backup.join(f).exists() {
                std::fs::copy(backup.join(f), data.join(f)).unwrap();
            }
        }
        // A deliberate restore: the restored chain no longer reaches the signed checkpoint
        // of its head, so the operator moves the checkpoint aside, as the center's refusal
        // to start says.
        std::fs::rename(
            data.join(mamori_center::audit_head::CHECKPOINT_FILE),
            data.join("audit-head.json.before-restore"),
        )
        .unwrap();
        let center = CenterProc::start(&tb, &data);
        let store = Store::open(&format!("sqlite://{}", data.join("center.db").display()), 2)
            .await
            .unwrap();
        let _agent = spawn_agent(&tb, &state, &conf, Token::None);
        until(
            Duration::from_secs(40),
            "the older generation refused",
            || async {
                store
                    .agent_status(Scope::All, EquipmentId::new(unit))
                    .await
                    .unwrap()
                    .is_some_and(|s| s.apply_state == "refused" && s.apply_generation == Some(2))
            },
        )
        .await;
        let s = store
            .agent_status(Scope::All, EquipmentId::new(unit))
            .await
            .unwrap()
            .unwrap();
        assert!(
            s.apply_error
                .unwrap()
                .contains("older than the applied generation 4")
        );
        assert!(
            echo_ok(&tb, 7002),
            "the gateway keeps enforcing generation 4"
        );
        let audit = store
            .audit_entries(Scope::All, None, 100_000)
            .await
            .unwrap();
        assert!(
            audit
                .iter()
                .any(|e| e.action == "agent.refused" && e.outcome == "refused")
        );
        drop(center);
    });
}
