//! The monitoring's incidents as the center keeps them: one per problem (its `key`, the
//! engine's: a site's reachability, a check, a trap), opened by the monitoring engine
//! (`mamori_monitor`), acknowledged and resolved by operators or resolved by itself when
//! the problem clears, with a timeline. Time comes in as milliseconds.

use crate::ids::{CustomerId, IncidentId, SiteId, UserId};

/// Where an incident stands: open -> acknowledged -> resolved (or open -> resolved).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentState {
    Open,
    Acknowledged,
    Resolved,
}

impl IncidentState {
    pub const ALL: [IncidentState; 3] = [
        IncidentState::Open,
        IncidentState::Acknowledged,
        IncidentState::Resolved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IncidentState::Open => "open",
            IncidentState::Acknowledged => "acknowledged",
            IncidentState::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<IncidentState> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The states an incident may move to from this one (a resolved incident stays
    /// resolved: the same problem again is a new incident).
    pub fn can_become(self, next: IncidentState) -> bool {
        use IncidentState::*;
        matches!(
            (self, next),
            (Open, Acknowledged) | (Open, Resolved) | (Acknowledged, Resolved)
        )
    }
}

/// How serious an incident is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Info, Severity::Warning, Severity::Critical];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// An incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    pub id: IncidentId,
    pub customer_id: CustomerId,
    pub site_id: SiteId,
    /// The problem's key: at most one incident per key is not resolved.
    pub key: String,
    pub severity: Severity,
    pub state: IncidentState,
    pub summary: String,
    pub opened_at: i64,
    pub acknowledged_at: Option<i64>,
    pub acknowledged_by: Option<UserId>,
    pub resolved_at: Option<i64>,
    /// Opened inside a maintenance window (no alert; its time does not count against
    /// availability).
    pub in_maintenance: bool,
}

impl Incident {
    /// How long the problem has lasted: until it was resolved, or until `now`.
    pub fn duration_ms(&self, now: i64) -> i64 {
        self.resolved_at
            .unwrap_or(now)
            .saturating_sub(self.opened_at)
            .max(0)
    }
}

/// What happened to an incident: its timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentEventKind {
    Opened,
    Acknowledged,
    Resolved,
    Comment,
}

impl IncidentEventKind {
    pub const ALL: [IncidentEventKind; 4] = [
        IncidentEventKind::Opened,
        IncidentEventKind::Acknowledged,
        IncidentEventKind::Resolved,
        IncidentEventKind::Comment,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IncidentEventKind::Opened => "opened",
            IncidentEventKind::Acknowledged => "acknowledged",
            IncidentEventKind::Resolved => "resolved",
            IncidentEventKind::Comment => "comment",
        }
    }

    pub fn parse(s: &str) -> Option<IncidentEventKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One entry of an incident's timeline: who (none: the monitoring itself), when, what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentEvent {
    pub at: i64,
    pub kind: IncidentEventKind,
    pub actor: Option<String>,
    pub note: String,
}

/// Which incidents a list shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IncidentFilter {
    pub state: Option<IncidentState>,
    pub site_id: Option<SiteId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_move_forward_only_and_round_trip() {
        use IncidentState::*;
        for s in IncidentState::ALL {
            assert_eq!(IncidentState::parse(s.as_str()), Some(s));
            assert!(!s.can_become(s), "{s:?} to itself");
            assert!(
                !Resolved.can_become(s),
                "a resolved incident stays resolved"
            );
        }
        assert!(Open.can_become(Acknowledged) && Open.can_become(Resolved));
        assert!(Acknowledged.can_become(Resolved) && !Acknowledged.can_become(Open));
        for k in IncidentEventKind::ALL {
            assert_eq!(IncidentEventKind::parse(k.as_str()), Some(k));
        }
        for v in Severity::ALL {
            assert_eq!(Severity::parse(v.as_str()), Some(v));
        }
    }

    #[test]
    fn duration_runs_until_resolved() {
        let mut i = Incident {
            id: IncidentId::new(1),
            customer_id: CustomerId::new(1),
            site_id: SiteId::new(1),
            key: "site/1/reachability".into(),
            severity: Severity::Critical,
            state: IncidentState::Open,
            summary: "unreachable".into(),
            opened_at: 1_000,
            acknowledged_at: None,
            acknowledged_by: None,
            resolved_at: None,
            in_maintenance: false,
        };
        assert_eq!(i.duration_ms(61_000), 60_000);
        i.resolved_at = Some(31_000);
        assert_eq!(i.duration_ms(61_000), 30_000);
    }
}
