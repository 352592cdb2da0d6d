//! The REST API of configuration revisions under `/api/v1/sites/{id}/revisions`: list,
//! draft, read, diff, approve, reject, publish, roll back.

use axum::Json;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use mamori_api::revisions as wire;
use mamori_center_model::ids::*;
use serde::Deserialize;

use super::extract::{ApiActor, ApiJson, Id, created};
use super::problem::{ApiResult, Problem};
use crate::domain::{Actor, rfc3339};
use crate::gateways::revisions::{
    Diagnostics, Draft, Revision, RevisionDiff, diagnose, masked, sees_secrets,
};
use crate::http::AppState;

/// `/sites/{id}/revisions/{n}`: both numbers; anything else is a missing object.
pub(super) struct SiteRev(i64, i64);

impl<S: Send + Sync> FromRequestParts<S> for SiteRev {
    type Rejection = Problem;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let missing = || Problem::from(crate::app::AppError::NotFound);
        let Path((a, b)) = Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(|_| missing())?;
        match (a.parse(), b.parse()) {
            (Ok(a), Ok(b)) => Ok(SiteRev(a, b)),
            _ => Err(missing()),
        }
    }
}

pub(crate) fn diagnostics_wire(d: &Diagnostics) -> Vec<wire::Diagnostic> {
    d.policy
        .iter()
        .map(|d| wire::Diagnostic {
            severity: if d.is_error() { "error" } else { "warning" }.into(),
            line: d.line,
            column: d.column,
            message: d.message.clone(),
            hint: d.hint.clone(),
        })
        .collect()
}

fn revision_wire(actor: &Actor, r: Revision, with_diagnostics: bool) -> wire::Revision {
    let diagnostics = if with_diagnostics {
        diagnostics_wire(&diagnose(&r.policy_text, &r.settings))
    } else {
        Vec::new()
    };
    wire::Revision {
        site_id: r.site_id.get(),
        number: r.number,
        state: r.state.as_str().into(),
        settings: if sees_secrets(actor) {
            r.settings
        } else {
            masked(&r.settings)
        },
        policy_text: r.policy_text,
        author: r.author,
        created_at: rfc3339(r.created_at),
        reason: r.reason,
        instruction_id: r.instruction_id.map(InstructionId::get),
        reviewed_by: r.reviewed_by,
        reviewed_at: r.reviewed_at.map(rfc3339),
        review_note: r.review_note,
        published_by: r.published_by,
        published_at: r.published_at.map(rfc3339),
        generation: r.generation,
        restored_from: r.restored_from,
        diagnostics,
    }
}

pub(crate) fn diff_wire(d: RevisionDiff) -> wire::RevisionDiff {
    wire::RevisionDiff {
        site_id: d.to.site_id.get(),
        from: d.from.number,
        to: d.to.number,
        policy: d.policy,
        settings: d.settings,
        summary: d.summary,
    }
}

/// The site's configuration revisions, newest first
#[utoipa::path(get, path = "/sites/{id}/revisions", tag = "revisions", params(("id" = i64, Path, description = "the site")), responses((status = 200, description = "the revisions, without diagnostics", body = Vec<wire::Revision>)))]
pub(super) async fn list(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(site): Id,
) -> ApiResult<Json<Vec<wire::Revision>>> {
    let (_, list) = s.app.revisions().history(&a, SiteId::new(site)).await?;
    Ok(Json(
        list.into_iter()
            .map(|r| revision_wire(&a, r, false))
            .collect(),
    ))
}

/// Draft a revision (coordinators, operators)
///
/// The whole policy and the settings; policy errors refuse it (422, with line:column),
/// warnings are kept.
#[utoipa::path(post, path = "/sites/{id}/revisions", tag = "revisions", params(("id" = i64, Path, description = "the site")), request_body = wire::NewRevision, responses((status = 201, description = "the draft with the checker's diagnostics", body = wire::Revision)))]
pub(super) async fn create(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(site): Id,
    ApiJson(req): ApiJson<wire::NewRevision>,
) -> ApiResult<Response> {
    let draft = Draft {
        policy_text: req.policy_text,
        settings: req.settings,
        reason: req.reason,
        instruction_id: req.instruction_id.map(InstructionId::new),
    };
    let r = s
        .app
        .revisions()
        .draft(&a, SiteId::new(site), draft, s.now_ms())
        .await?;
    Ok(created(revision_wire(&a, r, true)))
}

