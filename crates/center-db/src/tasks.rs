//! SQL of background tasks: every run (`task_runs`) and the lease that lets one center
//! process at a time run a scheduled task (`task_leases`).

use crate::{cook, raw};
use mamori_center_model::ids::*;
use mamori_center_model::tasks::{Outcome, TaskRun, Trigger};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Result, Store, StoreError, Tx};

const RUN_COLUMNS: &str =
    "id, task, trigger_kind, requested_by, started_at, finished_at, outcome, detail";

fn run_of(r: &AnyRow) -> Result<TaskRun> {
    let trigger: String = r.try_get("trigger_kind")?;
    let outcome: Option<String> = r.try_get("outcome")?;
    let id: i64 = r.try_get("id")?;
    Ok(TaskRun {
        id,
        task: r.try_get("task")?,
        trigger: Trigger::parse(&trigger).ok_or_else(|| {
            StoreError::Corrupt(format!("task run {id}: unknown trigger {trigger:?}"))
        })?,
        requested_by: cook(r.try_get("requested_by")?),
        started_at: r.try_get("started_at")?,
        finished_at: r.try_get("finished_at")?,
        outcome: match outcome {
            None => None,
            Some(o) => Some(Outcome::parse(&o).ok_or_else(|| {
                StoreError::Corrupt(format!("task run {id}: unknown outcome {o:?}"))
            })?),
        },
        detail: r.try_get("detail")?,
    })
}

impl Store {
    /// Takes (or renews) the lease of `task` for `holder` until `until`, when nobody
    /// else holds it at `now`; false when another holder's lease is still running.
    pub async fn claim_task(&self, task: &str, holder: &str, now: i64, until: i64) -> Result<bool> {
        let mut tx = self.begin().await?;
        let n = sqlx::query(
            "INSERT INTO task_leases (task, holder, until_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (task) DO UPDATE SET holder = excluded.holder, until_ms = excluded.until_ms \
             WHERE task_leases.until_ms <= $4 OR task_leases.holder = excluded.holder",
        )
        .bind(task)
        .bind(holder)
        .bind(until)
        .bind(now)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(n == 1)
    }

    /// Gives back the lease of `task` if `holder` has it.
    pub async fn release_task(&self, task: &str, holder: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM task_leases WHERE task = $1 AND holder = $2")
            .bind(task)
            .bind(holder)
            .execute(&mut *tx.tx)
            .await?;
        tx.commit().await
    }

    /// The latest run of each task that ever ran.
    pub async fn last_task_runs(&self) -> Result<Vec<TaskRun>> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM task_runs r WHERE id = \
             (SELECT MAX(id) FROM task_runs WHERE task = r.task) ORDER BY task"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(run_of).collect()
    }

    /// The latest runs of `task`, newest first.
    pub async fn task_runs(&self, task: &str, limit: i64) -> Result<Vec<TaskRun>> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM task_runs WHERE task = $1 ORDER BY id DESC LIMIT $2"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(task)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(run_of).collect()
    }
}

impl Tx {
    /// Records the start of a run; its id.
    pub async fn start_task_run(
        &mut self,
        task: &str,
        trigger: Trigger,
        requested_by: Option<UserId>,
        now: i64,
    ) -> Result<i64> {
        let r = sqlx::query(
            "INSERT INTO task_runs (task, trigger_kind, requested_by, started_at) \
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(task)
        .bind(trigger.as_str())
        .bind(raw(requested_by))
        .bind(now)
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(r.try_get::<i64, _>("id")?)
    }

    /// Records how run `id` ended.
    pub async fn finish_task_run(
        &mut self,
        id: i64,
        outcome: Outcome,
        detail: &str,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE task_runs SET finished_at = $1, outcome = $2, detail = $3 WHERE id = $4",
        )
        .bind(now)
        .bind(outcome.as_str())
        .bind(detail)
        .bind(id)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
}
