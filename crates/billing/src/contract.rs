//! The contract and the reasons the terms name: refusal of an application
//! (Art. 8-2) and termination by the provider (Art. 12-1, 12-2).
//!
//! These are plain domain types: the center stores them with its own database types
//! and explicit conversions.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::fees::{self, FeeError};
use crate::money::Yen;
use crate::term::{self, Cancellation, DateRangeError};

/// A contract for the service (Art. 8-1: it exists once the provider accepts the
/// application and notifies the applicant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contract {
    /// The service start date: day 1 of the minimum term (Art. 10-1).
    pub start: Date,
    /// Yen per month before tax, from the quotation (Art. 17-1).
    pub monthly_fee: Yen,
    /// The last day of the minimum term, from [`crate::term::minimum_term_end`].
    pub minimum_term_end: Date,
    /// How the contract ended, once it has.
    pub ending: Option<Ending>,
}

impl Contract {
    /// A running contract that starts on `start` at `monthly_fee` a month; its
    /// minimum term follows from the start (Art. 10-1).
    pub fn new(start: Date, monthly_fee: Yen) -> Result<Contract, DateRangeError> {
        Ok(Contract {
            start,
            monthly_fee,
            minimum_term_end: term::minimum_term_end(start)?,
            ending: None,
        })
    }

    /// The last day of service, once the contract has ended.
    pub fn end(&self) -> Option<Date> {
        self.ending.as_ref().map(Ending::end)
    }

    /// Art. 11-1: what a cancellation notice received on `notice` asking to end on
    /// `requested_end` gives, without recording it: shown to the customer before they
    /// confirm (the earliest allowed end date, and whether their date moves).
    pub fn preview_cancellation(
        &self,
        notice: Date,
        requested_end: Date,
    ) -> Result<Cancellation, DateRangeError> {
        term::cancel(notice, requested_end)
    }

    /// Art. 10-2: the lump sum due if the service ends on `end`.
    pub fn early_termination(&self, end: Date) -> Result<Yen, FeeError> {
        fees::early_termination(self.monthly_fee, self.start, end)
    }
}

/// How a contract ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Ending {
    /// Cancelled by the customer with notice (Art. 11-1).
    Customer(Cancellation),
    /// Terminated by the provider (Art. 12).
    Provider(ProviderTermination),
}

impl Ending {
    /// The last day of service.
    pub fn end(&self) -> Date {
        match self {
            Ending::Customer(c) => c.end,
            Ending::Provider(p) => p.end,
        }
    }
}

/// Art. 12: termination by the provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderTermination {
    pub reason: TerminationReason,
    /// Art. 12-2: prior notice, unless urgent.
    pub notice: TerminationNotice,
    /// The last day of service. Art. 12-3: on this day every debt falls due at once.
    pub end: Date,
}

/// Art. 12-2: how the customer was told of a termination by the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TerminationNotice {
    /// Notice sent on `date`, before the termination.
    Prior { date: Date },
    /// Urgent and unavoidable: no prior notice.
    Urgent,
}

/// The reasons for which the provider may terminate (Art. 12-1 (1)–(9)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TerminationReason {
    /// (1) attachment, auction, bankruptcy, rehabilitation or reorganisation
    /// proceedings, or liquidation.
    Insolvency,
    /// (2) fees or other debts unpaid after the due date.
    NonPayment,
    /// (3) suspension or closure of business, or transfer of all or an important part
    /// of it.
    BusinessClosure,
    /// (4) breach of the terms or of their intent.
    TermsViolation,
    /// (5) a false statement in the application found out.
    FalseStatement,
    /// (6) the provider's telecommunication service contract it requires has ended.
    CarrierContractEnded,
    /// (7) the customer is or is closely tied to an antisocial force.
    AntisocialForces,
    /// (8) fraud, violence or threats against the provider.
    FraudOrThreat,
    /// (9) otherwise unfit as a customer, or an obstacle to providing the service.
    Other,
}

impl TerminationReason {
    pub const ALL: [TerminationReason; 9] = [
        TerminationReason::Insolvency,
        TerminationReason::NonPayment,
        TerminationReason::BusinessClosure,
        TerminationReason::TermsViolation,
        TerminationReason::FalseStatement,
        TerminationReason::CarrierContractEnded,
        TerminationReason::AntisocialForces,
        TerminationReason::FraudOrThreat,
        TerminationReason::Other,
    ];

    /// The item of Art. 12-1, e.g. `"Art. 12-1 (2)"`.
    pub fn article(self) -> String {
        format!("Art. 12-1 ({})", self.item())
    }

