//! Panel pages of configuration revisions, in Japanese and English: a site's history,
//! one revision with its diagnostics and the workflow's actions, the diff of two
//! revisions, and the form that drafts a revision (the policy and the settings).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use mamori_api::settings::{
    GatewaySettings, SnmpAuth, SnmpPriv, SnmpV3User, SyslogTarget, Transport,
};
use serde::Deserialize;

use super::gateways::w;
use super::{
    AppError, AppState, Form, Lang, PanelUser, check_csrf, date, error_page, esc, now_ms, page,
};
use crate::app::{Field, Forbidden, Invalid};
use crate::domain::Site;
use crate::gateways::revisions::{
    ChangeSummary, Diagnostics, DiffKind, DiffLine, Draft, Revision, RevisionState, diagnose,
    may_draft, may_publish, may_review, sees_secrets, settings_text, snmp_auth, snmp_priv,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sites/{id}/revisions", get(history_page).post(create))
        .route("/sites/{id}/revisions/new", get(new_page))
        .route("/sites/{id}/revisions/diff", get(diff_page))
        .route("/sites/{id}/revisions/{n}", get(revision_page))
        .route("/sites/{id}/revisions/{n}/{action}", post(act))
}

fn state_label(l: Lang, s: RevisionState) -> &'static str {
    let (ja, en) = s.label();
    w(l, ja, en)
}

fn num(s: &str) -> Result<i64, AppError> {
    s.parse().map_err(|_| AppError::NotFound)
}

