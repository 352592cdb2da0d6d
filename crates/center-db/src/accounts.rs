//! SQL of sign-in accounting and API tokens: the failure counter and lock of an account,
//! each changed by one conditional statement (no read-modify-write), and the tokens'
//! expiry, last use and revocation (migration 41).

use crate::{cook, raw};
use mamori_center_model::ids::*;
use sqlx::{AssertSqlSafe, Row};

use super::{NRow, Reader, Result, Store, StoreError, Tx, USER_COLS, user_from_row};
use mamori_center_model::domain::{ApiToken, Role, Scope, User};

/// What a sign-in attempt found when it asked to be evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Counted; the attempt may be evaluated.
    Admitted,
    /// The account is locked until `until`; `now_locked` when this very attempt locked
    /// it (it found the attempts of the window used up).
    Locked { until: i64, now_locked: bool },
}

const TOKEN_COLS: &str = "t.id, t.user_id, t.name, t.role, t.customer_id, t.revoked, t.created_at, t.expires_at, t.last_used_at, t.revoked_at, u.email AS owner";

fn token_from_row<R: NRow>(r: &R) -> Result<ApiToken> {
    let role: String = r.v("role")?;
    Ok(ApiToken {
        id: r.v("id")?,
        user_id: cook(r.v("user_id")?),
        name: r.v("name")?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role {role:?}")))?,
        customer_id: cook(r.v("customer_id")?),
        revoked: r.v::<i64>("revoked")? != 0,
        created_at: r.v("created_at")?,
        expires_at: r.v("expires_at")?,
        last_used_at: r.v("last_used_at")?,
        revoked_at: r.v("revoked_at")?,
        owner: r.v("owner")?,
    })
}

/// Which tokens a list shows: those of one owner, those of one customer, or both
/// conditions; `None` is no condition.
#[derive(Debug, Clone, Copy)]
pub struct TokenFilter {
    pub owner: Option<i64>,
    pub scope: Scope,
}

