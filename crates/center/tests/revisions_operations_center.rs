//! The operations center's own management access (Art. 5) in every revision, on SQLite
//! and a real PostgreSQL: with `operations_center` configured, a draft whose
//! `[management] center` leaves out one of its addresses is refused (REST API and panel,
//! in Japanese and English, naming the addresses and the line:column of `center`) and
//! nothing is stored; so are a rollback to an older revision without them and the
//! publishing of one approved before the setting. What the center accepts lets the
//! center's ping, SSH, SNMP and HTTPS through (`policy::eval`).

mod gateways_support;
mod support;

use gateways_support::{OFFICE_NETWORK, as_reader, csrf_of};
use mamori_api::revisions::Revision;
use mamori_api::v1::Problem;
use mamori_center::domain::SiteId;
use mamori_policy as policy;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Backend, Center, ok, problem};

both_backends!(
    a_draft_that_leaves_out_the_operations_center_is_refused,
    rollback_and_publish_without_the_operations_center_are_refused,
);

/// The operations center of these tests: a network and an IPv6 prefix.
const OPERATIONS_CENTER: [&str; 2] = ["203.0.113.0/28", "2001:db8:ff::/64"];

/// The small office's policy (`[management] center = "203.0.113.10"`, line 6, column
/// 10), with `center` replaced by `center` when given.
fn policy_text(center: Option<&str>) -> String {
    let network = match center {
        Some(c) => OFFICE_NETWORK.replace("center = \"203.0.113.10\"", &format!("center = {c}")),
        None => OFFICE_NETWORK.to_string(),
    };
    format!(
        "{network}\n[addresses]\nweb = \"192.0.2.10\"\n\n[defaults]\n\"lan->wan\" = \"accept\"\n\"*\" = \"drop\"\n\n[[rules]]\nname = \"web-in\"\nfrom = \"wan\"\nto = \"self\"\naction = \"drop\"\n"
    )
}

const ADDED: &str = "[\"203.0.113.0/28\", \"2001:db8:ff::/64\"]";

const EN: &str = "policy_text: 6:10: [management] center leaves out the operations center's addresses 203.0.113.0/28, 2001:db8:ff::/64 (operations_center in the center's configuration): the center would lose ping, SSH, SNMP and HTTPS to the equipment; add \"203.0.113.0/28\", \"2001:db8:ff::/64\" to center";
const JA: &str = "6行10列: [management] center に運用センターのアドレス 203.0.113.0/28、2001:db8:ff::/64 が含まれていません(センターの設定 operations_center)。このままでは運用センターから機器への ping、SSH、SNMP、HTTPS が届かなくなります。";

fn with_operations_center(cfg: &mut mamori_center::config::Config) {
    cfg.operations_center = OPERATIONS_CENTER.iter().map(|a| a.to_string()).collect();
}

async fn draft(c: &Center, token: &str, site: i64, text: &str, lang: &str) -> (StatusCode, Value) {
    let r = c
        .client
        .post(format!("{}/api/v1/sites/{site}/revisions", c.base))
        .bearer_auth(token)
        .header("accept-language", lang)
        .json(&json!({"policy_text": text, "reason": "management"}))
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap())
}

async fn revision_count(c: &Center, token: &str, site: i64) -> usize {
    let (s, list) = c
        .get(&format!("/api/v1/sites/{site}/revisions"), token)
        .await;
    assert_eq!(s, StatusCode::OK, "{list}");
    list.as_array().unwrap().len()
}

fn revision_actions(audit: &[mamori_center::audit::Entry], site: i64) -> Vec<String> {
    audit
        .iter()
        .filter(|e| e.object.starts_with(&format!("site/{site}/revision/")))
        .map(|e| format!("{} {}", e.action, e.object.rsplit('/').next().unwrap()))
        .collect()
}

