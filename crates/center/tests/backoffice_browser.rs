//! The back office in headless Chromium, driven over WebDriver (chromedriver), as a
//! back-office person uses it: records an application (Art. 7), accepts it (Art. 8-1),
//! sees the contract with its minimum-term end, terminates it with an Art. 12-1 reason
//! and prior notice (Art. 12-2), and sends a notice (Art. 16-2) that the notices page
//! then lists with its recipient and time.

// Chromium and chromedriver are installed software: this test exists with `external`.
#![cfg(feature = "external")]

mod support;

use std::time::Duration;

use serde_json::json;
use support::browser::Driver;
use support::{Backend, Center};

both_backends!(backoffice_in_the_browser);

async fn backoffice_in_the_browser(backend: Backend) {
    let c = Center::start(backend).await;
    let admin = c.admin().await;
    let bo = c.provider_user(&admin, "back_office").await;
    let (alpha, _, _) = c.customer(&admin, "Alpha").await;
    let d = Driver::start().await;
    d.resize(1280, 900).await;
    let base = c.base.clone();
    // The back-office person's session (signing in is the panel test's story).
    d.go(&format!("{base}/login")).await;
    d.cmd(
        reqwest::Method::POST,
        "/cookie",
        Some(json!({"cookie": {"name": "mamori_session", "value": bo, "path": "/"}})),
    )
    .await;

    // Art. 7: the application.
    d.go(&format!("{base}/backoffice/applications")).await;
    d.click(&format!("#app_customer option[value=\"{alpha}\"]"))
        .await;
    d.click("#app_line_product option[value=\"fiber-business\"]")
        .await;
    d.fill("#app_line_id", "FLT-0001").await;
    d.fill("#app_fee", "30,000").await;
    d.set("#app_start", "2026-04-01").await;
    d.click("#app_submit").await;
    let row = d.text("#applications tbody tr").await;
    assert!(row.contains("審査中") && row.contains("¥30,000"), "{row}");

    // Art. 8-1: accepted; the contract page shows the minimum-term end.
    let id = d
        .cmd(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": "return document.querySelector('#applications tbody tr').id;", "args": []})),
        )
        .await
        .as_str()
        .unwrap()
        .trim_start_matches("application_")
        .to_string();
    d.click(&format!("#accept_{id}")).await;
    assert_eq!(d.text("#minimum_term_end").await, "2027年3月31日");
    assert_eq!(d.text("#status").await, "契約中");
    // The back office in the panel's layout, marking where one is.
    assert!(
        !d.find_all("header nav a[aria-current=page]")
            .await
            .is_empty()
    );
    d.find("#signout").await;
    d.screenshot(&format!("backoffice-contract-{backend:?}"))
        .await;
    d.resize(390, 844).await;
    d.screenshot(&format!("backoffice-contract-phone-{backend:?}"))
        .await;
    d.resize(1280, 900).await;
    // A unit stocked in the panel is lent from the contract page, picked by serial.
    let contract_url = d.url().await;
    d.go(&format!("{base}/equipment")).await;
    d.fill("#serial", "BO-0001").await;
    d.fill("#model", "MX-1").await;
    d.click("#stock").await;
    d.find("#flash").await;
    d.go(&contract_url).await;
    d.choose("#lend_unit", "BO-0001 (MX-1)").await;
    d.click("#lend_submit").await;
    for _ in 0..100 {
        if d.source().await.contains("BO-0001") && d.find_all("#lend_unit option").await.len() == 1
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(d.text("main").await.contains("BO-0001"));
    assert_eq!(d.options("#lend_unit").await, ["—"], "no longer in stock");

    // Art. 12: termination with an Art. 12-1 reason and prior notice.
    let today = jiff::tz::Offset::constant(9)
        .to_datetime(jiff::Timestamp::now())
        .date();
    let end = today.checked_add(jiff::Span::new().days(30)).unwrap();
    d.click("#term_reason option[value=\"non_payment\"]").await;
    d.set("#term_notice", &today.to_string()).await;
    d.set("#term_end", &end.to_string()).await;
    d.click("#term_submit").await;
    // Terminating asks first, with what it means.
    assert!(d.dialog().await.contains("第12条第3項"));
    d.answer(true).await;
    let mut status = String::new();
    for _ in 0..100 {
        status = d.text("#status").await;
        if status.contains("当社による解除") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        status.contains("当社による解除") && status.contains("支払期日を経過した料金等の未払い"),
        "{status}"
    );

    // Art. 16-2: a maintenance notice to the customer's officer.
    d.go(&format!("{base}/backoffice/notices")).await;
    d.click("#notice_kind option[value=\"maintenance\"]").await;
    d.set("#notice_effective", "2026-12-01").await;
    d.fill("#notice_subject", "定期保守のお知らせ").await;
    d.fill("#notice_body", "12月1日 2:00〜4:00 に保守を行います。")
        .await;
    d.click(&format!("#notice_customer_{alpha}")).await;
    d.click("#notice_send").await;
    assert!(d.dialog().await.contains("取り消せません"));
    d.answer(true).await;
    let mut list = String::new();
    for _ in 0..100 {
        list = d.text("#notices").await;
        if list.contains("定期保守のお知らせ") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        list.contains("定期保守のお知らせ") && list.contains("officer@alpha.example.jp"),
        "{list}"
    );
    d.quit().await;

    let actions: Vec<String> = c
        .store()
        .audit_entries(mamori_center::domain::Scope::All, None, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    for a in [
        "application.create",
        "application.accept",
        "contract.terminate",
        "notice.create",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a}: {actions:?}");
    }
    c.stop().await;
}
