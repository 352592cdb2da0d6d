//! Separation between customers for every API endpoint of the foundation that takes an
//! identifier, reads and writes alike, against SQLite and a real PostgreSQL: a user of
//! customer A (its officer, its staff user, and an operator's token scoped to A) asks
//! for customer B's objects by their real ids and by guessed ones. Each answer is 404,
//! the same body as for an object that does not exist, and nothing of B changes.

mod gateways_support;
mod support;

use mamori_api::v1 as wire;
use mamori_center::domain::InstructionId;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Backend, Center, ok, problem};

both_backends!(
    every_identifier_endpoint_answers_404_across_customers,
    staff_cannot_manage_their_companys_users
);

/// A staff user of A tries the officer's user management on A's own users (the officer,
/// another staff user, themself): each is refused with 403 and nothing changes.
async fn staff_cannot_manage_their_companys_users(backend: Backend) {
    let c = Center::start(backend).await;
    let admin = c.admin().await;
    let (_, officer, _) = c.customer(&admin, "Alpha").await;
    let staff = c.staff(&officer, "taro").await;
    c.staff(&officer, "jiro").await;
    let (_, users) = c.get("/api/v1/users", &officer).await;
    let listed: Vec<wire::User> = ok(StatusCode::OK, (StatusCode::OK, users.clone()));
    let ids: Vec<i64> = listed.iter().map(|u| u.id).collect();
    assert_eq!(ids.len(), 3, "{users}");
    for id in &ids {
        for (path, body) in [
            (format!("/api/v1/users/{id}/deactivate"), json!({})),
            (
                format!("/api/v1/users/{id}/role"),
                json!({"role": "officer"}),
            ),
            (format!("/api/v1/users/{id}/role"), json!({"role": "staff"})),
        ] {
            let p = problem(StatusCode::FORBIDDEN, c.post(&path, &staff, body).await);
            assert_eq!(p.kind, "urn:mamori:problem:forbidden", "POST {path}: {p:?}");
        }
    }
    let (_, after) = c.get("/api/v1/users", &officer).await;
    assert_eq!(after, users, "A's users are as they were");
    c.stop().await;
}

