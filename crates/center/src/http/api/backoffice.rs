//! The back office's REST routes (`/api/v1/backoffice/...`). Provider back-office
//! staff act; a customer's officer and staff read their own customer's contracts,
//! invoices (JSON, HTML, PDF) and payments, and nothing else (another customer's
//! object answers 404 like a missing one).

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use mamori_api::billing as wire;
use mamori_billing::document::Lang;
use mamori_center_model::ids::CustomerId;
use mamori_center_model::ids::*;
use serde::Deserialize;

use super::extract::{ApiActor, ApiJson, ApiQuery, Id, created};
use super::problem::{ApiResult, Problem};
use crate::backoffice::{self as bo, ContractEnding, document};
use crate::domain::rfc3339;
use crate::http::AppState;

// ---- conversions -----------------------------------------------------------------

pub fn application_wire(a: bo::Application) -> wire::Application {
    wire::Application {
        id: a.id.get(),
        customer_id: a.customer_id.get(),
        line_product: a.line_product,
        line_id: a.line_id,
        monthly_fee: a.monthly_fee.get(),
        start: a.start.to_string(),
        note: a.note,
        state: a.state.as_str().into(),
        refusal_reason: a.refusal_reason,
        replaces: a.replaces_id.map(ApplicationId::get),
        contract_id: a.contract_id.map(ContractId::get),
        created_at: rfc3339(a.created_at),
    }
}

pub fn contract_wire(c: bo::Contract) -> wire::Contract {
    let (status, end, notice, requested, reason) = match &c.ending {
        None => ("running", None, None, None, None),
        Some(ContractEnding::Customer {
            notice_date,
            requested_end,
            end,
        }) => (
            "cancelled",
            Some(end.to_string()),
            Some(notice_date.to_string()),
            Some(requested_end.to_string()),
            None,
        ),
        Some(ContractEnding::Provider {
            reason,
            notice_date,
            end,
        }) => (
            "terminated",
            Some(end.to_string()),
            notice_date.map(|d| d.to_string()),
            None,
            Some(reason.clone()),
        ),
    };
    wire::Contract {
        id: c.id.get(),
        customer_id: c.customer_id.get(),
        application_id: c.application_id.get(),
        line_product: c.line_product,
        line_id: c.line_id,
        start: c.start.to_string(),
        monthly_fee: c.monthly_fee.get(),
        minimum_term_end: c.minimum_term_end.to_string(),
        status: status.into(),
        end,
        notice_date: notice,
        requested_end: requested,
        termination_reason: reason,
        equipment: c.equipment.iter().map(|e| e.get()).collect(),
        created_at: rfc3339(c.created_at),
    }
}

fn preview_wire(p: bo::CancellationPreview) -> wire::CancellationPreview {
    wire::CancellationPreview {
        notice_date: p.cancellation.notice_date.to_string(),
        requested_end: p.cancellation.requested_end.to_string(),
        earliest_end: p.cancellation.earliest_end.to_string(),
        end: p.cancellation.end.to_string(),
        moved: p.cancellation.moved,
        minimum_term_end: p.minimum_term_end.to_string(),
        early_termination: p.early_termination.get(),
    }
}

pub fn invoice_wire(i: bo::Invoice) -> wire::Invoice {
    wire::Invoice {
        id: i.id.get(),
        number: i.number,
        number_text: i.number_text(),
        customer_id: i.customer_id.get(),
        contract_id: i.contract_id.get(),
        month: i.month.to_string(),
        issue_date: i.issue_date.to_string(),
        due_date: i.due_date.to_string(),
        recipient: i.recipient,
        taxable_subtotal: i.taxable_subtotal.get(),
        non_taxable_subtotal: i.non_taxable_subtotal.get(),
        tax: i.tax.get(),
        total: i.total.get(),
        paid: i.paid.get(),
        lines: i
            .lines
            .into_iter()
            .map(|l| wire::InvoiceLine {
                kind: l.kind.code().into(),
                amount: l.amount.get(),
                taxable: l.taxable,
                rate_basis_points: l.rate.map(|r| i64::from(r.basis_points())),
                date: l.date.to_string(),
            })
            .collect(),
    }
}

