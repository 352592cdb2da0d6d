//! The REST API of configuration revisions under `/api/v1/sites/{id}/revisions`: list,
//! draft, read, diff, approve, reject, publish, roll back.

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use mamori_api::revisions as wire;
use serde::Deserialize;
use serde_json::{Value, json};

use super::api::{ApiActor, ApiJson, Id, Problem};
use super::{AppState, now_ms};
use crate::domain::{Actor, rfc3339};
use crate::gateways::revisions::{
    Diagnostics, Draft, Revision, RevisionDiff, diagnose, masked, sees_secrets,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sites/{id}/revisions", get(list).post(create))
        .route("/sites/{id}/revisions/diff", get(diff))
        .route("/sites/{id}/revisions/{n}", get(one))
        .route("/sites/{id}/revisions/{n}/approve", post(approve))
        .route("/sites/{id}/revisions/{n}/reject", post(reject))
        .route("/sites/{id}/revisions/{n}/publish", post(publish))
        .route("/sites/{id}/revisions/{n}/rollback", post(rollback))
}

type ApiResult<T> = Result<T, Problem>;

/// `/sites/{id}/revisions/{n}`: both numbers; anything else is a missing object.
struct SiteRev(i64, i64);

impl<S: Send + Sync> FromRequestParts<S> for SiteRev {
    type Rejection = Problem;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let missing = || Problem::new(StatusCode::NOT_FOUND, "Not Found", "no such object");
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
        site_id: r.site_id,
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
        instruction_id: r.instruction_id,
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
        site_id: d.to.site_id,
        from: d.from.number,
        to: d.to.number,
        policy: d.policy,
        settings: d.settings,
        summary: d.summary,
    }
}

async fn list(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(site): Id,
) -> ApiResult<Json<Vec<wire::Revision>>> {
    let (_, list) = s.app.site_revisions(&a, site).await?;
    Ok(Json(
        list.into_iter()
            .map(|r| revision_wire(&a, r, false))
            .collect(),
    ))
}

async fn create(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(site): Id,
    ApiJson(req): ApiJson<wire::NewRevision>,
) -> ApiResult<Response> {
    let draft = Draft {
        policy_text: req.policy_text,
        settings: req.settings,
        reason: req.reason,
        instruction_id: req.instruction_id,
    };
    let r = s.app.create_revision(&a, site, draft, now_ms()).await?;
    Ok((StatusCode::CREATED, Json(revision_wire(&a, r, true))).into_response())
}

