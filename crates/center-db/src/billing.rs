//! SQL of the back office: applications, contracts, invoices and their lines,
//! payments, notices. Money columns are 64-bit integer yen; dates are `YYYY-MM-DD`
//! text (they sort as dates). Every query of customer data takes a [`Scope`].
//!
//! Rows become the domain's types here: amounts become `Yen` and line kinds
//! `LineKind`, by checked conversions. A value no rule can store (a negative amount,
//! an unknown line kind, a rate above 100 %) is a `StoreError::Corrupt` whose message
//! names the invoice, payment, contract or application, never a fallback value; an
//! amount too large for its column is refused the same way on the way in.

use crate::{cook, raw};
use mamori_center_model::ids::*;
use std::collections::BTreeMap;

use mamori_billing::invoice::LineKind;
use mamori_billing::plan::Plan;
use mamori_billing::{Rate, Yen};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::{Result, Store, StoreError, Tx, scope_filter};
use mamori_center_model::backoffice::{
    Application, ApplicationState, Contract, ContractEnding, Invoice, InvoiceLine, Notice,
    NoticeRecipient, Payment,
};
use mamori_center_model::domain::Scope;

const APP_COLS: &str = "id, customer_id, line_product, line_id, monthly_fee, start_date, note, state, refusal_reason, replaces_id, contract_id, created_at, decided_at";
const CONTRACT_COLS: &str = "id, customer_id, application_id, line_product, line_id, start_date, monthly_fee, minimum_term_end, ending, end_date, notice_date, requested_end, termination_reason, created_at";
const INVOICE_COLS: &str = "id, number, customer_id, contract_id, month, issue_date, due_date, recipient, taxable_subtotal, non_taxable_subtotal, tax, total, interest_bearing, paid, created_at";
const PAYMENT_COLS: &str = "id, invoice_id, customer_id, contract_id, amount, date, interest, interest_invoice, created_at";

fn corrupt(what: &str, v: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} {v:?}"))
}

fn date(r: &AnyRow, col: &str) -> Result<jiff::civil::Date> {
    let s: String = r.try_get(col)?;
    s.parse().map_err(|_| corrupt(col, &s))
}

/// An amount column of the row of `owner` (e.g. `invoice 3 (INV-00000003)`): a
/// negative value is an error naming the owner and the column.
fn yen(r: &AnyRow, col: &str, owner: &dyn Fn() -> String) -> Result<Yen> {
    let v: i64 = r.try_get(col)?;
    Yen::from_i64(v).map_err(|e| StoreError::Corrupt(format!("{}: {col}: {e}", owner())))
}

/// An amount for a column of the row of `owner`: one above `i64::MAX` is refused,
/// naming the owner and the column.
fn column(y: Yen, col: &str, owner: &dyn Fn() -> String) -> Result<i64> {
    y.to_i64()
        .map_err(|e| StoreError::Conflict(format!("{}: {col}: {e}", owner())))
}

fn opt_date(r: &AnyRow, col: &str) -> Result<Option<jiff::civil::Date>> {
    let s: Option<String> = r.try_get(col)?;
    s.map(|s| s.parse().map_err(|_| corrupt(col, &s)))
        .transpose()
}

fn application_from_row(r: &AnyRow) -> Result<Application> {
    let state: String = r.try_get("state")?;
    let id: i64 = r.try_get("id")?;
    Ok(Application {
        id: ApplicationId::new(id),
        customer_id: cook(r.try_get("customer_id")?),
        line_product: r.try_get("line_product")?,
        line_id: r.try_get("line_id")?,
        monthly_fee: yen(r, "monthly_fee", &|| format!("application {id}"))?,
        start: date(r, "start_date")?,
        note: r.try_get("note")?,
        state: ApplicationState::parse(&state).ok_or_else(|| corrupt("state", &state))?,
        refusal_reason: r.try_get("refusal_reason")?,
        replaces_id: cook(r.try_get("replaces_id")?),
        contract_id: cook(r.try_get("contract_id")?),
        created_at: r.try_get("created_at")?,
        decided_at: r.try_get("decided_at")?,
    })
}

fn contract_from_row(r: &AnyRow) -> Result<Contract> {
    let ending: Option<String> = r.try_get("ending")?;
    let ending = match ending.as_deref() {
        None => None,
        Some("customer") => Some(ContractEnding::Customer {
            notice_date: date(r, "notice_date")?,
            requested_end: date(r, "requested_end")?,
            end: date(r, "end_date")?,
        }),
        Some("provider") => Some(ContractEnding::Provider {
            reason: r.try_get("termination_reason")?,
            notice_date: opt_date(r, "notice_date")?,
            end: date(r, "end_date")?,
        }),
        Some(other) => return Err(corrupt("ending", other)),
    };
    let id: i64 = r.try_get("id")?;
    Ok(Contract {
        id: ContractId::new(id),
        customer_id: cook(r.try_get("customer_id")?),
        application_id: cook(r.try_get("application_id")?),
        line_product: r.try_get("line_product")?,
        line_id: r.try_get("line_id")?,
        start: date(r, "start_date")?,
        monthly_fee: yen(r, "monthly_fee", &|| format!("contract {id}"))?,
        minimum_term_end: date(r, "minimum_term_end")?,
        ending,
        equipment: Vec::new(),
        created_at: r.try_get("created_at")?,
    })
}

/// How an invoice is named in errors: its id and its printed number.
fn invoice_name(id: i64, number: i64) -> String {
    format!("invoice {id} (INV-{number:08})")
}

