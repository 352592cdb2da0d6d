//! The back office in the control panel, in Japanese and English: contracts and
//! invoices (read-only for a customer's officer and staff, their own only), the
//! qualified invoice as HTML with its PDF, the cancellation with the earliest allowed
//! end date shown before confirming (Art. 11-1), and for back-office staff the
//! overdue list, the monthly invoice run, applications, payments, the liability cap
//! and notices. Its pages use the panel's layout with the back office's navigation;
//! forms carry the session's CSRF token.

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use mamori_billing::document::{self as doc, format_date, format_yen};
use mamori_billing::{Balance, Yen};
use mamori_center_model::ids::CustomerId;
use mamori_center_model::ids::*;
use mamori_center_model::messages::Lang;
use mamori_center_model::messages::backoffice::{
    ApplicationStateWords, BackOffice as B, NoticeKindWords,
};
use mamori_center_model::messages::panel::Common as C;
use maud::{Markup, html};
use serde::Deserialize;

use super::{AppState, Nav, PanelUser, check_csrf, csrf_field, error_page, layout, submit};
use crate::app::AppError;
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

/// A page of the back office: the panel's layout with the back office's navigation.
fn page(u: &PanelUser, title: &str, body: Markup) -> Response {
    layout(u.lang, Some(u), Nav::BackOffice, title, body).into_response()
}

/// The language of the billing crate's documents, dates and amounts.
fn doc_lang(l: Lang) -> doc::Lang {
    match l {
        Lang::Ja => doc::Lang::Ja,
        Lang::En => doc::Lang::En,
    }
}

fn day(l: Lang, d: jiff::civil::Date) -> String {
    format_date(d, doc_lang(l))
}

fn yen(l: Lang, v: Yen) -> String {
    format_yen(v, doc_lang(l))
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
        None => B::Running.text(l).to_string(),
        Some(ContractEnding::Customer { end, .. }) => {
            format!("{} {}", B::CancelledByCustomer.text(l), day(l, *end))
        }
        Some(ContractEnding::Provider { end, reason, .. }) => format!(
            "{} {} ({})",
            B::TerminatedByProvider.text(l),
            day(l, *end),
            bo::termination_label(reason, l)
        ),
    }
}

fn is_staff(u: &PanelUser) -> bool {
    matches!(u.actor.role, Role::BackOffice | Role::Admin)
}

fn id_of<T: std::str::FromStr>(raw: &str) -> Result<T, AppError> {
    raw.parse().map_err(|_| AppError::NotFound)
}

async fn home(State(s): State<AppState>, u: PanelUser) -> Response {
    let l = u.lang;
    let contracts = match s.app.backoffice().contracts(&u.actor).await {
        Ok(v) => v,
        Err(e) => return error_page(l, Some(&u), e),
    };
    let invoices = match s.app.backoffice().invoices(&u.actor, None).await {
        Ok(v) => v,
        Err(e) => return error_page(l, Some(&u), e),
    };
    let overdue = if is_staff(&u) {
        match s.app.backoffice().overdue(&u.actor, s.now_ms()).await {
            Ok(od) => Some(od),
            Err(e) => return error_page(l, Some(&u), e),
        }
    } else {
        None
    };
    let body = html! {
        h2 { (B::Contracts.text(l)) }
        table #contracts {
            thead {
                tr {
                    th { "#" } th { (B::ServiceStart.text(l)) } th { (B::MonthlyFee.text(l)) }
                    th { (B::MinimumTermEnds.text(l)) } th { (B::Status.text(l)) }
                }
            }
            tbody {
                @for c in &contracts {
                    tr {
                        td { a href={ "/backoffice/contracts/" (c.id) } { (c.id) } }
                        td { (day(l, c.start)) }
                        td { (yen(l, c.monthly_fee)) }
                        td { (day(l, c.minimum_term_end)) }
                        td { (status_text(l, c)) }
                    }
                }
            }
        }
        (invoice_table(l, &invoices, "invoices", B::Invoices.text(l)))
        @if let Some(od) = &overdue {
            (invoice_table(l, od, "overdue", B::OverdueInvoices.text(l)))
            h2 { (B::MonthlyInvoiceRun.text(l)) }
            form method="post" action="/backoffice/invoice-run" {
                (csrf_field(&u.csrf))
                label { (B::ServiceMonth.text(l)) " " input #run_month name="month" placeholder="2026-10" required; }
                " "
                button #run { (B::IssueInvoices.text(l)) }
            }
            h2 { (B::EquipmentBackHeading.text(l)) }
            p { (B::EquipmentBackAbout.text(l)) }
            form method="post" action="/backoffice/equipment-returns" {
                (csrf_field(&u.csrf))
                button #returns_run { (B::TakeBackEquipment.text(l)) }
            }
        }
    };
    page(&u, B::ContractsAndInvoices.text(l), body)
}

