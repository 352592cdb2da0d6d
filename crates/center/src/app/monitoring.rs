//! The monitoring's use cases: `app.monitoring()`. Incidents are opened and resolved by
//! the monitoring engine's intents (`mamori_monitor::incident`), which the center
//! applies as the system; people see them within their customer and operators
//! acknowledge, resolve and comment on them. Every change is audited and lands in the
//! incident's timeline.

use super::*;
use crate::store::monitoring::NewIncident;
use mamori_center_model::messages::monitoring::IncidentMail;
pub use mamori_center_model::monitoring::Severity;

/// How long a failed notification waits before its next attempt: a minute, doubling
/// with each attempt, at most an hour.
pub fn retry_after_ms(attempts: i64) -> i64 {
    60_000i64
        .saturating_mul(1 << attempts.clamp(0, 6))
        .min(3_600_000)
}

/// What one pass over the outbox did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sent {
    pub sent: usize,
    pub failed: usize,
}
use mamori_center_model::monitoring::{
    Incident, IncidentEvent, IncidentEventKind, IncidentFilter, IncidentState,
};

capability!(
    /// The monitoring's use cases.
    Monitoring, monitoring
);

/// The monitoring engine's decision about one problem, for one site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    Open {
        key: String,
        site_id: SiteId,
        severity: Severity,
        summary: String,
        in_maintenance: bool,
    },
    Resolve {
        key: String,
    },
}

/// What applying an intent did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Opened(IncidentId),
    Resolved(IncidentId),
    /// Nothing to do: already open, or nothing open to resolve.
    Unchanged,
}

/// An agent that has not called in for this long is silent: its long-poll renews at
/// least every minute (`mamori_api::agent::MAX_WAIT_SECONDS`), so three missed minutes
/// are not a slow network.
pub const AGENT_SILENT_AFTER_MS: i64 = 3 * 60_000;

/// What one look at the agents found and did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Watch {
    pub units: usize,
    pub opened: usize,
    pub resolved: usize,
}

/// The problems the center sees in one unit's agent status, as intents: its agent
/// silent (never seen is not a problem: it may not be enrolled yet), its desired
/// generation failed to apply, its live ruleset drifted. Each problem has a stable
/// key per unit, so a problem that clears resolves its incident.
pub fn agent_intents(row: &mamori_center_model::fleet::FleetRow, now: i64) -> Vec<Intent> {
    use mamori_center_model::fleet::FleetState;
    let unit = row.equipment_id;
    let mut out = Vec::new();
    let mut problem = |what: &str, severity: Severity, summary: Option<String>| {
        let key = format!("unit/{unit}/{what}");
        out.push(match summary {
            Some(summary) => Intent::Open {
                key,
                site_id: row.site_id,
                severity,
                summary,
                in_maintenance: false,
            },
            None => Intent::Resolve { key },
        });
    };
    let silent = row
        .last_contact
        .filter(|&t| now.saturating_sub(t) >= AGENT_SILENT_AFTER_MS);
    problem(
        "agent-silent",
        Severity::Critical,
        silent.map(|t| {
            format!(
                "{}: no call from the agent since {}",
                row.serial,
                crate::domain::rfc3339(t)
            )
        }),
    );
    let state = row.state();
    problem(
        "apply-failed",
        Severity::Warning,
        (state == FleetState::Failed).then(|| {
            format!(
                "{}: generation {} not applied: {}",
                row.serial,
                row.desired_generation.unwrap_or(0),
                row.apply_error.as_deref().unwrap_or("")
            )
        }),
    );
    problem(
        "drift",
        Severity::Warning,
        row.drift
            .as_ref()
            .map(|d| format!("{}: the live ruleset differs: {d}", row.serial)),
    );
    out
}

/// An audit record of the monitoring itself (no person acted).
fn system_record(customer_id: CustomerId, action: &str, id: IncidentId, detail: String) -> Record {
    Record {
        actor_id: None,
        actor: "monitoring".into(),
        customer_id: Some(customer_id.get()),
        source: "monitoring".into(),
        action: action.into(),
        object: format!("incident/{id}"),
        outcome: "ok".into(),
        detail,
    }
}

