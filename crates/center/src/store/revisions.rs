//! SQL of configuration revisions and published generations. A revision's policy and
//! settings are written once, at insert; the store has no statement that changes them
//! or deletes a revision, and none that updates or deletes a `site_generations` row.
//! The only update of a revision moves its state forward (review, publish).

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Result, Store, StoreError};

/// Migration 30: revisions per site (`number` 1, 2, ... per site) and the generations
/// published from them (1, 2, ... per site). `restored_from` is the number of the
/// revision of the same site that a rollback copies. A revision is published at most
/// once (`site_generations.revision_id` is unique).
pub(super) const MIGRATION_30: &str = r#"
CREATE TABLE config_revisions (
    id {ID},
    customer_id {INT} NOT NULL REFERENCES customers(id),
    site_id {INT} NOT NULL REFERENCES sites(id),
    number {INT} NOT NULL,
    policy_text TEXT NOT NULL,
    settings_json TEXT NOT NULL,
    author_id {INT} NOT NULL REFERENCES users(id),
    reason TEXT NOT NULL,
    instruction_id {INT} REFERENCES instructions(id),
    state TEXT NOT NULL,
    created_at {INT} NOT NULL,
    reviewed_by {INT} REFERENCES users(id),
    reviewed_at {INT},
    review_note TEXT,
    published_by {INT} REFERENCES users(id),
    published_at {INT},
    generation {INT},
    restored_from {INT},
    UNIQUE (site_id, number),
    UNIQUE (site_id, generation)
);
CREATE INDEX config_revisions_customer ON config_revisions (customer_id, site_id);
CREATE TABLE site_generations (
    site_id {INT} NOT NULL REFERENCES sites(id),
    generation {INT} NOT NULL,
    customer_id {INT} NOT NULL REFERENCES customers(id),
    revision_id {INT} NOT NULL UNIQUE REFERENCES config_revisions(id),
    policy_text TEXT NOT NULL,
    settings_json TEXT NOT NULL,
    published_by {INT} NOT NULL REFERENCES users(id),
    published_at {INT} NOT NULL,
    PRIMARY KEY (site_id, generation)
);
CREATE INDEX site_generations_published ON site_generations (published_at);
"#;

/// What a site's gateways must run: the newest published generation.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedConfig {
    pub site_id: i64,
    pub customer_id: i64,
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
        site_id: r.try_get("site_id")?,
        customer_id: r.try_get("customer_id")?,
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
    pub async fn published_config(&self, site_id: i64) -> Result<Option<PublishedConfig>> {
        sqlx::query("SELECT site_id, customer_id, generation, revision_id, policy_text, settings_json, published_at FROM site_generations WHERE site_id = $1 ORDER BY generation DESC LIMIT 1")
            .bind(site_id)
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
