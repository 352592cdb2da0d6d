//! The back office in the control panel, in Japanese and English: contracts and
//! invoices (read-only for a customer's officer and staff, their own only), the
//! qualified invoice as HTML with its PDF, the cancellation with the earliest allowed
//! end date shown before confirming (Art. 11-1), and for back-office staff the
//! overdue list and the monthly invoice run. Forms carry the session's CSRF token.

use axum::Router;
use axum::extract::{Form, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use mamori_billing::document::{Lang, format_date, format_yen};
use mamori_billing::{Balance, Yen};
use serde::Deserialize;

use super::{AppState, Peer, cookie, now_ms, status_of};
use crate::app::AppError;
use crate::auth;
use crate::backoffice::{self as bo, ContractEnding, document};
use crate::domain::{Actor, Role};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/backoffice", get(home))
        .route("/backoffice/contracts/{id}", get(contract_page))
        .route(
            "/backoffice/contracts/{id}/cancel",
            post(cancel_preview_or_confirm),
        )
        .route("/backoffice/contracts/{id}/equipment", post(lend_submit))
        .route("/backoffice/invoices/{id}", get(invoice_page))
        .route("/backoffice/invoices/{id}/pdf", get(invoice_pdf))
        .route("/backoffice/invoice-run", post(invoice_run))
        .route("/backoffice/equipment-returns", post(returns_run))
        .route(
            "/backoffice/applications",
            get(applications_page).post(application_submit),
        )
        .route(
            "/backoffice/applications/{id}/change",
            get(application_change_page),
        )
        .route("/backoffice/applications/{id}/accept", post(accept_submit))
        .route("/backoffice/applications/{id}/refuse", post(refuse_submit))
        .route(
            "/backoffice/contracts/{id}/terminate",
            post(terminate_submit),
        )
        .route(
            "/backoffice/contracts/{id}/liability-cap",
            get(liability_cap_page),
        )
        .route("/backoffice/invoices/{id}/payments", post(payment_submit))
        .route("/backoffice/notices", get(notices_page).post(notice_submit))
}

struct User {
    actor: Actor,
    csrf: String,
    lang: Lang,
}

impl FromRequestParts<AppState> for User {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Response> {
        let Peer(ip) = Peer::from_request_parts(parts, s)
            .await
            .unwrap_or(Peer([0, 0, 0, 0].into()));
        let Some(token) = cookie(&parts.headers, "mamori_session") else {
            return Err(Redirect::to("/login").into_response());
        };
        match s.app.session_actor(&token, &ip.to_string(), now_ms()).await {
            Ok(Some((actor, session))) => {
                let lang = lang_of(&actor, &parts.headers);
                Ok(User {
                    actor,
                    csrf: session.csrf,
                    lang,
                })
            }
            Ok(None) => Err(Redirect::to("/login").into_response()),
            Err(e) => Err(error(Lang::Ja, e)),
        }
    }
}

fn lang_of(actor: &Actor, headers: &HeaderMap) -> Lang {
    match actor.locale.as_deref() {
        Some("en") => return Lang::En,
        Some("ja") => return Lang::Ja,
        _ => {}
    }
    let al = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim_start()
        .to_ascii_lowercase();
    if al.starts_with("en") {
        Lang::En
    } else {
        Lang::Ja
    }
}

fn tr(l: Lang, ja: &'static str, en: &'static str) -> &'static str {
    if l == Lang::Ja { ja } else { en }
}

fn esc(s: &str) -> String {
    super::panel::esc(s)
}

/// A page of the back office. The navigation shows only what the reader may open:
/// the notices are back-office staff's (`None`: a page without a signed-in reader's
/// role, such as an error, shows only the links everyone has).
fn page(u: Option<&User>, l: Lang, title: &str, body: &str) -> Response {
    let lang = if l == Lang::Ja { "ja" } else { "en" };
    let notices = if u.is_some_and(may_see_notices) {
        format!(
            " <a href=\"/backoffice/notices\" id=\"nav_notices\">{}</a>",
            tr(l, "通知", "Notices")
        )
    } else {
        String::new()
    };
    Html(format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{} — Mamori</title><link rel=\"stylesheet\" href=\"/static/panel.css\"></head><body><header><strong>Mamori</strong> <nav><a href=\"/\">{}</a> <a href=\"/backoffice\">{}</a> <a href=\"/backoffice/applications\">{}</a>{notices}</nav></header><main><h1>{}</h1>{body}</main></body></html>",
        esc(title),
        tr(l, "ダッシュボード", "Dashboard"),
        tr(l, "契約と請求", "Contracts and invoices"),
        tr(l, "お申込み", "Applications"),
        esc(title)
    ))
    .into_response()
}

/// Who opens the notices: back-office staff and administrators of the provider (the
/// rule of `App::bo_notices`).
fn may_see_notices(u: &User) -> bool {
    u.actor.customer_id.is_none() && matches!(u.actor.role, Role::BackOffice | Role::Admin)
}

/// An invoice that cannot be laid out or rendered (its words are English).
fn document_error(e: impl std::fmt::Display) -> AppError {
    AppError::Conflict(crate::app::Conflict::Document {
        detail: e.to_string(),
    })
}

fn error(l: Lang, e: AppError) -> Response {
    let status = status_of(&e);
    let detail = match &e {
        AppError::NotFound => tr(l, "見つかりません。", "Not found.").to_string(),
        AppError::Store(_) | AppError::Auth(_) => {
            tracing::error!(error = %e, "back-office page failed");
            tr(
                l,
                "内部エラー（記録しました）",
                "internal error; it has been logged",
            )
            .to_string()
        }
        other => other.text(if l == Lang::Ja {
            crate::app::Lang::Ja
        } else {
            crate::app::Lang::En
        }),
    };
    let title = tr(l, "エラー", "Error");
    (
        status,
        page(
            None,
            l,
            title,
            &format!("<p class=\"err\" id=\"error\">{}</p>", esc(&detail)),
        ),
    )
        .into_response()
}

fn csrf_ok(u: &User, given: &Option<String>) -> bool {
    given
        .as_deref()
        .is_some_and(|g| auth::constant_time_eq(g.as_bytes(), u.csrf.as_bytes()))
}

