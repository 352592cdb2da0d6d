//! The monitoring's incidents: opened and resolved by the monitoring engine's intents
//! (idempotent, one unresolved incident per problem, also under concurrent intents),
//! seen by each customer only for its own sites, acknowledged, resolved and commented
//! on by operators only, every step audited and in the timeline.

mod gateways_support;
mod support;

use gateways_support::{agent_call, agent_ok, enrolment_token, moved, site, stock};
use mamori_api::agent::EnrolResponse;
use mamori_api::monitoring::{Incident, IncidentDetail};
use mamori_api::v1 as wire;
use mamori_center::app::monitoring::AGENT_SILENT_AFTER_MS;
use mamori_center::app::monitoring::{Applied, Intent, Severity};
use mamori_center::app::{App, Settings};
use mamori_center::ca::new_key_and_csr;
use mamori_center::clock::Clock;
use mamori_center::domain::{Scope, SiteId};
use reqwest::StatusCode;
use serde_json::json;
use support::{Backend, Center, ok, problem};

both_backends!(
    incidents_open_resolve_and_stay_within_their_customer,
    a_silent_agent_opens_an_incident_that_its_next_call_resolves,
    #[cfg(feature = "external")] // the SMTP server
    notifications_are_mailed_in_both_languages_and_retried_until_sent,
);

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

/// The `monitoring.agents` look at the fleet: an enrolled agent that stops calling in
/// opens a critical incident for its site (seen by its customer), and its next call
/// resolves it; the look is a background task that operators see.
async fn a_silent_agent_opens_an_incident_that_its_next_call_resolves(backend: Backend) {
    let clock = Clock::fixed(support::now_secs() * 1000);
    let c = Center::start_with_clock(backend, clock.clone(), |cfg| {
        cfg.agent_listen = "127.0.0.1:0".into()
    })
    .await;
    let admin = c.admin().await;
    let (cust, officer, _) = c.customer(&admin, "Alpha").await;
    let site_id = site(&c, &admin, cust, "HQ").await;
    let unit = stock(&c, &admin, "SN-MON-1").await;
    moved(
        &c,
        &admin,
        unit,
        [
            json!({"to": "lent", "customer_id": cust}),
            json!({"to": "installed", "site_id": site_id}),
        ],
    )
    .await;
    let token = enrolment_token(&c, &admin, site_id, unit).await;
    let listener = c.running.as_ref().unwrap().agent.as_ref().unwrap();
    let (port, ca) = (listener.addr.port(), listener.ca_pem.clone());
    let (key, csr) = new_key_and_csr().unwrap();
    let enrolled: EnrolResponse = agent_ok(
        200,
        agent_call(
            port,
            &ca,
            None,
            "POST",
            "/agent/v1/enrol",
            Some(json!({"token": token, "csr_pem": csr})),
        )
        .await
        .unwrap(),
    );
    let call_in = || async {
        let (s, v) = agent_call(
            port,
            &ca,
            Some((&enrolled.cert_pem, &key)),
            "GET",
            "/agent/v1/whoami",
            None,
        )
        .await
        .unwrap();
        assert_eq!(s, 200, "{v}");
    };
    call_in().await;
    let m = engine(&c);

    // Just called in: nothing to report.
    let w = m.monitoring().watch_agents(clock.now_ms()).await.unwrap();
    assert_eq!((w.units, w.opened, w.resolved), (1, 0, 0), "{w:?}");
    // Silent for a little less than the limit: still nothing; past it: one incident.
    clock.advance(AGENT_SILENT_AFTER_MS - 1_000);
    let w = m.monitoring().watch_agents(clock.now_ms()).await.unwrap();
    assert_eq!(w.opened, 0, "{w:?}");
    clock.advance(2_000);
    let w = m.monitoring().watch_agents(clock.now_ms()).await.unwrap();
    assert_eq!(w.opened, 1, "{w:?}");
    let w = m.monitoring().watch_agents(clock.now_ms()).await.unwrap();
    assert_eq!((w.opened, w.resolved), (0, 0), "once per problem: {w:?}");
    let list: Vec<Incident> = ok(StatusCode::OK, c.get("/api/v1/incidents", &officer).await);
    assert_eq!(list.len(), 1, "{list:?}");
    let i = &list[0];
    assert_eq!(
        (
            i.key.as_str(),
            i.severity.as_str(),
            i.state.as_str(),
            i.site_id
        ),
        (
            format!("unit/{unit}/agent-silent").as_str(),
            "critical",
            "open",
            site_id
        )
    );
    assert!(
        i.summary
            .starts_with("SN-MON-1: no call from the agent since "),
        "{i:?}"
    );

    // The agent calls again: the next look resolves the incident.
    clock.advance(60_000);
    call_in().await;
    let w = m.monitoring().watch_agents(clock.now_ms()).await.unwrap();
    assert_eq!((w.opened, w.resolved), (0, 1), "{w:?}");
    let d: IncidentDetail = ok(
        StatusCode::OK,
        c.get(&format!("/api/v1/incidents/{}", i.id), &officer)
            .await,
    );
    assert_eq!(d.incident.state, "resolved");
    assert_eq!(d.incident.duration_secs, 60);

    // The look runs as a background task, every minute, which operators see.
    let (s, v) = c.get("/api/v1/tasks", &admin).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let tasks: Vec<mamori_api::tasks::Task> = serde_json::from_value(v).unwrap();
    let t = tasks
        .iter()
        .find(|t| t.name == "monitoring.agents")
        .expect("the task");
    assert_eq!(t.every_secs, Some(60));
    c.stop().await;
}