    /// The number of the item in Art. 12-1.
    pub fn item(self) -> u8 {
        match self {
            TerminationReason::Insolvency => 1,
            TerminationReason::NonPayment => 2,
            TerminationReason::BusinessClosure => 3,
            TerminationReason::TermsViolation => 4,
            TerminationReason::FalseStatement => 5,
            TerminationReason::CarrierContractEnded => 6,
            TerminationReason::AntisocialForces => 7,
            TerminationReason::FraudOrThreat => 8,
            TerminationReason::Other => 9,
        }
    }

    pub fn ja(self) -> &'static str {
        match self {
            TerminationReason::Insolvency => "差押・破産等の申立てまたは清算",
            TerminationReason::NonPayment => "支払期日を経過した料金等の未払い",
            TerminationReason::BusinessClosure => "営業の停止・廃止または譲渡",
            TerminationReason::TermsViolation => "規約等の内容または趣旨への違反",
            TerminationReason::FalseStatement => "契約申込内容等における虚偽の申告",
            TerminationReason::CarrierContractEnded => "当社の電気通信サービスの利用契約の解除",
            TerminationReason::AntisocialForces => "反社会的勢力への該当",
            TerminationReason::FraudOrThreat => "詐術・暴力的行為・脅迫的言辞",
            TerminationReason::Other => "その他、契約申込者として不適切またはサービス提供に支障",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            TerminationReason::Insolvency => {
                "attachment, auction, insolvency proceedings or liquidation"
            }
            TerminationReason::NonPayment => "fees or other debts unpaid after the due date",
            TerminationReason::BusinessClosure => "business suspended, closed or transferred",
            TerminationReason::TermsViolation => "breach of the terms",
            TerminationReason::FalseStatement => "false statement in the application",
            TerminationReason::CarrierContractEnded => {
                "the required telecommunication service contract has ended"
            }
            TerminationReason::AntisocialForces => "ties to antisocial forces",
            TerminationReason::FraudOrThreat => "fraud, violence or threats",
            TerminationReason::Other => "otherwise unfit, or an obstacle to the service",
        }
    }
}

/// The reasons for which the provider may refuse an application (Art. 8-2 (1)–(6)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalReason {
    /// (1) a serious technical or operational obstacle.
    TechnicalObstacle,
    /// (2) a risk that the applicant will not pay.
    RiskOfNonPayment,
    /// (3) a deliberately false statement in the application.
    FalseStatement,
    /// (4) a risk of unlawful use, or use against public order.
    UnlawfulUse,
    /// (5) a risk of use that damages the provider's or the service's credibility.
    DamagesCredibility,
    /// (6) otherwise judged inappropriate.
    Other,
}

impl RefusalReason {
    pub const ALL: [RefusalReason; 6] = [
        RefusalReason::TechnicalObstacle,
        RefusalReason::RiskOfNonPayment,
        RefusalReason::FalseStatement,
        RefusalReason::UnlawfulUse,
        RefusalReason::DamagesCredibility,
        RefusalReason::Other,
    ];

    /// The number of the item in Art. 8-2.
    pub fn item(self) -> u8 {
        match self {
            RefusalReason::TechnicalObstacle => 1,
            RefusalReason::RiskOfNonPayment => 2,
            RefusalReason::FalseStatement => 3,
            RefusalReason::UnlawfulUse => 4,
            RefusalReason::DamagesCredibility => 5,
            RefusalReason::Other => 6,
        }
    }

    /// The item of Art. 8-2, e.g. `"Art. 8-2 (2)"`.
    pub fn article(self) -> String {
        format!("Art. 8-2 ({})", self.item())
    }

    pub fn ja(self) -> &'static str {
        match self {
            RefusalReason::TechnicalObstacle => "技術上または業務の遂行上著しい支障",
            RefusalReason::RiskOfNonPayment => "債務の支払いを怠るおそれ",
            RefusalReason::FalseStatement => "申込書への虚偽の記載",
            RefusalReason::UnlawfulUse => "違法または公序良俗に反する利用のおそれ",
            RefusalReason::DamagesCredibility => "当社またはサービスの信用を毀損する利用のおそれ",
            RefusalReason::Other => "その他当社が不適切と判断",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            RefusalReason::TechnicalObstacle => "serious technical or operational obstacle",
            RefusalReason::RiskOfNonPayment => "risk of non-payment",
            RefusalReason::FalseStatement => "false statement in the application",
            RefusalReason::UnlawfulUse => "risk of unlawful use",
            RefusalReason::DamagesCredibility => "risk of use damaging the provider's credibility",
            RefusalReason::Other => "otherwise judged inappropriate",
        }
    }
}

/// A provider termination that cannot be recorded as given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TerminationError {
    #[error(
        "the notice of termination is dated {notice}, not before the termination on {end}; Art. 12-2 needs the notice first (or mark the termination urgent)"
    )]
    NoticeAfterEnd { notice: Date, end: Date },
}

