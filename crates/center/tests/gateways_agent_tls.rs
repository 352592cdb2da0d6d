//! The agent listener over real TLS on loopback, SQLite and PostgreSQL: an agent enrols
//! without a certificate, then speaks with its client certificate; a missing
//! certificate, a certificate from another CA, a replayed token and a revoked
//! certificate are each refused.

mod gateways_support;
mod support;

use std::sync::Arc;

use gateways_support::{agent_call as call, agent_ok, enrolment_token, moved, site, stock};
use mamori_api::agent::{AgentError, EnrolResponse, Identity};
use mamori_center::app::{App, Settings};
use mamori_center::ca::{Ca, new_key_and_csr};
use mamori_center::domain::{EquipmentId, SiteId};
use mamori_center::http::agent::{self, AgentState};
use serde_json::{Value, json};
use support::{Backend, Center};

both_backends!(
    agent_listener_mutual_tls_and_refusals,
    the_centers_own_agent_listener_enrols_and_checks
);

/// A unit (`serial`) lent to a new customer (`name`) and installed at its site, and an
/// enrolment token for it: (site, unit, token).
async fn enrolable(c: &Center, admin: &str, name: &str, serial: &str) -> (i64, i64, String) {
    let (cust, _, _) = c.customer(admin, name).await;
    let site = site(c, admin, cust, "HQ").await;
    let unit = stock(c, admin, serial).await;
    moved(
        c,
        admin,
        unit,
        [
            json!({"to": "lent", "customer_id": cust}),
            json!({"to": "installed", "site_id": site}),
        ],
    )
    .await;
    let token = enrolment_token(c, admin, site, unit).await;
    (site, unit, token)
}

/// Enrols with `token` and a new key, without a client certificate: the answer and the
/// key.
async fn enrol(port: u16, ca_pem: &str, token: &str) -> ((u16, Value), String) {
    let (key, csr) = new_key_and_csr().unwrap();
    let answer = call(
        port,
        ca_pem,
        None,
        "POST",
        "/agent/v1/enrol",
        Some(json!({"token": token, "csr_pem": csr})),
    )
    .await
    .unwrap();
    (answer, key)
}

/// `GET /agent/v1/whoami` with a client certificate (cert PEM, key PEM).
async fn whoami(port: u16, ca_pem: &str, cert: &str, key: &str) -> (u16, Value) {
    call(
        port,
        ca_pem,
        Some((cert, key)),
        "GET",
        "/agent/v1/whoami",
        None,
    )
    .await
    .unwrap()
}

/// Asserts that the agent is known as unit `unit` at site `site`.
fn assert_identity(answer: (u16, Value), site: i64, unit: i64) {
    let who: Identity = agent_ok(200, answer);
    assert_eq!((who.site_id, who.equipment_id), (site, unit));
}

/// Marks the unit failed, which revokes its certificates.
async fn fail(c: &Center, admin: &str, unit: i64) {
    moved(c, admin, unit, [json!({"to": "failed"})]).await;
}

async fn the_centers_own_agent_listener_enrols_and_checks(backend: Backend) {
    let c = Center::start_with(backend, |cfg| cfg.agent_listen = "127.0.0.1:0".into()).await;
    let admin = c.admin().await;
    let (site, unit, token) = enrolable(&c, &admin, "Gamma", "SN-G1").await;
    let agent = c.running.as_ref().unwrap().agent.as_ref().unwrap();
    let (port, ca_pem) = (agent.addr.port(), agent.ca_pem.clone());
    assert_ne!(port, c.running.as_ref().unwrap().addr.port());
    let (answer, key) = enrol(port, &ca_pem, &token).await;
    let cert = agent_ok::<EnrolResponse>(200, answer).cert_pem;
    assert_identity(whoami(port, &ca_pem, &cert, &key).await, site, unit);
    // Renewal: a new certificate for the same site and unit; the old one is refused.
    let (key2, csr2) = new_key_and_csr().unwrap();
    let (s, v) = call(
        port,
        &ca_pem,
        Some((&cert, &key)),
        "POST",
        "/agent/v1/renew",
        Some(json!({"csr_pem": csr2})),
    )
    .await
    .unwrap();
    let cert2 = agent_ok::<EnrolResponse>(200, (s, v)).cert_pem;
    assert_identity(whoami(port, &ca_pem, &cert2, &key2).await, site, unit);
    let e: AgentError = agent_ok(401, whoami(port, &ca_pem, &cert, &key).await);
    assert_eq!(e.error, "the certificate was revoked: renewed");
    // The panel port does not speak the agent protocol, and the agent port needs TLS.
    let plain = reqwest::get(format!("http://127.0.0.1:{port}/agent/v1/whoami")).await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
    c.stop().await;
}

