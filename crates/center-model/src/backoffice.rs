//! The back office's types: applications, contracts, invoices, payments, notices, and
//! what an invoice run and a cancellation preview report. Money is `Yen`, line kinds
//! are `LineKind`, dates are calendar dates (`mamori_billing` computes them).

use crate::ids::{ApplicationId, ContractId, CustomerId, EquipmentId, InvoiceId};
use jiff::civil::Date;
use mamori_billing::charges::Owed;
use mamori_billing::invoice::{self as binv, LineKind};
use mamori_billing::split;
use mamori_billing::term::Cancellation;
use mamori_billing::{Balance, Rate, YearMonth, Yen};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplicationState {
    Pending,
    Accepted,
    Refused,
    /// Replaced by a changed application (Art. 9).
    Superseded,
}

impl ApplicationState {
    pub fn as_str(self) -> &'static str {
        match self {
            ApplicationState::Pending => "pending",
            ApplicationState::Accepted => "accepted",
            ApplicationState::Refused => "refused",
            ApplicationState::Superseded => "superseded",
        }
    }
    pub fn parse(s: &str) -> Option<ApplicationState> {
        [
            ApplicationState::Pending,
            ApplicationState::Accepted,
            ApplicationState::Refused,
            ApplicationState::Superseded,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

#[derive(Debug, Clone)]
pub struct Application {
    pub id: ApplicationId,
    pub customer_id: CustomerId,
    pub line_product: String,
    pub line_id: String,
    pub monthly_fee: Yen,
    pub start: Date,
    pub note: String,
    pub state: ApplicationState,
    pub refusal_reason: Option<String>,
    pub replaces_id: Option<ApplicationId>,
    pub contract_id: Option<ContractId>,
    pub created_at: i64,
    pub decided_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContractEnding {
    /// Art. 11-1.
    Customer {
        notice_date: Date,
        requested_end: Date,
        end: Date,
    },
    /// Art. 12-1; `notice_date` is `None` when urgent (Art. 12-2).
    Provider {
        reason: String,
        notice_date: Option<Date>,
        end: Date,
    },
}

impl ContractEnding {
    pub fn end(&self) -> Date {
        match self {
            ContractEnding::Customer { end, .. } | ContractEnding::Provider { end, .. } => *end,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Contract {
    pub id: ContractId,
    pub customer_id: CustomerId,
    pub application_id: ApplicationId,
    pub line_product: String,
    pub line_id: String,
    pub start: Date,
    pub monthly_fee: Yen,
    pub minimum_term_end: Date,
    pub ending: Option<ContractEnding>,
    /// Units of the equipment inventory lent under the contract (ids of `equipment`).
    pub equipment: Vec<EquipmentId>,
    pub created_at: i64,
}

impl Contract {
    pub fn end(&self) -> Option<Date> {
        self.ending.as_ref().map(ContractEnding::end)
    }
}

#[derive(Debug, Clone)]
pub struct InvoiceLine {
    pub kind: LineKind,
    /// Before tax.
    pub amount: Yen,
    pub taxable: bool,
    /// The tax rate of a taxable line.
    pub rate: Option<Rate>,
    pub date: Date,
    /// The contract the line is for (none on lines stored before migration 11).
    pub contract_id: Option<ContractId>,
}

#[derive(Debug, Clone)]
pub struct Invoice {
    pub id: InvoiceId,
    pub number: i64,
    pub customer_id: CustomerId,
    pub contract_id: ContractId,
    pub month: YearMonth,
    pub issue_date: Date,
    pub due_date: Date,
    pub recipient: String,
    pub taxable_subtotal: Yen,
    pub non_taxable_subtotal: Yen,
    pub tax: Yen,
    pub total: Yen,
    /// The part of `total` that bears late interest (all but late-interest lines).
    pub interest_bearing: Yen,
    pub paid: Yen,
    pub created_at: i64,
    pub lines: Vec<InvoiceLine>,
}

impl Invoice {
    /// The invoice number as printed.
    pub fn number_text(&self) -> String {
        format!("INV-{:08}", self.number)
    }

    /// What is still to pay: negative when more was paid than the total (a credit),
    /// shown with its sign, never as zero.
    pub fn balance(&self) -> Balance {
        Balance::of(self.total, self.paid)
    }

    /// What the invoice owes and has received, to apply a payment to (Art. 17-4).
    pub fn owed(&self) -> Owed {
        Owed {
            total: self.total,
            interest_bearing: self.interest_bearing,
            paid: self.paid,
            due: self.due_date,
        }
    }

    /// Who the invoice is, in an error message.
    /// The invoice as errors name it.
    pub fn named(&self) -> String {
        format!("invoice {} ({})", self.id, self.number_text())
    }

    /// Back to the billing crate's invoice: the totals are recomputed from the lines
    /// and must be the ones stored; anything else is an error naming the invoice.
    pub fn to_billing(&self) -> std::result::Result<binv::Invoice, String> {
        let lines = self
            .lines
            .iter()
            .map(|l| binv::InvoiceLine {
                kind: l.kind,
                amount: l.amount,
                taxable: l.taxable,
                rate: l.rate,
                date: l.date,
            })
            .collect();
        let b = binv::Invoice::new(self.month, self.issue_date, self.due_date, lines)
            .map_err(|e| format!("{}: {e}", self.named()))?;
        let stored = (
            self.taxable_subtotal,
            self.non_taxable_subtotal,
            self.tax,
            self.total,
            self.interest_bearing,
        );
        let lines = (
            b.taxable_subtotal,
            b.non_taxable_subtotal,
            b.tax,
            b.total,
            b.interest_bearing,
        );
        if stored != lines {
            return Err(format!(
                "{}: the stored totals (taxable {}, non-taxable {}, tax {}, total {}, interest-bearing {}) are not those of its lines (taxable {}, non-taxable {}, tax {}, total {}, interest-bearing {})",
                self.named(),
                stored.0.get(),
                stored.1.get(),
                stored.2.get(),
                stored.3.get(),
                stored.4.get(),
                lines.0.get(),
                lines.1.get(),
                lines.2.get(),
                lines.3.get(),
                lines.4.get()
            ));
        }
        Ok(b)
    }

    /// Art. 18-5: each contract's part of the invoice's total (its lines and its share
    /// of each rate's tax, `mamori_billing::split::invoice_parts`); lines stored
    /// without a contract are the invoice's own contract's. The parts add up to the
    /// total.
    pub fn contract_parts(&self) -> std::result::Result<Vec<(ContractId, Yen)>, String> {
        let b = self.to_billing()?;
        let owners: Vec<ContractId> = self
            .lines
            .iter()
            .map(|l| l.contract_id.unwrap_or(self.contract_id))
            .collect();
        let parts =
            split::invoice_parts(&b, &owners).map_err(|e| format!("{}: {e}", self.named()))?;
        if parts.is_empty() {
            return Ok(vec![(self.contract_id, self.total)]);
        }
        Ok(parts)
    }
}

#[derive(Debug, Clone)]
pub struct Payment {
    pub id: i64,
    pub invoice_id: InvoiceId,
    pub customer_id: CustomerId,
    pub contract_id: ContractId,
    /// Received, tax included.
    pub amount: Yen,
    pub date: Date,
    /// Art. 17-4 interest this payment owes (billed on a later invoice).
    pub interest: Yen,
    /// The number of the invoice that billed the interest.
    pub interest_invoice: Option<i64>,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct Notice {
    pub id: i64,
    pub kind: String,
    pub subject: String,
    pub body: String,
    pub effective_date: Date,
    pub created_at: i64,
    pub recipients: Vec<NoticeRecipient>,
}

#[derive(Debug, Clone)]
pub struct NoticeRecipient {
    pub customer_id: CustomerId,
    pub email: String,
    pub sent_at: Option<i64>,
    pub error: Option<String>,
}

/// The kinds of notice the terms require (and the acceptance of an application).
pub const NOTICE_KINDS: [(&str, &str); 5] = [
    ("terms_change", "Art. 3-2"),
    ("maintenance", "Art. 16-2"),
    ("termination", "Art. 12-2"),
    ("service_end", "Art. 26-2"),
    ("application_accepted", "Art. 8-1"),
];

/// What the invoice run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunReport {
    pub month: YearMonth,
    pub issued: u64,
    pub first_number: Option<i64>,
    pub last_number: Option<i64>,
}

/// The preview of a cancellation (Art. 11-1) shown before the customer confirms.
#[derive(Debug, Clone)]
pub struct CancellationPreview {
    pub cancellation: Cancellation,
    /// Art. 10-2 lump sum if the contract ends on the resulting end date.
    pub early_termination: Yen,
    pub minimum_term_end: Date,
}
