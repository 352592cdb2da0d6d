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

both_backends!(
    browser_story,
    equipment_journey_in_japanese,
    equipment_journey_in_english,
    enrolment_with_the_agent_listener_off
);

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

/// The words of the equipment journey in one language: (the browser's language, in
/// stock, lent, installed).
struct Words {
    lang: &'static str,
    in_stock: &'static str,
    lent: &'static str,
    installed: &'static str,
    site_created: &'static str,
    stocked: &'static str,
    invisible: &'static str,
    register: &'static str,
    deactivate_says: &'static str,
}

const JA: Words = Words {
    lang: "ja",
    in_stock: "在庫",
    lent: "貸与中",
    installed: "設置済み",
    site_created: "拠点を作成しました。",
    stocked: "機器を在庫に追加しました。",
    invisible: "幅のない文字",
    register: "機器台帳",
    deactivate_says: "サインインできなくなります",
};

const EN: Words = Words {
    lang: "en",
    in_stock: "In stock",
    lent: "Lent",
    installed: "Installed",
    site_created: "The site was created.",
    stocked: "The equipment was added to stock.",
    invisible: "zero-width",
    register: "Equipment register",
    deactivate_says: "can no longer sign in",
};

async fn equipment_journey_in_japanese(backend: Backend) {
    equipment_journey(backend, &JA, true).await
}

async fn equipment_journey_in_english(backend: Backend) {
    equipment_journey(backend, &EN, true).await
}

async fn enrolment_with_the_agent_listener_off(backend: Backend) {
    equipment_journey(backend, &EN, false).await
}

