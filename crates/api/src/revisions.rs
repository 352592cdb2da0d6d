//! Wire types of configuration revisions (`/api/v1/sites/{id}/revisions`). Serde only.

use serde::{Deserialize, Serialize};

use crate::settings::GatewaySettings;

/// One revision of a site's configuration. SNMP pass phrases are `********` for callers
/// who may not read them (customers).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Revision {
    pub site_id: i64,
    /// 1, 2, ... per site.
    pub number: i64,
    /// `draft`, `approved`, `rejected` or `published`.
    pub state: String,
    pub policy_text: String,
    pub settings: GatewaySettings,
    pub author: String,
    pub created_at: String,
    pub reason: String,
    pub instruction_id: Option<i64>,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<String>,
    pub review_note: Option<String>,
    pub published_by: Option<String>,
    pub published_at: Option<String>,
    /// The site's generation this revision was published as.
    pub generation: Option<i64>,
    /// The number of the revision a rollback copies.
    pub restored_from: Option<i64>,
    /// The checker's warnings (a revision with errors is never stored); only in the
    /// answer for one revision.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diagnostics: Vec<Diagnostic>,
}

/// A warning or error of the policy checker, at a line and column of `policy_text`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Diagnostic {
    /// `error` or `warning`.
    pub severity: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub hint: Option<String>,
}

/// A request to draft a revision.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRevision {
    /// The whole policy (TOML).
    pub policy_text: String,
    #[serde(default)]
    pub settings: GatewaySettings,
    /// Why the configuration changes (required).
    pub reason: String,
    /// The security officer's instruction this change answers.
    #[serde(default)]
    pub instruction_id: Option<i64>,
}

/// An approval (note optional) or a rejection (note required).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Review {
    #[serde(default)]
    pub note: String,
}

/// A rollback to the revision of the path: a new draft equal to it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rollback {
    pub reason: String,
    #[serde(default)]
    pub instruction_id: Option<i64>,
}

/// One line of a line diff: `context`, `added`, `removed`, or `gap` (unchanged lines
/// left out).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DiffLine {
    pub kind: String,
    pub old: Option<usize>,
    pub new: Option<usize>,
    pub text: String,
}

/// What changes between two checked policies and settings, by name.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ChangeSummary {
    pub rules_added: Vec<String>,
    pub rules_removed: Vec<String>,
    pub rules_changed: Vec<String>,
    pub objects_added: Vec<String>,
    pub objects_removed: Vec<String>,
    pub objects_changed: Vec<String>,
    pub zones: Vec<String>,
    pub nat: Vec<String>,
    pub load_balancers: Vec<String>,
    pub settings: Vec<String>,
    /// Why the policy part is missing (a policy that does not check).
    pub unavailable: Option<String>,
}

/// Two revisions of a site compared.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RevisionDiff {
    pub site_id: i64,
    pub from: i64,
    pub to: i64,
    pub policy: Vec<DiffLine>,
    pub settings: Vec<DiffLine>,
    pub summary: ChangeSummary,
}
