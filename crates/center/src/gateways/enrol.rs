//! Enrolment: one-time, expiring tokens per site and unit (stored as SHA-256 hashes),
//! the certificate an agent gets for one, and the check of an agent certificate on
//! every request (known, not revoked, not expired, of the unit's current installation).
//! Refusals are audited too.
//!
//! A token and a certificate belong to one installation of the unit (see
//! `Equipment::installation`): a token is made only for the site where the unit is
//! installed, every move revokes the unit's unused tokens and its certificates, and
//! enrolment checks again, in its transaction, that the unit is still installed where
//! and for whom the token was made.

use super::AgentCert;
use super::inventory::EquipmentState;
use crate::app::record;
use crate::app::{AppError, Conflict, Field, Forbidden, Invalid, Result};
use crate::audit::Record;
use crate::auth;
use crate::ca::{AgentIdentity, Ca, CaError, Issued};
use crate::domain::{Actor, Scope};
use mamori_center_model::ids::*;

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

crate::app::capability!(
    /// The enrolment of agents' use cases: tokens, enrolment, renewal, identities.
    Enrolment, enrolment
);

/// How long an agent certificate is valid; agents renew before the end.
pub const CERT_VALID_MS: i64 = 30 * 24 * 3_600_000;

/// Why an agent was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AgentRefusal {
    #[error("the enrolment token is unknown")]
    UnknownToken,
    #[error("the enrolment token was already used")]
    TokenUsed,
    #[error("the enrolment token has expired")]
    TokenExpired,
    #[error("the enrolment token was revoked: the unit was moved after it was made")]
    TokenRevoked,
    #[error(
        "the unit is no longer installed at the site and for the customer the enrolment token was made for"
    )]
    UnitMoved,
    #[error("the certificate is unknown to this center")]
    UnknownCert,
    #[error("the certificate was revoked: {0}")]
    Revoked(String),
    #[error("the certificate has expired")]
    Expired,
    #[error("the certificate belongs to an earlier installation of the unit")]
    Superseded,
    #[error("{0}")]
    BadRequest(String),
}

