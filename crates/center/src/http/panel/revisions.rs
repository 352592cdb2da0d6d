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
use mamori_center_model::ids::SiteId;
use mamori_center_model::ids::*;
use serde::Deserialize;

use mamori_center_model::messages::Lang;
use mamori_center_model::messages::panel::{Common as C, Revisions as R};
use maud::{Markup, html};

use super::{AppState, Form, PanelUser, check_csrf, csrf_field, date, error_page, page};
use crate::app::AppError;
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

fn num<T: std::str::FromStr>(s: &str) -> Result<T, AppError> {
    s.parse().map_err(|_| AppError::NotFound)
}

fn opt(v: Option<i64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

async fn history_page(State(s): State<AppState>, u: PanelUser, Path(id): Path<String>) -> Response {
    let l = u.lang;
    let (site, list) = match async { s.app.revisions().history(&u.actor, num(&id)?).await }.await {
        Ok(x) => x,
        Err(e) => return error_page(l, Some(&u), e),
    };
    let options = |sel: i64| {
        html! {
            @for r in &list {
                option value=(r.number) selected[r.number == sel] { (r.number) }
            }
        }
    };
    let body = html! {
        p { (C::Site.text(l)) " " (site.name) " — " (site.address) }
        @if may_draft(&u.actor) {
            p { a #new href={ "/sites/" (site.id) "/revisions/new" } { (R::DraftNew.text(l)) } }
        }
        table #revisions {
            thead {
                tr {
                    th { (R::Number.text(l)) } th { (C::State.text(l)) } th { (R::Generation.text(l)) }
                    th { (R::Author.text(l)) } th { (C::When.text(l)) } th { (R::Reason.text(l)) }
                    th { (C::Instruction.text(l)) }
                }
            }
            tbody {
                @for r in &list {
                    tr {
                        td { a href={ "/sites/" (site.id) "/revisions/" (r.number) } { (r.number) } }
                        td.state { (r.state.name().text(l)) }
                        td { (opt(r.generation)) }
                        td { (r.author) }
                        td { (date(l, r.created_at)) }
                        td {
                            (r.reason)
                            @if let Some(n) = r.restored_from { " (" (R::Restores.text(l)) " " (n) ")" }
                        }
                        td {
                            @if let Some(i) = r.instruction_id { a href={ "/instructions/" (i) } { "#" (i) } }
                        }
                    }
                }
            }
        }
        @if list.is_empty() {
            p #empty { (R::NoneYet.text(l)) }
        } @else if list.len() > 1 {
            form method="get" action={ "/sites/" (site.id) "/revisions/diff" } #compare {
                label { (R::CompareFrom.text(l)) " " select name="from" { (options(list[1].number)) } }
                " "
                label { (R::CompareTo.text(l)) " " select name="to" { (options(list[0].number)) } }
                " "
                button { (R::ShowDiff.text(l)) }
            }
        }
    };
    let title = format!("{} — {}", site.name, R::ConfigurationRevisions.text(l));
    page(l, Some(&u), &title, body).into_response()
}

fn diagnostics_html(l: Lang, d: &Diagnostics) -> Markup {
    if d.policy.is_empty() && d.settings.is_empty() {
        return html! {
            p #diagnostics {
                (R::NoProblems.text(l))
                @if let Some(n) = d.compiled_rules { " " (R::CompiledRules.text(l)) " " (n) }
            }
        };
    }
    html! {
        ul #diagnostics {
            @for x in &d.policy {
                @let (class, sev) = if x.is_error() {
                    ("err", R::SeverityError.text(l))
                } else {
                    ("warn", R::SeverityWarning.text(l))
                };
                li class=(class) {
                    (x.line) ":" (x.column) ": " (sev) ": " (x.message_for(l.code()))
                    @if let Some(h) = x.hint_for(l.code()) { " " small { "(" (h) ")" } }
                }
            }
            @for p in &d.settings {
                li.err { (p.field) ": " (l.pick(&p.ja, &p.en)) }
            }
        }
    }
}