fn yen(l: Lang, v: Yen) -> String {
    format_yen(v, l)
}

/// A signed balance with its sign (`-¥500` for a credit), never clamped to zero.
fn balance(l: Lang, v: Balance) -> String {
    match l {
        Lang::Ja => v.ja(),
        Lang::En => v.en(),
    }
}

fn status_text(l: Lang, c: &bo::Contract) -> String {
    match &c.ending {
        None => bo::contract_state_label(None, l == Lang::Ja).to_string(),
        Some(e @ ContractEnding::Customer { end, .. }) => format!(
            "{} {}",
            bo::contract_state_label(Some(e), l == Lang::Ja),
            format_date(*end, l)
        ),
        Some(e @ ContractEnding::Provider { end, reason, .. }) => format!(
            "{} {} ({})",
            bo::contract_state_label(Some(e), l == Lang::Ja),
            format_date(*end, l),
            bo::termination_label(reason, l == Lang::Ja)
        ),
    }
}

async fn home(State(s): State<AppState>, u: User) -> Response {
    let l = u.lang;
    let contracts = match s.app.bo_contracts(&u.actor).await {
        Ok(v) => v,
        Err(e) => return error(l, e),
    };
    let invoices = match s.app.bo_invoices(&u.actor, None).await {
        Ok(v) => v,
        Err(e) => return error(l, e),
    };
    let mut b = format!(
        "<h2>{}</h2><table id=\"contracts\"><thead><tr><th>#</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        tr(l, "契約", "Contracts"),
        tr(l, "サービス開始日", "Service start"),
        tr(l, "月額料金（税抜）", "Monthly fee (before tax)"),
        tr(l, "最低利用期間の末日", "Minimum term ends"),
        tr(l, "状態", "Status"),
    );
    for c in &contracts {
        b.push_str(&format!(
            "<tr><td><a href=\"/backoffice/contracts/{id}\">{id}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            format_date(c.start, l),
            yen(l, c.monthly_fee),
            format_date(c.minimum_term_end, l),
            esc(&status_text(l, c)),
            id = c.id
        ));
    }
    b.push_str("</tbody></table>");
    b.push_str(&invoice_table(
        l,
        &invoices,
        "invoices",
        tr(l, "請求書", "Invoices"),
    ));
    if matches!(u.actor.role, Role::BackOffice | Role::Admin) {
        match s.app.bo_overdue(&u.actor, now_ms()).await {
            Ok(od) => b.push_str(&invoice_table(
                l,
                &od,
                "overdue",
                tr(l, "支払期限を過ぎた請求書", "Overdue invoices"),
            )),
            Err(e) => return error(l, e),
        }
        b.push_str(&format!(
            "<h2>{}</h2><form method=\"post\" action=\"/backoffice/invoice-run\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><label>{} <input id=\"run_month\" name=\"month\" placeholder=\"2026-10\" required></label> <button id=\"run\">{}</button></form>",
            tr(l, "月次請求", "Monthly invoice run"),
            esc(&u.csrf),
            tr(l, "対象月", "Service month"),
            tr(l, "請求書を発行", "Issue invoices")
        ));
        b.push_str(&format!(
            "<h2>{}</h2><p>{}</p><form method=\"post\" action=\"/backoffice/equipment-returns\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><button id=\"returns_run\">{}</button></form>",
            tr(l, "契約終了による機器の返却（第15条）", "Equipment back at the end of contracts (Art. 15)"),
            tr(l, "終了日を過ぎた契約の貸与機器を、機器台帳で「返却済み」にします（設置済みの機器は接続停止を経て）。", "Marks the units of every contract past its end date as returned in the inventory (installed units through disconnected)."),
            esc(&u.csrf),
            tr(l, "返却処理を実行", "Take back units")
        ));
    }
    page(
        Some(&u),
        l,
        tr(l, "契約と請求", "Contracts and invoices"),
        &b,
    )
}

fn invoice_table(l: Lang, list: &[bo::Invoice], id: &str, title: &str) -> String {
    let mut b = format!(
        "<h2>{}</h2><table id=\"{id}\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        esc(title),
        tr(l, "請求書番号", "Invoice number"),
        tr(l, "対象月", "Month"),
        tr(l, "お支払期限", "Due date"),
        tr(l, "合計", "Total"),
        tr(l, "入金済", "Paid"),
    );
    for i in list {
        b.push_str(&format!(
            "<tr><td><a href=\"/backoffice/invoices/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            i.id,
            esc(&i.number_text()),
            i.month,
            format_date(i.due_date, l),
            yen(l, i.total),
            yen(l, i.paid)
        ));
    }
    b.push_str("</tbody></table>");
    b
}

fn id_of(raw: &str) -> Result<i64, AppError> {
    raw.parse().map_err(|_| AppError::NotFound)
}

