//! The back office end to end through the REST API, each scenario on SQLite and a real
//! PostgreSQL: applications (Art. 7–9), contracts, cancellation (Art. 11-1),
//! termination (Art. 12), the monthly invoice run (Art. 17), payments and late
//! interest (Art. 17-4), the liability cap (Art. 18-5), notices by e-mail through a
//! real SMTP server (Art. 3-2, 16-2), invoices as HTML and PDF (checked with
//! poppler's pdftotext and pdfinfo), isolation between customers, and the audit log.

// Scenarios that need an SMTP server, poppler or PostgreSQL exist only with the feature
// `external`; without it, what only they use is unused.
#![cfg_attr(not(feature = "external"), allow(dead_code, unused_imports))]

mod support;

use std::path::Path;
use std::process::Command;

use mamori_api::billing as wire;
use mamori_center::domain::InvoiceId;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Backend, Center, ok, problem};

both_backends!(
    art_7_8_9_applications_accept_refuse_change,
    #[cfg(feature = "external")] // poppler checks the PDF
    art_17_invoice_run_payments_interest_cap_and_documents,
    art_11_12_cancellation_and_termination,
    officers_see_only_their_own_contracts_and_invoices,
    #[cfg(feature = "external")] // the SMTP server
    art_3_2_notices_are_sent_by_smtp_and_kept,
    panel_shows_own_contracts_and_the_earliest_end_before_cancelling,
    #[cfg(feature = "external")] // the SMTP server
    panel_forms_art_7_8_9_12_16_17_18,
    art_17_settings_issue_due_day_and_taxability,
    art_17_one_invoice_per_customer,
    panel_nav_shows_each_role_only_what_it_can_open,
    art_17_4_a_late_payment_of_fee_and_earlier_interest_bears_interest_on_the_whole_fee,
    an_impossible_amount_in_a_row_is_an_error_naming_its_invoice_or_payment,
    an_overpaid_invoice_shows_its_credit_with_its_sign,
);

#[cfg(feature = "external")]
mod two_centers_on_postgres {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn invoice_numbers_have_no_gaps() {
        super::invoice_numbers_have_no_gaps_with_two_centers().await
    }
}

/// The instant every back-office center of these tests stands at (10:00 in Japan on
/// 2026-12-07): the tests do not depend on the day they run.
const NOW: &str = "2026-12-07T01:00:00Z";

/// A clock fixed at [`NOW`].
fn clock() -> mamori_center::clock::Clock {
    let now: jiff::Timestamp = NOW.parse().unwrap();
    mamori_center::clock::Clock::fixed(now.as_millisecond())
}

/// Today in Japan on the centers' clock.
fn today() -> jiff::civil::Date {
    let now: jiff::Timestamp = NOW.parse().unwrap();
    jiff::tz::Offset::constant(9).to_datetime(now).date()
}

#[cfg(feature = "external")]
use support::smtp::{Smtp, body_of};

struct Office {
    c: Center,
    admin: String,
    bo: String,
}

async fn office(backend: Backend, smtp: Option<u16>) -> Office {
    let c = Center::start_with_clock(backend, clock(), |cfg| {
        if let Some(p) = smtp {
            cfg.backoffice.smtp = format!("127.0.0.1:{p}");
        }
    })
    .await;
    let admin = c.admin().await;
    let bo = c.provider_user(&admin, "back_office").await;
    Office { c, admin, bo }
}

impl Office {
    async fn contract(&self, customer: i64, start: &str, fee: i64) -> wire::Contract {
        let a: wire::Application = ok(
            StatusCode::CREATED,
            self.c
                .post(
                    "/api/v1/backoffice/applications",
                    &self.bo,
                    json!({"customer_id": customer, "line_product": "fiber-business", "line_id": format!("L-{customer}-{start}"), "monthly_fee": fee, "start": start}),
                )
                .await,
        );
        let v: wire::Accepted = ok(
            StatusCode::CREATED,
            self.c
                .post(
                    &format!("/api/v1/backoffice/applications/{}/accept", a.id),
                    &self.bo,
                    json!({}),
                )
                .await,
        );
        v.contract
    }

    async fn run(&self, month: &str) -> wire::InvoiceRunReport {
        ok(
            StatusCode::OK,
            self.c
                .post(
                    "/api/v1/backoffice/invoice-runs",
                    &self.bo,
                    json!({"month": month}),
                )
                .await,
        )
    }

    async fn invoices_of(&self, contract: &wire::Contract) -> Vec<wire::Invoice> {
        ok(
            StatusCode::OK,
            self.c
                .get(
                    &format!("/api/v1/backoffice/invoices?contract_id={}", contract.id),
                    &self.bo,
                )
                .await,
        )
    }

    async fn invoice(&self, id: i64) -> wire::Invoice {
        ok(
            StatusCode::OK,
            self.c
                .get(&format!("/api/v1/backoffice/invoices/{id}"), &self.bo)
                .await,
        )
    }

    async fn actions(&self) -> Vec<String> {
        self.c
            .store()
            .audit_entries(mamori_center::domain::Scope::All, None, 100_000)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect()
    }
}

async fn art_7_8_9_applications_accept_refuse_change(backend: Backend) {
    let o = office(backend, None).await;
    let c = &o.c;
    let (alpha, officer, _) = c.customer(&o.admin, "Alpha").await;
    let base = json!({"customer_id": alpha, "line_product": "fiber-business", "line_id": "L-1", "monthly_fee": 30000, "start": "2026-04-01"});

    // Art. 7: only an eligible access line of the provider.
    let mut bad = base.clone();
    bad["line_product"] = json!("someone-elses-dsl");
    let p = problem(
        StatusCode::UNPROCESSABLE_ENTITY,
        c.post("/api/v1/backoffice/applications", &o.bo, bad).await,
    );
    assert!(p.detail.contains("Art. 7"), "{p:?}");
    assert_eq!(p.field.as_deref(), Some("line_product"));
    for (field, value) in [
        ("monthly_fee", json!(-5)),
        ("start", json!("2026-02-30")),
        ("line_id", json!("")),
    ] {
        let mut bad = base.clone();
        bad[field] = value;
        let p = problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            c.post("/api/v1/backoffice/applications", &o.bo, bad).await,
        );
        assert!(p.detail.starts_with(field), "{p:?}");
        assert_eq!(p.field.as_deref(), Some(field));
    }
    // Only back-office staff file applications.
    let (s, _) = c
        .post("/api/v1/backoffice/applications", &officer, base.clone())
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let first: wire::Application = ok(
        StatusCode::CREATED,
        c.post("/api/v1/backoffice/applications", &o.bo, base.clone())
            .await,
    );
    assert_eq!(first.state, "pending");

    // Art. 9: a change is a new application; the earlier one is superseded.
    let mut changed = base.clone();
    changed["monthly_fee"] = json!(32000);
    changed["replaces"] = json!(first.id);
    let second: wire::Application = ok(
        StatusCode::CREATED,
        c.post("/api/v1/backoffice/applications", &o.bo, changed)
            .await,
    );
    assert_eq!(second.replaces, Some(first.id));
    let v: wire::Application = ok(
        StatusCode::OK,
        c.get(
            &format!("/api/v1/backoffice/applications/{}", first.id),
            &o.bo,
        )
        .await,
    );
    assert_eq!(v.state, "superseded");
    let (s, _) = c
        .post(
            &format!("/api/v1/backoffice/applications/{}/accept", first.id),
            &o.bo,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);

    // Art. 8-2: a refusal needs one of the listed reasons.
    let third: wire::Application = ok(
        StatusCode::CREATED,
        c.post("/api/v1/backoffice/applications", &o.bo, base.clone())
            .await,
    );
    let refuse = format!("/api/v1/backoffice/applications/{}/refuse", third.id);
    let p = problem(
        StatusCode::UNPROCESSABLE_ENTITY,
        c.post(&refuse, &o.bo, json!({"reason": "we do not like them"}))
            .await,
    );
    assert!(p.detail.contains("Art. 8-2"), "{p:?}");
    let v: wire::Application = ok(
        StatusCode::OK,
        c.post(&refuse, &o.bo, json!({"reason": "risk_of_non_payment"}))
            .await,
    );
    assert_eq!(v.state, "refused");
    assert_eq!(v.refusal_reason.as_deref(), Some("risk_of_non_payment"));

    // Art. 8-1: acceptance creates the contract and notifies the officer.
    let v: wire::Accepted = ok(
        StatusCode::CREATED,
        c.post(
            &format!("/api/v1/backoffice/applications/{}/accept", second.id),
            &o.bo,
            json!({}),
        )
        .await,
    );
    assert_eq!(v.contract.start, "2026-04-01");
    assert_eq!(v.contract.monthly_fee, 32000);
    // Art. 10-1: the minimum term ends the day before the same date a year later.
    assert_eq!(v.contract.minimum_term_end, "2027-03-31");
    assert_eq!(v.contract.status, "running");
    assert_eq!(v.notice.kind, "application_accepted");
    assert_eq!(v.notice.recipients[0].email, "officer@alpha.example.jp");
    let (s, _) = c
        .post(
            &format!("/api/v1/backoffice/applications/{}/accept", second.id),
            &o.bo,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "accepting twice");

    let actions = o.actions().await;
    for a in [
        "application.create",
        "application.change",
        "application.refuse",
        "application.accept",
        "notice.create",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} missing in {actions:?}");
    }
    o.c.stop().await;
}