async fn revision_page(
    State(s): State<AppState>,
    u: PanelUser,
    Path((id, n)): Path<(String, String)>,
) -> Response {
    let l = u.lang;
    let r = match async { s.app.revisions().get(&u.actor, num(&id)?, num(&n)?).await }.await {
        Ok(r) => r,
        Err(e) => return error_page(l, Some(&u), e),
    };
    let secrets = sees_secrets(&u.actor);
    let d = diagnose(&r.policy_text, &r.settings);
    let base = format!("/sites/{}/revisions", r.site_id);
    // A revision stored before `operations_center` named these addresses: it cannot
    // be published, and the page says why.
    let center_error = crate::gateways::revisions::operations_center_error(
        &r.policy_text,
        &s.app.settings.operations_center,
    );
    let body = html! {
        p { a href=(base) { (R::AllRevisions.text(l)) } }
        dl {
            dt { (C::State.text(l)) } dd #state { (r.state.name().text(l)) }
            dt { (R::Generation.text(l)) } dd #generation { (opt(r.generation)) }
            dt { (R::Drafted.text(l)) } dd { (r.author) " — " (date(l, r.created_at)) }
            dt { (R::Reason.text(l)) } dd #reason { (r.reason) }
            dt { (C::Instruction.text(l)) }
            dd { @if let Some(i) = r.instruction_id { a href={ "/instructions/" (i) } { "#" (i) } } }
            @if let Some(n) = r.restored_from {
                dt { (R::RestoresRevision.text(l)) } dd #restored { a href={ (base) "/" (n) } { (n) } }
            }
            @if let (Some(by), Some(at)) = (&r.reviewed_by, r.reviewed_at) {
                dt { (R::Reviewed.text(l)) }
                dd { (by) " — " (date(l, at)) " " (r.review_note.as_deref().unwrap_or("")) }
            }
            @if let (Some(by), Some(at)) = (&r.published_by, r.published_at) {
                dt { (R::Published.text(l)) } dd { (by) " — " (date(l, at)) }
            }
        }
        h2 { (R::Diagnostics.text(l)) }
        (diagnostics_html(l, &d))
        @if let Some(e) = center_error {
            p.err #operations-center { (e.text(l)) }
        }
        (actions_html(l, &u, &r, &base))
        @if r.number > 1 {
            p {
                a #diff-prev href={ (base) "/diff?from=" (r.number - 1) "&to=" (r.number) } {
                    (R::DiffWithPrevious.text(l))
                }
            }
        }
        h2 { (R::Policy.text(l)) }
        pre #policy { (r.policy_text) }
        h2 { (R::EquipmentSettings.text(l)) }
        pre #settings { (settings_text(&r.settings, secrets)) }
    };
    let title = format!("{} {}", R::ConfigurationRevision.text(l), r.number);
    page(l, Some(&u), &title, body).into_response()
}