fn invoice_table(l: Lang, list: &[bo::Invoice], id: &str, title: &str) -> Markup {
    html! {
        h2 { (title) }
        table id=(id) {
            thead {
                tr {
                    th { (B::InvoiceNumber.text(l)) } th { (B::Month.text(l)) } th { (B::DueDate.text(l)) }
                    th { (B::Total.text(l)) } th { (B::Paid.text(l)) }
                }
            }
            tbody {
                @for i in list {
                    tr {
                        td { a href={ "/backoffice/invoices/" (i.id) } { (i.number_text()) } }
                        td { (i.month) }
                        td { (day(l, i.due_date)) }
                        td { (yen(l, i.total)) }
                        td { (yen(l, i.paid)) }
                    }
                }
            }
        }
    }
}

async fn contract_page(
    State(s): State<AppState>,
    u: PanelUser,
    Path(id): Path<String>,
) -> Response {
    let l = u.lang;
    let c = match async { s.app.backoffice().contract(&u.actor, id_of(&id)?).await }.await {
        Ok(c) => c,
        Err(e) => return error_page(l, Some(&u), e),
    };
    let invoices = match s.app.backoffice().invoices(&u.actor, Some(c.id)).await {
        Ok(v) => v,
        Err(e) => return error_page(l, Some(&u), e),
    };
    let units = match s.app.backoffice().contract_units(&u.actor, c.id).await {
        Ok(v) => v,
        Err(e) => return error_page(l, Some(&u), e),
    };
    let payments = if is_staff(&u) {
        match s.app.backoffice().payments(&u.actor, c.id).await {
            Ok(v) => Some(v),
            Err(e) => return error_page(l, Some(&u), e),
        }
    } else {
        None
    };
    let lend = is_staff(&u) && c.end().is_none_or(|e| e > bo::today(s.now_ms()));
    let cancel = c.ending.is_none()
        && matches!(u.actor.role, Role::Officer | Role::BackOffice | Role::Admin);
    // The units one may lend: those in stock, picked by serial number.
    let in_stock = if lend {
        let f = crate::gateways::EquipmentFilter {
            state: Some(crate::gateways::inventory::EquipmentState::InStock),
            ..Default::default()
        };
        s.app
            .inventory()
            .list(&u.actor, &f)
            .await
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let body = html! {
        dl #contract {
            dt { (B::AccessLine.text(l)) } dd { (c.line_product) " " (c.line_id) }
            dt { (B::ServiceStart.text(l)) } dd #start { (day(l, c.start)) }
            dt { (B::MonthlyFee.text(l)) } dd { (yen(l, c.monthly_fee)) }
            dt { (B::MinimumTermEnds.text(l)) } dd #minimum_term_end { (day(l, c.minimum_term_end)) }
            dt { (B::Status.text(l)) } dd #status { (status_text(l, &c)) }
            dt { (B::EquipmentLent.text(l)) } dd { (c.equipment.len()) }
        }
        (units_table(l, &units))
        @if lend {
            form method="post" action={ "/backoffice/contracts/" (c.id) "/equipment" } #lend_form {
                (csrf_field(&u.csrf))
                label {
                    (B::EquipmentNumberInStock.text(l)) " "
                    select name="equipment" #lend_unit required {
                        option value="" { "—" }
                        @for e in &in_stock {
                            option value=(e.id) { (e.serial) " (" (e.model) ")" }
                        }
                    }
                }
                " "
                button #lend_submit { (B::LendEquipment.text(l)) }
            }
        }
        (invoice_table(l, &invoices, "invoices", B::Invoices.text(l)))
        @if let Some(p) = &payments {
            (contract_staff_forms(l, &u, &c, p))
        }
        @if cancel {
            h2 { (B::CancelHeading.text(l)) }
            p { (B::CancelAbout.text(l)) }
            form method="post" action={ "/backoffice/contracts/" (c.id) "/cancel" } {
                (csrf_field(&u.csrf))
                label { (B::DesiredEndDate.text(l)) " " input #cancel_end name="end" type="date" required; }
                " "
                button #cancel_preview { (B::Review.text(l)) }
            }
        }
    };
    page(&u, &format!("{} #{}", B::Contract.text(l), c.id), body)
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
    u: PanelUser,
    Path(id): Path<String>,
    Form(f): Form<CancelForm>,
) -> Response {
    let l = u.lang;
    if let Err(r) = check_csrf(&u, &f.csrf) {
        return *r;
    }
    let id = match id_of(&id) {
        Ok(i) => i,
        Err(e) => return error_page(l, Some(&u), e),
    };
    if f.confirm.as_deref() == Some("yes") {
        return match s
            .app
            .backoffice()
            .cancel(&u.actor, id, &f.end, s.now_ms())
            .await
        {
            Ok(_) => Redirect::to(&format!("/backoffice/contracts/{id}")).into_response(),
            Err(e) => error_page(l, Some(&u), e),
        };
    }
    let p = match s
        .app
        .backoffice()
        .cancellation_preview(&u.actor, id, &f.end, s.now_ms())
        .await
    {
        Ok(p) => p,
        Err(e) => return error_page(l, Some(&u), e),
    };
    let c = &p.cancellation;
    let body = html! {
        dl #preview {
            dt { (B::NoticeReceived.text(l)) } dd { (day(l, c.notice_date)) }
            dt { (B::EarliestEnd.text(l)) } dd #earliest_end { (day(l, c.earliest_end)) }
            dt { (B::EndDate.text(l)) } dd #end { (day(l, c.end)) }
            dt { (B::EarlyTerminationSum.text(l)) } dd #early_termination { (yen(l, p.early_termination)) }
        }
        @if c.moved {
            p.err #moved { (B::EndMoved.text(l)) }
        }
        form method="post" action={ "/backoffice/contracts/" (id) "/cancel" } {
            (csrf_field(&u.csrf))
            input type="hidden" name="end" value=(c.end);
            input type="hidden" name="confirm" value="yes";
            button #cancel_confirm { (B::ConfirmCancellation.text(l)) }
        }
    };
    page(&u, B::ReviewCancellation.text(l), body)
}