async fn contract_page(State(s): State<AppState>, u: User, Path(id): Path<String>) -> Response {
    let l = u.lang;
    let c = match async { s.app.bo_contract(&u.actor, id_of(&id)?).await }.await {
        Ok(c) => c,
        Err(e) => return error(l, e),
    };
    let invoices = match s.app.bo_invoices(&u.actor, Some(c.id)).await {
        Ok(v) => v,
        Err(e) => return error(l, e),
    };
    let mut b = format!(
        "<dl id=\"contract\"><dt>{}</dt><dd>{} {}</dd><dt>{}</dt><dd id=\"start\">{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd id=\"minimum_term_end\">{}</dd><dt>{}</dt><dd id=\"status\">{}</dd><dt>{}</dt><dd>{}</dd></dl>",
        tr(l, "回線", "Access line"),
        esc(&c.line_product),
        esc(&c.line_id),
        tr(l, "サービス開始日", "Service start"),
        format_date(c.start, l),
        tr(l, "月額料金（税抜）", "Monthly fee (before tax)"),
        yen(l, c.monthly_fee),
        tr(l, "最低利用期間の末日", "Minimum term ends"),
        format_date(c.minimum_term_end, l),
        tr(l, "状態", "Status"),
        esc(&status_text(l, &c)),
        tr(l, "貸与機器", "Equipment lent"),
        c.equipment.len()
    );
    let units = match s.app.bo_contract_units(&u.actor, c.id).await {
        Ok(v) => v,
        Err(e) => return error(l, e),
    };
    b.push_str(&units_table(l, &units));
    if is_staff(&u) && c.end().is_none_or(|e| e > bo::today(now_ms())) {
        b.push_str(&format!(
            "<form method=\"post\" action=\"/backoffice/contracts/{}/equipment\" id=\"lend_form\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><label>{} <input name=\"equipment\" id=\"lend_unit\" size=\"8\" required></label> <button id=\"lend_submit\">{}</button></form>",
            c.id,
            esc(&u.csrf),
            tr(l, "在庫の機器番号", "Unit number in stock"),
            tr(l, "機器を貸与する", "Lend a unit")
        ));
    }
    b.push_str(&invoice_table(
        l,
        &invoices,
        "invoices",
        tr(l, "請求書", "Invoices"),
    ));
    if is_staff(&u) {
        let payments = match s.app.bo_payments(&u.actor, c.id).await {
            Ok(v) => v,
            Err(e) => return error(l, e),
        };
        b.push_str(&contract_staff_forms(l, &u, &c, &payments));
    }
    if c.ending.is_none() && matches!(u.actor.role, Role::Officer | Role::BackOffice | Role::Admin)
    {
        b.push_str(&format!(
            "<h2>{}</h2><p>{}</p><form method=\"post\" action=\"/backoffice/contracts/{}/cancel\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><label>{} <input id=\"cancel_end\" name=\"end\" type=\"date\" required></label> <button id=\"cancel_preview\">{}</button></form>",
            tr(l, "解約のお申し出（第11条第1項）", "Cancel the contract (Art. 11-1)"),
            tr(l, "終了希望日の30日前までにお申し出ください。確定の前に、終了日と残余期間料金を表示します。", "Give notice at least 30 days before the end date. The end date and any early-termination sum are shown before you confirm."),
            c.id,
            esc(&u.csrf),
            tr(l, "終了希望日", "Desired end date"),
            tr(l, "確認する", "Review")
        ));
    }
    page(
        Some(&u),
        l,
        &format!("{} #{}", tr(l, "契約", "Contract"), c.id),
        &b,
    )
}

#[derive(Deserialize)]
struct CancelForm {
    csrf: Option<String>,
    end: String,
    #[serde(default)]
    confirm: Option<String>,
}

async fn cancel_preview_or_confirm(
    State(s): State<AppState>,
    u: User,
    Path(id): Path<String>,
    Form(f): Form<CancelForm>,
) -> Response {
    let l = u.lang;
    if !csrf_ok(&u, &f.csrf) {
        return forbidden_csrf(l);
    }
    let id = match id_of(&id) {
        Ok(i) => i,
        Err(e) => return error(l, e),
    };
    if f.confirm.as_deref() == Some("yes") {
        return match s.app.bo_cancel(&u.actor, id, &f.end, now_ms()).await {
            Ok(_) => Redirect::to(&format!("/backoffice/contracts/{id}")).into_response(),
            Err(e) => error(l, e),
        };
    }
    let p = match s
        .app
        .bo_cancellation_preview(&u.actor, id, &f.end, now_ms())
        .await
    {
        Ok(p) => p,
        Err(e) => return error(l, e),
    };
    let c = &p.cancellation;
    let mut b = format!(
        "<dl id=\"preview\"><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd id=\"earliest_end\">{}</dd><dt>{}</dt><dd id=\"end\">{}</dd><dt>{}</dt><dd id=\"early_termination\">{}</dd></dl>",
        tr(l, "お申し出日", "Notice received"),
        format_date(c.notice_date, l),
        tr(l, "最も早い終了日", "Earliest allowed end date"),
        format_date(c.earliest_end, l),
        tr(l, "終了日", "End date"),
        format_date(c.end, l),
        tr(
            l,
            "残余期間料金（第10条第2項）",
            "Early-termination sum (Art. 10-2)"
        ),
        yen(l, p.early_termination),
    );
    if c.moved {
        b.push_str(&format!(
            "<p class=\"err\" id=\"moved\">{}</p>",
            tr(l, "ご希望の日は30日前のお申し出に足りないため、終了日を最も早い終了日に変更しました。", "The date you asked for is less than 30 days away; the end date has been moved to the earliest allowed date.")
        ));
    }
    b.push_str(&format!(
        "<form method=\"post\" action=\"/backoffice/contracts/{id}/cancel\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"end\" value=\"{}\"><input type=\"hidden\" name=\"confirm\" value=\"yes\"><button id=\"cancel_confirm\">{}</button></form>",
        esc(&u.csrf),
        c.end,
        tr(l, "この内容で解約する", "Confirm the cancellation")
    ));
    page(
        Some(&u),
        l,
        tr(l, "解約の確認", "Review the cancellation"),
        &b,
    )
}

/// The units lent under a contract, each linking to its page in the inventory.
fn units_table(l: Lang, units: &[crate::gateways::Equipment]) -> String {
    let mut b = format!(
        "<table id=\"units\"><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        tr(l, "製造番号", "Serial"),
        tr(l, "機種", "Model"),
        tr(l, "状態", "State"),
    );
    for e in units {
        let (ja, en) = e.placement.state.label();
        b.push_str(&format!(
            "<tr><td><a href=\"/equipment/{}\">{}</a></td><td>{}</td><td>{}</td></tr>",
            e.id,
            esc(&e.serial),
            esc(&e.model),
            tr(l, ja, en)
        ));
    }
    b.push_str("</tbody></table>");
    b
}

/// The section of a unit's page naming the contracts it was lent under.
pub async fn unit_contracts(app: &crate::app::App, actor: &Actor, ja: bool, id: i64) -> String {
    let l = if ja { Lang::Ja } else { Lang::En };
    let Ok(list) = app.bo_unit_contracts(actor, id).await else {
        return String::new();
    };
    let mut b = format!(
        "<h2>{}</h2><ul id=\"unit_contracts\">",
        tr(l, "貸与契約", "Lent under contract")
    );
    for (k, released) in &list {
        b.push_str(&format!(
            "<li><a href=\"/backoffice/contracts/{k}\">{} #{k}</a>{}</li>",
            tr(l, "契約", "Contract"),
            match released {
                None => String::new(),
                Some(_) => format!(
                    " ({})",
                    tr(l, "契約終了により返却", "taken back at the contract's end")
                ),
            }
        ));
    }
    if list.is_empty() {
        b.push_str(&format!("<li>{}</li>", tr(l, "なし", "None")));
    }
    b.push_str("</ul>");
    b
}

