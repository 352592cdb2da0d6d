//! Wire types of the equipment inventory (`/api/v1/equipment`). Serde only.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Equipment {
    pub id: i64,
    pub serial: String,
    pub model: String,
    /// `in_stock`, `lent`, `installed`, `disconnected`, `relocating`, `failed`,
    /// `replaced` or `returned`.
    pub state: String,
    pub customer_id: Option<i64>,
    pub site_id: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
    /// The unit's history, oldest first (only in the answer for one unit).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<EquipmentEvent>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EquipmentEvent {
    pub at: String,
    pub actor: String,
    /// Absent for the unit's entry into the inventory.
    pub from: Option<String>,
    pub to: String,
    pub customer_id: Option<i64>,
    pub site_id: Option<i64>,
    pub note: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewEquipment {
    pub serial: String,
    pub model: String,
}

/// A move of a unit to its next state.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MoveEquipment {
    pub to: String,
    /// Only when lending: the customer.
    #[serde(default)]
    pub customer_id: Option<i64>,
    /// Only when installing: the site.
    #[serde(default)]
    pub site_id: Option<i64>,
    #[serde(default)]
    pub note: String,
}

/// A request for a one-time enrolment token for a unit at a site.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewEnrolmentToken {
    pub equipment_id: i64,
    /// Minutes until the token expires (1 to 10080); 60 when absent.
    #[serde(default)]
    pub ttl_minutes: Option<i64>,
}

/// The token, shown once: `mamori agent --center URL --token TOKEN`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrolmentToken {
    pub token: String,
    pub site_id: i64,
    pub equipment_id: i64,
    pub expires_at: String,
}
