//! The control panel in headless Chromium, driven over WebDriver (chromedriver): the
//! first administrator from the bootstrap link creates a customer and its officer; the
//! officer signs in with TOTP and submits an instruction; an operator accepts it; the
//! customer's staff user sees it with no submit form; the audit page shows the story.
//! Throughout, the browser reports no Content-Security-Policy violation, and the
//! htmx-driven queue of the dashboard refreshes under the policy.

// Chromium and chromedriver are installed software: this test exists with `external`.
#![cfg(feature = "external")]

mod support;

use std::time::Duration;
use support::browser::Driver;
use support::{Backend, Center, PASSWORD};

both_backends!(browser_story);

impl Driver {
    async fn setup(&self, c: &Center, url: &str, email: Option<&str>, name: &str, totp: bool) {
        self.go(url).await;
        if let Some(e) = email {
            self.fill("#email", e).await;
        }
        self.fill("#display_name", name).await;
        self.fill("#password", PASSWORD).await;
        if totp {
            let secret = self.text("#totp_secret").await;
            self.fill("#code", &c.code(&secret)).await;
        }
        self.click("#create").await;
        self.find("#ready").await;
    }

    /// Signs in; the TOTP secret is read back from the test's notes.
    async fn sign_in(&self, c: &Center, base: &str, email: &str, secret: Option<&str>) {
        self.go(&format!("{base}/login")).await;
        self.fill("#email", email).await;
        self.fill("#password", PASSWORD).await;
        self.click("#signin").await;
        if let Some(s) = secret {
            self.fill("#code", &c.code(s)).await;
            self.click("#verify").await;
        }
        self.find("#signout").await;
    }

    async fn sign_out(&self) {
        self.click("#signout").await;
        self.find("#signin").await;
    }
}

/// Completes a setup link in the browser and keeps the secret it showed.
async fn setup_keep(
    d: &Driver,
    c: &Center,
    url: &str,
    email: Option<&str>,
    name: &str,
    totp: bool,
) -> Option<String> {
    d.go(url).await;
    let secret = d.text("#totp_secret").await;
    d.setup(c, url, email, name, totp).await;
    totp.then_some(secret)
}

