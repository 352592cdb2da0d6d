//! The center's side of reconcile: what a unit's agent must run (the newest generation
//! published for the site its certificate names, never another), the reports agents
//! send (stored once per `report_id`, each audited, folded into the unit's status), and
//! the per-process wake-up of long-polls when a site gets a new generation.
//!
//! Wake-ups work across several center processes on one database: each process polls
//! `generations_since` (one cheap query) and wakes the long-polls it holds for the sites
//! that changed, whichever process published; likewise `revocations_since` ends the
//! long-polls of certificates revoked on any process.
//!
//! A status belongs to one installation of the unit (unit x site x customer x the
//! unit's installation number): it is written only with a certificate of that
//! installation, and read only while it is the unit's current one, so a unit that moves
//! (to another site or customer) starts with a fresh status.

use mamori_center_model::ids::*;
use std::collections::HashMap;
use std::sync::{Mutex, Weak};
use std::time::Duration;

use mamori_api::agent::{self as wire, ReportKind};

use super::AgentCert;
use crate::app::{AppError, Field, Invalid, Result, Unauthenticated};
use crate::audit::Record;
use crate::domain::{Actor, Scope};
use crate::store::Store;
use crate::store::revisions::PublishedConfig;

crate::app::capability!(
    /// The use cases of the agents' protocol: desired state, contact, reports, status.
    Agents, agents
);

pub use mamori_center_model::fleet::{
    AgentStatus, FleetFilter, FleetRow, FleetState, StoredReport,
};

impl Agents<'_> {
    /// Starts this process's poller of new generations and revocations, which wakes
    /// `wake`'s long-polls; it ends when they are dropped.
    pub fn spawn_wake_poller(
        self,
        wake: Weak<Wakeups>,
        every: Duration,
    ) -> tokio::task::JoinHandle<()> {
        spawn_poller(self.store.clone(), wake, every, self.settings.clock.clone())
    }

    /// Records the fingerprint of the agents' CA, which enrolment tokens carry.
    pub async fn record_ca(self, fingerprint: &str) -> Result<()> {
        Ok(self.store.set_agent_ca_fingerprint(fingerprint).await?)
    }
}

/// Long-polls waiting per site, woken when the site gets a newer generation, and per
/// certificate, ended when it is revoked.
#[derive(Default)]
pub struct Wakeups {
    sites: Mutex<HashMap<i64, tokio::sync::watch::Sender<i64>>>,
    certs: Mutex<HashMap<String, tokio::sync::watch::Sender<bool>>>,
}

impl Wakeups {
    /// A receiver that changes when the site's generation grows.
    pub fn subscribe(&self, site_id: SiteId) -> tokio::sync::watch::Receiver<i64> {
        let mut m = self.sites.lock().unwrap_or_else(|p| p.into_inner());
        m.entry(site_id.get())
            .or_insert_with(|| tokio::sync::watch::channel(0).0)
            .subscribe()
    }

    /// The site has `generation`: wake its long-polls if that is news.
    pub fn publish(&self, site_id: SiteId, generation: i64) {
        let m = self.sites.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = m.get(&site_id.get()) {
            tx.send_if_modified(|g| {
                if generation > *g {
                    *g = generation;
                    true
                } else {
                    false
                }
            });
        }
    }

    /// A receiver that turns true when the certificate `serial` is revoked.
    pub fn watch_cert(&self, serial: &str) -> tokio::sync::watch::Receiver<bool> {
        let mut m = self.certs.lock().unwrap_or_else(|p| p.into_inner());
        m.entry(serial.to_string())
            .or_insert_with(|| tokio::sync::watch::channel(false).0)
            .subscribe()
    }

    /// The certificate `serial` was revoked: end the long-polls waiting with it.
    pub fn revoked(&self, serial: &str) {
        let m = self.certs.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = m.get(serial) {
            tx.send_if_modified(|r| !std::mem::replace(r, true));
        }
    }

