//! Account hygiene, on SQLite and PostgreSQL: TOTP codes are taken once, an address in
//! use at another customer is not revealed, expired sessions and used setup links are
//! purged, and centers starting at once on an empty database each print a working
//! bootstrap link.

mod support;

use reqwest::{Method, StatusCode};
use serde_json::json;
use support::{Backend, Center, PASSWORD};

both_backends!(
    totp_code_is_taken_once,
    address_of_another_customer_is_not_revealed,
    expired_sessions_and_used_links_are_purged,
    concurrent_bootstraps_each_print_a_working_link,
    instruction_list_pages,
    the_last_active_administrator_stays
);

/// The provider always keeps an active administrator: the last one can neither be
/// deactivated nor given another role, while one of two can; and when two
/// administrators deactivate each other at the same moment, only one succeeds.
async fn the_last_active_administrator_stays(backend: Backend) {
    let c = Center::start(backend).await;
    let first = c.admin().await;
    let (_, me) = c.get("/api/v1/me", &first).await;
    let first_id = me["user"]["id"].as_i64().unwrap_or_else(|| panic!("{me}"));
    let refused = |s: StatusCode, v: &serde_json::Value| {
        assert_eq!(s, StatusCode::CONFLICT, "{v}");
        assert!(v.to_string().contains("last active administrator"), "{v}");
    };
    // Alone: not even oneself.
    let (s, v) = c
        .post(
            &format!("/api/v1/users/{first_id}/deactivate"),
            &first,
            json!({}),
        )
        .await;
    refused(s, &v);
    // A second administrator.
    let (s, v) = c
        .post(
            "/api/v1/users",
            &first,
            json!({"email": "second@provider.example.jp", "display_name": "Second", "role": "admin"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let second_id = v["user"]["id"].as_i64().unwrap();
    let secret = c
        .setup(v["setup_path"].as_str().unwrap(), None, "Second")
        .await;
    let second = c.login("second@provider.example.jp", &secret).await;
    // One of two may go: the second becomes an operator, and back.
    let (s, v) = c
        .post(
            &format!("/api/v1/users/{second_id}/role"),
            &first,
            json!({"role": "operator"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Now the first is the last one again: refused, by the role change too.
    let (s, v) = c
        .post(
            &format!("/api/v1/users/{first_id}/deactivate"),
            &first,
            json!({}),
        )
        .await;
    refused(s, &v);
    let (s, v) = c
        .post(
            &format!("/api/v1/users/{second_id}/role"),
            &first,
            json!({"role": "admin"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // The role change ended the second's sessions; a new one.
    let second = {
        drop(second);
        c.login("second@provider.example.jp", &secret).await
    };
    // Both at once, each taking the other away: exactly one succeeds.
    let (to_second, to_first) = (
        format!("/api/v1/users/{second_id}/deactivate"),
        format!("/api/v1/users/{first_id}/deactivate"),
    );
    let (a, b) = tokio::join!(
        c.post(&to_second, &first, json!({})),
        c.post(&to_first, &second, json!({})),
    );
    let ok = [&a, &b]
        .iter()
        .filter(|(s, _)| *s == StatusCode::OK)
        .count();
    assert_eq!(ok, 1, "{a:?} {b:?}");
    let (_, users) = c
        .get(
            "/api/v1/users",
            if a.0 == StatusCode::OK {
                &first
            } else {
                &second
            },
        )
        .await;
    let active_admins = users
        .as_array()
        .or_else(|| users["users"].as_array())
        .unwrap_or_else(|| panic!("{users}"))
        .iter()
        .filter(|u| u["role"] == "admin" && u["active"] == true)
        .count();
    assert_eq!(active_admins, 1, "{users}");
    c.stop().await;
}

async fn instruction_list_pages(backend: Backend) {
    let c = Center::start(backend).await;
    let admin = c.admin().await;
    let (_, officer, _) = c.customer(&admin, "Alpha").await;
    let mut ids = Vec::new();
    for n in 0..30 {
        let (s, v) = c
            .post(
                "/api/v1/instructions",
                &officer,
                json!({"subject": format!("n{n}"), "body": "b", "kind": "question"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        ids.push(v["id"].as_i64().unwrap());
    }
    ids.reverse();
    let page = |v: &serde_json::Value| -> Vec<i64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_i64().unwrap())
            .collect()
    };
    // The default page is 25, newest first.
    let (s, v) = c.get("/api/v1/instructions", &officer).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(page(&v), ids[..25]);
    // Keyset pages.
    let (_, v) = c.get("/api/v1/instructions?limit=10", &officer).await;
    assert_eq!(page(&v), ids[..10]);
    let (_, v) = c
        .get(
            &format!("/api/v1/instructions?limit=10&before={}", ids[9]),
            &officer,
        )
        .await;
    assert_eq!(page(&v), ids[10..20]);
    let (_, v) = c
        .get(
            &format!("/api/v1/instructions?limit=100&before={}", ids[19]),
            &officer,
        )
        .await;
    assert_eq!(page(&v), ids[20..]);
    c.stop().await;
}

async fn login_with(c: &Center, email: &str, code: &str) -> (StatusCode, serde_json::Value) {
    c.call(
        Method::POST,
        "/api/v1/login",
        None,
        Some(json!({"email": email, "password": PASSWORD, "totp_code": code})),
    )
    .await
}

async fn totp_code_is_taken_once(backend: Backend) {
    let c = Center::start(backend).await;
    let admin = c.admin().await;
    let (_, _, secret) = c.customer(&admin, "Alpha").await;
    let email = "officer@alpha.example.jp";
    let code = c.code(&secret);
    let (s, v) = login_with(&c, email, &code).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // The same code again, within its window: refused like a wrong code.
    let (s, v) = login_with(&c, email, &code).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    // A code of a later step still works.
    let (s, v) = login_with(&c, email, &c.code(&secret)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // An older step than one already used is refused too.
    let now = c.clock.now_ms() / 1000;
    let old = mamori_center::auth::totp_code(&secret, now - 30).unwrap();
    let (s, _) = login_with(&c, email, &old).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (st, v) = c.get("/api/v1/audit?limit=20", &admin).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert!(
        v.to_string().contains("TOTP code already used"),
        "the replay is in the audit log: {v}"
    );
    c.stop().await;
}

async fn address_of_another_customer_is_not_revealed(backend: Backend) {
    let c = Center::start(backend).await;
    let admin = c.admin().await;
    let (_, _alpha, _) = c.customer(&admin, "Alpha").await;
    let (_, beta, _) = c.customer(&admin, "Beta").await;
    let users_before = c.get("/api/v1/users", &admin).await.1;
    // Beta's officer tries Alpha's officer's address, and a provider admin's.
    for taken in ["officer@alpha.example.jp", "admin@provider.example.jp"] {
        let (s, v) = c
            .post(
                "/api/v1/users",
                &beta,
                json!({"email": taken, "display_name": "X", "role": "staff"}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        let text = v.to_string().to_lowercase();
        assert!(!text.contains("exist"), "{v}");
        assert!(!text.contains("alpha"), "{v}");
        assert!(!text.contains("already"), "{v}");
    }
    // The answer is the one of any other unusable address: same status and shape.
    let (s, v) = c
        .post(
            "/api/v1/users",
            &beta,
            json!({"email": "not an address", "display_name": "X", "role": "staff"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    // Nothing was written.
    assert_eq!(c.get("/api/v1/users", &admin).await.1, users_before);
    // A provider administrator is told why.
    let (s, v) = c
        .post(
            "/api/v1/users",
            &admin,
            json!({"email": "officer@alpha.example.jp", "display_name": "X", "role": "operator"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    c.stop().await;
}

async fn count(c: &Center, sql: &str) -> i64 {
    // Rows counted as the rows an UPDATE that changes nothing visible affects
    // (`execute_raw` reports affected rows).
    c.store().execute_raw(sql).await.unwrap() as i64
}

async fn expired_sessions_and_used_links_are_purged(backend: Backend) {
    let c = Center::start(backend).await;
    let admin = c.admin().await;
    let (_, officer, _) = c.customer(&admin, "Alpha").await;
    let _staff = c.staff(&officer, "hanako").await;
    // The bootstrap and invitation links were used, and purged by the sign-ins that
    // followed.
    assert_eq!(count(&c, "UPDATE setup_links SET used = used").await, 0);
    // An unused, unexpired invitation stays.
    let (s, v) = c
        .post(
            "/api/v1/users",
            &admin,
            json!({"email": "later@provider.example.jp", "display_name": "Later", "role": "operator"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // Make every session expired.
    let sessions = count(&c, "UPDATE sessions SET expires_at = 1").await;
    assert!(sessions >= 3, "{sessions} sessions");
    // Admin's token has expired now: a request is refused.
    let (s, _) = c.get("/api/v1/users", &admin).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // The next sign-in purges.
    let (s, v) = c
        .call(
            Method::POST,
            "/api/v1/login",
            None,
            Some(json!({"email": "hanako@staff.example.jp", "password": PASSWORD})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(count(&c, "UPDATE sessions SET stage = stage").await, 1);
    assert_eq!(
        count(&c, "UPDATE setup_links SET used = used").await,
        1,
        "only the unused invitation is left"
    );
    let (s, _) = c.get("/api/v1/users", v["token"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::OK);
    c.stop().await;
}

async fn concurrent_bootstraps_each_print_a_working_link(backend: Backend) {
    use mamori_center::app::{App, AppError, Settings};
    use mamori_center::store::Store;
    // One center creates the database; its bootstrap link is the first.
    let dir = tempfile::tempdir().unwrap();
    let sqlite_url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("shared.db").display()
    );
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
    let now = support::now_secs() * 1000;
    // Three more processes' worth of bootstraps at once, each with its own pool.
    let mut tasks = Vec::new();
    for _ in 0..3 {
        let url = url.clone();
        let key = c.secret_key();
        tasks.push(tokio::spawn(async move {
            let store = Store::open(&url, 2).await.unwrap().with_secret_key(key);
            let app = App {
                store: store.clone(),
                settings: Settings::default(),
            };
            let t = app.accounts().ensure_bootstrap(now).await.unwrap();
            (app, t)
        }));
    }
    let mut apps = Vec::new();
    let mut tokens = vec![c.bootstrap.clone()];
    for t in tasks {
        let (app, tok) = t.await.unwrap();
        tokens.push(tok.expect("no administrator yet: a link is printed"));
        apps.push(app);
    }
    // Every printed link works.
    for t in &tokens {
        apps[0]
            .accounts()
            .setup_link(t, now)
            .await
            .expect("the link is valid");
    }
    // The first one used creates the administrator; the others are void from then on.
    c.setup(
        &format!("/setup/{}", tokens[2]),
        Some("admin@provider.example.jp"),
        "Admin",
    )
    .await;
    for (i, t) in tokens.iter().enumerate() {
        assert!(
            matches!(
                apps[0].accounts().setup_link(t, now).await,
                Err(AppError::NotFound)
            ),
            "link {i} is void once the administrator exists"
        );
    }
    // A later start prints nothing.
    assert_eq!(
        apps[1].accounts().ensure_bootstrap(now).await.unwrap(),
        None
    );
    for a in apps {
        a.store.close().await;
    }
    c.stop().await;
}