fn opt(v: Option<i64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

async fn history_page(State(s): State<AppState>, u: PanelUser, Path(id): Path<String>) -> Response {
    let l = u.lang;
    let (site, list) = match async { s.app.site_revisions(&u.actor, num(&id)?).await }.await {
        Ok(x) => x,
        Err(e) => return error_page(l, Some(&u), e),
    };
    let mut body = format!(
        "<p>{} {} — {}</p>",
        w(l, "拠点", "Site"),
        esc(&site.name),
        esc(&site.address)
    );
    if may_draft(&u.actor) {
        body.push_str(&format!(
            "<p><a id=\"new\" href=\"/sites/{}/revisions/new\">{}</a></p>",
            site.id,
            w(l, "新しい版を作成", "Draft a new revision")
        ));
    }
    body.push_str(&format!(
        "<table id=\"revisions\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        w(l, "版", "Number"),
        w(l, "状態", "State"),
        w(l, "世代", "Generation"),
        w(l, "作成者", "Author"),
        w(l, "日時", "When"),
        w(l, "変更理由", "Reason"),
        w(l, "指示", "Instruction"),
    ));
    for r in &list {
        body.push_str(&format!(
            "<tr><td><a href=\"/sites/{}/revisions/{}\">{}</a></td><td class=\"state\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td></tr>",
            site.id,
            r.number,
            r.number,
            state_label(l, r.state),
            opt(r.generation),
            esc(&r.author),
            date(l, r.created_at),
            esc(&r.reason),
            r.restored_from
                .map(|n| format!(" ({} {n})", w(l, "復元元:", "restores")))
                .unwrap_or_default(),
            r.instruction_id
                .map(|i| format!("<a href=\"/instructions/{i}\">#{i}</a>"))
                .unwrap_or_default(),
        ));
    }
    body.push_str("</tbody></table>");
    if list.is_empty() {
        body.push_str(&format!(
            "<p id=\"empty\">{}</p>",
            w(l, "まだ版はありません。", "No revisions yet.")
        ));
    } else if list.len() > 1 {
        let options = |sel: i64| {
            list.iter()
                .map(|r| {
                    format!(
                        "<option value=\"{0}\"{1}>{0}</option>",
                        r.number,
                        if r.number == sel { " selected" } else { "" }
                    )
                })
                .collect::<String>()
        };
        body.push_str(&format!(
            "<form method=\"get\" action=\"/sites/{}/revisions/diff\" id=\"compare\"><label>{} <select name=\"from\">{}</select></label> <label>{} <select name=\"to\">{}</select></label> <button>{}</button></form>",
            site.id,
            w(l, "比較元", "From"),
            options(list[1].number),
            w(l, "比較先", "To"),
            options(list[0].number),
            w(l, "差分を表示", "Show the diff"),
        ));
    }
    let title = format!(
        "{} — {}",
        site.name,
        w(l, "設定の版", "Configuration revisions")
    );
    page(l, Some(&u), &title, &body).into_response()
}

fn diagnostics_html(l: Lang, d: &Diagnostics) -> String {
    if d.policy.is_empty() && d.settings.is_empty() {
        return format!(
            "<p id=\"diagnostics\">{}{}</p>",
            w(l, "問題はありません。", "No problems."),
            d.compiled_rules
                .map(|n| format!(
                    " {} {n}",
                    w(l, "コンパイル後のルール数:", "Compiled rules:")
                ))
                .unwrap_or_default()
        );
    }
    let mut out = String::from("<ul id=\"diagnostics\">");
    for x in &d.policy {
        let (class, sev) = if x.is_error() {
            ("err", w(l, "エラー", "error"))
        } else {
            ("warn", w(l, "警告", "warning"))
        };
        out.push_str(&format!(
            "<li class=\"{class}\">{}:{}: {sev}: {}{}</li>",
            x.line,
            x.column,
            esc(&x.message_for(if l == Lang::Ja { "ja" } else { "en" })),
            x.hint_for(if l == Lang::Ja { "ja" } else { "en" })
                .map(|h| format!(" <small>({})</small>", esc(&h)))
                .unwrap_or_default()
        ));
    }
    for p in &d.settings {
        out.push_str(&format!(
            "<li class=\"err\">{}: {}</li>",
            esc(&p.field),
            esc(if l == Lang::Ja { &p.ja } else { &p.en })
        ));
    }
    out.push_str("</ul>");
    out
}

async fn revision_page(
    State(s): State<AppState>,
    u: PanelUser,
    Path((id, n)): Path<(String, String)>,
) -> Response {
    let l = u.lang;
    let r = match async { s.app.revision(&u.actor, num(&id)?, num(&n)?).await }.await {
        Ok(r) => r,
        Err(e) => return error_page(l, Some(&u), e),
    };
    let secrets = sees_secrets(&u.actor);
    let d = diagnose(&r.policy_text, &r.settings);
    let base = format!("/sites/{}/revisions", r.site_id);
    let mut body = format!(
        "<p><a href=\"{base}\">{}</a></p><dl><dt>{}</dt><dd id=\"state\">{}</dd><dt>{}</dt><dd id=\"generation\">{}</dd><dt>{}</dt><dd>{} — {}</dd><dt>{}</dt><dd id=\"reason\">{}</dd><dt>{}</dt><dd>{}</dd>",
        w(l, "版の一覧へ", "All revisions"),
        w(l, "状態", "State"),
        state_label(l, r.state),
        w(l, "世代", "Generation"),
        opt(r.generation),
        w(l, "作成", "Drafted"),
        esc(&r.author),
        date(l, r.created_at),
        w(l, "変更理由", "Reason"),
        esc(&r.reason),
        w(l, "指示", "Instruction"),
        r.instruction_id
            .map(|i| format!("<a href=\"/instructions/{i}\">#{i}</a>"))
            .unwrap_or_default(),
    );
    if let Some(n) = r.restored_from {
        body.push_str(&format!(
            "<dt>{}</dt><dd id=\"restored\"><a href=\"{base}/{n}\">{n}</a></dd>",
            w(l, "復元元の版", "Restores revision")
        ));
    }
    if let (Some(by), Some(at)) = (&r.reviewed_by, r.reviewed_at) {
        body.push_str(&format!(
            "<dt>{}</dt><dd>{} — {} {}</dd>",
            w(l, "審査", "Reviewed"),
            esc(by),
            date(l, at),
            esc(r.review_note.as_deref().unwrap_or(""))
        ));
    }
    if let (Some(by), Some(at)) = (&r.published_by, r.published_at) {
        body.push_str(&format!(
            "<dt>{}</dt><dd>{} — {}</dd>",
            w(l, "公開", "Published"),
            esc(by),
            date(l, at)
        ));
    }
    body.push_str("</dl>");
    body.push_str(&format!(
        "<h2>{}</h2>{}",
        w(l, "診断", "Diagnostics"),
        diagnostics_html(l, &d)
    ));
    // A revision stored before `operations_center` named these addresses: it cannot
    // be published, and the page says why.
    if let Some(e) = crate::gateways::revisions::operations_center_error(
        &r.policy_text,
        &s.app.settings.operations_center,
    ) {
        body.push_str(&format!(
            "<p class=\"err\" id=\"operations-center\">{}</p>",
            esc(&e.text(if l == Lang::Ja {
                crate::app::Lang::Ja
            } else {
                crate::app::Lang::En
            }))
        ));
    }
    body.push_str(&actions_html(l, &u, &r, &base));
    if r.number > 1 {
        body.push_str(&format!(
            "<p><a id=\"diff-prev\" href=\"{base}/diff?from={}&amp;to={}\">{}</a></p>",
            r.number - 1,
            r.number,
            w(l, "前の版との差分", "Diff with the previous revision")
        ));
    }
    body.push_str(&format!(
        "<h2>{}</h2><pre id=\"policy\">{}</pre><h2>{}</h2><pre id=\"settings\">{}</pre>",
        w(l, "ポリシー", "Policy"),
        esc(&r.policy_text),
        w(l, "機器設定", "Gateway settings"),
        esc(&settings_text(&r.settings, secrets)),
    ));
    let title = format!(
        "{} {}",
        w(l, "設定の版", "Configuration revision"),
        r.number
    );
    page(l, Some(&u), &title, &body).into_response()
}

fn actions_html(l: Lang, u: &PanelUser, r: &Revision, base: &str) -> String {
    let csrf = format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(&u.csrf)
    );
    let mut out = String::new();
    let n = r.number;
    if r.state == RevisionState::Draft && may_review(&u.actor) {
        out.push_str(&format!(
            "<form method=\"post\" action=\"{base}/{n}/approve\" id=\"approve\">{csrf}<label>{}<br><input name=\"text\"></label><button>{}</button></form>",
            w(l, "コメント(任意)", "Note (optional)"),
            w(l, "承認", "Approve"),
        ));
        out.push_str(&format!(
            "<form method=\"post\" action=\"{base}/{n}/reject\" id=\"reject\">{csrf}<label>{}<br><input name=\"text\" required></label><button>{}</button></form>",
            w(l, "却下の理由", "Why it is rejected"),
            w(l, "却下", "Reject"),
        ));
    }
    if r.state == RevisionState::Approved && may_publish(&u.actor) {
        out.push_str(&format!(
            "<form method=\"post\" action=\"{base}/{n}/publish\" id=\"publish\">{csrf}<button>{}</button></form>",
            w(l, "公開(次の世代として配信)", "Publish as the next generation"),
        ));
    }
    if may_draft(&u.actor) {
        out.push_str(&format!(
            "<form method=\"post\" action=\"{base}/{n}/rollback\" id=\"rollback\">{csrf}<label>{}<br><input name=\"text\" required></label><button>{}</button></form><p><a href=\"{base}/new?from={n}\">{}</a></p>",
            w(l, "この版に戻す理由", "Why to roll back to this revision"),
            w(l, "この版に戻す", "Roll back to this revision"),
            w(l, "この版をもとに新しい版を作成", "Draft a new revision from this one"),
        ));
    }
    if out.is_empty() {
        return out;
    }
    format!("<h2>{}</h2>{out}", w(l, "操作", "Actions"))
}

