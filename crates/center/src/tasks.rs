//! Background tasks in one framework: each [`Task`] runs on its schedule and when an
//! operator asks, one run at a time across every center process on the database (a
//! lease per task), every run recorded with how it ended, so that operators see when
//! each task last ran (`GET /api/v1/tasks`). Tasks are idempotent: running one twice,
//! or after a run that died halfway, does no harm.
//!
//! Due-ness is computed on the center's clock (`App::now_ms`); the loop only wakes
//! [`Tasks::tick`] every few seconds, and tests call `tick` themselves on a fixed clock.

use mamori_center_model::ids::UserId;
use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mamori_center_model::authz::Action;
use mamori_center_model::tasks::{Outcome, TaskRun, Trigger, next_due};

use crate::app::{App, AppError, Conflict, Forbidden, Result, record};
use crate::domain::Actor;

/// What a run returns: a line saying what it did, or why it failed.
pub type RunFuture<'a> =
    Pin<Box<dyn Future<Output = std::result::Result<String, String>> + Send + 'a>>;

/// A background task.
pub trait Task: Send + Sync {
    /// A stable name, `area.what` (`accounts.purge`).
    fn name(&self) -> &'static str;
    /// The interval between scheduled runs; `None`: on demand only.
    fn every_ms(&self) -> Option<i64>;
    /// One run at `now`; idempotent.
    fn run<'a>(&'a self, app: &'a App, now: i64) -> RunFuture<'a>;
}

/// A task as operators see it.
#[derive(Debug, Clone)]
pub struct TaskStatus {
    pub name: &'static str,
    pub every_ms: Option<i64>,
    pub last: Option<TaskRun>,
    /// When the schedule runs it next (at or after this time); `None`: on demand only.
    pub next_due: Option<i64>,
}

/// How long a run may hold its task's lease: a process that dies mid-run gives the task
/// back after this.
const LEASE_MS: i64 = 15 * 60 * 1000;

/// How often the loop looks for due tasks.
const TICK: Duration = Duration::from_secs(5);

/// The center's tasks and their runner.
pub struct Tasks {
    app: App,
    /// This process's name in the leases.
    holder: String,
    tasks: Vec<Box<dyn Task>>,
    /// Tasks running in this process.
    running: Mutex<BTreeSet<&'static str>>,
}

impl Tasks {
    pub fn new(app: App, tasks: Vec<Box<dyn Task>>) -> Tasks {
        let mut b = [0u8; 8];
        let holder = match getrandom::fill(&mut b) {
            Ok(()) => format!("center-{}", data_encoding::HEXLOWER.encode(&b)),
            Err(_) => format!("center-{}", std::process::id()),
        };
        Tasks {
            app,
            holder,
            tasks,
            running: Mutex::new(BTreeSet::new()),
        }
    }

    /// The center's built-in tasks.
    pub fn builtin(app: App) -> Tasks {
        Tasks::new(
            app,
            vec![
                Box::new(PurgeExpired),
                Box::new(VerifyAudit),
                Box::new(WatchAgents),
                Box::new(Notify),
            ],
        )
    }

    fn find(&self, name: &str) -> Option<&dyn Task> {
        self.tasks.iter().find(|t| t.name() == name).map(|t| &**t)
    }

    /// Every task with its last run and when it is next due.
    pub async fn status(&self, actor: &Actor) -> Result<Vec<TaskStatus>> {
        if !actor.may(Action::SeeTasks) {
            return Err(AppError::Forbidden(Forbidden::SeeTasks));
        }
        let last = self.app.store.last_task_runs().await?;
        Ok(self
            .tasks
            .iter()
            .map(|t| {
                let last = last.iter().find(|r| r.task == t.name()).cloned();
                TaskStatus {
                    name: t.name(),
                    every_ms: t.every_ms(),
                    next_due: t
                        .every_ms()
                        .map(|every| next_due(last.as_ref().map(|r| r.started_at), every)),
                    last,
                }
            })
            .collect())
    }