/// One revision with the checker's diagnostics
#[utoipa::path(get, path = "/sites/{id}/revisions/{n}", tag = "revisions", params(("id" = i64, Path, description = "the site"), ("n" = i64, Path, description = "the revision's number in the site")), responses((status = 200, description = "the revision", body = wire::Revision)))]
pub(super) async fn one(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    SiteRev(site, n): SiteRev,
) -> ApiResult<Json<wire::Revision>> {
    let r = s.app.revisions().get(&a, SiteId::new(site), n).await?;
    Ok(Json(revision_wire(&a, r, true)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct DiffQuery {
    /// The number of the older revision.
    from: i64,
    /// The number of the newer revision.
    to: i64,
}

/// Compare two revisions
///
/// Line diffs of the policy and the settings, and a summary of the changed rules,
/// objects, NAT and load balancers.
#[utoipa::path(get, path = "/sites/{id}/revisions/diff", tag = "revisions", params(("id" = i64, Path, description = "the site"), DiffQuery), responses((status = 200, description = "the differences", body = wire::RevisionDiff)))]
pub(super) async fn diff(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(site): Id,
    q: Result<Query<DiffQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<wire::RevisionDiff>> {
    let Query(q) = q.map_err(|e| {
        Problem::says(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid Field",
            crate::app::ApiProblem::QueryFields {
                fields: "from, to".into(),
                error: e.body_text(),
            },
        )
        .field("from, to")
    })?;
    let d = s
        .app
        .revisions()
        .diff(&a, SiteId::new(site), q.from, q.to)
        .await?;
    Ok(Json(diff_wire(d)))
}

async fn review(
    s: AppState,
    a: Actor,
    site: SiteId,
    n: i64,
    approve: bool,
    note: &str,
) -> ApiResult<Json<wire::Revision>> {
    let four_eyes = s.config.four_eyes;
    let r = s
        .app
        .revisions()
        .review(&a, site, n, approve, note, four_eyes, s.now_ms())
        .await?;
    Ok(Json(revision_wire(&a, r, false)))
}

/// Approve a draft (another staff member than its author when four-eyes is on)
#[utoipa::path(post, path = "/sites/{id}/revisions/{n}/approve", tag = "revisions", params(("id" = i64, Path, description = "the site"), ("n" = i64, Path, description = "the revision's number in the site")), request_body = wire::Review, responses((status = 200, description = "the revision, approved", body = wire::Revision)))]
pub(super) async fn approve(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    SiteRev(site, n): SiteRev,
    ApiJson(req): ApiJson<wire::Review>,
) -> ApiResult<Json<wire::Revision>> {
    review(s, a, SiteId::new(site), n, true, &req.note).await
}

/// Reject a draft with a note
#[utoipa::path(post, path = "/sites/{id}/revisions/{n}/reject", tag = "revisions", params(("id" = i64, Path, description = "the site"), ("n" = i64, Path, description = "the revision's number in the site")), request_body = wire::Review, responses((status = 200, description = "the revision, rejected", body = wire::Revision)))]
pub(super) async fn reject(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    SiteRev(site, n): SiteRev,
    ApiJson(req): ApiJson<wire::Review>,
) -> ApiResult<Json<wire::Revision>> {
    review(s, a, SiteId::new(site), n, false, &req.note).await
}

/// Publish an approved revision as the site's next generation (operators, administrators)
#[utoipa::path(post, path = "/sites/{id}/revisions/{n}/publish", tag = "revisions", params(("id" = i64, Path, description = "the site"), ("n" = i64, Path, description = "the revision's number in the site")), responses((status = 200, description = "the revision, published", body = wire::Revision)))]
pub(super) async fn publish(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    SiteRev(site, n): SiteRev,
) -> ApiResult<Json<wire::Revision>> {
    let r = s
        .app
        .revisions()
        .publish(&a, SiteId::new(site), n, s.now_ms())
        .await?;
    Ok(Json(revision_wire(&a, r, false)))
}

/// Draft a new revision equal to this one (`restored_from`)
#[utoipa::path(post, path = "/sites/{id}/revisions/{n}/rollback", tag = "revisions", params(("id" = i64, Path, description = "the site"), ("n" = i64, Path, description = "the revision's number in the site")), request_body = wire::Rollback, responses((status = 201, description = "the new draft", body = wire::Revision)))]
pub(super) async fn rollback(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    SiteRev(site, n): SiteRev,
    ApiJson(req): ApiJson<wire::Rollback>,
) -> ApiResult<Response> {
    let r = s
        .app
        .revisions()
        .rollback(
            &a,
            SiteId::new(site),
            n,
            &req.reason,
            req.instruction_id.map(InstructionId::new),
            s.now_ms(),
        )
        .await?;
    Ok(created(revision_wire(&a, r, true)))
}
