//! The OpenAPI 3.1 document of `/api/v1`, generated: the paths from the handlers'
//! `#[utoipa::path]` (the same list the router is built from, see `mod.rs`), the
//! schemas from the `mamori_api` types. Committed as `docs/openapi.json`; the test
//! `tests/openapi.rs` fails when the two differ.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use mamori_api::v1::{self as wire, ProblemType};
use serde_json::{Value, json};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::http::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Mamori center API",
        version = "1",
        description = "The center's REST API. Every object of another customer answers 404, exactly like a missing one. Times are RFC 3339 strings in UTC; identifiers are integers; request bodies reject unknown fields. Errors are RFC 9457 problem details (`application/problem+json`) whose `type` is a stable code (see the `ProblemType` schema):"
    ),
    servers((url = "/")),
    security(("bearer" = [])),
    components(schemas(wire::Problem, ProblemType))
)]
struct ApiDoc;

/// The document, with `api` (the routes of `/api/v1`) nested under `/api/v1`.
pub(super) fn build(api: OpenApiRouter<AppState>) -> Value {
    let (_, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", api)
        .split_for_parts();
    let mut doc = serde_json::to_value(&doc).unwrap_or_default();
    finish(&mut doc);
    sort_keys(doc)
}

/// What the derive cannot say: the bearer scheme, the problem answer of every
/// operation, a PDF answer as bytes, the list of problem codes in the description.
fn finish(doc: &mut Value) {
    doc["components"]["securitySchemes"] = json!({
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "A session token from `POST /api/v1/login` or an API token from `POST /api/v1/tokens`"
        }
    });
    let problem = json!({
        "description": "an error, as problem details",
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    });
    if let Some(paths) = doc["paths"].as_object_mut() {
        for item in paths.values_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for op in item.values_mut() {
                if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
                    responses.insert("default".into(), problem.clone());
                    // A PDF document is bytes, not text.
                    for r in responses.values_mut() {
                        if let Some(pdf) = r.pointer_mut("/content/application~1pdf/schema") {
                            *pdf = json!({"type": "string", "format": "binary"});
                        }
                    }
                }
            }
        }
    }
    let mut codes = String::new();
    for t in ProblemType::ALL {
        codes.push_str(&format!("\n- `{}`", t.as_str()));
    }
    if let Some(d) = doc["info"]["description"].as_str() {
        doc["info"]["description"] = Value::String(format!("{d}\n{codes}"));
    }
}

/// `v` with the keys of every object in order, so that the text is stable.
fn sort_keys(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut pairs: Vec<(String, Value)> = m.into_iter().collect();
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(pairs.into_iter().map(|(k, v)| (k, sort_keys(v))).collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(sort_keys).collect()),
        other => other,
    }
}

/// The document as pretty JSON text, as committed in `docs/openapi.json`.
pub fn text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| {
        let doc = build(super::api());
        let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
        s.push('\n');
        s
    })
}

/// This document
#[utoipa::path(get, path = "/openapi.json", tag = "meta", security(()),
    responses((status = 200, description = "the OpenAPI document of `/api/v1`", content_type = "application/json", body = Object)))]
pub(super) async fn openapi_json() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], text()).into_response()
}
