//! SQL of configuration revisions and published generations. A revision's policy and
//! settings are written once, at insert; the store has no statement that changes them
//! or deletes a revision, and none that updates or deletes a `site_generations` row.
//! The only update of a revision moves its state forward (review, publish).

use crate::{cook, raw};
use mamori_center_model::ids::*;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::{Result, Store, StoreError, Tx, scope_filter};
use mamori_center_model::domain::Scope;
use mamori_center_model::revisions::{NewRevision, Revision, RevisionState};

/// What a site's gateways must run: the newest published generation.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedConfig {
    pub site_id: SiteId,
    pub customer_id: CustomerId,
    pub generation: i64,
    pub revision_id: i64,
    pub policy_text: String,
    pub settings: mamori_api::settings::GatewaySettings,
    pub published_at: i64,
}

fn published_from_row(r: &AnyRow) -> Result<PublishedConfig> {
    let json: String = r.try_get("settings_json")?;
    let settings = serde_json::from_str(&json)
        .map_err(|e| StoreError::Corrupt(format!("settings of a published generation: {e}")))?;
    Ok(PublishedConfig {
        site_id: cook(r.try_get("site_id")?),
        customer_id: cook(r.try_get("customer_id")?),
        generation: r.try_get("generation")?,
        revision_id: r.try_get("revision_id")?,
        policy_text: r.try_get("policy_text")?,
        settings,
        published_at: r.try_get("published_at")?,
    })
}

impl Store {
    /// The newest published generation of a site (no tenant scope: the caller is the
    /// agent listener, which has already tied the certificate to this site).
    pub async fn published_config(&self, site_id: SiteId) -> Result<Option<PublishedConfig>> {
        sqlx::query("SELECT site_id, customer_id, generation, revision_id, policy_text, settings_json, published_at FROM site_generations WHERE site_id = $1 ORDER BY generation DESC LIMIT 1")
            .bind(raw(site_id))
            .fetch_optional(&self.pool)
            .await?
            .map(|r| published_from_row(&r))
            .transpose()
    }

    /// The newest generation number of every site published at or after `since_ms`
    /// (one cheap query; the agent listener polls it to wake long-polls).
    pub async fn generations_since(&self, since_ms: i64) -> Result<Vec<(i64, i64)>> {
        let rows = sqlx::query("SELECT site_id, MAX(generation) AS generation FROM site_generations WHERE published_at >= $1 GROUP BY site_id ORDER BY site_id")
            .bind(since_ms)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("site_id")?, r.try_get("generation")?)))
            .collect()
    }
}

const REV_COLS: &str = "r.id, r.customer_id, r.site_id, r.number, r.policy_text, r.settings_json, r.author_id, ua.email AS author, r.reason, r.instruction_id, r.state, r.created_at, ur.email AS reviewer, r.reviewed_at, r.review_note, up.email AS publisher, r.published_at, r.generation, r.restored_from";
const REV_FROM: &str = "config_revisions r JOIN users ua ON ua.id = r.author_id LEFT JOIN users ur ON ur.id = r.reviewed_by LEFT JOIN users up ON up.id = r.published_by";

fn revision_from_row(r: &AnyRow) -> Result<Revision> {
    let state: String = r.try_get("state")?;
    let json: String = r.try_get("settings_json")?;
    Ok(Revision {
        id: r.try_get("id")?,
        customer_id: cook(r.try_get("customer_id")?),
        site_id: cook(r.try_get("site_id")?),
        number: r.try_get("number")?,
        policy_text: r.try_get("policy_text")?,
        settings: serde_json::from_str(&json)
            .map_err(|e| StoreError::Corrupt(format!("settings of a revision: {e}")))?,
        author_id: cook(r.try_get("author_id")?),
        author: r.try_get("author")?,
        reason: r.try_get("reason")?,
        instruction_id: cook(r.try_get("instruction_id")?),
        state: RevisionState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("revision state {state:?}")))?,
        created_at: r.try_get("created_at")?,
        reviewed_by: r.try_get("reviewer")?,
        reviewed_at: r.try_get("reviewed_at")?,
        review_note: r.try_get("review_note")?,
        published_by: r.try_get("publisher")?,
        published_at: r.try_get("published_at")?,
        generation: r.try_get("generation")?,
        restored_from: r.try_get("restored_from")?,
    })
}

impl Store {
    /// The revisions of a site in `scope`, newest first.
    pub async fn revisions(&self, scope: Scope, site_id: SiteId) -> Result<Vec<Revision>> {
        let (filter, c) = scope_filter(scope, "r.customer_id", 2);
        let sql = format!(
            "SELECT {REV_COLS} FROM {REV_FROM} WHERE r.site_id = $1{filter} ORDER BY r.number DESC"
        );
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(raw(site_id));
        if let Some(c) = c {
            q = q.bind(c);
        }
        q.fetch_all(&self.pool)
            .await?
            .iter()
            .map(revision_from_row)
            .collect()
    }

