//! The equipment inventory end to end over the REST API, on SQLite and a real
//! PostgreSQL: a unit's whole life (Art. 15) with its history kept, refused moves that
//! say why and change nothing, roles, and separation between customers.

mod gateways_support;
mod support;

use gateways_support::{as_reader, csrf_of, mv, panel, site, stock};
use mamori_api::gateways::Equipment;
use reqwest::StatusCode;
use serde_json::json;
use support::{Backend, Center, ok, problem};

both_backends!(
    art_15_life_of_a_unit_is_kept_in_its_history,
    refused_moves_change_nothing,
    customers_see_only_their_units_and_their_part_of_the_history,
    panel_shows_the_inventory_and_history_in_both_languages,
);

fn states(v: &Equipment) -> Vec<String> {
    v.history.iter().map(|e| e.to.clone()).collect()
}

async fn equipment(c: &Center, token: &str, id: i64) -> Equipment {
    ok(
        StatusCode::OK,
        c.get(&format!("/api/v1/equipment/{id}"), token).await,
    )
}

async fn art_15_life_of_a_unit_is_kept_in_its_history(backend: Backend) {
    let c = Center::start(backend).await;
    let admin = c.admin().await;
    let back = c.provider_user(&admin, "back_office").await;
    let op = c.provider_user(&admin, "operator").await;
    let (cust, _, _) = c.customer(&admin, "Alpha").await;
    let hq = site(&c, &admin, cust, "HQ").await;
    let branch = site(&c, &admin, cust, "Branch").await;

    let id = stock(&c, &back, "SN-0001").await;
    let steps = [
        (
            &back,
            json!({"to": "lent", "customer_id": cust, "note": "contract 42"}),
        ),
        (&op, json!({"to": "installed", "site_id": hq})),
        (&op, json!({"to": "relocating", "note": "office move"})),
        (&op, json!({"to": "installed", "site_id": branch})),
        (&op, json!({"to": "failed", "note": "power supply"})),
        (&op, json!({"to": "replaced"})),
        (&back, json!({"to": "returned"})),
        (&back, json!({"to": "in_stock", "note": "refurbished"})),
    ];
    for (who, body) in steps {
        let v: Equipment = ok(StatusCode::OK, mv(&c, who, id, body.clone()).await);
        assert_eq!(v.state, body["to"].as_str().unwrap());
    }
    let v = equipment(&c, &admin, id).await;
    assert_eq!(
        states(&v),
        [
            "in_stock",
            "lent",
            "installed",
            "relocating",
            "installed",
            "failed",
            "replaced",
            "returned",
            "in_stock"
        ]
    );
    let h = &v.history;
    assert_eq!(h[0].from, None);
    assert_eq!(h[2].site_id, Some(hq));
    assert_eq!(h[4].site_id, Some(branch));
    assert_eq!(h[5].note, "power supply");
    assert_eq!(h[5].actor, "operator@provider.example.jp");
    // The unit is back in stock, with no customer and no site.
    assert_eq!(v.customer_id, None);
    assert_eq!(v.site_id, None);
    // It can be lent again; the old history stays.
    let (cust2, _, _) = c.customer(&admin, "Beta").await;
    let (s, _) = mv(&c, &back, id, json!({"to": "lent", "customer_id": cust2})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(states(&equipment(&c, &admin, id).await).len(), 10);
    // Every move is in the audit log.
    let moves = c
        .store()
        .audit_entries(mamori_center::domain::Scope::All, None, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "equipment.move" && e.object == format!("equipment/{id}"))
        .count();
    assert_eq!(moves, 9);
    // Filters.
    let lent: Vec<Equipment> = ok(
        StatusCode::OK,
        c.get(
            &format!("/api/v1/equipment?state=lent&customer_id={cust2}"),
            &admin,
        )
        .await,
    );
    assert_eq!(lent.iter().map(|e| e.id).collect::<Vec<_>>(), [id]);
    let none: Vec<Equipment> = ok(
        StatusCode::OK,
        c.get(&format!("/api/v1/equipment?customer_id={cust}"), &admin)
            .await,
    );
    assert!(none.is_empty());
    c.stop().await;
}

async fn refused_moves_change_nothing(backend: Backend) {
    let c = Center::start(backend).await;
    let admin = c.admin().await;
    let op = c.provider_user(&admin, "operator").await;
    let (a, officer, _) = c.customer(&admin, "Alpha").await;
    let (b, _, _) = c.customer(&admin, "Beta").await;
    let site_b = site(&c, &admin, b, "Beta HQ").await;
    let id = stock(&c, &admin, "SN-0002").await;
    let before = c.audit_len().await;

    // Operators and customers do not add stock; customers move nothing.
    let (s, _) = c
        .post(
            "/api/v1/equipment",
            &op,
            json!({"serial": "X", "model": "Y"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = mv(&c, &officer, id, json!({"to": "lent", "customer_id": a})).await;
    assert!(
        s == StatusCode::FORBIDDEN || s == StatusCode::NOT_FOUND,
        "{s}"
    );
    // A duplicate serial.
    let p = problem(
        StatusCode::CONFLICT,
        c.post(
            "/api/v1/equipment",
            &admin,
            json!({"serial": "SN-0002", "model": "MG-100"}),
        )
        .await,
    );
    assert_eq!(p.kind, "urn:mamori:problem:conflict");
    // Skipping a state, with the allowed ones named.
    let p = problem(
        StatusCode::UNPROCESSABLE_ENTITY,
        mv(&c, &op, id, json!({"to": "installed", "site_id": site_b})).await,
    );
    assert!(
        p.detail.contains("from in_stock it can become: lent"),
        "{p:?}"
    );
    // Lending without a customer, to a missing customer, an unknown state.
    let p = problem(
        StatusCode::UNPROCESSABLE_ENTITY,
        mv(&c, &op, id, json!({"to": "lent"})).await,
    );
    assert!(p.detail.starts_with("customer_id:"), "{p:?}");
    assert_eq!(p.field.as_deref(), Some("customer_id"));
    let (s, _) = mv(&c, &op, id, json!({"to": "lent", "customer_id": 999_999})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let p = problem(
        StatusCode::UNPROCESSABLE_ENTITY,
        mv(&c, &op, id, json!({"to": "lost"})).await,
    );
    assert!(p.detail.contains("not an equipment state"), "{p:?}");
    assert_eq!(p.field.as_deref(), Some("to"));
    // Installing at another customer's site.
    let (s, _) = mv(&c, &op, id, json!({"to": "lent", "customer_id": a})).await;
    assert_eq!(s, StatusCode::OK);
    let p = problem(
        StatusCode::UNPROCESSABLE_ENTITY,
        mv(&c, &op, id, json!({"to": "installed", "site_id": site_b})).await,
    );
    assert!(p.detail.contains("is not a site of customer"), "{p:?}");
    // Only the one successful move was recorded.
    assert_eq!(
        states(&equipment(&c, &admin, id).await),
        ["in_stock", "lent"]
    );
    assert_eq!(c.audit_len().await, before + 1);
    c.stop().await;
}

async fn customers_see_only_their_units_and_their_part_of_the_history(backend: Backend) {
    let c = Center::start(backend).await;
    let admin = c.admin().await;
    let (a, officer_a, _) = c.customer(&admin, "Alpha").await;
    let (b, officer_b, _) = c.customer(&admin, "Beta").await;
    let id = stock(&c, &admin, "SN-0003").await;
    for body in [
        json!({"to": "lent", "customer_id": a}),
        json!({"to": "returned", "note": "end of lease"}),
        json!({"to": "in_stock"}),
        json!({"to": "lent", "customer_id": b}),
    ] {
        let (s, v) = mv(&c, &admin, id, body).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    // A no longer holds the unit: it is not found, like a missing one.
    let (s, missing) = c.get("/api/v1/equipment/999999", &officer_a).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = c.get(&format!("/api/v1/equipment/{id}"), &officer_a).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(v, missing);
    let list_a: Vec<Equipment> = ok(StatusCode::OK, c.get("/api/v1/equipment", &officer_a).await);
    assert!(list_a.is_empty());
    // B sees the unit, and only the part of its history while it is with B.
    assert_eq!(states(&equipment(&c, &officer_b, id).await), ["lent"]);
    let list_b: Vec<Equipment> = ok(StatusCode::OK, c.get("/api/v1/equipment", &officer_b).await);
    assert_eq!(list_b.len(), 1);
    // Provider staff see all of it.
    assert_eq!(
        states(&equipment(&c, &admin, id).await),
        ["in_stock", "lent", "returned", "in_stock", "lent"]
    );
    c.stop().await;
}

async fn panel_shows_the_inventory_and_history_in_both_languages(backend: Backend) {
    // With the agent listener on, the token page shows the whole enrolment command.
    let c = Center::start_with(backend, |cfg| cfg.agent_listen = "127.0.0.1:0".into()).await;
    let admin = c.admin().await;
    let (a, officer, _) = c.customer(&admin, "Alpha").await;
    let hq = site(&c, &admin, a, "HQ").await;
    let id = stock(&c, &admin, "SN-<7>").await;
    let _other = stock(&c, &admin, "SN-STOCK").await;
    for body in [
        json!({"to": "lent", "customer_id": a}),
        json!({"to": "installed", "site_id": hq, "note": "設置完了"}),
    ] {
        let (s, v) = mv(&c, &admin, id, body).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let (s, ja) = panel(&c, &admin, &format!("/equipment/{id}"), "ja").await;
    assert_eq!(s, StatusCode::OK, "{ja}");
    assert!(ja.contains("SN-&lt;7&gt;"), "{ja}");
    assert!(ja.contains("在庫 → 貸与中"), "{ja}");
    assert!(ja.contains("貸与中 → 設置済み"), "{ja}");
    assert!(ja.contains("設置完了"));
    assert!(ja.contains("年"), "Japanese dates: {ja}");
    let (_, en) = panel(&c, &admin, &format!("/equipment/{id}"), "en").await;
    assert!(en.contains("Lent → Installed"), "{en}");
    // The list filters by state and customer.
    let (_, list) = panel(&c, &admin, "/equipment?state=in_stock", "en").await;
    assert!(
        list.contains("SN-STOCK") && !list.contains("SN-&lt;7&gt;"),
        "{list}"
    );
    let (_, list) = panel(&c, &admin, &format!("/equipment?customer_id={a}"), "en").await;
    assert!(
        !list.contains("SN-STOCK") && list.contains("SN-&lt;7&gt;"),
        "{list}"
    );
    // The officer sees the unit; a unit in stock is not found for the officer.
    let (s, _) = panel(&c, &officer, &format!("/equipment/{id}"), "ja").await;
    assert_eq!(s, StatusCode::OK);
    let (_, list) = panel(&c, &officer, "/equipment", "ja").await;
    assert!(!list.contains("SN-STOCK"));
    let (s, _) = panel(&c, &officer, &format!("/equipment/{_other}"), "ja").await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // An operator creates an enrolment token for the installed unit from its page; the
    // officer's page has no such form and a forged post is refused.
    assert!(ja.contains("id=\"create_token\""), "{ja}");
    let (_, officer_page) = panel(&c, &officer, &format!("/equipment/{id}"), "ja").await;
    assert!(!officer_page.contains("create_token"), "{officer_page}");
    let csrf = csrf_of(&ja);
    let post = |token: &str, csrf: &str| {
        as_reader(
            c.client
                .post(format!("{}/equipment/{id}/enrolment-token", c.base)),
            token,
            "en",
        )
        .form(&[("csrf", csrf), ("ttl_minutes", "30")])
        .send()
    };
    let before = c.audit_len().await;
    let r = post(&admin, "forged").await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(c.audit_len().await, before, "a forged form writes nothing");
    let r = post(&admin, &csrf).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    let marker = "id=\"enrolment_token\">";
    let token_at = page.find(marker).unwrap() + marker.len();
    let token = &page[token_at..token_at + page[token_at..].find('<').unwrap()];
    assert!(token.len() >= 20, "{page}");
    // The command the page suggests puts the token in a file, not on a command line.
    assert!(
        page.contains(&format!("'{token}' &gt; /etc/mamori/enrol.token"))
            && page.contains("--token-file /etc/mamori/enrol.token")
            && !page.contains(&format!("--token {token}")),
        "{page}"
    );
    assert!(c.audit_len().await > before, "the token is audited");
    // The token is stored hashed, never as shown.
    let stored = c
        .store()
        .execute_raw(&format!(
            "UPDATE enrolment_tokens SET site_id = site_id WHERE token_hash = '{}'",
            token.replace('\'', "")
        ))
        .await
        .unwrap();
    assert_eq!(stored, 0, "the token itself is not stored");
    let (s, _) = panel(&c, &officer, &format!("/equipment/{id}"), "ja").await;
    assert_eq!(s, StatusCode::OK);
    c.stop().await;
}
