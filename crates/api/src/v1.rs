//! The public REST API, version 1 (`/api/v1`). Times are RFC 3339 strings in UTC;
//! identifiers are integers. Request bodies reject unknown fields.

use serde::{Deserialize, Serialize};

/// RFC 9457 problem details, served as `application/problem+json`. `type` is one of the
/// stable codes of `ProblemType`; `detail` says what went wrong (in Japanese when the
/// caller's `Accept-Language` prefers it); `field` names the field of a validation error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    #[serde(rename = "type")]
    #[cfg_attr(feature = "openapi", schema(value_type = ProblemType))]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub hint: Option<String>,
    /// The request field a validation error (`urn:mamori:problem:invalid`) is about.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub field: Option<String>,
}

/// The stable `type` codes of [`Problem`], one per kind of error. A client branches on
/// these, never on `title` or `detail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ProblemType {
    /// A field of the request is not acceptable (422); `field` names it.
    #[serde(rename = "urn:mamori:problem:invalid")]
    Invalid,
    /// The request is malformed: its body is not JSON of the right shape, or a query
    /// parameter cannot be read (400).
    #[serde(rename = "urn:mamori:problem:malformed")]
    Malformed,
    /// The body is not `application/json` (415).
    #[serde(rename = "urn:mamori:problem:unsupported-media-type")]
    UnsupportedMediaType,
    /// The body is larger than the center accepts (413).
    #[serde(rename = "urn:mamori:problem:too-large")]
    TooLarge,
    /// No bearer token, or one that is unknown, revoked or expired; or wrong credentials
    /// at sign-in (401).
    #[serde(rename = "urn:mamori:problem:unauthenticated")]
    Unauthenticated,
    /// The sign-in needs a TOTP code (401).
    #[serde(rename = "urn:mamori:problem:totp-required")]
    TotpRequired,
    /// The caller may not do this (403).
    #[serde(rename = "urn:mamori:problem:forbidden")]
    Forbidden,
    /// No such object, or one the caller may not see (404).
    #[serde(rename = "urn:mamori:problem:not-found")]
    NotFound,
    /// No such endpoint under `/api/v1` (404).
    #[serde(rename = "urn:mamori:problem:no-such-endpoint")]
    NoSuchEndpoint,
    /// The endpoint does not take this method (405).
    #[serde(rename = "urn:mamori:problem:method-not-allowed")]
    MethodNotAllowed,
    /// The object is not in a state that allows this, or a concurrent change won (409).
    #[serde(rename = "urn:mamori:problem:conflict")]
    Conflict,
    /// Too many attempts; wait and try again (429).
    #[serde(rename = "urn:mamori:problem:throttled")]
    Throttled,
    /// The center failed; the failure is logged (500).
    #[serde(rename = "urn:mamori:problem:internal")]
    Internal,
}

impl ProblemType {
    /// Every code, in the order of the declaration.
    pub const ALL: [ProblemType; 13] = [
        ProblemType::Invalid,
        ProblemType::Malformed,
        ProblemType::UnsupportedMediaType,
        ProblemType::TooLarge,
        ProblemType::Unauthenticated,
        ProblemType::TotpRequired,
        ProblemType::Forbidden,
        ProblemType::NotFound,
        ProblemType::NoSuchEndpoint,
        ProblemType::MethodNotAllowed,
        ProblemType::Conflict,
        ProblemType::Throttled,
        ProblemType::Internal,
    ];

    /// The code as it appears in `type`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemType::Invalid => "urn:mamori:problem:invalid",
            ProblemType::Malformed => "urn:mamori:problem:malformed",
            ProblemType::UnsupportedMediaType => "urn:mamori:problem:unsupported-media-type",
            ProblemType::TooLarge => "urn:mamori:problem:too-large",
            ProblemType::Unauthenticated => "urn:mamori:problem:unauthenticated",
            ProblemType::TotpRequired => "urn:mamori:problem:totp-required",
            ProblemType::Forbidden => "urn:mamori:problem:forbidden",
            ProblemType::NotFound => "urn:mamori:problem:not-found",
            ProblemType::NoSuchEndpoint => "urn:mamori:problem:no-such-endpoint",
            ProblemType::MethodNotAllowed => "urn:mamori:problem:method-not-allowed",
            ProblemType::Conflict => "urn:mamori:problem:conflict",
            ProblemType::Throttled => "urn:mamori:problem:throttled",
            ProblemType::Internal => "urn:mamori:problem:internal",
        }
    }
}

/// Signs in with password and TOTP code; answers a session token for `Authorization: Bearer`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    #[serde(default)]
    pub totp_code: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginResponse {
    pub token: String,
    pub expires_at: String,
}

/// What a one-time setup link is for, and the TOTP secret to enrol.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    pub role: String,
}

/// A created account and the one-time link its owner opens to set a password and TOTP.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Invitation {
    pub user: User,
    pub setup_path: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Customer {
    pub id: i64,
    pub name: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewCustomer {
    pub name: String,
    /// The customer's security officer, created with the customer.
    pub officer: NewOfficer,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewOfficer {
    pub email: String,
    pub display_name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedCustomer {
    pub customer: Customer,
    pub officer: Invitation,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Site {
    pub id: i64,
    pub customer_id: i64,
    pub name: String,
    pub address: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewSite {
    pub customer_id: i64,
    pub name: String,
    #[serde(default)]
    pub address: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Comment {
    pub id: i64,
    pub author_id: i64,
    pub body: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewInstruction {
    pub subject: String,
    pub body: String,
    pub kind: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Decision {
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewComment {
    pub body: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    pub user: User,
    pub role: String,
    pub customer_id: Option<i64>,
}
