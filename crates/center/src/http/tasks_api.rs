//! The REST API of background tasks under `/api/v1`: each task with its schedule and
//! last run, a task's recent runs, and a run on demand.

use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use mamori_api::tasks as wire;
use serde::Deserialize;

use super::AppState;
use super::api::{ApiActor, Problem};
use crate::domain::rfc3339;
use mamori_center_model::tasks::TaskRun;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tasks", get(list))
        .route("/tasks/{name}/runs", get(runs))
        .route("/tasks/{name}/run", post(run))
}

type ApiResult<T> = Result<T, Problem>;

fn run_wire(r: TaskRun) -> wire::TaskRun {
    wire::TaskRun {
        id: r.id,
        task: r.task,
        trigger: r.trigger.as_str().into(),
        requested_by: r.requested_by,
        started_at: rfc3339(r.started_at),
        finished_at: r.finished_at.map(rfc3339),
        outcome: r.outcome.map(|o| o.as_str().into()),
        detail: r.detail,
    }
}

async fn list(
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RunsQuery {
    limit: Option<i64>,
}

async fn runs(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(name): Path<String>,
    Query(q): Query<RunsQuery>,
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

async fn run(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(name): Path<String>,
) -> ApiResult<Json<wire::TaskRun>> {
    Ok(Json(run_wire(s.tasks.run_now(&a, &name).await?)))
}
