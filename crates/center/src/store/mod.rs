//! All SQL of the center, for SQLite and PostgreSQL alike (one SQL text with `$1`
//! placeholders, run through sqlx's `Any` driver). Every query of customer data takes
//! a [`Scope`]; writes go through a [`Tx`] that appends the audit entry in the same
//! transaction. There is no statement that updates or deletes an audit entry.

mod gateways;
mod migrations;
pub mod seed;

use std::sync::Arc;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, AssertSqlSafe, Executor, Row};

use crate::audit::{self, ChainError, Entry, Record, Verifier};
use crate::domain::*;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database {url}: {source}")]
    Open { url: String, source: sqlx::Error },
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database migration {version} failed: {source}")]
    Migrate { version: i64, source: sqlx::Error },
    #[error("the database holds a value this version does not understand: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Chain(#[from] ChainError),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite has one writer; serialising writers in-process avoids busy errors on
    /// upgrade from a read to a write lock. PostgreSQL uses an advisory lock instead,
    /// which also serialises several center processes.
    write_lock: Arc<tokio::sync::Mutex<()>>,
}

const AUDIT_LOCK_KEY: i64 = 0x6d616d6f7269; // "mamori"

impl Store {
    pub async fn open(url: &str, max_connections: u32) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = FULL").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await
            .map_err(|source| StoreError::Open {
                url: redact(url),
                source,
            })?;
        let store = Store {
            pool,
            backend,
            write_lock: Arc::new(tokio::sync::Mutex::new(())),
        };
        migrations::run(&store).await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Starts a write transaction; dropping it without [`Tx::commit`] rolls back.
    pub async fn begin(&self) -> Result<Tx> {
        let guard = match self.backend {
            Backend::Sqlite => Some(self.write_lock.clone().lock_owned().await),
            Backend::Postgres => None,
        };
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(AUDIT_LOCK_KEY)
                .execute(&mut *tx)
                .await?;
        }
        Ok(Tx { tx, _guard: guard })
    }

    // ---- reads -------------------------------------------------------------------

    pub async fn user_count_with_role(&self, role: Role) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM users WHERE role = $1 AND active = 1")
            .bind(role.as_str())
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<i64, _>("n")?)
    }

    pub async fn credentials_by_email(&self, email: &str) -> Result<Option<Credentials>> {
        let sql = format!(
            "SELECT {USER_COLS}, password_hash, totp_secret, failed_logins, locked_until FROM users WHERE email = $1"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(email)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| credentials_from_row(&r)).transpose()
    }

    pub async fn credentials_by_id(&self, id: i64) -> Result<Option<Credentials>> {
        let sql = format!(
            "SELECT {USER_COLS}, password_hash, totp_secret, failed_logins, locked_until FROM users WHERE id = $1"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| credentials_from_row(&r)).transpose()
    }

    pub async fn user(&self, scope: Scope, id: i64) -> Result<Option<User>> {
        let (filter, c) = scope_filter(scope, "customer_id", 2);
        let sql = format!("SELECT {USER_COLS} FROM users WHERE id = $1{filter}");
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(id);
        if let Some(c) = c {
            q = q.bind(c);
        }
        q.fetch_optional(&self.pool)
            .await?
            .map(|r| user_from_row(&r))
            .transpose()
    }

    pub async fn users(&self, scope: Scope) -> Result<Vec<User>> {
        let (filter, c) = scope_filter(scope, "customer_id", 1);
        let sql =
            format!("SELECT {USER_COLS} FROM users WHERE 1 = 1{filter} ORDER BY id LIMIT 1000");
        let mut q = sqlx::query(AssertSqlSafe(sql));
        if let Some(c) = c {
            q = q.bind(c);
        }
        q.fetch_all(&self.pool)
            .await?
            .iter()
            .map(user_from_row)
            .collect()
    }

    pub async fn setup_link(&self, token_hash: &str) -> Result<Option<SetupLink>> {
        let row = sqlx::query("SELECT token_hash, user_id, purpose, totp_secret, expires_at, used FROM setup_links WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(SetupLink {
                token_hash: r.try_get("token_hash")?,
                user_id: r.try_get("user_id")?,
                purpose: r.try_get("purpose")?,
                totp_secret: r.try_get("totp_secret")?,
                expires_at: r.try_get("expires_at")?,
                used: r.try_get::<i64, _>("used")? != 0,
            })
        })
        .transpose()
    }

    pub async fn session(&self, token_hash: &str) -> Result<Option<Session>> {
        let row = sqlx::query(
            "SELECT user_id, stage, csrf, expires_at FROM sessions WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(Session {
                user_id: r.try_get("user_id")?,
                stage: r.try_get("stage")?,
                csrf: r.try_get("csrf")?,
                expires_at: r.try_get("expires_at")?,
            })
        })
        .transpose()
    }

    /// A session and its user in one query (the hot path of every request).
    pub async fn session_with_user(&self, token_hash: &str) -> Result<Option<(Session, User)>> {
        let sql = format!(
            "SELECT s.stage, s.csrf, s.expires_at, {} FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1",
            USER_COLS
                .split(", ")
                .map(|c| format!("u.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            let user = user_from_row(&r)?;
            Ok((
                Session {
                    user_id: user.id,
                    stage: r.try_get("stage")?,
                    csrf: r.try_get("csrf")?,
                    expires_at: r.try_get("expires_at")?,
                },
                user,
            ))
        })
        .transpose()
    }

    pub async fn api_token(&self, token_hash: &str) -> Result<Option<ApiToken>> {
        let row = sqlx::query("SELECT id, user_id, name, role, customer_id, revoked FROM api_tokens WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            let role: String = r.try_get("role")?;
            Ok(ApiToken {
                id: r.try_get("id")?,
                user_id: r.try_get("user_id")?,
                name: r.try_get("name")?,
                role: Role::parse(&role)
                    .ok_or_else(|| StoreError::Corrupt(format!("role {role:?}")))?,
                customer_id: r.try_get("customer_id")?,
                revoked: r.try_get::<i64, _>("revoked")? != 0,
            })
        })
        .transpose()
    }

    pub async fn customer(&self, scope: Scope, id: i64) -> Result<Option<Customer>> {
        let (filter, c) = scope_filter(scope, "id", 2);
        let sql = format!("SELECT id, name, created_at FROM customers WHERE id = $1{filter}");
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(id);
        if let Some(c) = c {
            q = q.bind(c);
        }
        q.fetch_optional(&self.pool)
            .await?
            .map(|r| customer_from_row(&r))
            .transpose()
    }

    pub async fn customers(&self, scope: Scope) -> Result<Vec<Customer>> {
        let (filter, c) = scope_filter(scope, "id", 1);
        let sql = format!(
            "SELECT id, name, created_at FROM customers WHERE 1 = 1{filter} ORDER BY id LIMIT 1000"
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        if let Some(c) = c {
            q = q.bind(c);
        }
        q.fetch_all(&self.pool)
            .await?
            .iter()
            .map(customer_from_row)
            .collect()
    }

    pub async fn site(&self, scope: Scope, id: i64) -> Result<Option<Site>> {
        let (filter, c) = scope_filter(scope, "customer_id", 2);
        let sql = format!(
            "SELECT id, customer_id, name, address, created_at FROM sites WHERE id = $1{filter}"
        );
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(id);
        if let Some(c) = c {
            q = q.bind(c);
        }
        q.fetch_optional(&self.pool)
            .await?
            .map(|r| site_from_row(&r))
            .transpose()
    }

    pub async fn sites(&self, scope: Scope) -> Result<Vec<Site>> {
        let (filter, c) = scope_filter(scope, "customer_id", 1);
        let sql = format!(
            "SELECT id, customer_id, name, address, created_at FROM sites WHERE 1 = 1{filter} ORDER BY id LIMIT 1000"
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        if let Some(c) = c {
            q = q.bind(c);
        }
        q.fetch_all(&self.pool)
            .await?
            .iter()
            .map(site_from_row)
            .collect()
    }

    pub async fn appliance(&self, scope: Scope, id: i64) -> Result<Option<Appliance>> {
        let (filter, c) = scope_filter(scope, "customer_id", 2);
        let sql = format!(
            "SELECT id, customer_id, site_id, serial, model, created_at FROM appliances WHERE id = $1{filter}"
        );
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(id);
        if let Some(c) = c {
            q = q.bind(c);
        }
        q.fetch_optional(&self.pool)
            .await?
            .map(|r| appliance_from_row(&r))
            .transpose()
    }

    pub async fn appliances(&self, scope: Scope) -> Result<Vec<Appliance>> {
        let (filter, c) = scope_filter(scope, "customer_id", 1);
        let sql = format!(
            "SELECT id, customer_id, site_id, serial, model, created_at FROM appliances WHERE 1 = 1{filter} ORDER BY id LIMIT 1000"
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        if let Some(c) = c {
            q = q.bind(c);
        }
        q.fetch_all(&self.pool)
            .await?
            .iter()
            .map(appliance_from_row)
            .collect()
    }

    pub async fn instruction(&self, scope: Scope, id: i64) -> Result<Option<Instruction>> {
        let (filter, c) = scope_filter(scope, "customer_id", 2);
        let sql = format!("SELECT {INSTR_COLS} FROM instructions WHERE id = $1{filter}");
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(id);
        if let Some(c) = c {
            q = q.bind(c);
        }
        q.fetch_optional(&self.pool)
            .await?
            .map(|r| instruction_from_row(&r))
            .transpose()
    }

    /// Newest first, at most `limit`.
    pub async fn instructions(&self, scope: Scope, limit: i64) -> Result<Vec<Instruction>> {
        let (filter, c) = scope_filter(scope, "customer_id", 2);
        let sql = format!(
            "SELECT {INSTR_COLS} FROM instructions WHERE 1 = 1{filter} ORDER BY id DESC LIMIT $1"
        );
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(limit);
        if let Some(c) = c {
            q = q.bind(c);
        }
        q.fetch_all(&self.pool)
            .await?
            .iter()
            .map(instruction_from_row)
            .collect()
    }

    pub async fn comments(&self, scope: Scope, instruction_id: i64) -> Result<Vec<Comment>> {
        let (filter, c) = scope_filter(scope, "customer_id", 2);
        let sql = format!(
            "SELECT id, instruction_id, author_id, body, created_at FROM instruction_comments WHERE instruction_id = $1{filter} ORDER BY id"
        );
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(instruction_id);
        if let Some(c) = c {
            q = q.bind(c);
        }
        q.fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(Comment {
                    id: r.try_get("id")?,
                    instruction_id: r.try_get("instruction_id")?,
                    author_id: r.try_get("author_id")?,
                    body: r.try_get("body")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Newest first, at most `limit`, entries with `seq < before` when given.
    pub async fn audit_entries(
        &self,
        scope: Scope,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Entry>> {
        let (filter, c) = scope_filter(scope, "customer_id", 3);
        let sql = format!(
            "SELECT {AUDIT_COLS} FROM audit_log WHERE seq < $1{filter} ORDER BY seq DESC LIMIT $2"
        );
        let mut q = sqlx::query(AssertSqlSafe(sql))
            .bind(before.unwrap_or(i64::MAX))
            .bind(limit);
        if let Some(c) = c {
            q = q.bind(c);
        }
        q.fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Ok(entry_from_row(r)?.0))
            .collect()
    }

    /// Walks the whole chain; `Ok(n)` is the number of entries that verified.
    pub async fn verify_audit(&self) -> Result<u64> {
        // Read in pages by sequence number; hash each page on a blocking thread while the
        // next one is read. The links and the order are checked in sequence.
        const PAGE: i64 = 20_000;
        let mut v = Verifier::default();
        let mut after = 0i64;
        let mut pending: Option<tokio::task::JoinHandle<Vec<Checked>>> = None;
        loop {
            let sql = format!(
                "SELECT {AUDIT_COLS}, prev_hash, hash FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2"
            );
            let rows = sqlx::query(AssertSqlSafe(sql))
                .bind(after)
                .bind(PAGE)
                .fetch_all(&self.pool)
                .await?;
            let mut page = Vec::with_capacity(rows.len());
            for r in &rows {
                let e = entry_at(r)?;
                let prev: String = r.try_get(10)?;
                let hash: String = r.try_get(11)?;
                page.push((e, prev, hash));
            }
            drop(rows);
            let done = page.len() < PAGE as usize;
            if let Some((e, _, _)) = page.last() {
                after = e.seq;
            }
            let next = tokio::task::spawn_blocking(move || {
                page.into_iter()
                    .map(|(e, prev, hash)| {
                        let computed = e.hash(&prev);
                        Checked {
                            seq: e.seq,
                            prev,
                            hash,
                            computed,
                        }
                    })
                    .collect::<Vec<_>>()
            });
            if let Some(p) = pending.replace(next) {
                for c in p
                    .await
                    .map_err(|e| StoreError::Corrupt(format!("verification task failed: {e}")))?
                {
                    v.push_hashed(c.seq, &c.prev, &c.hash, &c.computed)?;
                }
            }
            if done {
                break;
            }
        }
        if let Some(p) = pending {
            for c in p
                .await
                .map_err(|e| StoreError::Corrupt(format!("verification task failed: {e}")))?
            {
                v.push_hashed(c.seq, &c.prev, &c.hash, &c.computed)?;
            }
        }
        Ok(v.checked)
    }

    /// Runs one SQL statement as it is; for test set-up and seeding tools only.
    pub async fn execute_raw(&self, sql: &str) -> Result<u64> {
        Ok(sqlx::query(AssertSqlSafe(sql.to_string()))
            .execute(&self.pool)
            .await?
            .rows_affected())
    }
}

/// A write transaction. Every change is recorded with [`Tx::audit`] before commit.
pub struct Tx {
    tx: sqlx::Transaction<'static, Any>,
    _guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Tx {
    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }

    /// Appends one entry to the audit chain (the caller holds the write lock).
    pub async fn audit(&mut self, rec: Record, now: i64) -> Result<i64> {
        let last = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *self.tx)
            .await?;
        let (prev_seq, prev_hash) = match last {
            Some(r) => (r.try_get::<i64, _>("seq")?, r.try_get::<String, _>("hash")?),
            None => (0, audit::GENESIS.to_string()),
        };
        let e = Entry {
            seq: prev_seq + 1,
            at: now,
            actor_id: rec.actor_id,
            actor: rec.actor,
            customer_id: rec.customer_id,
            source: rec.source,
            action: rec.action,
            object: rec.object,
            outcome: rec.outcome,
            detail: rec.detail,
        };
        let hash = e.hash(&prev_hash);
        sqlx::query("INSERT INTO audit_log (seq, at, actor_id, actor, customer_id, source, action, object, outcome, detail, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)")
            .bind(e.seq)
            .bind(e.at)
            .bind(e.actor_id)
            .bind(e.actor)
            .bind(e.customer_id)
            .bind(e.source)
            .bind(e.action)
            .bind(e.object)
            .bind(e.outcome)
            .bind(e.detail)
            .bind(prev_hash)
            .bind(hash)
            .execute(&mut *self.tx)
            .await?;
        Ok(e.seq)
    }

    pub async fn insert_customer(&mut self, name: &str, now: i64) -> Result<i64> {
        let r =
            sqlx::query("INSERT INTO customers (name, created_at) VALUES ($1, $2) RETURNING id")
                .bind(name)
                .bind(now)
                .fetch_one(&mut *self.tx)
                .await?;
        Ok(r.try_get("id")?)
    }

    /// Inserts an account without password (set through its setup link).
    pub async fn insert_user(
        &mut self,
        customer_id: Option<i64>,
        email: &str,
        display_name: &str,
        role: Role,
        now: i64,
    ) -> Result<i64> {
        let r = sqlx::query("INSERT INTO users (customer_id, email, display_name, role, totp_enabled, active, failed_logins, locked_until, created_at) VALUES ($1, $2, $3, $4, 0, 1, 0, 0, $5) RETURNING id")
            .bind(customer_id)
            .bind(email)
            .bind(display_name)
            .bind(role.as_str())
            .bind(now)
            .fetch_one(&mut *self.tx)
            .await
            .map_err(|e| conflict(e, "an account with this e-mail address (or an active officer of this customer) already exists"))?;
        Ok(r.try_get("id")?)
    }

    pub async fn email_taken(&mut self, email: &str) -> Result<bool> {
        let r = sqlx::query("SELECT COUNT(*) AS n FROM users WHERE email = $1")
            .bind(email)
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(r.try_get::<i64, _>("n")? > 0)
    }

    pub async fn active_officer_count(&mut self, customer_id: i64) -> Result<i64> {
        let r = sqlx::query("SELECT COUNT(*) AS n FROM users WHERE customer_id = $1 AND role = 'officer' AND active = 1")
            .bind(customer_id)
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(r.try_get::<i64, _>("n")?)
    }

    pub async fn customer_exists(&mut self, id: i64) -> Result<bool> {
        let r = sqlx::query("SELECT COUNT(*) AS n FROM customers WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(r.try_get::<i64, _>("n")? > 0)
    }

    pub async fn set_credentials(
        &mut self,
        user_id: i64,
        display_name: &str,
        password_hash: &str,
        totp_secret: Option<&str>,
    ) -> Result<()> {
        sqlx::query("UPDATE users SET display_name = $1, password_hash = $2, totp_secret = $3, totp_enabled = $4, failed_logins = 0, locked_until = 0 WHERE id = $5")
            .bind(display_name)
            .bind(password_hash)
            .bind(totp_secret)
            .bind(i64::from(totp_secret.is_some()))
            .bind(user_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    pub async fn set_login_failures(
        &mut self,
        user_id: i64,
        failed: i64,
        locked_until: i64,
    ) -> Result<()> {
        sqlx::query("UPDATE users SET failed_logins = $1, locked_until = $2 WHERE id = $3")
            .bind(failed)
            .bind(locked_until)
            .bind(user_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    pub async fn set_active(&mut self, user_id: i64, active: bool) -> Result<()> {
        sqlx::query("UPDATE users SET active = $1 WHERE id = $2")
            .bind(i64::from(active))
            .bind(user_id)
            .execute(&mut *self.tx)
            .await
            .map_err(|e| conflict(e, "this customer already has an active security officer"))?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    pub async fn set_role(&mut self, user_id: i64, role: Role) -> Result<()> {
        sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
            .bind(role.as_str())
            .bind(user_id)
            .execute(&mut *self.tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    pub async fn set_locale(&mut self, user_id: i64, locale: Option<&str>) -> Result<()> {
        sqlx::query("UPDATE users SET locale = $1 WHERE id = $2")
            .bind(locale)
            .bind(user_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    pub async fn insert_setup_link(
        &mut self,
        token_hash: &str,
        user_id: Option<i64>,
        purpose: &str,
        totp_secret: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<()> {
        sqlx::query("INSERT INTO setup_links (token_hash, user_id, purpose, totp_secret, expires_at, used, created_at) VALUES ($1, $2, $3, $4, $5, 0, $6)")
            .bind(token_hash)
            .bind(user_id)
            .bind(purpose)
            .bind(totp_secret)
            .bind(expires_at)
            .bind(now)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Marks a link used; false when it was already used (a concurrent redemption).
    pub async fn use_setup_link(&mut self, token_hash: &str) -> Result<bool> {
        let n = sqlx::query("UPDATE setup_links SET used = 1 WHERE token_hash = $1 AND used = 0")
            .bind(token_hash)
            .execute(&mut *self.tx)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    pub async fn retire_bootstrap_links(&mut self) -> Result<()> {
        sqlx::query("UPDATE setup_links SET used = 1 WHERE purpose = 'bootstrap' AND used = 0")
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    pub async fn insert_session(
        &mut self,
        token_hash: &str,
        user_id: i64,
        stage: &str,
        csrf: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<()> {
        sqlx::query("INSERT INTO sessions (token_hash, user_id, stage, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(token_hash)
            .bind(user_id)
            .bind(stage)
            .bind(csrf)
            .bind(now)
            .bind(expires_at)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    pub async fn delete_session(&mut self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    pub async fn insert_api_token(
        &mut self,
        token_hash: &str,
        user_id: i64,
        name: &str,
        role: Role,
        customer_id: Option<i64>,
        now: i64,
    ) -> Result<i64> {
        let r = sqlx::query("INSERT INTO api_tokens (token_hash, user_id, name, role, customer_id, created_at, revoked) VALUES ($1, $2, $3, $4, $5, $6, 0) RETURNING id")
            .bind(token_hash)
            .bind(user_id)
            .bind(name)
            .bind(role.as_str())
            .bind(customer_id)
            .bind(now)
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(r.try_get("id")?)
    }

    pub async fn insert_site(
        &mut self,
        customer_id: i64,
        name: &str,
        address: &str,
        now: i64,
    ) -> Result<i64> {
        let r = sqlx::query("INSERT INTO sites (customer_id, name, address, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
            .bind(customer_id)
            .bind(name)
            .bind(address)
            .bind(now)
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(r.try_get("id")?)
    }

    pub async fn site_belongs(&mut self, site_id: i64, customer_id: i64) -> Result<bool> {
        let r = sqlx::query("SELECT COUNT(*) AS n FROM sites WHERE id = $1 AND customer_id = $2")
            .bind(site_id)
            .bind(customer_id)
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(r.try_get::<i64, _>("n")? > 0)
    }

    pub async fn insert_appliance(
        &mut self,
        customer_id: i64,
        site_id: Option<i64>,
        serial: &str,
        model: &str,
        now: i64,
    ) -> Result<i64> {
        let r = sqlx::query("INSERT INTO appliances (customer_id, site_id, serial, model, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id")
            .bind(customer_id)
            .bind(site_id)
            .bind(serial)
            .bind(model)
            .bind(now)
            .fetch_one(&mut *self.tx)
            .await
            .map_err(|e| conflict(e, "an appliance with this serial number already exists"))?;
        Ok(r.try_get("id")?)
    }

    pub async fn insert_instruction(
        &mut self,
        customer_id: i64,
        submitted_by: i64,
        subject: &str,
        body: &str,
        kind: InstructionKind,
        now: i64,
    ) -> Result<i64> {
        let r = sqlx::query("INSERT INTO instructions (customer_id, submitted_by, subject, body, kind, state, reason, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'submitted', NULL, $6, $6) RETURNING id")
            .bind(customer_id)
            .bind(submitted_by)
            .bind(subject)
            .bind(body)
            .bind(kind.as_str())
            .bind(now)
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(r.try_get("id")?)
    }

    /// Reads an instruction inside the transaction (to check its state before a change).
    pub async fn instruction(&mut self, scope: Scope, id: i64) -> Result<Option<Instruction>> {
        let (filter, c) = scope_filter(scope, "customer_id", 2);
        let sql = format!("SELECT {INSTR_COLS} FROM instructions WHERE id = $1{filter}");
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(id);
        if let Some(c) = c {
            q = q.bind(c);
        }
        q.fetch_optional(&mut *self.tx)
            .await?
            .map(|r| instruction_from_row(&r))
            .transpose()
    }

    /// Moves an instruction from `from` to `to`; false when its state was no longer `from`.
    pub async fn set_instruction_state(
        &mut self,
        id: i64,
        from: InstructionState,
        to: InstructionState,
        reason: Option<&str>,
        now: i64,
    ) -> Result<bool> {
        let n = sqlx::query("UPDATE instructions SET state = $1, reason = COALESCE($2, reason), updated_at = $3 WHERE id = $4 AND state = $5")
            .bind(to.as_str())
            .bind(reason)
            .bind(now)
            .bind(id)
            .bind(from.as_str())
            .execute(&mut *self.tx)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    pub async fn insert_comment(
        &mut self,
        instruction_id: i64,
        customer_id: i64,
        author_id: i64,
        body: &str,
        now: i64,
    ) -> Result<i64> {
        let r = sqlx::query("INSERT INTO instruction_comments (instruction_id, customer_id, author_id, body, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id")
            .bind(instruction_id)
            .bind(customer_id)
            .bind(author_id)
            .bind(body)
            .bind(now)
            .fetch_one(&mut *self.tx)
            .await?;
        sqlx::query("UPDATE instructions SET updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(instruction_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(r.try_get("id")?)
    }
}

fn conflict(e: sqlx::Error, msg: &str) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            StoreError::Conflict(msg.to_string())
        }
        _ => StoreError::Db(e),
    }
}

/// `AND <column> = $n` and its value when the scope is one customer.
fn scope_filter(scope: Scope, column: &str, n: usize) -> (String, Option<i64>) {
    match scope {
        Scope::All => (String::new(), None),
        Scope::Customer(c) => (format!(" AND {column} = ${n}"), Some(c)),
    }
}

fn redact(url: &str) -> String {
    // postgres://user:password@host/db -> postgres://user:***@host/db
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

const USER_COLS: &str =
    "id, customer_id, email, display_name, role, active, totp_enabled, locale, created_at";
const INSTR_COLS: &str =
    "id, customer_id, submitted_by, subject, body, kind, state, reason, created_at, updated_at";
const AUDIT_COLS: &str =
    "seq, at, actor_id, actor, customer_id, source, action, object, outcome, detail";

fn user_from_row(r: &AnyRow) -> Result<User> {
    let role: String = r.try_get("role")?;
    Ok(User {
        id: r.try_get("id")?,
        customer_id: r.try_get("customer_id")?,
        email: r.try_get("email")?,
        display_name: r.try_get("display_name")?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role {role:?}")))?,
        active: r.try_get::<i64, _>("active")? != 0,
        totp_enabled: r.try_get::<i64, _>("totp_enabled")? != 0,
        locale: r.try_get("locale")?,
        created_at: r.try_get("created_at")?,
    })
}

fn credentials_from_row(r: &AnyRow) -> Result<Credentials> {
    Ok(Credentials {
        user: user_from_row(r)?,
        password_hash: r.try_get("password_hash")?,
        totp_secret: r.try_get("totp_secret")?,
        failed_logins: r.try_get("failed_logins")?,
        locked_until: r.try_get("locked_until")?,
    })
}

fn customer_from_row(r: &AnyRow) -> Result<Customer> {
    Ok(Customer {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        created_at: r.try_get("created_at")?,
    })
}

fn site_from_row(r: &AnyRow) -> Result<Site> {
    Ok(Site {
        id: r.try_get("id")?,
        customer_id: r.try_get("customer_id")?,
        name: r.try_get("name")?,
        address: r.try_get("address")?,
        created_at: r.try_get("created_at")?,
    })
}

fn appliance_from_row(r: &AnyRow) -> Result<Appliance> {
    Ok(Appliance {
        id: r.try_get("id")?,
        customer_id: r.try_get("customer_id")?,
        site_id: r.try_get("site_id")?,
        serial: r.try_get("serial")?,
        model: r.try_get("model")?,
        created_at: r.try_get("created_at")?,
    })
}

fn instruction_from_row(r: &AnyRow) -> Result<Instruction> {
    let kind: String = r.try_get("kind")?;
    let state: String = r.try_get("state")?;
    Ok(Instruction {
        id: r.try_get("id")?,
        customer_id: r.try_get("customer_id")?,
        submitted_by: r.try_get("submitted_by")?,
        subject: r.try_get("subject")?,
        body: r.try_get("body")?,
        kind: InstructionKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("instruction kind {kind:?}")))?,
        state: InstructionState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("instruction state {state:?}")))?,
        reason: r.try_get("reason")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// One entry read back, with the hash computed from its content.
struct Checked {
    seq: i64,
    prev: String,
    hash: String,
    computed: String,
}

/// An entry from a row whose first columns are `AUDIT_COLS`, by position.
fn entry_at(r: &AnyRow) -> Result<Entry> {
    Ok(Entry {
        seq: r.try_get(0)?,
        at: r.try_get(1)?,
        actor_id: r.try_get(2)?,
        actor: r.try_get(3)?,
        customer_id: r.try_get(4)?,
        source: r.try_get(5)?,
        action: r.try_get(6)?,
        object: r.try_get(7)?,
        outcome: r.try_get(8)?,
        detail: r.try_get(9)?,
    })
}

fn entry_from_row(r: &AnyRow) -> Result<(Entry, ())> {
    Ok((
        Entry {
            seq: r.try_get("seq")?,
            at: r.try_get("at")?,
            actor_id: r.try_get("actor_id")?,
            actor: r.try_get("actor")?,
            customer_id: r.try_get("customer_id")?,
            source: r.try_get("source")?,
            action: r.try_get("action")?,
            object: r.try_get("object")?,
            outcome: r.try_get("outcome")?,
            detail: r.try_get("detail")?,
        },
        (),
    ))
}