/// The equipment lent under a contract, each linking to its page in the register.
fn units_table(l: Lang, units: &[crate::gateways::Equipment]) -> Markup {
    html! {
        table #units {
            thead { tr { th { (C::SerialNumber.text(l)) } th { (C::Model.text(l)) } th { (C::State.text(l)) } } }
            tbody {
                @for e in units {
                    tr {
                        td { a href={ "/equipment/" (e.id) } { (e.serial) } }
                        td { (e.model) }
                        td { (e.placement.state.name().text(l)) }
                    }
                }
            }
        }
    }
}

/// The section of a piece of equipment's page naming the contracts it was lent under.
pub(super) async fn unit_contracts(
    app: &crate::app::App,
    actor: &Actor,
    l: Lang,
    id: i64,
) -> Markup {
    let Ok(list) = app
        .backoffice()
        .unit_contracts(actor, EquipmentId::new(id))
        .await
    else {
        return html! {};
    };
    html! {
        h2 { (B::LentUnderContract.text(l)) }
        ul #unit_contracts {
            @for (k, released) in &list {
                li {
                    a href={ "/backoffice/contracts/" (k) } { (B::Contract.text(l)) " #" (k) }
                    @if released.is_some() { " (" (B::TakenBackAtEnd.text(l)) ")" }
                }
            }
            @if list.is_empty() {
                li { (B::NoContract.text(l)) }
            }
        }
    }
}

