//! Wire types shared by the center and the agent (agent protocol) and by clients of the
//! public REST API. Serde only: versioned, separate from domain and database types.

pub mod agent;
pub mod billing;
pub mod gateways;
pub mod monitoring;
pub mod revisions;
pub mod settings;
pub mod tasks;
pub mod v1;