#[derive(Deserialize)]
struct LendForm {
    csrf: Option<String>,
    equipment: String,
}

async fn lend_submit(
    State(s): State<AppState>,
    u: User,
    Path(id): Path<String>,
    Form(f): Form<LendForm>,
) -> Response {
    let action = async {
        let id = id_of(&id)?;
        let unit = unit_number(&f.equipment)?;
        s.app.bo_lend_unit(&u.actor, id, unit, now_ms()).await
    };
    submit(&u, &f.csrf, action, |c| {
        format!("/backoffice/contracts/{}", c.id)
    })
    .await
}

/// A unit number of the equipment inventory as typed in a form (`12` or `#12`).
fn unit_number(part: &str) -> Result<i64, AppError> {
    let part = part.trim().trim_start_matches('#');
    part.parse::<i64>().map_err(|_| {
        AppError::invalid(
            crate::app::Field::Equipment,
            crate::app::Invalid::NotAUnitNumber {
                v: part.to_string(),
            },
        )
    })
}

async fn invoice_page(State(s): State<AppState>, u: User, Path(id): Path<String>) -> Response {
    let l = u.lang;
    let inv = match async { s.app.bo_invoice(&u.actor, id_of(&id)?).await }.await {
        Ok(i) => i,
        Err(e) => return error(l, e),
    };
    let d = match document::layout(&inv, &s.config.backoffice, l) {
        Ok(d) => d,
        Err(e) => return error(l, document_error(e)),
    };
    let open = inv.balance();
    let mut body = format!(
        "{}<p><a id=\"pdf\" href=\"/backoffice/invoices/{}/pdf\">PDF</a></p><p id=\"paid\">{} {} / {}</p><p id=\"balance\">{} {}</p>",
        document::html(&d),
        inv.id,
        tr(l, "入金済", "Paid"),
        yen(l, inv.paid),
        yen(l, inv.total),
        tr(
            l,
            "未払額（マイナスは過入金）",
            "Balance (negative: paid in excess)"
        ),
        balance(l, open)
    );
    if is_staff(&u) && open.owed() > Yen::ZERO {
        body.push_str(&format!(
            "<h2>{}</h2><form method=\"post\" action=\"/backoffice/invoices/{}/payments\" id=\"payment_form\">{}<label>{} <input name=\"amount\" id=\"pay_amount\" inputmode=\"numeric\" required value=\"{}\"></label> <label>{} <input name=\"date\" id=\"pay_date\" type=\"date\" required></label> <button id=\"pay_submit\">{}</button></form><p>{}</p>",
            tr(l, "入金を記録してこの請求書に充当", "Record a payment for this invoice"),
            inv.id,
            csrf_field(&u),
            tr(l, "金額（円）", "Amount (yen)"),
            open.owed().get(),
            tr(l, "入金日", "Date received"),
            tr(l, "記録する", "Record"),
            tr(l, "支払期限の翌日から猶予期間を過ぎた入金には遅延損害金（第17条第4項）が計算され、入金月の請求書に記載されます。", "A payment after the grace period that follows the due date owes late interest (Art. 17-4), billed on the invoice of the month it was made in."),
        ));
    }
    page(Some(&u), l, &inv.number_text(), &body)
}

async fn invoice_pdf(State(s): State<AppState>, u: User, Path(id): Path<String>) -> Response {
    let l = u.lang;
    let inv = match async { s.app.bo_invoice(&u.actor, id_of(&id)?).await }.await {
        Ok(i) => i,
        Err(e) => return error(l, e),
    };
    let d = match document::layout(&inv, &s.config.backoffice, l) {
        Ok(d) => d,
        Err(e) => return error(l, document_error(e)),
    };
    let font = s.config.backoffice.pdf_font.clone();
    let r = tokio::task::spawn_blocking(move || {
        let (path, data) = document::load_font(&font)?;
        document::pdf(&d, &path, &data)
    })
    .await;
    match r {
        Ok(Ok(bytes)) => (
            [
                (header::CONTENT_TYPE, "application/pdf".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{}.pdf\"", inv.number_text()),
                ),
            ],
            bytes,
        )
            .into_response(),
        Ok(Err(e)) => error(l, document_error(e)),
        Err(e) => error(l, document_error(e)),
    }
}

#[derive(Deserialize)]
struct RunForm {
    csrf: Option<String>,
    month: String,
}

