//! SQL of secrets at rest (`crate::secrets`): the key id recorded in
//! `center_settings`, and the one-time encryption of plain-text TOTP secrets.

use sqlx::Row;

use super::{Result, Store, Tx};
use crate::sealing::{SEALED_PREFIX, setup_link_aad, user_aad};
use mamori_center_model::ids::UserId;

const KEY_ID: &str = "secret_key_id";

impl Store {
    /// The id of the key that seals this database's TOTP secrets, once recorded.
    pub async fn secret_key_id(&self) -> Result<Option<String>> {
        Ok(
            sqlx::query("SELECT value FROM center_settings WHERE name = $1")
                .bind(KEY_ID)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.try_get("value"))
                .transpose()?,
        )
    }

    /// Records `id` unless a key id is recorded already; the id recorded in the end
    /// (another center's, when it was first).
    pub async fn record_secret_key_id(&self, id: &str) -> Result<String> {
        sqlx::query(
            "INSERT INTO center_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(KEY_ID)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(self.secret_key_id().await?.unwrap_or_default())
    }

    /// How many stored TOTP secrets are sealed.
    pub async fn sealed_totp_secret_count(&self) -> Result<i64> {
        let like = format!("{SEALED_PREFIX}%");
        let r = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM users WHERE totp_secret LIKE $1) + (SELECT COUNT(*) FROM setup_links WHERE totp_secret LIKE $1) AS n",
        )
        .bind(like)
        .fetch_one(&self.pool)
        .await?;
        Ok(r.try_get::<i64, _>("n")?)
    }
}

impl Tx {
    /// Seals every TOTP secret still in plain text (users, setup links) with the
    /// store's key; the numbers of each sealed. Sealed values are left as they are, so
    /// a second run changes nothing.
    pub async fn seal_plain_totp_secrets(&mut self) -> Result<(usize, usize)> {
        let like = format!("{SEALED_PREFIX}%");
        let users = sqlx::query(
            "SELECT id, totp_secret FROM users WHERE totp_secret IS NOT NULL AND totp_secret NOT LIKE $1 ORDER BY id",
        )
        .bind(&like)
        .fetch_all(&mut *self.tx)
        .await?;
        for r in &users {
            let id: i64 = r.try_get("id")?;
            let plain: String = r.try_get("totp_secret")?;
            let sealed = self.sealing.seal(&plain, &user_aad(UserId::new(id)))?;
            sqlx::query("UPDATE users SET totp_secret = $1 WHERE id = $2 AND totp_secret = $3")
                .bind(sealed)
                .bind(id)
                .bind(plain)
                .execute(&mut *self.tx)
                .await?;
        }
        let links = sqlx::query(
            "SELECT token_hash, totp_secret FROM setup_links WHERE totp_secret NOT LIKE $1 ORDER BY token_hash",
        )
        .bind(&like)
        .fetch_all(&mut *self.tx)
        .await?;
        for r in &links {
            let token_hash: String = r.try_get("token_hash")?;
            let plain: String = r.try_get("totp_secret")?;
            let sealed = self.sealing.seal(&plain, &setup_link_aad(&token_hash))?;
            sqlx::query(
                "UPDATE setup_links SET totp_secret = $1 WHERE token_hash = $2 AND totp_secret = $3",
            )
            .bind(sealed)
            .bind(token_hash)
            .bind(plain)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok((users.len(), links.len()))
    }
}