    /// The latest runs of one task, newest first.
    pub async fn runs(&self, actor: &Actor, name: &str, limit: i64) -> Result<Vec<TaskRun>> {
        if !actor.may(Action::SeeTasks) {
            return Err(AppError::Forbidden(Forbidden::SeeTasks));
        }
        if self.find(name).is_none() {
            return Err(AppError::NotFound);
        }
        Ok(self.app.store.task_runs(name, limit.clamp(1, 100)).await?)
    }

    /// Runs `name` now for `actor` (audited) and returns the finished run; a conflict
    /// when it is already running here or in another center process.
    pub async fn run_now(&self, actor: &Actor, name: &str) -> Result<TaskRun> {
        if !actor.may(Action::RunTasks) {
            return Err(AppError::Forbidden(Forbidden::RunTasks));
        }
        let task = self.find(name).ok_or(AppError::NotFound)?;
        let now = self.app.now_ms();
        let mut tx = self.app.store.begin().await?;
        tx.audit(
            record(
                actor,
                None,
                "task.run",
                format!("task/{name}"),
                String::new(),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        match self
            .run(task, Trigger::Operator, Some(actor.user_id.get()))
            .await?
        {
            Some(run) => Ok(run),
            None => Err(AppError::Conflict(Conflict::TaskRunning {
                name: name.to_string(),
            })),
        }
    }

    /// Runs every scheduled task that is due on the center's clock (and not running
    /// anywhere); the runs it made.
    pub async fn tick(&self) -> Vec<TaskRun> {
        let mut done = Vec::new();
        let last = match self.app.store.last_task_runs().await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!("background tasks: cannot read their last runs: {e}");
                return done;
            }
        };
        for t in &self.tasks {
            let Some(every) = t.every_ms() else { continue };
            let started = last
                .iter()
                .find(|r| r.task == t.name())
                .map(|r| r.started_at);
            if next_due(started, every) > self.app.now_ms() {
                continue;
            }
            match self.run(&**t, Trigger::Schedule, None).await {
                Ok(Some(run)) => done.push(run),
                Ok(None) => {}
                Err(e) => tracing::warn!("background task {}: {e}", t.name()),
            }
        }
        done
    }

    /// One run under the task's lease; `None` when it is running already.
    async fn run(
        &self,
        task: &dyn Task,
        trigger: Trigger,
        by: Option<i64>,
    ) -> Result<Option<TaskRun>> {
        let name = task.name();
        if !self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name)
        {
            return Ok(None);
        }
        let _here = NotRunning(&self.running, name);
        let store = &self.app.store;
        let now = self.app.now_ms();
        if !store
            .claim_task(name, &self.holder, now, now.saturating_add(LEASE_MS))
            .await?
        {
            return Ok(None);
        }
        // A scheduled run looks again under the lease: another process (or this one's
        // other ticker) may have run it since the caller looked.
        if trigger == Trigger::Schedule
            && let Some(every) = task.every_ms()
        {
            let last = store.task_runs(name, 1).await;
            let due = match &last {
                Ok(l) => next_due(l.first().map(|r| r.started_at), every) <= now,
                Err(_) => false,
            };
            if !due {
                store.release_task(name, &self.holder).await?;
                last?;
                return Ok(None);
            }
        }
        let result = async {
            let mut tx = store.begin().await?;
            let id = tx
                .start_task_run(name, trigger, by.map(UserId::new), now)
                .await?;
            tx.commit().await?;
            let (outcome, detail) = match task.run(&self.app, now).await {
                Ok(d) => (Outcome::Ok, d),
                Err(e) => (Outcome::Failed, e),
            };
            let mut tx = store.begin().await?;
            tx.finish_task_run(id, outcome, &detail, self.app.now_ms())
                .await?;
            tx.commit().await?;
            Ok::<_, AppError>(
                store
                    .task_runs(name, 1)
                    .await?
                    .into_iter()
                    .find(|r| r.id == id),
            )
        }
        .await;
        let released = store.release_task(name, &self.holder).await;
        let run = result?;
        released?;
        Ok(run)
    }

    /// Runs [`Tasks::tick`] every few seconds until `stop` turns true.
    pub fn spawn(
        self: Arc<Self>,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                self.tick().await;
                tokio::select! {
                    _ = tokio::time::sleep(TICK) => {}
                    _ = stop.changed() => return,
                }
                if *stop.borrow() {
                    return;
                }
            }
        })
    }
}

