//! Background tasks: each task with its schedule and last run, a task's recent runs,
//! and a run on demand.

use axum::Json;
use axum::extract::{Path, State};
use mamori_api::tasks as wire;
use mamori_center_model::ids::UserId;
use mamori_center_model::tasks::TaskRun;
use serde::Deserialize;

use super::extract::{ApiActor, ApiQuery};
use super::problem::ApiResult;
use crate::domain::rfc3339;
use crate::http::AppState;

fn run_wire(r: TaskRun) -> wire::TaskRun {
    wire::TaskRun {
        id: r.id,
        task: r.task,
        trigger: r.trigger.as_str().into(),
        requested_by: r.requested_by.map(UserId::get),
        started_at: rfc3339(r.started_at),
        finished_at: r.finished_at.map(rfc3339),
        outcome: r.outcome.map(|o| o.as_str().into()),
        detail: r.detail,
    }
}

/// The background tasks
///
/// Each task with its interval, its last run and when the schedule runs it next
/// (provider staff).
#[utoipa::path(get, path = "/tasks", tag = "tasks",
    responses((status = 200, description = "the tasks", body = Vec<wire::Task>)))]
pub(super) async fn list(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
) -> ApiResult<Json<Vec<wire::Task>>> {
    Ok(Json(
        s.tasks
            .status(&a)
            .await?
            .into_iter()
            .map(|t| wire::Task {
                name: t.name.into(),
                every_secs: t.every_ms.map(|ms| ms / 1000),
                last_run: t.last.map(run_wire),
                next_due: t.next_due.map(|ms| rfc3339(ms.max(0))),
            })
            .collect(),
    ))
}

/// How many runs to list.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct RunsQuery {
    /// At most this many (1 to 100; 20 when absent).
    limit: Option<i64>,
}

/// A task's latest runs
///
/// Newest first.
#[utoipa::path(get, path = "/tasks/{name}/runs", tag = "tasks",
    params(("name" = String, Path, description = "the task, e.g. `audit.verify`"), RunsQuery),
    responses((status = 200, description = "the runs", body = Vec<wire::TaskRun>)))]
pub(super) async fn runs(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(name): Path<String>,
    ApiQuery(q): ApiQuery<RunsQuery>,
) -> ApiResult<Json<Vec<wire::TaskRun>>> {
    Ok(Json(
        s.tasks
            .runs(&a, &name, q.limit.unwrap_or(20))
            .await?
            .into_iter()
            .map(run_wire)
            .collect(),
    ))
}

/// Run a task now
///
/// Administrators and operators; answers with the finished run (a conflict when the
/// task is running already).
#[utoipa::path(post, path = "/tasks/{name}/run", tag = "tasks",
    params(("name" = String, Path, description = "the task, e.g. `audit.verify`")),
    responses((status = 200, description = "the finished run", body = wire::TaskRun)))]
pub(super) async fn run(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(name): Path<String>,
) -> ApiResult<Json<wire::TaskRun>> {
    Ok(Json(run_wire(s.tasks.run_now(&a, &name).await?)))
}
