//! The agent listener over real TLS on loopback, SQLite and PostgreSQL: an agent enrols
//! without a certificate, then speaks with its client certificate; a missing
//! certificate, a certificate from another CA, a replayed token and a revoked
//! certificate are each refused.

mod support;

use std::sync::Arc;

use mamori_center::app::{App, Settings};
use mamori_center::ca::{Ca, new_key_and_csr};
use mamori_center::http::agent_api::{self, AgentState};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Backend, Center};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName,
};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

both_backends!(
    agent_listener_mutual_tls_and_refusals,
    the_centers_own_agent_listener_enrols_and_checks
);

/// A unit lent to a new customer's site and an enrolment token for it:
/// (site, unit, token).
async fn enrolable(c: &Center, admin: &str) -> (i64, i64, String) {
    let (cust, _, _) = c.customer(admin, "Gamma").await;
    let (_, v) = c
        .post(
            "/api/v1/sites",
            admin,
            json!({"customer_id": cust, "name": "HQ"}),
        )
        .await;
    let site = v["id"].as_i64().unwrap();
    let (_, v) = c
        .post(
            "/api/v1/equipment",
            admin,
            json!({"serial": "SN-G1", "model": "MG-100"}),
        )
        .await;
    let unit = v["id"].as_i64().unwrap();
    let (s, _) = c
        .post(
            &format!("/api/v1/equipment/{unit}/move"),
            admin,
            json!({"to": "lent", "customer_id": cust}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = c
        .post(
            &format!("/api/v1/sites/{site}/enrolment-tokens"),
            admin,
            json!({"equipment_id": unit}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    (site, unit, v["token"].as_str().unwrap().to_string())
}

async fn the_centers_own_agent_listener_enrols_and_checks(backend: Backend) {
    let c = Center::start_with(backend, |cfg| cfg.agent_listen = "127.0.0.1:0".into()).await;
    let admin = c.admin().await;
    let (site, unit, token) = enrolable(&c, &admin).await;
    let agent = c.running.as_ref().unwrap().agent.as_ref().unwrap();
    let (port, ca_pem) = (agent.addr.port(), agent.ca_pem.clone());
    assert_ne!(port, c.running.as_ref().unwrap().addr.port());
    let (key, csr) = new_key_and_csr().unwrap();
    let (s, v) = call(
        port,
        &ca_pem,
        None,
        "POST",
        "/agent/v1/enrol",
        Some(json!({"token": token, "csr_pem": csr})),
    )
    .await
    .unwrap();
    assert_eq!(s, 200, "{v}");
    let cert = v["cert_pem"].as_str().unwrap().to_string();
    let (s, v) = call(
        port,
        &ca_pem,
        Some((&cert, &key)),
        "GET",
        "/agent/v1/whoami",
        None,
    )
    .await
    .unwrap();
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["site_id"].as_i64(), v["equipment_id"].as_i64()),
        (Some(site), Some(unit))
    );
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
    assert_eq!(s, 200, "{v}");
    let cert2 = v["cert_pem"].as_str().unwrap().to_string();
    let (s, v) = call(
        port,
        &ca_pem,
        Some((&cert2, &key2)),
        "GET",
        "/agent/v1/whoami",
        None,
    )
    .await
    .unwrap();
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["site_id"].as_i64(), v["equipment_id"].as_i64()),
        (Some(site), Some(unit))
    );
    let (s, v) = call(
        port,
        &ca_pem,
        Some((&cert, &key)),
        "GET",
        "/agent/v1/whoami",
        None,
    )
    .await
    .unwrap();
    assert_eq!(s, 403, "{v}");
    assert_eq!(v["error"], "the certificate was revoked: renewed");
    // The panel port does not speak the agent protocol, and the agent port needs TLS.
    let plain = reqwest::get(format!("http://127.0.0.1:{port}/agent/v1/whoami")).await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
    c.stop().await;
}

fn der(pem: &str) -> Vec<u8> {
    x509_parser::pem::parse_x509_pem(pem.as_bytes())
        .unwrap()
        .1
        .contents
}

/// One HTTP/1.1 request over TLS, with or without a client certificate (cert PEM,
/// key PEM). Err when the TLS handshake or the connection fails.
async fn call(
    port: u16,
    ca_pem: &str,
    client: Option<(&str, &str)>,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Result<(u16, Value), String> {
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from(der(ca_pem))).unwrap();
    let b = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match client {
        Some((cert, key)) => {
            let key = rcgen::KeyPair::from_pem(key).unwrap().serialize_der();
            b.with_client_auth_cert(
                vec![CertificateDer::from(der(cert))],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
            )
            .unwrap()
        }
        None => b.with_no_client_auth(),
    };
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    let mut tls = TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .map_err(|e| e.to_string())?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tls.write_all(req.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    tls.read_to_end(&mut out).await.map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out).to_string();
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no HTTP status in {text:?}"))?;
    let body = text.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    Ok((
        status,
        serde_json::from_str(body).unwrap_or(Value::String(body.into())),
    ))
}