#[derive(Deserialize)]
struct ActForm {
    csrf: Option<String>,
    #[serde(default)]
    text: String,
}

async fn act(
    State(s): State<AppState>,
    u: PanelUser,
    Path((id, n, action)): Path<(String, String, String)>,
    Form(f): Form<ActForm>,
) -> Response {
    if let Err(r) = check_csrf(&u, &f.csrf) {
        return *r;
    }
    let (site, n) = match (num(&id), num(&n)) {
        (Ok(a), Ok(b)) => (a, b),
        _ => return error_page(u.lang, Some(&u), AppError::NotFound),
    };
    let now = now_ms();
    let four_eyes = s.config.four_eyes;
    let result = match action.as_str() {
        "approve" => {
            s.app
                .review_revision(&u.actor, site, n, true, &f.text, four_eyes, now)
                .await
        }
        "reject" => {
            s.app
                .review_revision(&u.actor, site, n, false, &f.text, four_eyes, now)
                .await
        }
        "publish" => s.app.publish_revision(&u.actor, site, n, now).await,
        "rollback" => {
            s.app
                .rollback_revision(&u.actor, site, n, &f.text, None, now)
                .await
        }
        _ => Err(AppError::NotFound),
    };
    match result {
        Ok(r) => Redirect::to(&format!("/sites/{site}/revisions/{}", r.number)).into_response(),
        Err(e) => error_page(u.lang, Some(&u), e),
    }
}

