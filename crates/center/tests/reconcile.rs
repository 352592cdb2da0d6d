//! The center's side of reconcile over real mutual TLS, on SQLite and a real
//! PostgreSQL: an agent reads only its own site's configuration (another site cannot be
//! named, and trying is refused and recorded), the long-poll answers 204 when nothing is
//! new and wakes when a revision is published, reports are stored and audited once per
//! `report_id`, the fleet view shows each unit's state to whom may see it; and two
//! center processes on one PostgreSQL serve the same agent.

mod gateways_support;
mod support;

use mamori_center::domain::EquipmentId;
use std::time::{Duration, Instant};

use gateways_support::{
    OFFICE_NETWORK, agent_call, agent_ok, der, enrolment_token, moved, panel, site, stock,
};
use mamori_api::agent::{DesiredConfig, EnrolResponse, FleetAppliance, ReportAck};
use mamori_api::revisions::Revision;
use mamori_api::settings::GatewaySettings;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Backend, Center, ok, problem};

both_backends!(agents_read_their_own_site_and_reports_are_stored_once);

/// An agent: where its center listens, the CA, its certificate and key.
#[derive(Clone)]
struct Agent {
    port: u16,
    ca: String,
    cert: String,
    key: String,
}

/// One request of the agent; panics when no answer comes back.
async fn call(a: &Agent, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let client = (!a.cert.is_empty()).then_some((a.cert.as_str(), a.key.as_str()));
    agent_call(a.port, &a.ca, client, method, path, body)
        .await
        .unwrap()
}

fn policy(extra: &str) -> String {
    format!(
        r#"{OFFICE_NETWORK}
[[rules]]
name = "out"
from = "lan"
to = "wan"
service = "tcp/443"
action = "accept"
{extra}"#
    )
}

struct World {
    admin: String,
    coord: String,
    op: String,
}

async fn people(c: &Center) -> World {
    let admin = c.admin().await;
    let coord = c.provider_user(&admin, "coordinator").await;
    let op = c.provider_user(&admin, "operator").await;
    World { admin, coord, op }
}

