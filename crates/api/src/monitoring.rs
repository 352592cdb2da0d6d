//! Wire types of the monitoring's incidents (`/api/v1/incidents`). Serde only.

use serde::{Deserialize, Serialize};

/// An incident: one problem of one site, from its opening to its resolution.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Incident {
    pub id: i64,
    pub customer_id: i64,
    pub site_id: i64,
    /// The problem: `site/{id}/reachability`, a check's or a trap's key.
    pub key: String,
    /// `info`, `warning` or `critical`.
    pub severity: String,
    /// `open`, `acknowledged` or `resolved`.
    pub state: String,
    pub summary: String,
    pub opened_at: String,
    pub acknowledged_at: Option<String>,
    pub acknowledged_by: Option<i64>,
    pub resolved_at: Option<String>,
    /// How long the problem lasted (until now while it is not resolved), in seconds.
    pub duration_secs: i64,
    /// Opened in a maintenance window: no alert, no count against availability.
    pub in_maintenance: bool,
}

/// One entry of an incident's timeline.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IncidentEvent {
    pub at: String,
    /// `opened`, `acknowledged`, `resolved` or `comment`.
    pub kind: String,
    /// Who (absent: the monitoring itself).
    pub actor: Option<String>,
    pub note: String,
}

/// An incident with its timeline.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IncidentDetail {
    pub incident: Incident,
    pub timeline: Vec<IncidentEvent>,
}

/// A note with a change of an incident, or a comment.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct IncidentNote {
    #[serde(default)]
    pub note: String,
}
