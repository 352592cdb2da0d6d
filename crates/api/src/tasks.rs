//! Wire types of the background tasks (`/api/v1/tasks`). Serde only.

use serde::{Deserialize, Serialize};

/// A background task with its schedule and last run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Task {
    /// Stable name, `area.what` (`accounts.purge`, `audit.verify`).
    pub name: String,
    /// Seconds between scheduled runs; absent: on demand only.
    pub every_secs: Option<i64>,
    pub last_run: Option<TaskRun>,
    /// When the schedule runs it next (RFC 3339; at or after this time).
    pub next_due: Option<String>,
}

/// One run of a task.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskRun {
    pub id: i64,
    pub task: String,
    /// `schedule` or `operator`.
    pub trigger: String,
    /// The user who asked for the run (on demand).
    pub requested_by: Option<i64>,
    pub started_at: String,
    /// Absent while it runs.
    pub finished_at: Option<String>,
    /// `ok` or `failed`; absent while it runs.
    pub outcome: Option<String>,
    /// What the run did, or why it failed.
    pub detail: String,
}
