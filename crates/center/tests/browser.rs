//! The control panel in headless Chromium, driven over WebDriver (chromedriver): the
//! first administrator from the bootstrap link creates a customer and its officer; the
//! officer signs in with TOTP and submits an instruction; an operator accepts it; the
//! customer's staff user sees it with no submit form; the audit page shows the story.

mod support;

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use support::{Backend, Center, PASSWORD, code};

both_backends!(browser_story);

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

struct Driver {
    child: Child,
    base: String,
    session: String,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
}

impl Driver {
    async fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // Its own process group, so that the browser it starts goes with it.
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (Debian package chromium-driver) runs");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        for _ in 0..200 {
            if http.get(format!("{base}/status")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "prefs": {"intl": {"accept_languages": "ja,en"}},
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         "--disable-crash-reporter", "--disable-breakpad",
                         "--lang=ja", format!("--user-data-dir={}", profile.path().display())]
            }
        }}});
        let v: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {v}"))
            .to_string();
        Driver {
            child,
            base,
            session,
            http,
            _profile: profile,
        }
    }

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut rb = self.http.request(method, url);
        rb = rb.json(&body.unwrap_or(json!({})));
        let v: Value = rb.send().await.unwrap().json().await.unwrap();
        v["value"].clone()
    }

    async fn go(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    async fn find_all(&self, css: &str) -> Vec<String> {
        let v = self
            .cmd(
                reqwest::Method::POST,
                "/elements",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        v.as_array()
            .map(|a| {
                a.iter()
                    .map(|e| {
                        e[ELEMENT]
                            .as_str()
                            .unwrap_or_else(|| panic!("{css}: {v}"))
                            .to_string()
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    async fn find(&self, css: &str) -> String {
        for _ in 0..100 {
            if let Some(e) = self.find_all(css).await.into_iter().next() {
                return e;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no element {css} on {}", self.url().await);
    }

    async fn fill(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.cmd(reqwest::Method::POST, &format!("/element/{e}/clear"), None)
            .await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{e}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.cmd(reqwest::Method::POST, &format!("/element/{e}/click"), None)
            .await;
    }

    async fn text(&self, css: &str) -> String {
        let e = self.find(css).await;
        self.cmd(reqwest::Method::GET, &format!("/element/{e}/text"), None)
            .await
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    async fn attr(&self, css: &str, name: &str) -> String {
        let e = self.find(css).await;
        self.cmd(
            reqwest::Method::GET,
            &format!("/element/{e}/attribute/{name}"),
            None,
        )
        .await
        .as_str()
        .unwrap_or("")
        .to_string()
    }

    async fn url(&self) -> String {
        self.cmd(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    async fn source(&self) -> String {
        self.cmd(reqwest::Method::GET, "/source", None)
            .await
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    async fn setup(&self, url: &str, email: Option<&str>, name: &str, totp: bool) {
        self.go(url).await;
        if let Some(e) = email {
            self.fill("#email", e).await;
        }
        self.fill("#display_name", name).await;
        self.fill("#password", PASSWORD).await;
        if totp {
            let secret = self.text("#totp_secret").await;
            self.fill("#code", &code(&secret)).await;
        }
        self.click("#create").await;
        self.find("#ready").await;
    }

    /// Signs in; the TOTP secret is read back from the test's notes.
    async fn sign_in(&self, base: &str, email: &str, secret: Option<&str>) {
        self.go(&format!("{base}/login")).await;
        self.fill("#email", email).await;
        self.fill("#password", PASSWORD).await;
        self.click("#signin").await;
        if let Some(s) = secret {
            self.fill("#code", &code(s)).await;
            self.click("#verify").await;
        }
        self.find("#signout").await;
    }

    async fn sign_out(&self) {
        self.click("#signout").await;
        self.find("#signin").await;
    }

    async fn quit(mut self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.session))
            .send()
            .await;
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Completes a setup link in the browser and keeps the secret it showed.
async fn setup_keep(
    d: &Driver,
    url: &str,
    email: Option<&str>,
    name: &str,
    totp: bool,
) -> Option<String> {
    d.go(url).await;
    let secret = d.text("#totp_secret").await;
    d.setup(url, email, name, totp).await;
    totp.then_some(secret)
}

async fn browser_story(backend: Backend) {
    let c = Center::start(backend).await;
    let d = Driver::start().await;
    let base = c.base.clone();

    // The first administrator, from the bootstrap link.
    let admin_secret = setup_keep(
        &d,
        &format!("{base}/setup/{}", c.bootstrap),
        Some("admin@provider.example.jp"),
        "管理 太郎",
        true,
    )
    .await;
    d.sign_in(&base, "admin@provider.example.jp", admin_secret.as_deref())
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
    let officer_secret = setup_keep(&d, &officer_link, None, "安全 花子", true).await;
    d.sign_in(&base, "officer@alpha.example.jp", officer_secret.as_deref())
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
    let operator_secret = setup_keep(&d, &operator_link, None, "運用 次郎", true).await;
    d.sign_in(
        &base,
        "operator@provider.example.jp",
        operator_secret.as_deref(),
    )
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
    setup_keep(&d, &staff_link, None, "閲覧 三郎", false).await;
    d.sign_in(&base, "staff@alpha.example.jp", None).await;
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
    d.sign_in(&base, "admin@provider.example.jp", admin_secret.as_deref())
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
            audit.contains(&format!("<td class=\"action\">{action}</td>")),
            "{action} missing from the audit page"
        );
    }
    assert!(
        audit.contains("officer@alpha.example.jp")
            && audit.contains("operator@provider.example.jp")
    );
    d.quit().await;
    c.stop().await;
}