// ---- diff ---------------------------------------------------------------------------------

#[derive(Deserialize)]
struct DiffQuery {
    from: Option<String>,
    to: Option<String>,
}

fn lines_html(l: Lang, id: &str, lines: &[DiffLine]) -> String {
    if lines.is_empty() {
        return format!(
            "<p id=\"{id}\">{}</p>",
            w(l, "違いはありません。", "No differences.")
        );
    }
    let mut out = format!("<table id=\"{id}\" class=\"diff\"><tbody>");
    for x in lines {
        let (class, mark) = match x.kind {
            DiffKind::Added => ("added", "+"),
            DiffKind::Removed => ("removed", "-"),
            DiffKind::Context => ("context", " "),
            DiffKind::Gap => ("gap", "…"),
        };
        out.push_str(&format!(
            "<tr class=\"{class}\"><td>{}</td><td>{}</td><td><code>{mark} {}</code></td></tr>",
            x.old.map(|v| v.to_string()).unwrap_or_default(),
            x.new.map(|v| v.to_string()).unwrap_or_default(),
            esc(&x.text)
        ));
    }
    out.push_str("</tbody></table>");
    out
}

fn summary_html(l: Lang, s: &ChangeSummary) -> String {
    let mut out = String::from("<ul id=\"summary\">");
    let mut item = |label: &str, v: &[String]| {
        if !v.is_empty() {
            out.push_str(&format!(
                "<li>{label}: {}</li>",
                v.iter().map(|x| esc(x)).collect::<Vec<_>>().join(", ")
            ));
        }
    };
    item(w(l, "追加されたルール", "Rules added"), &s.rules_added);
    item(w(l, "削除されたルール", "Rules removed"), &s.rules_removed);
    item(w(l, "変更されたルール", "Rules changed"), &s.rules_changed);
    item(
        w(l, "追加されたオブジェクト", "Objects added"),
        &s.objects_added,
    );
    item(
        w(l, "削除されたオブジェクト", "Objects removed"),
        &s.objects_removed,
    );
    item(
        w(l, "変更されたオブジェクト", "Objects changed"),
        &s.objects_changed,
    );
    item(w(l, "ゾーンと既定動作", "Zones and defaults"), &s.zones);
    item("NAT", &s.nat);
    item(
        w(l, "ロードバランサー", "Load balancers"),
        &s.load_balancers,
    );
    item(w(l, "機器設定", "Gateway settings"), &s.settings);
    if let Some(why) = &s.unavailable {
        out.push_str(&format!(
            "<li>{}: {}</li>",
            w(l, "ポリシーの比較はできません", "No policy summary"),
            esc(why)
        ));
    }
    if s.is_empty() && s.unavailable.is_none() {
        out.push_str(&format!(
            "<li>{}</li>",
            w(l, "変更はありません。", "No changes.")
        ));
    }
    out.push_str("</ul>");
    out
}

