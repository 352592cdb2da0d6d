//! The HTTP edge, on SQLite and PostgreSQL: every response carries the security headers
//! and the panel's HTML has no inline script or style; every page and answer that shows
//! a secret is `Cache-Control: no-store`; cookies are `Secure` when a trusted proxy says
//! the panel was reached over HTTPS, and `X-Forwarded-*` from anyone else are ignored;
//! `/metrics` takes its bearer token and shows nothing of any customer.

mod gateways_support;
mod support;

use std::net::IpAddr;

use gateways_support::{as_reader, csrf_of, moved, site, stock};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::json;
use support::{Backend, Center};

both_backends!(
    every_response_has_the_security_headers,
    pages_and_answers_with_secrets_are_not_stored,
    cookies_are_secure_and_addresses_forwarded_only_through_trusted_proxies,
    metrics_take_their_token_and_show_no_customer_data
);

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

fn assert_security_headers(what: &str, h: &HeaderMap) {
    assert_eq!(header(h, "content-security-policy"), CSP, "{what}");
    assert_eq!(header(h, "x-content-type-options"), "nosniff", "{what}");
    assert_eq!(header(h, "referrer-policy"), "no-referrer", "{what}");
    assert_eq!(header(h, "x-frame-options"), "DENY", "{what}");
}

/// What in `html` the Content-Security-Policy would block: inline scripts, style
/// elements and attributes, event-handler attributes, `javascript:` URLs.
fn inline_code(html: &str) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    let mut found = Vec::new();
    for (i, _) in lower.match_indices("<script") {
        let tag = &lower[i..i + lower[i..].find('>').unwrap_or(0)];
        if !tag.contains(" src=") {
            found.push(format!("inline script at {i}"));
        }
    }
    if lower.contains("<style") {
        found.push("a style element".into());
    }
    if lower.contains("javascript:") {
        found.push("a javascript: URL".into());
    }
    let b = lower.as_bytes();
    for (i, _) in lower.match_indices(" style=") {
        found.push(format!("a style attribute at {i}"));
    }
    for (i, _) in lower.match_indices(" on") {
        let name: String = lower[i + 1..]
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect();
        if name.len() > 2 && b.get(i + 1 + name.len()) == Some(&b'=') {
            found.push(format!("an event attribute {name} at {i}"));
        }
    }
    found
}

