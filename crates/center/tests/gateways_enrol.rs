//! Enrolment against a real center on SQLite and PostgreSQL: a token made through the
//! API enrols once; a replayed, expired or unknown token is refused and recorded; the
//! certificate names the site and unit the center chose; a unit marked failed loses its
//! certificate, which is then refused and recorded.

mod gateways_support;
mod support;

use gateways_support::{moved, mv, site, stock};
use mamori_center::app::{App, Settings};
use mamori_center::ca::{Ca, identity_of, new_key_and_csr};
use mamori_center::domain::Scope;
use mamori_center::domain::{EquipmentId, SiteId};
use mamori_center::gateways::enrol::{AgentRefusal, EnrolError};
use reqwest::StatusCode;
use serde_json::json;
use support::{Backend, Center};

both_backends!(enrol_once_then_refuse_replays_and_revoked_certificates);

fn refused(r: Result<impl std::fmt::Debug, EnrolError>) -> AgentRefusal {
    match r {
        Err(EnrolError::Refused(x)) => x,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn refusals(c: &Center) -> Vec<(String, String)> {
    c.store()
        .audit_entries(Scope::All, None, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.outcome == "refused")
        .map(|e| (e.action, e.detail))
        .collect()
}

async fn enrol_once_then_refuse_replays_and_revoked_certificates(backend: Backend) {
    let c = Center::start(backend).await;
    let admin = c.admin().await;
    let op = c.provider_user(&admin, "operator").await;
    let (cust, officer, _) = c.customer(&admin, "Alpha").await;
    let site = site(&c, &admin, cust, "HQ").await;
    let unit = stock(&c, &admin, "SN-E1").await;
    let path = format!("/api/v1/sites/{site}/enrolment-tokens");

    // A unit in stock cannot be enrolled, nor one only lent; the officer cannot make
    // tokens.
    let (s, v) = c.post(&path, &op, json!({"equipment_id": unit})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        v["detail"]
            .as_str()
            .unwrap()
            .contains("install it here first")
    );
    let (s, _) = mv(&c, &admin, unit, json!({"to": "lent", "customer_id": cust})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = c.post(&path, &op, json!({"equipment_id": unit})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, _) = mv(
        &c,
        &admin,
        unit,
        json!({"to": "installed", "site_id": site}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = c.post(&path, &officer, json!({"equipment_id": unit})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = c.post(&path, &op, json!({"equipment_id": unit})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let token = v["token"].as_str().unwrap().to_string();
    // Only the hash is stored.
    if let Some(pg) = &c.pg {
        assert!(
            !pg.psql("SELECT token_hash FROM enrolment_tokens")
                .contains(&token)
        );
    }

    let app = App {
        store: c.store().clone(),
        settings: Settings::default(),
    };
    let ca = Ca::generate("Mamori test CA", c.clock.now_ms(), 3650 * 86_400_000).unwrap();
    let (_key, csr) = new_key_and_csr().unwrap();

    // A bad request leaves the token usable.
    let r = refused(
        app.enrolment()
            .enrol(&ca, &token, "garbage", "198.51.100.7", c.clock.now_ms())
            .await,
    );
    assert!(matches!(r, AgentRefusal::BadRequest(_)), "{r:?}");
    let (issued, who) = app
        .enrolment()
        .enrol(&ca, &token, &csr, "198.51.100.7", c.clock.now_ms())
        .await
        .unwrap();
    assert_eq!(
        (who.site_id, who.equipment_id),
        (SiteId::new(site), EquipmentId::new(unit))
    );
    let (_, pem) = x509_parser::pem::parse_x509_pem(issued.cert_pem.as_bytes()).unwrap();
    let (id, serial) = identity_of(&pem.contents).unwrap();
    assert_eq!(id, who);
    assert_eq!(serial, issued.serial);
    let cert = app
        .enrolment()
        .identity(&serial, "198.51.100.7", c.clock.now_ms())
        .await
        .unwrap();
    assert_eq!(
        (cert.site_id, cert.equipment_id),
        (SiteId::new(site), EquipmentId::new(unit))
    );

    // The token is spent: a replay is refused, and so are unknown and expired tokens.
    let (_, csr2) = new_key_and_csr().unwrap();
    assert_eq!(
        refused(
            app.enrolment()
                .enrol(&ca, &token, &csr2, "203.0.113.9", c.clock.now_ms())
                .await
        ),
        AgentRefusal::TokenUsed
    );
    assert_eq!(
        refused(
            app.enrolment()
                .enrol(&ca, "no-such-token", &csr2, "203.0.113.9", c.clock.now_ms())
                .await
        ),
        AgentRefusal::UnknownToken
    );
    let (_, v) = c
        .post(&path, &op, json!({"equipment_id": unit, "ttl_minutes": 1}))
        .await;
    let short = v["token"].as_str().unwrap().to_string();
    assert_eq!(
        refused(
            app.enrolment()
                .enrol(&ca, &short, &csr2, "203.0.113.9", c.clock.now_ms() + 61_000)
                .await
        ),
        AgentRefusal::TokenExpired
    );
    // An unknown certificate serial is refused.
    assert_eq!(
        refused(
            app.enrolment()
                .identity("abc123", "203.0.113.9", c.clock.now_ms())
                .await
        ),
        AgentRefusal::UnknownCert
    );

    // Marking the unit failed revokes its certificate; the agent is then refused.
    moved(&c, &op, unit, [json!({"to": "failed"})]).await;
    let r = refused(
        app.enrolment()
            .identity(&serial, "198.51.100.7", c.clock.now_ms())
            .await,
    );
    assert_eq!(r, AgentRefusal::Revoked("unit failed".into()));
    // Every refusal is in the audit log with its reason.
    let got = refusals(&c).await;
    let details: Vec<&str> = got.iter().map(|(_, d)| d.as_str()).collect();
    assert_eq!(
        details,
        [
            "the certificate was revoked: unit failed",
            "the certificate is unknown to this center",
            "the enrolment token has expired",
            "the enrolment token is unknown",
            "the enrolment token was already used",
        ]
    );
    c.stop().await;
}
