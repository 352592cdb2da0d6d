//! Revisions of a site's configuration: where each is in the workflow (draft,
//! approved, rejected, published) and what is stored of it.

use crate::ids::*;
use crate::ids::{CustomerId, SiteId, UserId};
use std::fmt;

use mamori_api::settings::GatewaySettings;

/// Where a revision is in the workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevisionState {
    Draft,
    Approved,
    Rejected,
    Published,
}

impl RevisionState {
    pub const ALL: [RevisionState; 4] = [
        RevisionState::Draft,
        RevisionState::Approved,
        RevisionState::Rejected,
        RevisionState::Published,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RevisionState::Draft => "draft",
            RevisionState::Approved => "approved",
            RevisionState::Rejected => "rejected",
            RevisionState::Published => "published",
        }
    }

    pub fn parse(s: &str) -> Option<RevisionState> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The state's name in the message catalog.
    pub fn name(self) -> crate::messages::panel::RevisionStateName {
        use crate::messages::panel::RevisionStateName;
        match self {
            RevisionState::Draft => RevisionStateName::Draft,
            RevisionState::Approved => RevisionStateName::Approved,
            RevisionState::Rejected => RevisionStateName::Rejected,
            RevisionState::Published => RevisionStateName::Published,
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

impl fmt::Display for RevisionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One saved configuration of a site.
#[derive(Debug, Clone)]
pub struct Revision {
    pub id: i64,
    pub customer_id: CustomerId,
    pub site_id: SiteId,
    /// 1, 2, ... per site.
    pub number: i64,
    pub policy_text: String,
    pub settings: GatewaySettings,
    pub author_id: UserId,
    /// The author's e-mail.
    pub author: String,
    pub reason: String,
    pub instruction_id: Option<InstructionId>,
    pub state: RevisionState,
    pub created_at: i64,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<i64>,
    pub review_note: Option<String>,
    pub published_by: Option<String>,
    pub published_at: Option<i64>,
    pub generation: Option<i64>,
    /// The number of the revision a rollback copies.
    pub restored_from: Option<i64>,
}

/// A revision to insert (already checked).
#[derive(Debug, Clone)]
pub struct NewRevision {
    pub customer_id: CustomerId,
    pub site_id: SiteId,
    pub policy_text: String,
    pub settings_json: String,
    pub author_id: UserId,
    pub reason: String,
    pub instruction_id: Option<InstructionId>,
    pub restored_from: Option<i64>,
}