async fn every_response_has_the_security_headers(backend: Backend) {
    let c = Center::start(backend).await;
    let admin = c.admin().await;
    let (alpha, officer, _) = c.customer(&admin, "Alpha").await;
    let unit = stock(&c, &admin, "SN-1").await;
    let site = site(&c, &admin, alpha, "HQ").await;
    let signed_in = [
        "/",
        "/users",
        "/customers",
        &format!("/customers/{alpha}"),
        "/audit",
        "/equipment",
        &format!("/equipment/{unit}"),
        "/fleet",
        &format!("/sites/{site}/revisions"),
        &format!("/sites/{site}/revisions/new"),
        "/backoffice",
        "/backoffice/applications",
        "/backoffice/notices",
        "/instructions/999999",
    ];
    let officer_pages = ["/instructions", "/partials/instructions"];
    for path in signed_in.iter().copied().chain(officer_pages) {
        let reader = if officer_pages.contains(&path) {
            &officer
        } else {
            &admin
        };
        let r = as_reader(c.client.get(format!("{}{path}", c.base)), reader, "en")
            .send()
            .await
            .unwrap();
        let status = r.status();
        assert_security_headers(path, r.headers());
        let html = r.text().await.unwrap();
        // (Error pages too: a missing instruction, a form the reader may not use.)
        assert!(
            status == StatusCode::OK
                || path == "/instructions/999999"
                || path.ends_with("/revisions/new"),
            "{path}: {status}"
        );
        assert_eq!(inline_code(&html), Vec::<String>::new(), "{path}");
        if path == "/instructions/999999" {
            // The error page's way back works without inline script.
            assert!(html.contains("data-back"), "{html}");
        }
    }
    // Without a session, the API, health, static files, refusals, unknown paths.
    let anonymous = [
        ("GET", "/login", None),
        ("GET", "/login/totp", None),
        ("GET", "/", None),
        ("GET", "/healthz", None),
        ("GET", "/readyz", None),
        ("GET", "/metrics", None),
        ("GET", "/static/htmx.min.js", None),
        ("GET", "/static/panel.js", None),
        ("GET", "/static/panel.css", None),
        ("GET", "/api/v1/openapi.json", None),
        ("GET", "/api/v1/me", None),
        ("GET", "/api/v1/me", Some(officer.as_str())),
        ("GET", "/no/such/page", None),
        ("POST", "/login", None),
        ("POST", "/api/v1/login", None),
        ("GET", "/setup/not-a-token", None),
    ];
    for (method, path, token) in anonymous {
        let mut rb = c
            .client
            .request(method.parse().unwrap(), format!("{}{path}", c.base));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        let r = rb.send().await.unwrap();
        assert_security_headers(&format!("{method} {path} ({})", r.status()), r.headers());
        if header(r.headers(), "content-type").starts_with("text/html") {
            let html = r.text().await.unwrap();
            assert_eq!(inline_code(&html), Vec::<String>::new(), "{path}");
        }
    }
    // The panel's head loads htmx configured for the policy, and the panel's script.
    let html = c
        .client
        .get(format!("{}/login", c.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("&quot;includeIndicatorStyles&quot;:false")
            && html.contains("<script src=\"/static/panel.js\" defer></script>"),
        "{html}"
    );
    c.stop().await;
}

/// The CSRF token of the panel form on `path`.
async fn form(c: &Center, token: &str, path: &str) -> String {
    let (_, page) = gateways_support::panel(c, token, path, "en").await;
    csrf_of(&page)
}

/// The `Cache-Control` of a response.
fn cache(h: &HeaderMap) -> &str {
    header(h, "cache-control")
}

async fn pages_and_answers_with_secrets_are_not_stored(backend: Backend) {
    let c = Center::start(backend).await;
    // The bootstrap page: the TOTP secret and its QR code.
    let r = c
        .client
        .get(format!("{}/setup/{}", c.base, c.bootstrap))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(cache(r.headers()), "no-store", "/setup page");
    assert!(r.text().await.unwrap().contains("id=\"totp_qr\""));
    let r = c
        .client
        .get(format!("{}/api/v1/setup/{}", c.base, c.bootstrap))
        .send()
        .await
        .unwrap();
    assert_eq!(cache(r.headers()), "no-store", "GET /api/v1/setup");
    let admin = c.admin().await;

    // API answers that carry a session token, a setup link, an API token, an enrolment
    // token.
    let (alpha, officer, officer_secret) = c.customer(&admin, "Alpha").await;
    let api = [
        (
            "/api/v1/login",
            None,
            json!({"email": "officer@alpha.example.jp", "password": support::PASSWORD, "totp_code": c.code(&officer_secret)}),
        ),
        (
            "/api/v1/customers",
            Some(admin.as_str()),
            json!({"name": "Beta", "officer": {"email": "officer@beta.example.jp", "display_name": "B"}}),
        ),
        (
            "/api/v1/users",
            Some(officer.as_str()),
            json!({"email": "s@alpha.example.jp", "display_name": "S", "role": "staff"}),
        ),
        (
            "/api/v1/tokens",
            Some(admin.as_str()),
            json!({"name": "monitoring", "role": "operator"}),
        ),
    ];
    for (path, token, body) in api {
        let mut rb = c.client.post(format!("{}{path}", c.base)).json(&body);
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        let r = rb.send().await.unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        assert_eq!(cache(r.headers()), "no-store", "{path}");
    }
    let unit = stock(&c, &admin, "SN-1").await;
    let site = site(&c, &admin, alpha, "HQ").await;
    moved(
        &c,
        &admin,
        unit,
        [
            json!({"to": "lent", "customer_id": alpha}),
            json!({"to": "installed", "site_id": site}),
        ],
    )
    .await;
    let r = c
        .client
        .post(format!("{}/api/v1/sites/{site}/enrolment-tokens", c.base))
        .bearer_auth(&admin)
        .json(&json!({"equipment_id": unit}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(cache(r.headers()), "no-store", "enrolment token (API)");

    // Panel pages: a created account's setup link, an enrolment token.
    let csrf = form(&c, &admin, "/customers").await;
    let r = as_reader(c.client.post(format!("{}/customers", c.base)), &admin, "en")
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "Gamma"),
            ("officer_email", "officer@gamma.example.jp"),
            ("officer_name", "G"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(cache(r.headers()), "no-store", "new customer page");
    assert!(r.text().await.unwrap().contains("id=\"setup_link\""));
    let csrf = form(&c, &admin, "/users").await;
    let r = as_reader(c.client.post(format!("{}/users", c.base)), &admin, "en")
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", "op@provider.example.jp"),
            ("display_name", "Op"),
            ("role", "operator"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(cache(r.headers()), "no-store", "new user page");
    assert!(r.text().await.unwrap().contains("id=\"setup_link\""));
    let csrf = form(&c, &admin, &format!("/equipment/{unit}")).await;
    let r = as_reader(
        c.client
            .post(format!("{}/equipment/{unit}/enrolment-token", c.base)),
        &admin,
        "en",
    )
    .form(&[("csrf", csrf.as_str()), ("ttl_minutes", "60")])
    .send()
    .await
    .unwrap();
    assert_eq!(cache(r.headers()), "no-store", "enrolment token page");
    assert!(r.text().await.unwrap().contains("id=\"enrolment_token\""));

    // Other pages are not stored either; the center's own static files are cached.
    let (_, _) = gateways_support::panel(&c, &admin, "/", "en").await;
    let r = as_reader(c.client.get(format!("{}/", c.base)), &admin, "en")
        .send()
        .await
        .unwrap();
    assert_eq!(cache(r.headers()), "no-store", "dashboard");
    for path in [
        "/static/htmx.min.js",
        "/static/panel.js",
        "/static/panel.css",
    ] {
        let r = c
            .client
            .get(format!("{}{path}", c.base))
            .send()
            .await
            .unwrap();
        assert!(cache(r.headers()).starts_with("max-age="), "{path}");
    }
    c.stop().await;
}

/// The `Set-Cookie` values of a response.
fn cookies(h: &HeaderMap) -> Vec<String> {
    h.get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

async fn cookies_are_secure_and_addresses_forwarded_only_through_trusted_proxies(backend: Backend) {
    // The proxy is 127.0.0.1; a client on 127.0.0.2 (also loopback) is not.
    // On a fixed clock: each TOTP code is a fresh time step, so nothing waits for one.
    let clock = mamori_center::clock::Clock::fixed(support::now_secs() * 1000);
    let c = Center::start_with_clock(backend, clock, |cfg| {
        cfg.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let admin = c.admin().await;
    let (_, _, officer_secret) = c.customer(&admin, "Alpha").await;
    let direct = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .local_address(IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    let proxy = &c.client;

    // The sign-in form and the password step set cookies.
    for (who, client, proto, secure) in [
        ("trusted proxy, https", proxy, Some("https"), true),
        ("trusted proxy, http", proxy, Some("http"), false),
        ("trusted proxy, no header", proxy, None, false),
        ("untrusted peer, https", &direct, Some("https"), false),
    ] {
        let mut rb = client.get(format!("{}/login", c.base));
        if let Some(p) = proto {
            rb = rb.header("x-forwarded-proto", p);
        }
        let r = rb.send().await.unwrap();
        let set = cookies(r.headers());
        let html = r.text().await.unwrap();
        assert_eq!(set.len(), 1, "{who}: {set:?}");
        let pre = set[0].split(';').next().unwrap().to_string();
        let csrf = csrf_of(&html);
        let mut rb = client
            .post(format!("{}/login", c.base))
            .header("cookie", &pre)
            .form(&[
                ("csrf", csrf.as_str()),
                ("email", "officer@alpha.example.jp"),
                ("password", support::PASSWORD),
            ]);
        if let Some(p) = proto {
            rb = rb.header("x-forwarded-proto", p);
        }
        let r = rb.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{who}");
        let mut all = set.clone();
        all.extend(cookies(r.headers()));
        assert_eq!(all.len(), 2, "{who}: {all:?}");
        for cookie in &all {
            assert_eq!(cookie.ends_with("; Secure"), secure, "{who}: {cookie}");
            assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
        }
    }

    // The sign-in's recorded source: the forwarded client through the proxy, the peer
    // itself when it is not a proxy (whatever it claims).
    for (client, xff, want) in [
        (proxy, "203.0.113.7", "203.0.113.7"),
        (proxy, "198.51.100.9, 127.0.0.1", "198.51.100.9"),
        (proxy, "203.0.113.7, 198.51.100.9", "198.51.100.9"),
        (&direct, "203.0.113.8", "127.0.0.2"),
    ] {
        let r = client
            .post(format!("{}/api/v1/login", c.base))
            .header("x-forwarded-for", xff)
            .json(&json!({"email": "officer@alpha.example.jp", "password": support::PASSWORD, "totp_code": c.code(&officer_secret)}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{xff}");
        let (s, v) = c.get("/api/v1/audit?limit=1", &admin).await;
        assert_eq!(s, StatusCode::OK);
        let e = &v[0];
        assert_eq!(e["action"], "signin", "{v}");
        assert_eq!(e["source"], want, "X-Forwarded-For: {xff} ({v})");
    }
    c.stop().await;
}

async fn metrics_take_their_token_and_show_no_customer_data(backend: Backend) {
    const TOKEN: &str = "metrics-token-7f3a9c";
    let c = Center::start_with(backend, |cfg| cfg.metrics_token = TOKEN.into()).await;
    let admin = c.admin().await;
    let (alpha, officer, _) = c.customer(&admin, "Zetacorp").await;
    let (s, _) = c
        .post(
            "/api/v1/instructions",
            &officer,
            json!({"subject": "Open port 8443 for zetacorp", "body": "b", "kind": "question"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let get = |token: Option<&'static str>| {
        let mut rb = c.client.get(format!("{}/metrics", c.base));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        async move {
            let r = rb.send().await.unwrap();
            let status = r.status();
            let www = header(r.headers(), "www-authenticate").to_string();
            (status, www, r.text().await.unwrap())
        }
    };
    for token in [None, Some("metrics-token-7f3a9"), Some("wrong")] {
        let (s, www, body) = get(token).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{token:?}");
        assert!(www.starts_with("Bearer"), "{www}");
        assert!(!body.contains("mamori_"), "{body}");
    }
    // A session token of the administrator is not the metrics token either.
    let r = c
        .client
        .get(format!("{}/metrics", c.base))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let (s, _, body) = get(Some(TOKEN)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        body.contains("mamori_http_requests_total{class=\"2xx\"}"),
        "{body}"
    );
    // Nothing customer-specific: only the center's own counters, no names, no labels
    // but the status class and the listener.
    for line in body.lines().filter(|l| !l.starts_with('#')) {
        let (name, value) = line.rsplit_once(' ').unwrap();
        assert!(value.parse::<f64>().is_ok(), "{line}");
        let (metric, labels) = name.split_once('{').unwrap_or((name, ""));
        assert!(
            metric.starts_with("mamori_")
                && metric
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch == '_'),
            "{line}"
        );
        assert!(
            labels.is_empty()
                || (labels.starts_with("class=\"") && labels.len() == 12)
                || labels == "listener=\"panel\"}"
                || labels == "listener=\"agent\"}",
            "{line}"
        );
    }
    let lower = body.to_lowercase();
    for word in [
        "zetacorp",
        "example.jp",
        "officer",
        &format!("customer_id=\"{alpha}"),
    ] {
        assert!(!lower.contains(word), "{word} in {body}");
    }
    c.stop().await;
}