async fn invoice_run(State(s): State<AppState>, u: User, Form(f): Form<RunForm>) -> Response {
    let l = u.lang;
    if !csrf_ok(&u, &f.csrf) {
        return forbidden_csrf(l);
    }
    match s
        .app
        .bo_invoice_run(&u.actor, &s.config.backoffice, &f.month, now_ms())
        .await
    {
        Ok(r) => page(
            Some(&u),
            l,
            tr(l, "月次請求", "Monthly invoice run"),
            &format!(
                "<p id=\"run_result\">{} {}: {}</p><p><a href=\"/backoffice\">{}</a></p>",
                r.month,
                tr(l, "発行件数", "invoices issued"),
                r.issued,
                tr(l, "戻る", "Back")
            ),
        ),
        Err(e) => error(l, e),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: Option<String>,
}

async fn returns_run(State(s): State<AppState>, u: User, Form(f): Form<CsrfForm>) -> Response {
    let l = u.lang;
    if !csrf_ok(&u, &f.csrf) {
        return forbidden_csrf(l);
    }
    match s.app.bo_take_back_units(&u.actor, now_ms()).await {
        Ok(done) => {
            let mut b = String::from("<ul id=\"returns_result\">");
            for (k, unit, outcome) in &done {
                b.push_str(&format!(
                    "<li><a href=\"/backoffice/contracts/{k}\">{} #{k}</a>: <a href=\"/equipment/{unit}\">{} #{unit}</a> — {}</li>",
                    tr(l, "契約", "Contract"),
                    tr(l, "機器", "Unit"),
                    esc(outcome)
                ));
            }
            if done.is_empty() {
                b.push_str(&format!(
                    "<li>{}</li>",
                    tr(l, "返却する機器はありません。", "No unit is due back.")
                ));
            }
            b.push_str(&format!(
                "</ul><p><a href=\"/backoffice\">{}</a></p>",
                tr(l, "戻る", "Back")
            ));
            page(Some(&u), l, tr(l, "機器の返却", "Equipment back"), &b)
        }
        Err(e) => error(l, e),
    }
}

// ---- forms for back-office staff -------------------------------------------------

/// The shape of every form of the back office: the CSRF check, then the action, then
/// a redirect (303) to the page `to` names for its result, or the error page. The
/// action is not run when the check fails.
async fn submit<T>(
    u: &User,
    csrf: &Option<String>,
    action: impl std::future::Future<Output = Result<T, AppError>>,
    to: impl FnOnce(T) -> String,
) -> Response {
    if !csrf_ok(u, csrf) {
        return forbidden_csrf(u.lang);
    }
    match action.await {
        Ok(v) => Redirect::to(&to(v)).into_response(),
        Err(e) => error(u.lang, e),
    }
}

fn forbidden_csrf(l: Lang) -> Response {
    (
        StatusCode::FORBIDDEN,
        page(
            None,
            l,
            tr(l, "エラー", "Error"),
            &format!(
                "<p class=\"err\" id=\"error\">{}</p>",
                tr(
                    l,
                    "フォームの有効期限が切れています。ページを開き直してから送信してください。",
                    "The form has expired; reload the page and submit it again."
                )
            ),
        ),
    )
        .into_response()
}

fn is_staff(u: &User) -> bool {
    matches!(u.actor.role, Role::BackOffice | Role::Admin)
}

fn csrf_field(u: &User) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(&u.csrf)
    )
}

/// A time (ms since the epoch) in Japan time.
fn time_text(l: Lang, ms: i64) -> String {
    let ts = jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let dt = jiff::tz::Offset::constant(9).to_datetime(ts);
    format!(
        "{} {:02}:{:02}",
        format_date(dt.date(), l),
        dt.hour(),
        dt.minute()
    )
}

fn state_text(l: Lang, a: &bo::Application) -> String {
    let s = bo::application_state_label(a.state, l == Lang::Ja);
    match (&a.refusal_reason, a.contract_id) {
        (Some(r), _) => format!("{s} — {}", bo::refusal_label(r, l == Lang::Ja)),
        (None, Some(c)) => format!("{s} — {} #{c}", tr(l, "契約", "contract")),
        _ => s.to_string(),
    }
}

/// The application form: new (`prev` None) or a change to `prev` (Art. 9).
fn application_form(
    l: Lang,
    u: &User,
    lines: &[String],
    customers: &[crate::domain::Customer],
    prev: Option<&bo::Application>,
) -> String {
    let mut b = format!(
        "<form method=\"post\" action=\"/backoffice/applications\" id=\"application_form\">{}",
        csrf_field(u)
    );
    match prev {
        Some(a) => b.push_str(&format!(
            "<input type=\"hidden\" name=\"replaces\" value=\"{}\"><input type=\"hidden\" name=\"customer_id\" value=\"{}\"><p>{} #{}</p>",
            a.id,
            a.customer_id,
            tr(l, "変更するお申込み（第9条）", "Application changed (Art. 9)"),
            a.id
        )),
        None => {
            b.push_str(&format!(
                "<label>{} <select name=\"customer_id\" id=\"app_customer\" required>",
                tr(l, "お客様", "Customer")
            ));
            for c in customers {
                b.push_str(&format!(
                    "<option value=\"{}\">{} (#{})</option>",
                    c.id,
                    esc(&c.name),
                    c.id
                ));
            }
            b.push_str("</select></label> ");
        }
    }
    b.push_str(&format!(
        "<label>{} <select name=\"line_product\" id=\"app_line_product\">",
        tr(
            l,
            "アクセス回線（第7条：当社の対象回線）",
            "Access line (Art. 7: an eligible line of the provider)"
        )
    ));
    for p in lines {
        let sel = if prev.is_some_and(|a| &a.line_product == p) {
            " selected"
        } else {
            ""
        };
        b.push_str(&format!(
            "<option value=\"{}\"{sel}>{}</option>",
            esc(p),
            esc(p)
        ));
    }
    b.push_str(&format!(
        "</select></label> <label>{} <input name=\"line_id\" id=\"app_line_id\" required value=\"{}\"></label> <label>{} <input name=\"monthly_fee\" id=\"app_fee\" inputmode=\"numeric\" required value=\"{}\"></label> <label>{} <input name=\"start\" id=\"app_start\" type=\"date\" required value=\"{}\"></label> <label>{} <input name=\"note\" id=\"app_note\" value=\"{}\"></label> <button id=\"app_submit\">{}</button></form>",
        tr(l, "回線ID", "Line ID"),
        prev.map(|a| esc(&a.line_id)).unwrap_or_default(),
        tr(l, "月額料金（税抜・円、見積書のとおり）", "Monthly fee (yen before tax, from the quotation)"),
        prev.map(|a| a.monthly_fee.get().to_string())
            .unwrap_or_default(),
        tr(l, "サービス開始日", "Service start"),
        prev.map(|a| a.start.to_string()).unwrap_or_default(),
        tr(l, "備考", "Note"),
        prev.map(|a| esc(&a.note)).unwrap_or_default(),
        if prev.is_some() {
            tr(l, "変更を登録", "Record the change")
        } else {
            tr(l, "お申込みを登録", "Record the application")
        }
    ));
    b
}