fn payment_wire(p: bo::Payment) -> wire::Payment {
    wire::Payment {
        id: p.id,
        invoice_id: p.invoice_id.get(),
        contract_id: p.contract_id.get(),
        amount: p.amount.get(),
        date: p.date.to_string(),
        interest: p.interest.get(),
        interest_invoice: p.interest_invoice,
    }
}

pub fn notice_wire(n: bo::Notice) -> wire::Notice {
    wire::Notice {
        id: n.id,
        kind: n.kind,
        subject: n.subject,
        body: n.body,
        effective_date: n.effective_date.to_string(),
        created_at: rfc3339(n.created_at),
        recipients: n
            .recipients
            .into_iter()
            .map(|r| wire::NoticeRecipient {
                customer_id: r.customer_id.get(),
                email: r.email,
                sent_at: r.sent_at.map(rfc3339),
                error: r.error,
            })
            .collect(),
    }
}

// ---- handlers ----------------------------------------------------------------------

/// Service applications
#[utoipa::path(get, path = "/backoffice/applications", tag = "back office", responses((status = 200, description = "the applications", body = Vec<wire::Application>)))]
pub(super) async fn applications(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
) -> ApiResult<Json<Vec<wire::Application>>> {
    let v = s.app.backoffice().applications(&a).await?;
    Ok(Json(v.into_iter().map(application_wire).collect()))
}

/// One application
#[utoipa::path(get, path = "/backoffice/applications/{id}", tag = "back office", params(("id" = i64, Path, description = "the application")), responses((status = 200, description = "the application", body = wire::Application)))]
pub(super) async fn application(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(id): Id,
) -> ApiResult<Json<wire::Application>> {
    Ok(Json(application_wire(
        s.app
            .backoffice()
            .application(&a, ApplicationId::new(id))
            .await?,
    )))
}

/// Record an application for the service
#[utoipa::path(post, path = "/backoffice/applications", tag = "back office", request_body = wire::NewApplication, responses((status = 201, description = "the application", body = wire::Application)))]
pub(super) async fn create_application(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(r): ApiJson<wire::NewApplication>,
) -> ApiResult<Response> {
    let app = s
        .app
        .backoffice()
        .apply(
            &a,
            &s.config.backoffice,
            CustomerId::new(r.customer_id),
            &r.line_product,
            &r.line_id,
            r.monthly_fee,
            &r.start,
            &r.note,
            r.replaces,
            s.now_ms(),
        )
        .await?;
    Ok(created(application_wire(app)))
}

/// Accept an application: the contract starts and the customer is notified
#[utoipa::path(post, path = "/backoffice/applications/{id}/accept", tag = "back office", params(("id" = i64, Path, description = "the application")), request_body = wire::Accept, responses((status = 201, description = "the contract and the notice sent", body = wire::Accepted)))]
pub(super) async fn accept(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(id): Id,
    ApiJson(r): ApiJson<wire::Accept>,
) -> ApiResult<Response> {
    let (c, n) = s
        .app
        .backoffice()
        .accept(
            &a,
            &s.config.backoffice,
            ApplicationId::new(id),
            &r.equipment,
            s.now_ms(),
        )
        .await?;
    Ok(created(wire::Accepted {
        contract: contract_wire(c),
        notice: notice_wire(n),
    }))
}

/// Lend one more piece of equipment of the inventory under a contract (in stock -> lent)
#[utoipa::path(post, path = "/backoffice/contracts/{id}/equipment", tag = "back office", params(("id" = i64, Path, description = "the contract")), request_body = wire::LendUnit, responses((status = 200, description = "the contract", body = wire::Contract)))]
pub(super) async fn lend_unit(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(id): Id,
    ApiJson(r): ApiJson<wire::LendUnit>,
) -> ApiResult<Json<wire::Contract>> {
    Ok(Json(contract_wire(
        s.app
            .backoffice()
            .lend_unit(
                &a,
                ContractId::new(id),
                EquipmentId::new(r.equipment_id),
                s.now_ms(),
            )
            .await?,
    )))
}

/// Take back the equipment of every contract that has reached its end (-> returned, Art. 15)
#[utoipa::path(post, path = "/backoffice/equipment-returns", tag = "back office", responses((status = 200, description = "what was taken back", body = Vec<wire::TakenBack>)))]
pub(super) async fn take_back_units(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
) -> ApiResult<Json<Vec<wire::TakenBack>>> {
    let done = s.app.backoffice().take_back_units(&a, s.now_ms()).await?;
    Ok(Json(
        done.into_iter()
            .map(|(contract_id, equipment_id, outcome)| wire::TakenBack {
                contract_id,
                equipment_id,
                outcome,
            })
            .collect(),
    ))
}

