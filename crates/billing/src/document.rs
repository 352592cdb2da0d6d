//! A qualified invoice (適格請求書) as a document model: every item Japan's
//! qualified-invoice rule requires (issuer and registration number, recipient, date of
//! the transactions, line descriptions, per-rate subtotals, the rate, the tax per rate,
//! the total), as text in Japanese or English, ready for the center to lay out as
//! HTML or PDF. Pure: the center supplies names and the invoice number.

use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::invoice::Invoice;
use crate::money::Yen;

/// A qualified-invoice issuer's registration number: `T` and 13 digits whose first
/// digit is the check digit of the corporate number (法人番号) scheme.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RegistrationNumber(String);

/// A registration number that is not `T` + 13 digits with a valid check digit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistrationError {
    #[error(
        "invalid registration number {0:?}: expected \"T\" followed by 13 digits, like T7000012050002"
    )]
    Format(String),
    #[error(
        "invalid registration number {text:?}: the check digit is {given}, but the other 12 digits give {expected}; check for a typing error"
    )]
    CheckDigit {
        text: String,
        given: u32,
        expected: u32,
    },
}

/// The check digit of a 12-digit base number (corporate number scheme): `9 − (Σ Pn ×
/// Qn mod 9)`, where `Pn` is the n-th digit from the right and `Qn` is 1 for odd `n`,
/// 2 for even `n`.
pub fn check_digit(base: &[u32; 12]) -> u32 {
    let sum: u32 = base
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| if i % 2 == 0 { *d } else { d * 2 })
        .sum();
    9 - sum % 9
}

impl FromStr for RegistrationNumber {
    type Err = RegistrationError;

    fn from_str(s: &str) -> Result<RegistrationNumber, RegistrationError> {
        let format = || RegistrationError::Format(s.to_string());
        let digits = s.strip_prefix('T').ok_or_else(format)?;
        if digits.len() != 13 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format());
        }
        let d: Vec<u32> = digits.bytes().map(|b| u32::from(b - b'0')).collect();
        let mut base = [0u32; 12];
        base.copy_from_slice(&d[1..]);
        let expected = check_digit(&base);
        if d[0] != expected {
            return Err(RegistrationError::CheckDigit {
                text: s.to_string(),
                given: d[0],
                expected,
            });
        }
        Ok(RegistrationNumber(s.to_string()))
    }
}

impl fmt::Display for RegistrationNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for RegistrationNumber {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RegistrationNumber {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<RegistrationNumber, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// The language of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    Ja,
    En,
}

/// A date in the language's convention: `2026年4月1日`, `1 April 2026`.
pub fn format_date(date: Date, lang: Lang) -> String {
    match lang {
        Lang::Ja => format!("{}年{}月{}日", date.year(), date.month(), date.day()),
        Lang::En => {
            const MONTHS: [&str; 12] = [
                "January",
                "February",
                "March",
                "April",
                "May",
                "June",
                "July",
                "August",
                "September",
                "October",
                "November",
                "December",
            ];
            let m = usize::try_from(date.month() - 1).unwrap_or(0);
            format!("{} {} {}", date.day(), MONTHS[m.min(11)], date.year())
        }
    }
}

/// Money in the language's convention: `¥1,234`, `JPY 1,234`.
pub fn format_yen(amount: Yen, lang: Lang) -> String {
    match lang {
        Lang::Ja => amount.ja(),
        Lang::En => amount.en(),
    }
}

/// Who issues the invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issuer {
    pub name_ja: String,
    pub name_en: String,
    pub registration_number: RegistrationNumber,
}

/// What the center knows about an invoice beyond its amounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentMeta {
    /// The invoice number, sequential without gaps (given by the center).
    pub number: String,
    pub issuer: Issuer,
    /// The customer's name, as on the contract.
    pub recipient: String,
}

/// A label and its value, both as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Field {
    pub label: String,
    pub value: String,
}

/// One line of the document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocLine {
    pub description: String,
    /// The date of the transaction.
    pub date: String,
    /// The rate, or the words for "not taxable".
    pub rate: String,
    pub amount: String,
    pub amount_yen: Yen,
}

/// The subtotal and tax of one rate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocRate {
    /// `10%対象` / `Subject to 10%`.
    pub label: String,
    pub subtotal: String,
    pub tax_label: String,
    pub tax: String,
}

