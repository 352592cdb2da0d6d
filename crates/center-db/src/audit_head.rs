//! The reads of the audit chain's head that its checkpoints (`crate::audit_head`) need:
//! the newest entry, and the hash of one entry.

use std::sync::Arc;

use sqlx::Row;

use super::{Result, Store};
use crate::audit;

impl Store {
    /// The newest entry's sequence number and hash; `(0, GENESIS)` for an empty chain.
    pub async fn audit_head(&self) -> Result<(i64, String)> {
        let row = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => (r.try_get("seq")?, r.try_get("hash")?),
            None => (0, audit::GENESIS.to_string()),
        })
    }

    /// The stored hash of entry `seq` (`GENESIS` for 0); `None` when there is none.
    pub async fn audit_hash_at(&self, seq: i64) -> Result<Option<String>> {
        if seq == 0 {
            return Ok(Some(audit::GENESIS.to_string()));
        }
        let row = sqlx::query("SELECT hash FROM audit_log WHERE seq = $1")
            .bind(seq)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => Some(r.try_get("hash")?),
            None => None,
        })
    }

    /// Notified by every commit that appended audit entries (one stored permit stands
    /// for any number of commits since the last wake-up).
    pub fn audit_appended(&self) -> Arc<tokio::sync::Notify> {
        self.audit_appended.clone()
    }
}
