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
use mamori_billing::Yen;
use mamori_billing::document::{Lang, format_date, format_yen};
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
        .route("/backoffice/invoices/{id}", get(invoice_page))
        .route("/backoffice/invoices/{id}/pdf", get(invoice_pdf))
        .route("/backoffice/invoice-run", post(invoice_run))
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

fn page(l: Lang, title: &str, body: &str) -> Response {
    let lang = if l == Lang::Ja { "ja" } else { "en" };
    Html(format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{} — Mamori</title><link rel=\"stylesheet\" href=\"/static/panel.css\"></head><body><header><strong>Mamori</strong> <nav><a href=\"/\">{}</a> <a href=\"/backoffice\">{}</a></nav></header><main><h1>{}</h1>{body}</main></body></html>",
        esc(title),
        tr(l, "ダッシュボード", "Dashboard"),
        tr(l, "契約と請求", "Contracts and invoices"),
        esc(title)
    ))
    .into_response()
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
        other => other.message_for(if l == Lang::Ja { "ja" } else { "en" }),
    };
    let title = tr(l, "エラー", "Error");
    (
        status,
        page(
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

fn yen(l: Lang, v: i64) -> String {
    format_yen(Yen::new(u64::try_from(v).unwrap_or(0)), l)
}

fn status_text(l: Lang, c: &bo::Contract) -> String {
    match &c.ending {
        None => tr(l, "契約中", "running").to_string(),
        Some(ContractEnding::Customer { end, .. }) => format!(
            "{} {}",
            tr(
                l,
                "解約予定・解約済（お客様）— 終了日",
                "cancelled by the customer — ends"
            ),
            format_date(*end, l)
        ),
        Some(ContractEnding::Provider { end, reason, .. }) => format!(
            "{} {} ({})",
            tr(
                l,
                "当社による解除 — 終了日",
                "terminated by the provider — ends"
            ),
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
    }
    page(l, tr(l, "契約と請求", "Contracts and invoices"), &b)
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
        c.equipment
            .iter()
            .map(|a| format!("#{a}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    b.push_str(&invoice_table(
        l,
        &invoices,
        "invoices",
        tr(l, "請求書", "Invoices"),
    ));
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
    page(l, &format!("{} #{}", tr(l, "契約", "Contract"), c.id), &b)
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
        return (
            StatusCode::FORBIDDEN,
            page(
                l,
                tr(l, "エラー", "Error"),
                "<p class=\"err\" id=\"error\">CSRF</p>",
            ),
        )
            .into_response();
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
    page(l, tr(l, "解約の確認", "Review the cancellation"), &b)
}

async fn invoice_page(State(s): State<AppState>, u: User, Path(id): Path<String>) -> Response {
    let l = u.lang;
    let inv = match async { s.app.bo_invoice(&u.actor, id_of(&id)?).await }.await {
        Ok(i) => i,
        Err(e) => return error(l, e),
    };
    let d = match document::layout(&inv, &s.config.backoffice, l) {
        Ok(d) => d,
        Err(e) => return error(l, AppError::Conflict(e.to_string())),
    };
    let body = format!(
        "{}<p><a id=\"pdf\" href=\"/backoffice/invoices/{}/pdf\">PDF</a></p>",
        document::html(&d),
        inv.id
    );
    page(l, &inv.number_text(), &body)
}

async fn invoice_pdf(State(s): State<AppState>, u: User, Path(id): Path<String>) -> Response {
    let l = u.lang;
    let inv = match async { s.app.bo_invoice(&u.actor, id_of(&id)?).await }.await {
        Ok(i) => i,
        Err(e) => return error(l, e),
    };
    let d = match document::layout(&inv, &s.config.backoffice, l) {
        Ok(d) => d,
        Err(e) => return error(l, AppError::Conflict(e.to_string())),
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
        Ok(Err(e)) => error(l, AppError::Conflict(e.to_string())),
        Err(e) => error(l, AppError::Conflict(e.to_string())),
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
        return (
            StatusCode::FORBIDDEN,
            page(
                l,
                tr(l, "エラー", "Error"),
                "<p class=\"err\" id=\"error\">CSRF</p>",
            ),
        )
            .into_response();
    }
    match s.app.bo_invoice_run(&u.actor, &f.month, now_ms()).await {
        Ok(r) => page(
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
