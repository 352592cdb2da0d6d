//! The center's database: all SQL of the center, for SQLite and PostgreSQL alike (one SQL text with `$1`
//! placeholders). Writes run through sqlx's `Any` driver; the hot reads (session and
//! token lookups, lists) run on a second pool of the backend's native driver
//! ([`Reader`]), which decodes rows without the `Any` conversion; audit verification
//! streams ranges of the chain (on SQLite over read-only connections of its own).
//! Every query of customer data takes a [`Scope`]; writes go through a [`Tx`] that
//! appends the audit entry in the same transaction. There is no statement that updates or deletes an audit entry.

pub mod audit;
mod audit_head;
pub mod billing;
mod gateways;
mod ids;
mod migrations;
mod reconcile;
pub mod revisions;
pub mod sealing;
mod secrets;
pub mod seed;
mod tasks;

use mamori_center_model::ids::*;
use std::sync::Arc;

use std::str::FromStr;

use futures_util::TryStreamExt;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Any, AnyPool, AssertSqlSafe, Connection, Executor, Row};

use crate::audit::{ChainError, Entry, Record, Verifier};
pub(crate) use ids::{cook, raw};
use mamori_center_model::domain::*;

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
    #[error("secret at rest: {0}")]
    Secret(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The read pool, on the backend's native driver.
#[derive(Clone)]
enum Reader {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$p` bound to the native read pool (the body is compiled once per
/// driver, so row decoding is monomorphic).
macro_rules! with_reader {
    ($store:expr, $p:ident => $body:expr) => {
        match &$store.reader {
            Reader::Sqlite($p) => $body,
            Reader::Postgres($p) => $body,
        }
    };
}

/// Feeds one native row of `AUDIT_COLS, prev_hash, hash` to a [`RangeWalk`], hashing
/// the text where it lies in the row; a chain error is returned from the enclosing
/// function as `Ok(Err(..))`. A macro, so that each driver's row decodes monomorphically.
macro_rules! walk_audit_row {
    ($walk:expr, $r:expr) => {{
        let r = &$r;
        let e = audit::EntryRef {
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
        };
        if let Err(err) = $walk.row(&e, r.try_get(10)?, r.try_get(11)?) {
            return Ok(Err(err));
        }
    }};
}

/// A read scoped to the caller's customer on the native read pool: `$sql` is the query
/// up to the end of its `WHERE` conditions, `$tail` what follows them (order, limit);
/// `$args` are its integer parameters `$1`, `$2`, ...; the scope's condition on
/// `$column` is added as the next parameter. `$map` turns a row into the value.
macro_rules! scoped_query {
    ($store:expr, $scope:expr, $column:expr, $sql:expr, $tail:expr, $args:expr, $p:ident, $q:ident => $body:expr) => {{
        let args: &[i64] = &$args;
        let (filter, customer) = scope_filter($scope, $column, args.len() + 1);
        let sql = format!("{}{filter}{}", $sql, $tail);
        with_reader!($store, $p => {
            let mut $q = sqlx::query(AssertSqlSafe(sql));
            for a in args {
                $q = $q.bind(*a);
            }
            if let Some(c) = customer {
                $q = $q.bind(c);
            }
            $body
        })
    }};
}

/// At most one row of a scoped read (see [`scoped_query`]).
macro_rules! scoped_one {
    ($store:expr, $scope:expr, $column:expr, $sql:expr, $tail:expr, $args:expr, $map:expr) => {
        scoped_query!($store, $scope, $column, $sql, $tail, $args, p, q => {
            q.fetch_optional(p).await?.map(|r| ($map)(&r)).transpose()
        })
    };
}

/// All rows of a scoped read (see [`scoped_query`]).
macro_rules! scoped_all {
    ($store:expr, $scope:expr, $column:expr, $sql:expr, $tail:expr, $args:expr, $map:expr) => {
        scoped_query!($store, $scope, $column, $sql, $tail, $args, p, q => {
            q.fetch_all(p).await?.iter().map($map).collect()
        })
    };
}

mod accounts;
pub use accounts::{Admission, TokenFilter};
pub mod monitoring;

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    reader: Reader,
    backend: Backend,
    /// SQLite has one writer; serialising writers in-process avoids busy errors on
    /// upgrade from a read to a write lock. PostgreSQL uses an advisory lock instead,
    /// which also serialises several center processes.
    write_lock: Arc<tokio::sync::Mutex<()>>,
    /// How TOTP secrets are written and read (`crate::secrets`).
    sealing: crate::sealing::Sealing,
    /// Notified by every commit that appended audit entries (the checkpoint writer of
    /// `audit_head` waits on it; a permit coalesces many commits into one wake-up).
    audit_appended: Arc<tokio::sync::Notify>,
}

const AUDIT_LOCK_KEY: i64 = 0x6d616d6f7269; // "mamori"

impl Store {
    pub async fn open(url: &str, max_connections: u32) -> Result<Store> {
        Self::open_at_schema(url, max_connections, i64::MAX).await
    }

    /// Opens the database and applies the migrations up to `version` only: for tests
    /// of a migration, which need a database at the schema before it.
    #[doc(hidden)]
    pub async fn open_at_schema(url: &str, max_connections: u32, version: i64) -> Result<Store> {
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
        let open_err = |source| StoreError::Open {
            url: redact(url),
            source,
        };
        let readers = max_connections.max(1);
        let reader = match backend {
            Backend::Sqlite => {
                let opts = SqliteConnectOptions::from_str(url)
                    .map_err(open_err)?
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .busy_timeout(std::time::Duration::from_secs(10))
                    .foreign_keys(true)
                    .statement_cache_capacity(256);
                Reader::Sqlite(
                    SqlitePoolOptions::new()
                        .max_connections(readers)
                        .connect_with(opts)
                        .await
                        .map_err(open_err)?,
                )
            }
            Backend::Postgres => {
                let opts = PgConnectOptions::from_str(url)
                    .map_err(open_err)?
                    .statement_cache_capacity(256);
                Reader::Postgres(
                    PgPoolOptions::new()
                        .max_connections(readers)
                        .connect_with(opts)
                        .await
                        .map_err(open_err)?,
                )
            }
        };
        let store = Store {
            pool,
            reader,
            backend,
            write_lock: Arc::new(tokio::sync::Mutex::new(())),
            sealing: Default::default(),
            audit_appended: Arc::default(),
        };
        migrations::run(&store, version).await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// This store seals TOTP secrets with `key` (the center's, see `crate::secrets`).
    pub fn with_secret_key(mut self, key: crate::sealing::SecretKey) -> Store {
        self.sealing = crate::sealing::Sealing::Key(Arc::new(key));
        self
    }

    /// This store writes TOTP secrets as given: for tools and tests that fill a
    /// database before a center serves it (the center encrypts them at its start).
    /// Without this or a key, writing a TOTP secret is an error.
    pub fn with_plain_secrets(mut self) -> Store {
        self.sealing = crate::sealing::Sealing::Plain;
        self
    }

    pub async fn close(&self) {
        with_reader!(self, p => p.close().await);
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
        // SQLite: take the write lock at BEGIN (IMMEDIATE), so that a transaction that
        // reads before it writes waits for another process's writer (busy_timeout)
        // instead of failing when it upgrades its read lock.
        let mut tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(AUDIT_LOCK_KEY)
                .execute(&mut *tx)
                .await?;
        }
        Ok(Tx {
            tx,
            _guard: guard,
            sealing: self.sealing.clone(),
            audit_appended: self.audit_appended.clone(),
            appended: false,
        })
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
        let c = with_reader!(self, p => {
            let row = sqlx::query(AssertSqlSafe(sql))
                .bind(email)
                .fetch_optional(p)
                .await?;
            row.map(|r| credentials_from_row(&r)).transpose()
        })?;
        self.open_user_secret(c)
    }

    pub async fn credentials_by_id(&self, id: UserId) -> Result<Option<Credentials>> {
        let sql = format!(
            "SELECT {USER_COLS}, password_hash, totp_secret, failed_logins, locked_until FROM users WHERE id = $1"
        );
        let c = with_reader!(self, p => {
            let row = sqlx::query(AssertSqlSafe(sql))
                .bind(raw(id))
                .fetch_optional(p)
                .await?;
            row.map(|r| credentials_from_row(&r)).transpose()
        })?;
        self.open_user_secret(c)
    }

    /// The user's TOTP secret in plain text (it is stored sealed).
    fn open_user_secret(&self, c: Option<Credentials>) -> Result<Option<Credentials>> {
        c.map(|mut c| {
            if let Some(s) = &c.totp_secret {
                c.totp_secret = Some(self.sealing.open(s, &crate::sealing::user_aad(c.user.id))?);
            }
            Ok(c)
        })
        .transpose()
    }

    pub async fn user(&self, scope: Scope, id: UserId) -> Result<Option<User>> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE id = $1");
        scoped_one!(
            self,
            scope,
            "customer_id",
            sql,
            "",
            [id.get()],
            user_from_row
        )
    }

    pub async fn users(&self, scope: Scope) -> Result<Vec<User>> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE 1 = 1");
        let tail = " ORDER BY id LIMIT 1000";
        scoped_all!(self, scope, "customer_id", sql, tail, [], user_from_row)
    }

    pub async fn setup_link(&self, token_hash: &str) -> Result<Option<SetupLink>> {
        with_reader!(self, p => {
            let row = sqlx::query("SELECT token_hash, user_id, purpose, totp_secret, expires_at, used FROM setup_links WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_optional(p)
                .await?;
            row.map(|r| {
                let token_hash: String = r.try_get("token_hash")?;
                let stored: String = r.try_get("totp_secret")?;
                let aad = crate::sealing::setup_link_aad(&token_hash);
                Ok(SetupLink {
                    totp_secret: self.sealing.open(&stored, &aad)?,
                    token_hash,
                    user_id: cook(r.try_get("user_id")?),
                    purpose: r.try_get("purpose")?,
                    expires_at: r.try_get("expires_at")?,
                    used: r.try_get::<i64, _>("used")? != 0,
                })
            })
            .transpose()
        })
    }

    pub async fn session(&self, token_hash: &str) -> Result<Option<Session>> {
        with_reader!(self, p => {
            let row = sqlx::query(
                "SELECT user_id, stage, csrf, expires_at FROM sessions WHERE token_hash = $1",
            )
            .bind(token_hash)
            .fetch_optional(p)
            .await?;
            row.map(|r| {
                Ok(Session {
                    user_id: cook(r.try_get("user_id")?),
                    stage: r.try_get("stage")?,
                    csrf: r.try_get("csrf")?,
                    expires_at: r.try_get("expires_at")?,
                })
            })
            .transpose()
        })
    }

    /// A session and its user as they are now, in one query (the hot path of every
    /// request). Read from the database every time: a sign-out, deactivation or role
    /// change committed by any center process sharing the database holds for the very
    /// next request everywhere.
    pub async fn session_with_user(&self, token_hash: &str) -> Result<Option<(Session, User)>> {
        let sql = format!(
            "SELECT s.stage, s.csrf, s.expires_at, {} FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1",
            USER_COLS
                .split(", ")
                .map(|c| format!("u.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        with_reader!(self, p => {
            let row = sqlx::query(AssertSqlSafe(sql))
                .bind(token_hash)
                .fetch_optional(p)
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
        })
    }

    pub async fn customer(&self, scope: Scope, id: CustomerId) -> Result<Option<Customer>> {
        let sql = "SELECT id, name, created_at FROM customers WHERE id = $1";
        scoped_one!(self, scope, "id", sql, "", [id.get()], customer_from_row)
    }

    pub async fn customers(&self, scope: Scope) -> Result<Vec<Customer>> {
        let sql = "SELECT id, name, created_at FROM customers WHERE 1 = 1";
        let tail = " ORDER BY id LIMIT 1000";
        scoped_all!(self, scope, "id", sql, tail, [], customer_from_row)
    }

    pub async fn site(&self, scope: Scope, id: SiteId) -> Result<Option<Site>> {
        let sql = "SELECT id, customer_id, name, address, created_at FROM sites WHERE id = $1";
        scoped_one!(
            self,
            scope,
            "customer_id",
            sql,
            "",
            [id.get()],
            site_from_row
        )
    }

    pub async fn sites(&self, scope: Scope) -> Result<Vec<Site>> {
        let sql = "SELECT id, customer_id, name, address, created_at FROM sites WHERE 1 = 1";
        let tail = " ORDER BY id LIMIT 1000";
        scoped_all!(self, scope, "customer_id", sql, tail, [], site_from_row)
    }

    pub async fn instruction(
        &self,
        scope: Scope,
        id: InstructionId,
    ) -> Result<Option<Instruction>> {
        let sql = format!("SELECT {INSTR_COLS} FROM instructions WHERE id = $1");
        scoped_one!(
            self,
            scope,
            "customer_id",
            sql,
            "",
            [id.get()],
            instruction_from_row
        )
    }

    /// Newest first, at most `limit`.
    pub async fn instructions(&self, scope: Scope, limit: i64) -> Result<Vec<Instruction>> {
        self.instructions_before(scope, None, limit).await
    }

    /// Newest first, at most `limit`, those with `id < before` when given.
    pub async fn instructions_before(
        &self,
        scope: Scope,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Instruction>> {
        let sql = format!("SELECT {INSTR_COLS} FROM instructions WHERE id < $2");
        let tail = " ORDER BY id DESC LIMIT $1";
        let args = [limit, before.unwrap_or(i64::MAX)];
        scoped_all!(
            self,
            scope,
            "customer_id",
            sql,
            tail,
            args,
            instruction_from_row
        )
    }

    pub async fn comments(
        &self,
        scope: Scope,
        instruction_id: InstructionId,
    ) -> Result<Vec<Comment>> {
        let sql = "SELECT id, instruction_id, author_id, body, created_at FROM instruction_comments WHERE instruction_id = $1";
        scoped_all!(
            self,
            scope,
            "customer_id",
            sql,
            " ORDER BY id",
            [instruction_id.get()],
            |r| {
                Ok(Comment {
                    id: r.try_get("id")?,
                    instruction_id: cook(r.try_get("instruction_id")?),
                    author_id: cook(r.try_get("author_id")?),
                    body: r.try_get("body")?,
                    created_at: r.try_get("created_at")?,
                })
            }
        )
    }

    /// Newest first, at most `limit`, entries with `seq < before` when given.
    pub async fn audit_entries(
        &self,
        scope: Scope,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Entry>> {
        let sql = format!("SELECT {AUDIT_COLS} FROM audit_log WHERE seq < $1");
        let tail = " ORDER BY seq DESC LIMIT $2";
        let args = [before.unwrap_or(i64::MAX), limit];
        scoped_all!(self, scope, "customer_id", sql, tail, args, |r| Ok(
            entry_from_row(r)?.0
        ))
    }

    /// Walks the whole chain; `Ok(n)` is the number of entries that verified.
    pub async fn verify_audit(&self) -> Result<u64> {
        self.verify_audit_in_ranges(50_000).await
    }

    /// [`Store::verify_audit`] with ranges of at least `min_span` entries.
    pub async fn verify_audit_in_ranges(&self, min_span: i64) -> Result<u64> {
        // The chain is split into ranges of sequence numbers verified in parallel (row
        // fetching and decoding, not hashing, is the cost); each range checks its own order, links and
        // hashes, then the ranges are stitched: each must start where the previous ended,
        // with the previous range's last hash. The first bad entry overall is reported.
        let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS hi FROM audit_log")
            .fetch_one(&self.pool)
            .await?;
        let hi: i64 = row.try_get("hi")?;
        if hi == 0 {
            return Ok(0);
        }
        // SQLite: one range per core (each range is a reader thread of the driver and a
        // hashing task); PostgreSQL: two per core, as the server does half the work.
        let per_core = match self.backend {
            Backend::Sqlite => 1,
            Backend::Postgres => 2,
        };
        let parts = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(1, 8) as i64
            * per_core;
        let span = ((hi - 1) / parts + 1).max(min_span.max(1));
        let mut tasks = Vec::new();
        let mut from = 1;
        while from <= hi {
            let to = (from + span - 1).min(hi);
            let store = self.clone();
            tasks.push(tokio::spawn(
                async move { store.verify_range(from, to).await },
            ));
            from = to + 1;
        }
        let mut first_error: Option<ChainError> = None;
        let mut note = |e: ChainError| {
            if first_error
                .as_ref()
                .is_none_or(|f| chain_seq(&e) < chain_seq(f))
            {
                first_error = Some(e);
            }
        };
        let mut prev: Option<RangeEnd> = None;
        let mut broken = false;
        let mut checked = 0;
        for task in tasks {
            let r = task
                .await
                .map_err(|e| StoreError::Corrupt(format!("verification task failed: {e}")))??;
            match r {
                Err(e) => {
                    // The range's own first error is what counts; what follows it
                    // cannot be stitched.
                    note(e);
                    prev = None;
                    broken = true;
                }
                Ok(None) => {}
                Ok(Some(range)) if broken => {
                    broken = false;
                    prev = Some(range);
                }
                Ok(Some(range)) => {
                    checked += range.count;
                    let (expect_seq, expect_hash) = match &prev {
                        Some(p) => (p.last_seq + 1, p.last_hash.clone()),
                        None => (1, audit::GENESIS.to_string()),
                    };
                    if range.first_seq != expect_seq {
                        note(ChainError::Missing {
                            expected: expect_seq,
                            prev: expect_seq - 1,
                            found: range.first_seq,
                        });
                    } else if range.first_prev != expect_hash {
                        note(ChainError::BrokenLink {
                            seq: range.first_seq,
                            prev: expect_seq - 1,
                        });
                    }
                    prev = Some(range);
                }
            }
        }
        match first_error {
            Some(e) => Err(e.into()),
            None => Ok(checked),
        }
    }

    /// Verifies the entries with `from <= seq <= to` among themselves.
    async fn verify_range(
        &self,
        from: i64,
        to: i64,
    ) -> Result<Result<Option<RangeEnd>, ChainError>> {
        let mut walk = RangeWalk::default();
        match &self.reader {
            Reader::Sqlite(p) => {
                // SQLite's driver hands each row from its thread to the task, which costs
                // a wake-up per row (and much more when the machine is busy); so SQLite
                // packs a chunk of entries into one JSON value, and the text is hashed
                // where it lies in that value (borrowed unless it holds an escape). A
                // read-only connection of its own, so that the walk holds none of the
                // pool's connections and cannot write.
                const CHUNK: i64 = 4096;
                let opts = (*p.connect_options()).clone().read_only(true);
                let mut conn = sqlx::SqliteConnection::connect_with(&opts).await?;
                let sql = format!(
                    "SELECT json_group_array(json_array({AUDIT_COLS}, prev_hash, hash)) \
                     FROM (SELECT {AUDIT_COLS}, prev_hash, hash FROM audit_log \
                     WHERE seq >= $1 AND seq <= $2 ORDER BY seq)"
                );
                let mut lo = from;
                while lo <= to {
                    let hi = lo.saturating_add(CHUNK - 1).min(to);
                    let row = sqlx::query(AssertSqlSafe(sql.as_str()))
                        .bind(lo)
                        .bind(hi)
                        .fetch_one(&mut conn)
                        .await;
                    // A value of another type than its column's (SQLite keeps what it is
                    // given: a number or a blob written into a text column by hand) makes
                    // the chunk fail to pack or to parse; the chunk is then walked row by
                    // row, which names the entry.
                    let packed = match &row {
                        Ok(r) => {
                            let text: &str = r.try_get(0)?;
                            serde_json::from_str::<Vec<Packed<'_>>>(text).ok()
                        }
                        Err(_) => None,
                    };
                    let Some(packed) = packed else {
                        if let Err(err) = verify_sqlite_rows(&mut conn, lo, hi, &mut walk).await? {
                            return Ok(Err(err));
                        }
                        lo = hi + 1;
                        continue;
                    };
                    for e in &packed {
                        let entry = audit::EntryRef {
                            seq: e.seq,
                            at: e.at,
                            actor_id: e.actor_id,
                            actor: &e.actor,
                            customer_id: e.customer_id,
                            source: &e.source,
                            action: &e.action,
                            object: &e.object,
                            outcome: &e.outcome,
                            detail: &e.detail,
                        };
                        if let Err(err) = walk.row(&entry, &e.prev_hash, &e.hash) {
                            return Ok(Err(err));
                        }
                    }
                    lo = hi + 1;
                }
                conn.close().await?;
            }
            Reader::Postgres(p) => {
                // One streamed query; each row's text is hashed where it lies in the row.
                let sql = format!(
                    "SELECT {AUDIT_COLS}, prev_hash, hash FROM audit_log WHERE seq >= $1 AND seq <= $2 ORDER BY seq"
                );
                let mut rows = sqlx::query(AssertSqlSafe(sql.as_str()))
                    .bind(from)
                    .bind(to)
                    .fetch(p);
                while let Some(r) = rows.try_next().await? {
                    walk_audit_row!(walk, r);
                }
            }
        }
        Ok(Ok(walk.end()))
    }

    /// Runs one SQL statement as it is; for test set-up and seeding tools only.
    pub async fn execute_raw(&self, sql: &str) -> Result<u64> {
        let n = sqlx::query(AssertSqlSafe(sql.to_string()))
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n)
    }
}

/// A write transaction. Every change is recorded with [`Tx::audit`] before commit.
pub struct Tx {
    tx: sqlx::Transaction<'static, Any>,
    _guard: Option<tokio::sync::OwnedMutexGuard<()>>,
    /// How TOTP secrets are written (the store's).
    sealing: crate::sealing::Sealing,
    /// The store's [`Store::audit_appended`], notified once this transaction commits
    /// when it `appended` audit entries.
    audit_appended: Arc<tokio::sync::Notify>,
    appended: bool,
}

impl Tx {
    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        if self.appended {
            self.audit_appended.notify_one();
        }
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
        self.appended = true;
        Ok(e.seq)
    }

    pub async fn insert_customer(&mut self, name: &str, now: i64) -> Result<CustomerId> {
        let r =
            sqlx::query("INSERT INTO customers (name, created_at) VALUES ($1, $2) RETURNING id")
                .bind(name)
                .bind(now)
                .fetch_one(&mut *self.tx)
                .await?;
        Ok(cook(r.try_get("id")?))
    }

    /// Inserts an account without password (set through its setup link).
    pub async fn insert_user(
        &mut self,
        customer_id: Option<CustomerId>,
        email: &str,
        display_name: &str,
        role: Role,
        now: i64,
    ) -> Result<UserId> {
        let r = sqlx::query("INSERT INTO users (customer_id, email, display_name, role, totp_enabled, active, failed_logins, locked_until, created_at) VALUES ($1, $2, $3, $4, 0, 1, 0, 0, $5) RETURNING id")
            .bind(raw(customer_id))
            .bind(email)
            .bind(display_name)
            .bind(role.as_str())
            .bind(now)
            .fetch_one(&mut *self.tx)
            .await
            .map_err(|e| conflict(e, "an account with this e-mail address (or an active officer of this customer) already exists"))?;
        Ok(cook(r.try_get("id")?))
    }

    pub async fn email_taken(&mut self, email: &str) -> Result<bool> {
        let r = sqlx::query("SELECT COUNT(*) AS n FROM users WHERE email = $1")
            .bind(email)
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(r.try_get::<i64, _>("n")? > 0)
    }

    pub async fn active_officer_count(&mut self, customer_id: CustomerId) -> Result<i64> {
        let r = sqlx::query("SELECT COUNT(*) AS n FROM users WHERE customer_id = $1 AND role = 'officer' AND active = 1")
            .bind(raw(customer_id))
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(r.try_get::<i64, _>("n")?)
    }

    pub async fn customer_exists(&mut self, id: CustomerId) -> Result<bool> {
        let r = sqlx::query("SELECT COUNT(*) AS n FROM customers WHERE id = $1")
            .bind(raw(id))
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(r.try_get::<i64, _>("n")? > 0)
    }

    pub async fn set_credentials(
        &mut self,
        user_id: UserId,
        display_name: &str,
        password_hash: &str,
        totp_secret: Option<&str>,
    ) -> Result<()> {
        let aad = crate::sealing::user_aad(user_id);
        let stored = totp_secret
            .map(|s| self.sealing.seal(s, &aad))
            .transpose()?;
        sqlx::query("UPDATE users SET display_name = $1, password_hash = $2, totp_secret = $3, totp_enabled = $4, failed_logins = 0, locked_until = 0 WHERE id = $5")
            .bind(display_name)
            .bind(password_hash)
            .bind(stored)
            .bind(i64::from(totp_secret.is_some()))
            .bind(raw(user_id))
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    pub async fn set_active(&mut self, user_id: UserId, active: bool) -> Result<()> {
        sqlx::query("UPDATE users SET active = $1 WHERE id = $2")
            .bind(i64::from(active))
            .bind(raw(user_id))
            .execute(&mut *self.tx)
            .await
            .map_err(|e| conflict(e, "this customer already has an active security officer"))?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(raw(user_id))
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Locks the provider's active administrators' rows until the transaction ends and
    /// counts them: two transactions that each take an administrator away serialize
    /// here, so the second sees what the first left (PostgreSQL re-reads the rows it
    /// waited for; SQLite writes one transaction at a time).
    pub async fn lock_active_admins(&mut self) -> Result<u64> {
        let r = sqlx::query(
            "UPDATE users SET active = active WHERE role = 'admin' AND customer_id IS NULL AND active = 1",
        )
        .execute(&mut *self.tx)
        .await?;
        Ok(r.rows_affected())
    }

    pub async fn set_role(&mut self, user_id: UserId, role: Role) -> Result<()> {
        sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
            .bind(role.as_str())
            .bind(raw(user_id))
            .execute(&mut *self.tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(raw(user_id))
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    pub async fn set_locale(&mut self, user_id: UserId, locale: Option<&str>) -> Result<()> {
        sqlx::query("UPDATE users SET locale = $1 WHERE id = $2")
            .bind(locale)
            .bind(raw(user_id))
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    pub async fn insert_setup_link(
        &mut self,
        token_hash: &str,
        user_id: Option<UserId>,
        purpose: &str,
        totp_secret: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<()> {
        let stored = self
            .sealing
            .seal(totp_secret, &crate::sealing::setup_link_aad(token_hash))?;
        sqlx::query("INSERT INTO setup_links (token_hash, user_id, purpose, totp_secret, expires_at, used, created_at) VALUES ($1, $2, $3, $4, $5, 0, $6)")
            .bind(token_hash)
            .bind(raw(user_id))
            .bind(purpose)
            .bind(stored)
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

    /// Records that the user's TOTP code of time step `step` was used; false when that
    /// step or a later one was already used (a replayed code).
    pub async fn claim_totp_step(&mut self, user_id: UserId, step: i64) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1",
        )
        .bind(step)
        .bind(raw(user_id))
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Deletes expired sessions and setup links that are used or expired.
    pub async fn purge_expired(&mut self, now: i64) -> Result<u64> {
        let a = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *self.tx)
            .await?
            .rows_affected();
        let b = sqlx::query("DELETE FROM setup_links WHERE used = 1 OR expires_at <= $1")
            .bind(now)
            .execute(&mut *self.tx)
            .await?
            .rows_affected();
        Ok(a + b)
    }

    /// Counts active administrators inside the transaction (under the write lock).
    pub async fn admin_count(&mut self) -> Result<i64> {
        let r = sqlx::query("SELECT COUNT(*) AS n FROM users WHERE role = 'admin' AND active = 1")
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(r.try_get::<i64, _>("n")?)
    }

    /// Retires the bootstrap links issued before `before` (ms).
    pub async fn retire_bootstrap_links_before(&mut self, before: i64) -> Result<()> {
        sqlx::query(
            "UPDATE setup_links SET used = 1 WHERE purpose = 'bootstrap' AND used = 0 AND created_at < $1",
        )
        .bind(before)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
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
        user_id: UserId,
        stage: &str,
        csrf: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<()> {
        sqlx::query("INSERT INTO sessions (token_hash, user_id, stage, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(token_hash)
            .bind(raw(user_id))
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

    #[expect(
        clippy::too_many_arguments,
        reason = "the columns of one token, as the use case checked them"
    )]
    pub async fn insert_api_token(
        &mut self,
        token_hash: &str,
        user_id: UserId,
        name: &str,
        role: Role,
        customer_id: Option<CustomerId>,
        expires_at: Option<i64>,
        now: i64,
    ) -> Result<i64> {
        let r = sqlx::query("INSERT INTO api_tokens (token_hash, user_id, name, role, customer_id, created_at, revoked, expires_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $7) RETURNING id")
            .bind(token_hash)
            .bind(raw(user_id))
            .bind(name)
            .bind(role.as_str())
            .bind(raw(customer_id))
            .bind(now)
            .bind(expires_at)
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(r.try_get("id")?)
    }

    pub async fn insert_site(
        &mut self,
        customer_id: CustomerId,
        name: &str,
        address: &str,
        now: i64,
    ) -> Result<SiteId> {
        let r = sqlx::query("INSERT INTO sites (customer_id, name, address, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
            .bind(raw(customer_id))
            .bind(name)
            .bind(address)
            .bind(now)
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(cook(r.try_get("id")?))
    }

    pub async fn site_belongs(&mut self, site_id: SiteId, customer_id: CustomerId) -> Result<bool> {
        let r = sqlx::query("SELECT COUNT(*) AS n FROM sites WHERE id = $1 AND customer_id = $2")
            .bind(raw(site_id))
            .bind(raw(customer_id))
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(r.try_get::<i64, _>("n")? > 0)
    }

    pub async fn insert_instruction(
        &mut self,
        customer_id: CustomerId,
        submitted_by: UserId,
        subject: &str,
        body: &str,
        kind: InstructionKind,
        now: i64,
    ) -> Result<InstructionId> {
        let r = sqlx::query("INSERT INTO instructions (customer_id, submitted_by, subject, body, kind, state, reason, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'submitted', NULL, $6, $6) RETURNING id")
            .bind(raw(customer_id))
            .bind(raw(submitted_by))
            .bind(subject)
            .bind(body)
            .bind(kind.as_str())
            .bind(now)
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(cook(r.try_get("id")?))
    }

    /// Reads an instruction inside the transaction (to check its state before a change).
    pub async fn instruction(
        &mut self,
        scope: Scope,
        id: InstructionId,
    ) -> Result<Option<Instruction>> {
        let (filter, c) = scope_filter(scope, "customer_id", 2);
        let sql = format!("SELECT {INSTR_COLS} FROM instructions WHERE id = $1{filter}");
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(raw(id));
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
        instruction_id: InstructionId,
        customer_id: CustomerId,
        author_id: UserId,
        body: &str,
        now: i64,
    ) -> Result<i64> {
        let r = sqlx::query("INSERT INTO instruction_comments (instruction_id, customer_id, author_id, body, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id")
            .bind(raw(instruction_id))
            .bind(raw(customer_id))
            .bind(raw(author_id))
            .bind(body)
            .bind(now)
            .fetch_one(&mut *self.tx)
            .await?;
        sqlx::query("UPDATE instructions SET updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(raw(instruction_id))
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
        Scope::Customer(c) => (format!(" AND {column} = ${n}"), Some(c.get())),
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

fn user_from_row<R: NRow>(r: &R) -> Result<User> {
    let role: String = r.v("role")?;
    Ok(User {
        id: cook(r.v("id")?),
        customer_id: cook(r.v("customer_id")?),
        email: r.v("email")?,
        display_name: r.v("display_name")?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role {role:?}")))?,
        active: r.v::<i64>("active")? != 0,
        totp_enabled: r.v::<i64>("totp_enabled")? != 0,
        locale: r.v("locale")?,
        created_at: r.v("created_at")?,
    })
}

fn credentials_from_row<R: NRow>(r: &R) -> Result<Credentials> {
    Ok(Credentials {
        user: user_from_row(r)?,
        password_hash: r.v("password_hash")?,
        totp_secret: r.v("totp_secret")?,
        failed_logins: r.v("failed_logins")?,
        locked_until: r.v("locked_until")?,
    })
}

fn customer_from_row<R: NRow>(r: &R) -> Result<Customer> {
    Ok(Customer {
        id: cook(r.v("id")?),
        name: r.v("name")?,
        created_at: r.v("created_at")?,
    })
}

fn site_from_row<R: NRow>(r: &R) -> Result<Site> {
    Ok(Site {
        id: cook(r.v("id")?),
        customer_id: cook(r.v("customer_id")?),
        name: r.v("name")?,
        address: r.v("address")?,
        created_at: r.v("created_at")?,
    })
}

fn instruction_from_row<R: NRow>(r: &R) -> Result<Instruction> {
    let kind: String = r.v("kind")?;
    let state: String = r.v("state")?;
    Ok(Instruction {
        id: cook(r.v("id")?),
        customer_id: cook(r.v("customer_id")?),
        submitted_by: cook(r.v("submitted_by")?),
        subject: r.v("subject")?,
        body: r.v("body")?,
        kind: InstructionKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("instruction kind {kind:?}")))?,
        state: InstructionState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("instruction state {state:?}")))?,
        reason: r.v("reason")?,
        created_at: r.v("created_at")?,
        updated_at: r.v("updated_at")?,
    })
}

/// What one verified range of the chain starts and ends with.
struct RangeEnd {
    first_seq: i64,
    first_prev: String,
    last_seq: i64,
    last_hash: String,
    count: u64,
}

/// Walks the SQLite entries `lo..=hi` one row at a time (the slow path of
/// [`Store::verify_range`]): an entry with a value of another type than its column's
/// does not match what was hashed, and is named.
async fn verify_sqlite_rows(
    conn: &mut sqlx::SqliteConnection,
    lo: i64,
    hi: i64,
    walk: &mut RangeWalk,
) -> Result<Result<(), ChainError>> {
    let sql = format!(
        "SELECT {AUDIT_COLS}, prev_hash, hash, \
         (typeof(at) = 'integer' AND typeof(actor_id) IN ('integer', 'null') \
          AND typeof(actor) = 'text' AND typeof(customer_id) IN ('integer', 'null') \
          AND typeof(source) = 'text' AND typeof(action) = 'text' AND typeof(object) = 'text' \
          AND typeof(outcome) = 'text' AND typeof(detail) = 'text' \
          AND typeof(prev_hash) = 'text' AND typeof(hash) = 'text') AS well_typed \
         FROM audit_log WHERE seq >= $1 AND seq <= $2 ORDER BY seq"
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(lo)
        .bind(hi)
        .fetch_all(conn)
        .await?;
    for r in &rows {
        let seq: i64 = r.try_get(0)?;
        let well_typed: bool = r.try_get(12)?;
        if !well_typed {
            return Ok(Err(ChainError::HashMismatch { seq }));
        }
        walk_audit_row!(walk, r);
    }
    Ok(Ok(()))
}

/// One audit entry as SQLite packs it for verification: a JSON array of `AUDIT_COLS`,
/// `prev_hash` and `hash`, in that order.
#[derive(serde::Deserialize)]
struct Packed<'a> {
    seq: i64,
    at: i64,
    actor_id: Option<i64>,
    #[serde(borrow)]
    actor: std::borrow::Cow<'a, str>,
    customer_id: Option<i64>,
    #[serde(borrow)]
    source: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    action: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    object: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    outcome: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    detail: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    prev_hash: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    hash: std::borrow::Cow<'a, str>,
}

/// The walk of one range of the chain, entry by entry in sequence order.
#[derive(Default)]
struct RangeWalk {
    v: Option<Verifier>,
    /// The range's first entry and its stored previous hash, checked when the ranges
    /// are stitched.
    first: Option<(i64, String)>,
    hasher: audit::Hasher,
}

impl RangeWalk {
    fn row(
        &mut self,
        e: &audit::EntryRef<'_>,
        prev: &str,
        hash: &str,
    ) -> std::result::Result<(), ChainError> {
        let first = &mut self.first;
        let verifier = self.v.get_or_insert_with(|| {
            *first = Some((e.seq, prev.to_string()));
            Verifier::resume(e.seq - 1, prev)
        });
        let computed = self.hasher.digest(prev, e);
        verifier.push_hashed(e.seq, prev, hash, computed)
    }

    fn end(self) -> Option<RangeEnd> {
        match (self.v, self.first) {
            (Some(v), Some((first_seq, first_prev))) => Some(RangeEnd {
                first_seq,
                first_prev,
                last_seq: v.last_seq(),
                last_hash: v.last_hash().to_string(),
                count: v.checked,
            }),
            _ => None,
        }
    }
}

fn chain_seq(e: &ChainError) -> i64 {
    match e {
        ChainError::HashMismatch { seq } | ChainError::BrokenLink { seq, .. } => *seq,
        ChainError::Missing { expected, .. } => *expected,
    }
}

fn entry_from_row<R: NRow>(r: &R) -> Result<(Entry, ())> {
    Ok((
        Entry {
            seq: r.v("seq")?,
            at: r.v("at")?,
            actor_id: r.v("actor_id")?,
            actor: r.v("actor")?,
            customer_id: r.v("customer_id")?,
            source: r.v("source")?,
            action: r.v("action")?,
            object: r.v("object")?,
            outcome: r.v("outcome")?,
            detail: r.v("detail")?,
        },
        (),
    ))
}

/// A value the store reads, decodable by every driver it uses.
trait Val:
    Sized
    + for<'r> sqlx::Decode<'r, Any>
    + sqlx::Type<Any>
    + for<'r> sqlx::Decode<'r, sqlx::Sqlite>
    + sqlx::Type<sqlx::Sqlite>
    + for<'r> sqlx::Decode<'r, sqlx::Postgres>
    + sqlx::Type<sqlx::Postgres>
{
}
impl Val for i64 {}
impl Val for String {}
impl<T: Val> Val for Option<T> {}

/// A row of any of the store's drivers, so one decoder serves them all.
trait NRow: Row {
    fn v<T: Val>(&self, column: &str) -> std::result::Result<T, sqlx::Error>;
}

macro_rules! nrow {
    ($($t:ty),*) => {$(
        impl NRow for $t {
            fn v<T: Val>(&self, column: &str) -> std::result::Result<T, sqlx::Error> {
                self.try_get(column)
            }
        }
    )*};
}
nrow!(AnyRow, SqliteRow, PgRow);
