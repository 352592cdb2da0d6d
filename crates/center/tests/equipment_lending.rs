//! Contracts lend units of the one equipment inventory, each scenario on SQLite and a
//! real PostgreSQL: migration 40 moves the former appliance records and the contracts'
//! links into the inventory; accepting an application (or a later "lend a unit") moves
//! units in stock to `lent` through the inventory's rules (Art. 4-3 (1), Art. 15); a
//! unit with another customer is refused in both languages; the end of the contract
//! takes its units back (`returned`); the contract page links its units and the unit's
//! page its contract.

mod support;

use mamori_api::billing as bo_wire;
use mamori_api::gateways::Equipment;
use mamori_center::domain::{ContractId, CustomerId, Scope, SiteId};
use mamori_center::gateways::EquipmentFilter;
use mamori_center::store::Store;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Backend, Center, ok, pg::PgCluster};

both_backends!(
    migration_40_moves_appliances_and_contract_links_into_the_inventory,
    art_15_contracts_lend_units_from_stock_and_take_them_back_at_the_end,
    art_11_1_a_cancellation_takes_units_back_once_its_end_has_come,
);

/// A database at schema 31 (before the one inventory) with appliance records and
/// contracts lending them, then migrated: every unit and every link is kept.
async fn migration_40_moves_appliances_and_contract_links_into_the_inventory(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let pg = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(tokio::task::spawn_blocking(PgCluster::start).await.unwrap()),
    };
    let url = match &pg {
        Some(p) => p.url(),
        None => format!("sqlite://{}?mode=rwc", dir.path().join("c.db").display()),
    };
    let old = Store::open_at_schema(&url, 2, 31).await.unwrap();
    for sql in [
        "INSERT INTO customers (id, name, created_at) VALUES (1, 'Alpha', 1), (2, 'Beta', 1)",
        "INSERT INTO sites (id, customer_id, name, address, created_at) VALUES (10, 1, 'Alpha HQ', 'Tokyo', 1)",
        "INSERT INTO appliances (id, customer_id, site_id, serial, model, created_at) VALUES (100, 1, 10, 'SN-1', 'MG-100', 5), (101, 1, NULL, 'SN-2', 'MG-100', 6), (102, 2, NULL, 'SN-3', 'MG-200', 7), (103, 2, NULL, 'SN-STOCK', 'MG-200', 8)",
        // A unit already in the inventory under the same serial as record 103.
        "INSERT INTO equipment (serial, model, state, customer_id, site_id, created_at, updated_at) VALUES ('SN-STOCK', 'MG-200', 'in_stock', NULL, NULL, 2, 2)",
        "INSERT INTO bo_applications (id, customer_id, line_product, line_id, monthly_fee, start_date, note, state, created_at) VALUES (1, 1, 'fiber', 'L-1', 30000, '2026-04-01', '', 'accepted', 1), (2, 2, 'fiber', 'L-2', 30000, '2026-04-01', '', 'accepted', 1)",
        "INSERT INTO bo_contracts (id, customer_id, application_id, line_product, line_id, start_date, monthly_fee, minimum_term_end, created_at) VALUES (1, 1, 1, 'fiber', 'L-1', '2026-04-01', 30000, '2027-03-31', 1), (2, 2, 2, 'fiber', 'L-2', '2026-04-01', 30000, '2027-03-31', 1)",
        "INSERT INTO bo_contract_equipment (contract_id, appliance_id) VALUES (1, 100), (1, 101), (2, 102), (2, 103)",
    ] {
        old.execute_raw(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    old.close().await;

    let store = Store::open(&url, 2).await.unwrap();
    let units = store
        .equipment_list(Scope::All, &EquipmentFilter::default())
        .await
        .unwrap();
    let by_serial = |s: &str| {
        units
            .iter()
            .find(|u| u.serial == s)
            .unwrap_or_else(|| panic!("unit {s} is in the inventory: {units:?}"))
            .clone()
    };
    assert_eq!(units.len(), 4, "{units:?}");
    let u1 = by_serial("SN-1");
    assert_eq!(u1.model, "MG-100");
    assert_eq!(u1.placement.state.as_str(), "installed");
    assert_eq!(
        (u1.placement.customer_id, u1.placement.site_id),
        (Some(CustomerId::new(1)), Some(SiteId::new(10)))
    );
    let u2 = by_serial("SN-2");
    assert_eq!(u2.placement.state.as_str(), "lent");
    assert_eq!(
        (u2.placement.customer_id, u2.placement.site_id),
        (Some(CustomerId::new(1)), None)
    );
    let u3 = by_serial("SN-3");
    assert_eq!(u3.placement.state.as_str(), "lent");
    assert_eq!(u3.placement.customer_id, Some(CustomerId::new(2)));
    assert_eq!(u3.model, "MG-200");
    let stock = by_serial("SN-STOCK");
    assert_eq!(
        stock.placement.state.as_str(),
        "in_stock",
        "a unit already in the inventory keeps its placement"
    );

    // Each migrated unit says where it came from.
    let ev = store.equipment_events(Scope::All, u1.id).await.unwrap();
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0].actor, "migration 40");
    assert_eq!(ev[0].from, None);
    assert_eq!(ev[0].to.as_str(), "installed");
    assert_eq!(
        ev[0].note,
        "migrated from appliance record 100 (customer 1, site 10)"
    );
    let ev = store.equipment_events(Scope::All, stock.id).await.unwrap();
    assert!(
        ev.iter()
            .any(|e| e.note == "migrated from appliance record 103 (customer 2)"),
        "{ev:?}"
    );
    // Customer 1 sees its units and their history, not customer 2's.
    let mine = store
        .equipment_list(
            Scope::Customer(CustomerId::new(1)),
            &EquipmentFilter::default(),
        )
        .await
        .unwrap();
    let mut serials: Vec<_> = mine.iter().map(|u| u.serial.as_str()).collect();
    serials.sort();
    assert_eq!(serials, ["SN-1", "SN-2"]);

    // The contracts' links point at the units.
    let k1 = store
        .backoffice()
        .contract(Scope::All, ContractId::new(1))
        .await
        .unwrap()
        .unwrap();
    let mut want = vec![u1.id, u2.id];
    want.sort();
    assert_eq!(k1.equipment, want);
    let k2 = store
        .backoffice()
        .contract(Scope::All, ContractId::new(2))
        .await
        .unwrap()
        .unwrap();
    let mut want = vec![u3.id, stock.id];
    want.sort();
    assert_eq!(k2.equipment, want);
    assert_eq!(
        store
            .backoffice()
            .contracts_of_unit(Scope::All, u1.id)
            .await
            .unwrap(),
        vec![(1, None)]
    );
    // Customer 2 does not see customer 1's contract through the unit.
    assert!(
        store
            .backoffice()
            .contracts_of_unit(Scope::Customer(CustomerId::new(2)), u1.id)
            .await
            .unwrap()
            .is_empty()
    );

    // The old table is gone.
    assert!(
        store
            .execute_raw("SELECT COUNT(*) FROM appliances")
            .await
            .is_err()
    );
    store.close().await;

    // Opening again applies nothing twice.
    let again = Store::open(&url, 2).await.unwrap();
    let units2 = again
        .equipment_list(Scope::All, &EquipmentFilter::default())
        .await
        .unwrap();
    assert_eq!(units2.len(), 4);
    assert_eq!(
        again
            .equipment_events(Scope::All, u1.id)
            .await
            .unwrap()
            .len(),
        1
    );
    again.close().await;
    drop(pg);
}