/// The operations center is told by e-mail (Japanese, then English) when an incident
/// opens and when it is resolved, through a real SMTP server; a mail that cannot be
/// handed over stays in the outbox (across processes: the outbox is in the database)
/// and is sent by a later attempt, once; nothing is mailed for an incident opened in a
/// maintenance window.
#[cfg(feature = "external")]
async fn notifications_are_mailed_in_both_languages_and_retried_until_sent(backend: Backend) {
    use mamori_center::app::Notify;
    use mamori_center::app::monitoring::retry_after_ms;
    let c = Center::start(backend).await;
    let admin = c.admin().await;
    let (alpha, _, _) = c.customer(&admin, "Alpha").await;
    let site_a = site(&c, &admin, alpha, "HQ").await;
    let smtp = tokio::task::spawn_blocking(support::smtp::Smtp::start)
        .await
        .unwrap();
    let with_relay = |relay: String| App {
        store: c.store().clone(),
        settings: Settings {
            clock: c.clock.clone(),
            notify: Some(Notify {
                smtp: relay,
                from: "monitoring@provider.example.jp".into(),
                to: "noc@provider.example.jp".into(),
            }),
            ..Settings::default()
        },
    };
    // The relay is down at first: a port where nothing listens.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let down_relay = closed.local_addr().unwrap().to_string();
    drop(closed);
    let broken = with_relay(down_relay);
    let working = with_relay(format!("127.0.0.1:{}", smtp.port));
    let now = || c.clock.now_ms();

    let Applied::Opened(id) = broken
        .monitoring()
        .apply(&down(site_a), now())
        .await
        .unwrap()
    else {
        panic!("opened");
    };
    let s = broken.monitoring().send_notifications(now()).await.unwrap();
    assert_eq!((s.sent, s.failed), (0, 1));
    let d = c.store().monitoring().deliveries(id).await.unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!((d[0].attempts, d[0].sent_at), (1, None));
    assert!(
        d[0].last_error
            .as_deref()
            .unwrap_or("")
            .contains("cannot connect"),
        "{d:?}"
    );
    // Not due again before its retry time, even on a process with a working relay.
    let s = working
        .monitoring()
        .send_notifications(now())
        .await
        .unwrap();
    assert_eq!((s.sent, s.failed), (0, 0));
    c.clock.advance(retry_after_ms(0));
    let s = working
        .monitoring()
        .send_notifications(now())
        .await
        .unwrap();
    assert_eq!((s.sent, s.failed), (1, 0));
    let s = working
        .monitoring()
        .send_notifications(now())
        .await
        .unwrap();
    assert_eq!((s.sent, s.failed), (0, 0), "sent once");
    let mails = smtp.messages();
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].starts_with("X-Rcpt: noc@provider.example.jp"),
        "{}",
        mails[0]
    );
    let body = support::smtp::body_of(&mails[0]);
    let ja = body.find("インシデント").expect("Japanese");
    let en = body.find("Incident").expect("English");
    assert!(ja < en, "Japanese first: {body}");
    assert!(body.contains("Alpha") && body.contains("HQ"), "{body}");
    assert!(
        body.contains(&format!("site/{site_a}/reachability")),
        "{body}"
    );

    // Resolved: a second mail, with the duration.
    c.clock.advance(10 * 60_000);
    working
        .monitoring()
        .apply(&up(site_a), now())
        .await
        .unwrap();
    let s = working
        .monitoring()
        .send_notifications(now())
        .await
        .unwrap();
    assert_eq!(s.sent, 1);
    let mails = smtp.messages();
    assert_eq!(mails.len(), 2);
    let body = support::smtp::body_of(&mails[1]);
    assert!(
        body.contains("解決") && body.contains("resolved after 11 min"),
        "{body}"
    );

    // In a maintenance window: an incident, no mail.
    let in_window = Intent::Open {
        key: "site/maintenance-test".into(),
        site_id: SiteId::new(site_a),
        severity: Severity::Warning,
        summary: "planned reboot".into(),
        in_maintenance: true,
    };
    assert!(matches!(
        working.monitoring().apply(&in_window, now()).await.unwrap(),
        Applied::Opened(_)
    ));
    let s = working
        .monitoring()
        .send_notifications(now())
        .await
        .unwrap();
    assert_eq!(s.sent, 0);
    assert_eq!(smtp.messages().len(), 2);

    // Each attempt is in the audit trail.
    let entries = c
        .store()
        .audit_entries(Scope::All, None, 1000)
        .await
        .unwrap();
    let notify: Vec<_> = entries
        .iter()
        .filter(|e| e.action == "incident.notify")
        .collect();
    assert_eq!(notify.len(), 3, "one failure, two mails: {notify:?}");
    assert_eq!(notify.iter().filter(|e| e.outcome == "failed").count(), 1);
    c.stop().await;
}
