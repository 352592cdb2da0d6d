//! Instructions: filed by a customer's security officer, decided by the provider's
//! staff, commented by both.

use axum::Json;
use axum::extract::{Query, State};
use axum::response::Response;
use mamori_api::v1 as wire;
use mamori_center_model::ids::*;

use super::extract::{ApiActor, ApiJson, DEFAULT_PAGE, Id, Page, created};
use super::problem::ApiResult;
use crate::domain::{self, Actor, InstructionState, rfc3339};
use crate::http::AppState;

fn instruction_wire(i: domain::Instruction, comments: Vec<domain::Comment>) -> wire::Instruction {
    wire::Instruction {
        id: i.id.get(),
        customer_id: i.customer_id.get(),
        submitted_by: i.submitted_by.get(),
        subject: i.subject,
        body: i.body,
        kind: i.kind.as_str().into(),
        state: i.state.as_str().into(),
        reason: i.reason,
        created_at: rfc3339(i.created_at),
        updated_at: rfc3339(i.updated_at),
        comments: comments.into_iter().map(comment_wire).collect(),
    }
}

fn comment_wire(c: domain::Comment) -> wire::Comment {
    wire::Comment {
        id: c.id,
        author_id: c.author_id.get(),
        body: c.body,
        created_at: rfc3339(c.created_at),
    }
}

/// Instructions, newest first
///
/// `limit` (default 25, at most 500) and `before` (an id: the next page is the one
/// before the last id of this one).
#[utoipa::path(get, path = "/instructions", tag = "instructions", params(Page),
    responses((status = 200, description = "a page of instructions, without their comments", body = Vec<wire::Instruction>)))]
pub(super) async fn instructions(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Query(q): Query<Page>,
) -> ApiResult<Json<Vec<wire::Instruction>>> {
    let list = s
        .app
        .instructions()
        .page(&a, q.before, q.limit.unwrap_or(DEFAULT_PAGE))
        .await?;
    Ok(Json(
        list.into_iter()
            .map(|i| instruction_wire(i, Vec::new()))
            .collect(),
    ))
}

/// One instruction with its comments
#[utoipa::path(get, path = "/instructions/{id}", tag = "instructions",
    params(("id" = i64, Path, description = "the instruction")),
    responses((status = 200, description = "the instruction", body = wire::Instruction)))]
pub(super) async fn instruction(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(id): Id,
) -> ApiResult<Json<wire::Instruction>> {
    let (i, c) = s.app.instructions().get(&a, InstructionId::new(id)).await?;
    Ok(Json(instruction_wire(i, c)))
}

/// Submit an instruction (the customer's security officer only)
#[utoipa::path(post, path = "/instructions", tag = "instructions",
    request_body = wire::NewInstruction,
    responses((status = 201, description = "the instruction", body = wire::Instruction)))]
pub(super) async fn submit_instruction(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(req): ApiJson<wire::NewInstruction>,
) -> ApiResult<Response> {
    let i = s
        .app
        .instructions()
        .submit(&a, &req.subject, &req.body, &req.kind, s.now_ms())
        .await?;
    Ok(created(instruction_wire(i, Vec::new())))
}

async fn decide(
    s: AppState,
    a: Actor,
    id: i64,
    to: InstructionState,
    reason: Option<String>,
) -> ApiResult<Json<wire::Instruction>> {
    let i = s
        .app
        .instructions()
        .decide(
            &a,
            InstructionId::new(id),
            to,
            reason.as_deref(),
            s.now_ms(),
        )
        .await?;
    Ok(Json(instruction_wire(i, Vec::new())))
}

/// Accept (coordinators, operators)
#[utoipa::path(post, path = "/instructions/{id}/accept", tag = "instructions",
    params(("id" = i64, Path, description = "the instruction")),
    request_body = wire::Decision,
    responses((status = 200, description = "the instruction, accepted", body = wire::Instruction)))]
pub(super) async fn accept(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(id): Id,
    ApiJson(d): ApiJson<wire::Decision>,
) -> ApiResult<Json<wire::Instruction>> {
    decide(s, a, id, InstructionState::Accepted, d.reason).await
}

/// Reject with a reason (coordinators, operators)
#[utoipa::path(post, path = "/instructions/{id}/reject", tag = "instructions",
    params(("id" = i64, Path, description = "the instruction")),
    request_body = wire::Decision,
    responses((status = 200, description = "the instruction, rejected", body = wire::Instruction)))]
pub(super) async fn reject(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(id): Id,
    ApiJson(d): ApiJson<wire::Decision>,
) -> ApiResult<Json<wire::Instruction>> {
    decide(s, a, id, InstructionState::Rejected, d.reason).await
}

/// Mark done (coordinators, operators)
#[utoipa::path(post, path = "/instructions/{id}/done", tag = "instructions",
    params(("id" = i64, Path, description = "the instruction")),
    request_body = wire::Decision,
    responses((status = 200, description = "the instruction, done", body = wire::Instruction)))]
pub(super) async fn done(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(id): Id,
    ApiJson(d): ApiJson<wire::Decision>,
) -> ApiResult<Json<wire::Instruction>> {
    decide(s, a, id, InstructionState::Done, d.reason).await
}

/// Comment on an instruction
#[utoipa::path(post, path = "/instructions/{id}/comments", tag = "instructions",
    params(("id" = i64, Path, description = "the instruction")),
    request_body = wire::NewComment,
    responses((status = 201, description = "the comment", body = wire::Comment)))]
pub(super) async fn comment(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(id): Id,
    ApiJson(c): ApiJson<wire::NewComment>,
) -> ApiResult<Response> {
    Ok(created(comment_wire(
        s.app
            .instructions()
            .comment(&a, InstructionId::new(id), &c.body, s.now_ms())
            .await?,
    )))
}
