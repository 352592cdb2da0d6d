//! The one authorization table: which role may do what. Use cases ask
//! [`Actor::may`]; the panel asks the same to show or hide an action; `docs/security.md`
//! describes the same table. Which customer's data a caller sees is the other half
//! (`Actor::scope`), applied in every query.

use crate::domain::{Actor, Role};

/// What a caller may be allowed to do (beyond reading within their scope).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Create customers and their sites.
    ManageCustomers,
    /// See instructions (the customer's own, or every customer's for those who handle
    /// them).
    ReadInstructions,
    /// File an instruction for one's own company (Art. 6).
    FileInstructions,
    /// Accept, reject and complete customers' instructions.
    HandleInstructions,
    /// Comment on an instruction.
    CommentOnInstructions,
    /// Change a provider account's role.
    ChangeRoles,
    /// See and revoke every API token, not only one's own.
    ManageAllTokens,
    /// Put new equipment into stock.
    StockEquipment,
    /// Move equipment: lend, install, take back, retire.
    MoveEquipment,
    /// Issue an agent enrolment token for installed equipment.
    IssueEnrolmentTokens,
    /// Draft revisions of a site's configuration.
    DraftRevisions,
    /// Approve or reject a drafted revision.
    ReviewRevisions,
    /// Publish an approved revision to the site's equipment.
    PublishRevisions,
    /// Read the secrets in a revision's settings (SNMP pass phrases).
    ReadConfigSecrets,
    /// The back office: applications, contracts, invoices, payments, notices.
    RunBackOffice,
    /// Cancel a contract (the customer's notice, or staff on the customer's behalf).
    CancelContracts,
    /// See the background tasks and their last runs.
    SeeTasks,
    /// Run a background task now.
    RunTasks,
    /// See the monitoring's incidents (the customer's own sites', or every customer's).
    ReadIncidents,
    /// Acknowledge, resolve and comment on incidents.
    HandleIncidents,
}

impl Action {
    /// Every action, in the order of the table.
    pub const ALL: [Action; 20] = [
        Action::ManageCustomers,
        Action::ReadInstructions,
        Action::FileInstructions,
        Action::HandleInstructions,
        Action::CommentOnInstructions,
        Action::ChangeRoles,
        Action::ManageAllTokens,
        Action::StockEquipment,
        Action::MoveEquipment,
        Action::IssueEnrolmentTokens,
        Action::DraftRevisions,
        Action::ReviewRevisions,
        Action::PublishRevisions,
        Action::ReadConfigSecrets,
        Action::RunBackOffice,
        Action::CancelContracts,
        Action::SeeTasks,
        Action::RunTasks,
        Action::ReadIncidents,
        Action::HandleIncidents,
    ];

    /// Whether the action concerns every customer at once, so that a caller restricted
    /// to one customer (an API token made for a customer) may not take it whatever the
    /// role.
    pub fn provider_wide(self) -> bool {
        matches!(
            self,
            Action::ChangeRoles
                | Action::StockEquipment
                | Action::MoveEquipment
                | Action::IssueEnrolmentTokens
                | Action::RunBackOffice
                | Action::SeeTasks
                | Action::RunTasks
        )
    }
}

/// The table: whether `role` may take `action`.
pub fn allows(role: Role, action: Action) -> bool {
    use Role::*;
    match action {
        Action::ManageCustomers => matches!(role, Admin | BackOffice),
        Action::ReadInstructions => matches!(role, Operator | Coordinator | Officer | Staff),
        Action::FileInstructions => matches!(role, Officer),
        Action::HandleInstructions => matches!(role, Operator | Coordinator),
        Action::CommentOnInstructions => matches!(role, Operator | Coordinator | Officer),
        Action::ChangeRoles => matches!(role, Admin),
        Action::ManageAllTokens => matches!(role, Admin),
        Action::StockEquipment => matches!(role, Admin | BackOffice),
        Action::MoveEquipment => matches!(role, Admin | BackOffice | Operator),
        Action::IssueEnrolmentTokens => matches!(role, Admin | Operator),
        Action::DraftRevisions => matches!(role, Coordinator | Operator),
        Action::ReviewRevisions => matches!(role, Coordinator | Operator | Admin),
        Action::PublishRevisions => matches!(role, Operator | Admin),
        Action::ReadConfigSecrets => matches!(role, Coordinator | Operator | Admin),
        Action::RunBackOffice => matches!(role, BackOffice | Admin),
        Action::CancelContracts => matches!(role, Officer | BackOffice | Admin),
        Action::SeeTasks => matches!(role, Admin | Operator | Coordinator | BackOffice),
        Action::RunTasks => matches!(role, Admin | Operator),
        Action::ReadIncidents => !matches!(role, BackOffice),
        Action::HandleIncidents => matches!(role, Admin | Operator),
    }
}