async fn diff_page(
    State(s): State<AppState>,
    u: PanelUser,
    Path(id): Path<String>,
    Query(q): Query<DiffQuery>,
) -> Response {
    let l = u.lang;
    let d = match async {
        let from = num(q.from.as_deref().unwrap_or(""))?;
        let to = num(q.to.as_deref().unwrap_or(""))?;
        s.app.revision_diff(&u.actor, num(&id)?, from, to).await
    }
    .await
    {
        Ok(d) => d,
        Err(e) => return error_page(l, Some(&u), e),
    };
    let base = format!("/sites/{}/revisions", d.to.site_id);
    let body = format!(
        "<p><a href=\"{base}\">{}</a> — <a href=\"{base}/{a}\">{a}</a> → <a href=\"{base}/{b}\">{b}</a></p><h2>{}</h2>{}<h2>{}</h2>{}<h2>{}</h2>{}",
        w(l, "版の一覧へ", "All revisions"),
        w(l, "変更の概要", "Summary of changes"),
        summary_html(
            l,
            &d.summary_in(if l == Lang::Ja {
                crate::app::Lang::Ja
            } else {
                crate::app::Lang::En
            })
        ),
        w(l, "ポリシーの差分", "Policy diff"),
        lines_html(l, "policy-diff", &d.policy),
        w(l, "機器設定の差分", "Settings diff"),
        lines_html(l, "settings-diff", &d.settings),
        a = d.from.number,
        b = d.to.number,
    );
    let title = format!(
        "{} {} → {}",
        w(l, "差分", "Diff"),
        d.from.number,
        d.to.number
    );
    page(l, Some(&u), &title, &body).into_response()
}

// ---- drafting ---------------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct DraftForm {
    csrf: Option<String>,
    #[serde(default)]
    policy_text: String,
    #[serde(default)]
    syslog_host: String,
    #[serde(default)]
    syslog_port: String,
    #[serde(default)]
    syslog_protocol: String,
    #[serde(default)]
    snmp: String,
    #[serde(default)]
    ntp: String,
    #[serde(default)]
    dns: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    instruction_id: String,
}

fn form_of(r: &Revision) -> DraftForm {
    let s = &r.settings;
    DraftForm {
        csrf: None,
        policy_text: r.policy_text.clone(),
        syslog_host: s
            .syslog
            .as_ref()
            .map(|t| t.host.clone())
            .unwrap_or_default(),
        syslog_port: s
            .syslog
            .as_ref()
            .map(|t| t.port.to_string())
            .unwrap_or_default(),
        syslog_protocol: match s.syslog.as_ref().map(|t| t.protocol) {
            Some(Transport::Tcp) => "tcp".into(),
            _ => "udp".into(),
        },
        snmp: s
            .snmp_v3
            .iter()
            .map(|u| {
                format!(
                    "{} {} {} {} {}\n",
                    u.user,
                    snmp_auth(u),
                    u.auth_pass,
                    snmp_priv(u),
                    u.priv_pass
                )
            })
            .collect(),
        ntp: s.ntp.join("\n"),
        dns: s.dns.join("\n"),
        reason: String::new(),
        instruction_id: String::new(),
    }
}

fn words(v: &str) -> Vec<String> {
    v.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|x| !x.is_empty())
        .map(String::from)
        .collect()
}

