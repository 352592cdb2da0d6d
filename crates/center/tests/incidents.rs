//! The monitoring's incidents: opened and resolved by the monitoring engine's intents
//! (idempotent, one unresolved incident per problem, also under concurrent intents),
//! seen by each customer only for its own sites, acknowledged, resolved and commented
//! on by operators only, every step audited and in the timeline.

mod gateways_support;
mod support;

use gateways_support::site;
use mamori_api::monitoring::{Incident, IncidentDetail};
use mamori_api::v1 as wire;
use mamori_center::app::monitoring::{Applied, Intent, Severity};
use mamori_center::app::{App, Settings};
use mamori_center::domain::{Scope, SiteId};
use reqwest::StatusCode;
use serde_json::json;
use support::{Backend, Center, ok, problem};

both_backends!(incidents_open_resolve_and_stay_within_their_customer);

fn engine(c: &Center) -> App {
    App {
        store: c.store().clone(),
        settings: Settings {
            clock: c.clock.clone(),
            ..Settings::default()
        },
    }
}

fn down(site: i64) -> Intent {
    Intent::Open {
        key: format!("site/{site}/reachability"),
        site_id: SiteId::new(site),
        severity: Severity::Critical,
        summary: "no answer to ping (3 of 3 lost)".into(),
        in_maintenance: false,
    }
}

fn up(site: i64) -> Intent {
    Intent::Resolve {
        key: format!("site/{site}/reachability"),
    }
}