fn invoice_from_row(r: &AnyRow) -> Result<Invoice> {
    let month: String = r.try_get("month")?;
    let id: i64 = r.try_get("id")?;
    let number: i64 = r.try_get("number")?;
    let owner = || invoice_name(id, number);
    Ok(Invoice {
        id: InvoiceId::new(id),
        number,
        customer_id: cook(r.try_get("customer_id")?),
        contract_id: cook(r.try_get("contract_id")?),
        month: month.parse().map_err(|_| corrupt("month", &month))?,
        issue_date: date(r, "issue_date")?,
        due_date: date(r, "due_date")?,
        recipient: r.try_get("recipient")?,
        taxable_subtotal: yen(r, "taxable_subtotal", &owner)?,
        non_taxable_subtotal: yen(r, "non_taxable_subtotal", &owner)?,
        tax: yen(r, "tax", &owner)?,
        total: yen(r, "total", &owner)?,
        interest_bearing: yen(r, "interest_bearing", &owner)?,
        paid: yen(r, "paid", &owner)?,
        created_at: r.try_get("created_at")?,
        lines: Vec::new(),
    })
}

fn payment_from_row(r: &AnyRow) -> Result<Payment> {
    let id: i64 = r.try_get("id")?;
    let invoice_id: i64 = r.try_get("invoice_id")?;
    let owner = || format!("payment {id} of invoice {invoice_id}");
    Ok(Payment {
        id,
        invoice_id: InvoiceId::new(invoice_id),
        customer_id: cook(r.try_get("customer_id")?),
        contract_id: cook(r.try_get("contract_id")?),
        amount: yen(r, "amount", &owner)?,
        date: date(r, "date")?,
        interest: yen(r, "interest", &owner)?,
        interest_invoice: r.try_get("interest_invoice")?,
        created_at: r.try_get("created_at")?,
    })
}

/// The `VALUES` list of a multi-row insert: `rows` tuples of `cols` parameters.
/// SQLite gets anonymous `?` parameters, bound in order: for `$N` parameters
/// `sqlx-sqlite` asks SQLite for each parameter's name, and SQLite finds a name by
/// scanning the statement's list of names, so binding a statement of 14,000 `$N`
/// values is quadratic (91 % of the 100,000-contract invoice run in a profile,
/// docs/benchmarks.md). PostgreSQL keeps `$N`.
fn values_list(sqlite: bool, rows: usize, cols: usize) -> String {
    let mut s = String::with_capacity(rows * cols * 7);
    for r in 0..rows {
        if r > 0 {
            s.push_str(", ");
        }
        s.push('(');
        for c in 0..cols {
            if c > 0 {
                s.push_str(", ");
            }
            if sqlite {
                s.push('?');
            } else {
                use std::fmt::Write;
                let _ = write!(s, "${}", r * cols + c + 1);
            }
        }
        s.push(')');
    }
    s
}

/// An invoice row of a planned run, converted for its columns.
struct InvoiceRow<'a> {
    number: i64,
    customer_id: CustomerId,
    contract_id: ContractId,
    issue_date: String,
    due_date: String,
    recipient: &'a String,
    /// taxable_subtotal, non_taxable_subtotal, tax, total, interest_bearing.
    amounts: [i64; 5],
}

/// A line row of a planned run, converted for its columns.
struct LineRow {
    number: i64,
    seq: i64,
    kind: &'static str,
    amount: i64,
    taxable: bool,
    rate_bp: Option<i64>,
    date: String,
    contract_id: ContractId,
}

/// Rows per multi-row insert: 14,000 parameters at most, under SQLite's limit of 32,766
/// (since 3.32) and PostgreSQL's 65,535.
const INVOICES_PER_INSERT: usize = 1000;
const LINES_PER_INSERT: usize = 1750;

/// Whether a connection of the `Any` driver is SQLite.
fn is_sqlite(conn: &sqlx::AnyConnection) -> bool {
    conn.backend_name() == <sqlx::Sqlite as sqlx::Database>::NAME
}

/// A parameter of a scoped query.
enum Arg {
    Int(i64),
    Text(String),
}

/// `sql` (its parameters `$1`… are `args`) limited to `scope` on `column`, then `tail`
/// (order and limit): the query every scoped read of the back office runs, on the
/// pool or inside a transaction.
fn scoped<'q>(
    sql: &str,
    scope: Scope,
    column: &str,
    args: Vec<Arg>,
    tail: &str,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    let (filter, c) = scope_filter(scope, column, args.len() + 1);
    let mut q = sqlx::query(AssertSqlSafe(format!("{sql}{filter}{tail}")));
    for a in args {
        q = match a {
            Arg::Int(v) => q.bind(v),
            Arg::Text(v) => q.bind(v),
        };
    }
    if let Some(c) = c {
        q = q.bind(c);
    }
    q
}

/// The back office's reads: `store.backoffice()`.
pub struct BackOffice<'a>(&'a Store);

/// The back office's writes in a transaction: `tx.backoffice()`.
pub struct BackOfficeTx<'a>(&'a mut Tx);

impl Store {
    /// The back office's reads.
    pub fn backoffice(&self) -> BackOffice<'_> {
        BackOffice(self)
    }
}

impl Tx {
    /// The back office's writes in this transaction.
    pub fn backoffice(&mut self) -> BackOfficeTx<'_> {
        BackOfficeTx(self)
    }
}

impl std::ops::Deref for BackOffice<'_> {
    type Target = Store;
    fn deref(&self) -> &Store {
        self.0
    }
}

impl std::ops::Deref for BackOfficeTx<'_> {
    type Target = Tx;
    fn deref(&self) -> &Tx {
        self.0
    }
}

impl std::ops::DerefMut for BackOfficeTx<'_> {
    fn deref_mut(&mut self) -> &mut Tx {
        self.0
    }
}