/// The settings fields of the form: `snmp` holds one user a line, `USER AUTH AUTH_PASS
/// PRIVACY PRIV_PASS`.
fn settings_of(f: &DraftForm) -> Result<GatewaySettings, AppError> {
    let host = f.syslog_host.trim();
    let syslog = if host.is_empty() {
        None
    } else {
        let port = match f.syslog_port.trim() {
            "" => 514,
            p => p.parse::<u16>().map_err(|_| {
                AppError::invalid(Field::SyslogPort, Invalid::NotAPort { v: p.to_string() })
            })?,
        };
        let protocol = match f.syslog_protocol.as_str() {
            "tcp" => Transport::Tcp,
            _ => Transport::Udp,
        };
        Some(SyslogTarget {
            host: host.to_string(),
            port,
            protocol,
        })
    };
    let mut snmp_v3 = Vec::new();
    for (i, line) in f.snmp.lines().enumerate() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        if parts.is_empty() {
            continue;
        }
        let bad = |what: &str, ja: &str| {
            AppError::invalid(
                Field::Snmp,
                Invalid::SnmpLine {
                    line: i + 1,
                    what_ja: ja.to_string(),
                    what_en: what.to_string(),
                },
            )
        };
        let [user, auth, auth_pass, privacy, priv_pass] = parts[..] else {
            return Err(bad(
                &format!("{} words instead of 5", parts.len()),
                &format!("項目が {} 個です(5 個必要です)", parts.len()),
            ));
        };
        let auth = match auth {
            "sha" => SnmpAuth::Sha,
            "sha256" => SnmpAuth::Sha256,
            "sha512" => SnmpAuth::Sha512,
            _ => {
                return Err(bad(
                    &format!("{auth:?} is not sha, sha256 or sha512"),
                    &format!("認証方式「{auth}」は sha・sha256・sha512 のいずれかにしてください"),
                ));
            }
        };
        let privacy = match privacy {
            "aes" => SnmpPriv::Aes,
            "aes256" => SnmpPriv::Aes256,
            _ => {
                return Err(bad(
                    &format!("{privacy:?} is not aes or aes256"),
                    &format!("暗号方式「{privacy}」は aes・aes256 のいずれかにしてください"),
                ));
            }
        };
        snmp_v3.push(SnmpV3User {
            user: user.into(),
            auth,
            auth_pass: auth_pass.into(),
            privacy,
            priv_pass: priv_pass.into(),
        });
    }
    Ok(GatewaySettings {
        syslog,
        snmp_v3,
        ntp: words(&f.ntp),
        dns: words(&f.dns),
    })
}

