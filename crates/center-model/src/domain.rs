//! Domain types: roles, the caller's identity, instruction kinds and states. Separate
//! from the database rows (`store`) and the wire types (`mamori_api`).

pub use crate::ids::*;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Admin,
    Operator,
    Coordinator,
    BackOffice,
    Officer,
    Staff,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Admin,
        Role::Operator,
        Role::Coordinator,
        Role::BackOffice,
        Role::Officer,
        Role::Staff,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::Coordinator => "coordinator",
            Role::BackOffice => "back_office",
            Role::Officer => "officer",
            Role::Staff => "staff",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Provider staff work for the provider; officers and staff belong to one customer.
    pub fn is_provider(self) -> bool {
        !matches!(self, Role::Officer | Role::Staff)
    }

    /// TOTP is mandatory for officers and all provider staff.
    pub fn totp_required(self) -> bool {
        self != Role::Staff
    }

    /// Who handles the instruction queue (the authorization table's entry).
    pub fn handles_instructions(self) -> bool {
        crate::authz::allows(self, crate::authz::Action::HandleInstructions)
    }

    /// Who may create customers and sites (the authorization table's entry).
    pub fn manages_customers(self) -> bool {
        crate::authz::allows(self, crate::authz::Action::ManageCustomers)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which customer's data a caller may see: all of it (provider staff) or one customer's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    All,
    Customer(CustomerId),
}

/// The authenticated caller of a use case, as established by the HTTP layer.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: UserId,
    /// The user's e-mail, kept in the audit log as who acted.
    pub label: String,
    pub role: Role,
    pub customer_id: Option<CustomerId>,
    /// Where the request came from (peer address), for the audit log.
    pub source: String,
    pub locale: Option<String>,
}

impl Actor {
    pub fn scope(&self) -> Scope {
        match (self.customer_id, self.role.is_provider()) {
            // A customer's user, or an API token restricted to one customer.
            (Some(c), _) => Scope::Customer(c),
            (None, true) => Scope::All,
            // A customer role without a customer sees nothing: scope to an id that no
            // row has.
            (None, false) => Scope::Customer(CustomerId::new(0)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstructionKind {
    PolicyChange,
    MaintenanceRequest,
    Question,
    Other,
}

impl InstructionKind {
    pub const ALL: [InstructionKind; 4] = [
        InstructionKind::PolicyChange,
        InstructionKind::MaintenanceRequest,
        InstructionKind::Question,
        InstructionKind::Other,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            InstructionKind::PolicyChange => "policy_change",
            InstructionKind::MaintenanceRequest => "maintenance_request",
            InstructionKind::Question => "question",
            InstructionKind::Other => "other",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstructionState {
    Submitted,
    Accepted,
    Rejected,
    Done,
}

impl InstructionState {
    pub fn as_str(self) -> &'static str {
        match self {
            InstructionState::Submitted => "submitted",
            InstructionState::Accepted => "accepted",
            InstructionState::Rejected => "rejected",
            InstructionState::Done => "done",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [
            InstructionState::Submitted,
            InstructionState::Accepted,
            InstructionState::Rejected,
            InstructionState::Done,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
    /// The states an instruction may move to from this one.
    pub fn can_become(self, next: InstructionState) -> bool {
        use InstructionState::*;
        matches!(
            (self, next),
            (Submitted, Accepted) | (Submitted, Rejected) | (Accepted, Done)
        )
    }
}

/// An account: provider staff (no customer) or a customer's officer or staff.
#[derive(Debug, Clone)]
pub struct User {
    pub id: UserId,
    pub customer_id: Option<CustomerId>,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub active: bool,
    pub totp_enabled: bool,
    pub locale: Option<String>,
    pub created_at: i64,
}

/// A user with the secrets the sign-in checks need; never leaves `app`.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: User,
    pub password_hash: Option<String>,
    pub totp_secret: Option<String>,
    pub failed_logins: i64,
    pub locked_until: i64,
}

#[derive(Debug, Clone)]
pub struct Customer {
    pub id: CustomerId,
    pub name: String,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct Site {
    pub id: SiteId,
    pub customer_id: CustomerId,
    pub name: String,
    pub address: String,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct Instruction {
    pub id: InstructionId,
    pub customer_id: CustomerId,
    pub submitted_by: UserId,
    pub subject: String,
    pub body: String,
    pub kind: InstructionKind,
    pub state: InstructionState,
    pub reason: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone)]
pub struct Comment {
    pub id: i64,
    pub instruction_id: InstructionId,
    pub author_id: UserId,
    pub body: String,
    pub created_at: i64,
}

/// A one-time link to set a password and TOTP (the first administrator's, or an invitation).
#[derive(Debug, Clone)]
pub struct SetupLink {
    pub token_hash: String,
    pub user_id: Option<UserId>,
    pub purpose: String,
    pub totp_secret: String,
    pub expires_at: i64,
    pub used: bool,
}

/// A signed-in session (panel cookie or API bearer).
#[derive(Debug, Clone)]
pub struct Session {
    pub user_id: UserId,
    /// `password` (awaiting the TOTP code) or `full`.
    pub stage: String,
    pub csrf: String,
    pub expires_at: i64,
}

/// An API token: acts with its own role and customer, never with more than its
/// owner's current role allows, until it expires or is revoked.
#[derive(Debug, Clone)]
pub struct ApiToken {
    pub id: i64,
    pub user_id: UserId,
    pub name: String,
    pub role: Role,
    pub customer_id: Option<CustomerId>,
    pub revoked: bool,
    pub created_at: i64,
    /// No use at or after this time; `None`: until revoked.
    pub expires_at: Option<i64>,
    /// Recorded at most once a minute.
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// The owner's e-mail address.
    pub owner: String,
}

/// Milliseconds since the Unix epoch to RFC 3339 in UTC.
pub fn rfc3339(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(t) => t.to_string(),
        Err(_) => ms.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_scopes() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        let a = Actor {
            user_id: UserId::new(1),
            label: "x".into(),
            role: Role::Staff,
            customer_id: Some(CustomerId::new(7)),
            source: "t".into(),
            locale: None,
        };
        assert_eq!(a.scope(), Scope::Customer(CustomerId::new(7)));
        assert_eq!(
            Actor {
                role: Role::Operator,
                customer_id: None,
                ..a
            }
            .scope(),
            Scope::All
        );
    }

    #[test]
    fn instruction_state_machine() {
        use InstructionState::*;
        assert!(Submitted.can_become(Accepted));
        assert!(Accepted.can_become(Done));
        assert!(!Rejected.can_become(Done));
        assert!(!Done.can_become(Accepted));
        assert!(!Submitted.can_become(Done));
    }
}