/// A qualified invoice as text, in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvoiceDocument {
    pub lang: Lang,
    pub title: String,
    /// `株式会社X 御中` / `To: X`.
    pub recipient: String,
    pub number: Field,
    pub issuer_name: Field,
    pub registration_number: Field,
    pub issue_date: Field,
    pub due_date: Field,
    /// The service month: the period of the transactions.
    pub period: Field,
    /// Column headings: description, date, rate, amount.
    pub columns: [String; 4],
    pub lines: Vec<DocLine>,
    /// Per rate: subtotal and tax (the qualified-invoice items).
    pub rates: Vec<DocRate>,
    /// Lines without tax, when there are any.
    pub non_taxable: Option<Field>,
    pub tax_total: Field,
    pub total: Field,
}

/// An invoice that cannot be shown as a qualified invoice.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error("the {0} is empty: a qualified invoice must show it")]
    Missing(&'static str),
    #[error("invoice {0} has no lines: there is nothing to bill")]
    NoLines(String),
}

/// Lays out `invoice` as a qualified invoice in `lang`.
pub fn qualified_invoice(
    invoice: &Invoice,
    meta: &DocumentMeta,
    lang: Lang,
) -> Result<InvoiceDocument, DocumentError> {
    let name = match lang {
        Lang::Ja => meta.issuer.name_ja.trim(),
        Lang::En => meta.issuer.name_en.trim(),
    };
    if name.is_empty() {
        return Err(DocumentError::Missing("issuer's name"));
    }
    if meta.recipient.trim().is_empty() {
        return Err(DocumentError::Missing("recipient's name"));
    }
    if meta.number.trim().is_empty() {
        return Err(DocumentError::Missing("invoice number"));
    }
    if invoice.lines.is_empty() {
        return Err(DocumentError::NoLines(meta.number.clone()));
    }
    let ja = lang == Lang::Ja;
    let t = |j: &str, e: &str| if ja { j.to_string() } else { e.to_string() };
    let field = |j: &str, e: &str, value: String| Field {
        label: t(j, e),
        value,
    };
    let month = invoice.month;
    let period = format!(
        "{} – {}",
        format_date(month.first_day(), lang),
        format_date(month.last_day(), lang)
    );
    let lines = invoice
        .lines
        .iter()
        .map(|l| DocLine {
            description: if ja { l.kind.ja() } else { l.kind.en() }.to_string(),
            date: format_date(l.date, lang),
            rate: match (l.taxable, l.rate) {
                (true, Some(r)) => r.to_string(),
                _ => t("対象外", "not taxable"),
            },
            amount: format_yen(l.amount, lang),
            amount_yen: l.amount,
        })
        .collect();
    let rates = invoice
        .by_rate
        .iter()
        .map(|r| DocRate {
            label: if ja {
                format!("{}対象", r.rate)
            } else {
                format!("Subject to {}", r.rate)
            },
            subtotal: format_yen(r.taxable_subtotal, lang),
            tax_label: if ja {
                format!("消費税({})", r.rate)
            } else {
                format!("Consumption tax ({})", r.rate)
            },
            tax: format_yen(r.tax, lang),
        })
        .collect();
    let non_taxable = (invoice.non_taxable_subtotal > Yen::ZERO).then(|| {
        field(
            "対象外（不課税）",
            "Not subject to consumption tax",
            format_yen(invoice.non_taxable_subtotal, lang),
        )
    });
    Ok(InvoiceDocument {
        lang,
        title: t("適格請求書", "Qualified Invoice"),
        recipient: if ja {
            format!("{} 御中", meta.recipient.trim())
        } else {
            format!("To: {}", meta.recipient.trim())
        },
        number: field("請求書番号", "Invoice number", meta.number.clone()),
        issuer_name: field("発行者", "Issuer", name.to_string()),
        registration_number: field(
            "登録番号",
            "Registration number",
            meta.issuer.registration_number.to_string(),
        ),
        issue_date: field(
            "発行日",
            "Issue date",
            format_date(invoice.issue_date, lang),
        ),
        due_date: field(
            "お支払期限",
            "Due date",
            format_date(invoice.due_date, lang),
        ),
        period: field("取引期間", "Period of the transactions", period),
        columns: [
            t("内容", "Description"),
            t("取引日", "Date"),
            t("税率", "Rate"),
            t("金額（税抜）", "Amount (before tax)"),
        ],
        lines,
        rates,
        non_taxable,
        tax_total: field(
            "消費税額合計",
            "Total consumption tax",
            format_yen(invoice.tax, lang),
        ),
        total: field(
            "ご請求金額（税込）",
            "Total (tax included)",
            format_yen(invoice.total, lang),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invoice::{InvoiceLine, LineKind};
    use crate::money::Rate;
    use jiff::civil::date;

    fn meta() -> DocumentMeta {
        DocumentMeta {
            number: "2026-000123".into(),
            issuer: Issuer {
                name_ja: "守りネット株式会社".into(),
                name_en: "Mamori Net K.K.".into(),
                registration_number: "T7000012050002".parse().unwrap(),
            },
            recipient: "株式会社サンプル".into(),
        }
    }

    fn september() -> Invoice {
        let ten = Rate::percent(10).unwrap();
        Invoice::new(
            "2026-09".parse().unwrap(),
            date(2026, 10, 1),
            date(2026, 10, 31),
            vec![
                InvoiceLine {
                    kind: LineKind::MonthlyFee,
                    amount: Yen::new(20_000),
                    taxable: true,
                    rate: Some(ten),
                    date: date(2026, 9, 20),
                },
                InvoiceLine {
                    kind: LineKind::EarlyTermination,
                    amount: Yen::new(199_000),
                    taxable: false,
                    rate: None,
                    date: date(2026, 9, 20),
                },
            ],
        )
        .unwrap()
    }

    /// Registration numbers: T + 13 digits with the corporate-number check digit
    /// (the National Tax Agency's own number 7000012050002, Toyota's 1180301018771).
    #[test]
    fn registration_numbers_are_checked() {
        for ok in ["T7000012050002", "T1180301018771"] {
            assert_eq!(ok.parse::<RegistrationNumber>().unwrap().to_string(), ok);
        }
        assert!(matches!(
            "T8000012050002".parse::<RegistrationNumber>(),
            Err(RegistrationError::CheckDigit {
                given: 8,
                expected: 7,
                ..
            })
        ));
        for bad in [
            "7000012050002",
            "T700001205000",
            "T70000120500021",
            "t7000012050002",
            "T70000120500O2",
            "",
        ] {
            assert!(
                matches!(
                    bad.parse::<RegistrationNumber>(),
                    Err(RegistrationError::Format(_))
                ),
                "{bad:?}"
            );
        }
    }

    /// The Japanese document: 年月日 dates, ¥ amounts, every qualified-invoice item.
    #[test]
    fn qualified_invoice_in_japanese() {
        let d = qualified_invoice(&september(), &meta(), Lang::Ja).unwrap();
        assert_eq!(d.title, "適格請求書");
        assert_eq!(d.recipient, "株式会社サンプル 御中");
        assert_eq!(d.issuer_name.value, "守りネット株式会社");
        assert_eq!(d.registration_number.value, "T7000012050002");
        assert_eq!(d.issue_date.value, "2026年10月1日");
        assert_eq!(d.due_date.value, "2026年10月31日");
        assert_eq!(d.period.value, "2026年9月1日 – 2026年9月30日");
        assert_eq!(d.lines[0].description, "セキュリティーパック料金");
        assert_eq!(d.lines[0].date, "2026年9月20日");
        assert_eq!(d.lines[0].amount, "¥20,000");
        assert_eq!(d.lines[1].rate, "対象外");
        assert_eq!(d.rates.len(), 1);
        assert_eq!(d.rates[0].label, "10%対象");
        assert_eq!(d.rates[0].subtotal, "¥20,000");
        assert_eq!(d.rates[0].tax, "¥2,000");
        assert_eq!(d.non_taxable.unwrap().value, "¥199,000");
        assert_eq!(d.tax_total.value, "¥2,000");
        assert_eq!(d.total.value, "¥221,000");
    }

    /// The English document.
    #[test]
    fn qualified_invoice_in_english() {
        let d = qualified_invoice(&september(), &meta(), Lang::En).unwrap();
        assert_eq!(d.title, "Qualified Invoice");
        assert_eq!(d.issuer_name.value, "Mamori Net K.K.");
        assert_eq!(d.issue_date.value, "1 October 2026");
        assert_eq!(
            d.lines[1].description,
            "Early termination: rest of the minimum term"
        );
        assert_eq!(d.lines[1].rate, "not taxable");
        assert_eq!(d.rates[0].label, "Subject to 10%");
        assert_eq!(d.total.value, "JPY 221,000");
    }

    /// A document that would lack a required item is refused.
    #[test]
    fn missing_items_are_refused() {
        let mut m = meta();
        m.recipient = " ".into();
        assert_eq!(
            qualified_invoice(&september(), &m, Lang::Ja),
            Err(DocumentError::Missing("recipient's name"))
        );
        let mut m = meta();
        m.issuer.name_en = String::new();
        assert!(qualified_invoice(&september(), &m, Lang::En).is_err());
        assert!(qualified_invoice(&september(), &m, Lang::Ja).is_ok());
    }
}