fn draft_form_html(l: Lang, u: &PanelUser, site: &Site, f: &DraftForm, msg: &str) -> String {
    let proto = |p: &str| {
        format!(
            "<option value=\"{p}\"{}>{p}</option>",
            if f.syslog_protocol == p {
                " selected"
            } else {
                ""
            }
        )
    };
    format!(
        "{msg}<form method=\"post\" action=\"/sites/{}/revisions\" id=\"draft\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
<label>{}<br><textarea name=\"policy_text\" rows=\"24\" spellcheck=\"false\">{}</textarea></label>\
<fieldset><legend>syslog</legend><label>{} <input name=\"syslog_host\" value=\"{}\"></label><label>{} <input name=\"syslog_port\" value=\"{}\" inputmode=\"numeric\"></label><label>{} <select name=\"syslog_protocol\">{}{}</select></label></fieldset>\
<label>{}<br><textarea name=\"snmp\" rows=\"3\" spellcheck=\"false\">{}</textarea></label>\
<label>{}<br><textarea name=\"ntp\" rows=\"2\">{}</textarea></label>\
<label>{}<br><textarea name=\"dns\" rows=\"2\">{}</textarea></label>\
<label>{}<br><input name=\"reason\" value=\"{}\" required></label>\
<label>{}<br><input name=\"instruction_id\" value=\"{}\" inputmode=\"numeric\"></label>\
<button>{}</button></form>",
        site.id,
        esc(&u.csrf),
        w(l, "ポリシー(TOML)", "Policy (TOML)"),
        esc(&f.policy_text),
        w(l, "送信先", "Host"),
        esc(&f.syslog_host),
        w(l, "ポート", "Port"),
        esc(&f.syslog_port),
        w(l, "プロトコル", "Protocol"),
        proto("udp"),
        proto("tcp"),
        w(
            l,
            "SNMPv3 ユーザー(1 行に 1 人: ユーザー 認証方式 認証パスフレーズ 暗号方式 暗号パスフレーズ)",
            "SNMPv3 users (one a line: USER AUTH AUTH_PASS PRIVACY PRIV_PASS)"
        ),
        esc(&f.snmp),
        w(l, "NTP サーバー(1 行に 1 つ)", "NTP servers (one a line)"),
        esc(&f.ntp),
        w(l, "DNS サーバー(1 行に 1 つ)", "DNS servers (one a line)"),
        esc(&f.dns),
        w(l, "変更理由(必須)", "Reason (required)"),
        esc(&f.reason),
        w(
            l,
            "対応する指示の番号(任意)",
            "Instruction it answers (number, optional)"
        ),
        esc(&f.instruction_id),
        w(l, "下書きを保存", "Save the draft"),
    )
}

#[derive(Deserialize)]
struct NewQuery {
    from: Option<String>,
}

async fn new_page(
    State(s): State<AppState>,
    u: PanelUser,
    Path(id): Path<String>,
    Query(q): Query<NewQuery>,
) -> Response {
    let l = u.lang;
    let loaded = async {
        let (site, list) = s.app.site_revisions(&u.actor, num(&id)?).await?;
        if !may_draft(&u.actor) {
            return Err(AppError::Forbidden(Forbidden::DraftRevisions));
        }
        let base = match q.from.as_deref().filter(|v| !v.is_empty()) {
            Some(n) => {
                let n = num(n)?;
                list.into_iter().find(|r| r.number == n)
            }
            None => list.into_iter().next(),
        };
        Ok::<_, AppError>((site, base))
    }
    .await;
    let (site, base) = match loaded {
        Ok(x) => x,
        Err(e) => return error_page(l, Some(&u), e),
    };
    let f = base.as_ref().map(form_of).unwrap_or_default();
    let msg = base
        .map(|r| {
            format!(
                "<p>{} {}</p>",
                w(l, "もとにした版:", "Based on revision"),
                r.number
            )
        })
        .unwrap_or_default();
    let body = draft_form_html(l, &u, &site, &f, &msg);
    page(
        l,
        Some(&u),
        w(l, "新しい版の下書き", "Draft a revision"),
        &body,
    )
    .into_response()
}