impl BackOffice<'_> {
    /// The contracts a unit was lent under, newest first, with when it left each
    /// (`None` while it is lent under it); a customer sees only its own contracts.
    pub async fn contracts_of_unit(
        &self,
        scope: Scope,
        equipment_id: EquipmentId,
    ) -> Result<Vec<(i64, Option<i64>)>> {
        scoped(
            "SELECT l.contract_id, l.released_at FROM bo_contract_equipment l JOIN bo_contracts k ON k.id = l.contract_id WHERE l.equipment_id = $1",
            scope,
            "k.customer_id",
            vec![Arg::Int(equipment_id.get())],
            " ORDER BY l.contract_id DESC",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("contract_id")?, r.try_get("released_at")?)))
        .collect()
    }

    pub async fn applications(&self, scope: Scope) -> Result<Vec<Application>> {
        scoped(
            &format!("SELECT {APP_COLS} FROM bo_applications WHERE 1 = 1"),
            scope,
            "customer_id",
            vec![],
            " ORDER BY id DESC LIMIT 1000",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(application_from_row)
        .collect()
    }

    pub async fn application(
        &self,
        scope: Scope,
        id: ApplicationId,
    ) -> Result<Option<Application>> {
        scoped(
            &format!("SELECT {APP_COLS} FROM bo_applications WHERE id = $1"),
            scope,
            "customer_id",
            vec![Arg::Int(id.get())],
            "",
        )
        .fetch_optional(&self.pool)
        .await?
        .map(|r| application_from_row(&r))
        .transpose()
    }

    pub async fn contracts(&self, scope: Scope) -> Result<Vec<Contract>> {
        scoped(
            &format!("SELECT {CONTRACT_COLS} FROM bo_contracts WHERE 1 = 1"),
            scope,
            "customer_id",
            vec![],
            " ORDER BY id DESC LIMIT 1000",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(contract_from_row)
        .collect()
    }

    pub async fn contract(&self, scope: Scope, id: ContractId) -> Result<Option<Contract>> {
        let q = scoped(
            &format!("SELECT {CONTRACT_COLS} FROM bo_contracts WHERE id = $1"),
            scope,
            "customer_id",
            vec![Arg::Int(id.get())],
            "",
        );
        let Some(r) = q.fetch_optional(&self.pool).await? else {
            return Ok(None);
        };
        let mut contract = contract_from_row(&r)?;
        let rows = sqlx::query(
            "SELECT equipment_id FROM bo_contract_equipment WHERE contract_id = $1 ORDER BY equipment_id",
        )
        .bind(raw(id))
        .fetch_all(&self.pool)
        .await?;
        for r in rows {
            contract.equipment.push(cook(r.try_get("equipment_id")?));
        }
        Ok(Some(contract))
    }

    pub async fn invoices(
        &self,
        scope: Scope,
        contract_id: Option<ContractId>,
    ) -> Result<Vec<Invoice>> {
        scoped(
            &format!(
                "SELECT {INVOICE_COLS} FROM bo_invoices WHERE ($1 = 0 OR contract_id = $1 OR number IN (SELECT invoice_number FROM bo_invoice_contracts WHERE contract_id = $1))"
            ),
            scope,
            "customer_id",
            vec![Arg::Int(contract_id.map_or(0, ContractId::get))],
            " ORDER BY number DESC LIMIT 1000",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(invoice_from_row)
        .collect()
    }

    /// One invoice with its lines.
    pub async fn invoice(&self, scope: Scope, id: InvoiceId) -> Result<Option<Invoice>> {
        let q = scoped(
            &format!("SELECT {INVOICE_COLS} FROM bo_invoices WHERE id = $1"),
            scope,
            "customer_id",
            vec![Arg::Int(id.get())],
            "",
        );
        let Some(r) = q.fetch_optional(&self.pool).await? else {
            return Ok(None);
        };
        let mut inv = invoice_from_row(&r)?;
        let rows = sqlx::query(
            "SELECT kind, amount, taxable, rate_bp, date, contract_id FROM bo_invoice_lines WHERE invoice_number = $1 ORDER BY seq",
        )
        .bind(inv.number)
        .fetch_all(&self.pool)
        .await?;
        for (seq, r) in rows.iter().enumerate() {
            let owner = || {
                format!(
                    "{}, line {}",
                    invoice_name(inv.id.get(), inv.number),
                    seq + 1
                )
            };
            let kind: String = r.try_get("kind")?;
            let rate_bp: Option<i64> = r.try_get("rate_bp")?;
            let rate = rate_bp
                .map(|bp| {
                    u32::try_from(bp)
                        .ok()
                        .and_then(Rate::from_basis_points)
                        .ok_or_else(|| {
                            StoreError::Corrupt(format!(
                                "{}: rate_bp {bp} is not a rate from 0 to 10000 basis points",
                                owner()
                            ))
                        })
                })
                .transpose()?;
            inv.lines.push(InvoiceLine {
                kind: LineKind::from_code(&kind).ok_or_else(|| {
                    StoreError::Corrupt(format!("{}: unknown line kind {kind:?}", owner()))
                })?,
                amount: yen(r, "amount", &owner)?,
                taxable: r.try_get::<i64, _>("taxable")? != 0,
                rate,
                date: date(r, "date")?,
                contract_id: cook(r.try_get("contract_id")?),
            });
        }
        Ok(Some(inv))
    }

    /// Invoices not fully paid whose due date is before `today`.
    pub async fn overdue(&self, scope: Scope, today: jiff::civil::Date) -> Result<Vec<Invoice>> {
        scoped(
            &format!("SELECT {INVOICE_COLS} FROM bo_invoices WHERE paid < total AND due_date < $1"),
            scope,
            "customer_id",
            vec![Arg::Text(today.to_string())],
            " ORDER BY due_date, number LIMIT 10000",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(invoice_from_row)
        .collect()
    }

    /// The payments of the invoices that bill the contract: its own invoices, and the
    /// invoices for several contracts of the customer that have lines of it.
    pub async fn payments(&self, scope: Scope, contract_id: ContractId) -> Result<Vec<Payment>> {
        scoped(
            &format!(
                "SELECT {PAYMENT_COLS} FROM bo_payments WHERE (contract_id = $1 OR invoice_id IN (SELECT i.id FROM bo_invoices i JOIN bo_invoice_contracts ic ON ic.invoice_number = i.number WHERE ic.contract_id = $1))"
            ),
            scope,
            "customer_id",
            vec![Arg::Int(contract_id.get())],
            " ORDER BY date, id",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(payment_from_row)
        .collect()
    }

    /// The payments allocated to one invoice, by date.
    pub async fn payments_of_invoice(&self, invoice_id: InvoiceId) -> Result<Vec<Payment>> {
        let sql = format!(
            "SELECT {PAYMENT_COLS} FROM bo_payments WHERE invoice_id = $1 ORDER BY date, id"
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(raw(invoice_id))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(payment_from_row)
            .collect()
    }

    pub async fn notices(&self) -> Result<Vec<Notice>> {
        let rows = sqlx::query(
            "SELECT id, kind, subject, body, effective_date, created_at FROM bo_notices ORDER BY id DESC LIMIT 1000",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for r in rows {
            let id: i64 = r.try_get("id")?;
            out.push(Notice {
                id,
                kind: r.try_get("kind")?,
                subject: r.try_get("subject")?,
                body: r.try_get("body")?,
                effective_date: date(&r, "effective_date")?,
                created_at: r.try_get("created_at")?,
                recipients: self.notice_recipients(id).await?,
            });
        }
        Ok(out)
    }

    pub async fn notice(&self, id: i64) -> Result<Option<Notice>> {
        let Some(r) = sqlx::query(
            "SELECT id, kind, subject, body, effective_date, created_at FROM bo_notices WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        Ok(Some(Notice {
            id,
            kind: r.try_get("kind")?,
            subject: r.try_get("subject")?,
            body: r.try_get("body")?,
            effective_date: date(&r, "effective_date")?,
            created_at: r.try_get("created_at")?,
            recipients: self.notice_recipients(id).await?,
        }))
    }

    async fn notice_recipients(&self, id: i64) -> Result<Vec<NoticeRecipient>> {
        let rows = sqlx::query(
            "SELECT customer_id, email, sent_at, error FROM bo_notice_recipients WHERE notice_id = $1 ORDER BY customer_id, email",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(NoticeRecipient {
                    customer_id: cook(r.try_get("customer_id")?),
                    email: r.try_get("email")?,
                    sent_at: r.try_get("sent_at")?,
                    error: r.try_get("error")?,
                })
            })
            .collect()
    }

    /// The active officer's e-mail address and the customer's name.
    pub async fn officer(&self, customer_id: CustomerId) -> Result<Option<(String, String)>> {
        let r = sqlx::query(
            "SELECT u.email AS email, c.name AS name FROM customers c JOIN users u ON u.customer_id = c.id AND u.role = 'officer' AND u.active = 1 WHERE c.id = $1",
        )
        .bind(raw(customer_id))
        .fetch_optional(&self.pool)
        .await?;
        r.map(|r| Ok((r.try_get("email")?, r.try_get("name")?)))
            .transpose()
    }
}

impl BackOfficeTx<'_> {
    pub async fn insert_application(&mut self, a: &Application) -> Result<ApplicationId> {
        let r = sqlx::query("INSERT INTO bo_applications (customer_id, line_product, line_id, monthly_fee, start_date, note, state, replaces_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id")
            .bind(raw(a.customer_id))
            .bind(&a.line_product)
            .bind(&a.line_id)
            .bind(column(a.monthly_fee, "monthly_fee", &|| "the application".into())?)
            .bind(a.start.to_string())
            .bind(&a.note)
            .bind(a.state.as_str())
            .bind(raw(a.replaces_id))
            .bind(a.created_at)
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(cook(r.try_get("id")?))
    }

    pub async fn application(
        &mut self,
        scope: Scope,
        id: ApplicationId,
    ) -> Result<Option<Application>> {
        scoped(
            &format!("SELECT {APP_COLS} FROM bo_applications WHERE id = $1"),
            scope,
            "customer_id",
            vec![Arg::Int(id.get())],
            "",
        )
        .fetch_optional(&mut *self.tx)
        .await?
        .map(|r| application_from_row(&r))
        .transpose()
    }

    /// Moves a pending application to `to`; false when it was no longer pending.
    pub async fn decide_application(
        &mut self,
        id: ApplicationId,
        to: ApplicationState,
        reason: Option<&str>,
        contract_id: Option<ContractId>,
        now: i64,
    ) -> Result<bool> {
        let r = sqlx::query("UPDATE bo_applications SET state = $1, refusal_reason = $2, contract_id = $3, decided_at = $4 WHERE id = $5 AND state = 'pending'")
            .bind(to.as_str())
            .bind(reason)
            .bind(raw(contract_id))
            .bind(now)
            .bind(raw(id))
            .execute(&mut *self.tx)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    pub async fn insert_contract(&mut self, c: &Contract) -> Result<ContractId> {
        let r = sqlx::query("INSERT INTO bo_contracts (customer_id, application_id, line_product, line_id, start_date, monthly_fee, minimum_term_end, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id")
            .bind(raw(c.customer_id))
            .bind(raw(c.application_id))
            .bind(&c.line_product)
            .bind(&c.line_id)
            .bind(c.start.to_string())
            .bind(column(c.monthly_fee, "monthly_fee", &|| "the contract".into())?)
            .bind(c.minimum_term_end.to_string())
            .bind(c.created_at)
            .fetch_one(&mut *self.tx)
            .await?;
        let id: i64 = r.try_get("id")?;
        Ok(ContractId::new(id))
    }

    /// Links a unit to a contract (the unit is lent under it).
    pub async fn link_unit(
        &mut self,
        contract_id: ContractId,
        equipment_id: EquipmentId,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO bo_contract_equipment (contract_id, equipment_id, released_at) VALUES ($1, $2, NULL)",
        )
        .bind(raw(contract_id))
        .bind(raw(equipment_id))
        .execute(&mut *self.tx)
        .await
        .map_err(|e| super::conflict(e, "the unit is already lent under this contract"))?;
        Ok(())
    }

    /// The contracts a unit is lent under now (links not released), oldest first.
    pub async fn open_links_of_unit(&mut self, equipment_id: EquipmentId) -> Result<Vec<i64>> {
        let rows = sqlx::query(
            "SELECT contract_id FROM bo_contract_equipment WHERE equipment_id = $1 AND released_at IS NULL ORDER BY contract_id",
        )
        .bind(raw(equipment_id))
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(|r| Ok(r.try_get("contract_id")?)).collect()
    }

    /// Ends a unit's lending under a contract.
    pub async fn release_unit(
        &mut self,
        contract_id: ContractId,
        equipment_id: EquipmentId,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE bo_contract_equipment SET released_at = $1 WHERE contract_id = $2 AND equipment_id = $3 AND released_at IS NULL",
        )
        .bind(now)
        .bind(raw(contract_id))
        .bind(raw(equipment_id))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Units still lent under contracts that ended on or before `today` (`contract_id`
    /// = `None` for every contract): (contract, customer, unit), by contract.
    pub async fn units_due_back(
        &mut self,
        today: jiff::civil::Date,
        contract_id: Option<ContractId>,
    ) -> Result<Vec<(i64, i64, i64)>> {
        let rows = sqlx::query(
            "SELECT l.contract_id, k.customer_id, l.equipment_id FROM bo_contract_equipment l JOIN bo_contracts k ON k.id = l.contract_id WHERE l.released_at IS NULL AND k.end_date IS NOT NULL AND k.end_date <= $1 AND ($2 = 0 OR k.id = $2) ORDER BY l.contract_id, l.equipment_id",
        )
        .bind(today.to_string())
        .bind(raw(contract_id.unwrap_or(ContractId::new(0))))
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("contract_id")?,
                    r.try_get("customer_id")?,
                    r.try_get("equipment_id")?,
                ))
            })
            .collect()
    }

    pub async fn contract(&mut self, scope: Scope, id: ContractId) -> Result<Option<Contract>> {
        scoped(
            &format!("SELECT {CONTRACT_COLS} FROM bo_contracts WHERE id = $1"),
            scope,
            "customer_id",
            vec![Arg::Int(id.get())],
            "",
        )
        .fetch_optional(&mut *self.tx)
        .await?
        .map(|r| contract_from_row(&r))
        .transpose()
    }

    /// Records how a running contract ends; false when it had already ended.
    pub async fn end_contract(&mut self, id: ContractId, ending: &ContractEnding) -> Result<bool> {
        let (kind, notice, requested, end, reason) = match ending {
            ContractEnding::Customer {
                notice_date,
                requested_end,
                end,
            } => (
                "customer",
                Some(*notice_date),
                Some(*requested_end),
                *end,
                None,
            ),
            ContractEnding::Provider {
                reason,
                notice_date,
                end,
            } => ("provider", *notice_date, None, *end, Some(reason.as_str())),
        };
        let r = sqlx::query("UPDATE bo_contracts SET ending = $1, notice_date = $2, requested_end = $3, end_date = $4, termination_reason = $5 WHERE id = $6 AND ending IS NULL")
            .bind(kind)
            .bind(notice.map(|d| d.to_string()))
            .bind(requested.map(|d| d.to_string()))
            .bind(end.to_string())
            .bind(reason)
            .bind(raw(id))
            .execute(&mut *self.tx)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Art. 12-3: every unpaid invoice of the contract falls due by `by`.
    pub async fn accelerate(
        &mut self,
        contract_id: ContractId,
        by: jiff::civil::Date,
    ) -> Result<u64> {
        let by = by.to_string();
        let r = sqlx::query("UPDATE bo_invoices SET due_date = $1 WHERE (contract_id = $2 OR number IN (SELECT invoice_number FROM bo_invoice_contracts WHERE contract_id = $2)) AND paid < total AND due_date > $1")
            .bind(&by)
            .bind(raw(contract_id))
            .execute(&mut *self.tx)
            .await?;
        Ok(r.rows_affected())
    }

    pub async fn invoice_for_update(
        &mut self,
        scope: Scope,
        id: InvoiceId,
    ) -> Result<Option<Invoice>> {
        scoped(
            &format!("SELECT {INVOICE_COLS} FROM bo_invoices WHERE id = $1"),
            scope,
            "customer_id",
            vec![Arg::Int(id.get())],
            "",
        )
        .fetch_optional(&mut *self.tx)
        .await?
        .map(|r| invoice_from_row(&r))
        .transpose()
    }

    pub async fn insert_payment(&mut self, p: &Payment) -> Result<i64> {
        let owner = || format!("a payment of invoice {}", p.invoice_id);
        let amount = column(p.amount, "amount", &owner)?;
        let interest = column(p.interest, "interest", &owner)?;
        let r = sqlx::query("INSERT INTO bo_payments (invoice_id, customer_id, contract_id, amount, date, interest, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id")
            .bind(raw(p.invoice_id))
            .bind(raw(p.customer_id))
            .bind(raw(p.contract_id))
            .bind(amount)
            .bind(p.date.to_string())
            .bind(interest)
            .bind(p.created_at)
            .fetch_one(&mut *self.tx)
            .await?;
        sqlx::query("UPDATE bo_invoices SET paid = paid + $1 WHERE id = $2")
            .bind(amount)
            .bind(raw(p.invoice_id))
            .execute(&mut *self.tx)
            .await?;
        Ok(r.try_get("id")?)
    }

    /// The contracts with service in `[first, last]`: (contract, customer name).
    pub async fn contracts_in(
        &mut self,
        first: jiff::civil::Date,
        last: jiff::civil::Date,
    ) -> Result<Vec<(Contract, String)>> {
        let sql = format!(
            "SELECT {}, c.name AS customer_name FROM bo_contracts k JOIN customers c ON c.id = k.customer_id WHERE k.start_date <= $1 AND (k.end_date IS NULL OR k.end_date >= $2) ORDER BY k.id",
            CONTRACT_COLS
                .split(", ")
                .map(|c| format!("k.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(last.to_string())
            .bind(first.to_string())
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter()
            .map(|r| Ok((contract_from_row(r)?, r.try_get("customer_name")?)))
            .collect()
    }

    /// A contract and its customer's name, by id (for interest on an ended contract).
    pub async fn contract_with_name(
        &mut self,
        id: ContractId,
    ) -> Result<Option<(Contract, String)>> {
        let sql = format!(
            "SELECT {}, c.name AS customer_name FROM bo_contracts k JOIN customers c ON c.id = k.customer_id WHERE k.id = $1",
            CONTRACT_COLS
                .split(", ")
                .map(|c| format!("k.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let r = sqlx::query(AssertSqlSafe(sql))
            .bind(raw(id))
            .fetch_optional(&mut *self.tx)
            .await?;
        r.map(|r| Ok((contract_from_row(&r)?, r.try_get("customer_name")?)))
            .transpose()
    }

    /// The contracts that already have an invoice for `month`.
    pub async fn invoiced_contracts(&mut self, month: &str) -> Result<Vec<i64>> {
        let rows = sqlx::query("SELECT contract_id FROM bo_invoices WHERE month = $1 UNION SELECT contract_id FROM bo_invoice_contracts WHERE month = $1")
            .bind(month)
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(|r| Ok(r.try_get("contract_id")?)).collect()
    }

    /// Late-payment interest not yet billed, for payments made on or before `last`.
    pub async fn unbilled_interest(&mut self, last: jiff::civil::Date) -> Result<Vec<Payment>> {
        let sql = format!(
            "SELECT {PAYMENT_COLS} FROM bo_payments WHERE interest > 0 AND interest_invoice IS NULL AND date <= $1 ORDER BY contract_id, date, id"
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(last.to_string())
            .fetch_all(&mut *self.tx)
            .await?
            .iter()
            .map(payment_from_row)
            .collect()
    }

    /// Marks late-payment interest as billed: `(payment id, invoice number)` pairs,
    /// one set-based statement per 1,000 pairs.
    async fn mark_interest_billed(&mut self, billed: &[(i64, i64)]) -> Result<()> {
        let sqlite = is_sqlite(&self.tx);
        for chunk in billed.chunks(1000) {
            let sql = format!(
                "WITH v (id, number) AS (VALUES {}) UPDATE bo_payments SET interest_invoice = v.number FROM v WHERE bo_payments.id = v.id",
                values_list(sqlite, chunk.len(), 2)
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for (id, number) in chunk {
                q = q.bind(*id).bind(*number);
            }
            q.execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    /// The highest invoice number issued so far (0 when none). Numbers are taken while
    /// the write lock is held, so they are sequential without gaps.
    pub async fn last_invoice_number(&mut self) -> Result<i64> {
        let r = sqlx::query("SELECT COALESCE(MAX(number), 0) AS n FROM bo_invoices")
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(r.try_get("n")?)
    }

    /// Writes the plan of an invoice run (`mamori_billing::plan`): its invoices with
    /// their lines (each naming its contract), the other contracts of each combined
    /// invoice, and the payments whose interest each invoice bills, many rows per
    /// statement, in this transaction. `recipients` names each customer. An amount or
    /// number too large for its column is an error naming the invoice; nothing is
    /// written then (the transaction is not committed).
    pub async fn write_plan(
        &mut self,
        plan: &Plan<i64>,
        recipients: &BTreeMap<i64, String>,
        now: i64,
    ) -> Result<()> {
        let month = plan.month.to_string();
        let mut invoices = Vec::with_capacity(plan.invoices.len());
        let mut lines = Vec::new();
        let mut extra = Vec::new();
        let mut billed = Vec::new();
        for p in &plan.invoices {
            let owner = || format!("planned invoice {} of contract {}", p.number, p.contract);
            let number = i64::try_from(p.number).map_err(|_| {
                StoreError::Conflict(format!("{}: the number does not fit its column", owner()))
            })?;
            let i = &p.invoice;
            let recipient = recipients.get(&p.customer).ok_or_else(|| {
                StoreError::Conflict(format!("{}: no name for customer {}", owner(), p.customer))
            })?;
            invoices.push(InvoiceRow {
                number,
                customer_id: CustomerId::new(p.customer),
                contract_id: ContractId::new(p.contract),
                issue_date: i.issue_date.to_string(),
                due_date: i.due_date.to_string(),
                recipient,
                amounts: [
                    column(i.taxable_subtotal, "taxable_subtotal", &owner)?,
                    column(i.non_taxable_subtotal, "non_taxable_subtotal", &owner)?,
                    column(i.tax, "tax", &owner)?,
                    column(i.total, "total", &owner)?,
                    column(i.interest_bearing, "interest_bearing", &owner)?,
                ],
            });
            for (seq, (l, contract)) in i.lines.iter().zip(&p.owners).enumerate() {
                lines.push(LineRow {
                    number,
                    seq: seq as i64,
                    kind: l.kind.code(),
                    amount: column(l.amount, "amount", &owner)?,
                    taxable: l.taxable,
                    rate_bp: l.rate.map(|r| i64::from(r.basis_points())),
                    date: l.date.to_string(),
                    contract_id: ContractId::new(*contract),
                });
            }
            extra.extend(p.other_contracts.iter().map(|c| (*c, number)));
            billed.extend(p.interest_of.iter().map(|pay| (*pay, number)));
        }
        let sqlite = is_sqlite(&self.tx);
        for chunk in invoices.chunks(INVOICES_PER_INSERT) {
            let sql = format!(
                "INSERT INTO bo_invoices (number, customer_id, contract_id, month, issue_date, due_date, recipient, taxable_subtotal, non_taxable_subtotal, tax, total, interest_bearing, paid, created_at) VALUES {}",
                values_list(sqlite, chunk.len(), 14)
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for n in chunk {
                q = q
                    .bind(n.number)
                    .bind(raw(n.customer_id))
                    .bind(raw(n.contract_id))
                    .bind(month.clone())
                    .bind(n.issue_date.clone())
                    .bind(n.due_date.clone())
                    .bind(n.recipient.clone());
                for a in n.amounts {
                    q = q.bind(a);
                }
                q = q.bind(0i64).bind(now);
            }
            q.execute(&mut *self.tx).await?;
        }
        for chunk in lines.chunks(LINES_PER_INSERT) {
            let sql = format!(
                "INSERT INTO bo_invoice_lines (invoice_number, seq, kind, amount, taxable, rate_bp, date, contract_id) VALUES {}",
                values_list(sqlite, chunk.len(), 8)
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for l in chunk {
                q = q
                    .bind(l.number)
                    .bind(l.seq)
                    .bind(l.kind)
                    .bind(l.amount)
                    .bind(i64::from(l.taxable))
                    .bind(l.rate_bp)
                    .bind(l.date.clone())
                    .bind(raw(l.contract_id));
            }
            q.execute(&mut *self.tx).await?;
        }
        for chunk in extra.chunks(4000) {
            let sql = format!(
                "INSERT INTO bo_invoice_contracts (contract_id, month, invoice_number) VALUES {}",
                values_list(sqlite, chunk.len(), 3)
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for (c, n) in chunk {
                q = q.bind(*c).bind(month.clone()).bind(*n);
            }
            q.execute(&mut *self.tx).await?;
        }
        self.mark_interest_billed(&billed).await
    }

    pub async fn insert_notice(
        &mut self,
        kind: &str,
        subject: &str,
        body: &str,
        effective: jiff::civil::Date,
        created_by: i64,
        now: i64,
    ) -> Result<i64> {
        let r = sqlx::query("INSERT INTO bo_notices (kind, subject, body, effective_date, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id")
            .bind(kind)
            .bind(subject)
            .bind(body)
            .bind(effective.to_string())
            .bind(created_by)
            .bind(now)
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(r.try_get("id")?)
    }

    pub async fn insert_recipient(
        &mut self,
        notice_id: i64,
        customer_id: CustomerId,
        email: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO bo_notice_recipients (notice_id, customer_id, email) VALUES ($1, $2, $3)",
        )
        .bind(notice_id)
        .bind(raw(customer_id))
        .bind(email)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub async fn mark_sent(
        &mut self,
        notice_id: i64,
        customer_id: CustomerId,
        sent_at: Option<i64>,
        error: Option<&str>,
    ) -> Result<()> {
        sqlx::query("UPDATE bo_notice_recipients SET sent_at = $1, error = $2 WHERE notice_id = $3 AND customer_id = $4")
            .bind(sent_at)
            .bind(error)
            .bind(notice_id)
            .bind(raw(customer_id))
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }
}

/// A contract for the benchmark seeder.
#[derive(Debug, Clone)]
pub struct SeedContract {
    pub start: jiff::civil::Date,
    pub monthly_fee: Yen,
    /// Cancelled by the customer, ending on this date.
    pub end: Option<jiff::civil::Date>,
}

impl BackOffice<'_> {
    /// Benchmark data only: one customer per `per_customer` contracts, each contract
    /// with its accepted application, inserted many rows per statement.
    pub async fn seed_contracts(
        &self,
        contracts: &[SeedContract],
        per_customer: usize,
        now: i64,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let sqlite = self.backend == super::Backend::Sqlite;
        let first_customer: i64 = sqlx::query("SELECT COALESCE(MAX(id), 0) AS n FROM customers")
            .fetch_one(&mut *tx.tx)
            .await?
            .try_get("n")?;
        let first_app: i64 = sqlx::query("SELECT COALESCE(MAX(id), 0) AS n FROM bo_applications")
            .fetch_one(&mut *tx.tx)
            .await?
            .try_get("n")?;
        let first_contract: i64 = sqlx::query("SELECT COALESCE(MAX(id), 0) AS n FROM bo_contracts")
            .fetch_one(&mut *tx.tx)
            .await?
            .try_get("n")?;
        let per = per_customer.max(1);
        let n_customers = contracts.len().div_ceil(per);
        let ids: Vec<i64> = (1..=n_customers as i64)
            .map(|i| first_customer + i)
            .collect();
        for chunk in ids.chunks(1000) {
            let values = values_list(sqlite, chunk.len(), 3);
            let mut q = sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO customers (id, name, created_at) VALUES {values}"
            )));
            for id in chunk {
                q = q.bind(*id).bind(format!("Customer {id} K.K.")).bind(now);
            }
            q.execute(&mut *tx.tx).await?;
        }
        let rows: Vec<(i64, i64, i64, &SeedContract)> = contracts
            .iter()
            .enumerate()
            .map(|(i, c)| {
                (
                    first_app + 1 + i as i64,
                    first_contract + 1 + i as i64,
                    first_customer + 1 + (i / per) as i64,
                    c,
                )
            })
            .collect();
        for chunk in rows.chunks(1000) {
            let values = values_list(sqlite, chunk.len(), 11);
            let mut q = sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO bo_applications (id, customer_id, line_product, line_id, monthly_fee, start_date, note, state, contract_id, created_at, decided_at) VALUES {values}"
            )));
            for (app, contract, customer, c) in chunk {
                q = q
                    .bind(*app)
                    .bind(*customer)
                    .bind("fiber-business")
                    .bind(format!("L-{contract}"))
                    .bind(column(c.monthly_fee, "monthly_fee", &|| {
                        format!("contract {contract}")
                    })?)
                    .bind(c.start.to_string())
                    .bind("")
                    .bind("accepted")
                    .bind(*contract)
                    .bind(now)
                    .bind(now);
            }
            q.execute(&mut *tx.tx).await?;
            let values = values_list(sqlite, chunk.len(), 13);
            let mut q = sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO bo_contracts (id, customer_id, application_id, line_product, line_id, start_date, monthly_fee, minimum_term_end, ending, end_date, notice_date, requested_end, created_at) VALUES {values}"
            )));
            for (app, contract, customer, c) in chunk {
                let mte = mamori_billing::term::minimum_term_end(c.start)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                q = q
                    .bind(*contract)
                    .bind(*customer)
                    .bind(*app)
                    .bind("fiber-business")
                    .bind(format!("L-{contract}"))
                    .bind(c.start.to_string())
                    .bind(column(c.monthly_fee, "monthly_fee", &|| {
                        format!("contract {contract}")
                    })?)
                    .bind(mte.to_string())
                    .bind(c.end.map(|_| "customer"))
                    .bind(c.end.map(|d| d.to_string()))
                    .bind(c.end.map(|d| {
                        d.checked_sub(jiff::Span::new().days(40))
                            .unwrap_or(d)
                            .to_string()
                    }))
                    .bind(c.end.map(|d| d.to_string()))
                    .bind(now);
            }
            q.execute(&mut *tx.tx).await?;
        }
        if self.backend == super::Backend::Postgres {
            for (t, c) in [
                ("customers", "id"),
                ("bo_applications", "id"),
                ("bo_contracts", "id"),
            ] {
                sqlx::query(AssertSqlSafe(format!(
                    "SELECT setval(pg_get_serial_sequence('{t}', '{c}'), (SELECT MAX({c}) FROM {t}))"
                )))
                .execute(&mut *tx.tx)
                .await?;
            }
        }
        tx.commit().await
    }

    /// Every invoice of a service month (benchmark and reports).
    pub async fn invoices_of_month(&self, month: &str) -> Result<Vec<Invoice>> {
        let sql =
            format!("SELECT {INVOICE_COLS} FROM bo_invoices WHERE month = $1 ORDER BY number");
        sqlx::query(AssertSqlSafe(sql))
            .bind(month)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(invoice_from_row)
            .collect()
    }

    /// Benchmark data only: payments as given (invoice id, amount, date, interest).
    pub async fn seed_payments(&self, payments: &[Payment]) -> Result<()> {
        let mut tx = self.begin().await?;
        let sqlite = self.backend == super::Backend::Sqlite;
        for chunk in payments.chunks(1000) {
            let values = values_list(sqlite, chunk.len(), 7);
            let mut q = sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO bo_payments (invoice_id, customer_id, contract_id, amount, date, interest, created_at) VALUES {values}"
            )));
            for p in chunk {
                let owner = || format!("a payment of invoice {}", p.invoice_id);
                q = q
                    .bind(raw(p.invoice_id))
                    .bind(raw(p.customer_id))
                    .bind(raw(p.contract_id))
                    .bind(column(p.amount, "amount", &owner)?)
                    .bind(p.date.to_string())
                    .bind(column(p.interest, "interest", &owner)?)
                    .bind(p.created_at);
            }
            q.execute(&mut *tx.tx).await?;
            let ids = if sqlite {
                vec!["?"; chunk.len()].join(", ")
            } else {
                (1..=chunk.len())
                    .map(|i| format!("${i}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let mut q = sqlx::query(AssertSqlSafe(format!(
                "UPDATE bo_invoices SET paid = total WHERE id IN ({ids})"
            )));
            for p in chunk {
                q = q.bind(raw(p.invoice_id));
            }
            q.execute(&mut *tx.tx).await?;
        }
        tx.commit().await
    }
}

#[cfg(test)]
mod tests {
    use super::values_list;

    #[test]
    fn values_list_is_anonymous_on_sqlite_and_numbered_on_postgres() {
        assert_eq!(values_list(true, 2, 3), "(?, ?, ?), (?, ?, ?)");
        assert_eq!(values_list(false, 2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(values_list(false, 1, 1), "($1)");
    }
}
