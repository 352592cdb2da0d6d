//! A unit's agent channel across its moves, with real mutual TLS on loopback, on SQLite
//! and a real PostgreSQL. Each scenario performs the attack:
//! - customer A's unit fails, comes back and is lent to customer B: B's fleet view,
//!   fleet API and unit page never show A's apply error or drift, before and after B's
//!   own agent reports;
//! - an enrolment token made for the unit at A's site no longer enrols after the unit
//!   moved (even with its revocation undone in the database), and a token can only be
//!   made for the site where the unit is installed;
//! - a unit moved to another site of the same customer: its certificate is refused, a
//!   long-poll waiting with it ends at once with 401, and the fleet never compares the
//!   old agent's generation with the new site's; a disconnected unit's certificate is
//!   refused too;
//! - the same long-poll on a second center process sharing the PostgreSQL database
//!   ends at once when the move is made through the first one;
//! - a database from before migration 42: certificates, tokens and statuses of a unit
//!   that has moved since are neither honoured nor shown.

mod gateways_support;
mod support;

use std::time::{Duration, Instant};

use gateways_support::{OFFICE_NETWORK, agent_call, enrolment_token, moved, panel, site, stock};
use mamori_api::agent::FleetAppliance;
use mamori_api::revisions::Revision;
use mamori_center::domain::Scope;
use mamori_center::domain::{CustomerId, EquipmentId, SiteId};
use mamori_center::store::Store;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Backend, Center, ok, pg::PgCluster};

both_backends!(
    a_unit_lent_to_another_customer_shows_none_of_the_former_customers_status,
    tokens_die_with_a_move_and_are_made_only_where_the_unit_is_installed,
    a_move_to_another_site_revokes_the_certificate_and_ends_the_long_poll,
    migration_42_retires_what_belongs_to_an_earlier_installation,
);

/// The agent's side: where its center listens, the CA, its certificate and key.
#[derive(Clone)]
struct Agent {
    port: u16,
    ca: String,
    cert: String,
    key: String,
}

async fn call(a: &Agent, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    agent_call(
        a.port,
        &a.ca,
        Some((a.cert.as_str(), a.key.as_str())),
        method,
        path,
        body,
    )
    .await
    .unwrap()
}

/// Enrols with `token` over the agent listener; the answer, and the agent when it
/// enrolled.
async fn enrol(port: u16, ca: &str, token: &str) -> ((u16, Value), Option<Agent>) {
    let (key, csr) = mamori_center::ca::new_key_and_csr().unwrap();
    let (s, v) = agent_call(
        port,
        ca,
        None,
        "POST",
        "/agent/v1/enrol",
        Some(json!({"token": token, "csr_pem": csr})),
    )
    .await
    .unwrap();
    let agent = (s == 200).then(|| Agent {
        port,
        ca: ca.to_string(),
        cert: v["cert_pem"].as_str().unwrap().to_string(),
        key,
    });
    ((s, v), agent)
}

/// The agent listener of a center started with one: (port, CA PEM).
fn listener(c: &Center) -> (u16, String) {
    let l = c.running.as_ref().unwrap().agent.as_ref().unwrap();
    (l.addr.port(), l.ca_pem.clone())
}

struct People {
    admin: String,
    coord: String,
    op: String,
}

async fn people(c: &Center) -> People {
    let admin = c.admin().await;
    let coord = c.provider_user(&admin, "coordinator").await;
    let op = c.provider_user(&admin, "operator").await;
    People { admin, coord, op }
}