async fn stock(c: &Center, admin: &str, serial: &str) -> i64 {
    let v: Equipment = ok(
        StatusCode::CREATED,
        c.post(
            "/api/v1/equipment",
            admin,
            json!({"serial": serial, "model": "MG-100"}),
        )
        .await,
    );
    v.id
}

async fn unit(c: &Center, token: &str, id: i64) -> Equipment {
    ok(
        StatusCode::OK,
        c.get(&format!("/api/v1/equipment/{id}"), token).await,
    )
}

async fn apply(c: &Center, bo: &str, customer: i64, line: &str) -> i64 {
    let a: bo_wire::Application = ok(
        StatusCode::CREATED,
        c.post(
            "/api/v1/backoffice/applications",
            bo,
            json!({"customer_id": customer, "line_product": "fiber-business", "line_id": line, "monthly_fee": 30000, "start": "2026-04-01"}),
        )
        .await,
    );
    a.id
}

async fn post_lang(
    c: &Center,
    path: &str,
    token: &str,
    body: Value,
    lang: &str,
) -> (StatusCode, Value) {
    let r = c
        .client
        .request(Method::POST, format!("{}{path}", c.base))
        .bearer_auth(token)
        .header("accept-language", lang)
        .json(&body)
        .send()
        .await
        .unwrap();
    let s = r.status();
    (s, r.json().await.unwrap())
}