/// Customer -> site -> stocked unit -> lent -> installed at the site -> enrolment
/// token, entirely in the panel, picking the customer and the site by name from lists.
/// With the agent listener on, the token page shows the whole `mamori agent enrol`
/// command with the listener's real URL and the CA's fingerprint; with it off, the
/// unit's page and the token page say why no unit can enrol.
async fn equipment_journey(backend: Backend, w: &Words, listener: bool) {
    let c = Center::start_with(backend, |cfg| {
        if listener {
            cfg.agent_listen = "127.0.0.1:0".into();
        }
    })
    .await;
    let agent_url = c.running.as_ref().unwrap().agent_url.clone();
    assert_eq!(agent_url.is_some(), listener);
    let d = Driver::start_in(w.lang).await;
    let base = c.base.clone();
    d.resize(1280, 900).await;
    let shot = |what: &str| {
        format!(
            "journey-{}-{}-{what}",
            w.lang,
            if listener { "on" } else { "off" }
        )
    };
    let secret = setup_keep(
        &d,
        &c,
        &format!("{base}/setup/{}", c.bootstrap),
        Some("admin@provider.example.jp"),
        "管理 太郎",
        true,
    )
    .await;
    d.sign_in(&c, &base, "admin@provider.example.jp", secret.as_deref())
        .await;

    // A new customer whose officer's name is nothing visible: refused beside that
    // field, the rest kept.
    d.go(&format!("{base}/customers")).await;
    d.fill("#customer_name", "株式会社ベータ").await;
    d.fill("#officer_email", "officer@beta.example.jp").await;
    d.set("#officer_name", "\u{200B}\u{200C}").await;
    d.click("#create_customer").await;
    assert!(d.text("#officer_name_error").await.contains(w.invisible));
    assert_eq!(d.attr("#customer_name", "value").await, "株式会社ベータ");
    assert_eq!(
        d.attr("#officer_email", "value").await,
        "officer@beta.example.jp"
    );
    assert!(d.find_all("#name_error").await.is_empty());

    // Two customers, so that picking one from the list means something.
    for (name, email) in [
        ("株式会社ベータ", "officer@beta.example.jp"),
        ("株式会社アルファ", "officer@alpha.example.jp"),
    ] {
        d.go(&format!("{base}/customers")).await;
        d.fill("#customer_name", name).await;
        d.fill("#officer_email", email).await;
        d.fill("#officer_name", "安全 花子").await;
        d.click("#create_customer").await;
        d.find("#setup_link").await;
    }

    // A site, on the customer's page; the other customer gets one too.
    for (customer, site) in [
        ("株式会社ベータ", "ベータ工場"),
        ("株式会社アルファ", "本社"),
    ] {
        d.go(&format!("{base}/customers")).await;
        d.click(&format!("#customers a[data-name='{customer}']"))
            .await;
        d.find("#no_sites").await;
        d.fill("#site_name", site).await;
        d.fill("#site_address", "東京都千代田区1-1").await;
        d.click("#create_site").await;
        for _ in 0..100 {
            if !d.find_all("#sites").await.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            d.text("#sites").await.contains(site),
            "{}",
            d.source().await
        );
        assert_eq!(d.text("main h1").await, customer);
        // The page confirms it.
        assert_eq!(d.text("#flash").await, w.site_created);
    }
    d.screenshot(&shot("customer")).await;

    // Refused names: the reason beside the field, what was typed kept, nothing made.
    let alpha = d.url().await;
    let long = "長".repeat(201);
    for (typed, says) in [
        ("本社\u{202E}exe.txt", "U+202E"),
        ("\u{200B}\u{200B}\u{3000}", w.invisible),
        (long.as_str(), "201"),
    ] {
        d.go(&alpha).await;
        d.set("#site_name", typed).await;
        d.click("#create_site").await;
        let error = d.text("#name_error").await;
        assert!(error.contains(says), "{typed:?}: {error}");
        assert_eq!(d.attr("#site_name", "aria-invalid").await, "true");
        assert_eq!(
            d.run("return document.getElementById('site_name').value")
                .await,
            serde_json::json!(typed),
            "the input is kept"
        );
        assert!(d.find_all("#flash").await.is_empty());
    }
    d.run("document.getElementById('name_error').scrollIntoView(); return true")
        .await;
    d.screenshot(&shot("refused")).await;
    assert_eq!(
        d.text("#sites").await.matches("東京都").count(),
        1,
        "only 本社"
    );

    // A unit into stock; a serial of nothing visible is refused beside its field.
    d.go(&format!("{base}/equipment")).await;
    assert_eq!(
        d.text("header nav a[aria-current=page]").await,
        w.register,
        "the navigation shows where one is"
    );
    d.set("#serial", "\u{200B}").await;
    d.fill("#model", "MX-100").await;
    d.click("#stock").await;
    assert!(d.text("#serial_error").await.contains(w.invisible));
    assert_eq!(d.attr("#model", "value").await, "MX-100");
    d.fill("#serial", "MG-2026-0001").await;
    d.fill("#model", "MX-100").await;
    d.click("#stock").await;
    wait_text(&d, "#state", w.in_stock).await;
    assert_eq!(d.text("main h1").await, "MG-2026-0001");
    assert_eq!(d.text("#flash").await, w.stocked);
    // The flash message leaves the address: a reload does not say it again.
    let unit_url = d.url().await;
    assert!(!unit_url.contains("done="), "{unit_url}");
    // Installing needs a customer first: there is no install form yet.
    assert!(d.find_all("#install_form").await.is_empty());

    // Lent to the customer picked by name; the list names every customer.
    let names = d.options("#lend_customer").await;
    assert!(
        names.contains(&"株式会社アルファ".to_string())
            && names.contains(&"株式会社ベータ".to_string()),
        "{names:?}"
    );
    d.choose("#lend_customer", "株式会社アルファ").await;
    d.click("#lend").await;
    wait_text(&d, "#state", w.lent).await;
    assert_eq!(d.text("#customer").await, "株式会社アルファ");

    // Installed at one of that customer's sites: only theirs are offered.
    let sites = d.options("#install_site").await;
    assert!(sites.contains(&"本社".to_string()), "{sites:?}");
    assert!(!sites.contains(&"ベータ工場".to_string()), "{sites:?}");
    d.choose("#install_site", "本社").await;
    d.click("#install").await;
    wait_text(&d, "#state", w.installed).await;
    assert_eq!(d.text("#customer").await, "株式会社アルファ");
    assert_eq!(d.text("#site").await, "本社");
    assert!(d.text("#history").await.contains("本社"));
    // The register names the customer too.
    d.go(&format!("{base}/equipment")).await;
    assert!(d.text("#equipment").await.contains("株式会社アルファ"));
    d.go(&unit_url).await;
    d.screenshot(&shot("unit")).await;
    // On a phone-sized screen nothing needs scrolling sideways.
    d.resize(390, 844).await;
    d.screenshot(&shot("unit-phone")).await;
    assert_eq!(
        d.run("return document.documentElement.scrollWidth <= window.innerWidth")
            .await,
        serde_json::json!(true)
    );
    d.resize(1280, 900).await;

    // The enrolment token.
    assert_eq!(
        d.find_all("#agent_listener_off").await.is_empty(),
        listener,
        "the unit's page says when the listener is off"
    );
    d.click("#create_token").await;
    let token = d.text("#enrolment_token").await;
    match &agent_url {
        Some(url) => {
            assert!(url.starts_with("https://127.0.0.1:"), "{url}");
            assert_eq!(&d.text("#agent_url").await, url);
            let fingerprint = d.text("#ca_fingerprint").await;
            assert_eq!(fingerprint.len(), 64, "{fingerprint}");
            assert!(fingerprint.bytes().all(|b| b.is_ascii_hexdigit()));
            assert_eq!(token.rsplit_once('.').map(|(_, f)| f), Some(&*fingerprint));
            let command = d.text("#enrol_command").await;
            assert!(
                command.contains(&format!(
                    "printf '%s\\n' '{token}' > /etc/mamori/enrol.token"
                )),
                "{command}"
            );
            assert!(
                command.contains(&format!(
                    "mamori agent enrol --center {url} --token-file /etc/mamori/enrol.token"
                )),
                "{command}"
            );
            d.find("#copy_command").await;
            assert!(d.find_all("#agent_listener_off").await.is_empty());
        }
        None => {
            d.find("#agent_listener_off").await;
            assert!(d.find_all("#enrol_command").await.is_empty());
            assert!(d.text("#agent_listener_off").await.contains("agent_listen"));
        }
    }
    d.screenshot(&shot("token")).await;

    d.resize(390, 844).await;
    d.screenshot(&shot("token-phone")).await;
    assert_eq!(
        d.run("return document.documentElement.scrollWidth <= window.innerWidth")
            .await,
        serde_json::json!(true),
        "the command and the token wrap"
    );
    d.resize(1280, 900).await;
    // Deactivating a user asks first, saying what it means; Cancel changes nothing.
    // The last active administrator (the reader) is offered no such button.
    d.go(&format!("{base}/users")).await;
    let row_button = |email: &str| {
        format!(
            "var r = Array.from(document.querySelectorAll('#users tr')).find(r => r.textContent.includes('{email}')); var b = r && r.querySelector('button[id^=deactivate_]'); return b ? b.id : null"
        )
    };
    assert_eq!(
        d.run(&row_button("admin@provider.example.jp")).await,
        serde_json::Value::Null
    );
    let button = d.run(&row_button("officer@beta.example.jp")).await;
    let button = format!("#{}", button.as_str().expect("a deactivate button"));
    d.click(&button).await;
    assert!(d.dialog().await.contains(w.deactivate_says));
    d.answer(false).await;
    d.go(&format!("{base}/users")).await;
    d.find(&button).await;
    d.click(&button).await;
    assert!(d.dialog().await.contains(w.deactivate_says));
    d.answer(true).await;
    for _ in 0..100 {
        if d.find_all(&button).await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(d.find_all(&button).await.is_empty(), "deactivated");
    d.assert_no_csp_violation("the equipment journey").await;
    d.quit().await;
    c.stop().await;
}

/// Waits until the element `css` shows `text`; fails with what it shows otherwise.
async fn wait_text(d: &Driver, css: &str, text: &str) {
    for _ in 0..100 {
        if !d.find_all(css).await.is_empty() && d.text(css).await == text {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(d.text(css).await, text, "on {}", d.url().await);
}