async fn agent_listener_mutual_tls_and_refusals(backend: Backend) {
    let c = Center::start(backend).await;
    let admin = c.admin().await;
    let (cust, _, _) = c.customer(&admin, "Alpha").await;
    let (_, v) = c
        .post(
            "/api/v1/sites",
            &admin,
            json!({"customer_id": cust, "name": "HQ"}),
        )
        .await;
    let site = v["id"].as_i64().unwrap();
    let (_, v) = c
        .post(
            "/api/v1/equipment",
            &admin,
            json!({"serial": "SN-T1", "model": "MG-100"}),
        )
        .await;
    let unit = v["id"].as_i64().unwrap();
    let (s, _) = c
        .post(
            &format!("/api/v1/equipment/{unit}/move"),
            &admin,
            json!({"to": "lent", "customer_id": cust}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = c
        .post(
            &format!("/api/v1/sites/{site}/enrolment-tokens"),
            &admin,
            json!({"equipment_id": unit}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let token = v["token"].as_str().unwrap().to_string();

    let now = support::now_secs() * 1000;
    let ca = Arc::new(Ca::generate("Mamori test CA", now, 3650 * 86_400_000).unwrap());
    let config = agent_api::tls_config(&ca, vec!["localhost".into()], now).unwrap();
    let state = Arc::new(AgentState {
        app: App {
            store: c.store().clone(),
            settings: Settings {
                session_ttl_ms: 1,
                lockout_failures: 1,
                lockout_ms: 1,
            },
        },
        ca: ca.clone(),
    });
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = tcp.local_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(agent_api::serve(state, tcp, config, async {
        let _ = stopped.await;
    }));
    let ca_pem = ca.cert_pem().to_string();

    // Enrol without a client certificate.
    let (key, csr) = new_key_and_csr().unwrap();
    let (s, v) = call(
        port,
        &ca_pem,
        None,
        "POST",
        "/agent/v1/enrol",
        Some(json!({"token": token, "csr_pem": csr})),
    )
    .await
    .unwrap();
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["site_id"], site);
    assert_eq!(v["ca_pem"], ca_pem);
    let cert = v["cert_pem"].as_str().unwrap().to_string();

    // With the certificate, the center knows who it is.
    let (s, v) = call(
        port,
        &ca_pem,
        Some((&cert, &key)),
        "GET",
        "/agent/v1/whoami",
        None,
    )
    .await
    .unwrap();
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["site_id"].as_i64(), v["equipment_id"].as_i64()),
        (Some(site), Some(unit))
    );

    // Without one, only enrolment is open.
    let (s, v) = call(port, &ca_pem, None, "GET", "/agent/v1/whoami", None)
        .await
        .unwrap();
    assert_eq!(s, 401, "{v}");
    // A replayed token is refused.
    let (_, csr2) = new_key_and_csr().unwrap();
    let (s, v) = call(
        port,
        &ca_pem,
        None,
        "POST",
        "/agent/v1/enrol",
        Some(json!({"token": token, "csr_pem": csr2})),
    )
    .await
    .unwrap();
    assert_eq!(s, 403);
    assert_eq!(v["error"], "the enrolment token was already used");
    // A certificate from another CA does not get through the handshake.
    let other = Ca::generate("Other CA", now, 86_400_000).unwrap();
    let (okey, ocsr) = new_key_and_csr().unwrap();
    let forged = other
        .issue(
            &ocsr,
            mamori_center::ca::AgentIdentity {
                site_id: site,
                equipment_id: unit,
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
    for to in [
        json!({"to": "installed", "site_id": site}),
        json!({"to": "failed"}),
    ] {
        let (s, v) = c
            .post(&format!("/api/v1/equipment/{unit}/move"), &admin, to)
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let (s, v) = call(
        port,
        &ca_pem,
        Some((&cert, &key)),
        "GET",
        "/agent/v1/whoami",
        None,
    )
    .await
    .unwrap();
    assert_eq!(s, 403, "{v}");
    assert_eq!(v["error"], "the certificate was revoked: unit failed");

    let _ = stop.send(());
    server.await.unwrap().unwrap();
    c.stop().await;
}

/// Two center processes on one PostgreSQL, sharing the CA directory: an agent enrolled
/// through one is served by the other, and a revocation made through one is refused by
/// the other on the next request.
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
    let (site, unit, token) = enrolable(&a, &admin).await;
    let la = a.running.as_ref().unwrap().agent.as_ref().unwrap();
    let lb = b.agent.as_ref().unwrap();
    assert_eq!(la.ca_pem, lb.ca_pem, "both centers use the shared CA");
    let ca_pem = la.ca_pem.clone();
    let (key, csr) = new_key_and_csr().unwrap();
    let (s, v) = call(
        la.addr.port(),
        &ca_pem,
        None,
        "POST",
        "/agent/v1/enrol",
        Some(json!({"token": token, "csr_pem": csr})),
    )
    .await
    .unwrap();
    assert_eq!(s, 200, "{v}");
    let cert = v["cert_pem"].as_str().unwrap().to_string();
    // Switched to the other center mid-way, the agent keeps working.
    for port in [lb.addr.port(), la.addr.port(), lb.addr.port()] {
        let (s, v) = call(
            port,
            &ca_pem,
            Some((&cert, &key)),
            "GET",
            "/agent/v1/whoami",
            None,
        )
        .await
        .unwrap();
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["site_id"].as_i64(), Some(site));
    }
    // Revoked through A (the unit failed), refused by B.
    for to in [
        json!({"to": "installed", "site_id": site}),
        json!({"to": "failed"}),
    ] {
        let (s, v) = a
            .post(&format!("/api/v1/equipment/{unit}/move"), &admin, to)
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let (s, v) = call(
        lb.addr.port(),
        &ca_pem,
        Some((&cert, &key)),
        "GET",
        "/agent/v1/whoami",
        None,
    )
    .await
    .unwrap();
    assert_eq!(s, 403, "{v}");
    b.stop().await.unwrap();
    a.stop().await;
}