async fn agent_listener_mutual_tls_and_refusals(backend: Backend) {
    let c = Center::start(backend).await;
    let admin = c.admin().await;
    let (site, unit, token) = enrolable(&c, &admin, "Alpha", "SN-T1").await;

    let now = support::now_secs() * 1000;
    let ca = Arc::new(Ca::generate("Mamori test CA", now, 3650 * 86_400_000).unwrap());
    let config = agent::tls_config(&ca, vec!["localhost".into()], now).unwrap();
    let state = Arc::new(AgentState {
        app: App {
            store: c.store().clone(),
            settings: Settings::default(),
        },
        ca: ca.clone(),
    });
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = tcp.local_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(agent::serve(state, tcp, config, async {
        let _ = stopped.await;
    }));
    let ca_pem = ca.cert_pem().to_string();

    // Enrol without a client certificate.
    let (answer, key) = enrol(port, &ca_pem, &token).await;
    let enrolled: EnrolResponse = agent_ok(200, answer);
    assert_eq!(enrolled.site_id, site);
    assert_eq!(enrolled.ca_pem, ca_pem);
    let cert = enrolled.cert_pem;

    // With the certificate, the center knows who it is.
    assert_identity(whoami(port, &ca_pem, &cert, &key).await, site, unit);

    // Without one, only enrolment is open.
    let (s, v) = call(port, &ca_pem, None, "GET", "/agent/v1/whoami", None)
        .await
        .unwrap();
    assert_eq!(s, 401, "{v}");
    // A replayed token is refused.
    let (answer, _) = enrol(port, &ca_pem, &token).await;
    let e: AgentError = agent_ok(403, answer);
    assert_eq!(e.error, "the enrolment token was already used");
    // A certificate from another CA does not get through the handshake.
    let other = Ca::generate("Other CA", now, 86_400_000).unwrap();
    let (okey, ocsr) = new_key_and_csr().unwrap();
    let forged = other
        .issue(
            &ocsr,
            mamori_center::ca::AgentIdentity {
                site_id: SiteId::new(site),
                equipment_id: EquipmentId::new(unit),
            },
            7,
            now,
            86_400_000,
        )
        .unwrap();
    let r = call(
        port,
        &ca_pem,
        Some((&forged.cert_pem, &okey)),
        "GET",
        "/agent/v1/whoami",
        None,
    )
    .await;
    assert!(r.is_err(), "{r:?}");

    // The unit fails: its certificate is revoked and refused on the next request.
    fail(&c, &admin, unit).await;
    let e: AgentError = agent_ok(401, whoami(port, &ca_pem, &cert, &key).await);
    assert_eq!(e.error, "the certificate was revoked: unit failed");

    let _ = stop.send(());
    server.await.unwrap().unwrap();
    c.stop().await;
}

/// Two center processes on one PostgreSQL, sharing the CA directory: an agent enrolled
/// through one is served by the other, and a revocation made through one is refused by
/// the other on the next request.
#[cfg(feature = "external")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_centers_on_one_postgresql_serve_the_same_agents() {
    let shared = tempfile::tempdir().unwrap();
    let dir = shared.path().to_path_buf();
    let d = dir.clone();
    let a = Center::start_with(Backend::Postgres, move |cfg| {
        cfg.agent_listen = "127.0.0.1:0".into();
        cfg.data_dir = d;
    })
    .await;
    // The administrator first: a center started on a database without one issues a
    // new bootstrap link, retiring the older ones.
    let admin = a.admin().await;
    let b = mamori_center::start(mamori_center::config::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir,
        database_url: a.pg.as_ref().unwrap().url(),
        log: "warn".into(),
        agent_listen: "127.0.0.1:0".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    let (site, unit, token) = enrolable(&a, &admin, "Gamma", "SN-G1").await;
    let la = a.running.as_ref().unwrap().agent.as_ref().unwrap();
    let lb = b.agent.as_ref().unwrap();
    assert_eq!(la.ca_pem, lb.ca_pem, "both centers use the shared CA");
    let ca_pem = la.ca_pem.clone();
    let (answer, key) = enrol(la.addr.port(), &ca_pem, &token).await;
    let cert = agent_ok::<EnrolResponse>(200, answer).cert_pem;
    // Switched to the other center mid-way, the agent keeps working.
    for port in [lb.addr.port(), la.addr.port(), lb.addr.port()] {
        let who: Identity = agent_ok(200, whoami(port, &ca_pem, &cert, &key).await);
        assert_eq!(who.site_id, site);
    }
    // Revoked through A (the unit failed), refused by B.
    fail(&a, &admin, unit).await;
    let (s, v) = whoami(lb.addr.port(), &ca_pem, &cert, &key).await;
    assert_eq!(s, 401, "{v}");
    b.stop().await.unwrap();
    a.stop().await;
}