async fn art_17_invoice_run_payments_interest_cap_and_documents(backend: Backend) {
    let o = office(backend, None).await;
    let c = &o.c;
    let (alpha, officer_a, _) = c.customer(&o.admin, "Alpha").await;
    let (beta, _, _) = c.customer(&o.admin, "Beta").await;
    let ka = o.contract(alpha, "2026-04-01", 30000).await;
    // Art. 17-2: started on the 10th, April is prorated: floor(30000 × 21 / 30).
    let kb = o.contract(beta, "2026-04-10", 30000).await;

    // A month that is not over yet cannot be run.
    let this_month = today().strftime("%Y-%m").to_string();
    let (s, v) = c
        .post(
            "/api/v1/backoffice/invoice-runs",
            &o.bo,
            json!({"month": this_month}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, _) = c
        .post(
            "/api/v1/backoffice/invoice-runs",
            &officer_a,
            json!({"month": "2026-04"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let r = o.run("2026-04").await;
    assert_eq!(r.issued, 2, "{r:?}");
    assert_eq!((r.first_number, r.last_number), (Some(1), Some(2)));
    // Idempotent: running it again issues nothing.
    let r = o.run("2026-04").await;
    assert_eq!(r.issued, 0, "{r:?}");
    let r = o.run("2026-05").await;
    assert_eq!((r.first_number, r.last_number), (Some(3), Some(4)));

    let ia = o.invoices_of(&ka).await;
    let april_a = ia.iter().find(|i| i.month == "2026-04").unwrap();
    let april_a = o.invoice(april_a.id).await;
    assert_eq!(april_a.issue_date, "2026-05-01");
    assert_eq!(april_a.due_date, "2026-05-31");
    assert_eq!(april_a.taxable_subtotal, 30000);
    assert_eq!(april_a.tax, 3000);
    assert_eq!(april_a.total, 33000);
    assert_eq!(april_a.lines[0].kind, "monthly_fee");
    assert_eq!(april_a.lines[0].rate_basis_points, Some(1000));
    let ib = o.invoices_of(&kb).await;
    let april_b = ib.iter().find(|i| i.month == "2026-04").unwrap();
    assert_eq!(april_b.taxable_subtotal, 21000, "Art. 17-2 proration");
    assert_eq!(april_b.tax, 2100);

    // Art. 17-4: paid on 06-11, 11 days after the due date 05-31: interest for 10
    // days, floor(33000 × 0.145 × 10 / 365) = 131, billed on June's invoice.
    let p = o.pay(&april_a, 33000, "2026-06-11").await;
    assert_eq!(p.interest, 131, "{p:?}");
    // Overpaying is refused.
    let (s, v) = c
        .post(
            "/api/v1/backoffice/payments",
            &o.bo,
            json!({"invoice_id": april_a.id, "amount": 1, "date": "2026-06-12"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    // Beta pays within the grace days: no interest.
    let p = o.pay(april_b, 23100, "2026-06-10").await;
    assert_eq!(p.interest, 0);

    o.run("2026-06").await;
    let ia = o.invoices_of(&ka).await;
    let june = ia.iter().find(|i| i.month == "2026-06").unwrap();
    let june = o.invoice(june.id).await;
    let interest: Vec<&wire::InvoiceLine> = june
        .lines
        .iter()
        .filter(|l| l.kind == "late_interest")
        .collect();
    assert_eq!(interest.len(), 1, "{june:?}");
    assert_eq!(interest[0].amount, 131);
    assert!(!interest[0].taxable, "interest bears no tax");
    assert_eq!(june.tax, 3000, "tax on the fee only");
    assert_eq!(june.total, 33131);
    // Billed once only.
    o.run("2026-07").await;
    let ia = o.invoices_of(&ka).await;
    let july = ia.iter().find(|i| i.month == "2026-07").unwrap();
    assert_eq!(july.total, 33000);

    // The overdue list: May's invoices are unpaid after 06-30.
    let od: Vec<wire::Invoice> = ok(
        StatusCode::OK,
        c.get("/api/v1/backoffice/invoices/overdue", &o.bo).await,
    );
    let months: Vec<(i64, String)> = od
        .iter()
        .map(|i| (i.contract_id, i.month.clone()))
        .collect();
    assert!(months.contains(&(ka.id, "2026-05".into())), "{od:?}");
    assert!(
        !months.iter().any(|(_, m)| m == "2026-04"),
        "April is paid: {od:?}"
    );
    // The officer sees only their own customer's overdue invoices.
    let od_a: Vec<wire::Invoice> = ok(
        StatusCode::OK,
        c.get("/api/v1/backoffice/invoices/overdue", &officer_a)
            .await,
    );
    assert!(od_a.iter().all(|i| i.customer_id == alpha), "{od_a:?}");

    // Art. 18-5: the cap counts the payments of [cause − 12 months, cause).
    let cap: wire::LiabilityCap = ok(
        StatusCode::OK,
        c.get(
            &format!(
                "/api/v1/backoffice/contracts/{}/liability-cap?cause_date=2026-06-11",
                ka.id
            ),
            &o.bo,
        )
        .await,
    );
    assert_eq!(
        cap.cap, 0,
        "a payment on the cause date is not counted: {cap:?}"
    );
    let cap: wire::LiabilityCap = ok(
        StatusCode::OK,
        c.get(
            &format!(
                "/api/v1/backoffice/contracts/{}/liability-cap?cause_date=2026-06-12",
                ka.id
            ),
            &o.bo,
        )
        .await,
    );
    assert_eq!(cap.cap, 33000, "{cap:?}");
    assert_eq!(cap.from, "2025-06-12");
    assert_eq!(cap.payments.len(), 1);
    let (s, _) = c
        .get(
            &format!(
                "/api/v1/backoffice/contracts/{}/liability-cap?cause_date=june",
                ka.id
            ),
            &o.bo,
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // The qualified invoice as HTML and PDF, in Japanese and English.
    let id = &april_a.id;
    let html = text(
        c,
        &format!("/api/v1/backoffice/invoices/{id}/html?lang=ja"),
        &officer_a,
    )
    .await;
    for needle in [
        "適格請求書",
        "INV-00000001",
        "T7123456789012",
        "Alpha 御中",
        "2026年5月1日",
        "¥30,000",
        "10%対象",
        "¥3,000",
        "¥33,000",
    ] {
        assert!(html.contains(needle), "{needle} not in {html}");
    }
    let html = text(
        c,
        &format!("/api/v1/backoffice/invoices/{id}/html?lang=en"),
        &officer_a,
    )
    .await;
    assert!(
        html.contains("Qualified Invoice") && html.contains("JPY 33,000"),
        "{html}"
    );
    for (lang, needles) in [
        (
            "ja",
            &[
                "適格請求書",
                "INV-00000001",
                "T7123456789012",
                "Alpha 御中",
                "消費税",
                "¥33,000",
            ][..],
        ),
        (
            "en",
            &[
                "Qualified Invoice",
                "INV-00000001",
                "T7123456789012",
                "To: Alpha",
                "JPY 33,000",
            ][..],
        ),
    ] {
        let resp = c
            .client
            .get(format!(
                "{}/api/v1/backoffice/invoices/{id}/pdf?lang={lang}",
                c.base
            ))
            .bearer_auth(&officer_a)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()["content-type"], "application/pdf");
        let bytes = resp.bytes().await.unwrap();
        assert!(bytes.starts_with(b"%PDF-"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("invoice.pdf");
        std::fs::write(&path, &bytes).unwrap();
        let info = pdf_tool("pdfinfo", &path);
        assert!(
            info.lines()
                .any(|l| l.starts_with("Pages:") && l["Pages:".len()..].trim() == "1"),
            "{info}"
        );
        let txt = pdf_tool("pdftotext", &path);
        for n in needles {
            assert!(txt.contains(n), "{lang}: {n:?} not in the PDF text:\n{txt}");
        }
        assert!(
            bytes.len() < 400_000,
            "the font is subset: {} bytes",
            bytes.len()
        );
    }

    let actions = o.actions().await;
    for a in ["invoice.run", "payment.record", "contract.liability_cap"] {
        assert!(actions.iter().any(|x| x == a), "{a} missing");
    }
    o.c.stop().await;
}

async fn text(c: &Center, path: &str, token: &str) -> String {
    let resp = c
        .client
        .get(format!("{}{path}", c.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "{path}");
    resp.text().await.unwrap()
}

/// Runs a poppler tool on a PDF; it must succeed without complaint.
fn pdf_tool(tool: &str, path: &Path) -> String {
    let mut cmd = Command::new(tool);
    cmd.arg(path);
    if tool == "pdftotext" {
        cmd.arg("-");
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{tool} (Debian poppler-utils): {e}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{tool} failed: {err}");
    assert!(err.trim().is_empty(), "{tool} complains: {err}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn art_11_12_cancellation_and_termination(backend: Backend) {
    let o = office(backend, None).await;
    let c = &o.c;
    let (alpha, officer_a, _) = c.customer(&o.admin, "Alpha").await;
    let (beta, _, _) = c.customer(&o.admin, "Beta").await;
    let ka = o.contract(alpha, "2026-04-01", 30000).await;
    let kb = o.contract(beta, "2026-04-01", 30000).await;
    let today = today();
    let earliest = today.checked_add(jiff::Span::new().days(30)).unwrap();
    let too_early = today.checked_add(jiff::Span::new().days(3)).unwrap();

    // Art. 11-1: the officer sees the earliest allowed end date before confirming.
    let p: wire::CancellationPreview = ok(
        StatusCode::OK,
        c.post(
            &format!(
                "/api/v1/backoffice/contracts/{}/cancellation-preview",
                ka.id
            ),
            &officer_a,
            json!({"end": too_early.to_string()}),
        )
        .await,
    );
    assert_eq!(p.earliest_end, earliest.to_string());
    assert_eq!(p.end, earliest.to_string());
    assert!(p.moved);
    // Art. 10-2: ending before 2027-03-31 owes the rest of the term.
    assert!(p.early_termination > 0, "{p:?}");
    let k: wire::Contract = ok(
        StatusCode::OK,
        c.get(
            &format!("/api/v1/backoffice/contracts/{}", ka.id),
            &officer_a,
        )
        .await,
    );
    assert_eq!(k.status, "running", "a preview records nothing");

    let v: wire::Cancelled = ok(
        StatusCode::OK,
        c.post(
            &format!("/api/v1/backoffice/contracts/{}/cancel", ka.id),
            &officer_a,
            json!({"end": too_early.to_string()}),
        )
        .await,
    );
    assert_eq!(v.contract.status, "cancelled");
    assert_eq!(v.contract.end, Some(earliest.to_string()));
    assert_eq!(v.contract.requested_end, Some(too_early.to_string()));
    let (s, _) = c
        .post(
            &format!("/api/v1/backoffice/contracts/{}/cancel", ka.id),
            &officer_a,
            json!({"end": earliest.to_string()}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "cancelled twice");
    // Another customer's officer cannot cancel (nor see) it.
    let (s, _) = c
        .post(
            &format!("/api/v1/backoffice/contracts/{}/cancel", kb.id),
            &officer_a,
            json!({"end": earliest.to_string()}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Art. 12: termination by the provider. Unpaid invoices fall due at once.
    o.run("2026-04").await;
    o.run("2026-05").await;
    let term = format!("/api/v1/backoffice/contracts/{}/terminate", kb.id);
    let (s, v) = c
        .post(
            &term,
            &o.bo,
            json!({"reason": "non_payment", "end": "2026-06-15"}),
        )
        .await;
    let p = problem(StatusCode::UNPROCESSABLE_ENTITY, (s, v));
    assert!(p.detail.contains("Art. 12-2"), "Art. 12-2 notice: {p:?}");
    let (s, v) = c
        .post(
            &term,
            &o.bo,
            json!({"reason": "unpaid", "urgent": true, "end": "2026-06-15"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "Art. 12-1 reason: {v}");
    let (s, v) = c
        .post(
            &term,
            &o.bo,
            json!({"reason": "non_payment", "notice_date": "2026-06-20", "end": "2026-06-15"}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "notice after the end: {v}"
    );
    // Art. 12-2: a notice on the end date, or one not yet given, is no prior notice.
    let future = today.checked_add(jiff::Span::new().days(5)).unwrap();
    let later = today.checked_add(jiff::Span::new().days(40)).unwrap();
    for (notice, end) in [
        ("2026-06-15".to_string(), "2026-06-15".to_string()),
        (future.to_string(), later.to_string()),
    ] {
        let (s, v) = c
            .post(
                &term,
                &o.bo,
                json!({"reason": "non_payment", "notice_date": notice, "end": end}),
            )
            .await;
        assert_eq!(
            s,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Art. 12-2 {notice}: {v}"
        );
        let p = problem(StatusCode::UNPROCESSABLE_ENTITY, (s, v));
        assert_eq!(p.field.as_deref(), Some("notice_date"), "{p:?}");
    }
    let (s, _) = c
        .post(
            &term,
            &officer_a,
            json!({"reason": "non_payment", "urgent": true, "end": "2026-06-15"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let v: wire::Terminated = ok(
        StatusCode::OK,
        c.post(
            &term,
            &o.bo,
            json!({"reason": "non_payment", "notice_date": "2026-06-01", "end": "2026-06-15"}),
        )
        .await,
    );
    assert_eq!(v.contract.status, "terminated");
    assert_eq!(
        v.contract.termination_reason.as_deref(),
        Some("non_payment")
    );
    // May's invoice was due 06-30; Art. 12-3 moves it to the end date.
    assert_eq!(v.invoices_due_at_once, 1, "{v:?}");
    let inv = o.invoices_of(&kb).await;
    let may = inv.iter().find(|i| i.month == "2026-05").unwrap();
    assert_eq!(may.due_date, "2026-06-15");
    // June's (last) invoice: 15 days prorated, the Art. 10-2 lump sum, due at once.
    o.run("2026-06").await;
    let inv = o.invoices_of(&kb).await;
    let june = inv.iter().find(|i| i.month == "2026-06").unwrap();
    let june = o.invoice(june.id).await;
    assert_eq!(june.due_date, "2026-06-15", "{june:?}");
    assert_eq!(june.lines[0].amount, 15000);
    assert_eq!(june.lines[1].kind, "early_termination");
    assert!(!june.lines[1].taxable);
    // No invoice after the end (Alpha's contract runs on until its cancellation).
    assert_eq!(o.run("2026-07").await.issued, 1);
    assert!(
        !o.invoices_of(&kb)
            .await
            .iter()
            .any(|i| i.month == "2026-07")
    );

    let actions = o.actions().await;
    assert!(actions.iter().any(|a| a == "contract.cancel"));
    assert!(actions.iter().any(|a| a == "contract.terminate"));
    o.c.stop().await;
}

async fn officers_see_only_their_own_contracts_and_invoices(backend: Backend) {
    let o = office(backend, None).await;
    let c = &o.c;
    let (alpha, officer_a, _) = c.customer(&o.admin, "Alpha").await;
    let (beta, officer_b, _) = c.customer(&o.admin, "Beta").await;
    let ka = o.contract(alpha, "2026-04-01", 30000).await;
    let kb = o.contract(beta, "2026-04-01", 50000).await;
    o.run("2026-04").await;
    let inv_b = &o.invoices_of(&kb).await[0];
    let inv_a = &o.invoices_of(&ka).await[0];
    let staff_a = c.staff(&officer_a, "alice").await;

    // Their own: readable by the officer and staff.
    for t in [&officer_a, &staff_a] {
        let (s, v) = c
            .get(&format!("/api/v1/backoffice/contracts/{}", ka.id), t)
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (s, _) = c
            .get(&format!("/api/v1/backoffice/invoices/{}", inv_a.id), t)
            .await;
        assert_eq!(s, StatusCode::OK);
        let (_, list) = c.get("/api/v1/backoffice/contracts", t).await;
        assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
        let (_, list) = c.get("/api/v1/backoffice/invoices", t).await;
        assert!(
            list.as_array()
                .unwrap()
                .iter()
                .all(|i| i["customer_id"] == alpha)
        );
    }
    // Another customer's: 404 exactly like a missing object.
    let (_, missing) = c
        .get("/api/v1/backoffice/contracts/999999", &officer_a)
        .await;
    for path in [
        format!("/api/v1/backoffice/contracts/{}", kb.id),
        format!("/api/v1/backoffice/contracts/{}/payments", kb.id),
        format!("/api/v1/backoffice/invoices/{}", inv_b.id),
        format!("/api/v1/backoffice/invoices/{}/html", inv_b.id),
        format!("/api/v1/backoffice/invoices/{}/pdf", inv_b.id),
        "/api/v1/backoffice/invoices/999999/pdf".into(),
        "/api/v1/backoffice/contracts/abc".into(),
    ] {
        for t in [&officer_a, &staff_a] {
            let (s, v) = c.get(&path, t).await;
            assert_eq!(s, StatusCode::NOT_FOUND, "{path}: {v}");
            assert_eq!(
                v, missing,
                "{path}: must not differ from a missing object's"
            );
        }
    }
    let (_, list) = c
        .get(
            &format!("/api/v1/backoffice/invoices?contract_id={}", kb.id),
            &officer_a,
        )
        .await;
    assert_eq!(list, json!([]));
    // Back-office actions are staff-only.
    for (path, body) in [
        (
            "/api/v1/backoffice/payments".to_string(),
            json!({"invoice_id": inv_a.id, "amount": 1, "date": "2026-05-02"}),
        ),
        (
            "/api/v1/backoffice/notices".to_string(),
            json!({"kind": "terms_change", "subject": "x", "body": "y", "effective_date": "2027-01-01", "customers": [alpha]}),
        ),
    ] {
        let (s, _) = c.post(&path, &officer_b, body).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}");
    }
    let (s, _) = c.get("/api/v1/backoffice/notices", &officer_a).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Read-only on their own contract too: the officer and staff of Alpha cannot
    // terminate it (Art. 12), run invoices, lend or take back units, or compute the
    // Art. 18-5 cap; the contract stays as it was.
    let (s, app) = c
        .post(
            "/api/v1/backoffice/applications",
            &o.bo,
            json!({"customer_id": alpha, "line_product": "fiber-business", "line_id": "L-OWN", "monthly_fee": 1000, "start": "2026-04-01"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{app}");
    let today = today().to_string();
    for t in [&officer_a, &staff_a] {
        for (path, body) in [
            (
                format!("/api/v1/backoffice/contracts/{}/terminate", ka.id),
                json!({"reason": "non_payment", "urgent": true, "end": today}),
            ),
            (
                "/api/v1/backoffice/invoice-runs".to_string(),
                json!({"month": "2026-05"}),
            ),
            (
                format!("/api/v1/backoffice/contracts/{}/equipment", ka.id),
                json!({"equipment_id": 1}),
            ),
            (
                "/api/v1/backoffice/equipment-returns".to_string(),
                json!({}),
            ),
            (
                format!("/api/v1/backoffice/applications/{}/accept", app["id"]),
                json!({}),
            ),
        ] {
            let (s, v) = c.post(&path, t, body).await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{path}: {v}");
        }
        let (s, _) = c
            .get(
                &format!(
                    "/api/v1/backoffice/contracts/{}/liability-cap?cause_date=2026-06-01",
                    ka.id
                ),
                t,
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        // The contract page shows no staff forms to them.
        let (s, html) = panel(
            c,
            Method::GET,
            &format!("/backoffice/contracts/{}", ka.id),
            t,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{html}");
        for form in [
            "terminate_form",
            "lend_form",
            "cap_submit",
            "id=\"payments\"",
        ] {
            assert!(!html.contains(form), "{form} shown to a customer: {html}");
        }
    }
    let (_, k) = c
        .get(&format!("/api/v1/backoffice/contracts/{}", ka.id), &o.bo)
        .await;
    assert_eq!(k["status"], "running", "{k}");
    assert_eq!(o.run("2026-05").await.issued, 2, "no run happened before");
    o.c.stop().await;
}

#[cfg(feature = "external")]
async fn art_3_2_notices_are_sent_by_smtp_and_kept(backend: Backend) {
    let smtp = tokio::task::spawn_blocking(Smtp::start).await.unwrap();
    let o = office(backend, Some(smtp.port)).await;
    let c = &o.c;
    let (alpha, _, _) = c.customer(&o.admin, "Alpha").await;
    let (beta, _, _) = c.customer(&o.admin, "Beta").await;
    let (gamma, _, _) = c.customer(&o.admin, "Gamma").await;

    // Acceptance of an application notifies the officer by e-mail (Art. 8-1).
    o.contract(alpha, "2026-04-01", 30000).await;
    let msgs = smtp.messages();
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    assert!(
        msgs[0].starts_with("X-Rcpt: officer@alpha.example.jp"),
        "{}",
        msgs[0]
    );
    assert!(body_of(&msgs[0]).contains("承諾"));

    let (s, v) = c
        .post(
            "/api/v1/backoffice/notices",
            &o.bo,
            json!({"kind": "whatever", "subject": "x", "body": "y", "effective_date": "2027-04-01", "customers": [alpha]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = c
        .post(
            "/api/v1/backoffice/notices",
            &o.bo,
            json!({"kind": "terms_change", "subject": "x", "body": "y", "effective_date": "2027-04-01", "customers": [999999]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

    // Art. 3-2: a change of the terms, to Alpha and Beta (not Gamma).
    let n: wire::Notice = ok(
        StatusCode::CREATED,
        c.post(
            "/api/v1/backoffice/notices",
            &o.bo,
            json!({
                "kind": "terms_change",
                "subject": "利用規約の変更のお知らせ / Change of the terms",
                "body": "第17条の料金を改定します。\nThe fees of Art. 17 change.",
                "effective_date": "2027-04-01",
                "customers": [alpha, beta]
            }),
        )
        .await,
    );
    let rec = &n.recipients;
    assert_eq!(rec.len(), 2);
    assert!(
        rec.iter().all(|r| r.sent_at.is_some() && r.error.is_none()),
        "{n:?}"
    );
    let msgs = smtp.messages();
    assert_eq!(msgs.len(), 3, "{msgs:?}");
    let mut to: Vec<&str> = msgs[1..]
        .iter()
        .map(|m| m.lines().next().unwrap().trim_start_matches("X-Rcpt: "))
        .collect();
    to.sort();
    assert_eq!(to, ["officer@alpha.example.jp", "officer@beta.example.jp"]);
    let body = body_of(&msgs[1]);
    assert!(body.contains("第17条の料金を改定します。"), "{body}");
    assert!(body.contains("2027-04-01"), "the effective date: {body}");
    assert!(msgs[1].contains("Subject: =?UTF-8?B?"), "{}", msgs[1]);
    assert!(!msgs.iter().any(|m| m.contains("gamma")));
    let _ = gamma;

    // Kept: every notice with its recipients and time of sending.
    let list: Vec<wire::Notice> = ok(
        StatusCode::OK,
        c.get("/api/v1/backoffice/notices", &o.bo).await,
    );
    let kept = list.iter().find(|x| x.id == n.id).unwrap();
    assert_eq!(kept.effective_date, "2027-04-01");
    assert_eq!(kept.recipients.len(), 2);
    let actions = o.actions().await;
    assert_eq!(actions.iter().filter(|a| *a == "notice.send").count(), 3);
    o.c.stop().await;
}

/// Two center processes on one PostgreSQL database run invoice runs at the same
/// time: the numbers issued are 1..N without gaps or duplicates, and every contract
/// has one invoice per month.
async fn invoice_numbers_have_no_gaps_with_two_centers() {
    let o = office(Backend::Postgres, None).await;
    let url = o.c.pg.as_ref().unwrap().url();
    let dir = tempfile::tempdir().unwrap();
    o.c.share_secret_key(dir.path());
    let second = mamori_center::start_with_clock(
        mamori_center::config::Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().to_path_buf(),
            database_url: url,
            log: "warn".into(),
            agent_listen: String::new(),
            ..Default::default()
        },
        o.c.clock.clone(),
    )
    .await
    .unwrap();
    let base2 = format!("http://{}", second.addr);
    let (alpha, _, _) = o.c.customer(&o.admin, "Alpha").await;
    let (beta, _, _) = o.c.customer(&o.admin, "Beta").await;
    for k in 0..6 {
        o.contract(
            if k % 2 == 0 { alpha } else { beta },
            "2026-04-01",
            10000 + k,
        )
        .await;
    }
    let months = ["2026-04", "2026-05", "2026-06", "2026-07"];
    let mut tasks = Vec::new();
    for (i, m) in months.iter().chain(months.iter()).enumerate() {
        let base = if i % 2 == 0 {
            o.c.base.clone()
        } else {
            base2.clone()
        };
        let token = o.bo.clone();
        let client = o.c.client.clone();
        let m = m.to_string();
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(format!("{base}/api/v1/backoffice/invoice-runs"))
                .bearer_auth(token)
                .json(&json!({"month": m}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            r.json::<Value>().await.unwrap()
        }));
    }
    let mut issued = 0;
    for t in tasks {
        issued += t.await.unwrap()["issued"].as_u64().unwrap();
    }
    assert_eq!(issued, 6 * 4, "each run's month once per contract");
    let (_, all) = o.c.get("/api/v1/backoffice/invoices", &o.bo).await;
    let mut numbers: Vec<i64> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["number"].as_i64().unwrap())
        .collect();
    numbers.sort();
    assert_eq!(numbers, (1..=24).collect::<Vec<_>>());
    second.stop().await.unwrap();
    o.c.stop().await;
}

/// A panel page as the holder of a session token (the `mamori_session` cookie).
async fn panel(
    c: &Center,
    method: reqwest::Method,
    path: &str,
    token: &str,
    form: Option<&[(&str, String)]>,
) -> (StatusCode, String) {
    let mut rb = c
        .client
        .request(method, format!("{}{path}", c.base))
        .header("cookie", format!("mamori_session={token}"));
    if let Some(f) = form {
        rb = rb.form(f);
    }
    let r = rb.send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

fn csrf_of(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token");
    let rest = &html[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

async fn panel_shows_own_contracts_and_the_earliest_end_before_cancelling(backend: Backend) {
    let o = office(backend, None).await;
    let c = &o.c;
    let (alpha, officer_a, _) = c.customer(&o.admin, "Alpha").await;
    let (beta, _, _) = c.customer(&o.admin, "Beta").await;
    let ka = o.contract(alpha, "2026-04-01", 30000).await;
    let kb = o.contract(beta, "2026-04-01", 50000).await;

    // Back-office staff run the month from the panel.
    let (s, home) = panel(c, Method::GET, "/backoffice", &o.bo, None).await;
    assert_eq!(s, StatusCode::OK);
    let csrf = csrf_of(&home);
    let (s, v) = panel(
        c,
        Method::POST,
        "/backoffice/invoice-run",
        &o.bo,
        Some(&[("csrf", "bad".into()), ("month", "2026-04".into())]),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, v) = panel(
        c,
        Method::POST,
        "/backoffice/invoice-run",
        &o.bo,
        Some(&[("csrf", csrf), ("month", "2026-04".into())]),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v.contains("id=\"run_result\">2026-04 発行件数: 2"), "{v}");

    // The officer sees their own contract and invoice, in Japanese.
    let (s, home) = panel(c, Method::GET, "/backoffice", &officer_a, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        home.contains(&format!("/backoffice/contracts/{}\"", ka.id)),
        "{home}"
    );
    assert!(
        !home.contains(&format!("/backoffice/contracts/{}\"", kb.id)),
        "{home}"
    );
    assert!(
        home.contains("2027年3月31日"),
        "minimum term end shown: {home}"
    );
    assert!(!home.contains("id=\"run\""), "no invoice run for officers");
    let inv_a = &o.invoices_of(&ka).await[0];
    let inv_b = &o.invoices_of(&kb).await[0];
    let (s, page) = panel(
        c,
        Method::GET,
        &format!("/backoffice/invoices/{}", inv_a.id),
        &officer_a,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains("適格請求書") && page.contains("¥33,000"),
        "{page}"
    );
    for path in [
        format!("/backoffice/contracts/{}", kb.id),
        format!("/backoffice/invoices/{}", inv_b.id),
        format!("/backoffice/invoices/{}/pdf", inv_b.id),
        "/backoffice/invoices/999999".to_string(),
    ] {
        let (s, _) = panel(c, Method::GET, &path, &officer_a, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
    }

    // Art. 11-1: the earliest allowed end date is shown before confirming.
    let (_, page) = panel(
        c,
        Method::GET,
        &format!("/backoffice/contracts/{}", ka.id),
        &officer_a,
        None,
    )
    .await;
    let csrf = csrf_of(&page);
    let too_early = today().checked_add(jiff::Span::new().days(2)).unwrap();
    let earliest = today().checked_add(jiff::Span::new().days(30)).unwrap();
    let path = format!("/backoffice/contracts/{}/cancel", ka.id);
    let (s, preview) = panel(
        c,
        Method::POST,
        &path,
        &officer_a,
        Some(&[("csrf", csrf.clone()), ("end", too_early.to_string())]),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{preview}");
    let shown = mamori_billing::document::format_date(earliest, mamori_billing::document::Lang::Ja);
    assert!(
        preview.contains(&format!("id=\"earliest_end\">{shown}")),
        "{preview}"
    );
    assert!(preview.contains("id=\"moved\""), "{preview}");
    let (_, k) = c
        .get(
            &format!("/api/v1/backoffice/contracts/{}", ka.id),
            &officer_a,
        )
        .await;
    assert_eq!(k["status"], "running", "nothing recorded before confirming");
    let (s, _) = panel(
        c,
        Method::POST,
        &path,
        &officer_a,
        Some(&[
            ("csrf", csrf),
            ("end", earliest.to_string()),
            ("confirm", "yes".into()),
        ]),
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, k) = c
        .get(
            &format!("/api/v1/backoffice/contracts/{}", ka.id),
            &officer_a,
        )
        .await;
    assert_eq!(k["status"], "cancelled");
    assert_eq!(k["end"], earliest.to_string());
    o.c.stop().await;
}

/// A panel page as the holder of a session token, read in English.
async fn panel_en(
    c: &Center,
    path: &str,
    token: &str,
    form: &[(&str, String)],
) -> (StatusCode, String) {
    let r = c
        .client
        .post(format!("{}{path}", c.base))
        .header("cookie", format!("mamori_session={token}"))
        .header("accept-language", "en")
        .form(form)
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

/// Every back-office form of the panel, submitted as a person would, with its effect
/// checked through the API and the audit log: applications (Art. 7, a change per
/// Art. 9, acceptance per Art. 8-1 with the applicant notified, refusal with an Art.
/// 8-2 reason), payments (recorded and allocated to the invoice; late interest per
/// Art. 17-4), the liability cap (Art. 18-5), termination by the provider (Art. 12-1
/// reason, prior notice per Art. 12-2, debts due at once per Art. 12-3) and notices
/// (Art. 16-2: composed, sent by SMTP, listed with recipients and times).
#[cfg(feature = "external")]
async fn panel_forms_art_7_8_9_12_16_17_18(backend: Backend) {
    let smtp = Smtp::start();
    let o = office(backend, Some(smtp.port)).await;
    let c = &o.c;
    let (alpha, _officer_a, _) = c.customer(&o.admin, "Alpha").await;
    let (beta, _, _) = c.customer(&o.admin, "Beta").await;

    // Art. 7: a new application from the panel.
    let (s, page) = panel(c, Method::GET, "/backoffice/applications", &o.bo, None).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains("id=\"application_form\""), "{page}");
    let csrf = csrf_of(&page);
    let form = |customer: i64, fee: &str, line: &str| -> Vec<(&'static str, String)> {
        vec![
            ("csrf", csrf.clone()),
            ("customer_id", customer.to_string()),
            ("line_product", line.to_string()),
            ("line_id", format!("L-{customer}")),
            ("monthly_fee", fee.to_string()),
            ("start", "2026-04-01".into()),
            ("note", "".into()),
        ]
    };
    let mut bad = form(alpha, "30000", "fiber-business");
    bad[0].1 = "bad".into();
    let (s, v) = panel(
        c,
        Method::POST,
        "/backoffice/applications",
        &o.bo,
        Some(&bad),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, v) = panel(
        c,
        Method::POST,
        "/backoffice/applications",
        &o.bo,
        Some(&form(alpha, "30,000", "fiber-business")),
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{v}");
    // Validation errors in the reader's language.
    let (s, v) = panel(
        c,
        Method::POST,
        "/backoffice/applications",
        &o.bo,
        Some(&form(alpha, "-5", "fiber-business")),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.contains("月額料金が-5です"), "{v}");
    let (s, v) = panel_en(
        c,
        "/backoffice/applications",
        &o.bo,
        &form(alpha, "30000", "copper-home"),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.contains("not an eligible access line"), "{v}");
    let (_, apps) = c.get("/api/v1/backoffice/applications", &o.bo).await;
    let apps = apps.as_array().unwrap().clone();
    assert_eq!(apps.len(), 1, "{apps:?}");
    assert_eq!(apps[0]["monthly_fee"], 30000);
    assert_eq!(apps[0]["state"], "pending");
    let first = apps[0]["id"].as_i64().unwrap();

    // Art. 9: the change form starts from the application and replaces it.
    let (s, page) = panel(
        c,
        Method::GET,
        &format!("/backoffice/applications/{first}/change"),
        &o.bo,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains("value=\"30000\""), "{page}");
    let mut change = form(alpha, "35000", "fiber-business");
    change.push(("replaces", first.to_string()));
    let (s, v) = panel(
        c,
        Method::POST,
        "/backoffice/applications",
        &o.bo,
        Some(&change),
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{v}");
    let (_, a) = c
        .get(&format!("/api/v1/backoffice/applications/{first}"), &o.bo)
        .await;
    assert_eq!(a["state"], "superseded");
    let (_, apps) = c.get("/api/v1/backoffice/applications", &o.bo).await;
    let changed = apps
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["replaces"] == first)
        .unwrap()
        .clone();
    assert_eq!(changed["monthly_fee"], 35000);

    // Art. 8-2: refusal with a listed reason, shown with its article.
    let (s, v) = panel(
        c,
        Method::POST,
        "/backoffice/applications",
        &o.bo,
        Some(&form(beta, "20000", "fiber-business")),
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{v}");
    let (_, apps) = c.get("/api/v1/backoffice/applications", &o.bo).await;
    let beta_app = apps
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["customer_id"] == beta)
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let (s, v) = panel(
        c,
        Method::POST,
        &format!("/backoffice/applications/{beta_app}/refuse"),
        &o.bo,
        Some(&[
            ("csrf", csrf.clone()),
            ("reason", "technical_obstacle".into()),
        ]),
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{v}");
    let (_, a) = c
        .get(
            &format!("/api/v1/backoffice/applications/{beta_app}"),
            &o.bo,
        )
        .await;
    assert_eq!(a["state"], "refused");
    assert_eq!(a["refusal_reason"], "technical_obstacle");
    let (_, page) = panel(c, Method::GET, "/backoffice/applications", &o.bo, None).await;
    assert!(page.contains("第8条第2項"), "{page}");

    // Art. 8-1: acceptance creates the contract and notifies the applicant.
    let (s, v) = panel(
        c,
        Method::POST,
        &format!("/backoffice/applications/{}/accept", changed["id"]),
        &o.bo,
        Some(&[("csrf", csrf.clone()), ("equipment", "".into())]),
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{v}");
    let contracts: Vec<wire::Contract> = ok(
        StatusCode::OK,
        c.get("/api/v1/backoffice/contracts", &o.bo).await,
    );
    let k = contracts[0].clone();
    assert_eq!(k.monthly_fee, 35000);
    assert_eq!(k.minimum_term_end, "2027-03-31");
    let kid = k.id;
    let msgs = smtp.messages();
    assert!(
        msgs.iter()
            .any(|m| m.contains("X-Rcpt: officer@alpha.example.jp")),
        "{msgs:?}"
    );

    // Payments: recorded from the invoice page and allocated to that invoice.
    o.run("2026-04").await;
    o.run("2026-05").await;
    let invs = o.invoices_of(&k).await;
    let april = invs.iter().find(|i| i.month == "2026-04").unwrap();
    let may = invs.iter().find(|i| i.month == "2026-05").unwrap();
    let (s, page) = panel(
        c,
        Method::GET,
        &format!("/backoffice/invoices/{}", april.id),
        &o.bo,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("id=\"payment_form\""), "{page}");
    let (s, v) = panel(
        c,
        Method::POST,
        &format!("/backoffice/invoices/{}/payments", april.id),
        &o.bo,
        Some(&[
            ("csrf", csrf.clone()),
            ("amount", april.total.to_string()),
            ("date", "2026-05-20".into()),
        ]),
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{v}");
    assert_eq!(o.invoice(april.id).await.paid, april.total);
    // May's invoice is due 2026-06-30; paid 2026-07-20 is past the 10 grace days.
    let (s, v) = panel(
        c,
        Method::POST,
        &format!("/backoffice/invoices/{}/payments", may.id),
        &o.bo,
        Some(&[
            ("csrf", csrf.clone()),
            ("amount", may.total.to_string()),
            ("date", "2026-07-20".into()),
        ]),
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{v}");
    let (_, pays) = c
        .get(
            &format!("/api/v1/backoffice/contracts/{kid}/payments"),
            &o.bo,
        )
        .await;
    let pays = pays.as_array().unwrap().clone();
    assert_eq!(pays.len(), 2, "{pays:?}");
    // floor(38500 × 0.145 × 19 / 365) = 290 (days 07-01 .. 07-19).
    assert_eq!(pays[1]["interest"], 290, "{pays:?}");
    // Overpaying is refused in both languages.
    let (s, v) = panel(
        c,
        Method::POST,
        &format!("/backoffice/invoices/{}/payments", may.id),
        &o.bo,
        Some(&[
            ("csrf", csrf.clone()),
            ("amount", "1".into()),
            ("date", "2026-07-21".into()),
        ]),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.contains("未払額"), "{v}");

    // Art. 18-5: the cap lists the payments it counts.
    let (s, page) = panel(
        c,
        Method::GET,
        &format!("/backoffice/contracts/{kid}/liability-cap?cause_date=2026-08-01"),
        &o.bo,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let total = (april.total as i64) + (may.total as i64);
    let shown = mamori_billing::document::format_yen(
        mamori_billing::Yen::new(total as u64),
        mamori_billing::document::Lang::Ja,
    );
    assert!(page.contains(&format!("id=\"cap\">{shown}")), "{page}");
    assert!(page.contains("2026年7月20日"), "{page}");

    // Art. 12: termination needs prior notice unless urgent.
    o.run("2026-06").await;
    let (_, page) = panel(
        c,
        Method::GET,
        &format!("/backoffice/contracts/{kid}"),
        &o.bo,
        None,
    )
    .await;
    assert!(page.contains("id=\"terminate_form\""), "{page}");
    let end = today().checked_add(jiff::Span::new().days(20)).unwrap();
    let (s, v) = panel(
        c,
        Method::POST,
        &format!("/backoffice/contracts/{kid}/terminate"),
        &o.bo,
        Some(&[
            ("csrf", csrf.clone()),
            ("reason", "non_payment".into()),
            ("end", end.to_string()),
        ]),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.contains("第12条第2項"), "{v}");
    let (s, v) = panel(
        c,
        Method::POST,
        &format!("/backoffice/contracts/{kid}/terminate"),
        &o.bo,
        Some(&[
            ("csrf", csrf.clone()),
            ("reason", "non_payment".into()),
            ("notice_date", today().to_string()),
            ("end", end.to_string()),
        ]),
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{v}");
    let k: wire::Contract = ok(
        StatusCode::OK,
        c.get(&format!("/api/v1/backoffice/contracts/{kid}"), &o.bo)
            .await,
    );
    assert_eq!(k.status, "terminated", "{k:?}");
    assert_eq!(
        k.termination_reason.as_deref(),
        Some("non_payment"),
        "{k:?}"
    );
    // Art. 12-3: June's unpaid invoice (due 2026-07-31) stays due: already before
    // the end date; nothing unpaid is due after it.
    for i in o.invoices_of(&k).await {
        assert!(i.due_date.as_str() <= end.to_string().as_str());
    }

    // Notices (Art. 16-2): composed, sent to the chosen officers, listed with times.
    let (s, page) = panel(c, Method::GET, "/backoffice/notices", &o.bo, None).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(
        page.contains(&format!("id=\"notice_customer_{alpha}\"")),
        "{page}"
    );
    let before = smtp.messages().len();
    let (s, v) = panel(
        c,
        Method::POST,
        "/backoffice/notices",
        &o.bo,
        Some(&[
            ("csrf", csrf.clone()),
            ("kind", "maintenance".into()),
            ("subject", "保守のお知らせ / Maintenance".into()),
            ("body", "12月1日 2:00–4:00 に保守を行います。".into()),
            ("effective_date", "2026-12-01".into()),
            ("customers", alpha.to_string()),
        ]),
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{v}");
    let msgs = smtp.messages();
    assert_eq!(msgs.len(), before + 1, "{msgs:?}");
    assert!(msgs[before].contains("X-Rcpt: officer@alpha.example.jp"));
    let (_, page) = panel(c, Method::GET, "/backoffice/notices", &o.bo, None).await;
    assert!(page.contains("保守のお知らせ"), "{page}");
    assert!(page.contains("officer@alpha.example.jp"), "{page}");
    assert!(page.contains("保守による停止 (Art. 16-2)"), "{page}");
    let (s, v) = panel(
        c,
        Method::POST,
        "/backoffice/notices",
        &o.bo,
        Some(&[
            ("csrf", csrf.clone()),
            ("kind", "maintenance".into()),
            ("subject", "x".into()),
            ("body", "y".into()),
            ("effective_date", "2026-12-01".into()),
        ]),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.contains("送付先の顧客を1社以上選んでください"), "{v}");

    // Every action is audited.
    let actions = o.actions().await;
    for a in [
        "application.create",
        "application.change",
        "application.refuse",
        "application.accept",
        "payment.record",
        "contract.liability_cap",
        "contract.terminate",
        "notice.create",
        "notice.send",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} audited: {actions:?}");
    }
    o.c.stop().await;
}

/// The invoice settings of `[backoffice]` reach the run: issue and due day (TERMS.md
/// "Invoices", Art. 17) and the taxability of each line kind (Art. 17-1, 10-2).
async fn art_17_settings_issue_due_day_and_taxability(backend: Backend) {
    use mamori_billing::invoice::{DueDay, InvoiceSettings};
    let c = Center::start_with_clock(backend, clock(), |cfg| {
        cfg.backoffice.invoice = InvoiceSettings {
            issue_day: 5,
            due_months_after_issue: 1,
            due_day: DueDay::Day(20),
        };
        cfg.backoffice.taxable.monthly_fee = false;
    })
    .await;
    let admin = c.admin().await;
    let bo = c.provider_user(&admin, "back_office").await;
    let o = Office { c, admin, bo };
    let (alpha, _, _) = o.c.customer(&o.admin, "Alpha").await;
    let k = o.contract(alpha, "2026-04-01", 30000).await;
    o.run("2026-04").await;
    let inv = o.invoice(o.invoices_of(&k).await[0].id).await;
    assert_eq!(inv.issue_date, "2026-05-05", "{inv:?}");
    assert_eq!(inv.due_date, "2026-06-20", "{inv:?}");
    assert_eq!(inv.taxable_subtotal, 0, "{inv:?}");
    assert_eq!(inv.tax, 0, "{inv:?}");
    assert_eq!(inv.total, 30000, "{inv:?}");
    assert_eq!(inv.lines[0].kind, "monthly_fee");
    assert!(!inv.lines[0].taxable);
    o.c.stop().await;
}

/// TERMS.md "Invoices" (Art. 17): with `invoice_per = "customer"`, one invoice per
/// customer and month carries the lines of all its contracts, tax computed once on
/// their sum; a second run issues nothing; the invoice is listed with each contract.
async fn art_17_one_invoice_per_customer(backend: Backend) {
    let c = Center::start_with_clock(backend, clock(), |cfg| {
        cfg.backoffice.invoice_per = mamori_center::backoffice::InvoicePer::Customer;
    })
    .await;
    let admin = c.admin().await;
    let bo = c.provider_user(&admin, "back_office").await;
    let o = Office { c, admin, bo };
    let (alpha, _, _) = o.c.customer(&o.admin, "Alpha").await;
    let (beta, _, _) = o.c.customer(&o.admin, "Beta").await;
    let k1 = o.contract(alpha, "2026-04-01", 30000).await;
    // Art. 17-2: from 2026-04-16, floor(20001 × 15 / 30) = 10000.
    let k2 = o.contract(alpha, "2026-04-16", 20001).await;
    let kb = o.contract(beta, "2026-04-01", 50000).await;
    let r = o.run("2026-04").await;
    assert_eq!(r.issued, 2, "{r:?}");
    assert_eq!(o.run("2026-04").await.issued, 0);
    let a1 = o.invoices_of(&k1).await;
    let a2 = o.invoices_of(&k2).await;
    assert_eq!(a1.len(), 1, "{a1:?}");
    assert_eq!(a1[0].id, a2[0].id, "one invoice for both contracts");
    let inv = o.invoice(a1[0].id).await;
    assert_eq!(inv.lines.len(), 2, "{inv:?}");
    assert_eq!(inv.taxable_subtotal, 40000, "{inv:?}");
    assert_eq!(inv.tax, 4000, "{inv:?}");
    assert_eq!(inv.total, 44000, "{inv:?}");
    let html = text(
        &o.c,
        &format!("/api/v1/backoffice/invoices/{}/html", a1[0].id),
        &o.bo,
    )
    .await;
    assert!(
        html.contains(&format!("（契約 #{}）", k2.id)),
        "each line names its contract: {html}"
    );
    assert_eq!(o.invoices_of(&kb).await[0].total, 55000);

    // Art. 18-5: the combined invoice's payments count for each contract with the part
    // allocated to its lines (30,000 + 10% and 10,000 + 10%), not all for the first.
    for (amount, date) in [(10000, "2026-05-10"), (34000, "2026-05-20")] {
        let (s, p) =
            o.c.post(
                "/api/v1/backoffice/payments",
                &o.bo,
                json!({"invoice_id": a1[0].id, "amount": amount, "date": date}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{p}");
    }
    let cap = |k: wire::Contract| {
        let o = &o;
        async move {
            let v: wire::LiabilityCap = ok(
                StatusCode::OK,
                o.c.get(
                    &format!(
                        "/api/v1/backoffice/contracts/{}/liability-cap?cause_date=2026-06-01",
                        k.id
                    ),
                    &o.bo,
                )
                .await,
            );
            v
        }
    };
    let c1 = cap(k1.clone()).await;
    let c2 = cap(k2.clone()).await;
    assert_eq!(c1.cap, 33000, "{c1:?}");
    assert_eq!(c2.cap, 11000, "{c2:?}");
    assert_eq!(
        c1.payments.len(),
        2,
        "both payments, each with its part: {c1:?}"
    );
    assert_eq!(c1.payments[0].amount, 7500, "{c1:?}");
    assert_eq!(c2.payments[0].amount, 2500, "{c2:?}");
    assert_eq!(cap(kb.clone()).await.cap, 0, "Beta paid nothing");
    // Each contract the combined invoice bills lists its payments, not the first only.
    for k in [&k1, &k2] {
        let (s, v) =
            o.c.get(
                &format!("/api/v1/backoffice/contracts/{}/payments", k.id),
                &o.bo,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let amounts: Vec<i64> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["amount"].as_i64().unwrap())
            .collect();
        assert_eq!(amounts, [10000, 34000], "contract {}: {v}", k.id);
    }
    let (s, v) =
        o.c.get(
            &format!("/api/v1/backoffice/contracts/{}/payments", kb.id),
            &o.bo,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v,
        json!([]),
        "Beta's contract lists none of Alpha's payments"
    );

    let r = o.run("2026-05").await;
    assert_eq!(r.issued, 2, "{r:?}");
    o.c.stop().await;
}

/// The back office's navigation shows each role only the pages it may open: every
/// link answers 200, and the notices (back-office staff's) appear only for them.
async fn panel_nav_shows_each_role_only_what_it_can_open(backend: Backend) {
    let o = office(backend, None).await;
    let c = &o.c;
    let (_, officer, _) = c.customer(&o.admin, "Alpha").await;
    let staff = c.staff(&officer, "alpha-staff").await;
    let operator = c.provider_user(&o.admin, "operator").await;
    let coordinator = c.provider_user(&o.admin, "coordinator").await;
    for (role, token, notices) in [
        ("admin", &o.admin, true),
        ("back_office", &o.bo, true),
        ("operator", &operator, false),
        ("coordinator", &coordinator, false),
        ("officer", &officer, false),
        ("staff", &staff, false),
    ] {
        let (s, html) = panel(c, Method::GET, "/backoffice", token, None).await;
        assert_eq!(s, StatusCode::OK, "{role}: {html}");
        let nav = &html[html.find("<nav>").unwrap()..html.find("</nav>").unwrap()];
        assert_eq!(
            nav.contains("/backoffice/notices"),
            notices,
            "{role}: {nav}"
        );
        for part in nav.split("href=\"").skip(1) {
            let href = &part[..part.find('"').unwrap()];
            let (s, page) = panel(c, Method::GET, href, token, None).await;
            assert_eq!(s, StatusCode::OK, "{role} opens {href}: {page}");
        }
    }
    o.c.stop().await;
}

impl Office {
    async fn pay(&self, invoice: &wire::Invoice, amount: u64, date: &str) -> wire::Payment {
        ok(
            StatusCode::CREATED,
            self.c
                .post(
                    "/api/v1/backoffice/payments",
                    &self.bo,
                    json!({"invoice_id": invoice.id, "amount": amount, "date": date}),
                )
                .await,
        )
    }

    async fn invoice_of(&self, contract: &wire::Contract, month: &str) -> wire::Invoice {
        let list = self.invoices_of(contract).await;
        let head = list
            .iter()
            .find(|i| i.month == month)
            .unwrap_or_else(|| panic!("no invoice for {month}: {list:?}"));
        self.invoice(head.id).await
    }
}

/// Art. 17-4 (Civil Code Art. 489 for the order): interest accrues on the fee
/// principal unpaid during each day of delay. An invoice that carries the fee and an
/// earlier late-interest line is paid late in two parts: first exactly the interest
/// line, then the whole fee. The first payment settles the interest line (no interest
/// on interest: it owes nothing); the second owes the daily rate on the WHOLE fee for
/// every day of delay. Under the former rule the first payment counted as fee
/// principal (it owed interest) and reduced the second payment's base.
async fn art_17_4_a_late_payment_of_fee_and_earlier_interest_bears_interest_on_the_whole_fee(
    backend: Backend,
) {
    let o = office(backend, None).await;
    let (alpha, _, _) = o.c.customer(&o.admin, "Alpha").await;
    let k = o.contract(alpha, "2026-01-01", 1_000_000).await;
    o.run("2026-01").await;
    let january = o.invoice_of(&k, "2026-01").await;
    assert_eq!(january.total, 1_100_000, "{january:?}");
    // Due 02-28, paid 05-29: 90 days late, interest for 89 days:
    // floor(1,100,000 × 0.145 × 89 / 365) = 38,891, billed on May's invoice.
    let p = o.pay(&january, 1_100_000, "2026-05-29").await;
    assert_eq!(p.interest, 38_891, "{p:?}");
    o.run("2026-05").await;
    let may = o.invoice_of(&k, "2026-05").await;
    assert_eq!(
        may.total, 1_138_891,
        "fee 1,100,000 + interest 38,891: {may:?}"
    );
    assert_eq!(may.due_date, "2026-06-30");

    // 07-20: the interest line alone, 20 days late: it settles the interest line, so
    // it bears no interest.
    let first = o.pay(&may, 38_891, "2026-07-20").await;
    assert_eq!(
        first.interest, 0,
        "a payment of the interest line is not principal: {first:?}"
    );
    // 08-09: the whole fee, 40 days late: the rate on all of it for 39 days,
    // floor(1,100,000 × 0.145 × 39 / 365) = 17,042.
    let second = o.pay(&may, 1_100_000, "2026-08-09").await;
    assert_eq!(
        second.interest, 17_042,
        "interest on the whole unpaid fee for each day of delay: {second:?}"
    );
    let may = o.invoice(may.id).await;
    assert_eq!(may.paid, may.total, "{may:?}");
    o.c.stop().await;
}

/// Money read from the database is checked, never a fallback: a negative amount in an
/// invoice, a payment or a line, an unknown line kind, or totals that are not those of
/// the invoice's lines make the reads fail with an error that names the invoice (or
/// the payment), not a ¥0 or a made-up figure; the API and the panel answer 500.
async fn an_impossible_amount_in_a_row_is_an_error_naming_its_invoice_or_payment(backend: Backend) {
    use mamori_center::domain::Scope;
    let o = office(backend, None).await;
    let (alpha, _, _) = o.c.customer(&o.admin, "Alpha").await;
    let k = o.contract(alpha, "2026-04-01", 30000).await;
    o.run("2026-04").await;
    o.run("2026-05").await;
    let april = o.invoice_of(&k, "2026-04").await;
    let may = o.invoice_of(&k, "2026-05").await;
    let pay = o.pay(&april, 10000, "2026-05-10").await;
    let store = o.c.store();
    let (april_id, may_id) = (april.id, may.id);
    let session = o.bo.clone();

    // A negative total.
    store
        .execute_raw(&format!(
            "UPDATE bo_invoices SET total = -5 WHERE id = {april_id}"
        ))
        .await
        .unwrap();
    let e = store
        .backoffice()
        .invoice(Scope::All, InvoiceId::new(april_id))
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains(&format!("invoice {april_id} (INV-00000001)"))
            && msg.contains("total")
            && msg.contains("-5"),
        "{msg}"
    );
    let (s, v) =
        o.c.get(&format!("/api/v1/backoffice/invoices/{april_id}"), &o.bo)
            .await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR, "{v}");
    let (s, html) = panel(
        &o.c,
        Method::GET,
        &format!("/backoffice/invoices/{april_id}"),
        &session,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR, "{html}");
    assert!(!html.contains("¥0"), "{html}");
    // The list fails too rather than showing the invoice with a made-up amount.
    let (s, _) = o.c.get("/api/v1/backoffice/invoices", &o.bo).await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    store
        .execute_raw(&format!(
            "UPDATE bo_invoices SET total = 33000 WHERE id = {april_id}"
        ))
        .await
        .unwrap();
    let (s, v) =
        o.c.get(&format!("/api/v1/backoffice/invoices/{april_id}"), &o.bo)
            .await;
    assert_eq!(s, StatusCode::OK, "restored: {v}");

    // A negative payment.
    store
        .execute_raw(&format!(
            "UPDATE bo_payments SET amount = -1 WHERE id = {}",
            pay.id
        ))
        .await
        .unwrap();
    let e = store
        .backoffice()
        .payments_of_invoice(InvoiceId::new(april_id))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&format!("payment {} of invoice {april_id}", pay.id)) && e.contains("amount"),
        "{e}"
    );
    let (s, v) =
        o.c.get(
            &format!("/api/v1/backoffice/contracts/{}/payments", k.id),
            &o.bo,
        )
        .await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR, "{v}");
    store
        .execute_raw(&format!(
            "UPDATE bo_payments SET amount = 10000 WHERE id = {}",
            pay.id
        ))
        .await
        .unwrap();

    // A line of an unknown kind, then a line whose amount is not in the totals.
    store
        .execute_raw("UPDATE bo_invoice_lines SET kind = 'gift' WHERE invoice_number = 2")
        .await
        .unwrap();
    let e = store
        .backoffice()
        .invoice(Scope::All, InvoiceId::new(may_id))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("(INV-00000002), line 1") && e.contains("\"gift\""),
        "{e}"
    );
    store
        .execute_raw("UPDATE bo_invoice_lines SET kind = 'monthly_fee', amount = -30000 WHERE invoice_number = 2")
        .await
        .unwrap();
    let e = store
        .backoffice()
        .invoice(Scope::All, InvoiceId::new(may_id))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("(INV-00000002), line 1") && e.contains("amount") && e.contains("-30000"),
        "{e}"
    );
    store
        .execute_raw("UPDATE bo_invoice_lines SET amount = 29000 WHERE invoice_number = 1")
        .await
        .unwrap();
    // April's lines no longer give its totals: the liability cap (which divides its
    // payments by its lines) and its document refuse, naming it.
    let (s, v) =
        o.c.get(
            &format!(
                "/api/v1/backoffice/contracts/{}/liability-cap?cause_date=2026-06-01",
                k.id
            ),
            &o.bo,
        )
        .await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR, "{v}");
    let inv = store
        .backoffice()
        .invoice(Scope::All, InvoiceId::new(april_id))
        .await
        .unwrap()
        .unwrap();
    let e = inv.to_billing().unwrap_err();
    assert!(
        e.contains(&format!("invoice {april_id} (INV-00000001)"))
            && e.contains("total 33000")
            && e.contains("total 31900"),
        "{e}"
    );
    o.c.stop().await;
}

/// A balance keeps its sign: an invoice paid beyond its total (a credit, e.g. from an
/// imported ledger) shows its balance as `-¥500` / `JPY -500`, offers no payment
/// form, and a further payment is refused naming the negative balance, not "¥0 left".
async fn an_overpaid_invoice_shows_its_credit_with_its_sign(backend: Backend) {
    let o = office(backend, None).await;
    let (alpha, _, _) = o.c.customer(&o.admin, "Alpha").await;
    let k = o.contract(alpha, "2026-04-01", 30000).await;
    o.run("2026-04").await;
    let april = o.invoice_of(&k, "2026-04").await;
    let id = april.id;
    let session = o.bo.clone();
    let (s, html) = panel(
        &o.c,
        Method::GET,
        &format!("/backoffice/invoices/{id}"),
        &session,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("id=\"balance\"") && html.contains("¥33,000</p>"),
        "{html}"
    );
    assert!(html.contains("id=\"payment_form\""), "{html}");

    o.c.store()
        .execute_raw(&format!(
            "UPDATE bo_invoices SET paid = total + 500 WHERE id = {id}"
        ))
        .await
        .unwrap();
    let (s, html) = panel(
        &o.c,
        Method::GET,
        &format!("/backoffice/invoices/{id}"),
        &session,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let balance = &html[html.find("id=\"balance\"").expect("a balance")..];
    assert!(balance.contains("-¥500"), "{balance}");
    assert!(
        !html.contains("id=\"payment_form\""),
        "nothing is left to pay: {html}"
    );
    let r =
        o.c.client
            .get(format!("{}/backoffice/invoices/{id}", o.c.base))
            .header("cookie", format!("mamori_session={session}"))
            .header("accept-language", "en")
            .send()
            .await
            .unwrap();
    let html = r.text().await.unwrap();
    let balance = &html[html.find("id=\"balance\"").expect("a balance")..];
    assert!(balance.contains("JPY -500"), "{balance}");

    let (s, v) =
        o.c.post(
            "/api/v1/backoffice/payments",
            &o.bo,
            json!({"invoice_id": id, "amount": 1, "date": "2026-05-20"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        v["detail"]
            .as_str()
            .unwrap()
            .contains("has JPY -500 left to pay"),
        "{v}"
    );
    o.c.stop().await;
}
