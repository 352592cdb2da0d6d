//! SQL of the agent channel: each unit's agent status (last contact, applied generation,
//! apply state and error, drift), the log of agent reports (one row per `report_id`,
//! never updated or deleted), and the fingerprint of the CA agents pin at enrolment.

use crate::{cook, raw};
use mamori_center_model::ids::*;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::{Result, Store, Tx, scope_filter};
use mamori_center_model::domain::Scope;
use mamori_center_model::fleet::{AgentStatus, FleetFilter, FleetRow, StoredReport};
use mamori_center_model::inventory::AgentCert;

const STATUS_COLS: &str = "s.equipment_id, s.installation, s.customer_id, s.site_id, s.last_contact, s.last_address, s.applied_generation, s.apply_state, s.apply_generation, s.apply_error, s.apply_at, s.drift, s.drift_at";

/// The join condition of a status `s` with its unit `e` when the status belongs to the
/// unit's current installation.
const STATUS_IS_CURRENT: &str = "e.id = s.equipment_id AND e.installation = s.installation AND e.customer_id = s.customer_id AND e.site_id = s.site_id";

/// An upsert's assignments that start a fresh status when the row belongs to another
/// installation than the one written (`$2`), and keep it otherwise.
const FRESH_IF_OTHER: &str = "applied_generation = CASE WHEN agent_status.installation = $2 THEN agent_status.applied_generation ELSE 0 END, \
    apply_state = CASE WHEN agent_status.installation = $2 THEN agent_status.apply_state ELSE 'none' END, \
    apply_generation = CASE WHEN agent_status.installation = $2 THEN agent_status.apply_generation ELSE NULL END, \
    apply_error = CASE WHEN agent_status.installation = $2 THEN agent_status.apply_error ELSE NULL END, \
    apply_at = CASE WHEN agent_status.installation = $2 THEN agent_status.apply_at ELSE NULL END, \
    drift = CASE WHEN agent_status.installation = $2 THEN agent_status.drift ELSE NULL END, \
    drift_at = CASE WHEN agent_status.installation = $2 THEN agent_status.drift_at ELSE NULL END";

fn status_from_row(r: &AnyRow) -> Result<AgentStatus> {
    Ok(AgentStatus {
        equipment_id: cook(r.try_get("equipment_id")?),
        installation: r.try_get("installation")?,
        customer_id: cook(r.try_get("customer_id")?),
        site_id: cook(r.try_get("site_id")?),
        last_contact: r.try_get("last_contact")?,
        last_address: r.try_get("last_address")?,
        applied_generation: r.try_get("applied_generation")?,
        apply_state: r.try_get("apply_state")?,
        apply_generation: r.try_get("apply_generation")?,
        apply_error: r.try_get("apply_error")?,
        apply_at: r.try_get("apply_at")?,
        drift: r.try_get("drift")?,
        drift_at: r.try_get("drift_at")?,
    })
}

