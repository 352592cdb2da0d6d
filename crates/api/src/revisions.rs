//! Wire types of configuration revisions (`/api/v1/sites/{id}/revisions`). Serde only.

use serde::{Deserialize, Serialize};

use crate::settings::GatewaySettings;

/// One revision of a site's configuration. SNMP pass phrases are `********` for callers
/// who may not read them (customers).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Review {
    #[serde(default)]
    pub note: String,
}

/// A rollback to the revision of the path: a new draft equal to it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Rollback {
    pub reason: String,
    #[serde(default)]
    pub instruction_id: Option<i64>,
}

/// One line of a line diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DiffLine {
    pub kind: DiffKind,
    /// 1-based line in the old text (context and removed lines).
    pub old: Option<usize>,
    /// 1-based line in the new text (context and added lines).
    pub new: Option<usize>,
    pub text: String,
}

/// What a diff line is: `context`, `added`, `removed`, or `gap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum DiffKind {
    Context,
    Added,
    Removed,
    /// Unchanged lines left out between two hunks.
    Gap,
}

/// What changes between two checked policies and settings, by name. The center
/// computes it and sends it as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangeSummary {
    pub rules_added: Vec<String>,
    pub rules_removed: Vec<String>,
    pub rules_changed: Vec<String>,
    pub objects_added: Vec<String>,
    pub objects_removed: Vec<String>,
    pub objects_changed: Vec<String>,
    /// Interfaces, zones and default actions.
    pub zones: Vec<String>,
    /// Masquerade, source NAT, port forwards, 1:1 NAT.
    pub nat: Vec<String>,
    pub load_balancers: Vec<String>,
    pub settings: Vec<String>,
    /// Why the policy part is missing: set when one of the policies does not check
    /// (then only the text diff is known).
    pub unavailable: Option<String>,
}

impl ChangeSummary {
    /// Nothing changes (whether or not `unavailable` is set).
    pub fn is_empty(&self) -> bool {
        *self
            == ChangeSummary {
                unavailable: self.unavailable.clone(),
                ..ChangeSummary::default()
            }
    }
}

/// Two revisions of a site compared.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevisionDiff {
    pub site_id: i64,
    pub from: i64,
    pub to: i64,
    pub policy: Vec<DiffLine>,
    pub settings: Vec<DiffLine>,
    pub summary: ChangeSummary,
}