async fn incidents_open_resolve_and_stay_within_their_customer(backend: Backend) {
    let c = Center::start(backend).await;
    let admin = c.admin().await;
    let operator = c.provider_user(&admin, "operator").await;
    let (alpha, officer_a, _) = c.customer(&admin, "Alpha").await;
    let (beta, officer_b, _) = c.customer(&admin, "Beta").await;
    let staff_a = c.staff(&officer_a, "sato").await;
    let site_a = site(&c, &admin, alpha, "HQ").await;
    let site_b = site(&c, &admin, beta, "Osaka").await;
    let m = engine(&c);
    let now = || c.clock.now_ms();

    // The same problem reported by ten monitoring rounds at once: one incident.
    let rounds: Vec<_> = (0..10)
        .map(|_| {
            let m = m.clone();
            let t = now();
            tokio::spawn(async move { m.monitoring().apply(&down(site_a), t).await.unwrap() })
        })
        .collect();
    let mut opened = Vec::new();
    for r in rounds {
        opened.push(r.await.unwrap());
    }
    let ids: Vec<_> = opened
        .iter()
        .filter_map(|a| match a {
            Applied::Opened(id) => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(ids.len(), 1, "{opened:?}");
    assert_eq!(
        opened.iter().filter(|a| **a == Applied::Unchanged).count(),
        9
    );
    let ia = ids[0].get();
    let Applied::Opened(ib) = m.monitoring().apply(&down(site_b), now()).await.unwrap() else {
        panic!("Beta's incident opens");
    };
    let ib = ib.get();

    // Each customer sees its own; the operator sees both; the back office none.
    let list = |who: &str| {
        let who = who.to_string();
        let c = &c;
        async move {
            let v: Vec<Incident> = ok(StatusCode::OK, c.get("/api/v1/incidents", &who).await);
            v.into_iter().map(|i| i.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(list(&officer_a).await, vec![ia]);
    assert_eq!(list(&staff_a).await, vec![ia]);
    assert_eq!(list(&officer_b).await, vec![ib]);
    assert_eq!(list(&operator).await, vec![ib, ia]);
    let back_office = c.provider_user(&admin, "back_office").await;
    let (s, v) = c.get("/api/v1/incidents", &back_office).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    // Another customer's incident does not exist for them, to read or to act on.
    let (s, _) = c.get(&format!("/api/v1/incidents/{ib}"), &officer_a).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = c
        .post(
            &format!("/api/v1/incidents/{ib}/comments"),
            &officer_a,
            json!({"note": "x"}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // The customer's people see their incident but do not handle it.
    let p = problem(
        StatusCode::FORBIDDEN,
        c.post(
            &format!("/api/v1/incidents/{ia}/acknowledge"),
            &officer_a,
            json!({}),
        )
        .await,
    );
    assert_eq!(p.kind, "urn:mamori:problem:forbidden");

    // The operator acknowledges; doing it twice is a conflict.
    let i: Incident = ok(
        StatusCode::OK,
        c.post(
            &format!("/api/v1/incidents/{ia}/acknowledge"),
            &operator,
            json!({"note": "looking at the uplink"}),
        )
        .await,
    );
    assert_eq!(i.state, "acknowledged");
    let me: wire::Me = ok(StatusCode::OK, c.get("/api/v1/me", &operator).await);
    assert_eq!(i.acknowledged_by, Some(me.user.id));
    let (s, v) = c
        .post(
            &format!("/api/v1/incidents/{ia}/acknowledge"),
            &operator,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let (s, v) = c
        .post(
            &format!("/api/v1/incidents/{ia}/comments"),
            &operator,
            json!({"note": "carrier ticket 4711"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");

    // The gateway answers again five minutes later: resolved by the monitoring, with
    // the time it lasted; a second "up" changes nothing.
    c.clock.advance(300_000);
    assert!(matches!(
        m.monitoring().apply(&up(site_a), now()).await.unwrap(),
        Applied::Resolved(id) if id.get() == ia
    ));
    assert_eq!(
        m.monitoring().apply(&up(site_a), now()).await.unwrap(),
        Applied::Unchanged
    );
    let d: IncidentDetail = ok(
        StatusCode::OK,
        c.get(&format!("/api/v1/incidents/{ia}"), &officer_a).await,
    );
    assert_eq!(d.incident.state, "resolved");
    assert!(d.incident.duration_secs >= 300, "{:?}", d.incident);
    let kinds: Vec<&str> = d.timeline.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["opened", "acknowledged", "comment", "resolved"]);
    assert_eq!(d.timeline[0].actor, None, "opened by the monitoring itself");
    assert_eq!(d.timeline[2].note, "carrier ticket 4711");
    // Filters: by state and by site.
    let open: Vec<Incident> = ok(
        StatusCode::OK,
        c.get("/api/v1/incidents?state=open", &operator).await,
    );
    assert_eq!(open.iter().map(|i| i.id).collect::<Vec<_>>(), vec![ib]);
    let of_a: Vec<Incident> = ok(
        StatusCode::OK,
        c.get(&format!("/api/v1/incidents?site_id={site_a}"), &operator)
            .await,
    );
    assert_eq!(of_a.iter().map(|i| i.id).collect::<Vec<_>>(), vec![ia]);
    let p = problem(
        StatusCode::UNPROCESSABLE_ENTITY,
        c.get("/api/v1/incidents?state=closed", &operator).await,
    );
    assert_eq!(p.field.as_deref(), Some("state"));

    // The same problem again later is a new incident.
    let Applied::Opened(again) = m.monitoring().apply(&down(site_a), now()).await.unwrap() else {
        panic!("a new incident");
    };
    assert_ne!(again.get(), ia);

    // Every step is in the audit trail, the monitoring's own as "monitoring".
    let entries = c
        .store()
        .audit_entries(Scope::All, None, 1000)
        .await
        .unwrap();
    let of = |action: &str| entries.iter().filter(|e| e.action == action).count();
    assert_eq!(of("incident.open"), 3);
    assert_eq!(of("incident.acknowledge"), 1);
    assert_eq!(of("incident.comment"), 1);
    assert_eq!(of("incident.resolve"), 1);
    assert!(entries.iter().any(|e| e.action == "incident.resolve"
        && e.actor == "monitoring"
        && e.detail.contains("duration_ms=3")));
    c.stop().await;
}
