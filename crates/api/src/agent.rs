//! The agent protocol, version 1 (`/agent/v1` on the center's agent listener, mutual
//! TLS). Serde only.

use serde::{Deserialize, Serialize};

/// `POST /agent/v1/enrol` (the only request without a client certificate).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EnrolRequest {
    pub token: String,
    /// PKCS#10 request (PEM) for the key the agent generated.
    pub csr_pem: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrolResponse {
    pub cert_pem: String,
    /// The CA the agent trusts for the center from now on.
    pub ca_pem: String,
    pub site_id: i64,
    pub equipment_id: i64,
}

/// `GET /agent/v1/whoami`: who the center takes the agent to be.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Identity {
    pub site_id: i64,
    pub equipment_id: i64,
    pub serial: String,
}

/// An error answer: what went wrong.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentError {
    pub error: String,
}

/// `POST /agent/v1/renew` (with the current certificate): a request for a new key. The
/// answer is an [`EnrolResponse`]; the old certificate is revoked.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RenewRequest {
    pub csr_pem: String,
}

/// The longest wait an agent may ask for in `GET /agent/v1/desired` (seconds); the
/// center caps a longer `wait` at this.
pub const MAX_WAIT_SECONDS: u32 = 60;

/// The most reports one `POST /agent/v1/reports` may carry.
pub const MAX_REPORTS_PER_BATCH: usize = 500;

/// The query of `GET /agent/v1/desired?after=<generation>&wait=<seconds>` (long-poll).
///
/// The center answers 200 with a [`DesiredConfig`] as soon as the site's newest
/// generation is greater than `after`, or 204 (no body) when `wait` seconds pass
/// without one. `after = 0` means the agent has applied nothing yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DesiredQuery {
    pub after: i64,
    #[serde(default = "default_wait")]
    pub wait: u32,
}

fn default_wait() -> u32 {
    30
}

/// The answer of `GET /agent/v1/desired`: the site's whole desired configuration at one
/// generation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DesiredConfig {
    /// 1, 2, ... per site; never reused.
    pub generation: i64,
    /// The policy document (TOML) the agent compiles with the policy compiler.
    pub policy_text: String,
    /// The gateway settings (the JSON form of `settings::GatewaySettings`: syslog,
    /// SNMP v3, NTP, DNS). Kept as JSON here so this message does not change shape
    /// when a setting is added.
    pub settings: serde_json::Value,
}

/// What a report says happened on the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// The generation was applied, proven and confirmed.
    Applied,
    /// The generation could not be applied (compile or apply error); the previous
    /// configuration stays.
    ApplyFailed,
    /// The generation was applied but not proven before the deadline; the agent
    /// restored the last good configuration by itself.
    RolledBack,
    /// The live ruleset differs from the applied one.
    Drift,
    /// The agent put the applied ruleset back after a drift.
    DriftRestored,
    /// The agent refused the generation (older than the one it has).
    Refused,
}

impl ReportKind {
    pub const ALL: [ReportKind; 6] = [
        ReportKind::Applied,
        ReportKind::ApplyFailed,
        ReportKind::RolledBack,
        ReportKind::Drift,
        ReportKind::DriftRestored,
        ReportKind::Refused,
    ];

    /// The wire name (`applied`, `apply_failed`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Applied => "applied",
            ReportKind::ApplyFailed => "apply_failed",
            ReportKind::RolledBack => "rolled_back",
            ReportKind::Drift => "drift",
            ReportKind::DriftRestored => "drift_restored",
            ReportKind::Refused => "refused",
        }
    }

    pub fn parse(s: &str) -> Option<ReportKind> {
        ReportKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One event the agent reports. The agent chooses `report_id` (a UUID, text form) when
/// the event happens and keeps it until the center acknowledges it; the center stores
/// each `report_id` once, so sending a report again is harmless.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Report {
    pub report_id: String,
    pub kind: ReportKind,
    /// The generation the report is about (for drift: the applied one).
    pub generation: i64,
    /// Why, in words (an error, the difference found); may be empty.
    #[serde(default)]
    pub detail: String,
    /// When it happened on the gateway: milliseconds since the Unix epoch.
    pub at: i64,
}

/// `POST /agent/v1/reports`: a batch of reports, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReportBatch {
    pub reports: Vec<Report>,
}

/// The answer to a [`ReportBatch`]: the ids the center has stored (now or before). The
/// agent drops these from its queue and sends the others again later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportAck {
    pub acknowledged: Vec<String>,
}

/// Whether `s` is a UUID in its text form (`8-4-4-4-12` hex digits), the form of a
/// `report_id`.
pub fn is_uuid_text(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// One unit in the fleet view (`GET /api/v1/fleet?customer_id=&state=`, REST API).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FleetAppliance {
    pub equipment_id: i64,
    pub serial: String,
    pub customer_id: i64,
    pub customer: String,
    pub site_id: i64,
    pub site: String,
    /// `never_seen`, `drift`, `failed`, `pending` or `in_sync`.
    pub state: String,
    /// RFC 3339; absent when the agent never spoke to the center.
    pub last_contact: Option<String>,
    pub applied_generation: Option<i64>,
    pub desired_generation: Option<i64>,
    /// The last apply: `applied`, `apply_failed`, `rolled_back`, `refused`.
    pub apply_state: Option<String>,
    pub apply_generation: Option<i64>,
    pub apply_error: Option<String>,
    pub drift: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_kinds_use_their_wire_names() {
        for k in ReportKind::ALL {
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
            assert_eq!(ReportKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(ReportKind::parse("applyfailed"), None);
    }

    #[test]
    fn a_report_batch_round_trips_and_rejects_unknown_fields() {
        let batch: ReportBatch = serde_json::from_str(
            r#"{"reports":[{"report_id":"0b7d5b52-3f7e-4c3a-9a51-2f7f0b0c1d2e",
                "kind":"rolled_back","generation":7,"detail":"center unreachable","at":1}]}"#,
        )
        .unwrap();
        assert_eq!(batch.reports[0].kind, ReportKind::RolledBack);
        let again: ReportBatch =
            serde_json::from_str(&serde_json::to_string(&batch).unwrap()).unwrap();
        assert_eq!(again, batch);
        assert!(
            serde_json::from_str::<Report>(
                r#"{"report_id":"x","kind":"applied","generation":1,"at":1,"extra":1}"#
            )
            .is_err()
        );
    }

    #[test]
    fn uuid_text_is_recognised() {
        assert!(is_uuid_text("0b7d5b52-3f7e-4c3a-9a51-2f7f0b0c1d2e"));
        assert!(!is_uuid_text("0b7d5b52-3f7e-4c3a-9a51-2f7f0b0c1d2"));
        assert!(!is_uuid_text("0b7d5b52x3f7e-4c3a-9a51-2f7f0b0c1d2e"));
        assert!(!is_uuid_text("0b7d5b52-3f7e-4c3a-9a51-2f7f0b0c1d2g"));
    }
}