impl Action {
    /// The action as the documentation's table names it.
    pub fn describe(self) -> &'static str {
        match self {
            Action::ManageCustomers => "create customers and sites",
            Action::ReadInstructions => "see instructions",
            Action::FileInstructions => "file instructions for their company",
            Action::HandleInstructions => "accept, reject and complete instructions",
            Action::CommentOnInstructions => "comment on instructions",
            Action::ChangeRoles => "change provider accounts' roles",
            Action::ManageAllTokens => "see and revoke everyone's API tokens",
            Action::StockEquipment => "stock equipment",
            Action::MoveEquipment => "move equipment (lend, install, take back, retire)",
            Action::IssueEnrolmentTokens => "issue agent enrolment tokens",
            Action::DraftRevisions => "draft revisions",
            Action::ReviewRevisions => "approve or reject revisions",
            Action::PublishRevisions => "publish revisions",
            Action::ReadConfigSecrets => "read the secrets in revisions' settings",
            Action::RunBackOffice => {
                "the back office (applications, contracts, invoices, payments, notices)"
            }
            Action::CancelContracts => "cancel a contract",
            Action::SeeTasks => "see the background tasks and their runs",
            Action::RunTasks => "run a background task now",
            Action::ReadIncidents => "see incidents",
            Action::HandleIncidents => "acknowledge, resolve and comment on incidents",
        }
    }
}

/// The table as Markdown: a row per action, a column per role, `yes` where allowed and
/// `*` after an action that a caller restricted to one customer may not take.
pub fn table_markdown() -> String {
    let mut out = String::from("| action |");
    for r in Role::ALL {
        out.push_str(&format!(" `{r}` |"));
    }
    out.push_str("\n|---|");
    for _ in Role::ALL {
        out.push_str("---|");
    }
    out.push('\n');
    for a in Action::ALL {
        let star = if a.provider_wide() { " *" } else { "" };
        out.push_str(&format!("| {}{star} |", a.describe()));
        for r in Role::ALL {
            out.push_str(if allows(r, a) { " yes |" } else { " |" });
        }
        out.push('\n');
    }
    out
}

impl Actor {
    /// Whether this caller may take `action`: the role allows it, and a provider-wide
    /// action is not taken by a caller restricted to one customer.
    pub fn may(&self, action: Action) -> bool {
        allows(self.role, action) && !(action.provider_wide() && self.customer_id.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{CustomerId, UserId};

    fn actor(role: Role, customer_id: Option<i64>) -> Actor {
        Actor {
            user_id: UserId::new(1),
            label: "x".into(),
            role,
            customer_id: customer_id.map(CustomerId::new),
            source: "t".into(),
            locale: None,
        }
    }

    #[test]
    fn customers_roles_never_take_provider_actions() {
        for a in Action::ALL {
            if a.provider_wide() {
                for r in [Role::Officer, Role::Staff] {
                    assert!(!allows(r, a), "{r} may {a:?}");
                }
            }
        }
        // Staff only read.
        let staff: Vec<_> = Action::ALL
            .into_iter()
            .filter(|a| allows(Role::Staff, *a))
            .collect();
        assert_eq!(staff, [Action::ReadInstructions, Action::ReadIncidents]);
    }

    #[test]
    fn a_token_restricted_to_a_customer_takes_no_provider_wide_action() {
        let scoped = actor(Role::Admin, Some(7));
        let unscoped = actor(Role::Admin, None);
        for a in Action::ALL {
            assert_eq!(scoped.may(a), allows(Role::Admin, a) && !a.provider_wide());
            assert_eq!(unscoped.may(a), allows(Role::Admin, a));
        }
    }

    #[test]
    fn reading_secrets_goes_with_drafting_or_publishing() {
        for r in Role::ALL {
            assert_eq!(
                allows(r, Action::ReadConfigSecrets),
                allows(r, Action::DraftRevisions) || allows(r, Action::PublishRevisions)
            );
        }
    }
}