async fn applications_page(State(s): State<AppState>, u: User) -> Response {
    let l = u.lang;
    let apps = match s.app.bo_applications(&u.actor).await {
        Ok(v) => v,
        Err(e) => return error(l, e),
    };
    let mut b = format!(
        "<table id=\"applications\"><thead><tr><th>#</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr></thead><tbody>",
        tr(l, "お客様", "Customer"),
        tr(l, "回線", "Access line"),
        tr(l, "月額料金（税抜）", "Monthly fee (before tax)"),
        tr(l, "サービス開始日", "Service start"),
        tr(l, "状態", "Status"),
    );
    let reasons: String = mamori_billing::contract::RefusalReason::ALL
        .iter()
        .map(|r| {
            format!(
                "<option value=\"{}\">{}</option>",
                code_of(r),
                esc(&bo::refusal_label(&code_of(r), l == Lang::Ja))
            )
        })
        .collect();
    for a in &apps {
        let mut actions = String::new();
        if a.state == bo::ApplicationState::Pending && is_staff(&u) {
            actions = format!(
                "<form method=\"post\" action=\"/backoffice/applications/{id}/accept\" class=\"inline\">{csrf}<label>{} <input name=\"equipment\" id=\"accept_equipment_{id}\" placeholder=\"12, 13\"></label> <button id=\"accept_{id}\">{}</button></form> <form method=\"post\" action=\"/backoffice/applications/{id}/refuse\" class=\"inline\">{csrf}<select name=\"reason\" id=\"refuse_reason_{id}\">{reasons}</select> <button id=\"refuse_{id}\">{}</button></form> <a id=\"change_{id}\" href=\"/backoffice/applications/{id}/change\">{}</a>",
                tr(
                    l,
                    "貸与機器（機器台帳の機器番号）",
                    "Equipment lent (unit numbers of the inventory)"
                ),
                tr(l, "承諾する（第8条第1項）", "Accept (Art. 8-1)"),
                tr(l, "お断りする（第8条第2項）", "Refuse (Art. 8-2)"),
                tr(l, "変更（第9条）", "Change (Art. 9)"),
                id = a.id,
                csrf = csrf_field(&u),
            );
        }
        b.push_str(&format!(
            "<tr id=\"application_{}\"><td>{}</td><td>#{}</td><td>{} {}</td><td>{}</td><td>{}</td><td class=\"state\">{}</td><td>{actions}</td></tr>",
            a.id,
            a.id,
            a.customer_id,
            esc(&a.line_product),
            esc(&a.line_id),
            yen(l, a.monthly_fee),
            format_date(a.start, l),
            esc(&state_text(l, a)),
        ));
    }
    b.push_str("</tbody></table>");
    if is_staff(&u) {
        let customers = match s.app.customers(&u.actor).await {
            Ok(v) => v,
            Err(e) => return error(l, e),
        };
        b.push_str(&format!(
            "<h2>{}</h2>",
            tr(l, "新しいお申込み（第7条）", "New application (Art. 7)")
        ));
        b.push_str(&application_form(
            l,
            &u,
            &s.config.backoffice.eligible_lines,
            &customers,
            None,
        ));
    }
    page(Some(&u), l, tr(l, "お申込み", "Applications"), &b)
}

async fn application_change_page(
    State(s): State<AppState>,
    u: User,
    Path(id): Path<String>,
) -> Response {
    let l = u.lang;
    if !is_staff(&u) {
        return error(
            l,
            AppError::Forbidden(crate::app::Forbidden::BackOfficeOnly),
        );
    }
    let a = match async { s.app.bo_application(&u.actor, id_of(&id)?).await }.await {
        Ok(a) => a,
        Err(e) => return error(l, e),
    };
    let b = application_form(l, &u, &s.config.backoffice.eligible_lines, &[], Some(&a));
    page(
        Some(&u),
        l,
        &format!(
            "{} #{}",
            tr(l, "お申込みの変更", "Change application"),
            a.id
        ),
        &b,
    )
}

fn code_of<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// A form number field: digits (full-width too), commas and a leading ¥ are accepted.
fn number_field(field: crate::app::Field, l: Lang, v: &str) -> Result<i64, AppError> {
    let t: String = v
        .trim()
        .trim_start_matches(['¥', '￥'])
        .chars()
        .filter(|c| *c != ',' && *c != '，')
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            c => c,
        })
        .collect();
    t.parse::<i64>().map_err(|_| {
        let _ = l;
        AppError::invalid(field, crate::app::Invalid::NotWholeYen { v: v.to_string() })
    })
}

#[derive(Deserialize)]
struct ApplicationForm {
    csrf: Option<String>,
    customer_id: String,
    line_product: String,
    line_id: String,
    monthly_fee: String,
    start: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    replaces: Option<String>,
}

async fn application_submit(
    State(s): State<AppState>,
    u: User,
    Form(f): Form<ApplicationForm>,
) -> Response {
    let l = u.lang;
    let action = async {
        let customer = f.customer_id.trim().parse::<i64>().map_err(|_| {
            AppError::invalid(
                crate::app::Field::CustomerId,
                crate::app::Invalid::ChooseCustomer,
            )
        })?;
        let fee = number_field(crate::app::Field::MonthlyFee, l, &f.monthly_fee)?;
        let replaces = match f.replaces.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(x) => Some(id_of(x)?),
        };
        s.app
            .bo_apply(
                &u.actor,
                &s.config.backoffice,
                customer,
                &f.line_product,
                &f.line_id,
                fee,
                &f.start,
                &f.note,
                replaces,
                now_ms(),
            )
            .await
    };
    submit(&u, &f.csrf, action, |_| "/backoffice/applications".into()).await
}

#[derive(Deserialize)]
struct AcceptForm {
    csrf: Option<String>,
    #[serde(default)]
    equipment: String,
}

async fn accept_submit(
    State(s): State<AppState>,
    u: User,
    Path(id): Path<String>,
    Form(f): Form<AcceptForm>,
) -> Response {
    let action = async {
        let id = id_of(&id)?;
        let mut equipment = Vec::new();
        for part in f
            .equipment
            .split([',', ' ', '、'])
            .filter(|p| !p.trim().is_empty())
        {
            equipment.push(unit_number(part)?);
        }
        s.app
            .bo_accept(&u.actor, &s.config.backoffice, id, &equipment, now_ms())
            .await
    };
    submit(&u, &f.csrf, action, |(c, _)| {
        format!("/backoffice/contracts/{}", c.id)
    })
    .await
}

#[derive(Deserialize)]
struct RefuseForm {
    csrf: Option<String>,
    reason: String,
}