async fn every_identifier_endpoint_answers_404_across_customers(backend: Backend) {
    let c = Center::start(backend).await;
    let admin = c.admin().await;
    let operator = c.provider_user(&admin, "operator").await;
    let (a, officer_a, _) = c.customer(&admin, "Alpha").await;
    let (b, officer_b, _) = c.customer(&admin, "Beta").await;
    let staff_a = c.staff(&officer_a, "taro").await;
    // B has a staff user too, for the deactivate and role attempts.
    c.staff(&officer_b, "hanako").await;
    let t: wire::CreatedToken = ok(
        StatusCode::CREATED,
        c.post(
            "/api/v1/tokens",
            &operator,
            json!({"name": "noc-a", "role": "operator", "customer_id": a}),
        )
        .await,
    );
    let token_a = t.token;

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
    let app_b = gateways_support::stock(&c, &admin, "SN-B-9").await;
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
    let ib: wire::Instruction = ok(
        StatusCode::CREATED,
        c.post(
            "/api/v1/instructions",
            &officer_b,
            json!({"subject": "Open port 443", "body": "web", "kind": "policy_change"}),
        )
        .await,
    );
    let ib = ib.id;
    let users_b: Vec<wire::User> = ok(StatusCode::OK, c.get("/api/v1/users", &officer_b).await);
    let user_id = |role: &str| {
        users_b
            .iter()
            .find(|u| u.role == role)
            .unwrap_or_else(|| panic!("B has a {role}: {users_b:?}"))
            .id
    };
    let (officer_b_id, staff_b_id) = (user_id("officer"), user_id("staff"));

    let before = b_state(&c, &officer_b, ib, officer_b_id, staff_b_id).await;
    const GUESS: i64 = 999_999;
    let reads = |id_c: i64, id_s: i64, id_a: i64, id_i: i64, id_u: i64| {
        vec![
            format!("/api/v1/customers/{id_c}"),
            format!("/api/v1/sites/{id_s}"),
            format!("/api/v1/equipment/{id_a}"),
            format!("/api/v1/instructions/{id_i}"),
            format!("/api/v1/users/{id_u}"),
        ]
    };
    let writes = |id_i: i64, id_u: i64, id_staff: i64| {
        vec![
            (format!("/api/v1/instructions/{id_i}/accept"), json!({})),
            (
                format!("/api/v1/instructions/{id_i}/reject"),
                json!({"reason": "no"}),
            ),
            (format!("/api/v1/instructions/{id_i}/done"), json!({})),
            (
                format!("/api/v1/instructions/{id_i}/comments"),
                json!({"body": "hello from A"}),
            ),
            (format!("/api/v1/users/{id_u}/deactivate"), json!({})),
            (format!("/api/v1/users/{id_staff}/deactivate"), json!({})),
            (
                format!("/api/v1/users/{id_staff}/role"),
                json!({"role": "officer"}),
            ),
            (
                format!("/api/v1/users/{id_u}/role"),
                json!({"role": "staff"}),
            ),
        ]
    };

    for (who, caller) in [
        ("A's officer", &officer_a),
        ("A's staff user", &staff_a),
        ("an operator token scoped to A", &token_a),
    ] {
        // The answer for an object that does not exist at all.
        let (s, missing) = c
            .get(&format!("/api/v1/instructions/{GUESS}"), caller)
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{who}: {missing}");
        let real = reads(b, site_b, app_b, ib, officer_b_id);
        let guessed = reads(GUESS, GUESS, GUESS, GUESS, GUESS);
        for path in real.iter().chain(&guessed) {
            let (s, v) = c.get(path, caller).await;
            assert_eq!(s, StatusCode::NOT_FOUND, "{who} GET {path}: {v}");
            assert_eq!(
                v, missing,
                "{who} GET {path}: must not differ from a missing object's answer"
            );
        }
        let real = writes(ib, officer_b_id, staff_b_id);
        let guessed = writes(GUESS, GUESS, GUESS);
        for ((path, body), (guess_path, _)) in real.iter().zip(&guessed) {
            let (s, v) = c.post(path, caller, body.clone()).await;
            let (gs, gv) = c.post(guess_path, caller, body.clone()).await;
            assert_eq!(s, StatusCode::NOT_FOUND, "{who} POST {path}: {v}");
            assert_eq!(gs, StatusCode::NOT_FOUND, "{who} POST {guess_path}: {gv}");
            assert_eq!(
                v, gv,
                "{who} POST {path}: must not differ from a missing object's answer"
            );
        }
    }

    // Nothing of B changed, and B's own audit trail holds nothing of these attempts.
    let after = b_state(&c, &officer_b, ib, officer_b_id, staff_b_id).await;
    assert_eq!(after, before, "B's objects are as they were");
    c.stop().await;
}

/// What customer B's officer sees of B: the instruction (with its state and comments),
/// both users (active, role), and B's audit trail.
async fn b_state(c: &Center, officer_b: &str, ib: i64, officer: i64, staff: i64) -> Vec<Value> {
    let mut out = Vec::new();
    for path in [
        format!("/api/v1/instructions/{ib}"),
        format!("/api/v1/users/{officer}"),
        format!("/api/v1/users/{staff}"),
        "/api/v1/audit?limit=500".to_string(),
    ] {
        let (s, v) = c.get(&path, officer_b).await;
        assert_eq!(s, StatusCode::OK, "B's officer GET {path}: {v}");
        out.push(v);
    }
    let comments = c
        .store()
        .comments(mamori_center::domain::Scope::All, InstructionId::new(ib))
        .await
        .unwrap();
    out.push(json!(comments.len()));
    out
}