async fn invoice_page(State(s): State<AppState>, u: PanelUser, Path(id): Path<String>) -> Response {
    let l = u.lang;
    let inv = match async { s.app.backoffice().invoice(&u.actor, id_of(&id)?).await }.await {
        Ok(i) => i,
        Err(e) => return error_page(l, Some(&u), e),
    };
    let d = match document::layout(&inv, &s.config.backoffice, doc_lang(l)) {
        Ok(d) => d,
        Err(e) => return error_page(l, Some(&u), document_error(e)),
    };
    let open = inv.balance();
    let body = html! {
        (document::markup(&d))
        p { a #pdf href={ "/backoffice/invoices/" (inv.id) "/pdf" } { "PDF" } }
        p #paid { (B::Paid.text(l)) " " (yen(l, inv.paid)) " / " (yen(l, inv.total)) }
        p #balance { (B::BalanceLabel.text(l)) " " (balance(l, open)) }
        @if is_staff(&u) && open.owed() > Yen::ZERO {
            h2 { (B::RecordPaymentHeading.text(l)) }
            form method="post" action={ "/backoffice/invoices/" (inv.id) "/payments" } #payment_form {
                (csrf_field(&u.csrf))
                label { (B::AmountYen.text(l)) " " input name="amount" #pay_amount inputmode="numeric" required value=(open.owed().get()); }
                " "
                label { (B::DateReceived.text(l)) " " input name="date" #pay_date type="date" required; }
                " "
                button #pay_submit { (B::Record.text(l)) }
            }
            p { (B::LateInterestNote.text(l)) }
        }
    };
    page(&u, &inv.number_text(), body)
}

#[derive(Deserialize)]
struct RunForm {
    csrf: Option<String>,
    month: String,
}

async fn invoice_run(State(s): State<AppState>, u: PanelUser, Form(f): Form<RunForm>) -> Response {
    let l = u.lang;
    if let Err(r) = check_csrf(&u, &f.csrf) {
        return *r;
    }
    match s
        .app
        .backoffice()
        .invoice_run(&u.actor, &s.config.backoffice, &f.month, s.now_ms())
        .await
    {
        Ok(r) => {
            let body = html! {
                p #run_result { (r.month) " " (B::InvoicesIssued.text(l)) ": " (r.issued) }
                p { a href="/backoffice" { (C::Back.text(l)) } }
            };
            page(&u, B::MonthlyInvoiceRun.text(l), body)
        }
        Err(e) => error_page(l, Some(&u), e),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: Option<String>,
}

async fn returns_run(State(s): State<AppState>, u: PanelUser, Form(f): Form<CsrfForm>) -> Response {
    let l = u.lang;
    if let Err(r) = check_csrf(&u, &f.csrf) {
        return *r;
    }
    match s
        .app
        .backoffice()
        .take_back_units(&u.actor, s.now_ms())
        .await
    {
        Ok(done) => {
            let body = html! {
                ul #returns_result {
                    @for (k, unit, outcome) in &done {
                        li {
                            a href={ "/backoffice/contracts/" (k) } { (B::Contract.text(l)) " #" (k) }
                            ": "
                            a href={ "/equipment/" (unit) } { (C::Equipment.text(l)) " #" (unit) }
                            " — " (outcome)
                        }
                    }
                    @if done.is_empty() {
                        li { (B::NoEquipmentDue.text(l)) }
                    }
                }
                p { a href="/backoffice" { (C::Back.text(l)) } }
            };
            page(&u, B::EquipmentBack.text(l), body)
        }
        Err(e) => error_page(l, Some(&u), e),
    }
}

/// A time (ms since the epoch) in Japan time.
fn time_text(l: Lang, ms: i64) -> String {
    let ts = jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let dt = jiff::tz::Offset::constant(9).to_datetime(ts);
    format!("{} {:02}:{:02}", day(l, dt.date()), dt.hour(), dt.minute())
}

fn state_text(l: Lang, a: &bo::Application) -> String {
    let s = match a.state {
        bo::ApplicationState::Pending => ApplicationStateWords::Pending,
        bo::ApplicationState::Accepted => ApplicationStateWords::Accepted,
        bo::ApplicationState::Refused => ApplicationStateWords::Refused,
        bo::ApplicationState::Superseded => ApplicationStateWords::Superseded,
    }
    .text(l);
    match (&a.refusal_reason, a.contract_id) {
        (Some(r), _) => format!("{s} — {}", bo::refusal_label(r, l)),
        (None, Some(c)) => format!("{s} — {} #{c}", B::ContractLower.text(l)),
        _ => s.to_string(),
    }
}

/// The application form: new (`prev` None) or a change to `prev` (Art. 9).
fn application_form(
    l: Lang,
    u: &PanelUser,
    lines: &[String],
    customers: &[crate::domain::Customer],
    prev: Option<&bo::Application>,
) -> Markup {
    html! {
        form method="post" action="/backoffice/applications" #application_form {
            (csrf_field(&u.csrf))
            @match prev {
                Some(a) => {
                    input type="hidden" name="replaces" value=(a.id);
                    input type="hidden" name="customer_id" value=(a.customer_id);
                    p { (B::ApplicationChanged.text(l)) " #" (a.id) }
                }
                None => {
                    label {
                        (B::Customer.text(l)) " "
                        select name="customer_id" #app_customer required {
                            @for c in customers {
                                option value=(c.id) { (c.name) " (#" (c.id) ")" }
                            }
                        }
                    }
                    " "
                }
            }
            label {
                (B::AccessLineEligible.text(l)) " "
                select name="line_product" #app_line_product {
                    @for p in lines {
                        option value=(p) selected[prev.is_some_and(|a| &a.line_product == p)] { (p) }
                    }
                }
            }
            " "
            label { (B::LineId.text(l)) " " input name="line_id" #app_line_id required value=(prev.map(|a| a.line_id.as_str()).unwrap_or_default()); }
            " "
            label {
                (B::MonthlyFeeFromQuotation.text(l)) " "
                input name="monthly_fee" #app_fee inputmode="numeric" required value=(prev.map(|a| a.monthly_fee.get().to_string()).unwrap_or_default());
            }
            " "
            label { (B::ServiceStart.text(l)) " " input name="start" #app_start type="date" required value=(prev.map(|a| a.start.to_string()).unwrap_or_default()); }
            " "
            label { (B::Note.text(l)) " " input name="note" #app_note value=(prev.map(|a| a.note.as_str()).unwrap_or_default()); }
            " "
            button #app_submit {
                (if prev.is_some() { B::RecordChange.text(l) } else { B::RecordApplication.text(l) })
            }
        }
    }
}

async fn applications_page(State(s): State<AppState>, u: PanelUser) -> Response {
    let l = u.lang;
    let apps = match s.app.backoffice().applications(&u.actor).await {
        Ok(v) => v,
        Err(e) => return error_page(l, Some(&u), e),
    };
    let customers = if is_staff(&u) {
        match s.app.customers().list(&u.actor).await {
            Ok(v) => Some(v),
            Err(e) => return error_page(l, Some(&u), e),
        }
    } else {
        None
    };
    let reasons = html! {
        @for r in mamori_billing::contract::RefusalReason::ALL.iter() {
            @let code = code_of(r);
            option value=(code) { (bo::refusal_label(&code, l)) }
        }
    };
    let body = html! {
        table #applications {
            thead {
                tr {
                    th { "#" } th { (B::Customer.text(l)) } th { (B::AccessLine.text(l)) }
                    th { (B::MonthlyFee.text(l)) } th { (B::ServiceStart.text(l)) } th { (B::Status.text(l)) } th {}
                }
            }
            tbody {
                @for a in &apps {
                    tr id={ "application_" (a.id) } {
                        td { (a.id) }
                        td { "#" (a.customer_id) }
                        td { (a.line_product) " " (a.line_id) }
                        td { (yen(l, a.monthly_fee)) }
                        td { (day(l, a.start)) }
                        td.state { (state_text(l, a)) }
                        td {
                            @if a.state == bo::ApplicationState::Pending && is_staff(&u) {
                                form method="post" action={ "/backoffice/applications/" (a.id) "/accept" } class="inline" {
                                    (csrf_field(&u.csrf))
                                    label {
                                        (B::EquipmentToLend.text(l)) " "
                                        input name="equipment" id={ "accept_equipment_" (a.id) } placeholder="12, 13";
                                    }
                                    " "
                                    button id={ "accept_" (a.id) } { (B::Accept.text(l)) }
                                }
                                " "
                                form method="post" action={ "/backoffice/applications/" (a.id) "/refuse" } class="inline"
                                    data-confirm=(mamori_center_model::messages::panel::Confirm::RefuseApplication.text(l)) {
                                    (csrf_field(&u.csrf))
                                    select name="reason" id={ "refuse_reason_" (a.id) } { (reasons) }
                                    " "
                                    button id={ "refuse_" (a.id) } { (B::Refuse.text(l)) }
                                }
                                " "
                                a id={ "change_" (a.id) } href={ "/backoffice/applications/" (a.id) "/change" } { (B::ChangeArt9.text(l)) }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(customers) = &customers {
            h2 { (B::NewApplication.text(l)) }
            (application_form(l, &u, &s.config.backoffice.eligible_lines, customers, None))
        }
    };
    page(&u, B::Applications.text(l), body)
}

async fn application_change_page(
    State(s): State<AppState>,
    u: PanelUser,
    Path(id): Path<String>,
) -> Response {
    let l = u.lang;
    if !is_staff(&u) {
        return error_page(
            l,
            Some(&u),
            AppError::Forbidden(crate::app::Forbidden::BackOfficeOnly),
        );
    }
    let a = match async { s.app.backoffice().application(&u.actor, id_of(&id)?).await }.await {
        Ok(a) => a,
        Err(e) => return error_page(l, Some(&u), e),
    };
    let body = application_form(l, &u, &s.config.backoffice.eligible_lines, &[], Some(&a));
    page(
        &u,
        &format!("{} #{}", B::ChangeApplication.text(l), a.id),
        body,
    )
}

/// The back-office parts of the contract page: payments, the liability cap, and the
/// termination form (Art. 12).
fn contract_staff_forms(
    l: Lang,
    u: &PanelUser,
    c: &bo::Contract,
    payments: &[bo::Payment],
) -> Markup {
    html! {
        h2 { (B::Payments.text(l)) }
        table #payments {
            thead {
                tr {
                    th { (B::Date.text(l)) } th { (B::PaidInvoice.text(l)) } th { (B::Amount.text(l)) }
                    th { (B::LateInterest.text(l)) } th { (B::BilledOn.text(l)) }
                }
            }
            tbody {
                @for p in payments {
                    tr {
                        td { (day(l, p.date)) }
                        td { a href={ "/backoffice/invoices/" (p.invoice_id) } { (B::Invoice.text(l)) } }
                        td { (yen(l, p.amount)) }
                        td { (yen(l, p.interest)) }
                        td { @if let Some(n) = p.interest_invoice { (format!("{n:08}")) } }
                    }
                }
            }
        }
        h2 { (B::LiabilityCapHeading.text(l)) }
        form method="get" action={ "/backoffice/contracts/" (c.id) "/liability-cap" } {
            label { (B::CauseDate.text(l)) " " input name="cause_date" #cap_cause type="date" required; }
            " "
            button #cap_submit { (B::Compute.text(l)) }
        }
        @if c.ending.is_none() {
            h2 { (B::TerminationHeading.text(l)) }
            p { (B::TerminationAbout.text(l)) }
            form method="post" action={ "/backoffice/contracts/" (c.id) "/terminate" } #terminate_form
                data-confirm=(mamori_center_model::messages::panel::Confirm::TerminateContract.text(l)) {
                (csrf_field(&u.csrf))
                label {
                    (B::TerminationReason.text(l)) " "
                    select name="reason" #term_reason {
                        @for r in mamori_billing::contract::TerminationReason::ALL.iter() {
                            @let code = code_of(r);
                            option value=(code) { (bo::termination_label(&code, l)) }
                        }
                    }
                }
                " "
                label { (B::PriorNotice.text(l)) " " input name="notice_date" #term_notice type="date"; }
                " "
                label { input type="checkbox" name="urgent" value="yes" #term_urgent; " " (B::Urgent.text(l)) }
                " "
                label { (B::TerminationDate.text(l)) " " input name="end" #term_end type="date" required; }
                " "
                button #term_submit { (B::Terminate.text(l)) }
            }
        }
    }
}

#[derive(Deserialize)]
struct CapQuery {
    cause_date: String,
}

async fn liability_cap_page(
    State(s): State<AppState>,
    u: PanelUser,
    Path(id): Path<String>,
    Query(q): Query<CapQuery>,
) -> Response {
    let l = u.lang;
    let r = async {
        s.app
            .backoffice()
            .liability_cap(&u.actor, id_of(&id)?, &q.cause_date, s.now_ms())
            .await
    }
    .await;
    let cap = match r {
        Ok(c) => c,
        Err(e) => return error_page(l, Some(&u), e),
    };
    let body = html! {
        dl {
            dt { (B::CauseDate.text(l)) } dd { (day(l, cap.cause_date)) }
            dt { (B::PaymentsCounted.text(l)) }
            dd { (day(l, cap.from)) " – " (day(l, cap.to.yesterday().unwrap_or(cap.to))) }
            dt { (B::Cap.text(l)) } dd #cap { (yen(l, cap.cap)) }
        }
        table #cap_payments {
            thead { tr { th { (B::Date.text(l)) } th { (B::Amount.text(l)) } } }
            tbody {
                @for p in &cap.payments {
                    tr { td { (day(l, p.date)) } td { (yen(l, p.amount)) } }
                }
            }
        }
        p { a href={ "/backoffice/contracts/" (id_of(&id).unwrap_or(0)) } { (B::BackToContract.text(l)) } }
    };
    page(&u, B::LiabilityCap.text(l), body)
}

fn notice_kind_label(l: Lang, kind: &str) -> String {
    let name = match kind {
        "terms_change" => NoticeKindWords::TermsChange.text(l),
        "maintenance" => NoticeKindWords::Maintenance.text(l),
        "termination" => NoticeKindWords::Termination.text(l),
        "service_end" => NoticeKindWords::ServiceEnd.text(l),
        "application_accepted" => NoticeKindWords::ApplicationAccepted.text(l),
        other => other,
    };
    let article = bo::NOTICE_KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, a)| *a)
        .unwrap_or("");
    format!("{name} ({article})")
}

async fn notices_page(State(s): State<AppState>, u: PanelUser) -> Response {
    let l = u.lang;
    let notices = match s.app.backoffice().notices(&u.actor).await {
        Ok(v) => v,
        Err(e) => return error_page(l, Some(&u), e),
    };
    let customers = match s.app.customers().list(&u.actor).await {
        Ok(v) => v,
        Err(e) => return error_page(l, Some(&u), e),
    };
    let body = html! {
        h2 { (B::ComposeNotice.text(l)) }
        form method="post" action="/backoffice/notices" #notice_form
            data-confirm=(mamori_center_model::messages::panel::Confirm::SendNotice.text(l)) {
            (csrf_field(&u.csrf))
            label {
                (B::Kind.text(l)) " "
                select name="kind" #notice_kind {
                    @for (k, _) in bo::NOTICE_KINDS.iter().take(4) {
                        option value=(k) { (notice_kind_label(l, k)) }
                    }
                }
            }
            " "
            label { (B::EffectiveDate.text(l)) " " input name="effective_date" #notice_effective type="date" required; }
            br;
            label { (B::Subject.text(l)) " " input name="subject" #notice_subject size="60" required; }
            br;
            label { (B::Body.text(l)) br; textarea name="body" #notice_body rows="8" cols="70" required {} }
            fieldset {
                legend { (B::Recipients.text(l)) }
                @for c in &customers {
                    label {
                        input type="checkbox" name="customers" value=(c.id) id={ "notice_customer_" (c.id) };
                        " " (c.name) " (#" (c.id) ")"
                    }
                    " "
                }
            }
            button #notice_send { (B::Send.text(l)) }
        }
        h2 { (B::NoticesSent.text(l)) }
        table #notices {
            thead {
                tr {
                    th { "#" } th { (B::Kind.text(l)) } th { (B::Subject.text(l)) } th { (B::EffectiveDate.text(l)) }
                    th { (B::Composed.text(l)) } th { (B::RecipientsAndTimes.text(l)) }
                }
            }
            tbody {
                @for n in &notices {
                    tr id={ "notice_" (n.id) } {
                        td { (n.id) }
                        td { (notice_kind_label(l, &n.kind)) }
                        td { (n.subject) }
                        td { (day(l, n.effective_date)) }
                        td { (time_text(l, n.created_at)) }
                        td {
                            ul {
                                @for r in &n.recipients {
                                    @let when = match (&r.sent_at, &r.error) {
                                        (Some(t), _) => time_text(l, *t),
                                        (None, Some(e)) => format!("{}: {e}", B::NotSent.text(l)),
                                        (None, None) => B::NotSentYet.text(l).to_string(),
                                    };
                                    li { "#" (r.customer_id) " " (r.email) " — " (when) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    page(&u, B::Notices.text(l), body)
}

#[derive(Deserialize)]
struct LendForm {
    csrf: Option<String>,
    equipment: String,
}

async fn lend_submit(
    State(s): State<AppState>,
    u: PanelUser,
    Path(id): Path<String>,
    Form(f): Form<LendForm>,
) -> Response {
    let action = async {
        let id = id_of(&id)?;
        let unit = unit_number(&f.equipment)?;
        s.app
            .backoffice()
            .lend_unit(
                &u.actor,
                ContractId::new(id),
                EquipmentId::new(unit),
                s.now_ms(),
            )
            .await
    };
    submit(&u, &f.csrf, action, |c| {
        format!("/backoffice/contracts/{}", c.id)
    })
    .await
}

/// An invoice that cannot be laid out or rendered (its words are English).
fn document_error(e: impl std::fmt::Display) -> AppError {
    AppError::Conflict(crate::app::Conflict::Document {
        detail: e.to_string(),
    })
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

async fn invoice_pdf(State(s): State<AppState>, u: PanelUser, Path(id): Path<String>) -> Response {
    let l = u.lang;
    let inv = match async { s.app.backoffice().invoice(&u.actor, id_of(&id)?).await }.await {
        Ok(i) => i,
        Err(e) => return error_page(l, Some(&u), e),
    };
    let d = match document::layout(&inv, &s.config.backoffice, doc_lang(l)) {
        Ok(d) => d,
        Err(e) => return error_page(l, Some(&u), document_error(e)),
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
        Ok(Err(e)) => error_page(l, Some(&u), document_error(e)),
        Err(e) => error_page(l, Some(&u), document_error(e)),
    }
}

fn code_of<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// A form number field: digits (full-width too), commas and a leading ¥ are accepted.
fn number_field(field: crate::app::Field, v: &str) -> Result<i64, AppError> {
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
    u: PanelUser,
    Form(f): Form<ApplicationForm>,
) -> Response {
    let action = async {
        let customer = f.customer_id.trim().parse::<i64>().map_err(|_| {
            AppError::invalid(
                crate::app::Field::CustomerId,
                crate::app::Invalid::ChooseCustomer,
            )
        })?;
        let fee = number_field(crate::app::Field::MonthlyFee, &f.monthly_fee)?;
        let replaces = match f.replaces.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(x) => Some(id_of(x)?),
        };
        s.app
            .backoffice()
            .apply(
                &u.actor,
                &s.config.backoffice,
                CustomerId::new(customer),
                &f.line_product,
                &f.line_id,
                fee,
                &f.start,
                &f.note,
                replaces,
                s.now_ms(),
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
    u: PanelUser,
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
            .backoffice()
            .accept(&u.actor, &s.config.backoffice, id, &equipment, s.now_ms())
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
    u: PanelUser,
    Path(id): Path<String>,
    Form(f): Form<RefuseForm>,
) -> Response {
    let action = async {
        s.app
            .backoffice()
            .refuse(&u.actor, id_of(&id)?, &f.reason, s.now_ms())
            .await
    };
    submit(&u, &f.csrf, action, |_| "/backoffice/applications".into()).await
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
    u: PanelUser,
    Path(id): Path<String>,
    Form(f): Form<TerminateForm>,
) -> Response {
    let action = async {
        let id = id_of(&id)?;
        s.app
            .backoffice()
            .terminate(
                &u.actor,
                id,
                &f.reason,
                f.urgent.as_deref() == Some("yes"),
                f.notice_date.as_deref(),
                &f.end,
                s.now_ms(),
            )
            .await
    };
    submit(&u, &f.csrf, action, |(c, _)| {
        format!("/backoffice/contracts/{}", c.id)
    })
    .await
}

#[derive(Deserialize)]
struct PaymentForm {
    csrf: Option<String>,
    amount: String,
    date: String,
}

async fn payment_submit(
    State(s): State<AppState>,
    u: PanelUser,
    Path(id): Path<String>,
    Form(f): Form<PaymentForm>,
) -> Response {
    let action = async {
        let id = id_of(&id)?;
        let amount = number_field(crate::app::Field::Amount, &f.amount)?;
        s.app
            .backoffice()
            .record_payment(
                &u.actor,
                &s.config.backoffice,
                InvoiceId::new(id),
                amount,
                &f.date,
                s.now_ms(),
            )
            .await
    };
    submit(&u, &f.csrf, action, |p| {
        format!("/backoffice/invoices/{}", p.invoice_id)
    })
    .await
}

async fn notice_submit(State(s): State<AppState>, u: PanelUser, body: String) -> Response {
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
    if let Err(r) = check_csrf(&u, &csrf) {
        return *r;
    }
    if let Some(v) = bad {
        return error_page(
            l,
            Some(&u),
            AppError::invalid(
                crate::app::Field::Customers,
                crate::app::Invalid::NotACustomerNumber { v: v.to_string() },
            ),
        );
    }
    match s
        .app
        .backoffice()
        .send_notice(
            &u.actor,
            &s.config.backoffice,
            &kind,
            &subject,
            &text,
            &effective,
            &customers,
            s.now_ms(),
        )
        .await
    {
        Ok(_) => Redirect::to("/backoffice/notices").into_response(),
        Err(e) => error_page(l, Some(&u), e),
    }
}