async fn refuse_submit(
    State(s): State<AppState>,
    u: User,
    Path(id): Path<String>,
    Form(f): Form<RefuseForm>,
) -> Response {
    let action = async {
        s.app
            .bo_refuse(&u.actor, id_of(&id)?, &f.reason, now_ms())
            .await
    };
    submit(&u, &f.csrf, action, |_| "/backoffice/applications".into()).await
}

/// The back-office parts of the contract page: payments, the liability cap, and the
/// termination form (Art. 12).
fn contract_staff_forms(l: Lang, u: &User, c: &bo::Contract, payments: &[bo::Payment]) -> String {
    let mut b = format!(
        "<h2>{}</h2><table id=\"payments\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        tr(l, "入金", "Payments"),
        tr(l, "入金日", "Date"),
        tr(l, "充当した請求書", "Paid invoice"),
        tr(l, "金額", "Amount"),
        tr(l, "遅延損害金（第17条第4項）", "Late interest (Art. 17-4)"),
        tr(l, "請求した請求書", "Billed on invoice"),
    );
    for p in payments {
        b.push_str(&format!(
            "<tr><td>{}</td><td><a href=\"/backoffice/invoices/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            format_date(p.date, l),
            p.invoice_id,
            tr(l, "請求書", "Invoice"),
            yen(l, p.amount),
            yen(l, p.interest),
            p.interest_invoice
                .map(|n| format!("{n:08}"))
                .unwrap_or_default()
        ));
    }
    b.push_str("</tbody></table>");
    b.push_str(&format!(
        "<h2>{}</h2><form method=\"get\" action=\"/backoffice/contracts/{}/liability-cap\"><label>{} <input name=\"cause_date\" id=\"cap_cause\" type=\"date\" required></label> <button id=\"cap_submit\">{}</button></form>",
        tr(l, "損害賠償の上限（第18条第5項）", "Liability cap (Art. 18-5)"),
        c.id,
        tr(l, "損害の原因が生じた日", "Date the cause arose"),
        tr(l, "計算する", "Compute")
    ));
    if c.ending.is_none() {
        let reasons: String = mamori_billing::contract::TerminationReason::ALL
            .iter()
            .map(|r| {
                format!(
                    "<option value=\"{}\">{}</option>",
                    code_of(r),
                    esc(&bo::termination_label(&code_of(r), l == Lang::Ja))
                )
            })
            .collect();
        b.push_str(&format!(
            "<h2>{}</h2><p>{}</p><form method=\"post\" action=\"/backoffice/contracts/{}/terminate\" id=\"terminate_form\">{}<label>{} <select name=\"reason\" id=\"term_reason\">{reasons}</select></label> <label>{} <input name=\"notice_date\" id=\"term_notice\" type=\"date\"></label> <label><input type=\"checkbox\" name=\"urgent\" value=\"yes\" id=\"term_urgent\"> {}</label> <label>{} <input name=\"end\" id=\"term_end\" type=\"date\" required></label> <button id=\"term_submit\">{}</button></form>",
            tr(l, "当社による解除（第12条）", "Termination by the provider (Art. 12)"),
            tr(l, "事前に通知した日を入力してください（緊急の場合を除く。第12条第2項）。解除日に未払いの債務はすべて支払期限が到来します（第12条第3項）。", "Give the date prior notice was sent, unless it is urgent (Art. 12-2). On the end date every unpaid debt falls due at once (Art. 12-3)."),
            c.id,
            csrf_field(u),
            tr(l, "解除の理由（第12条第1項）", "Reason (Art. 12-1)"),
            tr(l, "事前通知日", "Prior notice sent on"),
            tr(l, "緊急（事前通知なし）", "Urgent (no prior notice)"),
            tr(l, "解除日", "End date"),
            tr(l, "解除する", "Terminate")
        ));
    }
    b
}

#[derive(Deserialize)]
struct TerminateForm {
    csrf: Option<String>,
    reason: String,
    #[serde(default)]
    urgent: Option<String>,
    #[serde(default)]
    notice_date: Option<String>,
    end: String,
}

async fn terminate_submit(
    State(s): State<AppState>,
    u: User,
    Path(id): Path<String>,
    Form(f): Form<TerminateForm>,
) -> Response {
    let action = async {
        let id = id_of(&id)?;
        s.app
            .bo_terminate(
                &u.actor,
                id,
                &f.reason,
                f.urgent.as_deref() == Some("yes"),
                f.notice_date.as_deref(),
                &f.end,
                now_ms(),
            )
            .await
    };
    submit(&u, &f.csrf, action, |(c, _)| {
        format!("/backoffice/contracts/{}", c.id)
    })
    .await
}

#[derive(Deserialize)]
struct CapQuery {
    cause_date: String,
}

async fn liability_cap_page(
    State(s): State<AppState>,
    u: User,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<CapQuery>,
) -> Response {
    let l = u.lang;
    let r = async {
        s.app
            .bo_liability_cap(&u.actor, id_of(&id)?, &q.cause_date, now_ms())
            .await
    }
    .await;
    let cap = match r {
        Ok(c) => c,
        Err(e) => return error(l, e),
    };
    let mut b = format!(
        "<dl><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{} – {}</dd><dt>{}</dt><dd id=\"cap\">{}</dd></dl><table id=\"cap_payments\"><thead><tr><th>{}</th><th>{}</th></tr></thead><tbody>",
        tr(l, "損害の原因が生じた日", "Date the cause arose"),
        format_date(cap.cause_date, l),
        tr(
            l,
            "対象期間（原因日の前日まで）",
            "Payments counted (up to the day before)"
        ),
        format_date(cap.from, l),
        format_date(cap.to.yesterday().unwrap_or(cap.to), l),
        tr(l, "上限額（第18条第5項）", "Cap (Art. 18-5)"),
        format_yen(cap.cap, l),
        tr(l, "入金日", "Date"),
        tr(l, "金額", "Amount"),
    );
    for p in &cap.payments {
        b.push_str(&format!(
            "<tr><td>{}</td><td>{}</td></tr>",
            format_date(p.date, l),
            format_yen(p.amount, l)
        ));
    }
    b.push_str(&format!(
        "</tbody></table><p><a href=\"/backoffice/contracts/{}\">{}</a></p>",
        id_of(&id).unwrap_or(0),
        tr(l, "契約に戻る", "Back to the contract")
    ));
    page(Some(&u), l, tr(l, "損害賠償の上限", "Liability cap"), &b)
}