impl Store {
    /// A token and its owner as they are now, in one query (every request with a token).
    pub async fn api_token_with_owner(&self, token_hash: &str) -> Result<Option<(ApiToken, User)>> {
        let owner_cols = USER_COLS
            .split(", ")
            .map(|c| format!("u.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        // The token's columns carry a `t_` prefix where they share a name with the
        // user's.
        let sql = format!(
            "SELECT t.id AS t_id, t.user_id, t.name AS t_name, t.role AS t_role, t.customer_id AS t_customer_id, t.revoked, t.created_at AS t_created_at, t.expires_at, t.last_used_at, t.revoked_at, {owner_cols} FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1"
        );
        with_reader!(self, p => {
            let row = sqlx::query(AssertSqlSafe(sql))
                .bind(token_hash)
                .fetch_optional(p)
                .await?;
            row.map(|r| {
                let user = user_from_row(&r)?;
                let role: String = r.v("t_role")?;
                let token = ApiToken {
                    id: r.v("t_id")?,
                    user_id: cook(r.v("user_id")?),
                    name: r.v("t_name")?,
                    role: Role::parse(&role)
                        .ok_or_else(|| StoreError::Corrupt(format!("role {role:?}")))?,
                    customer_id: cook(r.v("t_customer_id")?),
                    revoked: r.v::<i64>("revoked")? != 0,
                    created_at: r.v("t_created_at")?,
                    expires_at: r.v("expires_at")?,
                    last_used_at: r.v("last_used_at")?,
                    revoked_at: r.v("revoked_at")?,
                    owner: user.email.clone(),
                };
                Ok((token, user))
            })
            .transpose()
        })
    }

    /// Records that a token was used at `now`, unless its last use was recorded less
    /// than `interval` ms ago (so a busy token costs one write per interval, not one per
    /// request). Bookkeeping, not a change by anyone: no audit entry.
    pub async fn touch_api_token(&self, id: i64, now: i64, interval: i64) -> Result<()> {
        sqlx::query(
            "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at <= $3)",
        )
        .bind(now)
        .bind(id)
        .bind(now - interval)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Tokens newest first (at most 500), with their owners' addresses.
    pub async fn api_tokens(&self, f: TokenFilter) -> Result<Vec<ApiToken>> {
        let mut sql = format!(
            "SELECT {TOKEN_COLS} FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE 1 = 1"
        );
        let mut args = Vec::new();
        if let Some(o) = f.owner {
            args.push(o);
            sql.push_str(&format!(" AND t.user_id = ${}", args.len()));
        }
        if let Scope::Customer(c) = f.scope {
            args.push(c.get());
            sql.push_str(&format!(" AND t.customer_id = ${}", args.len()));
        }
        sql.push_str(" ORDER BY t.id DESC LIMIT 500");
        with_reader!(self, p => {
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for a in &args {
                q = q.bind(*a);
            }
            q.fetch_all(p).await?.iter().map(token_from_row).collect()
        })
    }
}

impl Tx {
    /// One token with its owner's address, read inside the transaction.
    pub async fn api_token(&mut self, id: i64) -> Result<Option<ApiToken>> {
        let sql = format!(
            "SELECT {TOKEN_COLS} FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = $1"
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?
            .map(|r| token_from_row(&r))
            .transpose()
    }

    /// Revokes one token; false when it was already revoked.
    pub async fn revoke_api_token(&mut self, id: i64, now: i64, by: UserId) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE api_tokens SET revoked = 1, revoked_at = $1, revoked_by = $2 WHERE id = $3 AND revoked = 0",
        )
        .bind(now)
        .bind(raw(by))
        .bind(id)
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Revokes every token of a user (on a role change or deactivation); how many.
    pub async fn revoke_user_tokens(&mut self, user_id: UserId, now: i64, by: i64) -> Result<u64> {
        Ok(sqlx::query(
            "UPDATE api_tokens SET revoked = 1, revoked_at = $1, revoked_by = $2 WHERE user_id = $3 AND revoked = 0",
        )
        .bind(now)
        .bind(by)
        .bind(raw(user_id))
        .execute(&mut *self.tx)
        .await?
        .rows_affected())
    }

    /// Asks to evaluate one sign-in attempt of `user_id`, counting it in the same
    /// statement. An account with `limit` attempts counted (failed, or still being
    /// evaluated) is locked by the attempt that finds it so, until `now + lock_ms`; a
    /// locked account admits nothing. Concurrent attempts therefore never evaluate more
    /// than `limit` guesses per lock period.
    pub async fn admit_signin(
        &mut self,
        user_id: UserId,
        now: i64,
        limit: i64,
        lock_ms: i64,
    ) -> Result<Admission> {
        let row = sqlx::query(
            "UPDATE users SET \
               locked_until = CASE WHEN failed_logins >= $3 THEN $2 + $4 ELSE locked_until END, \
               failed_logins = CASE WHEN failed_logins >= $3 THEN 0 ELSE failed_logins + 1 END \
             WHERE id = $1 AND locked_until <= $2 \
             RETURNING locked_until",
        )
        .bind(raw(user_id))
        .bind(now)
        .bind(limit)
        .bind(lock_ms)
        .fetch_optional(&mut *self.tx)
        .await?;
        match row {
            Some(r) => {
                let until: i64 = r.try_get("locked_until")?;
                Ok(if until > now {
                    Admission::Locked {
                        until,
                        now_locked: true,
                    }
                } else {
                    Admission::Admitted
                })
            }
            None => {
                let r = sqlx::query("SELECT locked_until FROM users WHERE id = $1")
                    .bind(raw(user_id))
                    .fetch_optional(&mut *self.tx)
                    .await?;
                let until = match r {
                    Some(r) => r.try_get("locked_until")?,
                    None => now,
                };
                Ok(Admission::Locked {
                    until,
                    now_locked: false,
                })
            }
        }
    }

    /// Takes back an admitted attempt whose password was right (its TOTP step follows,
    /// and counts by itself); false when the account was locked meanwhile.
    pub async fn release_signin(&mut self, user_id: UserId, now: i64) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE users SET failed_logins = CASE WHEN failed_logins > 0 THEN failed_logins - 1 ELSE 0 END WHERE id = $1 AND locked_until <= $2",
        )
        .bind(raw(user_id))
        .bind(now)
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// A sign-in succeeded: the count starts again; false (and nothing changed) when the
    /// account was locked meanwhile, so that a right guess racing the lock is refused.
    pub async fn finish_signin(&mut self, user_id: UserId, now: i64) -> Result<bool> {
        let n =
            sqlx::query("UPDATE users SET failed_logins = 0 WHERE id = $1 AND locked_until <= $2")
                .bind(raw(user_id))
                .bind(now)
                .execute(&mut *self.tx)
                .await?
                .rows_affected();
        Ok(n == 1)
    }

    /// An admitted attempt failed (it stays counted). When the count has reached `limit`
    /// the account is locked now; returns the end of the lock when this failure locked
    /// it (exactly one failure does).
    pub async fn fail_signin(
        &mut self,
        user_id: UserId,
        now: i64,
        limit: i64,
        lock_ms: i64,
    ) -> Result<Option<i64>> {
        let row = sqlx::query(
            "UPDATE users SET failed_logins = 0, locked_until = $2 + $4 \
             WHERE id = $1 AND failed_logins >= $3 AND locked_until <= $2 \
             RETURNING locked_until",
        )
        .bind(raw(user_id))
        .bind(now)
        .bind(limit)
        .bind(lock_ms)
        .fetch_optional(&mut *self.tx)
        .await?;
        row.map(|r| r.try_get::<i64, _>("locked_until"))
            .transpose()
            .map_err(Into::into)
    }
}
