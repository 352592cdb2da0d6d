//! The fleet: each installed unit's agent as the center last heard of it (applied and
//! desired generations, failures, drift), its reports, and the fleet view's rows.

use crate::ids::*;
use crate::ids::{CustomerId, SiteId};

/// A unit's agent as the center last heard of it, in one installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentStatus {
    pub equipment_id: EquipmentId,
    /// The unit's installation this status belongs to.
    pub installation: i64,
    pub customer_id: CustomerId,
    pub site_id: SiteId,
    pub last_contact: i64,
    pub last_address: String,
    /// The generation the agent last reported applied (0: none).
    pub applied_generation: i64,
    /// `none`, `applied`, `apply_failed`, `rolled_back` or `refused`: the last apply.
    pub apply_state: String,
    pub apply_generation: Option<i64>,
    /// Why the last apply failed, was rolled back or refused.
    pub apply_error: Option<String>,
    pub apply_at: Option<i64>,
    /// The drift the agent found and has not restored (None: none).
    pub drift: Option<String>,
    pub drift_at: Option<i64>,
}

/// One stored report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReport {
    pub report_id: String,
    pub equipment_id: EquipmentId,
    pub kind: String,
    pub generation: i64,
    pub detail: String,
    pub at: i64,
    pub received_at: i64,
}

/// One row of the fleet view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetRow {
    pub equipment_id: EquipmentId,
    pub serial: String,
    pub unit_state: String,
    pub customer_id: CustomerId,
    pub customer_name: String,
    pub site_id: SiteId,
    pub site_name: String,
    pub desired_generation: Option<i64>,
    pub last_contact: Option<i64>,
    pub applied_generation: Option<i64>,
    pub apply_state: Option<String>,
    pub apply_generation: Option<i64>,
    pub apply_error: Option<String>,
    pub drift: Option<String>,
}

/// The state of a unit in the fleet view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FleetState {
    /// Its agent never spoke to the center.
    NeverSeen,
    /// The live ruleset differs from the applied one.
    Drift,
    /// The desired generation failed (compile/apply error, rollback, refusal).
    Failed,
    /// The desired generation is not applied yet.
    Pending,
    /// Applied generation = desired generation.
    InSync,
}

impl FleetState {
    pub const ALL: [FleetState; 5] = [
        FleetState::NeverSeen,
        FleetState::Drift,
        FleetState::Failed,
        FleetState::Pending,
        FleetState::InSync,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            FleetState::NeverSeen => "never_seen",
            FleetState::Drift => "drift",
            FleetState::Failed => "failed",
            FleetState::Pending => "pending",
            FleetState::InSync => "in_sync",
        }
    }
    pub fn parse(s: &str) -> Option<FleetState> {
        FleetState::ALL.into_iter().find(|f| f.as_str() == s)
    }
    /// The state's name in the message catalog.
    pub fn name(self) -> crate::messages::panel::FleetStateName {
        use crate::messages::panel::FleetStateName;
        match self {
            FleetState::NeverSeen => FleetStateName::NeverSeen,
            FleetState::Drift => FleetStateName::Drift,
            FleetState::Failed => FleetStateName::Failed,
            FleetState::Pending => FleetStateName::Pending,
            FleetState::InSync => FleetStateName::InSync,
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
}

impl FleetRow {
    pub fn state(&self) -> FleetState {
        let desired = self.desired_generation.unwrap_or(0);
        let applied = self.applied_generation.unwrap_or(0);
        if self.last_contact.is_none() {
            return FleetState::NeverSeen;
        }
        if self.drift.is_some() {
            return FleetState::Drift;
        }
        let failed = matches!(
            self.apply_state.as_deref(),
            Some("apply_failed" | "rolled_back" | "refused")
        );
        if applied >= desired {
            FleetState::InSync
        } else if failed && self.apply_generation.unwrap_or(0) >= desired {
            FleetState::Failed
        } else {
            FleetState::Pending
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct FleetFilter {
    pub customer_id: Option<CustomerId>,
    pub state: Option<FleetState>,
}
