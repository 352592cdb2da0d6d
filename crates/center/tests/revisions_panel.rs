//! The revision workflow through the panel's forms (no browser: plain HTTP with the
//! session cookie and the CSRF field), in Japanese and English, on SQLite and
//! PostgreSQL: draft with diagnostics, four-eyes, approve, publish, diff, rollback, and
//! customers who read their own history and nothing else.

mod gateways_support;
mod support;

use gateways_support::{OFFICE_NETWORK, as_reader, csrf_of};
use reqwest::StatusCode;
use support::{Backend, Center};

both_backends!(panel_workflow_and_isolation);

struct Page {
    status: StatusCode,
    location: Option<String>,
    body: String,
}

async fn get(c: &Center, token: &str, path: &str, lang: &str) -> Page {
    let r = as_reader(c.client.get(format!("{}{path}", c.base)), token, lang)
        .send()
        .await
        .unwrap();
    page(r).await
}

async fn post(c: &Center, token: &str, path: &str, lang: &str, form: &[(&str, &str)]) -> Page {
    let r = as_reader(c.client.post(format!("{}{path}", c.base)), token, lang)
        .form(form)
        .send()
        .await
        .unwrap();
    page(r).await
}

async fn page(r: reqwest::Response) -> Page {
    let status = r.status();
    let location = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string());
    Page {
        status,
        location,
        body: r.text().await.unwrap(),
    }
}

fn policy(extra: &str) -> String {
    format!(
        r#"{OFFICE_NETWORK}
[addresses]
web = "192.0.2.10"

[defaults]
"lan->wan" = "accept"
"*" = "drop"
{extra}"#
    )
}