async fn browser_story(backend: Backend) {
    let c = Center::start(backend).await;
    let d = Driver::start().await;
    let base = c.base.clone();

    // The first administrator, from the bootstrap link.
    let admin_secret = setup_keep(
        &d,
        &c,
        &format!("{base}/setup/{}", c.bootstrap),
        Some("admin@provider.example.jp"),
        "管理 太郎",
        true,
    )
    .await;
    d.sign_in(
        &c,
        &base,
        "admin@provider.example.jp",
        admin_secret.as_deref(),
    )
    .await;
    d.assert_no_csp_violation("the bootstrap page with its QR code, the sign-in, the dashboard")
        .await;

    // A customer and its officer.
    d.go(&format!("{base}/customers")).await;
    d.fill("#customer_name", "株式会社アルファ").await;
    d.fill("#officer_email", "officer@alpha.example.jp").await;
    d.fill("#officer_name", "安全 花子").await;
    d.click("#create_customer").await;
    let officer_link = d.attr("#setup_link", "href").await;
    // An operator.
    d.go(&format!("{base}/users")).await;
    d.fill("#new_email", "operator@provider.example.jp").await;
    d.fill("#new_name", "運用 次郎").await;
    d.click("#new_role option[value=operator]").await;
    d.click("#create_user").await;
    let operator_link = d.attr("#setup_link", "href").await;
    d.sign_out().await;

    // The officer signs in with TOTP and submits an instruction; creates a staff user.
    let officer_secret = setup_keep(&d, &c, &officer_link, None, "安全 花子", true).await;
    d.sign_in(
        &c,
        &base,
        "officer@alpha.example.jp",
        officer_secret.as_deref(),
    )
    .await;
    d.go(&format!("{base}/instructions")).await;
    d.fill("#subject", "Web サーバーの 443 番を開放").await;
    d.click("#kind option[value=policy_change]").await;
    d.fill(
        "#body",
        "本社の Web サーバー (10.0.0.5) への HTTPS を許可してください。",
    )
    .await;
    d.click("#submit_instruction").await;
    assert_eq!(d.text("#state").await, "受信済み");
    let instruction_url = d.url().await;
    d.go(&format!("{base}/users")).await;
    d.fill("#new_email", "staff@alpha.example.jp").await;
    d.fill("#new_name", "閲覧 三郎").await;
    d.click("#create_user").await;
    let staff_link = d.attr("#setup_link", "href").await;
    d.sign_out().await;

    // The operator accepts it.
    let operator_secret = setup_keep(&d, &c, &operator_link, None, "運用 次郎", true).await;
    d.sign_in(
        &c,
        &base,
        "operator@provider.example.jp",
        operator_secret.as_deref(),
    )
    .await;
    // htmx under the policy: loaded, with no style element of its own, and the
    // dashboard's queue refreshes in place with an instruction sent meanwhile.
    assert_eq!(
        d.run("return [typeof htmx, htmx.config.includeIndicatorStyles, htmx.config.allowEval, document.querySelectorAll('style').length]")
            .await,
        serde_json::json!(["object", false, false, 0])
    );
    let officer_api = c
        .login(
            "officer@alpha.example.jp",
            officer_secret.as_deref().unwrap(),
        )
        .await;
    let (s, v) = c
        .post(
            "/api/v1/instructions",
            &officer_api,
            serde_json::json!({"subject": "DNS の転送先を変更", "body": "b", "kind": "question"}),
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::CREATED, "{v}");
    assert!(!d.text("#queue").await.contains("DNS の転送先を変更"));
    d.run("var q = document.getElementById('queue'); htmx.ajax('GET', q.getAttribute('hx-get'), {target: q, swap: q.getAttribute('hx-swap')}); return true")
        .await;
    for _ in 0..100 {
        if d.text("#queue").await.contains("DNS の転送先を変更") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(d.text("#queue").await.contains("DNS の転送先を変更"));
    assert!(
        d.text("#queue")
            .await
            .contains("Web サーバーの 443 番を開放")
    );
    d.assert_no_csp_violation("the dashboard's htmx refresh")
        .await;
    d.go(&instruction_url).await;
    d.click("#accept").await;
    for _ in 0..100 {
        if d.text("#state").await == "受付済み" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(d.text("#state").await, "受付済み");
    d.sign_out().await;

    // The staff user sees it, and gets no submit form.
    setup_keep(&d, &c, &staff_link, None, "閲覧 三郎", false).await;
    d.sign_in(&c, &base, "staff@alpha.example.jp", None).await;
    d.go(&format!("{base}/instructions")).await;
    let page = d.source().await;
    assert!(page.contains("Web サーバーの 443 番を開放"), "{page}");
    assert!(page.contains("受付済み"));
    assert!(
        d.find_all("#submit_form").await.is_empty(),
        "staff get no submit form"
    );
    d.sign_out().await;

    // The audit page shows the whole story.
    d.sign_in(
        &c,
        &base,
        "admin@provider.example.jp",
        admin_secret.as_deref(),
    )
    .await;
    d.go(&format!("{base}/audit")).await;
    let audit = d.source().await;
    for action in [
        "bootstrap.admin",
        "customer.create",
        "user.create",
        "account.setup",
        "signin",
        "instruction.submit",
        "instruction.accept",
        "signout",
    ] {
        assert!(
            audit.contains(&format!("<code>{action}</code></td>")),
            "{action} missing from the audit page"
        );
    }
    assert!(
        audit.contains("officer@alpha.example.jp")
            && audit.contains("operator@provider.example.jp")
    );
    // Every kind of page loads without a policy violation; an error page's way back
    // works without inline script.
    for path in [
        "/customers",
        "/users",
        "/equipment",
        "/fleet",
        "/backoffice",
        "/instructions",
    ] {
        d.go(&format!("{base}{path}")).await;
        d.find("main h1").await;
    }
    d.go(&format!("{base}/instructions/999999")).await;
    d.find("#error").await;
    d.click("a[data-back]").await;
    for _ in 0..100 {
        if d.url().await.ends_with("/instructions") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(d.url().await, format!("{base}/instructions"));
    d.assert_no_csp_violation("the panel's pages").await;
    d.quit().await;
    c.stop().await;
}
