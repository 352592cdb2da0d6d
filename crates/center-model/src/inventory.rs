//! The life of a leased appliance (Art. 15): which state may follow which, and what each
//! move needs. Pure: no database, no clock.

use crate::ids::*;
use crate::ids::{CustomerId, SiteId};
use std::fmt;

/// Where a unit of equipment is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EquipmentState {
    /// In the provider's stock, lent to nobody.
    InStock,
    /// Lent to a customer under a contract, not yet installed.
    Lent,
    /// Installed at one of the customer's sites.
    Installed,
    /// Taken out of service with notice (Art. 15), still with the customer.
    Disconnected,
    /// Being moved to another site of the same customer.
    Relocating,
    /// Reported failed; awaits replacement.
    Failed,
    /// Replaced by a spare; the unit is on its way back.
    Replaced,
    /// Back with the provider (end of the lease or after a replacement).
    Returned,
}

impl EquipmentState {
    pub const ALL: [EquipmentState; 8] = [
        EquipmentState::InStock,
        EquipmentState::Lent,
        EquipmentState::Installed,
        EquipmentState::Disconnected,
        EquipmentState::Relocating,
        EquipmentState::Failed,
        EquipmentState::Replaced,
        EquipmentState::Returned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EquipmentState::InStock => "in_stock",
            EquipmentState::Lent => "lent",
            EquipmentState::Installed => "installed",
            EquipmentState::Disconnected => "disconnected",
            EquipmentState::Relocating => "relocating",
            EquipmentState::Failed => "failed",
            EquipmentState::Replaced => "replaced",
            EquipmentState::Returned => "returned",
        }
    }

    pub fn parse(s: &str) -> Option<EquipmentState> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The state's name in the message catalog.
    pub fn name(self) -> crate::messages::panel::EquipmentStateName {
        use crate::messages::panel::EquipmentStateName;
        match self {
            EquipmentState::InStock => EquipmentStateName::InStock,
            EquipmentState::Lent => EquipmentStateName::Lent,
            EquipmentState::Installed => EquipmentStateName::Installed,
            EquipmentState::Disconnected => EquipmentStateName::Disconnected,
            EquipmentState::Relocating => EquipmentStateName::Relocating,
            EquipmentState::Failed => EquipmentStateName::Failed,
            EquipmentState::Replaced => EquipmentStateName::Replaced,
            EquipmentState::Returned => EquipmentStateName::Returned,
        }
    }

    /// Japanese and English labels (from the message catalog).
    pub fn label(self) -> (&'static str, &'static str) {
        let n = self.name();
        (
            n.text(crate::messages::Lang::Ja),
            n.text(crate::messages::Lang::En),
        )
    }

    /// The states that may follow this one.
    pub fn next(self) -> &'static [EquipmentState] {
        use EquipmentState::*;
        match self {
            InStock => &[Lent],
            Lent => &[Installed, Failed, Returned],
            Installed => &[Disconnected, Relocating, Failed],
            Disconnected => &[Installed, Failed, Returned],
            Relocating => &[Installed, Failed],
            Failed => &[Replaced, Returned],
            Replaced => &[Returned],
            Returned => &[InStock],
        }
    }

    /// Whether the unit belongs to a customer in this state.
    pub fn with_customer(self) -> bool {
        !matches!(self, EquipmentState::InStock | EquipmentState::Returned)
    }
}

impl fmt::Display for EquipmentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the unit is: its state, and the customer and site it is with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    pub state: EquipmentState,
    pub customer_id: Option<CustomerId>,
    pub site_id: Option<SiteId>,
}