    /// Forgets the sites and certificates nobody waits for.
    pub fn prune(&self) {
        let mut m = self.sites.lock().unwrap_or_else(|p| p.into_inner());
        m.retain(|_, tx| tx.receiver_count() > 0);
        drop(m);
        let mut m = self.certs.lock().unwrap_or_else(|p| p.into_inner());
        m.retain(|_, tx| tx.receiver_count() > 0);
    }

    pub fn waiting_sites(&self) -> usize {
        self.sites.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// How far back each poll looks (published_at is the publishing process's clock; this
/// covers clock differences between center processes).
const POLL_OVERLAP_MS: i64 = 30_000;

/// Polls the database for new generations and revoked certificates every `every` and
/// wakes the long-polls; ends when the [`Wakeups`] are dropped. Each poll looks
/// [`POLL_OVERLAP_MS`] back, so a revocation is signalled again for that long: a
/// long-poll that subscribes just after its certificate check still hears of it.
pub fn spawn_poller(
    store: Store,
    wake: Weak<Wakeups>,
    every: Duration,
    clock: crate::clock::Clock,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut since = clock.now_ms() - POLL_OVERLAP_MS;
        let mut rounds: u64 = 0;
        loop {
            tokio::time::sleep(every).await;
            let Some(w) = wake.upgrade() else { break };
            let t = clock.now_ms();
            let revoked = store.revocations_since(since).await;
            match (store.generations_since(since).await, revoked) {
                (Ok(changed), Ok(revoked)) => {
                    for (site, g) in changed {
                        w.publish(SiteId::new(site), g);
                    }
                    for serial in revoked {
                        w.revoked(&serial);
                    }
                    since = t - POLL_OVERLAP_MS;
                }
                (Err(e), _) | (_, Err(e)) => {
                    tracing::warn!(error = %e, "polling for new generations and revocations failed")
                }
            }
            rounds += 1;
            if rounds.is_multiple_of(120) {
                w.prune();
            }
        }
    })
}

/// The longest `detail` kept from a report.
const MAX_DETAIL: usize = 4000;

fn agent_record(
    cert: &AgentCert,
    source: &str,
    action: &str,
    outcome: &str,
    detail: String,
) -> Record {
    Record {
        actor_id: None,
        actor: format!("agent:{}", cert.serial),
        customer_id: Some(cert.customer_id.get()),
        source: source.into(),
        action: action.into(),
        object: format!("equipment/{}", cert.equipment_id),
        outcome: outcome.into(),
        detail,
    }
}

