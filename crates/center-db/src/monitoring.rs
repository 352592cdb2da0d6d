//! SQL of the monitoring's incidents and their timelines (migration 44): at most one
//! incident per problem key is not resolved (a partial unique index), every read is
//! scoped to the caller's customer. The notifications' outbox (migration 45): written in
//! the incident's transaction, sent and retried by a task, so none is lost across a
//! restart.

use mamori_center_model::domain::Scope;
use mamori_center_model::ids::*;
use mamori_center_model::monitoring::{
    Incident, IncidentEvent, IncidentEventKind, IncidentFilter, IncidentState, Severity,
};
use sqlx::{AssertSqlSafe, Row};

// `Reader`, `scope_filter` and `AssertSqlSafe` are named by the scoped-read macros.
use crate::{NRow, Reader, Result, Store, StoreError, Tx, conflict, cook, raw, scope_filter};

const COLS: &str = "id, customer_id, site_id, incident_key, severity, state, summary, opened_at, \
     acknowledged_at, acknowledged_by, resolved_at, in_maintenance";

fn incident_of<R: NRow>(r: &R) -> Result<Incident> {
    let id: i64 = r.v("id")?;
    let severity: String = r.v("severity")?;
    let state: String = r.v("state")?;
    let in_maintenance: i64 = r.v("in_maintenance")?;
    Ok(Incident {
        id: IncidentId::new(id),
        customer_id: cook(r.v("customer_id")?),
        site_id: cook(r.v("site_id")?),
        key: r.v("incident_key")?,
        severity: Severity::parse(&severity).ok_or_else(|| {
            StoreError::Corrupt(format!("incident {id}: unknown severity {severity:?}"))
        })?,
        state: IncidentState::parse(&state).ok_or_else(|| {
            StoreError::Corrupt(format!("incident {id}: unknown state {state:?}"))
        })?,
        summary: r.v("summary")?,
        opened_at: r.v("opened_at")?,
        acknowledged_at: r.v("acknowledged_at")?,
        acknowledged_by: cook(r.v("acknowledged_by")?),
        resolved_at: r.v("resolved_at")?,
        in_maintenance: in_maintenance != 0,
    })
}

/// The monitoring's reads: `store.monitoring()`.
pub struct Monitoring<'a>(&'a Store);

/// The monitoring's writes in a transaction: `tx.monitoring()`.
pub struct MonitoringTx<'a>(&'a mut Tx);

impl Store {
    /// The monitoring's reads.
    pub fn monitoring(&self) -> Monitoring<'_> {
        Monitoring(self)
    }
}

impl Tx {
    /// The monitoring's writes.
    pub fn monitoring(&mut self) -> MonitoringTx<'_> {
        MonitoringTx(self)
    }
}

/// A new incident, as the monitoring opens it.
pub struct NewIncident<'a> {
    pub customer_id: CustomerId,
    pub site_id: SiteId,
    pub key: &'a str,
    pub severity: Severity,
    pub summary: &'a str,
    pub at: i64,
    pub in_maintenance: bool,
}