/// A requested move: the new state and, where the move needs them, the customer
/// (lending) and the site (installing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Move {
    pub to: EquipmentState,
    pub customer_id: Option<CustomerId>,
    pub site_id: Option<SiteId>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoveError {
    #[error("a unit that is {from} cannot become {to}; from {from} it can become: {allowed}")]
    NotAllowed {
        from: EquipmentState,
        to: EquipmentState,
        allowed: String,
    },
    #[error("lending a unit needs the customer it is lent to (customer_id)")]
    NeedsCustomer,
    #[error("installing a unit needs the site it is installed at (site_id)")]
    NeedsSite,
    #[error("{0} is only given when lending (customer_id) or installing (site_id)")]
    Unexpected(&'static str),
}

/// Checks a move and returns where the unit will be. The customer stays from lending
/// until the unit is returned; the site is set when installed and kept while it is
/// disconnected, relocating, failed or replaced (the history says where it was).
pub fn apply(from: Placement, m: Move) -> Result<Placement, MoveError> {
    use EquipmentState::*;
    if !from.state.next().contains(&m.to) {
        return Err(MoveError::NotAllowed {
            from: from.state,
            to: m.to,
            allowed: from
                .state
                .next()
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    if m.customer_id.is_some() && m.to != Lent {
        return Err(MoveError::Unexpected("customer_id"));
    }
    if m.site_id.is_some() && m.to != Installed {
        return Err(MoveError::Unexpected("site_id"));
    }
    let placement = match m.to {
        Lent => Placement {
            state: Lent,
            customer_id: Some(m.customer_id.ok_or(MoveError::NeedsCustomer)?),
            site_id: None,
        },
        Installed => Placement {
            state: Installed,
            customer_id: from.customer_id,
            site_id: Some(m.site_id.ok_or(MoveError::NeedsSite)?),
        },
        Returned | InStock => Placement {
            state: m.to,
            customer_id: None,
            site_id: None,
        },
        other => Placement {
            state: other,
            ..from
        },
    };
    Ok(placement)
}

/// One unit of equipment and where it is now.
#[derive(Debug, Clone)]
pub struct Equipment {
    pub id: EquipmentId,
    pub serial: String,
    pub model: String,
    pub placement: Placement,
    /// The installation number: grows by one with every move. Enrolment tokens,
    /// certificates and the agent's status belong to one installation; a move starts a
    /// new one, so none of them outlives the placement it was made for.
    pub installation: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One move in a unit's life; never changed once written.
#[derive(Debug, Clone)]
pub struct EquipmentEvent {
    pub id: i64,
    pub equipment_id: EquipmentId,
    pub at: i64,
    pub actor: String,
    /// `None` for the unit's entry into the inventory.
    pub from: Option<EquipmentState>,
    pub to: EquipmentState,
    pub customer_id: Option<CustomerId>,
    pub site_id: Option<SiteId>,
    pub note: String,
}

/// A one-time enrolment token (the token itself is never stored).
#[derive(Debug, Clone)]
pub struct EnrolmentToken {
    pub id: i64,
    pub customer_id: CustomerId,
    pub site_id: SiteId,
    pub equipment_id: EquipmentId,
    /// The unit's installation the token was made in.
    pub installation: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    /// Set when the unit moved before the token was used.
    pub revoked_at: Option<i64>,
}

/// A certificate issued to an agent, by serial number.
#[derive(Debug, Clone)]
pub struct AgentCert {
    pub serial: String,
    pub customer_id: CustomerId,
    pub site_id: SiteId,
    pub equipment_id: EquipmentId,
    /// The unit's installation the certificate was issued for.
    pub installation: i64,
    pub not_after: i64,
    pub revoked_at: Option<i64>,
    pub revoked_reason: Option<String>,
}

/// The inventory list's filters.
#[derive(Debug, Clone, Default)]
pub struct EquipmentFilter {
    pub state: Option<EquipmentState>,
    pub customer_id: Option<CustomerId>,
}

#[cfg(test)]
mod tests {
    use super::EquipmentState::*;
    use super::*;

    fn at(state: EquipmentState, c: Option<i64>, s: Option<i64>) -> Placement {
        Placement {
            state,
            customer_id: c.map(CustomerId::new),
            site_id: s.map(SiteId::new),
        }
    }
    fn mv(to: EquipmentState) -> Move {
        Move {
            to,
            customer_id: None,
            site_id: None,
        }
    }

    #[test]
    fn art_15_full_life_of_a_unit() {
        let p = at(InStock, None, None);
        let p = apply(
            p,
            Move {
                customer_id: Some(CustomerId::new(7)),
                ..mv(Lent)
            },
        )
        .unwrap();
        assert_eq!(p, at(Lent, Some(7), None));
        let p = apply(
            p,
            Move {
                site_id: Some(SiteId::new(3)),
                ..mv(Installed)
            },
        )
        .unwrap();
        assert_eq!(p, at(Installed, Some(7), Some(3)));
        let p = apply(p, mv(Relocating)).unwrap();
        assert_eq!(p, at(Relocating, Some(7), Some(3)));
        let p = apply(
            p,
            Move {
                site_id: Some(SiteId::new(4)),
                ..mv(Installed)
            },
        )
        .unwrap();
        let p = apply(p, mv(Failed)).unwrap();
        let p = apply(p, mv(Replaced)).unwrap();
        assert_eq!(p, at(Replaced, Some(7), Some(4)));
        let p = apply(p, mv(Returned)).unwrap();
        assert_eq!(p, at(Returned, None, None));
        assert_eq!(apply(p, mv(InStock)).unwrap(), at(InStock, None, None));
    }

    #[test]
    fn art_15_refused_moves_say_what_is_allowed() {
        let e = apply(at(InStock, None, None), mv(Installed)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "a unit that is in_stock cannot become installed; from in_stock it can become: lent"
        );
        assert_eq!(
            apply(at(InStock, None, None), mv(Lent)),
            Err(MoveError::NeedsCustomer)
        );
        assert_eq!(
            apply(at(Lent, Some(1), None), mv(Installed)),
            Err(MoveError::NeedsSite)
        );
        assert_eq!(
            apply(
                at(Installed, Some(1), Some(2)),
                Move {
                    customer_id: Some(CustomerId::new(9)),
                    ..mv(Failed)
                }
            ),
            Err(MoveError::Unexpected("customer_id"))
        );
    }

    #[test]
    fn every_state_is_reachable_and_can_end_returned() {
        use std::collections::HashSet;
        let mut seen: HashSet<EquipmentState> = [InStock].into();
        let mut todo = vec![InStock];
        while let Some(s) = todo.pop() {
            for &n in s.next() {
                if seen.insert(n) {
                    todo.push(n);
                }
            }
        }
        assert_eq!(seen.len(), EquipmentState::ALL.len());
        for s in EquipmentState::ALL {
            assert_eq!(EquipmentState::parse(s.as_str()), Some(s));
            // Some path leads back to stock.
            let mut cur = s;
            for _ in 0..8 {
                if cur == InStock {
                    break;
                }
                cur = *cur
                    .next()
                    .iter()
                    .find(|n| **n == Returned || **n == InStock)
                    .unwrap_or(&cur.next()[cur.next().len() - 1]);
            }
            assert_eq!(cur, InStock, "from {s}");
        }
    }
}
