//! A headless Chromium driven over WebDriver (chromedriver, Debian package
//! chromium-driver), for the panel's browser tests.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

pub const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Driver {
    child: Child,
    base: String,
    session: String,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
}

impl Driver {
    pub async fn start() -> Driver {
        Self::start_in("ja").await
    }

    /// A browser whose preferred language is `lang` (`ja` or `en`).
    pub async fn start_in(lang: &str) -> Driver {
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
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "prefs": {"intl": {"accept_languages": if lang == "ja" { "ja,en" } else { "en,ja" }}},
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         "--disable-crash-reporter", "--disable-breakpad",
                         format!("--lang={lang}"), format!("--user-data-dir={}", profile.path().display())]
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

    pub async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut rb = self.http.request(method, url);
        rb = rb.json(&body.unwrap_or(json!({})));
        let v: Value = rb.send().await.unwrap().json().await.unwrap();
        v["value"].clone()
    }

    pub async fn go(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    pub async fn find_all(&self, css: &str) -> Vec<String> {
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

    pub async fn find(&self, css: &str) -> String {
        for _ in 0..100 {
            if let Some(e) = self.find_all(css).await.into_iter().next() {
                return e;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no element {css} on {}", self.url().await);
    }

    /// Picks the option of the select `css` whose visible text is `text`, as a person
    /// does: by the name shown, never by the value behind it.
    pub async fn choose(&self, css: &str, text: &str) {
        let select = self.find(css).await;
        let v = self
            .cmd(
                reqwest::Method::POST,
                &format!("/element/{select}/elements"),
                Some(json!({"using": "css selector", "value": "option"})),
            )
            .await;
        for o in v.as_array().cloned().unwrap_or_default() {
            let id = o[ELEMENT].as_str().unwrap_or_default().to_string();
            let shown = self
                .cmd(reqwest::Method::GET, &format!("/element/{id}/text"), None)
                .await;
            if shown.as_str().map(str::trim) == Some(text) {
                self.cmd(reqwest::Method::POST, &format!("/element/{id}/click"), None)
                    .await;
                return;
            }
        }
        panic!("{css} has no option {text:?} on {}", self.url().await);
    }

    /// The texts of the options of the select `css`.
    pub async fn options(&self, css: &str) -> Vec<String> {
        let v = self
            .run(&format!(
                "return Array.from(document.querySelectorAll({:?})).map(o => o.textContent.trim())",
                format!("{css} option")
            ))
            .await;
        v.as_array()
            .unwrap_or_else(|| panic!("{css}: {v}"))
            .iter()
            .map(|s| s.as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// Sizes the browser's window (e.g. a phone's 390 x 844).
    pub async fn resize(&self, width: u32, height: u32) {
        self.cmd(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        )
        .await;
    }

    /// Saves a PNG of the page as `<name>.png` under the tests' output directory
    /// (`CARGO_TARGET_TMPDIR/screenshots`); its path.
    pub async fn screenshot(&self, name: &str) -> std::path::PathBuf {
        let v = self.cmd(reqwest::Method::GET, "/screenshot", None).await;
        let png = data_encoding::BASE64
            .decode(
                v.as_str()
                    .unwrap_or_else(|| panic!("no screenshot: {v}"))
                    .as_bytes(),
            )
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    /// The text of the open dialog (`window.confirm`), waiting for it to open.
    pub async fn dialog(&self) -> String {
        for _ in 0..100 {
            let v = self.cmd(reqwest::Method::GET, "/alert/text", None).await;
            if let Some(t) = v.as_str() {
                return t.to_string();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no dialog opened on {}", self.url().await);
    }

    /// Answers the open dialog: OK (`accept`) or Cancel.
    pub async fn answer(&self, accept: bool) {
        let path = if accept {
            "/alert/accept"
        } else {
            "/alert/dismiss"
        };
        self.cmd(reqwest::Method::POST, path, None).await;
    }

    pub async fn fill(&self, css: &str, text: &str) {
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

    /// Sets a date field's value (typing into a date field depends on the locale).
    pub async fn set(&self, css: &str, value: &str) {
        self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": "document.querySelector(arguments[0]).value = arguments[1];", "args": [css, value]})),
        )
        .await;
    }

    pub async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.cmd(reqwest::Method::POST, &format!("/element/{e}/click"), None)
            .await;
    }

    pub async fn text(&self, css: &str) -> String {
        let e = self.find(css).await;
        self.cmd(reqwest::Method::GET, &format!("/element/{e}/text"), None)
            .await
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    pub async fn attr(&self, css: &str, name: &str) -> String {
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

    pub async fn url(&self) -> String {
        self.cmd(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    pub async fn source(&self) -> String {
        self.cmd(reqwest::Method::GET, "/source", None)
            .await
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    /// Runs `script` in the page; its value.
    pub async fn run(&self, script: &str) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
        .await
    }

    /// The browser console's messages since the last call (chromedriver's log).
    pub async fn console(&self) -> Vec<String> {
        let v = self
            .cmd(
                reqwest::Method::POST,
                "/se/log",
                Some(json!({"type": "browser"})),
            )
            .await;
        v.as_array()
            .unwrap_or_else(|| panic!("no browser log: {v}"))
            .iter()
            .map(|e| e["message"].as_str().unwrap_or("").to_string())
            .collect()
    }

    /// Fails when the browser reported a Content-Security-Policy violation since the
    /// last call (Chromium logs each one to the console).
    pub async fn assert_no_csp_violation(&self, when: &str) {
        let bad: Vec<String> = self
            .console()
            .await
            .into_iter()
            .filter(|m| m.contains("Content Security Policy"))
            .collect();
        assert!(bad.is_empty(), "{when}: {bad:#?}");
    }

    pub async fn quit(mut self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.session))
            .send()
            .await;
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