impl Monitoring<'_> {
    /// Newest first, at most `limit`, with an id below `before` when given (keyset
    /// paging), within `scope`.
    pub async fn incidents(
        &self,
        scope: Scope,
        f: &IncidentFilter,
        before: Option<IncidentId>,
        limit: i64,
    ) -> Result<Vec<Incident>> {
        let store = self.0;
        // The state filter is one of the enum's own names, never the caller's text.
        let state = f
            .state
            .map(|s| format!(" AND state = '{}'", s.as_str()))
            .unwrap_or_default();
        let sql = format!(
            "SELECT {COLS} FROM incidents WHERE ($1 = 0 OR site_id = $1) AND ($2 = 0 OR id < $2){state}"
        );
        let tail = format!(" ORDER BY id DESC LIMIT {}", limit.clamp(1, 500));
        let site = f.site_id.map_or(0, SiteId::get);
        let before = before.map_or(0, IncidentId::get);
        scoped_all!(
            store,
            scope,
            "customer_id",
            sql,
            tail,
            [site, before],
            incident_of
        )
    }

    /// One incident within `scope`.
    pub async fn incident(&self, scope: Scope, id: IncidentId) -> Result<Option<Incident>> {
        let store = self.0;
        let sql = format!("SELECT {COLS} FROM incidents WHERE id = $1");
        scoped_one!(
            store,
            scope,
            "customer_id",
            sql,
            "",
            [id.get()],
            incident_of
        )
    }

    /// An incident's timeline, oldest first.
    pub async fn events(&self, id: IncidentId) -> Result<Vec<IncidentEvent>> {
        let rows = sqlx::query(
            "SELECT at, kind, actor, note FROM incident_events WHERE incident_id = $1 ORDER BY id",
        )
        .bind(id.get())
        .fetch_all(&self.0.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get("kind")?;
                Ok(IncidentEvent {
                    at: r.try_get("at")?,
                    kind: IncidentEventKind::parse(&kind).ok_or_else(|| {
                        StoreError::Corrupt(format!("incident {id}: unknown event {kind:?}"))
                    })?,
                    actor: r.try_get("actor")?,
                    note: r.try_get("note")?,
                })
            })
            .collect()
    }
}

impl MonitoringTx<'_> {
    /// The incident of `key` that is not resolved, if any.
    pub async fn unresolved(&mut self, key: &str) -> Result<Option<Incident>> {
        let sql =
            format!("SELECT {COLS} FROM incidents WHERE incident_key = $1 AND state <> 'resolved'");
        let r = sqlx::query(AssertSqlSafe(sql))
            .bind(key)
            .fetch_optional(&mut *self.0.tx)
            .await?;
        r.as_ref().map(incident_of).transpose()
    }

    /// One incident, for a change (not scoped: the use case has checked the caller).
    pub async fn incident(&mut self, id: IncidentId) -> Result<Option<Incident>> {
        let sql = format!("SELECT {COLS} FROM incidents WHERE id = $1");
        let r = sqlx::query(AssertSqlSafe(sql))
            .bind(id.get())
            .fetch_optional(&mut *self.0.tx)
            .await?;
        r.as_ref().map(incident_of).transpose()
    }

    /// Opens an incident; a conflict when one of the same key is not resolved.
    pub async fn open(&mut self, n: &NewIncident<'_>) -> Result<IncidentId> {
        let r = sqlx::query(
            "INSERT INTO incidents (customer_id, site_id, incident_key, severity, state, summary, opened_at, in_maintenance) \
             VALUES ($1, $2, $3, $4, 'open', $5, $6, $7) RETURNING id",
        )
        .bind(raw(n.customer_id))
        .bind(raw(n.site_id))
        .bind(n.key)
        .bind(n.severity.as_str())
        .bind(n.summary)
        .bind(n.at)
        .bind(i64::from(n.in_maintenance))
        .fetch_one(&mut *self.0.tx)
        .await
        .map_err(|e| conflict(e, "an incident of this key is open already"))?;
        Ok(IncidentId::new(r.try_get("id")?))
    }

    /// Moves an incident from `from` to `to` at `at` (by `by` when acknowledged); false
    /// when it was not in `from` any more (a concurrent change).
    pub async fn set_state(
        &mut self,
        id: IncidentId,
        from: IncidentState,
        to: IncidentState,
        at: i64,
        by: Option<UserId>,
    ) -> Result<bool> {
        let sql = match to {
            IncidentState::Acknowledged => {
                "UPDATE incidents SET state = $1, acknowledged_at = $2, acknowledged_by = $3 WHERE id = $4 AND state = $5"
            }
            IncidentState::Resolved => {
                "UPDATE incidents SET state = $1, resolved_at = $2, acknowledged_by = COALESCE(acknowledged_by, $3) WHERE id = $4 AND state = $5"
            }
            IncidentState::Open => return Ok(false),
        };
        let n = sqlx::query(sql)
            .bind(to.as_str())
            .bind(at)
            .bind(raw(by))
            .bind(id.get())
            .bind(from.as_str())
            .execute(&mut *self.0.tx)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    /// Adds an entry to an incident's timeline.
    pub async fn event(
        &mut self,
        id: IncidentId,
        at: i64,
        kind: IncidentEventKind,
        actor: Option<&str>,
        note: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO incident_events (incident_id, at, kind, actor, note) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id.get())
        .bind(at)
        .bind(kind.as_str())
        .bind(actor)
        .bind(note)
        .execute(&mut *self.0.tx)
        .await?;
        Ok(())
    }
}