/// Drafts (coordinator), approves and publishes (operator) a configuration for `site`;
/// its generation.
async fn publish(c: &Center, p: &People, site: i64, comment: &str) -> i64 {
    let policy = format!(
        "{OFFICE_NETWORK}\n# {comment}\n[[rules]]\nname = \"out\"\nfrom = \"lan\"\nto = \"wan\"\nservice = \"tcp/443\"\naction = \"accept\"\n"
    );
    let v: Revision = ok(
        StatusCode::CREATED,
        c.post(
            &format!("/api/v1/sites/{site}/revisions"),
            &p.coord,
            json!({"policy_text": policy, "settings": {}, "reason": comment}),
        )
        .await,
    );
    let n = v.number;
    let mut published = None;
    for step in ["approve", "publish"] {
        let v: Revision = ok(
            StatusCode::OK,
            c.post(
                &format!("/api/v1/sites/{site}/revisions/{n}/{step}"),
                &p.op,
                json!({}),
            )
            .await,
        );
        published = v.generation;
    }
    published.expect("a published revision has a generation")
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn report(kind: &str, generation: i64, detail: &str) -> Value {
    let id = uuid();
    json!({"report_id": id, "kind": kind, "generation": generation, "detail": detail, "at": now()})
}

/// A fresh UUID v4 text (random enough for report ids in a test).
fn uuid() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let t = now() as u64;
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (t >> 16) as u32,
        (t & 0xffff) as u16,
        n & 0xfff,
        (n >> 12) & 0xfff,
        (std::process::id() as u64) << 16 | (n & 0xffff)
    )
}

/// The row of unit `unit` in a fleet answer (read as `mamori_api` types).
fn fleet_row(v: &Value, unit: i64) -> Option<FleetAppliance> {
    let rows: Vec<FleetAppliance> = ok(StatusCode::OK, (StatusCode::OK, v.clone()));
    rows.into_iter().find(|r| r.equipment_id == unit)
}

const A_ERROR: &str = "A-ONLY: route to 10.20.30.40 (alpha-core) unreachable";
const A_DRIFT: &str = "A-ONLY: 3 rule(s) missing in chain alpha_dmz";