impl Monitoring<'_> {
    fn read_scope(actor: &Actor) -> Result<Scope> {
        if actor.may(Action::ReadIncidents) {
            Ok(actor.scope())
        } else {
            Err(AppError::Forbidden(Forbidden::SeeIncidents))
        }
    }

    /// Newest first, at most `limit` (1 to 500), below `before` when given.
    pub async fn incidents(
        self,
        actor: &Actor,
        f: &IncidentFilter,
        before: Option<IncidentId>,
        limit: i64,
    ) -> Result<Vec<Incident>> {
        let scope = Self::read_scope(actor)?;
        Ok(self
            .store
            .monitoring()
            .incidents(scope, f, before, limit)
            .await?)
    }

    /// One incident and its timeline.
    pub async fn incident(
        self,
        actor: &Actor,
        id: IncidentId,
    ) -> Result<(Incident, Vec<IncidentEvent>)> {
        let scope = Self::read_scope(actor)?;
        let i = self
            .store
            .monitoring()
            .incident(scope, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let events = self.store.monitoring().events(id).await?;
        Ok((i, events))
    }

    /// Applies one of the monitoring engine's intents as the system: opens an incident
    /// for the site's customer (once per key while it is not resolved) or resolves the
    /// open one, recording the downtime. Idempotent.
    pub async fn apply(self, intent: &Intent, now: i64) -> Result<Applied> {
        let mut tx = self.store.begin().await?;
        let applied = match intent {
            Intent::Open {
                key,
                site_id,
                severity,
                summary,
                in_maintenance,
            } => {
                if tx.monitoring().unresolved(key).await?.is_some() {
                    Applied::Unchanged
                } else {
                    let site = self
                        .store
                        .site(Scope::All, *site_id)
                        .await?
                        .ok_or(AppError::NotFound)?;
                    let summary = text(Field::Summary, summary, 500, false)?;
                    let id = tx
                        .monitoring()
                        .open(&NewIncident {
                            customer_id: site.customer_id,
                            site_id: site.id,
                            key,
                            severity: *severity,
                            summary: &summary,
                            at: now,
                            in_maintenance: *in_maintenance,
                        })
                        .await?;
                    tx.monitoring()
                        .event(id, now, IncidentEventKind::Opened, None, &summary)
                        .await?;
                    let detail = format!(
                        "key={key} severity={} maintenance={in_maintenance}",
                        severity.as_str()
                    );
                    tx.audit(
                        system_record(site.customer_id, "incident.open", id, detail),
                        now,
                    )
                    .await?;
                    if let (Some(n), false) = (&self.settings.notify, *in_maintenance) {
                        let customer = self
                            .store
                            .customer(Scope::All, site.customer_id)
                            .await?
                            .map(|c| c.name)
                            .unwrap_or_default();
                        let subject = IncidentMail::OpenedSubject {
                            severity: severity.as_str().into(),
                            summary: summary.clone(),
                        };
                        let body = IncidentMail::OpenedBody {
                            id: id.get(),
                            customer,
                            site: site.name.clone(),
                            key: key.clone(),
                            summary: summary.clone(),
                            at: crate::domain::rfc3339(now),
                        };
                        tx.monitoring()
                            .enqueue(id, &n.to, &subject.both(" / "), &body.both("\n\n"), now)
                            .await?;
                    }
                    Applied::Opened(id)
                }
            }
            Intent::Resolve { key } => match tx.monitoring().unresolved(key).await? {
                None => Applied::Unchanged,
                Some(i) => {
                    if !tx
                        .monitoring()
                        .set_state(i.id, i.state, IncidentState::Resolved, now, None)
                        .await?
                    {
                        return Err(AppError::Conflict(Conflict::IncidentState {
                            from: i.state.as_str().into(),
                            to: IncidentState::Resolved.as_str().into(),
                        }));
                    }
                    let lasted = i.duration_ms(now);
                    let note = format!("cleared after {} s", lasted / 1000);
                    tx.monitoring()
                        .event(i.id, now, IncidentEventKind::Resolved, None, &note)
                        .await?;
                    tx.audit(
                        system_record(
                            i.customer_id,
                            "incident.resolve",
                            i.id,
                            format!("key={key} by=monitoring duration_ms={lasted}"),
                        ),
                        now,
                    )
                    .await?;
                    if let (Some(n), false) = (&self.settings.notify, i.in_maintenance) {
                        let customer = self
                            .store
                            .customer(Scope::All, i.customer_id)
                            .await?
                            .map(|c| c.name)
                            .unwrap_or_default();
                        let site = self
                            .store
                            .site(Scope::All, i.site_id)
                            .await?
                            .map(|s| s.name)
                            .unwrap_or_default();
                        let subject = IncidentMail::ResolvedSubject {
                            summary: i.summary.clone(),
                        };
                        let body = IncidentMail::ResolvedBody {
                            id: i.id.get(),
                            customer,
                            site,
                            key: key.clone(),
                            minutes: lasted / 60_000,
                            at: crate::domain::rfc3339(now),
                        };
                        tx.monitoring()
                            .enqueue(i.id, &n.to, &subject.both(" / "), &body.both("\n\n"), now)
                            .await?;
                    }
                    Applied::Resolved(i.id)
                }
            },
        };
        tx.commit().await?;
        Ok(applied)
    }

    /// Looks at every installed unit's agent status and opens or resolves its incidents
    /// (the `monitoring.agents` task). Idempotent: a problem already open, or a clear
    /// one with nothing open, changes nothing.
    pub async fn watch_agents(self, now: i64) -> Result<Watch> {
        let rows = self
            .store
            .fleet(
                Scope::All,
                &mamori_center_model::fleet::FleetFilter::default(),
            )
            .await?;
        let mut w = Watch {
            units: rows.len(),
            ..Watch::default()
        };
        for row in &rows {
            for intent in agent_intents(row, now) {
                match self.apply(&intent, now).await? {
                    Applied::Opened(_) => w.opened += 1,
                    Applied::Resolved(_) => w.resolved += 1,
                    Applied::Unchanged => {}
                }
            }
        }
        Ok(w)
    }

    /// Sends the notifications due at `now` through the relay of the settings (the
    /// `monitoring.notify` task); a failure is recorded with its error and retried later
    /// (`retry_after_ms`). Each attempt is audited.
    pub async fn send_notifications(self, now: i64) -> Result<Sent> {
        let Some(n) = self.settings.notify.clone() else {
            return Ok(Sent::default());
        };
        let due = self.store.monitoring().due_notifications(now, 100).await?;
        let mut out = Sent::default();
        for m in due {
            let sent = crate::adapters::smtp::send(
                &n.smtp,
                &n.from,
                &m.recipient,
                &m.subject,
                &m.body,
                now,
            )
            .await;
            let error = sent.as_ref().err().map(|e| e.to_string());
            let mut tx = self.store.begin().await?;
            let outcome = match &error {
                None => Ok(()),
                Some(e) => Err((e.as_str(), now.saturating_add(retry_after_ms(m.attempts)))),
            };
            if !tx.monitoring().attempted(&m, now, outcome).await? {
                continue;
            }
            let customer = self
                .store
                .monitoring()
                .incident(Scope::All, m.incident_id)
                .await?
                .map(|i| i.customer_id);
            tx.audit(
                Record {
                    actor_id: None,
                    actor: "monitoring".into(),
                    customer_id: customer.map(CustomerId::get),
                    source: "smtp".into(),
                    action: "incident.notify".into(),
                    object: format!("incident/{}", m.incident_id),
                    outcome: if error.is_none() { "ok" } else { "failed" }.into(),
                    detail: match &error {
                        None => format!("to={}", m.recipient),
                        Some(e) => {
                            format!("to={} attempt={} error={e}", m.recipient, m.attempts + 1)
                        }
                    },
                },
                now,
            )
            .await?;
            tx.commit().await?;
            if error.is_none() {
                out.sent += 1;
            } else {
                out.failed += 1;
            }
        }
        Ok(out)
    }

    /// Moves an incident on by a person (acknowledge or resolve), with an optional note.
    pub async fn set_state(
        self,
        actor: &Actor,
        id: IncidentId,
        to: IncidentState,
        note: Option<&str>,
        now: i64,
    ) -> Result<Incident> {
        let scope = Self::read_scope(actor)?;
        let note = match note.map(str::trim).filter(|n| !n.is_empty()) {
            Some(n) => text(Field::Body, n, 2000, true)?,
            None => String::new(),
        };
        // Another customer's incident does not exist for the caller.
        let i = self
            .store
            .monitoring()
            .incident(scope, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if !actor.may(Action::HandleIncidents) {
            return Err(AppError::Forbidden(Forbidden::HandleIncidents));
        }
        let conflict = || {
            AppError::Conflict(Conflict::IncidentState {
                from: i.state.as_str().into(),
                to: to.as_str().into(),
            })
        };
        if !i.state.can_become(to) {
            return Err(conflict());
        }
        let mut tx = self.store.begin().await?;
        if !tx
            .monitoring()
            .set_state(id, i.state, to, now, Some(actor.user_id))
            .await?
        {
            return Err(conflict());
        }
        let (kind, action) = match to {
            IncidentState::Acknowledged => {
                (IncidentEventKind::Acknowledged, "incident.acknowledge")
            }
            _ => (IncidentEventKind::Resolved, "incident.resolve"),
        };
        tx.monitoring()
            .event(id, now, kind, Some(&actor.label), &note)
            .await?;
        tx.audit(
            record(
                actor,
                Some(i.customer_id),
                action,
                format!("incident/{id}"),
                format!("from={} to={}", i.state.as_str(), to.as_str()),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        self.store
            .monitoring()
            .incident(Scope::All, id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// A comment in an incident's timeline.
    pub async fn comment(self, actor: &Actor, id: IncidentId, body: &str, now: i64) -> Result<()> {
        let scope = Self::read_scope(actor)?;
        let body = text(Field::Body, body, 2000, true)?;
        let i = self
            .store
            .monitoring()
            .incident(scope, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if !actor.may(Action::HandleIncidents) {
            return Err(AppError::Forbidden(Forbidden::HandleIncidents));
        }
        let mut tx = self.store.begin().await?;
        tx.monitoring()
            .event(
                id,
                now,
                IncidentEventKind::Comment,
                Some(&actor.label),
                &body,
            )
            .await?;
        tx.audit(
            record(
                actor,
                Some(i.customer_id),
                "incident.comment",
                format!("incident/{id}"),
                String::new(),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