/// A notification waiting in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub id: i64,
    pub incident_id: IncidentId,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub attempts: i64,
}

/// A notification's state in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: i64,
    pub incident_id: IncidentId,
    pub recipient: String,
    pub attempts: i64,
    pub next_at: i64,
    pub sent_at: Option<i64>,
    pub last_error: Option<String>,
}

impl Monitoring<'_> {
    /// The notifications due at `now` (not sent, their next attempt reached), oldest
    /// first, at most `limit`.
    pub async fn due_notifications(&self, now: i64, limit: i64) -> Result<Vec<Outgoing>> {
        let rows = sqlx::query(
            "SELECT id, incident_id, recipient, subject, body, attempts FROM notifications \
             WHERE sent_at IS NULL AND next_at <= $1 ORDER BY id LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.0.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Outgoing {
                    id: r.try_get("id")?,
                    incident_id: cook(r.try_get("incident_id")?),
                    recipient: r.try_get("recipient")?,
                    subject: r.try_get("subject")?,
                    body: r.try_get("body")?,
                    attempts: r.try_get("attempts")?,
                })
            })
            .collect()
    }

    /// Every notification of an incident, oldest first.
    pub async fn deliveries(&self, id: IncidentId) -> Result<Vec<Delivery>> {
        let rows = sqlx::query(
            "SELECT id, incident_id, recipient, attempts, next_at, sent_at, last_error \
             FROM notifications WHERE incident_id = $1 ORDER BY id",
        )
        .bind(id.get())
        .fetch_all(&self.0.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Delivery {
                    id: r.try_get("id")?,
                    incident_id: cook(r.try_get("incident_id")?),
                    recipient: r.try_get("recipient")?,
                    attempts: r.try_get("attempts")?,
                    next_at: r.try_get("next_at")?,
                    sent_at: r.try_get("sent_at")?,
                    last_error: r.try_get("last_error")?,
                })
            })
            .collect()
    }
}

impl MonitoringTx<'_> {
    /// Puts a notification in the outbox, due at once.
    pub async fn enqueue(
        &mut self,
        id: IncidentId,
        recipient: &str,
        subject: &str,
        body: &str,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO notifications (incident_id, recipient, subject, body, created_at, next_at) \
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(id.get())
        .bind(recipient)
        .bind(subject)
        .bind(body)
        .bind(now)
        .execute(&mut *self.0.tx)
        .await?;
        Ok(())
    }

    /// Records an attempt: sent at `now`, or failed with `error` and due again at
    /// `next_at`. False when another process recorded this attempt first.
    pub async fn attempted(
        &mut self,
        n: &Outgoing,
        now: i64,
        outcome: std::result::Result<(), (&str, i64)>,
    ) -> Result<bool> {
        let q = match outcome {
            Ok(()) => sqlx::query(
                "UPDATE notifications SET attempts = attempts + 1, sent_at = $1, last_error = NULL \
                 WHERE id = $2 AND attempts = $3 AND sent_at IS NULL",
            )
            .bind(now)
            .bind(n.id)
            .bind(n.attempts),
            Err((error, next_at)) => sqlx::query(
                "UPDATE notifications SET attempts = attempts + 1, next_at = $1, last_error = $2 \
                 WHERE id = $3 AND attempts = $4 AND sent_at IS NULL",
            )
            .bind(next_at)
            .bind(error.to_string())
            .bind(n.id)
            .bind(n.attempts),
        };
        Ok(q.execute(&mut *self.0.tx).await?.rows_affected() == 1)
    }
}