/// A's unit fails, is returned and lent to B, installed at B's site: neither B's fleet
/// (API and panel) nor B's unit page show A's apply error or drift, before B's agent
/// speaks and after it reports; A's old agent cannot report any more.
async fn a_unit_lent_to_another_customer_shows_none_of_the_former_customers_status(
    backend: Backend,
) {
    let c = Center::start_with(backend, |cfg| cfg.agent_listen = "127.0.0.1:0".into()).await;
    let (port, ca) = listener(&c);
    let p = people(&c).await;
    let (alpha, alpha_officer, _) = c.customer(&p.admin, "Alpha").await;
    let (beta, beta_officer, _) = c.customer(&p.admin, "Beta").await;
    let site_a = site(&c, &p.admin, alpha, "Alpha HQ").await;
    let site_b = site(&c, &p.admin, beta, "Beta HQ").await;
    let unit = stock(&c, &p.admin, "SN-MOVE-1").await;
    moved(
        &c,
        &p.op,
        unit,
        [
            json!({"to": "lent", "customer_id": alpha}),
            json!({"to": "installed", "site_id": site_a}),
        ],
    )
    .await;
    let token = enrolment_token(&c, &p.op, site_a, unit).await;
    let (_, a) = enrol(port, &ca, &token).await;
    let a = a.expect("A's agent enrols");
    let ga = publish(&c, &p, site_a, "alpha").await;
    let (s, v) = call(
        &a,
        "POST",
        "/agent/v1/reports",
        Some(json!({"reports": [
            report("applied", ga, "applied"),
            report("rolled_back", ga, A_ERROR),
            report("drift", ga, A_DRIFT),
        ]})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (_, v) = c.get("/api/v1/fleet", &alpha_officer).await;
    let row = fleet_row(&v, unit).expect("A sees its unit");
    assert_eq!(
        row.drift.as_deref(),
        Some(A_DRIFT),
        "A sees its own drift: {row:?}"
    );

    // The unit fails, comes back, goes to B and is installed at B's site.
    moved(
        &c,
        &p.op,
        unit,
        [
            json!({"to": "failed"}),
            json!({"to": "returned"}),
            json!({"to": "in_stock"}),
            json!({"to": "lent", "customer_id": beta}),
            json!({"to": "installed", "site_id": site_b}),
        ],
    )
    .await;
    let gb = publish(&c, &p, site_b, "beta").await;

    // B sees its unit, never seen by an agent of its own, and nothing of A's.
    let leaks = |text: &str| text.contains("A-ONLY") || text.contains("alpha");
    let (s, v) = c.get("/api/v1/fleet", &beta_officer).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let row = fleet_row(&v, unit).expect("B sees its unit");
    assert!(!leaks(&v.to_string()), "B's fleet shows A's status: {v}");
    assert_eq!(row.state, "never_seen", "{row:?}");
    assert_eq!(
        (&row.apply_error, &row.drift, &row.applied_generation),
        (&None, &None, &None),
        "{row:?}"
    );
    for lang in ["ja", "en"] {
        let (s, html) = panel(&c, &beta_officer, "/fleet", lang).await;
        assert_eq!(s, StatusCode::OK);
        assert!(html.contains("SN-MOVE-1"), "{html}");
        assert!(!leaks(&html), "B's fleet page shows A's status: {html}");
        let (s, html) = panel(&c, &beta_officer, &format!("/equipment/{unit}"), lang).await;
        assert_eq!(s, StatusCode::OK);
        assert!(!leaks(&html), "B's unit page shows A's status: {html}");
    }
    // Staff see the new installation fresh too.
    let (_, v) = c.get("/api/v1/fleet", &p.admin).await;
    assert_eq!(fleet_row(&v, unit).unwrap().state, "never_seen");

    // A's old agent is refused and can write nothing into B's fleet.
    let (s, _) = call(
        &a,
        "POST",
        "/agent/v1/reports",
        Some(json!({"reports": [report("drift", ga, A_DRIFT)]})),
    )
    .await;
    assert_eq!(s, 401);
    let (s, _) = call(&a, "GET", "/agent/v1/desired?after=0&wait=0", None).await;
    assert_eq!(s, 401);

    // B's own agent enrols and reports: B's status starts fresh, without A's drift.
    let token = enrolment_token(&c, &p.op, site_b, unit).await;
    let (_, b) = enrol(port, &ca, &token).await;
    let b = b.expect("B's agent enrols");
    let (s, v) = call(&b, "GET", "/agent/v1/desired?after=0&wait=0", None).await;
    assert_eq!((s, v["generation"].as_i64()), (200, Some(gb)), "{v}");
    assert!(
        !leaks(&v.to_string()),
        "B's agent gets A's configuration: {v}"
    );
    let (s, _) = call(
        &b,
        "POST",
        "/agent/v1/reports",
        Some(json!({"reports": [report("applied", gb, "applied")]})),
    )
    .await;
    assert_eq!(s, 200);
    let (_, v) = c.get("/api/v1/fleet", &beta_officer).await;
    let row = fleet_row(&v, unit).unwrap();
    assert!(!leaks(&v.to_string()), "B's fleet shows A's status: {v}");
    assert_eq!(row.state, "in_sync", "{row:?}");
    assert_eq!(row.applied_generation, Some(gb));
    for lang in ["ja", "en"] {
        let (_, html) = panel(&c, &beta_officer, "/fleet", lang).await;
        assert!(!leaks(&html), "{html}");
        let (_, html) = panel(&c, &beta_officer, &format!("/equipment/{unit}"), lang).await;
        assert!(html.contains("id=\"agent\""), "B's agent is shown: {html}");
        assert!(!leaks(&html), "B's unit page shows A's status: {html}");
    }
    let status = c
        .store()
        .agent_status(Scope::All, EquipmentId::new(unit))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (status.customer_id, status.site_id),
        (CustomerId::new(beta), SiteId::new(site_b))
    );
    assert_eq!((status.apply_error, status.drift), (None, None));
    c.stop().await;
}

/// Tokens belong to where the unit is installed: a move revokes them, enrolment checks
/// the unit's placement again, and no token is made for another site.
async fn tokens_die_with_a_move_and_are_made_only_where_the_unit_is_installed(backend: Backend) {
    let c = Center::start_with(backend, |cfg| {
        cfg.agent_listen = "127.0.0.1:0".into();
        cfg.connections.enrol_window_secs = 1;
    })
    .await;
    let (port, ca) = listener(&c);
    let p = people(&c).await;
    let (alpha, _, _) = c.customer(&p.admin, "Alpha").await;
    let (beta, _, _) = c.customer(&p.admin, "Beta").await;
    let site_a = site(&c, &p.admin, alpha, "Alpha HQ").await;
    let site_b = site(&c, &p.admin, beta, "Beta HQ").await;
    let site_b2 = site(&c, &p.admin, beta, "Beta Branch").await;
    let unit = stock(&c, &p.admin, "SN-TOKEN-1").await;
    moved(
        &c,
        &p.op,
        unit,
        [
            json!({"to": "lent", "customer_id": alpha}),
            json!({"to": "installed", "site_id": site_a}),
        ],
    )
    .await;
    let stale = enrolment_token(&c, &p.op, site_a, unit).await;
    moved(
        &c,
        &p.op,
        unit,
        [
            json!({"to": "failed"}),
            json!({"to": "returned"}),
            json!({"to": "in_stock"}),
            json!({"to": "lent", "customer_id": beta}),
            json!({"to": "installed", "site_id": site_b}),
        ],
    )
    .await;

    // A's token, made before the moves, does not enrol the unit now with B.
    let ((s, v), agent) = enrol(port, &ca, &stale).await;
    assert_eq!(s, 403, "A's token enrolled the unit now with B: {v}");
    assert!(agent.is_none());
    assert_eq!(
        v["error"],
        "the enrolment token was revoked: the unit was moved after it was made"
    );
    let certs = c
        .store()
        .agent_certs_of(Scope::All, EquipmentId::new(unit))
        .await
        .unwrap();
    assert!(certs.is_empty(), "{certs:?}");

    // No token for a site where the unit is not installed, even of the same customer,
    // in either language.
    let path = format!("/api/v1/sites/{site_b2}/enrolment-tokens");
    let (s, v) = c.post(&path, &p.op, json!({"equipment_id": unit})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        v["detail"]
            .as_str()
            .unwrap()
            .contains("not installed at this site; install it here first"),
        "{v}"
    );
    let r = c
        .client
        .post(format!("{}{path}", c.base))
        .bearer_auth(&p.op)
        .header("accept-language", "ja")
        .json(&json!({"equipment_id": unit}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let ja = r.text().await.unwrap();
    assert!(ja.contains("この拠点に設置されていません"), "{ja}");
    // Nor for A's site, where it was.
    let (s, _) = c
        .post(
            &format!("/api/v1/sites/{site_a}/enrolment-tokens"),
            &p.op,
            json!({"equipment_id": unit}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // A token that escaped its revocation (undone in the database) is still refused:
    // enrolment checks where the unit is now.
    let escaped = enrolment_token(&c, &p.op, site_b, unit).await;
    moved(
        &c,
        &p.op,
        unit,
        [
            json!({"to": "relocating"}),
            json!({"to": "installed", "site_id": site_b2}),
        ],
    )
    .await;
    c.store()
        .execute_raw("UPDATE enrolment_tokens SET revoked_at = NULL")
        .await
        .unwrap();
    let ((s, v), _) = enrol(port, &ca, &escaped).await;
    assert_eq!(s, 403, "a token of the former site enrolled: {v}");
    assert_eq!(
        v["error"],
        "the unit is no longer installed at the site and for the customer the enrolment token was made for"
    );
    // A token for where the unit is now enrols, for that site.
    let token = enrolment_token(&c, &p.op, site_b2, unit).await;
    let ((s, v), _) = enrol(port, &ca, &token).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["site_id"].as_i64(), Some(site_b2));
    // Each refusal is in the audit log: the first of the source's window at once, the
    // next one counted in the entry written when the (1 s) window ends.
    let mut audit = Vec::new();
    for _ in 0..50 {
        audit = c
            .store()
            .audit_entries(Scope::All, None, 10_000)
            .await
            .unwrap();
        let refused = audit
            .iter()
            .filter(|e| e.action == "agent.enrol" && e.outcome == "refused")
            .count();
        if refused >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let refused: Vec<&str> = audit
        .iter()
        .filter(|e| e.action == "agent.enrol" && e.outcome == "refused")
        .map(|e| e.detail.as_str())
        .collect();
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(
        refused.iter().any(|d| d.contains("revoked"))
            && refused.iter().any(|d| d.contains("no longer installed")),
        "{refused:?}"
    );
    assert!(
        audit
            .iter()
            .any(|e| e.action == "equipment.move" && e.detail.contains("tokens_revoked=1")),
        "the move records the tokens it revoked"
    );
    c.stop().await;
}

/// The unit moves to another site of the same customer while its agent long-polls: the
/// long-poll ends at once with 401, the certificate is refused from then on, and the
/// fleet does not show the new site "in sync" from the old agent's generation. A
/// disconnected unit's certificate is refused too.
async fn a_move_to_another_site_revokes_the_certificate_and_ends_the_long_poll(backend: Backend) {
    let c = Center::start_with(backend, |cfg| cfg.agent_listen = "127.0.0.1:0".into()).await;
    let (port, ca) = listener(&c);
    let p = people(&c).await;
    let (alpha, alpha_officer, _) = c.customer(&p.admin, "Alpha").await;
    let hq = site(&c, &p.admin, alpha, "HQ").await;
    let branch = site(&c, &p.admin, alpha, "Branch").await;
    let g_hq = publish(&c, &p, hq, "hq").await;
    let g_branch = publish(&c, &p, branch, "branch").await;
    assert_eq!(g_hq, g_branch, "both sites are at generation {g_hq}");
    let unit = stock(&c, &p.admin, "SN-RELOC-1").await;
    moved(
        &c,
        &p.op,
        unit,
        [
            json!({"to": "lent", "customer_id": alpha}),
            json!({"to": "installed", "site_id": hq}),
        ],
    )
    .await;
    let token = enrolment_token(&c, &p.op, hq, unit).await;
    let (_, a) = enrol(port, &ca, &token).await;
    let a = a.unwrap();
    let (s, _) = call(
        &a,
        "POST",
        "/agent/v1/reports",
        Some(json!({"reports": [report("applied", g_hq, "")]})),
    )
    .await;
    assert_eq!(s, 200);

    // The agent waits for news of HQ; the unit is moved to the branch meanwhile.
    let waiting = {
        let a = a.clone();
        tokio::spawn(async move {
            let t = Instant::now();
            let r = call(
                &a,
                "GET",
                &format!("/agent/v1/desired?after={g_hq}&wait=30"),
                None,
            )
            .await;
            (r, t.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(700)).await;
    let moved_at = Instant::now();
    moved(&c, &p.op, unit, [json!({"to": "relocating"})]).await;
    let ((s, v), took) = waiting.await.unwrap();
    println!(
        "a waiting long-poll ended {} ms after the move ({} ms after it started; wait 30 s)",
        moved_at.elapsed().as_millis(),
        took.as_millis()
    );
    assert_eq!(s, 401, "{v}");
    assert_eq!(v["error"], "the certificate was revoked: unit relocating");
    assert!(
        took < Duration::from_secs(15),
        "the long-poll ended with the revocation, not at the end of its wait ({took:?})"
    );
    moved(
        &c,
        &p.op,
        unit,
        [json!({"to": "installed", "site_id": branch})],
    )
    .await;
    // The old certificate cannot read or report anything.
    for (method, path, body) in [
        ("GET", "/agent/v1/whoami", None),
        ("GET", "/agent/v1/desired?after=0&wait=0", None),
        (
            "POST",
            "/agent/v1/reports",
            Some(json!({"reports": [report("applied", g_branch, "")]})),
        ),
    ] {
        let (s, v) = call(&a, method, path, body).await;
        assert_eq!(s, 401, "{method} {path}: {v}");
    }
    // The fleet does not take the old agent's generation for the branch's.
    let (_, v) = c.get("/api/v1/fleet", &alpha_officer).await;
    let row = fleet_row(&v, unit).unwrap();
    assert_eq!(row.site_id, branch);
    assert_eq!(row.state, "never_seen", "{row:?}");
    assert_eq!(row.applied_generation, None, "{row:?}");

    // Disconnection revokes too.
    let token = enrolment_token(&c, &p.op, branch, unit).await;
    let (_, b) = enrol(port, &ca, &token).await;
    let b = b.unwrap();
    assert_eq!(call(&b, "GET", "/agent/v1/whoami", None).await.0, 200);
    moved(&c, &p.op, unit, [json!({"to": "disconnected"})]).await;
    let (s, v) = call(&b, "GET", "/agent/v1/whoami", None).await;
    assert_eq!(s, 401, "{v}");
    assert_eq!(v["error"], "the certificate was revoked: unit disconnected");
    c.stop().await;
}

/// Two center processes on one PostgreSQL: an agent long-polls on the second, the unit
/// is moved through the first; the long-poll ends at once with 401.
#[cfg(feature = "external")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_centers_on_postgres_end_a_long_poll_when_the_other_revokes() {
    let shared = tempfile::tempdir().unwrap();
    let dir = shared.path().to_path_buf();
    let d = dir.clone();
    let c = Center::start_with(Backend::Postgres, move |cfg| {
        cfg.agent_listen = "127.0.0.1:0".into();
        cfg.data_dir = d;
    })
    .await;
    let p = people(&c).await;
    let other = mamori_center::start(mamori_center::config::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir,
        database_url: c.pg.as_ref().unwrap().url(),
        agent_listen: "127.0.0.1:0".into(),
        log: "warn".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    let (alpha, _, _) = c.customer(&p.admin, "Alpha").await;
    let hq = site(&c, &p.admin, alpha, "HQ").await;
    let branch = site(&c, &p.admin, alpha, "Branch").await;
    let g = publish(&c, &p, hq, "hq").await;
    let unit = stock(&c, &p.admin, "SN-TWO-1").await;
    moved(
        &c,
        &p.op,
        unit,
        [
            json!({"to": "lent", "customer_id": alpha}),
            json!({"to": "installed", "site_id": hq}),
        ],
    )
    .await;
    let token = enrolment_token(&c, &p.op, hq, unit).await;
    let (port, ca) = listener(&c);
    let (_, a) = enrol(port, &ca, &token).await;
    let a = Agent {
        port: other.agent.as_ref().unwrap().addr.port(),
        ..a.unwrap()
    };
    let (s, _) = call(&a, "GET", "/agent/v1/whoami", None).await;
    assert_eq!(s, 200, "the second process serves the agent");
    let waiting = tokio::spawn(async move {
        let t = Instant::now();
        let r = call(
            &a,
            "GET",
            &format!("/agent/v1/desired?after={g}&wait=30"),
            None,
        )
        .await;
        (r, t.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    let moved_at = Instant::now();
    moved(
        &c,
        &p.op,
        unit,
        [
            json!({"to": "relocating"}),
            json!({"to": "installed", "site_id": branch}),
        ],
    )
    .await;
    let ((s, v), took) = waiting.await.unwrap();
    println!(
        "a long-poll on the other process ended {} ms after the move ({} ms after it started; wait 30 s)",
        moved_at.elapsed().as_millis(),
        took.as_millis()
    );
    assert_eq!(s, 401, "{v}");
    assert!(
        took < Duration::from_secs(15),
        "the long-poll ended with the revocation, not at the end of its wait ({took:?})"
    );
    other.stop().await.unwrap();
    c.stop().await;
}

/// A database at schema 40 where unit 100 was with customer 1 and is now installed at
/// customer 2's site (its old certificate, unused token, status and report kept), and
/// unit 101 is still installed where it was enrolled; after migration 42 the first
/// unit's certificate is refused, its token does not enrol and its old status and
/// reports are not shown, while the second unit's agent goes on as before.
async fn migration_42_retires_what_belongs_to_an_earlier_installation(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let pg = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(tokio::task::spawn_blocking(PgCluster::start).await.unwrap()),
    };
    let url = match &pg {
        Some(p) => p.url(),
        None => format!("sqlite://{}?mode=rwc", dir.path().join("c.db").display()),
    };
    let old = Store::open_at_schema(&url, 2, 40).await.unwrap();
    let far = now() + 86_400_000;
    for sql in [
        "INSERT INTO customers (id, name, created_at) VALUES (1, 'Alpha', 1), (2, 'Beta', 1)".to_string(),
        "INSERT INTO sites (id, customer_id, name, address, created_at) VALUES (10, 1, 'Alpha HQ', 'Tokyo', 1), (20, 2, 'Beta HQ', 'Osaka', 1)".into(),
        "INSERT INTO equipment (id, serial, model, state, customer_id, site_id, created_at, updated_at) VALUES (100, 'SN-1', 'MG-100', 'installed', 2, 20, 1, 1), (101, 'SN-2', 'MG-100', 'installed', 1, 10, 1, 1)".into(),
        format!("INSERT INTO agent_certs (serial, customer_id, site_id, equipment_id, not_after, revoked_at, revoked_reason, created_at) VALUES ('aa01', 1, 10, 100, {far}, NULL, NULL, 1), ('aa02', 1, 10, 101, {far}, NULL, NULL, 1)"),
        format!("INSERT INTO enrolment_tokens (token_hash, customer_id, site_id, equipment_id, created_by, expires_at, used_at, created_at) VALUES ('{}', 1, 10, 100, 'op', {far}, NULL, 1)", mamori_center::auth::token_hash("old-secret")),
        "INSERT INTO agent_status (equipment_id, customer_id, site_id, last_contact, last_address, applied_generation, apply_state, apply_generation, apply_error, apply_at, drift, drift_at) VALUES (100, 2, 20, 5, '192.0.2.1', 1, 'rolled_back', 2, 'A-ONLY error', 5, 'A-ONLY drift', 5), (101, 1, 10, 5, '192.0.2.2', 1, 'applied', 1, NULL, 5, NULL, NULL)".into(),
        "INSERT INTO agent_reports (report_id, equipment_id, customer_id, site_id, kind, generation, detail, at, received_at) VALUES ('r1', 100, 1, 10, 'drift', 1, 'A-ONLY drift', 5, 5), ('r2', 101, 1, 10, 'applied', 1, '', 5, 5)".into(),
    ] {
        old.execute_raw(&sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    old.close().await;

    let store = Store::open(&url, 2).await.unwrap();
    let app = mamori_center::app::App {
        store: store.clone(),
        settings: mamori_center::app::Settings::default(),
    };
    use mamori_center::gateways::enrol::{AgentRefusal, EnrolError};
    match app.enrolment().identity("aa01", "192.0.2.1", now()).await {
        Err(EnrolError::Refused(AgentRefusal::Superseded)) => {}
        other => panic!("the moved unit's certificate is refused: {other:?}"),
    }
    let kept = app
        .enrolment()
        .identity("aa02", "192.0.2.2", now())
        .await
        .unwrap();
    assert_eq!(
        (kept.site_id, kept.equipment_id),
        (SiteId::new(10), EquipmentId::new(101))
    );
    let ca = mamori_center::ca::Ca::generate("test CA", now(), 86_400_000).unwrap();
    let (_, csr) = mamori_center::ca::new_key_and_csr().unwrap();
    match app
        .enrolment()
        .enrol(&ca, "old-secret", &csr, "192.0.2.1", now())
        .await
    {
        Err(EnrolError::Refused(AgentRefusal::UnitMoved)) => {}
        other => panic!("the moved unit's old token is refused: {other:?}"),
    }
    // The moved unit's status and reports are not shown; the other unit's are.
    assert_eq!(
        store
            .agent_status(Scope::All, EquipmentId::new(100))
            .await
            .unwrap(),
        None
    );
    assert!(
        store
            .agent_reports(Scope::All, EquipmentId::new(100), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let fleet = store
        .fleet(Scope::Customer(CustomerId::new(2)), &Default::default())
        .await
        .unwrap();
    assert_eq!(fleet.len(), 1);
    assert_eq!(
        (fleet[0].apply_error.as_deref(), fleet[0].drift.as_deref()),
        (None, None),
        "{fleet:?}"
    );
    let s = store
        .agent_status(Scope::All, EquipmentId::new(101))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (s.applied_generation, s.apply_state.as_str()),
        (1, "applied")
    );
    assert_eq!(
        store
            .agent_reports(Scope::All, EquipmentId::new(101), 10)
            .await
            .unwrap()
            .len(),
        1
    );
    store.close().await;
}