#[derive(Deserialize)]
struct PaymentForm {
    csrf: Option<String>,
    amount: String,
    date: String,
}

async fn payment_submit(
    State(s): State<AppState>,
    u: User,
    Path(id): Path<String>,
    Form(f): Form<PaymentForm>,
) -> Response {
    let l = u.lang;
    let action = async {
        let id = id_of(&id)?;
        let amount = number_field(crate::app::Field::Amount, l, &f.amount)?;
        s.app
            .bo_record_payment(
                &u.actor,
                &s.config.backoffice,
                id,
                amount,
                &f.date,
                now_ms(),
            )
            .await
    };
    submit(&u, &f.csrf, action, |p| {
        format!("/backoffice/invoices/{}", p.invoice_id)
    })
    .await
}

fn notice_kind_label(l: Lang, kind: &str) -> String {
    bo::notice_kind_label(kind, l == Lang::Ja)
}

async fn notices_page(State(s): State<AppState>, u: User) -> Response {
    let l = u.lang;
    let notices = match s.app.bo_notices(&u.actor).await {
        Ok(v) => v,
        Err(e) => return error(l, e),
    };
    let customers = match s.app.customers(&u.actor).await {
        Ok(v) => v,
        Err(e) => return error(l, e),
    };
    let mut b = format!(
        "<h2>{}</h2><form method=\"post\" action=\"/backoffice/notices\" id=\"notice_form\">{}<label>{} <select name=\"kind\" id=\"notice_kind\">",
        tr(l, "通知を作成して送る", "Compose and send a notice"),
        csrf_field(&u),
        tr(l, "種類", "Kind"),
    );
    for (k, _) in bo::NOTICE_KINDS.iter().take(4) {
        b.push_str(&format!(
            "<option value=\"{k}\">{}</option>",
            esc(&notice_kind_label(l, k))
        ));
    }
    b.push_str(&format!(
        "</select></label> <label>{} <input name=\"effective_date\" id=\"notice_effective\" type=\"date\" required></label><br><label>{} <input name=\"subject\" id=\"notice_subject\" size=\"60\" required></label><br><label>{}<br><textarea name=\"body\" id=\"notice_body\" rows=\"8\" cols=\"70\" required></textarea></label><fieldset><legend>{}</legend>",
        tr(l, "効力発生日", "Effective date"),
        tr(l, "件名", "Subject"),
        tr(l, "本文", "Body"),
        tr(l, "送付先のお客様（セキュリティ責任者あて）", "Customers (sent to their security officers)"),
    ));
    for c in &customers {
        b.push_str(&format!(
            "<label><input type=\"checkbox\" name=\"customers\" value=\"{id}\" id=\"notice_customer_{id}\"> {} (#{id})</label> ",
            esc(&c.name),
            id = c.id
        ));
    }
    b.push_str(&format!(
        "</fieldset><button id=\"notice_send\">{}</button></form>",
        tr(l, "送信する", "Send")
    ));
    b.push_str(&format!(
        "<h2>{}</h2><table id=\"notices\"><thead><tr><th>#</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        tr(l, "送った通知", "Notices sent"),
        tr(l, "種類", "Kind"),
        tr(l, "件名", "Subject"),
        tr(l, "効力発生日", "Effective date"),
        tr(l, "作成日時", "Composed"),
        tr(l, "送付先と送信日時", "Recipients and times sent"),
    ));
    for n in &notices {
        let recipients: Vec<String> = n
            .recipients
            .iter()
            .map(|r| {
                let when = match (&r.sent_at, &r.error) {
                    (Some(t), _) => time_text(l, *t),
                    (None, Some(e)) => format!("{}: {e}", tr(l, "送信失敗", "not sent")),
                    (None, None) => tr(l, "未送信", "not sent yet").to_string(),
                };
                format!(
                    "<li>#{} {} — {}</li>",
                    r.customer_id,
                    esc(&r.email),
                    esc(&when)
                )
            })
            .collect();
        b.push_str(&format!(
            "<tr id=\"notice_{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><ul>{}</ul></td></tr>",
            n.id,
            n.id,
            esc(&notice_kind_label(l, &n.kind)),
            esc(&n.subject),
            format_date(n.effective_date, l),
            time_text(l, n.created_at),
            recipients.join("")
        ));
    }
    b.push_str("</tbody></table>");
    page(Some(&u), l, tr(l, "通知", "Notices"), &b)
}

async fn notice_submit(State(s): State<AppState>, u: User, body: String) -> Response {
    let l = u.lang;
    // Several `customers` values: read as pairs (a struct cannot take a repeated key).
    let mut csrf = None;
    let (mut kind, mut subject, mut text, mut effective) =
        (String::new(), String::new(), String::new(), String::new());
    let mut customers = Vec::new();
    let mut bad = None;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&body).unwrap_or_default();
    for (k, v) in pairs {
        match k.as_str() {
            "csrf" => csrf = Some(v),
            "kind" => kind = v,
            "subject" => subject = v,
            "body" => text = v,
            "effective_date" => effective = v,
            "customers" => match v.trim().parse::<i64>() {
                Ok(id) => customers.push(id),
                Err(_) => bad = Some(v),
            },
            _ => {}
        }
    }
    if !csrf_ok(&u, &csrf) {
        return forbidden_csrf(l);
    }
    if let Some(v) = bad {
        return error(
            l,
            AppError::invalid(
                crate::app::Field::Customers,
                crate::app::Invalid::NotACustomerNumber { v: v.to_string() },
            ),
        );
    }
    match s
        .app
        .bo_send_notice(
            &u.actor,
            &s.config.backoffice,
            &kind,
            &subject,
            &text,
            &effective,
            &customers,
            now_ms(),
        )
        .await
    {
        Ok(_) => Redirect::to("/backoffice/notices").into_response(),
        Err(e) => error(l, e),
    }
}
