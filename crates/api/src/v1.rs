//! The public REST API, version 1 (`/api/v1`). Times are RFC 3339 strings in UTC;
//! identifiers are integers. Request bodies reject unknown fields.

use serde::{Deserialize, Serialize};

/// RFC 9457 problem details, served as `application/problem+json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub hint: Option<String>,
}

/// Signs in with password and TOTP code; answers a session token for `Authorization: Bearer`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    #[serde(default)]
    pub totp_code: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginResponse {
    pub token: String,
    pub expires_at: String,
}

/// What a one-time setup link is for, and the TOTP secret to enrol.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SetupInfo {
    /// `bootstrap` (first administrator) or `invite` (an account created by someone else).
    pub purpose: String,
    pub email: Option<String>,
    pub role: String,
    pub totp_secret: String,
    pub totp_uri: String,
    pub totp_required: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetupRequest {
    /// Only for the bootstrap link; an invitation already names the account.
    #[serde(default)]
    pub email: Option<String>,
    pub display_name: String,
    pub password: String,
    #[serde(default)]
    pub totp_code: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    pub id: i64,
    pub customer_id: Option<i64>,
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub active: bool,
    pub totp_enabled: bool,
    pub locale: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub email: String,
    pub display_name: String,
    /// `admin`, `operator`, `coordinator`, `back_office`, `officer` or `staff`.
    pub role: String,
    #[serde(default)]
    pub customer_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    pub role: String,
}

/// A created account and the one-time link its owner opens to set a password and TOTP.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Invitation {
    pub user: User,
    pub setup_path: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Customer {
    pub id: i64,
    pub name: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCustomer {
    pub name: String,
    /// The customer's security officer, created with the customer.
    pub officer: NewOfficer,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOfficer {
    pub email: String,
    pub display_name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreatedCustomer {
    pub customer: Customer,
    pub officer: Invitation,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Site {
    pub id: i64,
    pub customer_id: i64,
    pub name: String,
    pub address: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSite {
    pub customer_id: i64,
    pub name: String,
    #[serde(default)]
    pub address: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Instruction {
    pub id: i64,
    pub customer_id: i64,
    pub submitted_by: i64,
    pub subject: String,
    pub body: String,
    /// `policy_change`, `maintenance_request`, `question` or `other`.
    pub kind: String,
    /// `submitted`, `accepted`, `rejected` or `done`.
    pub state: String,
    pub reason: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub comments: Vec<Comment>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Comment {
    pub id: i64,
    pub author_id: i64,
    pub body: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewInstruction {
    pub subject: String,
    pub body: String,
    pub kind: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewComment {
    pub body: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: String,
    pub actor_id: Option<i64>,
    pub actor: String,
    pub customer_id: Option<i64>,
    pub source: String,
    pub action: String,
    pub object: String,
    pub outcome: String,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    pub name: String,
    pub role: String,
    #[serde(default)]
    pub customer_id: Option<i64>,
    /// Days until the token expires (1 to 3650); absent: until revoked.
    #[serde(default)]
    pub expires_in_days: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreatedToken {
    pub id: i64,
    /// Shown once; the center keeps only its hash.
    pub token: String,
    pub role: String,
    pub customer_id: Option<i64>,
    #[serde(default)]
    pub expires_at: Option<String>,
}

/// An API token as listed (never its secret). It acts with `role` within
/// `customer_id`, and never with more than its owner's current role allows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Token {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub customer_id: Option<i64>,
    pub owner_id: i64,
    pub owner: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    /// Recorded at most once a minute.
    pub last_used_at: Option<String>,
    pub revoked: bool,
    pub revoked_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Me {
    pub user: User,
    pub role: String,
    pub customer_id: Option<i64>,
}