impl ProviderTermination {
    /// Art. 12-2: a termination with prior notice must have its notice before the
    /// end date (a notice on the end date is no prior notice); an urgent one needs
    /// none.
    pub fn new(
        reason: TerminationReason,
        notice: TerminationNotice,
        end: Date,
    ) -> Result<ProviderTermination, TerminationError> {
        if let TerminationNotice::Prior { date } = notice
            && date >= end
        {
            return Err(TerminationError::NoticeAfterEnd { notice: date, end });
        }
        Ok(ProviderTermination {
            reason,
            notice,
            end,
        })
    }

    /// Art. 12-3: on termination every debt falls due at once, on the last day of
    /// service. Given an invoice's normal issue and due dates, returns the dates that
    /// apply: not issued later than `end`, not due later than `end`. Applies to the
    /// invoices of the service months up to the end's month.
    pub fn accelerate(&self, issue: Date, due: Date) -> (Date, Date) {
        (issue.min(self.end), due.min(self.end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    /// Art. 12-1: the nine reasons, numbered as the terms number them, each with
    /// Japanese and English text and a stable name.
    #[test]
    fn art_12_1_termination_reasons() {
        for (i, r) in TerminationReason::ALL.iter().enumerate() {
            assert_eq!(usize::from(r.item()), i + 1);
            assert!(!r.ja().is_empty() && !r.en().is_empty());
        }
        assert_eq!(TerminationReason::NonPayment.article(), "Art. 12-1 (2)");
        let json = serde_json::to_string(&TerminationReason::NonPayment).unwrap();
        assert_eq!(json, "\"non_payment\"");
    }

    /// Art. 8-2: the six refusal reasons, numbered as the terms number them.
    #[test]
    fn art_8_2_refusal_reasons() {
        for (i, r) in RefusalReason::ALL.iter().enumerate() {
            assert_eq!(usize::from(r.item()), i + 1);
            assert!(!r.ja().is_empty() && !r.en().is_empty());
        }
        assert_eq!(RefusalReason::RiskOfNonPayment.article(), "Art. 8-2 (2)");
        let back: RefusalReason = serde_json::from_str("\"unlawful_use\"").unwrap();
        assert_eq!(back, RefusalReason::UnlawfulUse);
    }

    /// Art. 12-3: all debts fall due at once on termination.
    #[test]
    fn art_12_3_debts_fall_due_at_once() {
        let t = ProviderTermination::new(
            TerminationReason::NonPayment,
            TerminationNotice::Urgent,
            date(2026, 7, 15),
        )
        .unwrap();
        assert_eq!(
            t.accelerate(date(2026, 7, 1), date(2026, 7, 31)),
            (date(2026, 7, 1), date(2026, 7, 15))
        );
        assert_eq!(
            t.accelerate(date(2026, 8, 1), date(2026, 8, 31)),
            (date(2026, 7, 15), date(2026, 7, 15))
        );
        assert_eq!(
            t.accelerate(date(2026, 6, 1), date(2026, 6, 30)),
            (date(2026, 6, 1), date(2026, 6, 30))
        );
    }

    /// Art. 10-1, 10-2, 11-1 through a contract: its minimum term, the lump sum and a
    /// cancellation preview.
    #[test]
    fn art_10_and_11_through_a_contract() {
        let c = Contract::new(date(2026, 4, 10), Yen::new(30_000)).unwrap();
        assert_eq!(c.minimum_term_end, date(2027, 4, 9));
        assert_eq!(
            c.early_termination(date(2026, 9, 20)).unwrap(),
            Yen::new(199_000)
        );
        let p = c
            .preview_cancellation(date(2026, 9, 1), date(2026, 9, 20))
            .unwrap();
        assert!(p.moved);
        assert_eq!(p.end, date(2026, 10, 1));
        assert_eq!(c.end(), None);
    }

    /// Art. 12-2: prior notice must precede the termination unless it is urgent.
    #[test]
    fn art_12_2_prior_notice_unless_urgent() {
        let end = date(2026, 9, 30);
        let r = TerminationReason::NonPayment;
        assert!(
            ProviderTermination::new(
                r,
                TerminationNotice::Prior {
                    date: date(2026, 9, 1)
                },
                end
            )
            .is_ok()
        );
        assert!(ProviderTermination::new(r, TerminationNotice::Urgent, end).is_ok());
        assert_eq!(
            ProviderTermination::new(
                r,
                TerminationNotice::Prior {
                    date: date(2026, 10, 1)
                },
                end
            ),
            Err(TerminationError::NoticeAfterEnd {
                notice: date(2026, 10, 1),
                end
            })
        );
        assert_eq!(
            ProviderTermination::new(r, TerminationNotice::Prior { date: end }, end),
            Err(TerminationError::NoticeAfterEnd { notice: end, end }),
            "a notice on the end date is not prior notice"
        );
    }
}