async fn panel_get(c: &Center, path: &str, token: &str) -> (StatusCode, String) {
    let r = c
        .client
        .get(format!("{}{path}", c.base))
        .header("cookie", format!("mamori_session={token}"))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn art_15_contracts_lend_units_from_stock_and_take_them_back_at_the_end(backend: Backend) {
    let c = Center::start(backend).await;
    let admin = c.admin().await;
    let bo = c.provider_user(&admin, "back_office").await;
    let (a, officer_a, _) = c.customer(&admin, "Alpha").await;
    let (b, officer_b, _) = c.customer(&admin, "Beta").await;
    let (_, site) = c
        .post(
            "/api/v1/sites",
            &admin,
            json!({"customer_id": a, "name": "Alpha HQ"}),
        )
        .await;
    let site_a = site["id"].as_i64().unwrap();
    let u1 = stock(&c, &bo, "LEND-1").await;
    let u2 = stock(&c, &bo, "LEND-2").await;
    let u3 = stock(&c, &bo, "LEND-3").await;
    // u3 is lent to Beta through the inventory.
    let (s, v) = c
        .post(
            &format!("/api/v1/equipment/{u3}/move"),
            &bo,
            json!({"to": "lent", "customer_id": b}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // Accepting Alpha's application lends u1 from stock.
    let app1 = apply(&c, &bo, a, "L-A-1").await;
    let (s, v) = c
        .post(
            &format!("/api/v1/backoffice/applications/{app1}/accept"),
            &bo,
            json!({"equipment": [u1]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let k = v["contract"]["id"].as_i64().unwrap();
    assert_eq!(v["contract"]["equipment"], json!([u1]));
    let x = unit(&c, &bo, u1).await;
    assert_eq!(x.state, "lent");
    assert_eq!(x.customer_id, Some(a));
    let last = x.history.last().unwrap().clone();
    assert_eq!(last.from.as_deref(), Some("in_stock"));
    assert_eq!(last.to, "lent");
    assert_eq!(last.note, format!("lent under contract {k}"));

    // A unit with another customer is refused, in English and in Japanese, and
    // nothing is written: the application stays pending.
    let app2 = apply(&c, &bo, a, "L-A-2").await;
    let path = format!("/api/v1/backoffice/applications/{app2}/accept");
    let (s, v) = post_lang(&c, &path, &bo, json!({"equipment": [u3]}), "en").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(
        v["detail"],
        format!(
            "equipment: equipment {u3} (LEND-3) is lent with another customer; only equipment in stock, or equipment already with this customer and under no other contract, can be lent"
        ),
        "{v}"
    );
    let (s, v) = post_lang(&c, &path, &bo, json!({"equipment": [u3]}), "ja").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(
        v["detail"],
        format!(
            "機器 {u3}（LEND-3）は「貸与中」（他の顧客に貸与中）のため貸与できません。在庫の機器、またはこの顧客の手元にあり他の契約に属さない機器を選んでください。"
        ),
        "{v}"
    );
    // u1 is already lent under contract k: refused for another contract too.
    let (s, v) = c.post(&path, &bo, json!({"equipment": [u1]})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        v["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("under contract {k}")),
        "{v}"
    );
    let (s, v) = c.post(&path, &bo, json!({"equipment": [999999]})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (_, ap) = c
        .get(&format!("/api/v1/backoffice/applications/{app2}"), &bo)
        .await;
    assert_eq!(ap["state"], "pending", "{ap}");
    assert_eq!(unit(&c, &bo, u3).await.customer_id, Some(b));

    // A later "lend a unit" takes u2 from stock; an officer may not do it.
    let lend = format!("/api/v1/backoffice/contracts/{k}/equipment");
    let (s, _) = c.post(&lend, &officer_a, json!({"equipment_id": u2})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = c.post(&lend, &bo, json!({"equipment_id": u2})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let mut want = vec![u1, u2];
    want.sort();
    assert_eq!(v["equipment"], json!(want));
    assert_eq!(unit(&c, &bo, u2).await.state, "lent");

    // u1 is installed at Alpha's site.
    let (s, v) = c
        .post(
            &format!("/api/v1/equipment/{u1}/move"),
            &admin,
            json!({"to": "installed", "site_id": site_a}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // The officer reads the contract with its units; Beta's officer does not.
    let (s, v) = c
        .get(&format!("/api/v1/backoffice/contracts/{k}"), &officer_a)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["equipment"], json!(want));
    let (s, _) = c
        .get(&format!("/api/v1/backoffice/contracts/{k}"), &officer_b)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The contract page links its units; the unit's page links its contract.
    let (s, html) = panel_get(&c, &format!("/backoffice/contracts/{k}"), &officer_a).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(
        html.contains(&format!("<a href=\"/equipment/{u1}\">LEND-1</a>")),
        "{html}"
    );
    assert!(
        html.contains(&format!("<a href=\"/equipment/{u2}\">LEND-2</a>")),
        "{html}"
    );
    let (s, html) = panel_get(&c, &format!("/equipment/{u1}"), &officer_a).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(
        html.contains(&format!(
            "<a href=\"/backoffice/contracts/{k}\">Contract #{k}</a>"
        )),
        "{html}"
    );
    let (s, html) = panel_get(&c, &format!("/backoffice/contracts/{k}"), &bo).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("id=\"lend_form\""), "staff can lend more");
    assert!(
        !panel_get(&c, &format!("/backoffice/contracts/{k}"), &officer_a)
            .await
            .1
            .contains("lend_form"),
        "not to the officer"
    );
    // The panel's form: Beta's unit is refused in Japanese, a unit in stock is lent.
    let csrf = {
        let key = "name=\"csrf\" value=\"";
        let at = html.find(key).unwrap() + key.len();
        html[at..at + html[at..].find('"').unwrap()].to_string()
    };
    let form = |unit: String| {
        c.client
            .post(format!("{}/backoffice/contracts/{k}/equipment", c.base))
            .header("cookie", format!("mamori_session={bo}"))
            .header("accept-language", "ja")
            .form(&[("csrf", csrf.clone()), ("equipment", unit)])
            .send()
    };
    let r = form(format!("#{u3}")).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(
        page.contains(&format!(
            "機器 {u3}（LEND-3）は「貸与中」（他の顧客に貸与中）のため貸与できません。"
        )),
        "{page}"
    );
    let u5 = stock(&c, &bo, "LEND-5").await;
    let r = form(format!("#{u5}")).await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(unit(&c, &bo, u5).await.state, "lent");

    // Art. 12: urgent termination ending today: the units go back by the life cycle.
    let today = jiff::tz::Offset::constant(9)
        .to_datetime(jiff::Timestamp::now())
        .date();
    let (s, v) = c
        .post(
            &format!("/api/v1/backoffice/contracts/{k}/terminate"),
            &bo,
            json!({"reason": "non_payment", "urgent": true, "end": today.to_string()}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let x1 = unit(&c, &bo, u1).await;
    assert_eq!(x1.state, "returned", "{x1:?}");
    let moves: Vec<(Option<&str>, &str)> = x1
        .history
        .iter()
        .map(|h| (h.from.as_deref(), h.to.as_str()))
        .collect();
    assert_eq!(
        &moves[moves.len() - 2..],
        &[
            (Some("installed"), "disconnected"),
            (Some("disconnected"), "returned")
        ],
        "{x1:?}"
    );
    assert!(
        x1.history
            .last()
            .unwrap()
            .note
            .contains(&format!("contract {k} ended")),
        "{x1:?}"
    );
    let x2 = unit(&c, &bo, u2).await;
    assert_eq!(x2.state, "returned");
    assert_eq!(x2.customer_id, None);
    // The unit's page still names the contract, as taken back.
    let (_, html) = panel_get(&c, &format!("/equipment/{u1}"), &bo).await;
    assert!(html.contains("taken back at the contract's end"), "{html}");
    // Nothing is left to take back; a second run changes nothing.
    let (s, v) = c
        .post("/api/v1/backoffice/equipment-returns", &bo, json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v, json!([]));
    // No unit can be lent under the ended contract.
    let u4 = stock(&c, &bo, "LEND-4").await;
    let (s, v) = c.post(&lend, &bo, json!({"equipment_id": u4})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(unit(&c, &bo, u4).await.state, "in_stock");

    // A returned unit goes back to stock and can be lent under a new contract.
    let (s, v) = c
        .post(
            &format!("/api/v1/equipment/{u2}/move"),
            &bo,
            json!({"to": "in_stock", "note": "inspected"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = c
        .post(
            &format!("/api/v1/backoffice/applications/{app2}/accept"),
            &bo,
            json!({"equipment": [u2]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(unit(&c, &bo, u2).await.customer_id, Some(a));

    // Every lending and taking back is in the audit log.
    let actions: Vec<String> = c
        .store()
        .audit_entries(Scope::All, None, 100_000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    let n = |a: &str| actions.iter().filter(|x| *x == a).count();
    assert_eq!(n("contract.lend_unit"), 4, "{actions:?}");
    assert_eq!(n("contract.take_back_unit"), 3, "{actions:?}");
    assert_eq!(unit(&c, &bo, u5).await.state, "returned");
    c.stop().await;
}

/// Art. 11-1 and 15: a cancellation ends the contract 30 days or more later, so its
/// units stay lent until then; once the end date has passed, the returns run takes
/// them back (once), and leaves the units of running contracts alone.
async fn art_11_1_a_cancellation_takes_units_back_once_its_end_has_come(backend: Backend) {
    let c = Center::start(backend).await;
    let admin = c.admin().await;
    let bo = c.provider_user(&admin, "back_office").await;
    let (a, officer_a, _) = c.customer(&admin, "Alpha").await;
    let u1 = stock(&c, &bo, "RUN-1").await;
    let u2 = stock(&c, &bo, "RUN-2").await;
    let mut contracts = Vec::new();
    for (line, u) in [("L-R-1", u1), ("L-R-2", u2)] {
        let app = apply(&c, &bo, a, line).await;
        let (s, v) = c
            .post(
                &format!("/api/v1/backoffice/applications/{app}/accept"),
                &bo,
                json!({"equipment": [u]}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        contracts.push(v["contract"]["id"].as_i64().unwrap());
    }
    let today = jiff::tz::Offset::constant(9)
        .to_datetime(jiff::Timestamp::now())
        .date();
    let end = today.checked_add(jiff::Span::new().days(30)).unwrap();
    let (s, v) = c
        .post(
            &format!("/api/v1/backoffice/contracts/{}/cancel", contracts[0]),
            &officer_a,
            json!({"end": end.to_string()}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        unit(&c, &bo, u1).await.state,
        "lent",
        "the end is not here yet"
    );
    let (s, v) = c
        .post("/api/v1/backoffice/equipment-returns", &bo, json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v, json!([]), "nothing has ended yet");
    // An officer cannot run it.
    let (s, _) = c
        .post(
            "/api/v1/backoffice/equipment-returns",
            &officer_a,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Time passes: the end date is now yesterday (set in the database, as the
    // center takes today from the clock).
    let yesterday = today.checked_sub(jiff::Span::new().days(1)).unwrap();
    c.store()
        .execute_raw(&format!(
            "UPDATE bo_contracts SET end_date = '{yesterday}' WHERE id = {}",
            contracts[0]
        ))
        .await
        .unwrap();
    let (s, v) = c
        .post("/api/v1/backoffice/equipment-returns", &bo, json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v,
        json!([{"contract_id": contracts[0], "equipment_id": u1, "outcome": "returned (1 move)"}])
    );
    assert_eq!(unit(&c, &bo, u1).await.state, "returned");
    assert_eq!(
        unit(&c, &bo, u2).await.state,
        "lent",
        "the running contract keeps its unit"
    );
    let (_, v) = c
        .post("/api/v1/backoffice/equipment-returns", &bo, json!({}))
        .await;
    assert_eq!(v, json!([]), "a second run takes nothing back twice");

    // The same run from the panel's button (contract 2 ended yesterday too).
    c.store()
        .execute_raw(&format!(
            "UPDATE bo_contracts SET ending = 'customer', notice_date = '{yesterday}', requested_end = '{yesterday}', end_date = '{yesterday}' WHERE id = {}",
            contracts[1]
        ))
        .await
        .unwrap();
    let (_, home) = panel_get(&c, "/backoffice", &bo).await;
    assert!(home.contains("id=\"returns_run\""), "{home}");
    let key = "name=\"csrf\" value=\"";
    let at = home.find(key).unwrap() + key.len();
    let csrf = home[at..at + home[at..].find('"').unwrap()].to_string();
    let r = c
        .client
        .post(format!("{}/backoffice/equipment-returns", c.base))
        .header("cookie", format!("mamori_session={bo}"))
        .header("accept-language", "en")
        .form(&[("csrf", csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(
        page.contains(&format!(
            "<a href=\"/equipment/{u2}\">Equipment #{u2}</a> — returned (1 move)"
        )),
        "{page}"
    );
    assert_eq!(unit(&c, &bo, u2).await.state, "returned");
    let (_, home) = panel_get(&c, "/backoffice", &officer_a).await;
    assert!(!home.contains("returns_run"), "not for the officer");
    c.stop().await;
}
