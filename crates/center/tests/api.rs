//! The REST API end to end, each scenario against SQLite and a real PostgreSQL:
//! separation between customers, roles, the instruction flow, sign-in and lockout,
//! the audit chain under tampering, and bad input.

mod gateways_support;
mod support;

use mamori_api::gateways::Equipment;
use mamori_api::v1 as wire;
use mamori_center::domain::UserId;
use reqwest::{Method, StatusCode};
use serde_json::json;
use support::{Backend, Center, PASSWORD, ok, problem};

both_backends!(
    audit_verify_in_ranges,
    isolation_between_customers,
    staff_cannot_act,
    instruction_flow,
    signin_lockout_and_audit,
    audit_tamper_is_named,
    bad_input_writes_nothing,
    tokens_are_scoped,
    problems_follow_accept_language,
    problems_of_the_edge_speak_the_reader_s_language,
    revoked_sessions_stop_at_once_here_and_elsewhere
);

/// The ids of a list of instructions, in order.
fn ids(v: &[wire::Instruction]) -> Vec<i64> {
    v.iter().map(|x| x.id).collect()
}

/// The instructions a caller lists.
async fn instructions(c: &Center, token: &str) -> Vec<wire::Instruction> {
    ok(StatusCode::OK, c.get("/api/v1/instructions", token).await)
}

async fn isolation_between_customers(backend: Backend) {
    let c = Center::start(backend).await;
    let admin = c.admin().await;
    let (a, officer_a, _) = c.customer(&admin, "Alpha").await;
    let (b, officer_b, _) = c.customer(&admin, "Beta").await;
    let site_b: wire::Site = ok(
        StatusCode::CREATED,
        c.post(
            "/api/v1/sites",
            &admin,
            json!({"customer_id": b, "name": "Beta HQ"}),
        )
        .await,
    );
    let site_b = site_b.id;
    // B's unit of the equipment inventory: stocked, lent to B, installed at B's site.
    let app_b = gateways_support::stock(&c, &admin, "SN-B-1").await;
    let app_a = gateways_support::stock(&c, &admin, "SN-A-1").await;
    gateways_support::moved(&c, &admin, app_a, [json!({"to": "lent", "customer_id": a})]).await;
    gateways_support::moved(
        &c,
        &admin,
        app_b,
        [
            json!({"to": "lent", "customer_id": b}),
            json!({"to": "installed", "site_id": site_b}),
        ],
    )
    .await;
    let ib: wire::Instruction = ok(StatusCode::CREATED, c.post("/api/v1/instructions", &officer_b, json!({"subject": "Open port 443", "body": "for the web server", "kind": "policy_change"})).await);
    let ib = ib.id;
    let users_b: Vec<wire::User> = ok(StatusCode::OK, c.get("/api/v1/users", &officer_b).await);
    let officer_b_id = users_b[0].id;

    // Every endpoint that takes an identifier: B's real ids and guessed ones answer 404,
    // with the same body as for an object that does not exist.
    let (_, missing) = c.get("/api/v1/customers/999999", &officer_a).await;
    for path in [
        format!("/api/v1/customers/{b}"),
        format!("/api/v1/sites/{site_b}"),
        format!("/api/v1/equipment/{app_b}"),
        format!("/api/v1/instructions/{ib}"),
        format!("/api/v1/users/{officer_b_id}"),
        "/api/v1/customers/999999".into(),
        "/api/v1/sites/999999".into(),
        "/api/v1/equipment/999999".into(),
        "/api/v1/instructions/999999".into(),
        "/api/v1/users/999999".into(),
        "/api/v1/instructions/abc".into(),
    ] {
        let (s, v) = c.get(&path, &officer_a).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}: {v}");
        assert_eq!(
            v, missing,
            "{path}: the answer must not differ from a missing object's"
        );
    }
    for (path, body) in [
        (
            format!("/api/v1/instructions/{ib}/comments"),
            json!({"body": "hello"}),
        ),
        (format!("/api/v1/instructions/{ib}/accept"), json!({})),
        (
            format!("/api/v1/users/{officer_b_id}/deactivate"),
            json!({}),
        ),
    ] {
        let (s, v) = c.post(&path, &officer_a, body).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}: {v}");
    }
    let (s, v) = c.post("/api/v1/users", &officer_a, json!({"email": "x@beta.example.jp", "display_name": "x", "role": "staff", "customer_id": b})).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");

    // Lists show only A's objects.
    let cs: Vec<wire::Customer> = ok(StatusCode::OK, c.get("/api/v1/customers", &officer_a).await);
    assert_eq!(cs.iter().map(|x| x.id).collect::<Vec<_>>(), vec![a]);
    let sites: Vec<wire::Site> = ok(StatusCode::OK, c.get("/api/v1/sites", &officer_a).await);
    assert!(sites.iter().all(|x| x.customer_id == a), "{sites:?}");
    let equipment: Vec<Equipment> =
        ok(StatusCode::OK, c.get("/api/v1/equipment", &officer_a).await);
    assert_eq!(
        equipment.iter().map(|x| x.id).collect::<Vec<_>>(),
        vec![app_a],
        "A sees its own unit only"
    );
    assert!(equipment.iter().all(|x| x.customer_id == Some(a)));
    let list = instructions(&c, &officer_a).await;
    assert!(list.iter().all(|x| x.customer_id == a), "{list:?}");
    let us: Vec<wire::User> = ok(StatusCode::OK, c.get("/api/v1/users", &officer_a).await);
    assert!(us.iter().all(|x| x.customer_id == Some(a)), "{us:?}");
    let au: Vec<wire::AuditEntry> = ok(
        StatusCode::OK,
        c.get("/api/v1/audit?limit=500", &officer_a).await,
    );
    assert!(!au.is_empty());
    assert!(au.iter().all(|x| x.customer_id == Some(a)), "{au:?}");

    // Provider staff who do not handle instructions do not see them.
    let (s, _) = c.get("/api/v1/instructions", &admin).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = c.get(&format!("/api/v1/instructions/{ib}"), &admin).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    c.stop().await;
}