/// A site of a new customer with one enrolled unit: (customer, officer token, site, unit, agent).
async fn enrolled(
    c: &Center,
    w: &World,
    name: &str,
    port: u16,
    ca: &str,
) -> (i64, String, i64, i64, Agent) {
    let (cust, officer, _) = c.customer(&w.admin, name).await;
    let site = site(c, &w.admin, cust, "HQ").await;
    let unit = stock(c, &w.admin, &format!("SN-{name}")).await;
    moved(
        c,
        &w.admin,
        unit,
        [
            json!({"to": "lent", "customer_id": cust}),
            json!({"to": "installed", "site_id": site}),
        ],
    )
    .await;
    let token = enrolment_token(c, &w.admin, site, unit).await;
    // The token pins the CA the agent will see.
    let fp = token.rsplit_once('.').unwrap().1.to_string();
    use sha2::Digest;
    let want: String = sha2::Sha256::digest(der(ca))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(fp, want);
    let (key, csr) = mamori_center::ca::new_key_and_csr().unwrap();
    let mut a = Agent {
        port,
        ca: ca.to_string(),
        cert: String::new(),
        key,
    };
    // Enrolment, without a client certificate, with the whole token.
    let (s, v) = call(
        &a,
        "POST",
        "/agent/v1/enrol",
        Some(json!({"token": token, "csr_pem": csr})),
    )
    .await;
    a.cert = agent_ok::<EnrolResponse>(200, (s, v)).cert_pem;
    (cust, officer, site, unit, a)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Drafts (coordinator), approves and publishes (operator); returns the generation.
async fn publish(c: &Center, w: &World, site: i64, extra: &str) -> i64 {
    let v: Revision = ok(
        StatusCode::CREATED,
        c.post(
            &format!("/api/v1/sites/{site}/revisions"),
            &w.coord,
            json!({"policy_text": policy(extra), "settings": {"dns": ["192.0.2.53"]}, "reason": "test"}),
        )
        .await,
    );
    let n = v.number;
    let _: Revision = ok(
        StatusCode::OK,
        c.post(
            &format!("/api/v1/sites/{site}/revisions/{n}/approve"),
            &w.op,
            json!({}),
        )
        .await,
    );
    let v: Revision = ok(
        StatusCode::OK,
        c.post(
            &format!("/api/v1/sites/{site}/revisions/{n}/publish"),
            &w.op,
            json!({}),
        )
        .await,
    );
    v.generation.expect("a published revision has a generation")
}

fn report(id: &str, kind: &str, generation: i64, detail: &str) -> Value {
    json!({"report_id": id, "kind": kind, "generation": generation, "detail": detail, "at": now()})
}

async fn agents_read_their_own_site_and_reports_are_stored_once(backend: Backend) {
    let c = Center::start_with(backend, |cfg| cfg.agent_listen = "127.0.0.1:0".into()).await;
    let listener = c.running.as_ref().unwrap().agent.as_ref().unwrap();
    let (port, ca) = (listener.addr.port(), listener.ca_pem.clone());
    let w = people(&c).await;
    let (_, _, site_a, unit_a, a) = enrolled(&c, &w, "Alpha", port, &ca).await;
    let (_, beta_officer, site_b, unit_b, b) = enrolled(&c, &w, "Beta", port, &ca).await;

    // Nothing published yet: 204 after the wait.
    let (s, _) = call(&a, "GET", "/agent/v1/desired?after=0&wait=1", None).await;
    assert_eq!(s, 204);
    let ga = publish(&c, &w, site_a, "").await;
    let gb = publish(&c, &w, site_b, "# site B\n").await;
    let d: DesiredConfig = agent_ok(
        200,
        call(&a, "GET", "/agent/v1/desired?after=0&wait=0", None).await,
    );
    assert_eq!(d.generation, ga);
    assert!(!d.policy_text.contains("site B"));
    let settings: GatewaySettings = serde_json::from_value(d.settings).unwrap();
    assert_eq!(settings.dns, ["192.0.2.53"]);
    let d: DesiredConfig = agent_ok(
        200,
        call(&b, "GET", "/agent/v1/desired?after=0&wait=0", None).await,
    );
    assert_eq!(d.generation, gb);
    assert!(d.policy_text.contains("site B"));
    // Another site cannot be named; trying is refused and recorded.
    let (s, v) = call(
        &a,
        "GET",
        &format!("/agent/v1/desired?after=0&wait=0&site_id={site_b}"),
        None,
    )
    .await;
    assert_eq!(s, 400, "{v}");
    let audit = c
        .store()
        .audit_entries(mamori_center::domain::Scope::All, None, 10_000)
        .await
        .unwrap();
    assert!(audit.iter().any(|e| e.action == "agent.request"
        && e.outcome == "refused"
        && e.object == format!("equipment/{unit_a}")
        && e.detail.contains("site_id")));

    // Up to date: 204 after the wait; a publish wakes a waiting long-poll.
    let (s, _) = call(
        &a,
        "GET",
        &format!("/agent/v1/desired?after={ga}&wait=1"),
        None,
    )
    .await;
    assert_eq!(s, 204);
    let waiting = {
        let a = a.clone();
        tokio::spawn(async move {
            let t = Instant::now();
            let r = call(
                &a,
                "GET",
                &format!("/agent/v1/desired?after={ga}&wait=30"),
                None,
            )
            .await;
            (r, t.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let ga2 = publish(&c, &w, site_a, "# second\n").await;
    let (answer, took) = waiting.await.unwrap();
    assert_eq!(agent_ok::<DesiredConfig>(200, answer).generation, ga2);
    assert!(
        took < Duration::from_secs(30),
        "woken before the wait ended"
    );

    // Reports: each id stored and audited once, however often it is sent.
    let batch = json!({"reports": [
        report("0b7d5b52-3f7e-4c3a-9a51-2f7f0b0c1d2e", "applied", ga2, "applied and proven"),
        report("1b7d5b52-3f7e-4c3a-9a51-2f7f0b0c1d2e", "drift", ga2, "1 rule(s) missing"),
    ]});
    for _ in 0..2 {
        let ack: ReportAck = agent_ok(
            200,
            call(&a, "POST", "/agent/v1/reports", Some(batch.clone())).await,
        );
        assert_eq!(ack.acknowledged.len(), 2);
    }
    let stored = c
        .store()
        .agent_reports(
            mamori_center::domain::Scope::All,
            EquipmentId::new(unit_a),
            100,
        )
        .await
        .unwrap();
    assert_eq!(stored.len(), 2);
    let audit = c
        .store()
        .audit_entries(mamori_center::domain::Scope::All, None, 10_000)
        .await
        .unwrap();
    assert_eq!(
        audit.iter().filter(|e| e.action == "agent.applied").count(),
        1
    );
    assert_eq!(
        audit.iter().filter(|e| e.action == "agent.drift").count(),
        1
    );
    let (s, v) = call(
        &a,
        "POST",
        "/agent/v1/reports",
        Some(json!({"reports": [report("not-a-uuid", "applied", 1, "")]})),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    // B reports a rollback.
    let (s, _) = call(&b, "POST", "/agent/v1/reports", Some(json!({"reports": [
        report("2b7d5b52-3f7e-4c3a-9a51-2f7f0b0c1d2e", "rolled_back", gb, "the center could not be reached"),
    ]}))).await;
    assert_eq!(s, 200);

    // The fleet view: states, filters, and each customer sees only its own units.
    let by_unit = |v: &[FleetAppliance], id: i64| v.iter().find(|r| r.equipment_id == id).cloned();
    let v: Vec<FleetAppliance> = ok(StatusCode::OK, c.get("/api/v1/fleet", &w.admin).await);
    let ra = by_unit(&v, unit_a).unwrap();
    assert_eq!(ra.state, "drift");
    assert_eq!(
        (ra.applied_generation, ra.desired_generation),
        (Some(ga2), Some(ga2))
    );
    let rb = by_unit(&v, unit_b).unwrap();
    assert_eq!(rb.state, "failed");
    assert!(
        rb.apply_error
            .as_deref()
            .unwrap_or_default()
            .contains("could not be reached")
    );
    let v: Vec<FleetAppliance> = ok(
        StatusCode::OK,
        c.get("/api/v1/fleet?state=failed", &w.admin).await,
    );
    assert!(by_unit(&v, unit_b).is_some() && by_unit(&v, unit_a).is_none());
    let v: Vec<FleetAppliance> = ok(StatusCode::OK, c.get("/api/v1/fleet", &beta_officer).await);
    assert!(by_unit(&v, unit_b).is_some() && by_unit(&v, unit_a).is_none());
    let p = problem(
        StatusCode::UNPROCESSABLE_ENTITY,
        c.get("/api/v1/fleet?state=bogus", &w.admin).await,
    );
    assert_eq!(p.field.as_deref(), Some("state"));

    // The panel: the fleet page in Japanese and English, filtered; drift and the failed
    // apply on the appliance pages.
    let (s, html) = panel(&c, &w.admin, "/fleet", "ja").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("機器の状態") && html.contains("ドリフト") && html.contains("適用失敗"),
        "{html}"
    );
    assert!(html.contains("SN-Alpha") && html.contains("SN-Beta"));
    let (_, html) = panel(&c, &w.admin, "/fleet?state=failed", "en").await;
    assert!(
        html.contains("Equipment status") && html.contains("SN-Beta") && !html.contains("SN-Alpha"),
        "{html}"
    );
    let (_, html) = panel(&c, &beta_officer, "/fleet", "en").await;
    assert!(
        html.contains("SN-Beta") && !html.contains("SN-Alpha"),
        "{html}"
    );
    let (_, html) = panel(&c, &w.admin, &format!("/equipment/{unit_a}"), "en").await;
    assert!(html.contains("id=\"drift\">1 rule(s) missing"), "{html}");
    let (_, html) = panel(&c, &w.admin, &format!("/equipment/{unit_b}"), "ja").await;
    assert!(
        html.contains("自動ロールバック") && html.contains("could not be reached"),
        "{html}"
    );
    c.stop().await;
}

#[cfg(feature = "external")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_centers_on_postgres_serve_the_same_agent() {
    let dir_a = tempfile::tempdir().unwrap();
    let data_a = dir_a.path().to_path_buf();
    let c = Center::start_with(Backend::Postgres, |cfg| {
        cfg.agent_listen = "127.0.0.1:0".into();
        cfg.data_dir = data_a;
    })
    .await;
    let listener = c.running.as_ref().unwrap().agent.as_ref().unwrap();
    let (port, ca) = (listener.addr.port(), listener.ca_pem.clone());
    let w = people(&c).await;
    let (_, _, site, unit, a) = enrolled(&c, &w, "Alpha", port, &ca).await;
    let g1 = publish(&c, &w, site, "").await;
    // A second process on the same database, with a copy of the CA.
    let dir_b = tempfile::tempdir().unwrap();
    let src = dir_a.path().join("ca");
    std::fs::create_dir_all(dir_b.path().join("ca")).unwrap();
    for f in ["ca.pem", "ca.key"] {
        std::fs::copy(src.join(f), dir_b.path().join("ca").join(f)).unwrap();
    }
    c.share_secret_key(dir_b.path());
    let other = mamori_center::start(mamori_center::config::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir_b.path().to_path_buf(),
        database_url: c.pg.as_ref().unwrap().url(),
        agent_listen: "127.0.0.1:0".into(),
        log: "warn".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    let b = Agent {
        port: other.agent.as_ref().unwrap().addr.port(),
        ..a.clone()
    };
    // The agent switched to the second process keeps working, and a publish through the
    // first wakes its long-poll on the second.
    let d: DesiredConfig = agent_ok(
        200,
        call(&b, "GET", "/agent/v1/desired?after=0&wait=0", None).await,
    );
    assert_eq!(d.generation, g1);
    let waiting = tokio::spawn(async move {
        call(
            &b,
            "GET",
            &format!("/agent/v1/desired?after={g1}&wait=30"),
            None,
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let g2 = publish(&c, &w, site, "# second\n").await;
    assert_eq!(
        agent_ok::<DesiredConfig>(200, waiting.await.unwrap()).generation,
        g2
    );
    // Reports through either process land once in the shared database.
    let r = json!({"reports": [report("3b7d5b52-3f7e-4c3a-9a51-2f7f0b0c1d2e", "applied", g2, "")]});
    let b = Agent {
        port: other.agent.as_ref().unwrap().addr.port(),
        ..a.clone()
    };
    assert_eq!(
        call(&b, "POST", "/agent/v1/reports", Some(r.clone()))
            .await
            .0,
        200
    );
    assert_eq!(call(&a, "POST", "/agent/v1/reports", Some(r)).await.0, 200);
    let stored = c
        .store()
        .agent_reports(
            mamori_center::domain::Scope::All,
            EquipmentId::new(unit),
            100,
        )
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    other.stop().await.unwrap();
    c.stop().await;
}