/// Refuse an application with a reason
#[utoipa::path(post, path = "/backoffice/applications/{id}/refuse", tag = "back office", params(("id" = i64, Path, description = "the application")), request_body = wire::Refuse, responses((status = 200, description = "the application, refused", body = wire::Application)))]
pub(super) async fn refuse(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(id): Id,
    ApiJson(r): ApiJson<wire::Refuse>,
) -> ApiResult<Json<wire::Application>> {
    Ok(Json(application_wire(
        s.app
            .backoffice()
            .refuse(&a, ApplicationId::new(id), &r.reason, s.now_ms())
            .await?,
    )))
}

/// Contracts
#[utoipa::path(get, path = "/backoffice/contracts", tag = "back office", responses((status = 200, description = "the contracts", body = Vec<wire::Contract>)))]
pub(super) async fn contracts(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
) -> ApiResult<Json<Vec<wire::Contract>>> {
    let v = s.app.backoffice().contracts(&a).await?;
    Ok(Json(v.into_iter().map(contract_wire).collect()))
}

/// One contract
#[utoipa::path(get, path = "/backoffice/contracts/{id}", tag = "back office", params(("id" = i64, Path, description = "the contract")), responses((status = 200, description = "the contract", body = wire::Contract)))]
pub(super) async fn contract(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(id): Id,
) -> ApiResult<Json<wire::Contract>> {
    Ok(Json(contract_wire(
        s.app.backoffice().contract(&a, ContractId::new(id)).await?,
    )))
}

/// What a cancellation by the customer would give
///
/// The end date and the early-termination charge, without changing anything.
#[utoipa::path(post, path = "/backoffice/contracts/{id}/cancellation-preview", tag = "back office", params(("id" = i64, Path, description = "the contract")), request_body = wire::Cancel, responses((status = 200, description = "the cancellation it would be", body = wire::CancellationPreview)))]
pub(super) async fn cancellation_preview(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(id): Id,
    ApiJson(r): ApiJson<wire::Cancel>,
) -> ApiResult<Json<wire::CancellationPreview>> {
    let p = s
        .app
        .backoffice()
        .cancellation_preview(&a, ContractId::new(id), &r.end, s.now_ms())
        .await?;
    Ok(Json(preview_wire(p)))
}

/// Cancel a contract at the customer's request
#[utoipa::path(post, path = "/backoffice/contracts/{id}/cancel", tag = "back office", params(("id" = i64, Path, description = "the contract")), request_body = wire::Cancel, responses((status = 200, description = "the contract and its cancellation", body = wire::Cancelled)))]
pub(super) async fn cancel(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(id): Id,
    ApiJson(r): ApiJson<wire::Cancel>,
) -> ApiResult<Json<wire::Cancelled>> {
    let (c, p) = s
        .app
        .backoffice()
        .cancel(&a, ContractId::new(id), &r.end, s.now_ms())
        .await?;
    Ok(Json(wire::Cancelled {
        contract: contract_wire(c),
        cancellation: preview_wire(p),
    }))
}

/// Terminate a contract by the provider, with a reason
#[utoipa::path(post, path = "/backoffice/contracts/{id}/terminate", tag = "back office", params(("id" = i64, Path, description = "the contract")), request_body = wire::Terminate, responses((status = 200, description = "the contract, terminated", body = wire::Terminated)))]
pub(super) async fn terminate(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(id): Id,
    ApiJson(r): ApiJson<wire::Terminate>,
) -> ApiResult<Json<wire::Terminated>> {
    let (c, n) = s
        .app
        .backoffice()
        .terminate(
            &a,
            ContractId::new(id),
            &r.reason,
            r.urgent,
            r.notice_date.as_deref(),
            &r.end,
            s.now_ms(),
        )
        .await?;
    Ok(Json(wire::Terminated {
        contract: contract_wire(c),
        invoices_due_at_once: n,
    }))
}