fn actions_html(l: Lang, u: &PanelUser, r: &Revision, base: &str) -> Markup {
    let n = r.number;
    let review = r.state == RevisionState::Draft && may_review(&u.actor);
    let publish = r.state == RevisionState::Approved && may_publish(&u.actor);
    let draft = may_draft(&u.actor);
    if !(review || publish || draft) {
        return html! {};
    }
    html! {
        h2 { (R::Actions.text(l)) }
        @if review {
            form method="post" action={ (base) "/" (n) "/approve" } #approve {
                (csrf_field(&u.csrf))
                label { (R::NoteOptional.text(l)) br; input name="text"; }
                button { (R::Approve.text(l)) }
            }
            form method="post" action={ (base) "/" (n) "/reject" } #reject {
                (csrf_field(&u.csrf))
                label { (R::WhyRejected.text(l)) br; input name="text" required; }
                button { (R::Reject.text(l)) }
            }
        }
        @if publish {
            form method="post" action={ (base) "/" (n) "/publish" } #publish
                data-confirm=(mamori_center_model::messages::panel::Confirm::PublishRevision.text(l)) {
                (csrf_field(&u.csrf))
                button { (R::Publish.text(l)) }
            }
        }
        @if draft {
            form method="post" action={ (base) "/" (n) "/rollback" } #rollback {
                (csrf_field(&u.csrf))
                label { (R::WhyRollBack.text(l)) br; input name="text" required; }
                button { (R::RollBack.text(l)) }
            }
            p { a href={ (base) "/new?from=" (n) } { (R::DraftFromThis.text(l)) } }
        }
    }
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
    let now = s.now_ms();
    let four_eyes = s.config.four_eyes;
    let result = match action.as_str() {
        "approve" => {
            s.app
                .revisions()
                .review(
                    &u.actor,
                    SiteId::new(site),
                    n,
                    true,
                    &f.text,
                    four_eyes,
                    now,
                )
                .await
        }
        "reject" => {
            s.app
                .revisions()
                .review(
                    &u.actor,
                    SiteId::new(site),
                    n,
                    false,
                    &f.text,
                    four_eyes,
                    now,
                )
                .await
        }
        "publish" => {
            s.app
                .revisions()
                .publish(&u.actor, SiteId::new(site), n, now)
                .await
        }
        "rollback" => {
            s.app
                .revisions()
                .rollback(&u.actor, SiteId::new(site), n, &f.text, None, now)
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

fn lines_html(l: Lang, id: &str, lines: &[DiffLine]) -> Markup {
    if lines.is_empty() {
        return html! { p id=(id) { (R::NoDifferences.text(l)) } };
    }
    html! {
        table id=(id) class="diff" {
            tbody {
                @for x in lines {
                    @let (class, mark) = match x.kind {
                        DiffKind::Added => ("added", "+"),
                        DiffKind::Removed => ("removed", "-"),
                        DiffKind::Context => ("context", " "),
                        DiffKind::Gap => ("gap", "…"),
                    };
                    tr class=(class) {
                        td { @if let Some(v) = x.old { (v) } }
                        td { @if let Some(v) = x.new { (v) } }
                        td { code { (mark) " " (x.text) } }
                    }
                }
            }
        }
    }
}

fn summary_html(l: Lang, s: &ChangeSummary) -> Markup {
    let items: [(&str, &[String]); 10] = [
        (R::RulesAdded.text(l), &s.rules_added),
        (R::RulesRemoved.text(l), &s.rules_removed),
        (R::RulesChanged.text(l), &s.rules_changed),
        (R::ObjectsAdded.text(l), &s.objects_added),
        (R::ObjectsRemoved.text(l), &s.objects_removed),
        (R::ObjectsChanged.text(l), &s.objects_changed),
        (R::ZonesAndDefaults.text(l), &s.zones),
        (R::Nat.text(l), &s.nat),
        (R::LoadBalancers.text(l), &s.load_balancers),
        (R::EquipmentSettings.text(l), &s.settings),
    ];
    html! {
        ul #summary {
            @for (label, v) in items {
                @if !v.is_empty() {
                    li { (label) ": " (v.join(", ")) }
                }
            }
            @if let Some(why) = &s.unavailable {
                li { (R::NoPolicySummary.text(l)) ": " (why) }
            }
            @if s.is_empty() && s.unavailable.is_none() {
                li { (R::NoChanges.text(l)) }
            }
        }
    }
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
        s.app.revisions().diff(&u.actor, num(&id)?, from, to).await
    }
    .await
    {
        Ok(d) => d,
        Err(e) => return error_page(l, Some(&u), e),
    };
    let base = format!("/sites/{}/revisions", d.to.site_id);
    let (a, b) = (d.from.number, d.to.number);
    let body = html! {
        p {
            a href=(base) { (R::AllRevisions.text(l)) } " — "
            a href={ (base) "/" (a) } { (a) } " → " a href={ (base) "/" (b) } { (b) }
        }
        h2 { (R::SummaryOfChanges.text(l)) }
        (summary_html(l, &d.summary_in(l)))
        h2 { (R::PolicyDiff.text(l)) }
        (lines_html(l, "policy-diff", &d.policy))
        h2 { (R::SettingsDiff.text(l)) }
        (lines_html(l, "settings-diff", &d.settings))
    };
    let title = format!("{} {a} → {b}", R::Diff.text(l));
    page(l, Some(&u), &title, body).into_response()
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

fn draft_form_html(l: Lang, u: &PanelUser, site: &Site, f: &DraftForm, msg: Markup) -> Markup {
    html! {
        (msg)
        form method="post" action={ "/sites/" (site.id) "/revisions" } #draft {
            (csrf_field(&u.csrf))
            label { (R::PolicyToml.text(l)) br; textarea name="policy_text" rows="24" spellcheck="false" { (f.policy_text) } }
            fieldset {
                legend { "syslog" }
                label { (R::Host.text(l)) " " input name="syslog_host" value=(f.syslog_host); }
                label { (R::Port.text(l)) " " input name="syslog_port" value=(f.syslog_port) inputmode="numeric"; }
                label {
                    (R::Protocol.text(l)) " "
                    select name="syslog_protocol" {
                        @for p in ["udp", "tcp"] {
                            option value=(p) selected[f.syslog_protocol == p] { (p) }
                        }
                    }
                }
            }
            label { (R::SnmpUsers.text(l)) br; textarea name="snmp" rows="3" spellcheck="false" { (f.snmp) } }
            label { (R::NtpServers.text(l)) br; textarea name="ntp" rows="2" { (f.ntp) } }
            label { (R::DnsServers.text(l)) br; textarea name="dns" rows="2" { (f.dns) } }
            label { (R::ReasonRequired.text(l)) br; input name="reason" value=(f.reason) required; }
            label { (R::InstructionAnswered.text(l)) br; input name="instruction_id" value=(f.instruction_id) inputmode="numeric"; }
            button { (R::SaveDraft.text(l)) }
        }
    }
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
        let (site, list) = s.app.revisions().history(&u.actor, num(&id)?).await?;
        if !may_draft(&u.actor) {
            return Err(AppError::Forbidden(Forbidden::DraftRevisions));
        }
        let base = match q.from.as_deref().filter(|v| !v.is_empty()) {
            Some(n) => {
                let n: i64 = num(n)?;
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
    let msg = html! {
        @if let Some(r) = &base { p { (R::BasedOn.text(l)) " " (r.number) } }
    };
    let body = draft_form_html(l, &u, &site, &f, msg);
    page(l, Some(&u), R::DraftRevision.text(l), body).into_response()
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
            instruction_id: instruction_id.map(InstructionId::new),
        };
        s.app
            .revisions()
            .draft(&u.actor, SiteId::new(site_id), draft, s.now_ms())
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
    let site = match s
        .app
        .revisions()
        .history(&u.actor, SiteId::new(site_id))
        .await
    {
        Ok((site, _)) => site,
        Err(e) => return error_page(l, Some(&u), e),
    };
    let diagnostics = settings.map(|settings| diagnose(&f.policy_text, &settings));
    let msg = html! {
        p.err #error { (e.text(l)) }
        @if let Some(d) = &diagnostics { (diagnostics_html(l, d)) }
    };
    let body = draft_form_html(l, &u, &site, &f, msg);
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        page(l, Some(&u), R::DraftRevision.text(l), body),
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