async fn panel_workflow_and_isolation(backend: Backend) {
    let c = Center::start(backend).await;
    let admin = c.admin().await;
    let coord = c.provider_user(&admin, "coordinator").await;
    let op = c.provider_user(&admin, "operator").await;
    let (cust, officer, _) = c.customer(&admin, "Alpha").await;
    let site = gateways_support::site(&c, &admin, cust, "本社").await;
    let base = format!("/sites/{site}/revisions");

    // The customer page links to the site's revisions.
    let p = get(&c, &coord, &format!("/customers/{cust}"), "en").await;
    assert!(p.body.contains(&format!("href=\"{base}\"")), "{}", p.body);

    // An empty history, in Japanese, with the link to draft.
    let p = get(&c, &coord, &base, "ja").await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("まだ版はありません。"), "{}", p.body);
    assert!(p.body.contains(&format!("href=\"{base}/new\"")));
    let p = get(&c, &coord, &format!("{base}/new"), "ja").await;
    assert_eq!(p.status, StatusCode::OK);
    let csrf = csrf_of(&p.body);
    assert!(p.body.contains("name=\"policy_text\""));

    // A policy with an error: the form again, the error at line:column, nothing stored.
    let bad = policy("\n[[rules]]\nfrom = \"lan\"\nto = \"mars\"\naction = \"accept\"\n");
    let p = post(
        &c,
        &coord,
        &base,
        "ja",
        &[
            ("csrf", &csrf),
            ("policy_text", &bad),
            ("reason", "誤字"),
            ("syslog_protocol", "udp"),
        ],
    )
    .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", p.body);
    assert!(
        p.body.contains("ポリシーに 1 件のエラーがあります"),
        "{}",
        p.body
    );
    assert!(p.body.contains("17:6: エラー:"), "{}", p.body);
    assert!(p.body.contains("mars"), "the text is kept in the form");
    // A bad SNMP line, in English.
    let p = post(
        &c,
        &coord,
        &base,
        "en",
        &[
            ("csrf", &csrf),
            ("policy_text", &policy("")),
            ("reason", "x"),
            ("snmp", "ops sha256 short"),
        ],
    )
    .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        p.body.contains("line 1: 3 words instead of 5"),
        "{}",
        p.body
    );
    // No CSRF field: refused.
    let p = post(
        &c,
        &coord,
        &base,
        "en",
        &[("policy_text", &policy("")), ("reason", "x")],
    )
    .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert_eq!(
        get(&c, &coord, &format!("{base}/1"), "en").await.status,
        StatusCode::NOT_FOUND
    );

    // A good draft with settings.
    let p = post(
        &c,
        &coord,
        &base,
        "ja",
        &[
            ("csrf", &csrf),
            ("policy_text", &policy("")),
            ("syslog_host", "log.example.jp"),
            ("syslog_port", ""),
            ("syslog_protocol", "tcp"),
            ("snmp", "ops sha256 auth-secret-1 aes priv-secret-1\n"),
            ("ntp", "ntp.example.jp"),
            ("dns", "192.0.2.53, 192.0.2.54"),
            ("reason", "初期設定"),
            ("instruction_id", ""),
        ],
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(p.location.as_deref(), Some(format!("{base}/1").as_str()));
    let p = get(&c, &coord, &format!("{base}/1"), "ja").await;
    assert!(
        p.body.contains("<dd id=\"state\">下書き</dd>"),
        "{}",
        p.body
    );
    // The diagnostic speaks the reader's language.
    assert!(
        p.body
            .contains("9:1: 警告: アドレスオブジェクト `web` は使われていません"),
        "the warning is kept: {}",
        p.body
    );
    let en = get(&c, &coord, &format!("{base}/1"), "en").await;
    assert!(
        en.body
            .contains("9:1: warning: address object `web` is not used"),
        "the warning is kept: {}",
        en.body
    );
    assert!(
        p.body.contains("syslog = log.example.jp:514 tcp"),
        "{}",
        p.body
    );
    assert!(p.body.contains("dns = 192.0.2.54"));
    // Four-eyes: the author's approval is refused and changes nothing.
    let csrf = csrf_of(&p.body);
    let p = post(
        &c,
        &coord,
        &format!("{base}/1/approve"),
        "en",
        &[("csrf", &csrf), ("text", "")],
    )
    .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(p.body.contains("four-eyes"), "{}", p.body);
    let p = get(&c, &op, &format!("{base}/1"), "en").await;
    assert!(p.body.contains("<dd id=\"state\">Draft</dd>"));
    assert!(p.body.contains("id=\"approve\""));
    assert!(!p.body.contains("id=\"publish\""));
    let csrf_op = csrf_of(&p.body);
    let p = post(
        &c,
        &op,
        &format!("{base}/1/approve"),
        "en",
        &[("csrf", &csrf_op), ("text", "ok")],
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let p = get(&c, &op, &format!("{base}/1"), "en").await;
    assert!(p.body.contains("<dd id=\"state\">Approved</dd>"));
    assert!(p.body.contains("id=\"publish\""));
    let p = post(
        &c,
        &op,
        &format!("{base}/1/publish"),
        "en",
        &[("csrf", &csrf_op)],
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let p = get(&c, &op, &format!("{base}/1"), "ja").await;
    assert!(
        p.body.contains("<dd id=\"state\">公開済み</dd>"),
        "{}",
        p.body
    );
    assert!(p.body.contains("<dd id=\"generation\">1</dd>"));
    // Japanese dates.
    assert!(p.body.contains("年") && p.body.contains("月"), "{}", p.body);

    // A second draft from the first (the form is prefilled), with a new rule.
    let p = get(&c, &coord, &format!("{base}/new?from=1"), "en").await;
    assert!(
        p.body.contains("auth-secret-1"),
        "staff who configure SNMP see its pass phrases"
    );
    assert!(p.body.contains("log.example.jp"));
    let rule = "\n[[rules]]\nname = \"web-in\"\nfrom = \"wan\"\nto = \"lan\"\ndestination = \"web\"\nservice = \"tcp/443\"\naction = \"accept\"\n";
    let p = post(
        &c,
        &coord,
        &base,
        "en",
        &[
            ("csrf", &csrf),
            ("policy_text", &policy(rule)),
            ("syslog_host", "log.example.jp"),
            ("syslog_protocol", "tcp"),
            ("snmp", "ops sha256 auth-secret-1 aes priv-secret-2"),
            ("ntp", "ntp.example.jp"),
            ("dns", "192.0.2.53 192.0.2.54"),
            ("reason", "open 443"),
        ],
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let p = get(&c, &op, &base, "en").await;
    assert!(p.body.contains("id=\"compare\""));
    let p = get(&c, &op, &format!("{base}/diff?from=1&to=2"), "ja").await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(p.body.contains("追加されたルール: web-in"), "{}", p.body);
    // The change summary speaks the reader's language.
    assert!(
        p.body.contains("SNMP ユーザー ops: パスフレーズを変更"),
        "{}",
        p.body
    );
    let en = get(&c, &op, &format!("{base}/diff?from=1&to=2"), "en").await;
    assert!(
        en.body.contains("SNMP user ops: pass phrase changed"),
        "{}",
        en.body
    );
    assert!(p.body.contains("<tr class=\"added\">"), "{}", p.body);
    assert!(p.body.contains("name = &quot;web-in&quot;"), "{}", p.body);

    // Roll back to 1: a new draft 3 equal to 1.
    let p = post(
        &c,
        &coord,
        &format!("{base}/1/rollback"),
        "en",
        &[("csrf", &csrf), ("text", "back to the start")],
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(p.location.as_deref(), Some(format!("{base}/3").as_str()));
    let p = get(&c, &op, &format!("{base}/3"), "en").await;
    assert!(
        p.body.contains("<dd id=\"restored\"><a href=\"/sites/"),
        "{}",
        p.body
    );
    let p = get(&c, &op, &format!("{base}/diff?from=1&to=3"), "en").await;
    assert!(p.body.contains("No differences."), "{}", p.body);

    // The officer reads the history, the revision and the diff, with the pass phrases
    // hidden and no actions.
    for path in [
        base.clone(),
        format!("{base}/1"),
        format!("{base}/diff?from=1&to=2"),
    ] {
        let p = get(&c, &officer, &path, "ja").await;
        assert_eq!(p.status, StatusCode::OK, "{path}");
        assert!(!p.body.contains("secret"), "{path}: {}", p.body);
        for form in [
            "id=\"approve\"",
            "id=\"reject\"",
            "id=\"publish\"",
            "id=\"rollback\"",
            "id=\"new\"",
        ] {
            assert!(!p.body.contains(form), "{path}: {form}");
        }
    }
    let p = get(&c, &officer, &format!("{base}/1"), "ja").await;
    assert!(p.body.contains("auth_pass=********"), "{}", p.body);
    assert_eq!(
        get(&c, &officer, &format!("{base}/new"), "en").await.status,
        StatusCode::FORBIDDEN
    );
    let csrf_officer = csrf_of(&get(&c, &officer, "/", "en").await.body);
    let p = post(
        &c,
        &officer,
        &format!("{base}/3/approve"),
        "en",
        &[("csrf", &csrf_officer)],
    )
    .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);

    // Another customer's officer: every page is 404, like a missing site.
    let (_, other, _) = c.customer(&admin, "Beta").await;
    for path in [
        base.clone(),
        format!("{base}/1"),
        format!("{base}/diff?from=1&to=2"),
        format!("{base}/new"),
    ] {
        let p = get(&c, &other, &path, "en").await;
        assert_eq!(p.status, StatusCode::NOT_FOUND, "{path}: {}", p.body);
        assert!(!p.body.contains("web-in"));
    }
    let csrf_other = csrf_of(&get(&c, &other, "/", "en").await.body);
    for action in ["approve", "reject", "publish", "rollback"] {
        let p = post(
            &c,
            &other,
            &format!("{base}/3/{action}"),
            "en",
            &[("csrf", &csrf_other), ("text", "x")],
        )
        .await;
        assert_eq!(p.status, StatusCode::NOT_FOUND, "{action}");
    }
    let (_, r) = c
        .get(&format!("/api/v1/sites/{site}/revisions/3"), &op)
        .await;
    assert_eq!(
        r["state"], "draft",
        "nothing the other customer sent changed it"
    );
    c.stop().await;
}