/// Payments of a contract
#[utoipa::path(get, path = "/backoffice/contracts/{id}/payments", tag = "back office", params(("id" = i64, Path, description = "the contract")), responses((status = 200, description = "the payments", body = Vec<wire::Payment>)))]
pub(super) async fn payments(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(id): Id,
) -> ApiResult<Json<Vec<wire::Payment>>> {
    let v = s.app.backoffice().payments(&a, ContractId::new(id)).await?;
    Ok(Json(v.into_iter().map(payment_wire).collect()))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct CauseQuery {
    cause_date: String,
}

/// The liability cap for damage caused on a date (fees paid in the preceding period)
#[utoipa::path(get, path = "/backoffice/contracts/{id}/liability-cap", tag = "back office", params(("id" = i64, Path, description = "the contract"), CauseQuery), responses((status = 200, description = "the cap and the payments it counts", body = wire::LiabilityCap)))]
pub(super) async fn liability_cap(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(id): Id,
    ApiQuery(q): ApiQuery<CauseQuery>,
) -> ApiResult<Json<wire::LiabilityCap>> {
    let cap = s
        .app
        .backoffice()
        .liability_cap(&a, ContractId::new(id), &q.cause_date, s.now_ms())
        .await?;
    Ok(Json(wire::LiabilityCap {
        contract_id: id,
        cause_date: cap.cause_date.to_string(),
        from: cap.from.to_string(),
        to: cap.to.to_string(),
        payments: cap
            .payments
            .iter()
            .map(|p| wire::CountedPayment {
                date: p.date.to_string(),
                amount: p.amount.get(),
            })
            .collect(),
        cap: cap.cap.get(),
    }))
}

/// Issue the invoices of a month (idempotent per month)
#[utoipa::path(post, path = "/backoffice/invoice-runs", tag = "back office", request_body = wire::InvoiceRun, responses((status = 200, description = "what the run issued", body = wire::InvoiceRunReport)))]
pub(super) async fn invoice_run(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(r): ApiJson<wire::InvoiceRun>,
) -> ApiResult<Json<wire::InvoiceRunReport>> {
    let rep = s
        .app
        .backoffice()
        .invoice_run(&a, &s.config.backoffice, &r.month, s.now_ms())
        .await?;
    Ok(Json(wire::InvoiceRunReport {
        month: rep.month.to_string(),
        issued: rep.issued,
        first_number: rep.first_number,
        last_number: rep.last_number,
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct InvoiceQuery {
    contract_id: Option<i64>,
}

/// Invoices
#[utoipa::path(get, path = "/backoffice/invoices", tag = "back office", params(InvoiceQuery), responses((status = 200, description = "the invoices", body = Vec<wire::Invoice>)))]
pub(super) async fn invoices(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiQuery(q): ApiQuery<InvoiceQuery>,
) -> ApiResult<Json<Vec<wire::Invoice>>> {
    let v = s
        .app
        .backoffice()
        .invoices(&a, q.contract_id.map(ContractId::new))
        .await?;
    Ok(Json(v.into_iter().map(invoice_wire).collect()))
}

/// Invoices past their due date and not fully paid
#[utoipa::path(get, path = "/backoffice/invoices/overdue", tag = "back office", responses((status = 200, description = "the overdue invoices", body = Vec<wire::Invoice>)))]
pub(super) async fn overdue(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
) -> ApiResult<Json<Vec<wire::Invoice>>> {
    let v = s.app.backoffice().overdue(&a, s.now_ms()).await?;
    Ok(Json(v.into_iter().map(invoice_wire).collect()))
}

/// One invoice
#[utoipa::path(get, path = "/backoffice/invoices/{id}", tag = "back office", params(("id" = i64, Path, description = "the invoice")), responses((status = 200, description = "the invoice", body = wire::Invoice)))]
pub(super) async fn invoice(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(id): Id,
) -> ApiResult<Json<wire::Invoice>> {
    Ok(Json(invoice_wire(
        s.app.backoffice().invoice(&a, InvoiceId::new(id)).await?,
    )))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct LangQuery {
    lang: Option<String>,
}

fn lang(q: &LangQuery) -> ApiResult<Lang> {
    match q.lang.as_deref().unwrap_or("ja") {
        "ja" => Ok(Lang::Ja),
        "en" => Ok(Lang::En),
        other => Err(Problem::says(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid Field",
            crate::app::ApiProblem::NotALanguage {
                field: "lang".into(),
                value: format!("{other:?}"),
            },
        )
        .field("lang")),
    }
}

fn doc_problem(e: document::DocError) -> Problem {
    tracing::error!(error = %e, "invoice document");
    Problem::says(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Invoice Document Unavailable",
        crate::app::ApiProblem::DocumentUnavailable {
            error: e.to_string(),
        },
    )
}

/// An invoice as an HTML document
#[utoipa::path(get, path = "/backoffice/invoices/{id}/html", tag = "back office", params(("id" = i64, Path, description = "the invoice"), LangQuery), responses((status = 200, description = "the invoice document", content_type = "text/html", body = String)))]
pub(super) async fn invoice_html(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(id): Id,
    ApiQuery(q): ApiQuery<LangQuery>,
) -> ApiResult<Response> {
    let l = lang(&q)?;
    let inv = s.app.backoffice().invoice(&a, InvoiceId::new(id)).await?;
    let d = document::layout(&inv, &s.config.backoffice, l).map_err(doc_problem)?;
    let html = format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{}</title></head><body>{}</body></html>",
        if l == Lang::Ja { "ja" } else { "en" },
        inv.number_text(),
        document::html(&d)
    );
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response())
}

/// An invoice as a PDF document
#[utoipa::path(get, path = "/backoffice/invoices/{id}/pdf", tag = "back office", params(("id" = i64, Path, description = "the invoice"), LangQuery), responses((status = 200, description = "the invoice document", content_type = "application/pdf", body = String)))]
pub(super) async fn invoice_pdf(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(id): Id,
    ApiQuery(q): ApiQuery<LangQuery>,
) -> ApiResult<Response> {
    let l = lang(&q)?;
    let inv = s.app.backoffice().invoice(&a, InvoiceId::new(id)).await?;
    let d = document::layout(&inv, &s.config.backoffice, l).map_err(doc_problem)?;
    let font_cfg = s.config.backoffice.pdf_font.clone();
    let bytes = tokio::task::spawn_blocking(move || {
        let (path, data) = document::load_font(&font_cfg)?;
        document::pdf(&d, &path, &data)
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "invoice document");
        Problem::says(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal Server Error",
            crate::app::ApiProblem::Internal,
        )
    })?
    .map_err(doc_problem)?;
    let name = format!(
        "attachment; filename=\"{}-{}.pdf\"",
        inv.number_text(),
        if l == Lang::Ja { "ja" } else { "en" }
    );
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (header::CONTENT_DISPOSITION, name),
        ],
        bytes,
    )
        .into_response())
}

