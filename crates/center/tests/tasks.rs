//! Background tasks: scheduled runs on the center's clock, runs on demand, what each
//! role may see and do, and what the built-in tasks find.

mod support;

use mamori_api::tasks::{Task, TaskRun};
use mamori_center::clock::Clock;
use reqwest::StatusCode;
use serde_json::json;
use support::{Backend, Center};

both_backends!(
    scheduled_runs_follow_the_clock,
    runs_on_demand_are_for_admins_and_operators,
    the_audit_check_finds_a_changed_entry,
);

fn tasks_of(v: serde_json::Value) -> Vec<Task> {
    serde_json::from_value(v).expect("a list of tasks")
}

fn run_of(v: serde_json::Value) -> TaskRun {
    serde_json::from_value(v).expect("a task run")
}

const HOUR: i64 = 3_600_000;

async fn scheduled_runs_follow_the_clock(backend: Backend) {
    let start = support::now_secs() * 1000;
    let clock = Clock::fixed(start);
    let c = Center::start_with_clock(backend, clock.clone(), |_| {}).await;
    let admin = c.admin().await;
    let tasks = &c.running.as_ref().unwrap().tasks;
    // Signing in moved the clock on (a fresh TOTP step per code); it stands still now.
    let signed_in = clock.now_ms();
    let ms = |t: &str| t.parse::<jiff::Timestamp>().unwrap().as_millisecond();

    // Never run: both are due at once, and each runs exactly once, whoever ticks first
    // (the center's loop, at its start, or this test).
    tasks.tick().await;
    let (s, v) = c.get("/api/v1/tasks", &admin).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let list = tasks_of(v);
    let names: Vec<_> = list.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "accounts.purge",
            "audit.verify",
            "monitoring.agents",
            "monitoring.notify"
        ]
    );
    for t in &list {
        let last = t.last_run.as_ref().expect("ran at once");
        assert_eq!(last.trigger, "schedule");
        assert_eq!(last.outcome.as_deref(), Some("ok"), "{last:?}");
        assert!(
            (start..=signed_in).contains(&ms(&last.started_at)),
            "{last:?}"
        );
    }
    let first = ms(&list[0].last_run.as_ref().unwrap().started_at);
    assert_eq!(list[0].every_secs, Some(3600));
    assert_eq!(
        list[0].next_due.as_deref(),
        Some(mamori_center::domain::rfc3339(first + HOUR).as_str())
    );

    // Not due again until the interval has passed on the center's clock (the minutely
    // look at the agents runs meanwhile).
    assert!(tasks.tick().await.is_empty());
    clock.set(first + HOUR - 1);
    let ran: Vec<String> = tasks.tick().await.into_iter().map(|r| r.task).collect();
    assert_eq!(ran, ["monitoring.agents", "monitoring.notify"]);
    clock.set(first + HOUR);
    tasks.tick().await;
    let (_, v) = c.get("/api/v1/tasks/accounts.purge/runs", &admin).await;
    let runs: Vec<TaskRun> = serde_json::from_value(v).unwrap();
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!(
        runs[0].started_at,
        mamori_center::domain::rfc3339(first + HOUR)
    );
    let (_, v) = c.get("/api/v1/tasks/audit.verify/runs", &admin).await;
    let runs: Vec<TaskRun> = serde_json::from_value(v).unwrap();
    assert_eq!(
        runs.len(),
        1,
        "the daily check is not due after an hour: {runs:?}"
    );

    // Sessions that have expired on the center's clock are purged: the admin's session
    // (valid for a day) is gone two days on.
    let (s, v) = c
        .post(
            "/api/v1/tokens",
            &admin,
            json!({"name": "ops script", "role": "admin"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let api_token = v["token"].as_str().unwrap().to_string();
    clock.advance(48 * HOUR);
    let (s, v) = c
        .post("/api/v1/tasks/accounts.purge/run", &api_token, json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let run = run_of(v);
    assert_eq!(run.trigger, "operator");
    assert_eq!(run.outcome.as_deref(), Some("ok"));
    assert!(
        run.detail.starts_with("removed ") && !run.detail.starts_with("removed 0 "),
        "{run:?}"
    );
    let (s, _) = c.get("/api/v1/me", &admin).await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "the purged session no longer signs in"
    );
    c.stop().await;
}

async fn runs_on_demand_are_for_admins_and_operators(backend: Backend) {
    let c = Center::start(backend).await;
    let admin = c.admin().await;
    let operator = c.provider_user(&admin, "operator").await;
    let coordinator = c.provider_user(&admin, "coordinator").await;
    let (_, officer, _) = c.customer(&admin, "Tanaka").await;
    let staff = c.staff(&officer, "suzuki").await;

    for (who, token) in [("officer", &officer), ("staff", &staff)] {
        let (s, v) = c.get("/api/v1/tasks", token).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{who}: {v}");
        let (s, v) = c.get("/api/v1/tasks/audit.verify/runs", token).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{who}: {v}");
    }
    let (s, v) = c.get("/api/v1/tasks", &coordinator).await;
    assert_eq!(s, StatusCode::OK, "coordinators see the tasks: {v}");
    for (who, token) in [
        ("coordinator", &coordinator),
        ("officer", &officer),
        ("staff", &staff),
    ] {
        let (s, v) = c
            .post("/api/v1/tasks/audit.verify/run", token, json!({}))
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{who}: {v}");
    }

    let before = c.audit_len().await;
    let (s, v) = c
        .post("/api/v1/tasks/audit.verify/run", &operator, json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let run = run_of(v);
    assert_eq!(run.outcome.as_deref(), Some("ok"), "{run:?}");
    assert!(run.detail.contains("the chain is intact"), "{run:?}");
    assert!(run.requested_by.is_some());
    let (_, v) = c.get("/api/v1/audit?limit=5", &admin).await;
    assert!(
        v.to_string().contains("task.run") && c.audit_len().await > before,
        "the run on demand is audited: {v}"
    );

    let (s, v) = c
        .post("/api/v1/tasks/no.such.task/run", &operator, json!({}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let (s, _) = c.get("/api/v1/tasks/%3Cscript%3E/runs", &admin).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Ten operators' clicks at once: each either runs it or is told it is running;
    // every recorded run finished ok.
    let clicks = (0..10).map(|_| c.post("/api/v1/tasks/accounts.purge/run", &operator, json!({})));
    for (s, v) in futures_util::future::join_all(clicks).await {
        assert!(s == StatusCode::OK || s == StatusCode::CONFLICT, "{s} {v}");
    }
    let (_, v) = c
        .get("/api/v1/tasks/accounts.purge/runs?limit=100", &admin)
        .await;
    let runs: Vec<TaskRun> = serde_json::from_value(v).unwrap();
    assert!(!runs.is_empty());
    assert!(
        runs.iter().all(|r| r.outcome.as_deref() == Some("ok")),
        "{runs:?}"
    );
    c.stop().await;
}

async fn the_audit_check_finds_a_changed_entry(backend: Backend) {
    let c = Center::start(backend).await;
    let admin = c.admin().await;
    c.customer(&admin, "Sato").await;
    c.store()
        .execute_raw("UPDATE audit_log SET detail = 'nothing happened' WHERE seq = 3")
        .await
        .unwrap();
    let (s, v) = c
        .post("/api/v1/tasks/audit.verify/run", &admin, json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let run = run_of(v);
    assert_eq!(run.outcome.as_deref(), Some("failed"), "{run:?}");
    assert!(
        run.detail
            .contains("audit entry 3: its content does not match its hash"),
        "the failure names the entry: {run:?}"
    );
    let (_, v) = c.get("/api/v1/tasks", &admin).await;
    let list = tasks_of(v);
    let verify = list.iter().find(|t| t.name == "audit.verify").unwrap();
    assert_eq!(
        verify.last_run.as_ref().and_then(|r| r.outcome.as_deref()),
        Some("failed"),
        "operators see the failed check"
    );
    c.stop().await;
}