async fn one(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    SiteRev(site, n): SiteRev,
) -> ApiResult<Json<wire::Revision>> {
    let r = s.app.revision(&a, site, n).await?;
    Ok(Json(revision_wire(&a, r, true)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DiffQuery {
    from: i64,
    to: i64,
}

async fn diff(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(site): Id,
    q: Result<Query<DiffQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<wire::RevisionDiff>> {
    let Query(q) = q.map_err(|e| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid Field",
            format!("from, to: {}", e.body_text()),
        )
    })?;
    let d = s.app.revision_diff(&a, site, q.from, q.to).await?;
    Ok(Json(diff_wire(d)))
}

async fn review(
    s: AppState,
    a: Actor,
    site: i64,
    n: i64,
    approve: bool,
    note: &str,
) -> ApiResult<Json<wire::Revision>> {
    let four_eyes = s.config.four_eyes;
    let r = s
        .app
        .review_revision(&a, site, n, approve, note, four_eyes, now_ms())
        .await?;
    Ok(Json(revision_wire(&a, r, false)))
}

async fn approve(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    SiteRev(site, n): SiteRev,
    ApiJson(req): ApiJson<wire::Review>,
) -> ApiResult<Json<wire::Revision>> {
    review(s, a, site, n, true, &req.note).await
}

async fn reject(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    SiteRev(site, n): SiteRev,
    ApiJson(req): ApiJson<wire::Review>,
) -> ApiResult<Json<wire::Revision>> {
    review(s, a, site, n, false, &req.note).await
}

async fn publish(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    SiteRev(site, n): SiteRev,
) -> ApiResult<Json<wire::Revision>> {
    let r = s.app.publish_revision(&a, site, n, now_ms()).await?;
    Ok(Json(revision_wire(&a, r, false)))
}

async fn rollback(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    SiteRev(site, n): SiteRev,
    ApiJson(req): ApiJson<wire::Rollback>,
) -> ApiResult<Response> {
    let r = s
        .app
        .rollback_revision(&a, site, n, &req.reason, req.instruction_id, now_ms())
        .await?;
    Ok((StatusCode::CREATED, Json(revision_wire(&a, r, true))).into_response())
}

/// The OpenAPI paths and schemas of these routes (merged into the document).
pub fn openapi() -> (Value, Value) {
    let err = json!({"description": "error", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}});
    let ok = |code: &str, schema: Value| json!({code: {"description": "success", "content": {"application/json": {"schema": schema}}}, "default": err});
    let r = |name: &str| json!({"$ref": format!("#/components/schemas/{name}")});
    let body = |name: &str| json!({"required": true, "content": {"application/json": {"schema": r(name)}}});
    let site = json!({"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}, "description": "the site"});
    let num = json!({"name": "n", "in": "path", "required": true, "schema": {"type": "integer"}, "description": "the revision's number in the site"});
    let one = |summary: &str, b: Option<&str>, code: &str| {
        let mut o = json!({"summary": summary, "parameters": [site, num], "responses": ok(code, r("Revision"))});
        if let Some(b) = b {
            o["requestBody"] = body(b);
        }
        o
    };
    let paths = json!({
        "/api/v1/sites/{id}/revisions": {
            "get": {"summary": "The site's configuration revisions, newest first", "parameters": [site], "responses": ok("200", json!({"type": "array", "items": r("Revision")}))},
            "post": {"summary": "Draft a revision (coordinators, operators): the whole policy and the settings; policy errors refuse it (422, with line:column), warnings are kept", "parameters": [site], "requestBody": body("NewRevision"), "responses": ok("201", r("Revision"))}
        },
        "/api/v1/sites/{id}/revisions/diff": {"get": {"summary": "Compare two revisions: line diffs of the policy and the settings, and a summary of the changed rules, objects, NAT and load balancers", "parameters": [site, {"name": "from", "in": "query", "required": true, "schema": {"type": "integer"}}, {"name": "to", "in": "query", "required": true, "schema": {"type": "integer"}}], "responses": ok("200", r("RevisionDiff"))}},
        "/api/v1/sites/{id}/revisions/{n}": {"get": one("One revision with the checker's diagnostics", None, "200")},
        "/api/v1/sites/{id}/revisions/{n}/approve": {"post": one("Approve a draft (another staff member than its author when four-eyes is on)", Some("Review"), "200")},
        "/api/v1/sites/{id}/revisions/{n}/reject": {"post": one("Reject a draft with a note", Some("Review"), "200")},
        "/api/v1/sites/{id}/revisions/{n}/publish": {"post": one("Publish an approved revision as the site's next generation (operators, administrators)", None, "200")},
        "/api/v1/sites/{id}/revisions/{n}/rollback": {"post": one("Draft a new revision equal to this one (restored_from)", Some("Rollback"), "201")}
    });
    let s = |t: &str| json!({"type": t});
    let sn = json!({"type": ["string", "null"]});
    let inn = json!({"type": ["integer", "null"]});
    let strs = json!({"type": "array", "items": {"type": "string"}});
    let lines = json!({"type": "array", "items": r("DiffLine")});
    let schemas = json!({
        "GatewaySettings": {"type": "object", "additionalProperties": false, "properties": {
            "syslog": {"type": ["object", "null"], "properties": {"host": s("string"), "port": s("integer"), "protocol": {"enum": ["udp", "tcp"]}}, "required": ["host"]},
            "snmp_v3": {"type": "array", "items": {"type": "object", "properties": {"user": s("string"), "auth": {"enum": ["sha", "sha256", "sha512"]}, "auth_pass": s("string"), "privacy": {"enum": ["aes", "aes256"]}, "priv_pass": s("string")}, "required": ["user", "auth", "auth_pass", "privacy", "priv_pass"]}},
            "ntp": strs, "dns": strs}},
        "Diagnostic": {"type": "object", "properties": {"severity": {"enum": ["error", "warning"]}, "line": s("integer"), "column": s("integer"), "message": s("string"), "hint": sn}, "required": ["severity", "line", "column", "message"]},
        "Revision": {"type": "object", "properties": {"site_id": s("integer"), "number": s("integer"), "state": {"enum": ["draft", "approved", "rejected", "published"]}, "policy_text": s("string"), "settings": r("GatewaySettings"), "author": s("string"), "created_at": s("string"), "reason": s("string"), "instruction_id": inn, "reviewed_by": sn, "reviewed_at": sn, "review_note": sn, "published_by": sn, "published_at": sn, "generation": inn, "restored_from": inn, "diagnostics": {"type": "array", "items": r("Diagnostic")}}, "required": ["site_id", "number", "state", "policy_text", "settings", "author", "reason"]},
        "NewRevision": {"type": "object", "additionalProperties": false, "properties": {"policy_text": s("string"), "settings": r("GatewaySettings"), "reason": s("string"), "instruction_id": inn}, "required": ["policy_text", "reason"]},
        "Review": {"type": "object", "additionalProperties": false, "properties": {"note": s("string")}},
        "Rollback": {"type": "object", "additionalProperties": false, "properties": {"reason": s("string"), "instruction_id": inn}, "required": ["reason"]},
        "DiffLine": {"type": "object", "properties": {"kind": {"enum": ["context", "added", "removed", "gap"]}, "old": inn, "new": inn, "text": s("string")}, "required": ["kind", "text"]},
        "ChangeSummary": {"type": "object", "properties": {"rules_added": strs, "rules_removed": strs, "rules_changed": strs, "objects_added": strs, "objects_removed": strs, "objects_changed": strs, "zones": strs, "nat": strs, "load_balancers": strs, "settings": strs, "unavailable": sn}},
        "RevisionDiff": {"type": "object", "properties": {"site_id": s("integer"), "from": s("integer"), "to": s("integer"), "policy": lines, "settings": lines, "summary": r("ChangeSummary")}, "required": ["site_id", "from", "to", "policy", "settings", "summary"]}
    });
    (paths, schemas)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_route_is_documented() {
        let (paths, schemas) = super::openapi();
        let src = include_str!("revisions_api.rs");
        let routes: Vec<&str> = src
            .lines()
            .filter(|l| l.trim_start().starts_with(".route(\""))
            .map(|l| l.split('"').nth(1).unwrap())
            .collect();
        assert_eq!(routes.len(), 7);
        for r in routes {
            let full = format!("/api/v1{r}");
            assert!(paths.get(&full).is_some(), "{full} is not documented");
        }
        // Every referenced schema exists.
        let text = paths.to_string() + &schemas.to_string();
        for part in text.split("#/components/schemas/").skip(1) {
            let name = part.split('"').next().unwrap();
            assert!(
                schemas.get(name).is_some() || name == "Problem",
                "{name} is referenced but not defined"
            );
        }
    }
}
