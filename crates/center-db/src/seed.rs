//! Bulk data for benchmarks: customers with their officer and staff, instructions, and a
//! long valid audit chain, written in large batches. Not used by the server.

use sqlx::AssertSqlSafe;

use super::{Result, Store};
use crate::audit::{Entry, GENESIS};

/// How much to create.
#[derive(Debug, Clone, Copy)]
pub struct Volume {
    pub customers: i64,
    /// Users per customer (the first is the officer, the rest staff).
    pub users_per_customer: i64,
    pub instructions_per_customer: i64,
    pub audit_entries: i64,
}

const BATCH: usize = 500;

async fn insert_rows(store: &Store, table_cols: &str, rows: &[Vec<String>]) -> Result<()> {
    for chunk in rows.chunks(BATCH) {
        let values: Vec<String> = chunk
            .iter()
            .map(|r| format!("({})", r.join(", ")))
            .collect();
        let sql = format!("INSERT INTO {table_cols} VALUES {}", values.join(", "));
        sqlx::query(AssertSqlSafe(sql)).execute(&store.pool).await?;
    }
    Ok(())
}

fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Appends `n` valid entries to the audit chain, continuing from its last entry.
pub async fn append_audit(store: &Store, n: i64, now: i64) -> Result<()> {
    let _guard = store.write_lock.lock().await;
    let last = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        .fetch_optional(&store.pool)
        .await?;
    use sqlx::Row;
    let (mut seq, mut prev) = match last {
        Some(r) => (r.try_get::<i64, _>("seq")?, r.try_get::<String, _>("hash")?),
        None => (0, GENESIS.to_string()),
    };
    let mut rows = Vec::with_capacity(BATCH);
    for i in 0..n {
        seq += 1;
        let customer = (i % 1000) + 1;
        let e = Entry {
            seq,
            at: now - (n - i) * 1000,
            actor_id: Some(customer),
            actor: format!("officer{customer}@customer{customer}.example.jp"),
            customer_id: Some(customer),
            source: "127.0.0.1".into(),
            action: "instruction.comment".into(),
            object: format!("instruction/{customer}"),
            outcome: "ok".into(),
            detail: format!("seeded entry {seq}"),
        };
        let hash = e.hash(&prev);
        rows.push(vec![
            e.seq.to_string(),
            e.at.to_string(),
            customer.to_string(),
            lit(&e.actor),
            customer.to_string(),
            lit(&e.source),
            lit(&e.action),
            lit(&e.object),
            lit(&e.outcome),
            lit(&e.detail),
            lit(&prev),
            lit(&hash),
        ]);
        prev = hash;
        if rows.len() == BATCH || i == n - 1 {
            insert_rows(store, "audit_log (seq, at, actor_id, actor, customer_id, source, action, object, outcome, detail, prev_hash, hash)", &rows).await?;
            rows.clear();
        }
    }
    Ok(())
}

/// Creates customers, users and instructions (no passwords: nobody signs in as them).
pub async fn seed(store: &Store, v: Volume, now: i64) -> Result<()> {
    let mut customers = Vec::new();
    let mut users = Vec::new();
    let mut instructions = Vec::new();
    let kinds = ["policy_change", "maintenance_request", "question", "other"];
    let states = ["submitted", "accepted", "done", "rejected"];
    let mut user_id = 1_000_000;
    for c in 1..=v.customers {
        customers.push(vec![
            c.to_string(),
            lit(&format!("株式会社テスト{c}")),
            now.to_string(),
        ]);
        let officer = user_id;
        for u in 0..v.users_per_customer {
            let role = if u == 0 { "officer" } else { "staff" };
            users.push(vec![
                user_id.to_string(),
                c.to_string(),
                lit(&format!("{role}{u}@customer{c}.example.jp")),
                lit(&format!("User {c}-{u}")),
                lit(role),
                "1".into(),
                now.to_string(),
            ]);
            user_id += 1;
        }
        for i in 0..v.instructions_per_customer {
            let k = (c + i) as usize;
            instructions.push(vec![
                c.to_string(),
                officer.to_string(),
                lit(&format!("指示 {c}-{i}")),
                lit("ファイアウォールの設定変更をお願いします。"),
                lit(kinds[k % 4]),
                lit(states[k % 4]),
                now.to_string(),
                now.to_string(),
            ]);
        }
    }
    let _guard = store.write_lock.lock().await;
    insert_rows(store, "customers (id, name, created_at)", &customers).await?;
    insert_rows(
        store,
        "users (id, customer_id, email, display_name, role, active, created_at)",
        &users,
    )
    .await?;
    insert_rows(store, "instructions (customer_id, submitted_by, subject, body, kind, state, created_at, updated_at)", &instructions).await?;
    if store.backend == super::Backend::Postgres {
        for t in ["customers", "users"] {
            sqlx::query(AssertSqlSafe(format!(
                "SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT MAX(id) FROM {t}))"
            )))
            .execute(&store.pool)
            .await?;
        }
    }
    Ok(())
}