async fn create(
    State(s): State<AppState>,
    u: PanelUser,
    Path(id): Path<String>,
    Form(f): Form<DraftForm>,
) -> Response {
    if let Err(r) = check_csrf(&u, &f.csrf) {
        return *r;
    }
    let l = u.lang;
    let site_id = match num(&id) {
        Ok(x) => x,
        Err(e) => return error_page(l, Some(&u), e),
    };
    let result = async {
        let settings = settings_of(&f).map_err(|e| (e, None))?;
        let instruction_id = match f.instruction_id.trim().trim_start_matches('#') {
            "" => None,
            v => Some(v.parse::<i64>().map_err(|_| {
                (
                    AppError::invalid(
                        Field::InstructionId,
                        Invalid::NotAnInstructionNumber { v: v.to_string() },
                    ),
                    None,
                )
            })?),
        };
        let draft = Draft {
            policy_text: f.policy_text.clone(),
            settings: settings.clone(),
            reason: f.reason.clone(),
            instruction_id,
        };
        s.app
            .create_revision(&u.actor, site_id, draft, now_ms())
            .await
            .map_err(|e| (e, Some(settings)))
    }
    .await;
    let (e, settings) = match result {
        Ok(r) => {
            return Redirect::to(&format!("/sites/{site_id}/revisions/{}", r.number))
                .into_response();
        }
        Err(x) => x,
    };
    // A wrong field: the form again, with the message and every diagnostic.
    let AppError::Invalid { .. } = e else {
        return error_page(l, Some(&u), e);
    };
    let site = match s.app.site_revisions(&u.actor, site_id).await {
        Ok((site, _)) => site,
        Err(e) => return error_page(l, Some(&u), e),
    };
    let mut msg = format!(
        "<p class=\"err\" id=\"error\">{}</p>",
        esc(&e.text(if l == Lang::Ja {
            crate::app::Lang::Ja
        } else {
            crate::app::Lang::En
        }))
    );
    if let Some(settings) = settings {
        msg.push_str(&diagnostics_html(l, &diagnose(&f.policy_text, &settings)));
    }
    let body = draft_form_html(l, &u, &site, &f, &msg);
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        page(
            l,
            Some(&u),
            w(l, "新しい版の下書き", "Draft a revision"),
            &body,
        ),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn form(snmp: &str, ntp: &str, dns: &str, host: &str, port: &str) -> DraftForm {
        DraftForm {
            snmp: snmp.into(),
            ntp: ntp.into(),
            dns: dns.into(),
            syslog_host: host.into(),
            syslog_port: port.into(),
            syslog_protocol: "udp".into(),
            ..DraftForm::default()
        }
    }

    #[test]
    fn snmp_lines_become_users_and_bad_lines_are_named() {
        let s = settings_of(&form(
            "ops sha256 pass-one-1 aes256 pass-two-2\n\n  mon sha p1234567 aes p7654321  \n",
            "a.example b.example",
            "192.0.2.1,192.0.2.2",
            "log.example",
            "",
        ))
        .unwrap();
        assert_eq!(s.snmp_v3.len(), 2);
        assert_eq!(s.snmp_v3[1].user, "mon");
        assert_eq!(s.snmp_v3[0].privacy, SnmpPriv::Aes256);
        assert_eq!(s.ntp, ["a.example", "b.example"]);
        assert_eq!(s.dns, ["192.0.2.1", "192.0.2.2"]);
        assert_eq!(s.syslog.unwrap().port, 514);
        let e = settings_of(&form(
            "ok sha p1234567 aes p1234567\nops md5 a b c",
            "",
            "",
            "",
            "",
        ))
        .unwrap_err();
        assert!(e.to_string().starts_with("snmp: line 2: \"md5\""), "{e}");
        let e = settings_of(&form("", "", "", "log", "99999")).unwrap_err();
        assert!(e.to_string().starts_with("syslog_port:"), "{e}");
    }

    proptest! {
        #[test]
        fn the_settings_form_never_panics(
            snmp in "\\PC{0,80}",
            ntp in "\\PC{0,40}",
            dns in "\\PC{0,40}",
            host in "\\PC{0,20}",
            port in "\\PC{0,8}",
        ) {
            if let Ok(s) = settings_of(&form(&snmp, &ntp, &dns, &host, &port)) {
                let _ = s.check();
                let _ = settings_text(&s, false);
            }
        }

        #[test]
        fn diff_and_summary_never_panic(a in "\\PC{0,200}", b in "\\PC{0,200}") {
            let s = GatewaySettings::default();
            let d = crate::gateways::revisions::line_diff(&a, &b);
            // Equal texts have no diff; different texts have one.
            prop_assert_eq!(d.is_empty(), a == b);
            let _ = crate::gateways::revisions::summarize(&a, &s, &b, &s);
        }
    }
}
