//! Configuration revisions end to end over the REST API, on SQLite and a real
//! PostgreSQL: the workflow (draft, diagnostics, four-eyes review, publish with the next
//! generation), diff, rollback, the audit trail, separation between customers, and
//! generation numbers that stay unique when two centers publish at once.

mod gateways_support;
mod support;

use gateways_support::OFFICE_NETWORK;
use mamori_api::revisions::{DiffKind, Revision, RevisionDiff};
use mamori_api::v1 as wire;
use mamori_center::domain::{CustomerId, SiteId};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Backend, Center, ok, problem};

both_backends!(
    workflow_from_draft_to_published_generation,
    policy_errors_refuse_a_draft_and_name_line_and_column,
    four_eyes_refuses_the_author_as_reviewer,
    four_eyes_off_lets_the_author_approve,
    diff_summarises_rules_objects_nat_and_settings,
    rollback_drafts_a_copy_that_goes_through_the_workflow,
    customers_read_their_own_revisions_and_nothing_else,
);

/// A small office policy; `extra` is appended (more rules, NAT).
pub fn policy(extra: &str) -> String {
    format!(
        r#"{OFFICE_NETWORK}
[addresses]
office = "192.0.2.0/26"
web = "192.0.2.10"

[defaults]
"lan->wan" = "accept"
"*" = "drop"

[[rules]]
name = "web-in"
from = "wan"
to = "lan"
destination = "web"
service = "tcp/443"
action = "accept"
{extra}"#
    )
}

pub fn settings() -> Value {
    json!({
        "syslog": {"host": "log.example.jp"},
        "snmp_v3": [{"user": "ops", "auth": "sha256", "auth_pass": "auth-secret-1", "privacy": "aes", "priv_pass": "priv-secret-1"}],
        "ntp": ["ntp.example.jp"],
        "dns": ["192.0.2.53"]
    })
}

pub struct World {
    pub c: Center,
    pub admin: String,
    pub coord: String,
    pub op: String,
    pub cust: i64,
    pub officer: String,
    pub site: i64,
}

pub async fn world(c: Center) -> World {
    let admin = c.admin().await;
    let coord = c.provider_user(&admin, "coordinator").await;
    let op = c.provider_user(&admin, "operator").await;
    let (cust, officer, _) = c.customer(&admin, "Alpha").await;
    let site = gateways_support::site(&c, &admin, cust, "HQ").await;
    World {
        c,
        admin,
        coord,
        op,
        cust,
        officer,
        site,
    }
}

pub async fn draft(w: &World, token: &str, extra: &str, reason: &str) -> (StatusCode, Value) {
    w.c.post(
        &format!("/api/v1/sites/{}/revisions", w.site),
        token,
        json!({"policy_text": policy(extra), "settings": settings(), "reason": reason}),
    )
    .await
}

pub async fn act(w: &World, token: &str, n: i64, action: &str, body: Value) -> (StatusCode, Value) {
    w.c.post(
        &format!("/api/v1/sites/{}/revisions/{n}/{action}", w.site),
        token,
        body,
    )
    .await
}

fn actions(audit: &[mamori_center::audit::Entry], site: i64) -> Vec<String> {
    audit
        .iter()
        .filter(|e| e.object.starts_with(&format!("site/{site}/revision/")))
        .map(|e| format!("{} {}", e.action, e.object.rsplit('/').next().unwrap()))
        .collect()
}