impl Store {
    /// Records that a unit's agent spoke to the center (telemetry: not audited, it
    /// changes no configuration and would flood the audit chain). Written only while
    /// the certificate is unrevoked, into the status of its installation: the status of
    /// another (earlier) installation of the unit is replaced by a fresh one, a later
    /// one is never touched.
    pub async fn touch_agent(&self, cert: &AgentCert, address: &str, now: i64) -> Result<()> {
        sqlx::query(AssertSqlSafe(format!("INSERT INTO agent_status (equipment_id, installation, customer_id, site_id, last_contact, last_address) \
                     SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (SELECT 1 FROM agent_certs WHERE serial = $7 AND revoked_at IS NULL) \
                     ON CONFLICT (equipment_id) DO UPDATE SET {FRESH_IF_OTHER}, installation = $2, customer_id = $3, site_id = $4, last_contact = $5, last_address = $6 \
                     WHERE agent_status.installation <= $2")))
            .bind(raw(cert.equipment_id))
            .bind(cert.installation)
            .bind(raw(cert.customer_id))
            .bind(raw(cert.site_id))
            .bind(now)
            .bind(address)
            .bind(&cert.serial)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A unit's agent status in its current installation, as seen in `scope`.
    pub async fn agent_status(
        &self,
        scope: Scope,
        equipment_id: EquipmentId,
    ) -> Result<Option<AgentStatus>> {
        let (filter, c) = scope_filter(scope, "s.customer_id", 2);
        let sql = format!(
            "SELECT {STATUS_COLS} FROM agent_status s JOIN equipment e ON {STATUS_IS_CURRENT} WHERE s.equipment_id = $1{filter}"
        );
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(raw(equipment_id));
        if let Some(c) = c {
            q = q.bind(c);
        }
        q.fetch_optional(&self.pool)
            .await?
            .map(|r| status_from_row(&r))
            .transpose()
    }

    /// A unit's newest reports in its current installation, newest first.
    pub async fn agent_reports(
        &self,
        scope: Scope,
        equipment_id: EquipmentId,
        limit: i64,
    ) -> Result<Vec<StoredReport>> {
        let (filter, c) = scope_filter(scope, "r.customer_id", 3);
        let sql = format!(
            "SELECT r.report_id, r.equipment_id, r.kind, r.generation, r.detail, r.at, r.received_at FROM agent_reports r \
             JOIN equipment e ON e.id = r.equipment_id AND e.installation = r.installation AND e.customer_id = r.customer_id AND e.site_id = r.site_id \
             WHERE r.equipment_id = $1{filter} ORDER BY r.received_at DESC, r.at DESC LIMIT $2"
        );
        let mut q = sqlx::query(AssertSqlSafe(sql))
            .bind(raw(equipment_id))
            .bind(limit);
        if let Some(c) = c {
            q = q.bind(c);
        }
        q.fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(StoredReport {
                    report_id: r.try_get("report_id")?,
                    equipment_id: cook(r.try_get("equipment_id")?),
                    kind: r.try_get("kind")?,
                    generation: r.try_get("generation")?,
                    detail: r.try_get("detail")?,
                    at: r.try_get("at")?,
                    received_at: r.try_get("received_at")?,
                })
            })
            .collect()
    }

    /// The fleet: every unit with a site, with the agent status of its current
    /// installation and its site's newest published generation.
    pub async fn fleet(&self, scope: Scope, f: &FleetFilter) -> Result<Vec<FleetRow>> {
        let (filter, c) = scope_filter(scope, "e.customer_id", 1);
        let mut sql = format!(
            "SELECT e.id AS equipment_id, e.serial, e.state AS unit_state, e.customer_id, cu.name AS customer_name, e.site_id, si.name AS site_name, \
             (SELECT MAX(g.generation) FROM site_generations g WHERE g.site_id = e.site_id) AS desired_generation, \
             s.last_contact, s.applied_generation, s.apply_state, s.apply_generation, s.apply_error, s.drift \
             FROM equipment e JOIN customers cu ON cu.id = e.customer_id JOIN sites si ON si.id = e.site_id \
             LEFT JOIN agent_status s ON {STATUS_IS_CURRENT} \
             WHERE e.site_id IS NOT NULL{filter}"
        );
        let mut n = if c.is_some() { 2 } else { 1 };
        if f.customer_id.is_some() {
            sql.push_str(&format!(" AND e.customer_id = ${n}"));
            n += 1;
        }
        let _ = n;
        sql.push_str(" ORDER BY cu.name, si.name, e.serial LIMIT 5000");
        let mut q = sqlx::query(AssertSqlSafe(sql));
        if let Some(c) = c {
            q = q.bind(c);
        }
        if let Some(cust) = f.customer_id {
            q = q.bind(raw(cust));
        }
        q.fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(FleetRow {
                    equipment_id: cook(r.try_get("equipment_id")?),
                    serial: r.try_get("serial")?,
                    unit_state: r.try_get("unit_state")?,
                    customer_id: cook(r.try_get("customer_id")?),
                    customer_name: r.try_get("customer_name")?,
                    site_id: cook(r.try_get("site_id")?),
                    site_name: r.try_get("site_name")?,
                    desired_generation: r.try_get("desired_generation")?,
                    last_contact: r.try_get("last_contact")?,
                    applied_generation: r.try_get("applied_generation")?,
                    apply_state: r.try_get("apply_state")?,
                    apply_generation: r.try_get("apply_generation")?,
                    apply_error: r.try_get("apply_error")?,
                    drift: r.try_get("drift")?,
                })
            })
            .collect()
    }

    /// The fingerprint of the CA agents pin (set by the agent listener).
    pub async fn agent_ca_fingerprint(&self) -> Result<Option<String>> {
        Ok(
            sqlx::query("SELECT value FROM center_settings WHERE name = 'agent_ca_sha256'")
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.try_get("value"))
                .transpose()?,
        )
    }

    /// Records the CA fingerprint (configuration of the process, not audited: it is the
    /// SHA-256 of the CA certificate in `<data_dir>/ca`, which every process shares).
    pub async fn set_agent_ca_fingerprint(&self, fp: &str) -> Result<()> {
        sqlx::query("INSERT INTO center_settings (name, value) VALUES ('agent_ca_sha256', $1) ON CONFLICT (name) DO UPDATE SET value = $1")
            .bind(fp)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

impl Tx {
    /// Stores one report; false when its `report_id` is already stored.
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_agent_report(
        &mut self,
        report_id: &str,
        equipment_id: EquipmentId,
        installation: i64,
        customer_id: CustomerId,
        site_id: SiteId,
        kind: &str,
        generation: i64,
        detail: &str,
        at: i64,
        now: i64,
    ) -> Result<bool> {
        let n = sqlx::query("INSERT INTO agent_reports (report_id, equipment_id, installation, customer_id, site_id, kind, generation, detail, at, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (report_id) DO NOTHING")
            .bind(report_id)
            .bind(raw(equipment_id))
            .bind(installation)
            .bind(raw(customer_id))
            .bind(raw(site_id))
            .bind(kind)
            .bind(generation)
            .bind(detail)
            .bind(at)
            .bind(now)
            .execute(&mut *self.tx)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    /// Writes a unit's status after its reports.
    pub async fn save_agent_status(&mut self, s: &AgentStatus) -> Result<()> {
        sqlx::query("INSERT INTO agent_status (equipment_id, customer_id, site_id, last_contact, last_address, applied_generation, apply_state, apply_generation, apply_error, apply_at, drift, drift_at, installation) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
                     ON CONFLICT (equipment_id) DO UPDATE SET customer_id = $2, site_id = $3, last_contact = $4, last_address = $5, applied_generation = $6, apply_state = $7, apply_generation = $8, apply_error = $9, apply_at = $10, drift = $11, drift_at = $12, installation = $13")
            .bind(raw(s.equipment_id))
            .bind(raw(s.customer_id))
            .bind(raw(s.site_id))
            .bind(s.last_contact)
            .bind(&s.last_address)
            .bind(s.applied_generation)
            .bind(&s.apply_state)
            .bind(s.apply_generation)
            .bind(&s.apply_error)
            .bind(s.apply_at)
            .bind(&s.drift)
            .bind(s.drift_at)
            .bind(s.installation)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// A unit's status inside the transaction.
    pub async fn agent_status(&mut self, equipment_id: EquipmentId) -> Result<Option<AgentStatus>> {
        let sql = format!("SELECT {STATUS_COLS} FROM agent_status s WHERE s.equipment_id = $1");
        sqlx::query(AssertSqlSafe(sql))
            .bind(raw(equipment_id))
            .fetch_optional(&mut *self.tx)
            .await?
            .map(|r| status_from_row(&r))
            .transpose()
    }
}
