//! The back office's REST wire types (`/api/v1/backoffice/...`). Money is integer
//! yen, never negative in a response (`u64`; a request's amount is `i64` so that a
//! negative one gets a clear error, not a parse failure); dates are `YYYY-MM-DD`,
//! months `YYYY-MM`; times RFC 3339 in UTC. Request bodies reject unknown fields.

use serde::{Deserialize, Serialize};

/// Art. 7: a new application, or (with `replaces`) a change to one (Art. 9).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewApplication {
    pub customer_id: i64,
    /// One of the provider's eligible access-line products.
    pub line_product: String,
    /// The access line's identifier.
    pub line_id: String,
    /// Yen per month before tax, from the quotation.
    pub monthly_fee: i64,
    /// Service start date.
    pub start: String,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub replaces: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Application {
    pub id: i64,
    pub customer_id: i64,
    pub line_product: String,
    pub line_id: String,
    pub monthly_fee: u64,
    pub start: String,
    pub note: String,
    /// `pending`, `accepted`, `refused` or `superseded`.
    pub state: String,
    /// Art. 8-2 reason of a refusal.
    pub refusal_reason: Option<String>,
    pub replaces: Option<i64>,
    pub contract_id: Option<i64>,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Accept {
    /// Units of the equipment inventory lent with the contract (ids of `equipment`):
    /// each must be in stock, or already with this customer under no other contract.
    #[serde(default)]
    pub equipment: Vec<i64>,
}

/// Lends one more unit of the equipment inventory under a contract.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LendUnit {
    pub equipment_id: i64,
}

/// A unit taken back at the end of its contract (Art. 15).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TakenBack {
    pub contract_id: i64,
    pub equipment_id: i64,
    /// `returned (1 move)` or `returned (2 moves)`, `released (STATE)` when the unit was no longer with the
    /// customer, or `relocating: left until installed`.
    pub outcome: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Refuse {
    /// Art. 8-2: technical_obstacle, risk_of_non_payment, false_statement,
    /// unlawful_use, damages_credibility or other.
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Accepted {
    pub contract: Contract,
    pub notice: Notice,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Contract {
    pub id: i64,
    pub customer_id: i64,
    pub application_id: i64,
    pub line_product: String,
    pub line_id: String,
    pub start: String,
    pub monthly_fee: u64,
    pub minimum_term_end: String,
    /// `running`, `cancelled` (by the customer) or `terminated` (by the provider).
    pub status: String,
    pub end: Option<String>,
    pub notice_date: Option<String>,
    pub requested_end: Option<String>,
    /// Art. 12-1 reason of a termination.
    pub termination_reason: Option<String>,
    pub equipment: Vec<i64>,
    pub created_at: String,
}

/// Art. 11-1: a cancellation (preview or confirmed).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Cancel {
    /// The end date the customer asks for.
    pub end: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CancellationPreview {
    pub notice_date: String,
    pub requested_end: String,
    /// The earliest end date the notice allows (notice + 30 days).
    pub earliest_end: String,
    /// The end date that applies.
    pub end: String,
    /// True when the requested date was too early and moved to `earliest_end`.
    pub moved: bool,
    pub minimum_term_end: String,
    /// Art. 10-2 lump sum (yen) for ending on `end`.
    pub early_termination: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Cancelled {
    pub contract: Contract,
    pub cancellation: CancellationPreview,
}

/// Art. 12: termination by the provider.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Terminate {
    /// Art. 12-1 reason.
    pub reason: String,
    /// Art. 12-2: no prior notice when urgent.
    #[serde(default)]
    pub urgent: bool,
    #[serde(default)]
    pub notice_date: Option<String>,
    /// The last day of service.
    pub end: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Terminated {
    pub contract: Contract,
    /// Unpaid invoices whose due date moved to the end date (Art. 12-3).
    pub invoices_due_at_once: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct InvoiceRun {
    /// The service month, `YYYY-MM`.
    pub month: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvoiceRunReport {
    pub month: String,
    pub issued: u64,
    pub first_number: Option<i64>,
    pub last_number: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvoiceLine {
    /// `monthly_fee`, `early_termination`, `late_interest`, `evaded_fee`,
    /// `evasion_surcharge`, `reinstallation` or `handling`.
    pub kind: String,
    pub amount: u64,
    pub taxable: bool,
    /// Tax rate in basis points (1000 = 10 %).
    pub rate_basis_points: Option<i64>,
    pub date: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Invoice {
    pub id: i64,
    /// Sequential without gaps.
    pub number: i64,
    /// As printed, e.g. `INV-00000001`.
    pub number_text: String,
    pub customer_id: i64,
    pub contract_id: i64,
    pub month: String,
    pub issue_date: String,
    pub due_date: String,
    pub recipient: String,
    pub taxable_subtotal: u64,
    pub non_taxable_subtotal: u64,
    pub tax: u64,
    pub total: u64,
    pub paid: u64,
    /// Present on a single invoice, empty in lists.
    pub lines: Vec<InvoiceLine>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewPayment {
    pub invoice_id: i64,
    /// Yen received, tax included.
    pub amount: i64,
    /// The date received.
    pub date: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Payment {
    pub id: i64,
    pub invoice_id: i64,
    pub contract_id: i64,
    pub amount: u64,
    pub date: String,
    /// Art. 17-4 interest owed for paying late (billed on a later invoice).
    pub interest: u64,
    /// The invoice number that billed the interest.
    pub interest_invoice: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LiabilityCap {
    pub contract_id: i64,
    pub cause_date: String,
    /// First day counted (included).
    pub from: String,
    /// The cause date (excluded).
    pub to: String,
    pub payments: Vec<CountedPayment>,
    /// Art. 18-5: the sum of those payments, in yen.
    pub cap: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CountedPayment {
    pub date: String,
    pub amount: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewNotice {
    /// `terms_change` (Art. 3-2), `maintenance` (Art. 16-2), `termination`
    /// (Art. 12-2) or `service_end` (Art. 26-2).
    pub kind: String,
    pub subject: String,
    pub body: String,
    pub effective_date: String,
    /// The customers whose officers receive it.
    pub customers: Vec<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notice {
    pub id: i64,
    pub kind: String,
    pub subject: String,
    pub body: String,
    pub effective_date: String,
    pub created_at: String,
    pub recipients: Vec<NoticeRecipient>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NoticeRecipient {
    pub customer_id: i64,
    pub email: String,
    /// When the e-mail was handed to the SMTP server; `null` if not (yet) sent.
    pub sent_at: Option<String>,
    pub error: Option<String>,
}