/// The center's management traffic from the operations center's IPv4 network to the
/// gateway's WAN address is accepted by the management rules of `text` (the office has
/// no IPv6 address of its own).
fn admits_the_operations_center(text: &str) {
    let p = policy::check(text, &policy::Lists::new()).policy.unwrap();
    for pkt in [
        "icmp 203.0.113.5 -> 198.51.100.1 in wan0",
        "tcp 203.0.113.14:40000 -> 198.51.100.1:22 in wan0",
        "tcp 203.0.113.0:40000 -> 198.51.100.1:443 in wan0",
        "udp 203.0.113.1:40000 -> 198.51.100.1:161 in wan0",
    ] {
        let pkt = policy::Packet::parse(pkt).unwrap();
        let o = policy::eval(&p, &pkt, &policy::Health::all_healthy()).unwrap();
        assert_eq!(
            (o.verdict, &o.matched),
            (policy::Action::Accept, &policy::Matched::Management),
            "{pkt:?}"
        );
    }
}

async fn a_draft_that_leaves_out_the_operations_center_is_refused(backend: Backend) {
    let c = Center::start_with(backend, with_operations_center).await;
    let admin = c.admin().await;
    let coord = c.provider_user(&admin, "coordinator").await;
    let op = c.provider_user(&admin, "operator").await;
    let (cust, _, _) = c.customer(&admin, "Alpha").await;
    let site = gateways_support::site(&c, &admin, cust, "HQ").await;
    let audit_before = c.audit_len().await;

    // REST API, English and Japanese: refused, naming the addresses and `center`.
    let p = problem(
        StatusCode::UNPROCESSABLE_ENTITY,
        draft(&c, &coord, site, &policy_text(None), "en").await,
    );
    assert_eq!(p.detail, EN, "{p:?}");
    assert_eq!(p.field.as_deref(), Some("policy_text"));
    let p = problem(
        StatusCode::UNPROCESSABLE_ENTITY,
        draft(&c, &coord, site, &policy_text(None), "ja").await,
    );
    assert!(p.detail.starts_with(JA), "{p:?}");
    // One of the two is not enough; a network only partly inside is missing.
    let (s, v) = draft(
        &c,
        &coord,
        site,
        &policy_text(Some("[\"203.0.113.0/29\", \"2001:db8:ff::/48\"]")),
        "en",
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let detail = v["detail"].as_str().unwrap();
    assert!(
        detail.contains("leaves out the operations center's address 203.0.113.0/28 ("),
        "{detail}"
    );
    // The panel's draft form, in both languages: the form again with the message.
    let base = format!("/sites/{site}/revisions");
    let (_, form) = gateways_support::panel(&c, &coord, &format!("{base}/new"), "ja").await;
    let csrf = csrf_of(&form);
    for (lang, needle) in [
        (
            "ja",
            "運用センターのアドレス 203.0.113.0/28、2001:db8:ff::/64 が含まれていません",
        ),
        (
            "en",
            "6:10: [management] center leaves out the operations center's addresses 203.0.113.0/28, 2001:db8:ff::/64",
        ),
    ] {
        let r = as_reader(c.client.post(format!("{}{base}", c.base)), &coord, lang)
            .form(&[
                ("csrf", csrf.as_str()),
                ("policy_text", &policy_text(None)),
                ("reason", "management"),
                ("syslog_protocol", "udp"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = r.text().await.unwrap();
        assert!(body.contains(needle), "{lang}: {body}");
    }
    // Nothing was stored, nothing audited.
    assert_eq!(revision_count(&c, &op, site).await, 0);
    assert_eq!(c.audit_len().await, audit_before);

    // With the addresses (or any address) it is accepted, and the center's management
    // traffic from them gets through the policy the center accepted.
    for (n, center) in [(1, ADDED), (2, "\"any\"")] {
        let text = policy_text(Some(center));
        let (s, v) = draft(&c, &coord, site, &text, "en").await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!(v["number"], n);
        admits_the_operations_center(&text);
    }
    let audit = c
        .store()
        .audit_entries(mamori_center::domain::Scope::All, None, 10_000)
        .await
        .unwrap();
    let mut got = revision_actions(&audit, site);
    got.reverse();
    assert_eq!(got, ["revision.draft 1", "revision.draft 2"]);
    c.stop().await;
}

async fn rollback_and_publish_without_the_operations_center_are_refused(backend: Backend) {
    // Center A runs without `operations_center` (the default: no check); center B, on
    // the same database, names it.
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("center.db").display()
    );
    let a = Center::start_with(backend, |cfg| {
        if backend == Backend::Sqlite {
            cfg.database_url = sqlite.clone();
        }
    })
    .await;
    let url = match &a.pg {
        Some(pg) => pg.url(),
        None => sqlite.clone(),
    };
    let admin = a.admin().await;
    let coord = a.provider_user(&admin, "coordinator").await;
    let op = a.provider_user(&admin, "operator").await;
    let (cust, _, _) = a.customer(&admin, "Alpha").await;
    let site = gateways_support::site(&a, &admin, cust, "HQ").await;
    // Revisions 1 and 2 without the operations center: accepted by A (no check);
    // 1 approved, 2 published.
    for n in 1..=2 {
        let (s, v) = draft(&a, &coord, site, &policy_text(None), "en").await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!(v["number"], n);
        let (s, v) = a
            .post(
                &format!("/api/v1/sites/{site}/revisions/{n}/approve"),
                &op,
                json!({}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let (s, v) = a
        .post(
            &format!("/api/v1/sites/{site}/revisions/2/publish"),
            &op,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    let mut cfg = mamori_center::config::Config {
        database_url: url,
        agent_listen: String::new(),
        ..Default::default()
    };
    with_operations_center(&mut cfg);
    let b = a.another(cfg).await;
    let audit_before = b.audit_len().await;
    // A rollback to revision 2 (published, without the addresses) is refused.
    let rollback = |lang: &'static str| {
        b.client
            .post(format!(
                "{}/api/v1/sites/{site}/revisions/2/rollback",
                b.base
            ))
            .bearer_auth(&coord)
            .header("accept-language", lang)
            .json(&json!({"reason": "back to 2"}))
            .send()
    };
    let r = rollback("en").await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let v: Problem = r.json().await.unwrap();
    assert_eq!(v.detail, EN, "{v:?}");
    let r = rollback("ja").await.unwrap();
    let v: Problem = r.json().await.unwrap();
    assert!(v.detail.starts_with(JA), "{v:?}");
    // ... and through the panel.
    let base = format!("/sites/{site}/revisions");
    let (_, page) = gateways_support::panel(&b, &coord, &format!("{base}/2"), "ja").await;
    let csrf = csrf_of(&page);
    let r = as_reader(
        b.client.post(format!("{}{base}/2/rollback", b.base)),
        &coord,
        "ja",
    )
    .form(&[("csrf", csrf.as_str()), ("text", "2 に戻す")])
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("運用センターのアドレス 203.0.113.0/28、2001:db8:ff::/64 が含まれていません"),
        "{body}"
    );
    // Revision 1, approved before the setting, is not published (API and panel).
    let (s, v) = b
        .post(
            &format!("/api/v1/sites/{site}/revisions/1/publish"),
            &op,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["detail"], EN, "{v}");
    let (_, page) = gateways_support::panel(&b, &op, &format!("{base}/1"), "en").await;
    assert!(
        page.contains("id=\"operations-center\"")
            && page.contains("leaves out the operations center's addresses"),
        "the revision's page says why it cannot be published: {page}"
    );
    let csrf_op = csrf_of(&page);
    let r = as_reader(
        b.client.post(format!("{}{base}/1/publish", b.base)),
        &op,
        "en",
    )
    .form(&[("csrf", csrf_op.as_str())])
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Nothing was stored or changed: two revisions, 1 still approved, generation 1.
    assert_eq!(revision_count(&b, &op, site).await, 2);
    let one: Revision = ok(
        StatusCode::OK,
        b.get(&format!("/api/v1/sites/{site}/revisions/1"), &op)
            .await,
    );
    assert_eq!(one.state, "approved");
    let p = b
        .store()
        .published_config(SiteId::new(site))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.generation, 1);
    assert_eq!(b.audit_len().await, audit_before);

    // A revision with the addresses goes the whole way on B.
    let (s, v) = draft(&b, &coord, site, &policy_text(Some(ADDED)), "en").await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["number"], 3);
    for action in ["approve", "publish"] {
        let (s, v) = b
            .post(
                &format!("/api/v1/sites/{site}/revisions/3/{action}"),
                &op,
                json!({}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{action}: {v}");
    }
    let p = b
        .store()
        .published_config(SiteId::new(site))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.generation, 2);
    admits_the_operations_center(&p.policy_text);
    b.stop().await;
    a.stop().await;
}