/// Record a payment of an invoice
#[utoipa::path(post, path = "/backoffice/payments", tag = "back office", request_body = wire::NewPayment, responses((status = 201, description = "the payment", body = wire::Payment)))]
pub(super) async fn record_payment(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(r): ApiJson<wire::NewPayment>,
) -> ApiResult<Response> {
    let p = s
        .app
        .backoffice()
        .record_payment(
            &a,
            &s.config.backoffice,
            InvoiceId::new(r.invoice_id),
            r.amount,
            &r.date,
            s.now_ms(),
        )
        .await?;
    Ok(created(payment_wire(p)))
}

/// Notices sent to customers
#[utoipa::path(get, path = "/backoffice/notices", tag = "back office", responses((status = 200, description = "the notices", body = Vec<wire::Notice>)))]
pub(super) async fn notices(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
) -> ApiResult<Json<Vec<wire::Notice>>> {
    let v = s.app.backoffice().notices(&a).await?;
    Ok(Json(v.into_iter().map(notice_wire).collect()))
}

/// Send a notice to customers by e-mail
#[utoipa::path(post, path = "/backoffice/notices", tag = "back office", request_body = wire::NewNotice, responses((status = 201, description = "the notice and its recipients", body = wire::Notice)))]
pub(super) async fn send_notice(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(r): ApiJson<wire::NewNotice>,
) -> ApiResult<Response> {
    let n = s
        .app
        .backoffice()
        .send_notice(
            &a,
            &s.config.backoffice,
            &r.kind,
            &r.subject,
            &r.body,
            &r.effective_date,
            &r.customers,
            s.now_ms(),
        )
        .await?;
    Ok(created(notice_wire(n)))
}
