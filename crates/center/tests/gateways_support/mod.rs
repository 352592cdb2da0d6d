//! Set-up shared by the managed-gateway tests: sites, units and their moves, enrolment
//! tokens through the REST API, panel pages with a session, and one request of an agent
//! over mutual TLS to the agent listener. Each step asserts that the center accepted it.

#![allow(dead_code)]

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName,
};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use crate::support::{Center, ok};
use mamori_api::gateways::{EnrolmentToken, Equipment};
use mamori_api::v1::Site;
use serde::de::DeserializeOwned;

/// The network of the small office the tests' policies describe: its interfaces and
/// the center's management address; the policy text follows on the next line.
pub const OFFICE_NETWORK: &str = r#"[interfaces]
lan0 = { zone = "lan", addresses = ["192.0.2.1/26"] }
wan0 = { zone = "wan", addresses = ["198.51.100.1/24"], default_route = true }

[management]
center = "203.0.113.10"
"#;

/// A new site of `customer`; its id.
pub async fn site(c: &Center, admin: &str, customer: i64, name: &str) -> i64 {
    let v: Site = ok(
        StatusCode::CREATED,
        c.post(
            "/api/v1/sites",
            admin,
            json!({"customer_id": customer, "name": name}),
        )
        .await,
    );
    v.id
}

/// A new unit in stock; its id.
pub async fn stock(c: &Center, token: &str, serial: &str) -> i64 {
    let v: Equipment = ok(
        StatusCode::CREATED,
        c.post(
            "/api/v1/equipment",
            token,
            json!({"serial": serial, "model": "MG-100"}),
        )
        .await,
    );
    assert_eq!(v.state, "in_stock");
    v.id
}

/// Moves a unit (`{"to": ...}`); the answer as it is.
pub async fn mv(c: &Center, token: &str, id: i64, body: Value) -> (StatusCode, Value) {
    c.post(&format!("/api/v1/equipment/{id}/move"), token, body)
        .await
}

/// Moves a unit through each of `moves`, each of which must be accepted.
pub async fn moved(c: &Center, token: &str, id: i64, moves: impl IntoIterator<Item = Value>) {
    for body in moves {
        let _: Equipment = ok(StatusCode::OK, mv(c, token, id, body).await);
    }
}

/// An enrolment token for unit `unit` at site `site`.
pub async fn enrolment_token(c: &Center, token: &str, site: i64, unit: i64) -> String {
    let v: EnrolmentToken = ok(
        StatusCode::CREATED,
        c.post(
            &format!("/api/v1/sites/{site}/enrolment-tokens"),
            token,
            json!({"equipment_id": unit}),
        )
        .await,
    );
    assert_eq!((v.site_id, v.equipment_id), (site, unit));
    v.token
}

/// A panel request made with the session of an API sign-in, in `lang`.
pub fn as_reader(r: reqwest::RequestBuilder, token: &str, lang: &str) -> reqwest::RequestBuilder {
    r.header("cookie", format!("mamori_session={token}"))
        .header("accept-language", lang)
}

/// A panel page fetched with the session of an API sign-in, in `lang`.
pub async fn panel(c: &Center, token: &str, path: &str, lang: &str) -> (StatusCode, String) {
    let r = as_reader(c.client.get(format!("{}{path}", c.base)), token, lang)
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

/// The CSRF field's value in a panel page.
pub fn csrf_of(body: &str) -> String {
    let start = "name=\"csrf\" value=\"";
    let i = body.find(start).expect("a CSRF field") + start.len();
    let j = body[i..].find('"').unwrap() + i;
    body[i..j].to_string()
}

/// The DER bytes of a PEM certificate.
pub fn der(pem: &str) -> Vec<u8> {
    x509_parser::pem::parse_x509_pem(pem.as_bytes())
        .unwrap()
        .1
        .contents
}

/// One HTTP/1.1 request over TLS to the agent listener on loopback `port`, trusting
/// `ca_pem`, with or without a client certificate (cert PEM, key PEM). Err when the
/// connection or the TLS handshake fails, or no HTTP answer comes back.
pub async fn agent_call(
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
    // A refused client certificate ends the connection without an answer; an answer
    // that came whole counts even if the peer then closes without a TLS close_notify.
    let read = tls.read_to_end(&mut out).await;
    let text = String::from_utf8_lossy(&out).to_string();
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no HTTP status in {text:?} (read: {read:?})"))?;
    let body = text.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    Ok((
        status,
        serde_json::from_str(body).unwrap_or(Value::String(body.into())),
    ))
}

/// An answer of the agent listener read as the wire type `T` (`mamori_api::agent`),
/// after checking its status is `want`: a field the type does not have, or one
/// missing, fails the test.
#[track_caller]
pub fn agent_ok<T: DeserializeOwned>(want: u16, (status, v): (u16, Value)) -> T {
    assert_eq!(status, want, "{v}");
    serde_json::from_value(v.clone())
        .unwrap_or_else(|e| panic!("not a {}: {e}: {v}", std::any::type_name::<T>()))
}