impl Agents<'_> {
    /// What the agent behind `cert` must run: its site's newest generation, when it
    /// differs from `after` (newer: apply it; older: the agent refuses and reports it).
    pub async fn desired_for(
        self,
        cert: &AgentCert,
        after: i64,
    ) -> Result<Option<PublishedConfig>> {
        Ok(self
            .store
            .published_config(cert.site_id)
            .await?
            .filter(|p| p.generation != after))
    }

    /// Records that the agent spoke to the center (in the status of the certificate's
    /// installation, and only while the certificate is valid).
    pub async fn contact(self, cert: &AgentCert, source: &str, now: i64) -> Result<()> {
        self.store.touch_agent(cert, source, now).await?;
        Ok(())
    }

    /// Refuses and audits an agent request that asks for something it may not (another
    /// site, an unknown parameter).
    pub async fn request_refused(
        self,
        cert: &AgentCert,
        source: &str,
        what: &str,
        now: i64,
    ) -> Result<()> {
        let mut tx = self.store.begin().await?;
        tx.audit(
            agent_record(cert, source, "agent.request", "refused", what.to_string()),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores a batch of reports of the agent behind `cert`: each `report_id` once (a
    /// report sent again is acknowledged and not stored twice), each new one audited
    /// and folded into the status of the certificate's installation. Returns the ids
    /// acknowledged. A certificate revoked (its unit moved) since the caller checked it
    /// stores nothing: `Unauthenticated`.
    pub async fn reports(
        self,
        cert: &AgentCert,
        batch: &wire::ReportBatch,
        source: &str,
        now: i64,
    ) -> Result<Vec<String>> {
        if batch.reports.len() > wire::MAX_REPORTS_PER_BATCH {
            return Err(AppError::invalid(
                Field::Reports,
                Invalid::TooManyReports {
                    max: wire::MAX_REPORTS_PER_BATCH,
                },
            ));
        }
        for (i, r) in batch.reports.iter().enumerate() {
            if !wire::is_uuid_text(&r.report_id) {
                return Err(AppError::invalid(
                    Field::ReportId,
                    Invalid::ReportIdNotUuid {
                        i,
                        id: r.report_id.clone(),
                    },
                ));
            }
        }
        let mut tx = self.store.begin().await?;
        if !tx.agent_cert_is_current(&cert.serial).await? {
            return Err(AppError::Unauthenticated(
                Unauthenticated::CertificateRevoked,
            ));
        }
        let mut status = tx
            .agent_status(cert.equipment_id)
            .await?
            // Another installation's status is not carried over.
            .filter(|s| {
                s.installation == cert.installation
                    && s.customer_id == cert.customer_id
                    && s.site_id == cert.site_id
            })
            .unwrap_or(AgentStatus {
                equipment_id: cert.equipment_id,
                installation: cert.installation,
                customer_id: cert.customer_id,
                site_id: cert.site_id,
                last_contact: now,
                last_address: source.to_string(),
                applied_generation: 0,
                apply_state: "none".into(),
                apply_generation: None,
                apply_error: None,
                apply_at: None,
                drift: None,
                drift_at: None,
            });
        status.customer_id = cert.customer_id;
        status.site_id = cert.site_id;
        status.last_contact = now;
        status.last_address = source.to_string();
        let mut acked = Vec::with_capacity(batch.reports.len());
        for r in &batch.reports {
            let detail: String = r.detail.chars().take(MAX_DETAIL).collect();
            let new = tx
                .insert_agent_report(
                    &r.report_id,
                    cert.equipment_id,
                    cert.installation,
                    cert.customer_id,
                    cert.site_id,
                    r.kind.as_str(),
                    r.generation,
                    &detail,
                    r.at,
                    now,
                )
                .await?;
            acked.push(r.report_id.clone());
            if !new {
                continue;
            }
            fold(&mut status, r.kind, r.generation, &detail, r.at);
            let outcome = match r.kind {
                ReportKind::Applied | ReportKind::DriftRestored => "ok",
                ReportKind::Refused => "refused",
                _ => "failed",
            };
            tx.audit(
                agent_record(
                    cert,
                    source,
                    &format!("agent.{}", r.kind.as_str()),
                    outcome,
                    format!(
                        "site={} generation={} report={} {}",
                        cert.site_id, r.generation, r.report_id, detail
                    ),
                ),
                now,
            )
            .await?;
        }
        tx.save_agent_status(&status).await?;
        tx.commit().await?;
        Ok(acked)
    }

    /// A unit's agent status and newest reports in its current installation, for the
    /// appliance page.
    pub async fn status(
        self,
        actor: &Actor,
        equipment_id: EquipmentId,
    ) -> Result<(Option<AgentStatus>, Vec<StoredReport>)> {
        let scope = fleet_scope(actor);
        let status = self.store.agent_status(scope, equipment_id).await?;
        let reports = self.store.agent_reports(scope, equipment_id, 20).await?;
        Ok((status, reports))
    }
}

fn fleet_scope(actor: &Actor) -> Scope {
    actor.scope()
}

/// The unit's status after one new report.
pub fn fold(s: &mut AgentStatus, kind: ReportKind, generation: i64, detail: &str, at: i64) {
    match kind {
        ReportKind::Applied => {
            s.applied_generation = generation;
            s.apply_state = "applied".into();
            s.apply_generation = Some(generation);
            s.apply_error = None;
            s.apply_at = Some(at);
        }
        ReportKind::ApplyFailed | ReportKind::RolledBack | ReportKind::Refused => {
            s.apply_state = kind.as_str().into();
            s.apply_generation = Some(generation);
            s.apply_error = Some(detail.to_string());
            s.apply_at = Some(at);
        }
        ReportKind::Drift => {
            s.drift = Some(detail.to_string());
            s.drift_at = Some(at);
        }
        ReportKind::DriftRestored => {
            s.drift = None;
            s.drift_at = Some(at);
        }
    }
}

crate::app::capability!(
    /// The fleet view's use cases.
    Fleet, fleet
);

impl Fleet<'_> {
    /// The fleet view.
    pub async fn list(self, actor: &Actor, f: &FleetFilter) -> Result<Vec<FleetRow>> {
        let rows = self.store.fleet(fleet_scope(actor), f).await?;
        Ok(rows
            .into_iter()
            .filter(|r| f.state.is_none_or(|s| r.state() == s))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        desired: Option<i64>,
        applied: Option<i64>,
        state: Option<&str>,
        gen_: Option<i64>,
        drift: bool,
        seen: bool,
    ) -> FleetRow {
        FleetRow {
            equipment_id: EquipmentId::new(1),
            serial: "S".into(),
            unit_state: "installed".into(),
            customer_id: CustomerId::new(1),
            customer_name: "C".into(),
            site_id: SiteId::new(1),
            site_name: "HQ".into(),
            desired_generation: desired,
            last_contact: seen.then_some(1),
            applied_generation: applied,
            apply_state: state.map(String::from),
            apply_generation: gen_,
            apply_error: None,
            drift: drift.then(|| "x".into()),
        }
    }

    #[test]
    fn fleet_states_follow_applied_desired_failures_and_drift() {
        assert_eq!(
            row(Some(2), None, None, None, false, false).state(),
            FleetState::NeverSeen
        );
        assert_eq!(
            row(Some(2), Some(2), Some("applied"), Some(2), false, true).state(),
            FleetState::InSync
        );
        assert_eq!(
            row(Some(3), Some(2), Some("applied"), Some(2), false, true).state(),
            FleetState::Pending
        );
        assert_eq!(
            row(Some(3), Some(2), Some("rolled_back"), Some(3), false, true).state(),
            FleetState::Failed
        );
        assert_eq!(
            row(Some(2), Some(2), Some("applied"), Some(2), true, true).state(),
            FleetState::Drift
        );
        assert_eq!(
            row(None, None, None, None, false, true).state(),
            FleetState::InSync
        );
        for s in FleetState::ALL {
            assert_eq!(FleetState::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn reports_fold_into_the_status() {
        let mut s = AgentStatus {
            equipment_id: EquipmentId::new(1),
            installation: 2,
            customer_id: CustomerId::new(1),
            site_id: SiteId::new(1),
            last_contact: 0,
            last_address: String::new(),
            applied_generation: 0,
            apply_state: "none".into(),
            apply_generation: None,
            apply_error: None,
            apply_at: None,
            drift: None,
            drift_at: None,
        };
        fold(&mut s, ReportKind::Applied, 2, "", 10);
        assert_eq!(
            (s.applied_generation, s.apply_state.as_str()),
            (2, "applied")
        );
        fold(&mut s, ReportKind::RolledBack, 3, "no path", 11);
        assert_eq!(
            (s.applied_generation, s.apply_state.as_str()),
            (2, "rolled_back")
        );
        assert_eq!(s.apply_error.as_deref(), Some("no path"));
        fold(&mut s, ReportKind::Drift, 2, "1 rule(s) missing", 12);
        assert!(s.drift.is_some());
        fold(&mut s, ReportKind::DriftRestored, 2, "", 13);
        assert!(s.drift.is_none());
    }
}