    /// One revision of a site in `scope`, by its number.
    pub async fn revision(
        &self,
        scope: Scope,
        site_id: SiteId,
        number: i64,
    ) -> Result<Option<Revision>> {
        let (filter, c) = scope_filter(scope, "r.customer_id", 3);
        let sql = format!(
            "SELECT {REV_COLS} FROM {REV_FROM} WHERE r.site_id = $1 AND r.number = $2{filter}"
        );
        let mut q = sqlx::query(AssertSqlSafe(sql))
            .bind(raw(site_id))
            .bind(number);
        if let Some(c) = c {
            q = q.bind(c);
        }
        q.fetch_optional(&self.pool)
            .await?
            .map(|r| revision_from_row(&r))
            .transpose()
    }
}

impl Tx {
    /// Inserts a draft with the site's next number; returns the number.
    pub async fn insert_revision(&mut self, r: &NewRevision, now: i64) -> Result<i64> {
        let next = sqlx::query(
            "SELECT COALESCE(MAX(number), 0) + 1 AS n FROM config_revisions WHERE site_id = $1",
        )
        .bind(raw(r.site_id))
        .fetch_one(&mut *self.tx)
        .await?;
        let number: i64 = next.try_get("n")?;
        sqlx::query("INSERT INTO config_revisions (customer_id, site_id, number, policy_text, settings_json, author_id, reason, instruction_id, state, created_at, restored_from) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'draft', $9, $10)")
            .bind(raw(r.customer_id))
            .bind(raw(r.site_id))
            .bind(number)
            .bind(&r.policy_text)
            .bind(&r.settings_json)
            .bind(raw(r.author_id))
            .bind(&r.reason)
            .bind(raw(r.instruction_id))
            .bind(now)
            .bind(r.restored_from)
            .execute(&mut *self.tx)
            .await
            .map_err(|e| super::conflict(e, "another revision of this site was drafted at the same time; try again"))?;
        Ok(number)
    }

    /// Moves a draft to `to` (approved or rejected); false when it is no longer a draft.
    pub async fn review_revision(
        &mut self,
        id: i64,
        to: RevisionState,
        by: i64,
        note: &str,
        now: i64,
    ) -> Result<bool> {
        let n = sqlx::query("UPDATE config_revisions SET state = $1, reviewed_by = $2, reviewed_at = $3, review_note = $4 WHERE id = $5 AND state = 'draft'")
            .bind(to.as_str())
            .bind(by)
            .bind(now)
            .bind(note)
            .bind(id)
            .execute(&mut *self.tx)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    /// Publishes an approved revision: the site's next generation, the revision's state,
    /// and the `site_generations` row, in this transaction. `None` when the revision is
    /// no longer approved (published meanwhile).
    pub async fn publish_revision(&mut self, id: i64, by: UserId, now: i64) -> Result<Option<i64>> {
        let Some(rev) = sqlx::query(
            "SELECT site_id, customer_id, policy_text, settings_json FROM config_revisions WHERE id = $1 AND state = 'approved'",
        )
        .bind(id)
        .fetch_optional(&mut *self.tx)
        .await?
        else {
            return Ok(None);
        };
        let site_id: SiteId = cook(rev.try_get("site_id")?);
        let next = sqlx::query(
            "SELECT COALESCE(MAX(generation), 0) + 1 AS g FROM site_generations WHERE site_id = $1",
        )
        .bind(raw(site_id))
        .fetch_one(&mut *self.tx)
        .await?;
        let generation: i64 = next.try_get("g")?;
        let n = sqlx::query("UPDATE config_revisions SET state = 'published', published_by = $1, published_at = $2, generation = $3 WHERE id = $4 AND state = 'approved'")
            .bind(raw(by))
            .bind(now)
            .bind(generation)
            .bind(id)
            .execute(&mut *self.tx)
            .await
            .map_err(|e| super::conflict(e, "another revision of this site was published at the same time; try again"))?
            .rows_affected();
        if n != 1 {
            return Ok(None);
        }
        sqlx::query("INSERT INTO site_generations (site_id, generation, customer_id, revision_id, policy_text, settings_json, published_by, published_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(raw(site_id))
            .bind(generation)
            .bind(rev.try_get::<i64, _>("customer_id")?)
            .bind(id)
            .bind(rev.try_get::<String, _>("policy_text")?)
            .bind(rev.try_get::<String, _>("settings_json")?)
            .bind(raw(by))
            .bind(now)
            .execute(&mut *self.tx)
            .await
            .map_err(|e| super::conflict(e, "another revision of this site was published at the same time; try again"))?;
        Ok(Some(generation))
    }
}