async fn staff_cannot_act(backend: Backend) {
    let c = Center::start(backend).await;
    let admin = c.admin().await;
    let (_, officer, _) = c.customer(&admin, "Alpha").await;
    let staff = c.staff(&officer, "hanako").await;
    let i: wire::Instruction = ok(
        StatusCode::CREATED,
        c.post(
            "/api/v1/instructions",
            &officer,
            json!({"subject": "Question", "body": "VPN?", "kind": "question"}),
        )
        .await,
    );
    let id = i.id;
    let before = c.audit_len().await;

    // Staff see the instruction ...
    assert_eq!(ids(&instructions(&c, &staff).await), vec![id]);
    let (s, _) = c.get(&format!("/api/v1/instructions/{id}"), &staff).await;
    assert_eq!(s, StatusCode::OK);
    // ... and every officer-only action is refused.
    for (path, body) in [
        (
            "/api/v1/instructions".to_string(),
            json!({"subject": "s", "body": "b", "kind": "other"}),
        ),
        (
            format!("/api/v1/instructions/{id}/comments"),
            json!({"body": "c"}),
        ),
        (format!("/api/v1/instructions/{id}/accept"), json!({})),
        (
            format!("/api/v1/instructions/{id}/reject"),
            json!({"reason": "no"}),
        ),
        (format!("/api/v1/instructions/{id}/done"), json!({})),
        (
            "/api/v1/users".to_string(),
            json!({"email": "y@staff.example.jp", "display_name": "y", "role": "staff"}),
        ),
        (
            "/api/v1/tokens".to_string(),
            json!({"name": "t", "role": "officer"}),
        ),
        (
            "/api/v1/sites".to_string(),
            json!({"customer_id": 1, "name": "x"}),
        ),
    ] {
        let p = problem(StatusCode::FORBIDDEN, c.post(&path, &staff, body).await);
        assert_eq!(p.status, 403, "{path}: {p:?}");
        assert_eq!(p.kind, "urn:mamori:problem:forbidden", "{path}: {p:?}");
    }
    // The officer may not act as the provider either.
    let (s, _) = c
        .post(
            &format!("/api/v1/instructions/{id}/accept"),
            &officer,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(c.audit_len().await, before, "refused actions write nothing");
    c.stop().await;
}

async fn instruction_flow(backend: Backend) {
    let c = Center::start(backend).await;
    let admin = c.admin().await;
    let operator = c.provider_user(&admin, "operator").await;
    let coordinator = c.provider_user(&admin, "coordinator").await;
    let (a, officer, _) = c.customer(&admin, "Alpha").await;
    let i: wire::Instruction = ok(StatusCode::CREATED, c.post("/api/v1/instructions", &officer, json!({"subject": "Block telnet", "body": "Please block TCP 23\ninbound.", "kind": "policy_change"})).await);
    assert_eq!(i.state, "submitted");
    assert_eq!(i.customer_id, a);
    let id = i.id;

    assert_eq!(ids(&instructions(&c, &operator).await), vec![id]);
    let (s, v) = c
        .post(
            &format!("/api/v1/instructions/{id}/done"),
            &operator,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "done before accept: {v}");
    let v: wire::Instruction = ok(
        StatusCode::OK,
        c.post(
            &format!("/api/v1/instructions/{id}/accept"),
            &operator,
            json!({}),
        )
        .await,
    );
    assert_eq!(v.state, "accepted");
    let (s, _) = c
        .post(
            &format!("/api/v1/instructions/{id}/comments"),
            &coordinator,
            json!({"body": "Scheduled for tonight"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = c
        .post(
            &format!("/api/v1/instructions/{id}/comments"),
            &officer,
            json!({"body": "Thanks"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let v: wire::Instruction = ok(
        StatusCode::OK,
        c.post(
            &format!("/api/v1/instructions/{id}/done"),
            &operator,
            json!({}),
        )
        .await,
    );
    assert_eq!(v.state, "done");
    let v: wire::Instruction = ok(
        StatusCode::OK,
        c.get(&format!("/api/v1/instructions/{id}"), &officer).await,
    );
    assert_eq!(v.comments.len(), 2);

    let j: wire::Instruction = ok(
        StatusCode::CREATED,
        c.post(
            "/api/v1/instructions",
            &officer,
            json!({"subject": "Open all ports", "body": "all", "kind": "other"}),
        )
        .await,
    );
    let j = j.id;
    let (s, v) = c
        .post(
            &format!("/api/v1/instructions/{j}/reject"),
            &coordinator,
            json!({}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a rejection needs a reason: {v}"
    );
    let v: wire::Instruction = ok(
        StatusCode::OK,
        c.post(
            &format!("/api/v1/instructions/{j}/reject"),
            &coordinator,
            json!({"reason": "against policy"}),
        )
        .await,
    );
    assert_eq!(
        (v.state.as_str(), v.reason.as_deref()),
        ("rejected", Some("against policy"))
    );

    let p = problem(
        StatusCode::UNPROCESSABLE_ENTITY,
        c.post(
            "/api/v1/instructions",
            &officer,
            json!({"subject": "x", "body": "y", "kind": "wish"}),
        )
        .await,
    );
    assert!(p.detail.contains("kind"), "{p:?}");
    assert_eq!(p.field.as_deref(), Some("kind"));

    // Roles change only by an administrator, only among provider staff, and are audited.
    let me: wire::Me = ok(StatusCode::OK, c.get("/api/v1/me", &coordinator).await);
    let coord_id = me.user.id;
    let (s, _) = c
        .post(
            &format!("/api/v1/users/{coord_id}/role"),
            &operator,
            json!({"role": "admin"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let me: wire::Me = ok(StatusCode::OK, c.get("/api/v1/me", &officer).await);
    let officer_id = me.user.id;
    let (s, _) = c
        .post(
            &format!("/api/v1/users/{officer_id}/role"),
            &admin,
            json!({"role": "operator"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let v: wire::User = ok(
        StatusCode::OK,
        c.post(
            &format!("/api/v1/users/{coord_id}/role"),
            &admin,
            json!({"role": "operator"}),
        )
        .await,
    );
    assert_eq!(v.role, "operator");
    let (s, _) = c.get("/api/v1/me", &coordinator).await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "a role change ends the user's sessions"
    );

    // The whole story is in the audit log, in order.
    let au: Vec<wire::AuditEntry> = ok(
        StatusCode::OK,
        c.get("/api/v1/audit?limit=500", &admin).await,
    );
    let actions: Vec<&str> = au.iter().rev().map(|e| e.action.as_str()).collect();
    let story = [
        "instruction.submit",
        "instruction.accept",
        "instruction.comment",
        "instruction.comment",
        "instruction.done",
        "instruction.submit",
        "instruction.reject",
    ];
    let found: Vec<&str> = actions
        .iter()
        .copied()
        .filter(|a| a.starts_with("instruction."))
        .collect();
    assert_eq!(found, story);
    assert!(actions.contains(&"user.role"));
    assert_eq!(
        c.store().verify_audit().await.unwrap() as usize,
        c.audit_len().await
    );
    c.stop().await;
}

/// On a fixed clock: each TOTP code is a fresh time step, so nothing waits for one.
async fn signin_lockout_and_audit(backend: Backend) {
    let clock = mamori_center::clock::Clock::fixed(support::now_secs() * 1000);
    let c = Center::start_with_clock(backend, clock, |_| {}).await;
    let admin = c.admin().await;
    let (_, _, secret) = c.customer(&admin, "Alpha").await;
    let email = "officer@alpha.example.jp";
    let login = |pw: &str, code: Option<String>| {
        let mut b = json!({"email": email, "password": pw});
        if let Some(cd) = code {
            b["totp_code"] = json!(cd);
        }
        c.call(Method::POST, "/api/v1/login", None, Some(b))
    };
    // TOTP is mandatory for the officer.
    let (s, _) = login(PASSWORD, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = login(PASSWORD, Some("000000".into())).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = login("wrong password!", Some(c.code(&secret))).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = login("wrong password!", Some(c.code(&secret))).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, v) = login("wrong password!", Some(c.code(&secret))).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    // Five failures lock the account: even the right credentials are refused now, with
    // the answer of a wrong password (which does not tell that the account exists).
    let p = problem(
        StatusCode::UNAUTHORIZED,
        login(PASSWORD, Some(c.code(&secret))).await,
    );
    assert_eq!(p.detail, "wrong e-mail address, password or code", "{p:?}");
    assert_eq!(p.kind, "urn:mamori:problem:unauthenticated");
    let (s, _) = c
        .call(
            Method::POST,
            "/api/v1/login",
            None,
            Some(json!({"email": "nobody@example.jp", "password": "x"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    let au: Vec<wire::AuditEntry> = ok(
        StatusCode::OK,
        c.get("/api/v1/audit?limit=500", &admin).await,
    );
    let signins: Vec<(String, String)> = au
        .iter()
        .filter(|e| e.action == "signin")
        .map(|e| (e.actor.clone(), e.outcome.clone()))
        .collect();
    assert!(signins.contains(&("admin@provider.example.jp".into(), "ok".into())));
    assert_eq!(
        signins
            .iter()
            .filter(|(a, o)| a == email && o == "failed")
            .count(),
        5
    );
    assert!(signins.contains(&(email.into(), "denied".into())));
    assert!(signins.contains(&("nobody@example.jp".into(), "failed".into())));
    c.stop().await;
}

async fn audit_tamper_is_named(backend: Backend) {
    let c = Center::start(backend).await;
    let admin = c.admin().await;
    let (_, officer, _) = c.customer(&admin, "Alpha").await;
    for n in 0..5 {
        let (s, _) = c
            .post(
                "/api/v1/instructions",
                &officer,
                json!({"subject": format!("n{n}"), "body": "b", "kind": "question"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let n = c.store().verify_audit().await.unwrap();
    assert!(n >= 10, "{n}");
    let store = c.store();
    store
        .execute_raw("UPDATE audit_log SET detail = 'nothing happened' WHERE seq = 7")
        .await
        .unwrap();
    let e = store.verify_audit().await.unwrap_err().to_string();
    assert!(e.contains("audit entry 7:"), "{e}");
    // Undo by restoring is impossible without the original; instead check deletion on a
    // second center.
    c.stop().await;

    let c = Center::start(backend).await;
    let admin = c.admin().await;
    c.customer(&admin, "Alpha").await;
    c.store()
        .execute_raw("DELETE FROM audit_log WHERE seq = 3")
        .await
        .unwrap();
    let e = c.store().verify_audit().await.unwrap_err().to_string();
    assert!(e.contains("audit entry 3 is missing"), "{e}");
    c.stop().await;
}

async fn bad_input_writes_nothing(backend: Backend) {
    let c = Center::start(backend).await;
    let admin = c.admin().await;
    let (_, officer, _) = c.customer(&admin, "Alpha").await;
    let before = c.audit_len().await;
    let url = format!("{}/api/v1/instructions", c.base);
    let send = |ct: Option<&'static str>, body: Vec<u8>| {
        let mut rb = c.client.post(&url).bearer_auth(&officer).body(body);
        if let Some(ct) = ct {
            rb = rb.header("content-type", ct);
        }
        async move {
            let r = rb.send().await.unwrap();
            let status = r.status();
            let ct = r
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_string());
            (status, ct, r.text().await.unwrap())
        }
    };
    let good = br#"{"subject":"s","body":"b","kind":"other"}"#.to_vec();
    let big = format!(
        r#"{{"subject":"s","body":"{}","kind":"other"}}"#,
        "x".repeat(200_000)
    )
    .into_bytes();
    let cases: Vec<(Option<&'static str>, Vec<u8>, StatusCode, &str)> = vec![
        (
            Some("application/json"),
            big,
            StatusCode::PAYLOAD_TOO_LARGE,
            "larger",
        ),
        (
            Some("application/json"),
            b"{\"subject\": \"s\", ".to_vec(),
            StatusCode::BAD_REQUEST,
            "line 1",
        ),
        (
            Some("application/json"),
            b"{\"subject\":\"\xff\xfe\",\"body\":\"b\",\"kind\":\"other\"}".to_vec(),
            StatusCode::BAD_REQUEST,
            "UTF-8",
        ),
        (
            Some("text/plain"),
            good.clone(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "application/json",
        ),
        (
            None,
            good.clone(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "application/json",
        ),
        (
            Some("application/json"),
            br#"{"subject":"s","body":"b","kind":"other","extra":1}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "extra",
        ),
        (
            Some("application/json"),
            br#"{"subject":"","body":"b","kind":"other"}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "subject",
        ),
        (
            Some("application/json"),
            br#"{"subject":"a\u0000b","body":"b","kind":"other"}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "control character",
        ),
    ];
    for (ct, body, want, says) in cases {
        let (s, rct, text) = send(ct, body).await;
        assert_eq!(s, want, "{text}");
        assert_eq!(rct.as_deref(), Some("application/problem+json"), "{text}");
        assert!(text.contains(says), "{text} should say {says}");
    }
    // An expired session is refused.
    c.store()
        .execute_raw("UPDATE sessions SET expires_at = 0")
        .await
        .unwrap();
    let (s, rct, text) = send(Some("application/json"), good).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(rct.as_deref(), Some("application/problem+json"), "{text}");
    assert!(
        text.contains("expired"),
        "{text} should say the session expired"
    );
    assert_eq!(c.audit_len().await, before, "bad input writes nothing");
    let all = c
        .store()
        .instructions(mamori_center::domain::Scope::All, 100)
        .await
        .unwrap();
    assert!(all.is_empty());
    c.stop().await;
}

async fn tokens_are_scoped(backend: Backend) {
    let c = Center::start(backend).await;
    let admin = c.admin().await;
    let operator = c.provider_user(&admin, "operator").await;
    let (a, officer_a, _) = c.customer(&admin, "Alpha").await;
    let (b, officer_b, _) = c.customer(&admin, "Beta").await;
    let ia: wire::Instruction = ok(
        StatusCode::CREATED,
        c.post(
            "/api/v1/instructions",
            &officer_a,
            json!({"subject": "a", "body": "a", "kind": "other"}),
        )
        .await,
    );
    let ib: wire::Instruction = ok(
        StatusCode::CREATED,
        c.post(
            "/api/v1/instructions",
            &officer_b,
            json!({"subject": "b", "body": "b", "kind": "other"}),
        )
        .await,
    );
    let (ia, ib) = (ia.id, ib.id);

    // An operator's token restricted to customer A.
    let t: wire::CreatedToken = ok(
        StatusCode::CREATED,
        c.post(
            "/api/v1/tokens",
            &operator,
            json!({"name": "noc-a", "role": "operator", "customer_id": a}),
        )
        .await,
    );
    assert_eq!((t.role.as_str(), t.customer_id), ("operator", Some(a)));
    let tok = t.token.as_str();
    assert_eq!(ids(&instructions(&c, tok).await), vec![ia]);
    let (s, _) = c.get(&format!("/api/v1/instructions/{ib}"), tok).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = c
        .post(&format!("/api/v1/instructions/{ib}/accept"), tok, json!({}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = c.get(&format!("/api/v1/customers/{b}"), tok).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = c
        .post(&format!("/api/v1/instructions/{ia}/accept"), tok, json!({}))
        .await;
    assert_eq!(s, StatusCode::OK);

    // An officer's token is scoped to the officer's customer, whatever it asks for.
    let (s, _) = c
        .post(
            "/api/v1/tokens",
            &officer_a,
            json!({"name": "x", "role": "officer", "customer_id": b}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let t: wire::CreatedToken = ok(
        StatusCode::CREATED,
        c.post(
            "/api/v1/tokens",
            &officer_a,
            json!({"name": "ro", "role": "staff"}),
        )
        .await,
    );
    assert_eq!(t.customer_id, Some(a), "scoped to the officer's customer");
    let ro = t.token.as_str();
    let (s, _) = c
        .post(
            "/api/v1/instructions",
            ro,
            json!({"subject": "s", "body": "b", "kind": "other"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "a staff-role token cannot submit");
    let (s, _) = c.get(&format!("/api/v1/instructions/{ib}"), ro).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Nobody issues a token above their own role.
    let (s, _) = c
        .post(
            "/api/v1/tokens",
            &operator,
            json!({"name": "x", "role": "admin"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = c
        .post(
            "/api/v1/tokens",
            &admin,
            json!({"name": "x", "role": "officer", "customer_id": a}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "the provider cannot act as a customer's officer"
    );
    let (s, _) = c.get("/api/v1/me", "not-a-token").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    c.stop().await;
}

async fn audit_verify_in_ranges(backend: Backend) {
    let c = Center::start(backend).await;
    let store = c.store();
    mamori_center::store::seed::append_audit(store, 2_000, 1_700_000_000_000)
        .await
        .unwrap();
    let n = store.verify_audit_in_ranges(300).await.unwrap();
    assert!(n >= 2_000, "{n}");
    assert_eq!(
        store.verify_audit().await.unwrap(),
        n,
        "one range or many, the same answer"
    );
    // The first entry of a range changed: named.
    store
        .execute_raw("UPDATE audit_log SET detail = 'x' WHERE seq = 1201")
        .await
        .unwrap();
    let e = store
        .verify_audit_in_ranges(300)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("audit entry 1201:"), "{e}");
    // The last entry of an earlier range deleted: that one is named, being first.
    store
        .execute_raw("DELETE FROM audit_log WHERE seq = 600")
        .await
        .unwrap();
    let e = store
        .verify_audit_in_ranges(300)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("audit entry 600 is missing"), "{e}");
    // A link rewritten at a range boundary.
    store
        .execute_raw("UPDATE audit_log SET prev_hash = hash WHERE seq = 301")
        .await
        .unwrap();
    let e = store
        .verify_audit_in_ranges(300)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("audit entry 301:"), "{e}");
    c.stop().await;
}

/// Several center processes share one PostgreSQL database: sessions work on either,
/// concurrent writes through both keep one unbroken audit chain.
#[cfg(feature = "external")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_centers_share_one_postgres() {
    let c = Center::start(Backend::Postgres).await;
    let admin = c.admin().await;
    let (_, officer, _) = c.customer(&admin, "Alpha").await;
    let dir = tempfile::tempdir().unwrap();
    c.share_secret_key(dir.path());
    let second = mamori_center::start(mamori_center::config::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_path_buf(),
        database_url: c.pg.as_ref().unwrap().url(),
        log: "warn".into(),
        agent_listen: String::new(),
        ..Default::default()
    })
    .await
    .unwrap();
    assert!(
        second.bootstrap_token.is_none(),
        "the administrator exists already"
    );
    let bases = [c.base.clone(), format!("http://{}", second.addr)];
    let mut tasks = Vec::new();
    for n in 0..24 {
        let client = c.client.clone();
        let url = format!("{}/api/v1/instructions", bases[n % 2]);
        let officer = officer.clone();
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(officer)
                .json(&json!({"subject": format!("n{n}"), "body": "b", "kind": "question"}))
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::CREATED);
    }
    let entries = c.store().verify_audit().await.unwrap();
    assert_eq!(entries as usize, c.audit_len().await);
    let (_, list) = c.get("/api/v1/instructions?limit=100", &officer).await;
    assert_eq!(list.as_array().unwrap().len(), 24);
    second.stop().await.unwrap();
    c.stop().await;
}

/// A validation problem's `detail` is in the language of the center's one negotiation
/// (`Lang::negotiate`) of the user's stored preference and `Accept-Language`, and in
/// English when no `Accept-Language` is sent (scripts); the status and type do not
/// change.
async fn problems_follow_accept_language(backend: Backend) {
    let c = Center::start(backend).await;
    let admin = c.admin().await;
    let (_, officer, _) = c.customer(&admin, "Alpha").await;
    let url = format!("{}/api/v1/instructions", c.base);
    let body = json!({"subject": "", "body": "b", "kind": "other"});
    let mut seen = Vec::new();
    for (lang, says) in [
        (Some("ja"), "件名を入力してください。"),
        (Some("ja-JP,en;q=0.8"), "件名を入力してください。"),
        (Some("en-US,ja;q=0.9"), "subject: must not be empty"),
        // The best language the center speaks, by quality value (RFC 9110 §12.5.4).
        (Some("fr, ja;q=0.5"), "件名を入力してください。"),
        (Some("fr"), "件名を入力してください。"),
        (None, "subject: must not be empty"),
    ] {
        let mut rb = c.client.post(&url).bearer_auth(&officer).json(&body);
        if let Some(lang) = lang {
            rb = rb.header("accept-language", lang);
        }
        let r = rb.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            r.headers().get("content-type").unwrap(),
            "application/problem+json"
        );
        let v: wire::Problem = r.json().await.unwrap();
        assert_eq!(v.detail, says, "{lang:?}: {v:?}");
        assert_eq!(v.status, 422);
        assert_eq!(v.kind, "urn:mamori:problem:invalid");
        assert_eq!(v.field.as_deref(), Some("subject"));
        seen.push(v.hint.unwrap_or_default());
    }
    assert!(seen[0].contains("件名"), "{seen:?}");
    assert!(seen[2].contains("`subject`"), "{seen:?}");

    // The user's stored preference wins over the header; no header is still English.
    let (_, me) = c.get("/api/v1/me", &officer).await;
    let officer_id = me["user"]["id"].as_i64().unwrap();
    for (pref, lang, says) in [
        ("en", Some("ja"), "subject: must not be empty"),
        ("en", None, "subject: must not be empty"),
        ("ja", Some("en"), "件名を入力してください。"),
        ("ja", None, "subject: must not be empty"),
    ] {
        let mut tx = c.store().begin().await.unwrap();
        tx.set_locale(UserId::new(officer_id), Some(pref))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let mut rb = c.client.post(&url).bearer_auth(&officer).json(&body);
        if let Some(lang) = lang {
            rb = rb.header("accept-language", lang);
        }
        let r = rb.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["detail"], says, "{pref} {lang:?}: {v}");
    }

    // Every kind of error, not only a refused field: a role's refusal in Japanese.
    let staff = c.staff(&officer, "sato").await;
    let r = c
        .client
        .post(&url)
        .bearer_auth(&staff)
        .header("accept-language", "ja")
        .json(&json!({"subject": "s", "body": "b", "kind": "other"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        v["detail"], "指示を出せるのは顧客のセキュリティ責任者だけです。",
        "{v}"
    );
    let all = c
        .store()
        .instructions(mamori_center::domain::Scope::All, 100)
        .await
        .unwrap();
    assert!(all.is_empty());
    c.stop().await;
}

/// The problems answered before any use case (no bearer, an unknown token, a body that
/// is not JSON, malformed JSON, an unknown path, a query of the wrong shape) speak the
/// reader's language too: Japanese to a Japanese reader, English to a script.
async fn problems_of_the_edge_speak_the_reader_s_language(backend: Backend) {
    let c = Center::start(backend).await;
    let admin = c.admin().await;
    let send = |lang: Option<&'static str>, rb: reqwest::RequestBuilder| async move {
        let rb = match lang {
            Some(l) => rb.header("accept-language", l),
            None => rb,
        };
        let r = rb.send().await.unwrap();
        let status = r.status();
        let v: wire::Problem = r.json().await.unwrap();
        (status, v)
    };
    let api = |p: &str| format!("{}/api/v1{p}", c.base);
    type Case<'a> = (
        &'a str,
        reqwest::RequestBuilder,
        StatusCode,
        &'a str,
        &'a str,
    );
    let cases = |c: &Center| -> Vec<Case<'static>> {
        let api = |p: &str| format!("{}/api/v1{p}", c.base);
        vec![
            (
                "no bearer",
                c.client.get(api("/me")),
                StatusCode::UNAUTHORIZED,
                "Bearer トークンがありません。",
                "no bearer token",
            ),
            (
                "unknown token",
                c.client.get(api("/me")).bearer_auth("not-a-token"),
                StatusCode::UNAUTHORIZED,
                "トークンが不明か、失効しているか、期限切れです。",
                "the token is unknown, revoked or expired",
            ),
            (
                "not JSON",
                c.client
                    .post(api("/customers"))
                    .bearer_auth(&admin)
                    .header("content-type", "text/plain")
                    .body("x"),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "本文の形式が \"text/plain\" です。この操作は application/json を受け付けます。",
                "the body is \"text/plain\"; this endpoint takes application/json",
            ),
            (
                "no such endpoint",
                c.client.get(api("/no-such-thing")).bearer_auth(&admin),
                StatusCode::NOT_FOUND,
                "そのエンドポイントはありません。",
                "no such endpoint",
            ),
        ]
    };
    for (lang, ja) in [(Some("ja"), true), (None, false), (Some("en"), false)] {
        for (what, rb, status, in_ja, in_en) in cases(&c) {
            let (s, v) = send(lang, rb).await;
            assert_eq!(s, status, "{what} {lang:?}: {v:?}");
            assert_eq!(v.detail, if ja { in_ja } else { in_en }, "{what} {lang:?}");
            if ja {
                let hint = v.hint.unwrap_or_default();
                assert!(
                    hint.is_empty() || !hint.is_ascii(),
                    "{what}: the hint is Japanese too: {hint}"
                );
            }
        }
    }
    // Malformed JSON names the place in both languages.
    let (s, v) = send(
        Some("ja"),
        c.client
            .post(api("/customers"))
            .bearer_auth(&admin)
            .header("content-type", "application/json")
            .body("{\"name\": "),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        v.detail
            .starts_with("JSON の本文が正しくありません（1 行 9 列）"),
        "{v:?}"
    );
    c.stop().await;
}

/// Revocation (deactivation, role change) refuses the session at once, on this process
/// and on another process sharing the database (sessions are read from the database
/// on every request).
async fn revoked_sessions_stop_at_once_here_and_elsewhere(backend: Backend) {
    use mamori_center::app::{App, Settings};
    use mamori_center::store::Store;
    let dir = tempfile::tempdir().unwrap();
    let sqlite_url = format!("sqlite://{}?mode=rwc", dir.path().join("c.db").display());
    let sqlite = matches!(backend, Backend::Sqlite);
    let c = Center::start_with(backend, |cfg| {
        if sqlite {
            cfg.database_url = sqlite_url.clone();
        }
    })
    .await;
    let url = match &c.pg {
        Some(pg) => pg.url(),
        None => sqlite_url.clone(),
    };
    let admin = c.admin().await;
    let (_, officer, _) = c.customer(&admin, "Alpha").await;
    let staff = c.staff(&officer, "sato").await;
    let operator = c.provider_user(&admin, "operator").await;

    // A second center process on the same database.
    let other = App {
        store: Store::open(&url, 2).await.unwrap(),
        settings: Settings::default(),
    };
    let now = || support::now_secs() * 1000;
    let mut ids = Vec::new();
    for token in [&staff, &operator] {
        // Both processes have served the session.
        let me: wire::Me = ok(StatusCode::OK, c.get("/api/v1/me", token).await);
        ids.push(me.user.id);
        assert!(
            other
                .accounts()
                .session_actor(token, "t", now())
                .await
                .unwrap()
                .is_some()
        );
    }

    // Revoked through this center: refused on the next request.
    let (s, v) = c
        .post(
            &format!("/api/v1/users/{}/deactivate", ids[0]),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        c.get("/api/v1/me", &staff).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (s, v) = c
        .post(
            &format!("/api/v1/users/{}/role", ids[1]),
            &admin,
            json!({"role": "coordinator"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        c.get("/api/v1/me", &operator).await.0,
        StatusCode::UNAUTHORIZED
    );
    // The administrator's own session is untouched.
    assert_eq!(c.get("/api/v1/me", &admin).await.0, StatusCode::OK);

    // The other process: refused at once too.
    for token in [&staff, &operator] {
        assert!(
            other
                .accounts()
                .session_actor(token, "t", now())
                .await
                .unwrap()
                .is_none()
        );
    }
    assert!(
        other
            .accounts()
            .session_actor(&admin, "t", now())
            .await
            .unwrap()
            .is_some()
    );
    other.store.close().await;
    c.stop().await;
}
