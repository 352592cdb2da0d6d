//! Wire types of the equipment inventory (`/api/v1/equipment`). Serde only.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
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
#[serde(deny_unknown_fields)]
pub struct NewEquipment {
    pub serial: String,
    pub model: String,
}

/// A move of a unit to its next state.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
