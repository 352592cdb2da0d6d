//! SQL of managed gateways: the equipment inventory and its history. The history table
//! is append-only: the store has no statement that updates or deletes an event.

use crate::{cook, raw};
use mamori_center_model::ids::*;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::{Result, Store, StoreError, Tx, conflict, scope_filter};
use mamori_center_model::domain::Scope;
use mamori_center_model::inventory::{
    AgentCert, EnrolmentToken, Equipment, EquipmentEvent, EquipmentFilter,
};
use mamori_center_model::inventory::{EquipmentState, Placement};

const EQ_COLS: &str =
    "id, serial, model, state, customer_id, site_id, installation, created_at, updated_at";
const EV_COLS: &str =
    "id, equipment_id, at, actor, from_state, to_state, customer_id, site_id, note";

fn state_of(s: &str) -> Result<EquipmentState> {
    EquipmentState::parse(s).ok_or_else(|| StoreError::Corrupt(format!("equipment state {s:?}")))
}

fn equipment_from_row(r: &AnyRow) -> Result<Equipment> {
    let state: String = r.try_get("state")?;
    Ok(Equipment {
        id: cook(r.try_get("id")?),
        serial: r.try_get("serial")?,
        model: r.try_get("model")?,
        placement: Placement {
            state: state_of(&state)?,
            customer_id: cook(r.try_get("customer_id")?),
            site_id: cook(r.try_get("site_id")?),
        },
        installation: r.try_get("installation")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn event_from_row(r: &AnyRow) -> Result<EquipmentEvent> {
    let from: Option<String> = r.try_get("from_state")?;
    let to: String = r.try_get("to_state")?;
    Ok(EquipmentEvent {
        id: r.try_get("id")?,
        equipment_id: cook(r.try_get("equipment_id")?),
        at: r.try_get("at")?,
        actor: r.try_get("actor")?,
        from: from.as_deref().map(state_of).transpose()?,
        to: state_of(&to)?,
        customer_id: cook(r.try_get("customer_id")?),
        site_id: cook(r.try_get("site_id")?),
        note: r.try_get("note")?,
    })
}

impl Store {
    /// A unit as seen in `scope`: a customer sees only the units it holds now.
    pub async fn equipment(&self, scope: Scope, id: EquipmentId) -> Result<Option<Equipment>> {
        let (filter, c) = scope_filter(scope, "customer_id", 2);
        let sql = format!("SELECT {EQ_COLS} FROM equipment WHERE id = $1{filter}");
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(raw(id));
        if let Some(c) = c {
            q = q.bind(c);
        }
        q.fetch_optional(&self.pool)
            .await?
            .map(|r| equipment_from_row(&r))
            .transpose()
    }

    /// Units in `scope` matching the filter, by serial number, at most 1000.
    pub async fn equipment_list(
        &self,
        scope: Scope,
        f: &EquipmentFilter,
    ) -> Result<Vec<Equipment>> {
        let (filter, c) = scope_filter(scope, "customer_id", 3);
        let sql = format!(
            "SELECT {EQ_COLS} FROM equipment WHERE ($1 = '' OR state = $1) AND ($2 = 0 OR customer_id = $2){filter} ORDER BY serial LIMIT 1000"
        );
        let mut q = sqlx::query(AssertSqlSafe(sql))
            .bind(f.state.map(|s| s.as_str()).unwrap_or(""))
            .bind(f.customer_id.map_or(0, CustomerId::get));
        if let Some(c) = c {
            q = q.bind(c);
        }
        q.fetch_all(&self.pool)
            .await?
            .iter()
            .map(equipment_from_row)
            .collect()
    }

    /// A unit's history, oldest first. A customer sees only the events of the time the
    /// unit was with it.
    pub async fn equipment_events(
        &self,
        scope: Scope,
        equipment_id: EquipmentId,
    ) -> Result<Vec<EquipmentEvent>> {
        let (filter, c) = scope_filter(scope, "customer_id", 2);
        let sql = format!(
            "SELECT {EV_COLS} FROM equipment_events WHERE equipment_id = $1{filter} ORDER BY id"
        );
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(raw(equipment_id));
        if let Some(c) = c {
            q = q.bind(c);
        }
        q.fetch_all(&self.pool)
            .await?
            .iter()
            .map(event_from_row)
            .collect()
    }
}

impl Tx {
    pub async fn insert_equipment(
        &mut self,
        serial: &str,
        model: &str,
        now: i64,
    ) -> Result<EquipmentId> {
        let r = sqlx::query("INSERT INTO equipment (serial, model, state, customer_id, site_id, created_at, updated_at) VALUES ($1, $2, 'in_stock', NULL, NULL, $3, $3) RETURNING id")
            .bind(serial)
            .bind(model)
            .bind(now)
            .fetch_one(&mut *self.tx)
            .await
            .map_err(|e| conflict(e, "a unit with this serial number is already in the inventory"))?;
        Ok(cook(r.try_get("id")?))
    }

    /// Reads a unit inside the transaction (writers are serialised, see `Store::begin`).
    pub async fn equipment_for_update(&mut self, id: EquipmentId) -> Result<Option<Equipment>> {
        let sql = format!("SELECT {EQ_COLS} FROM equipment WHERE id = $1");
        sqlx::query(AssertSqlSafe(sql))
            .bind(raw(id))
            .fetch_optional(&mut *self.tx)
            .await?
            .map(|r| equipment_from_row(&r))
            .transpose()
    }

    /// Moves a unit from `from` to `to` and appends the event; false when the unit was no
    /// longer in `from` (a concurrent move). Every move starts a new installation.
    #[allow(clippy::too_many_arguments)]
    pub async fn move_equipment(
        &mut self,
        id: i64,
        from: Option<Placement>,
        to: Placement,
        actor: &str,
        note: &str,
        now: i64,
    ) -> Result<bool> {
        if let Some(from) = from {
            let n = sqlx::query("UPDATE equipment SET state = $1, customer_id = $2, site_id = $3, updated_at = $4, installation = installation + 1 WHERE id = $5 AND state = $6")
                .bind(to.state.as_str())
                .bind(raw(to.customer_id))
                .bind(raw(to.site_id))
                .bind(now)
                .bind(id)
                .bind(from.state.as_str())
                .execute(&mut *self.tx)
                .await?
                .rows_affected();
            if n != 1 {
                return Ok(false);
            }
        }
        // The event names the customer the unit was with during the move, so that
        // customer sees it in its history (a return names the customer it came from).
        let customer = to.customer_id.or(from.and_then(|f| f.customer_id));
        let site = to.site_id.or(from.and_then(|f| f.site_id));
        sqlx::query("INSERT INTO equipment_events (equipment_id, at, actor, from_state, to_state, customer_id, site_id, note) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(id)
            .bind(now)
            .bind(actor)
            .bind(from.map(|f| f.state.as_str()))
            .bind(to.state.as_str())
            .bind(raw(customer))
            .bind(raw(site))
            .bind(note)
            .execute(&mut *self.tx)
            .await?;
        Ok(true)
    }
}

fn token_from_row(r: &AnyRow) -> Result<EnrolmentToken> {
    Ok(EnrolmentToken {
        id: r.try_get("id")?,
        customer_id: cook(r.try_get("customer_id")?),
        site_id: cook(r.try_get("site_id")?),
        equipment_id: cook(r.try_get("equipment_id")?),
        installation: r.try_get("installation")?,
        expires_at: r.try_get("expires_at")?,
        used_at: r.try_get("used_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}

fn cert_from_row(r: &AnyRow) -> Result<AgentCert> {
    Ok(AgentCert {
        serial: r.try_get("serial")?,
        customer_id: cook(r.try_get("customer_id")?),
        site_id: cook(r.try_get("site_id")?),
        equipment_id: cook(r.try_get("equipment_id")?),
        installation: r.try_get("installation")?,
        not_after: r.try_get("not_after")?,
        revoked_at: r.try_get("revoked_at")?,
        revoked_reason: r.try_get("revoked_reason")?,
    })
}

const CERT_COLS: &str = "c.serial, c.customer_id, c.site_id, c.equipment_id, c.installation, c.not_after, c.revoked_at, c.revoked_reason";

/// Where the unit `e` of certificate `c` (joined) is now.
const UNIT_NOW: &str = "e.state AS unit_state, e.customer_id AS unit_customer, e.site_id AS unit_site, e.installation AS unit_installation";

/// Whether the certificate of a row with [`UNIT_NOW`] belongs to its unit's current
/// installation: installed at the certificate's site for its customer, not moved since.
fn is_current(r: &AnyRow, c: &AgentCert) -> Result<bool> {
    let state: Option<String> = r.try_get("unit_state")?;
    Ok(state.as_deref() == Some(EquipmentState::Installed.as_str())
        && r.try_get::<Option<i64>, _>("unit_customer")? == Some(c.customer_id.get())
        && r.try_get::<Option<i64>, _>("unit_site")? == Some(c.site_id.get())
        && r.try_get::<Option<i64>, _>("unit_installation")? == Some(c.installation))
}

impl Store {
    /// An agent certificate by serial number (the check on every agent request), and
    /// whether it belongs to its unit's current installation: the unit is installed at
    /// the certificate's site for its customer, and has not moved since.
    pub async fn agent_cert(&self, serial: &str) -> Result<Option<(AgentCert, bool)>> {
        let sql = format!(
            "SELECT {CERT_COLS}, {UNIT_NOW} FROM agent_certs c LEFT JOIN equipment e ON e.id = c.equipment_id WHERE c.serial = $1"
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(serial)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| {
                let c = cert_from_row(&r)?;
                let current = is_current(&r, &c)?;
                Ok((c, current))
            })
            .transpose()
    }

    /// The serial numbers of the certificates revoked at or after `since_ms` (the agent
    /// listener ends the long-polls waiting with them).
    pub async fn revocations_since(&self, since_ms: i64) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT serial FROM agent_certs WHERE revoked_at >= $1 ORDER BY revoked_at, serial",
        )
        .bind(since_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok(r.try_get::<String, _>("serial")?))
            .collect()
    }

    /// A unit's certificates, newest first.
    pub async fn agent_certs_of(
        &self,
        scope: Scope,
        equipment_id: EquipmentId,
    ) -> Result<Vec<AgentCert>> {
        let (filter, c) = scope_filter(scope, "c.customer_id", 2);
        let sql = format!(
            "SELECT {CERT_COLS} FROM agent_certs c WHERE c.equipment_id = $1{filter} ORDER BY c.created_at DESC, c.serial"
        );
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(raw(equipment_id));
        if let Some(c) = c {
            q = q.bind(c);
        }
        q.fetch_all(&self.pool)
            .await?
            .iter()
            .map(cert_from_row)
            .collect()
    }
}

impl Tx {
    /// Stores a new token for the unit's installation `installation` at `site_id`.
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_enrolment_token(
        &mut self,
        token_hash: &str,
        customer_id: CustomerId,
        site_id: SiteId,
        equipment_id: EquipmentId,
        installation: i64,
        created_by: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<i64> {
        let r = sqlx::query("INSERT INTO enrolment_tokens (token_hash, customer_id, site_id, equipment_id, installation, created_by, expires_at, used_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8) RETURNING id")
            .bind(token_hash)
            .bind(raw(customer_id))
            .bind(raw(site_id))
            .bind(raw(equipment_id))
            .bind(installation)
            .bind(created_by)
            .bind(expires_at)
            .bind(now)
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(r.try_get("id")?)
    }

    pub async fn enrolment_token(&mut self, token_hash: &str) -> Result<Option<EnrolmentToken>> {
        sqlx::query("SELECT id, customer_id, site_id, equipment_id, installation, expires_at, used_at, revoked_at FROM enrolment_tokens WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&mut *self.tx)
            .await?
            .map(|r| token_from_row(&r))
            .transpose()
    }

    /// Marks a token used; false when it already was (a replay or a concurrent use) or
    /// was revoked.
    pub async fn use_enrolment_token(&mut self, id: i64, now: i64) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE enrolment_tokens SET used_at = $1 WHERE id = $2 AND used_at IS NULL AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    pub async fn insert_agent_cert(&mut self, c: &AgentCert, now: i64) -> Result<()> {
        sqlx::query("INSERT INTO agent_certs (serial, customer_id, site_id, equipment_id, installation, not_after, revoked_at, revoked_reason, created_at) VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, $7)")
            .bind(&c.serial)
            .bind(raw(c.customer_id))
            .bind(raw(c.site_id))
            .bind(raw(c.equipment_id))
            .bind(c.installation)
            .bind(c.not_after)
            .bind(now)
            .execute(&mut *self.tx)
            .await
            .map_err(|e| conflict(e, "a certificate with this serial number exists"))?;
        Ok(())
    }

    /// Revokes one certificate; false when it was already revoked.
    pub async fn revoke_agent_cert(
        &mut self,
        serial: &str,
        reason: &str,
        now: i64,
    ) -> Result<bool> {
        let n = sqlx::query("UPDATE agent_certs SET revoked_at = $1, revoked_reason = $2 WHERE serial = $3 AND revoked_at IS NULL")
            .bind(now)
            .bind(reason)
            .bind(serial)
            .execute(&mut *self.tx)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    /// Whether certificate `serial` is unrevoked and belongs to its unit's current
    /// installation, read inside the transaction (writers are serialised, so no move
    /// can come between this check and the transaction's writes).
    pub async fn agent_cert_is_current(&mut self, serial: &str) -> Result<bool> {
        let sql = format!(
            "SELECT {CERT_COLS}, {UNIT_NOW} FROM agent_certs c LEFT JOIN equipment e ON e.id = c.equipment_id WHERE c.serial = $1 AND c.revoked_at IS NULL"
        );
        match sqlx::query(AssertSqlSafe(sql))
            .bind(serial)
            .fetch_optional(&mut *self.tx)
            .await?
        {
            Some(r) => is_current(&r, &cert_from_row(&r)?),
            None => Ok(false),
        }
    }

    /// Revokes the unused, unrevoked enrolment tokens of a unit; returns how many.
    pub async fn revoke_enrolment_tokens_of(
        &mut self,
        equipment_id: EquipmentId,
        now: i64,
    ) -> Result<u64> {
        Ok(sqlx::query("UPDATE enrolment_tokens SET revoked_at = $1 WHERE equipment_id = $2 AND used_at IS NULL AND revoked_at IS NULL")
            .bind(now)
            .bind(raw(equipment_id))
            .execute(&mut *self.tx)
            .await?
            .rows_affected())
    }

    /// Revokes every certificate of a unit that is not revoked yet; returns their serials.
    pub async fn revoke_agent_certs_of(
        &mut self,
        equipment_id: EquipmentId,
        reason: &str,
        now: i64,
    ) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT serial FROM agent_certs WHERE equipment_id = $1 AND revoked_at IS NULL ORDER BY serial",
        )
        .bind(raw(equipment_id))
        .fetch_all(&mut *self.tx)
        .await?;
        let mut serials = Vec::new();
        for r in rows {
            serials.push(r.try_get::<String, _>("serial")?);
        }
        sqlx::query("UPDATE agent_certs SET revoked_at = $1, revoked_reason = $2 WHERE equipment_id = $3 AND revoked_at IS NULL")
            .bind(now)
            .bind(reason)
            .bind(raw(equipment_id))
            .execute(&mut *self.tx)
            .await?;
        Ok(serials)
    }
}
