//! The agent protocol, version 1 (`/agent/v1` on the center's agent listener, mutual
//! TLS). Serde only.

use serde::{Deserialize, Serialize};

/// `POST /agent/v1/enrol` (the only request without a client certificate).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrolRequest {
    pub token: String,
    /// PKCS#10 request (PEM) for the key the agent generated.
    pub csr_pem: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnrolResponse {
    pub cert_pem: String,
    /// The CA the agent trusts for the center from now on.
    pub ca_pem: String,
    pub site_id: i64,
    pub equipment_id: i64,
}

/// `GET /agent/v1/whoami`: who the center takes the agent to be.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Identity {
    pub site_id: i64,
    pub equipment_id: i64,
    pub serial: String,
}

/// An error answer: what went wrong.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AgentError {
    pub error: String,
}

/// `POST /agent/v1/renew` (with the current certificate): a request for a new key. The
/// answer is an [`EnrolResponse`]; the old certificate is revoked.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenewRequest {
    pub csr_pem: String,
}