/// Takes a task off this process's running set when its run ends, however it ends.
struct NotRunning<'a>(&'a Mutex<BTreeSet<&'static str>>, &'static str);

impl Drop for NotRunning<'_> {
    fn drop(&mut self) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(self.1);
    }
}

/// Deletes expired sessions and used or expired setup links, every hour.
struct PurgeExpired;

impl Task for PurgeExpired {
    fn name(&self) -> &'static str {
        "accounts.purge"
    }
    fn every_ms(&self) -> Option<i64> {
        Some(3_600_000)
    }
    fn run<'a>(&'a self, app: &'a App, now: i64) -> RunFuture<'a> {
        Box::pin(async move {
            let work = async {
                let mut tx = app.store.begin().await?;
                let n = tx.purge_expired(now).await?;
                tx.commit().await?;
                Ok::<_, crate::store::StoreError>(n)
            };
            work.await
                .map(|n| format!("removed {n} expired sessions and setup links"))
                .map_err(|e| e.to_string())
        })
    }
}

/// Every minute, opens or resolves the incidents of each installed unit's agent status:
/// silent agent, failed apply, drift (`app.monitoring().watch_agents`).
struct WatchAgents;

impl Task for WatchAgents {
    fn name(&self) -> &'static str {
        "monitoring.agents"
    }
    fn every_ms(&self) -> Option<i64> {
        Some(60_000)
    }
    fn run<'a>(&'a self, app: &'a App, now: i64) -> RunFuture<'a> {
        Box::pin(async move {
            app.monitoring()
                .watch_agents(now)
                .await
                .map(|w| {
                    format!(
                        "{} units looked at, {} incidents opened, {} resolved",
                        w.units, w.opened, w.resolved
                    )
                })
                .map_err(|e| e.text(crate::app::Lang::En))
        })
    }
}

/// Every 30 seconds, mails the incident notifications that are due, retrying failed
/// ones later (`app.monitoring().send_notifications`).
struct Notify;

impl Task for Notify {
    fn name(&self) -> &'static str {
        "monitoring.notify"
    }
    fn every_ms(&self) -> Option<i64> {
        Some(30_000)
    }
    fn run<'a>(&'a self, app: &'a App, now: i64) -> RunFuture<'a> {
        Box::pin(async move {
            match app.monitoring().send_notifications(now).await {
                Ok(s) if s.failed == 0 => Ok(format!("{} notifications sent", s.sent)),
                Ok(s) => Err(format!(
                    "{} notifications sent, {} failed (retried later)",
                    s.sent, s.failed
                )),
                Err(e) => Err(e.text(crate::app::Lang::En)),
            }
        })
    }
}

/// Verifies the whole audit chain, every day: a broken link fails the run and names it.
struct VerifyAudit;

impl Task for VerifyAudit {
    fn name(&self) -> &'static str {
        "audit.verify"
    }
    fn every_ms(&self) -> Option<i64> {
        Some(24 * 3_600_000)
    }
    fn run<'a>(&'a self, app: &'a App, _now: i64) -> RunFuture<'a> {
        Box::pin(async move {
            app.store
                .verify_audit()
                .await
                .map(|n| format!("{n} audit entries verified, the chain is intact"))
                .map_err(|e| e.to_string())
        })
    }
}