#[derive(Debug, thiserror::Error)]
pub enum EnrolError {
    #[error("refused: {0}")]
    Refused(AgentRefusal),
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<crate::store::StoreError> for EnrolError {
    fn from(e: crate::store::StoreError) -> Self {
        EnrolError::App(e.into())
    }
}

fn agent_record(
    who: &str,
    source: &str,
    customer_id: Option<CustomerId>,
    action: &str,
    object: String,
    outcome: &str,
    detail: String,
) -> Record {
    Record {
        actor_id: None,
        actor: who.into(),
        customer_id: customer_id.map(CustomerId::get),
        source: source.into(),
        action: action.into(),
        object,
        outcome: outcome.into(),
        detail,
    }
}

/// Signs a certificate for `who` from the agent's request, with a fresh random serial.
/// A bad request is the agent's fault and is refused; any other failure is the center's.
fn issue_cert(
    ca: &Ca,
    csr_pem: &str,
    who: AgentIdentity,
    now: i64,
) -> std::result::Result<Issued, EnrolError> {
    let mut serial_bytes = [0u8; 8];
    auth::fill_random(&mut serial_bytes).map_err(AppError::from)?;
    // Positive and non-zero as X.509 wants.
    let serial = (u64::from_be_bytes(serial_bytes) >> 1) | 1;
    match ca.issue(csr_pem, who, serial, now, CERT_VALID_MS) {
        Ok(i) => Ok(i),
        Err(e @ CaError::BadCsr(_)) => {
            Err(EnrolError::Refused(AgentRefusal::BadRequest(e.to_string())))
        }
        Err(e) => Err(EnrolError::App(AppError::Conflict(Conflict::Certificate {
            detail: e.to_string(),
        }))),
    }
}

/// Stores a newly issued certificate, records `action` by agent `who` on its unit, and
/// commits.
async fn store_issued_cert(
    mut tx: crate::store::Tx,
    cert: &AgentCert,
    who: &str,
    source: &str,
    action: &str,
    detail: String,
    now: i64,
) -> std::result::Result<(), EnrolError> {
    tx.insert_agent_cert(cert, now).await?;
    tx.audit(
        agent_record(
            who,
            source,
            Some(cert.customer_id),
            action,
            format!("equipment/{}", cert.equipment_id),
            "ok",
            detail,
        ),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

impl Enrolment<'_> {
    /// Creates a one-time enrolment token for a unit installed at a site (for that site
    /// only); returns the token (shown once; only its hash is kept) and its expiry. Once the agent listener has started,
    /// the token is `<secret>.<fingerprint>`: the SHA-256 of the CA certificate, which
    /// the agent pins on first contact.
    pub async fn create_token(
        self,
        actor: &Actor,
        site_id: SiteId,
        equipment_id: EquipmentId,
        ttl_ms: i64,
        now: i64,
    ) -> Result<(String, i64)> {
        if !actor.may(mamori_center_model::authz::Action::IssueEnrolmentTokens) {
            return Err(AppError::Forbidden(Forbidden::EnrolmentTokens));
        }
        if !(60_000..=7 * 24 * 3_600_000).contains(&ttl_ms) {
            return Err(AppError::invalid(Field::TtlMinutes, Invalid::EnrolmentTtl));
        }
        let site = self
            .store
            .site(Scope::All, site_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let token = auth::new_token()?;
        let expires_at = now + ttl_ms;
        // The unit is read in the transaction: no move can come between the check and
        // the token, which belongs to the installation read here.
        let mut tx = self.store.begin().await?;
        let unit = tx
            .equipment_for_update(equipment_id)
            .await?
            .ok_or_else(|| {
                AppError::invalid(
                    Field::EquipmentId,
                    Invalid::NoUnitInInventory {
                        id: equipment_id.get(),
                    },
                )
            })?;
        let p = unit.placement;
        if p.state != EquipmentState::Installed
            || p.customer_id != Some(site.customer_id)
            || p.site_id != Some(site_id)
        {
            return Err(AppError::invalid(
                Field::EquipmentId,
                Invalid::UnitNotInstalledHere {
                    serial: unit.serial.clone(),
                    state_ja: p.state.label().0.into(),
                    state_en: p.state.to_string(),
                },
            ));
        }
        let id = tx
            .insert_enrolment_token(
                &auth::token_hash(&token),
                site.customer_id,
                site_id,
                equipment_id,
                unit.installation,
                &actor.label,
                expires_at,
                now,
            )
            .await?;
        tx.audit(
            record(
                actor,
                Some(site.customer_id),
                "agent.token.create",
                format!("enrolment_token/{id}"),
                format!("site={site_id} unit={}", unit.serial),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        let token = match self.store.agent_ca_fingerprint().await? {
            Some(fp) => format!("{token}.{fp}"),
            None => token,
        };
        Ok((token, expires_at))
    }

    /// An agent enrols with a token and a certificate signing request. A used, expired,
    /// revoked or unknown token is refused, and so is a token whose unit is no longer
    /// installed at the token's site for the token's customer in the installation the
    /// token was made in; each refusal is audited.
    pub async fn enrol(
        self,
        ca: &Ca,
        token: &str,
        csr_pem: &str,
        source: &str,
        now: i64,
    ) -> std::result::Result<(Issued, AgentIdentity), EnrolError> {
        self.enrol_counted(ca, token, csr_pem, source, None, now)
            .await
    }

    /// [`App::enrol_agent`] for the agent listener: a refusal is audited at once only
    /// when it is the first of its source's window in `refusals` (counted under `key`,
    /// the source address or its network); the others are counted there and written as
    /// one entry per source and window ([`App::audit_enrol_refusals`]).
    pub async fn enrol_counted(
        self,
        ca: &Ca,
        token: &str,
        csr_pem: &str,
        source: &str,
        refusals: Option<(&EnrolRefusals, &str)>,
        now: i64,
    ) -> std::result::Result<(Issued, AgentIdentity), EnrolError> {
        // The secret is what is stored; the CA fingerprint after the dot is the agent's.
        let secret = token.split_once('.').map_or(token, |(s, _)| s);
        let hash = auth::token_hash(secret);
        let mut tx = self.store.begin().await?;
        let found = tx.enrolment_token(&hash).await?;
        let unit = match &found {
            Some(t) => tx.equipment_for_update(t.equipment_id).await?,
            None => None,
        };
        let refusal = match (&found, &unit) {
            (None, _) => Some(AgentRefusal::UnknownToken),
            (Some(t), _) if t.used_at.is_some() => Some(AgentRefusal::TokenUsed),
            (Some(t), _) if t.revoked_at.is_some() => Some(AgentRefusal::TokenRevoked),
            (Some(t), _) if t.expires_at <= now => Some(AgentRefusal::TokenExpired),
            (Some(t), Some(u))
                if u.placement.state == EquipmentState::Installed
                    && u.placement.customer_id == Some(t.customer_id)
                    && u.placement.site_id == Some(t.site_id)
                    && u.installation == t.installation =>
            {
                None
            }
            (Some(_), _) => Some(AgentRefusal::UnitMoved),
        };
        if let Some(r) = refusal {
            let (customer, object) = match &found {
                Some(t) => (Some(t.customer_id), format!("enrolment_token/{}", t.id)),
                None => (None, "enrolment_token/unknown".into()),
            };
            let detail = match refusals {
                None => r.to_string(),
                Some((counted, key)) => {
                    if !counted.note(key, &r.to_string(), &object, customer, now) {
                        // Counted for this source's entry of the window.
                        return Err(EnrolError::Refused(r));
                    }
                    format!("count=1: {r}")
                }
            };
            tx.audit(
                agent_record(
                    "agent",
                    source,
                    customer,
                    "agent.enrol",
                    object,
                    "refused",
                    detail,
                ),
                now,
            )
            .await?;
            tx.commit().await?;
            return Err(EnrolError::Refused(r));
        }
        let Some(t) = found else {
            return Err(EnrolError::Refused(AgentRefusal::UnknownToken));
        };
        let who = AgentIdentity {
            site_id: t.site_id,
            equipment_id: t.equipment_id,
        };
        // On a bad request the token stays unused: the agent may retry with a good one.
        let issued = issue_cert(ca, csr_pem, who, now)?;
        if !tx.use_enrolment_token(t.id, now).await? {
            return Err(EnrolError::Refused(AgentRefusal::TokenUsed));
        }
        store_issued_cert(
            tx,
            &AgentCert {
                serial: issued.serial.clone(),
                customer_id: t.customer_id,
                site_id: t.site_id,
                equipment_id: t.equipment_id,
                installation: t.installation,
                not_after: issued.not_after,
                revoked_at: None,
                revoked_reason: None,
            },
            &format!("agent:{}", issued.serial),
            source,
            "agent.enrol",
            format!("site={} serial={}", t.site_id, issued.serial),
            now,
        )
        .await?;
        Ok((issued, who))
    }

    /// Renewal: an agent with a valid certificate sends a request for a new key and
    /// gets a certificate for the same site and unit; the old one is revoked in the same
    /// transaction (reason `renewed`).
    pub async fn renew(
        self,
        ca: &Ca,
        current: &AgentCert,
        csr_pem: &str,
        source: &str,
        now: i64,
    ) -> std::result::Result<Issued, EnrolError> {
        let who = AgentIdentity {
            site_id: current.site_id,
            equipment_id: current.equipment_id,
        };
        let issued = issue_cert(ca, csr_pem, who, now)?;
        let mut tx = self.store.begin().await?;
        if !tx
            .revoke_agent_cert(&current.serial, "renewed", now)
            .await?
        {
            return Err(EnrolError::Refused(AgentRefusal::Revoked(
                "revoked meanwhile".into(),
            )));
        }
        store_issued_cert(
            tx,
            &AgentCert {
                serial: issued.serial.clone(),
                not_after: issued.not_after,
                revoked_at: None,
                revoked_reason: None,
                ..current.clone()
            },
            &format!("agent:{}", current.serial),
            source,
            "agent.renew",
            format!("old={} new={}", current.serial, issued.serial),
            now,
        )
        .await?;
        Ok(issued)
    }

    /// The check on every agent request: the certificate (already verified against the
    /// CA by TLS) must be known, not revoked, not expired, and of its unit's current
    /// installation. A refusal is audited.
    pub async fn identity(
        self,
        serial: &str,
        source: &str,
        now: i64,
    ) -> std::result::Result<AgentCert, EnrolError> {
        let found = self.store.agent_cert(serial).await?;
        let refusal = match &found {
            None => Some(AgentRefusal::UnknownCert),
            Some((c, _)) if c.revoked_at.is_some() => Some(AgentRefusal::Revoked(
                c.revoked_reason.clone().unwrap_or_default(),
            )),
            Some((c, _)) if c.not_after <= now => Some(AgentRefusal::Expired),
            Some((_, false)) => Some(AgentRefusal::Superseded),
            Some(_) => None,
        };
        let cert = found.map(|(c, _)| c);
        match (refusal, cert) {
            (None, Some(c)) => Ok(c),
            (r, c) => {
                let r = r.unwrap_or(AgentRefusal::UnknownCert);
                let mut tx = self.store.begin().await?;
                tx.audit(
                    agent_record(
                        &format!("agent:{serial}"),
                        source,
                        c.as_ref().map(|c| c.customer_id),
                        "agent.request",
                        c.as_ref()
                            .map(|c| format!("equipment/{}", c.equipment_id))
                            .unwrap_or_else(|| "agent/unknown".into()),
                        "refused",
                        r.to_string(),
                    ),
                    now,
                )
                .await?;
                tx.commit().await?;
                Err(EnrolError::Refused(r))
            }
        }
    }
}

/// Why a throttled enrolment was refused (it was not checked).
pub const THROTTLED: &str = "too many refused enrolments from this address; not checked";

/// At most this many source addresses are followed at once; refusals from further
/// addresses are counted under [`OTHER_SOURCES`].
const MAX_SOURCES: usize = 100_000;

/// The source under which refusals are counted when [`MAX_SOURCES`] are followed.
pub const OTHER_SOURCES: &str = "other addresses";

/// Refused enrolments per source address: the throttle of `/agent/v1/enrol`, and their
/// audit, one entry per source and window carrying the count. The first refusal of a
/// window is audited at once (with the check that refused it); the others of the window
/// are counted here and written as one entry when the window ends, which opens the next
/// window; so a source that keeps being refused adds one entry per window. Time comes in
/// as `now` (ms since the epoch).
pub struct EnrolRefusals {
    limit: u32,
    window_ms: i64,
    by_source: Mutex<HashMap<String, SourceWindow>>,
}

struct SourceWindow {
    /// When the window began: the time of the source's last audit entry.
    start: i64,
    /// Refusals checked against the database in this window (what the throttle counts).
    checked: u32,
    /// Refusals since the last entry, not yet written: (reason, object, customer).
    pending: BTreeMap<(String, String, Option<i64>), u64>,
}

/// The refusals of one source not yet written, for one audit entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusalSummary {
    pub source: String,
    /// The beginning of the window (ms since the epoch).
    pub since: i64,
    /// (reason, object, customer, count), in a stable order.
    pub items: Vec<(String, String, Option<i64>, u64)>,
}

impl RefusalSummary {
    pub fn count(&self) -> u64 {
        self.items.iter().map(|i| i.3).sum()
    }
}

impl EnrolRefusals {
    /// At most `limit` checked refusals per source within `window_ms`.
    pub fn new(limit: u32, window_ms: i64) -> EnrolRefusals {
        EnrolRefusals {
            limit: limit.max(1),
            window_ms: window_ms.max(1),
            by_source: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, SourceWindow>> {
        self.by_source.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether an enrolment from `source` is refused without a check now; if so, the
    /// milliseconds until its window ends, and the refusal is counted.
    pub fn throttled(&self, source: &str, now: i64) -> Option<i64> {
        let mut m = self.lock();
        let full = m.len() >= MAX_SOURCES && !m.contains_key(source);
        let key = if full { OTHER_SOURCES } else { source };
        let w = m.get_mut(key)?;
        let end = w.start.saturating_add(self.window_ms);
        if now >= end || w.checked < self.limit {
            return None;
        }
        *w.pending
            .entry((
                THROTTLED.to_string(),
                "enrolment_token/unchecked".into(),
                None,
            ))
            .or_insert(0) += 1;
        Some(end - now)
    }

    /// A checked refusal from `source`: true when it opens a window and is to be
    /// audited at once; false when it is counted for the window's entry.
    pub fn note(
        &self,
        source: &str,
        reason: &str,
        object: &str,
        customer: Option<CustomerId>,
        now: i64,
    ) -> bool {
        let mut m = self.lock();
        let full = m.len() >= MAX_SOURCES && !m.contains_key(source);
        let key = if full { OTHER_SOURCES } else { source };
        match m.get_mut(key) {
            Some(w) if now < w.start.saturating_add(self.window_ms) || !w.pending.is_empty() => {
                w.checked = w.checked.saturating_add(1);
                *w.pending
                    .entry((
                        reason.to_string(),
                        object.to_string(),
                        customer.map(CustomerId::get),
                    ))
                    .or_insert(0) += 1;
                false
            }
            _ => {
                m.insert(
                    key.to_string(),
                    SourceWindow {
                        start: now,
                        checked: 1,
                        pending: BTreeMap::new(),
                    },
                );
                true
            }
        }
    }

    /// The sources whose window has ended with refusals not yet written (each opens its
    /// next window now); sources whose window ended quietly are forgotten.
    pub fn due(&self, now: i64) -> Vec<RefusalSummary> {
        let mut m = self.lock();
        let mut out = Vec::new();
        m.retain(|source, w| {
            if now < w.start.saturating_add(self.window_ms) {
                return true;
            }
            if w.pending.is_empty() {
                return false;
            }
            out.push(summary(source, w));
            w.start = now;
            w.checked = 0;
            true
        });
        out.sort_by(|a, b| a.source.cmp(&b.source));
        out
    }

    /// Every refusal not yet written (when the center stops).
    pub fn take_all(&self) -> Vec<RefusalSummary> {
        let mut m = self.lock();
        let mut out: Vec<RefusalSummary> = m
            .iter_mut()
            .filter(|(_, w)| !w.pending.is_empty())
            .map(|(s, w)| summary(s, w))
            .collect();
        m.clear();
        out.sort_by(|a, b| a.source.cmp(&b.source));
        out
    }
}

fn summary(source: &str, w: &mut SourceWindow) -> RefusalSummary {
    RefusalSummary {
        source: source.to_string(),
        since: w.start,
        items: std::mem::take(&mut w.pending)
            .into_iter()
            .map(|((reason, object, customer), n)| (reason, object, customer, n))
            .collect(),
    }
}

impl Enrolment<'_> {
    /// Writes one source's counted enrolment refusals as one audit entry: the count,
    /// and each reason with its count (and its token when several were named).
    pub async fn audit_refusals(self, s: &RefusalSummary, now: i64) -> Result<()> {
        let first = s.items.first();
        let same_object = first
            .filter(|f| s.items.iter().all(|i| i.1 == f.1))
            .map(|f| f.1.clone());
        let customer = first
            .and_then(|f| f.2)
            .filter(|c| s.items.iter().all(|i| i.2 == Some(*c)));
        let items: Vec<String> = s
            .items
            .iter()
            .map(|(reason, object, _, n)| {
                if same_object.is_some() {
                    format!("{reason} x{n}")
                } else {
                    format!("{reason} ({object}) x{n}")
                }
            })
            .collect();
        let detail = format!(
            "count={} in {} s: {}",
            s.count(),
            ((now - s.since).max(0) + 999) / 1000,
            items.join("; ")
        );
        let mut tx = self.store.begin().await?;
        tx.audit(
            agent_record(
                "agent",
                &s.source,
                customer.map(CustomerId::new),
                "agent.enrol",
                same_object.unwrap_or_else(|| "enrolment_token/several".into()),
                "refused",
                detail,
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_from_one_source_is_one_entry_per_window_with_its_count() {
        let r = EnrolRefusals::new(3, 1000);
        let unknown = ("the enrolment token is unknown", "enrolment_token/unknown");
        // The first refusal is audited at once; the next two are counted.
        assert!(r.note("a", unknown.0, unknown.1, None, 0));
        assert!(!r.note("a", unknown.0, unknown.1, None, 10));
        assert_eq!(r.throttled("a", 15), None);
        assert!(!r.note(
            "a",
            "the enrolment token was already used",
            "enrolment_token/7",
            Some(CustomerId::new(4)),
            20
        ));
        // Three checked: the rest of the window is throttled.
        for t in 30..130 {
            assert_eq!(r.throttled("a", t), Some(1000 - t));
        }
        // Another source is not affected.
        assert_eq!(r.throttled("b", 40), None);
        assert!(r.note("b", unknown.0, unknown.1, None, 40));
        assert!(r.due(999).is_empty());
        let due = r.due(1000);
        assert_eq!(due.len(), 1, "{due:?}");
        assert_eq!(due[0].source, "a");
        assert_eq!(due[0].count(), 102);
        // The entry opened a new window: checks are allowed again, counted for it.
        assert_eq!(r.throttled("a", 1001), None);
        assert!(!r.note("a", unknown.0, unknown.1, None, 1001));
        // "b" had nothing more: forgotten; "a" is written at the end of its window.
        assert!(r.due(1500).is_empty());
        let due = r.due(2000);
        assert_eq!((due.len(), due[0].count()), (1, 1));
        assert!(r.due(3000).is_empty());
        // Quiet since: a new refusal is audited at once again.
        assert!(r.note("a", unknown.0, unknown.1, None, 3001));
        assert!(!r.note("a", unknown.0, unknown.1, None, 3002));
        // Stopping writes what is counted.
        assert_eq!(r.take_all()[0].count(), 1);
        assert!(r.take_all().is_empty());
    }
}