async fn workflow_from_draft_to_published_generation(backend: Backend) {
    let w = world(Center::start(backend).await).await;
    let c = &w.c;
    // The officer's instruction the change answers.
    let i: wire::Instruction = ok(
        StatusCode::CREATED,
        c.post(
            "/api/v1/instructions",
            &w.officer,
            json!({"subject": "Open 443", "body": "for the web server", "kind": "policy_change"}),
        )
        .await,
    );
    let instr = i.id;

    // A draft whose policy has a warning (a declared list the center does not have).
    let extra = "\n[lists]\nthreats = { file = \"threats.txt\" }\n";
    let r: Revision = ok(
        StatusCode::CREATED,
        c.post(
            &format!("/api/v1/sites/{}/revisions", w.site),
            &w.coord,
            json!({"policy_text": policy(extra), "settings": settings(), "reason": "open 443 for the web server", "instruction_id": instr}),
        )
        .await,
    );
    assert_eq!(r.number, 1);
    assert_eq!(r.state, "draft");
    assert_eq!(r.author, "coordinator@provider.example.jp");
    assert_eq!(r.instruction_id, Some(instr));
    assert_eq!(r.generation, None);
    let diags = &r.diagnostics;
    assert!(!diags.is_empty(), "the warning is kept: {r:?}");
    assert!(diags.iter().all(|d| d.severity == "warning"), "{r:?}");
    assert!(diags.iter().all(|d| d.line > 0));
    // Provider staff read the pass phrases they configure.
    assert_eq!(r.settings.snmp_v3[0].auth_pass, "auth-secret-1");

    // Not published before approval; a coordinator cannot publish.
    let p = problem(
        StatusCode::CONFLICT,
        act(&w, &w.op, 1, "publish", json!({})).await,
    );
    assert_eq!(p.kind, "urn:mamori:problem:conflict");
    let v: Revision = ok(
        StatusCode::OK,
        act(&w, &w.op, 1, "approve", json!({"note": "looks right"})).await,
    );
    assert_eq!(v.state, "approved");
    assert_eq!(
        v.reviewed_by.as_deref(),
        Some("operator@provider.example.jp")
    );
    assert_eq!(v.review_note.as_deref(), Some("looks right"));
    let (s, _) = act(&w, &w.coord, 1, "publish", json!({})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(
        c.store()
            .published_config(SiteId::new(w.site))
            .await
            .unwrap(),
        None
    );
    let v: Revision = ok(
        StatusCode::OK,
        act(&w, &w.op, 1, "publish", json!({})).await,
    );
    assert_eq!((v.state.as_str(), v.generation), ("published", Some(1)));
    assert_eq!(
        v.published_by.as_deref(),
        Some("operator@provider.example.jp")
    );
    // Published once only.
    let (s, v) = act(&w, &w.op, 1, "publish", json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let p = c
        .store()
        .published_config(SiteId::new(w.site))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((p.generation, p.customer_id), (1, CustomerId::new(w.cust)));
    assert_eq!(p.policy_text, policy(extra));
    assert_eq!(p.settings.snmp_v3[0].priv_pass, "priv-secret-1");

    // A second revision gets generation 2; a rejected one never gets one.
    let (s, _) = draft(&w, &w.coord, "", "drop the list").await;
    assert_eq!(s, StatusCode::CREATED);
    // A rejection needs a note.
    let p = problem(
        StatusCode::UNPROCESSABLE_ENTITY,
        act(&w, &w.op, 2, "reject", json!({})).await,
    );
    assert!(p.detail.starts_with("note:"), "{p:?}");
    assert_eq!(p.field.as_deref(), Some("note"));
    let v: Revision = ok(
        StatusCode::OK,
        act(&w, &w.op, 2, "reject", json!({"note": "keep the list"})).await,
    );
    assert_eq!(v.state, "rejected");
    let (s, _) = act(&w, &w.op, 2, "approve", json!({})).await;
    assert_eq!(
        s,
        StatusCode::CONFLICT,
        "a rejected revision stays rejected"
    );
    let (s, _) = draft(&w, &w.coord, "", "drop the list, agreed").await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(
        act(&w, &w.op, 3, "approve", json!({})).await.0,
        StatusCode::OK
    );
    let v: Revision = ok(
        StatusCode::OK,
        act(&w, &w.admin, 3, "publish", json!({})).await,
    );
    assert_eq!(v.generation, Some(2));
    assert_eq!(
        c.store()
            .published_config(SiteId::new(w.site))
            .await
            .unwrap()
            .unwrap()
            .generation,
        2
    );

    // The history, newest first.
    let list: Vec<Revision> = ok(
        StatusCode::OK,
        c.get(&format!("/api/v1/sites/{}/revisions", w.site), &w.op)
            .await,
    );
    let states: Vec<(i64, &str, Option<i64>)> = list
        .iter()
        .map(|r| (r.number, r.state.as_str(), r.generation))
        .collect();
    assert_eq!(
        states,
        [
            (3, "published", Some(2)),
            (2, "rejected", None),
            (1, "published", Some(1))
        ]
    );
    // Every step is in the audit log.
    let audit = c
        .store()
        .audit_entries(mamori_center::domain::Scope::All, None, 10_000)
        .await
        .unwrap();
    let mut got = actions(&audit, w.site);
    got.reverse();
    assert_eq!(
        got,
        [
            "revision.draft 1",
            "revision.approve 1",
            "revision.publish 1",
            "revision.draft 2",
            "revision.reject 2",
            "revision.draft 3",
            "revision.approve 3",
            "revision.publish 3"
        ]
    );
    assert_eq!(
        c.store().verify_audit().await.unwrap() as usize,
        audit.len()
    );
    w.c.stop().await;
}

async fn policy_errors_refuse_a_draft_and_name_line_and_column(backend: Backend) {
    let w = world(Center::start(backend).await).await;
    let c = &w.c;
    let before = c.audit_len().await;
    // An unknown zone on line 26 (the appended rule's `to`).
    let bad = "\n[[rules]]\nfrom = \"lan\"\nto = \"mars\"\naction = \"accept\"\n";
    let p = problem(
        StatusCode::UNPROCESSABLE_ENTITY,
        draft(&w, &w.coord, bad, "typo").await,
    );
    assert_eq!(p.field.as_deref(), Some("policy_text"));
    let detail = p.detail.as_str();
    assert!(
        detail.starts_with("policy_text: the policy has 1 error(s): 26:6:"),
        "{detail}"
    );
    assert!(detail.contains("mars"), "{detail}");
    // Not TOML at all.
    let p = problem(
        StatusCode::UNPROCESSABLE_ENTITY,
        c.post(
            &format!("/api/v1/sites/{}/revisions", w.site),
            &w.coord,
            json!({"policy_text": "[interfaces\n", "reason": "x"}),
        )
        .await,
    );
    assert!(p.detail.contains(" 1:"), "{p:?}");
    // Bad settings, a missing reason, an unknown settings field, an instruction of
    // another customer.
    let mut bad_settings = settings();
    bad_settings["snmp_v3"][0]["auth_pass"] = json!("short");
    let p = problem(
        StatusCode::UNPROCESSABLE_ENTITY,
        c.post(
            &format!("/api/v1/sites/{}/revisions", w.site),
            &w.coord,
            json!({"policy_text": policy(""), "settings": bad_settings, "reason": "x"}),
        )
        .await,
    );
    assert!(
        p.detail.starts_with("settings: snmp_v3[0].auth_pass:"),
        "{p:?}"
    );
    assert_eq!(p.field.as_deref(), Some("settings"));
    let p = problem(
        StatusCode::UNPROCESSABLE_ENTITY,
        draft(&w, &w.coord, "", "  ").await,
    );
    assert!(p.detail.starts_with("reason:"), "{p:?}");
    let p = problem(
        StatusCode::BAD_REQUEST,
        c.post(
            &format!("/api/v1/sites/{}/revisions", w.site),
            &w.coord,
            json!({"policy_text": policy(""), "settings": {"sylog": {}}, "reason": "x"}),
        )
        .await,
    );
    assert!(p.detail.contains("sylog"), "{p:?}");
    assert_eq!(p.kind, "urn:mamori:problem:malformed");
    let (_, other_officer, _) = c.customer(&w.admin, "Beta").await;
    let i: wire::Instruction = ok(
        StatusCode::CREATED,
        c.post(
            "/api/v1/instructions",
            &other_officer,
            json!({"subject": "x", "body": "y", "kind": "other"}),
        )
        .await,
    );
    let p = problem(
        StatusCode::UNPROCESSABLE_ENTITY,
        c.post(
            &format!("/api/v1/sites/{}/revisions", w.site),
            &w.coord,
            json!({"policy_text": policy(""), "reason": "x", "instruction_id": i.id}),
        )
        .await,
    );
    assert!(p.detail.starts_with("instruction_id:"), "{p:?}");
    // Customers and back office draft nothing.
    let back = c.provider_user(&w.admin, "back_office").await;
    assert_eq!(draft(&w, &back, "", "x").await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        draft(&w, &w.officer, "", "x").await.0,
        StatusCode::FORBIDDEN
    );
    // Nothing was stored.
    let list: Vec<Revision> = ok(
        StatusCode::OK,
        c.get(&format!("/api/v1/sites/{}/revisions", w.site), &w.op)
            .await,
    );
    assert!(list.is_empty());
    let audit = c
        .store()
        .audit_entries(mamori_center::domain::Scope::All, None, 10_000)
        .await
        .unwrap();
    assert!(actions(&audit, w.site).is_empty());
    // (customer Beta and its instruction are the only additions)
    assert!(c.audit_len().await > before);
    w.c.stop().await;
}

async fn four_eyes_refuses_the_author_as_reviewer(backend: Backend) {
    let w = world(Center::start(backend).await).await;
    // The operator drafts; the same operator may not approve it.
    let (s, _) = draft(&w, &w.op, "", "change").await;
    assert_eq!(s, StatusCode::CREATED);
    let p = problem(
        StatusCode::FORBIDDEN,
        act(&w, &w.op, 1, "approve", json!({})).await,
    );
    assert!(p.detail.contains("four-eyes"), "{p:?}");
    let (s, _) = act(&w, &w.op, 1, "reject", json!({"note": "mine"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let r: Revision = ok(
        StatusCode::OK,
        w.c.get(&format!("/api/v1/sites/{}/revisions/1", w.site), &w.op)
            .await,
    );
    assert_eq!(r.state, "draft");
    // Both refusals are in the audit log.
    let denied: Vec<String> =
        w.c.store()
            .audit_entries(mamori_center::domain::Scope::All, None, 10_000)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.outcome == "denied" && e.object == format!("site/{}/revision/1", w.site))
            .map(|e| format!("{} {}", e.action, e.actor))
            .collect();
    assert_eq!(
        denied,
        [
            "revision.reject operator@provider.example.jp",
            "revision.approve operator@provider.example.jp"
        ]
    );
    // Another staff member may.
    let (s, v) = act(&w, &w.coord, 1, "approve", json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Customers review nothing.
    let (s, _) = draft(&w, &w.op, "", "again").await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(
        act(&w, &w.officer, 2, "approve", json!({})).await.0,
        StatusCode::FORBIDDEN
    );
    w.c.stop().await;
}

async fn four_eyes_off_lets_the_author_approve(backend: Backend) {
    let w = world(Center::start_with(backend, |cfg| cfg.four_eyes = false).await).await;
    let (s, _) = draft(&w, &w.op, "", "change").await;
    assert_eq!(s, StatusCode::CREATED);
    let v: Revision = ok(
        StatusCode::OK,
        act(&w, &w.op, 1, "approve", json!({})).await,
    );
    assert_eq!(
        v.reviewed_by.as_deref(),
        Some("operator@provider.example.jp")
    );
    let v: Revision = ok(
        StatusCode::OK,
        act(&w, &w.op, 1, "publish", json!({})).await,
    );
    assert_eq!(v.generation, Some(1));
    w.c.stop().await;
}

async fn diff_summarises_rules_objects_nat_and_settings(backend: Backend) {
    let w = world(Center::start(backend).await).await;
    let c = &w.c;
    assert_eq!(
        draft(&w, &w.coord, "", "first").await.0,
        StatusCode::CREATED
    );
    let extra = r#"
[[rules]]
name = "ssh-in"
from = "wan"
to = "lan"
destination = "web"
service = "tcp/22"
action = "accept"

[[nat.port_forwards]]
name = "cam"
zone = "wan"
protocol = "tcp"
port = 8080
to = "192.0.2.11"
to_port = 80

[[load_balancers]]
name = "app"
zone = "wan"
protocol = "tcp"
address = "198.51.100.1"
port = 8443
health = { check = "tcp", interval = "2s" }
backends = [{ address = "192.0.2.20", port = 8443 }, { address = "192.0.2.21", port = 8443 }]
"#;
    let mut text = policy(extra)
        .replace(
            "web = \"192.0.2.10\"",
            "web = \"192.0.2.12\"\nprinters = \"192.0.2.40\"",
        )
        .replace(
            "service = \"tcp/443\"",
            "service = [\"tcp/443\", \"tcp/80\"]",
        );
    text = text.replace("[defaults]", "[nat]\nmasquerade = [\"wan\"]\n\n[defaults]");
    let mut st = settings();
    st["snmp_v3"][0]["priv_pass"] = json!("priv-secret-2");
    st["dns"] = json!(["192.0.2.53", "192.0.2.54"]);
    let (s, v) = c
        .post(
            &format!("/api/v1/sites/{}/revisions", w.site),
            &w.coord,
            json!({"policy_text": text, "settings": st, "reason": "second"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let d: RevisionDiff = ok(
        StatusCode::OK,
        c.get(
            &format!("/api/v1/sites/{}/revisions/diff?from=1&to=2", w.site),
            &w.op,
        )
        .await,
    );
    let sum = &d.summary;
    assert_eq!(sum.rules_added, ["ssh-in"]);
    assert!(sum.rules_removed.is_empty());
    assert_eq!(sum.rules_changed, ["web-in"], "{sum:?}");
    assert_eq!(sum.objects_added, ["printers"]);
    assert_eq!(sum.objects_changed, ["web"]);
    assert_eq!(sum.nat, ["masquerade wan added", "port forward cam added"]);
    assert_eq!(
        sum.settings,
        ["SNMP user ops: pass phrase changed", "DNS servers changed"]
    );
    assert_eq!(sum.load_balancers, ["load balancer app added"]);
    assert_eq!(sum.unavailable, None);
    let added: Vec<&str> = d
        .policy
        .iter()
        .filter(|l| l.kind == DiffKind::Added)
        .map(|l| l.text.as_str())
        .collect();
    assert!(added.contains(&"name = \"ssh-in\""), "{added:?}");
    assert!(added.contains(&"web = \"192.0.2.12\""), "{added:?}");
    let removed: Vec<_> = d
        .policy
        .iter()
        .filter(|l| l.kind == DiffKind::Removed)
        .collect();
    assert_eq!(removed[0].text, "web = \"192.0.2.10\"");
    assert_eq!(removed[0].old, Some(10));
    let settings_added: Vec<&str> = d
        .settings
        .iter()
        .filter(|l| l.kind == DiffKind::Added)
        .map(|l| l.text.as_str())
        .collect();
    assert!(
        settings_added.contains(&"dns = 192.0.2.54"),
        "{settings_added:?}"
    );
    // The reverse diff swaps added and removed.
    let r: RevisionDiff = ok(
        StatusCode::OK,
        c.get(
            &format!("/api/v1/sites/{}/revisions/diff?from=2&to=1", w.site),
            &w.op,
        )
        .await,
    );
    assert_eq!(r.summary.rules_removed, ["ssh-in"]);
    // Unknown revisions and missing parameters.
    let (s, _) = c
        .get(
            &format!("/api/v1/sites/{}/revisions/diff?from=1&to=9", w.site),
            &w.op,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = c
        .get(
            &format!("/api/v1/sites/{}/revisions/diff?from=1", w.site),
            &w.op,
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    w.c.stop().await;
}

async fn rollback_drafts_a_copy_that_goes_through_the_workflow(backend: Backend) {
    let w = world(Center::start(backend).await).await;
    let c = &w.c;
    for (n, extra, reason) in [
        (1, "", "first"),
        (2, "\n[nat]\nmasquerade = [\"wan\"]\n", "second"),
    ] {
        assert_eq!(
            draft(&w, &w.coord, extra, reason).await.0,
            StatusCode::CREATED
        );
        assert_eq!(
            act(&w, &w.op, n, "approve", json!({})).await.0,
            StatusCode::OK
        );
        assert_eq!(
            act(&w, &w.op, n, "publish", json!({})).await.0,
            StatusCode::OK
        );
    }
    let v: Revision = ok(
        StatusCode::CREATED,
        act(
            &w,
            &w.coord,
            1,
            "rollback",
            json!({"reason": "the NAT broke the printers"}),
        )
        .await,
    );
    assert_eq!(v.number, 3);
    assert_eq!(v.state, "draft");
    assert_eq!(v.restored_from, Some(1));
    assert_eq!(v.policy_text, policy(""));
    let d: RevisionDiff = ok(
        StatusCode::OK,
        c.get(
            &format!("/api/v1/sites/{}/revisions/diff?from=1&to=3", w.site),
            &w.op,
        )
        .await,
    );
    assert!(d.policy.is_empty(), "{d:?}");
    assert!(d.settings.is_empty(), "{d:?}");
    // Still generation 2 until the copy is approved and published.
    assert_eq!(
        c.store()
            .published_config(SiteId::new(w.site))
            .await
            .unwrap()
            .unwrap()
            .generation,
        2
    );
    let (s, _) = act(&w, &w.coord, 3, "approve", json!({})).await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "the author of the rollback does not approve it"
    );
    assert_eq!(
        act(&w, &w.op, 3, "approve", json!({})).await.0,
        StatusCode::OK
    );
    let (s, v) = act(&w, &w.op, 3, "publish", json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let p = c
        .store()
        .published_config(SiteId::new(w.site))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((p.generation, p.policy_text), (3, policy("")));
    // The revisions that were copied and published are unchanged.
    let one: Revision = ok(
        StatusCode::OK,
        c.get(&format!("/api/v1/sites/{}/revisions/1", w.site), &w.op)
            .await,
    );
    assert_eq!((one.state.as_str(), one.generation), ("published", Some(1)));
    let (s, _) = act(&w, &w.coord, 9, "rollback", json!({"reason": "x"})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = act(&w, &w.coord, 1, "rollback", json!({"reason": ""})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    w.c.stop().await;
}

async fn customers_read_their_own_revisions_and_nothing_else(backend: Backend) {
    let w = world(Center::start(backend).await).await;
    let c = &w.c;
    assert_eq!(
        draft(&w, &w.coord, "", "first").await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        draft(&w, &w.coord, "\n[nat]\nmasquerade = [\"wan\"]\n", "second")
            .await
            .0,
        StatusCode::CREATED
    );
    let staff = c.staff(&w.officer, "alice").await;
    let base = format!("/api/v1/sites/{}/revisions", w.site);
    for who in [&w.officer, &staff] {
        let list: Vec<Revision> = ok(StatusCode::OK, c.get(&base, who).await);
        assert_eq!(list.len(), 2);
        let (s, r) = c.get(&format!("{base}/1"), who).await;
        // Pass phrases are not shown to customers: not in the typed answer, nor
        // anywhere in the raw one.
        let typed: Revision = ok(StatusCode::OK, (s, r.clone()));
        assert_eq!(typed.settings.snmp_v3[0].auth_pass, "********");
        assert!(!r.to_string().contains("secret"), "{r}");
        let (s, d) = c.get(&format!("{base}/diff?from=1&to=2"), who).await;
        assert_eq!(s, StatusCode::OK);
        assert!(!d.to_string().contains("secret"), "{d}");
        // Read-only.
        assert_eq!(draft(&w, who, "", "mine").await.0, StatusCode::FORBIDDEN);
        assert_eq!(
            act(&w, who, 1, "approve", json!({})).await.0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            act(&w, who, 1, "rollback", json!({"reason": "x"})).await.0,
            StatusCode::FORBIDDEN
        );
    }
    // Another customer: every path is 404, exactly like a missing site.
    let (_, other, _) = c.customer(&w.admin, "Beta").await;
    for path in [
        base.clone(),
        format!("{base}/1"),
        format!("{base}/diff?from=1&to=2"),
    ] {
        let (s, v) = c.get(&path, &other).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}: {v}");
    }
    for (action, body) in [
        ("approve", json!({})),
        ("reject", json!({"note": "x"})),
        ("publish", json!({})),
        ("rollback", json!({"reason": "x"})),
    ] {
        let (s, _) = act(&w, &other, 1, action, body).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{action}");
    }
    let (s, _) = draft(&w, &other, "", "x").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    w.c.stop().await;
}

/// Two centers on one PostgreSQL publish revisions of the same site at the same time:
/// every publish gets its own generation, 1..=N without a gap, and each revision is
/// published once.
#[cfg(feature = "external")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_publishes_from_two_centers_never_share_a_generation() {
    let w = world(Center::start(Backend::Postgres).await).await;
    let dir_b = tempfile::tempdir().unwrap();
    w.c.share_secret_key(dir_b.path());
    let b = mamori_center::start(mamori_center::config::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir_b.path().to_path_buf(),
        database_url: w.c.pg.as_ref().unwrap().url(),
        log: "warn".into(),
        agent_listen: String::new(),
        ..Default::default()
    })
    .await
    .unwrap();
    let base_b = format!("http://{}", b.addr);
    const N: i64 = 12;
    for n in 1..=N {
        let (s, v) = draft(&w, &w.coord, "", &format!("change {n}")).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!(
            act(&w, &w.op, n, "approve", json!({})).await.0,
            StatusCode::OK
        );
    }
    // Each revision is published twice at once, once through each center.
    let mut tasks = Vec::new();
    for n in 1..=N {
        for base in [w.c.base.clone(), base_b.clone()] {
            let client = w.c.client.clone();
            let url = format!("{base}/api/v1/sites/{}/revisions/{n}/publish", w.site);
            let token = w.op.clone();
            tasks.push(tokio::spawn(async move {
                let r = client
                    .post(url)
                    .bearer_auth(token)
                    .json(&json!({}))
                    .send()
                    .await
                    .unwrap();
                let status = r.status();
                (n, status, r.json::<Value>().await.unwrap())
            }));
        }
    }
    let mut generations = Vec::new();
    for t in tasks {
        let (n, status, v) = t.await.unwrap();
        match status {
            StatusCode::OK => generations.push((v["generation"].as_i64().unwrap(), n)),
            StatusCode::CONFLICT => {}
            other => panic!("revision {n}: {other} {v}"),
        }
    }
    generations.sort();
    assert_eq!(
        generations.len() as i64,
        N,
        "each revision published exactly once"
    );
    let gens: Vec<i64> = generations.iter().map(|g| g.0).collect();
    assert_eq!(gens, (1..=N).collect::<Vec<_>>());
    let mut revs: Vec<i64> = generations.iter().map(|g| g.1).collect();
    revs.sort();
    assert_eq!(revs, (1..=N).collect::<Vec<_>>());
    let newest =
        w.c.store()
            .published_config(SiteId::new(w.site))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(newest.generation, N);
    assert_eq!(
        w.c.store().generations_since(0).await.unwrap(),
        [(w.site, N)]
    );
    b.stop().await.unwrap();
    w.c.stop().await;
}
