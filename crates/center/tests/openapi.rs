//! The OpenAPI document of `/api/v1`: the committed `docs/openapi.json` is the one the
//! center generates and serves; every documented operation is routed and every route is
//! documented; every error is a problem with one of the documented `type` codes.
//!
//! After a change of the API, regenerate the committed document with
//! `MAMORI_UPDATE_OPENAPI=1 cargo nextest run -p mamori-center --test openapi`.

mod support;

use std::collections::BTreeSet;
use std::path::PathBuf;

use mamori_api::v1::{Problem, ProblemType};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use support::{Backend, Center};

both_backends!(
    the_served_document_is_the_committed_one,
    every_documented_operation_is_routed,
    errors_are_problems_with_documented_codes
);

fn committed_path() -> PathBuf {
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .join("../../docs/openapi.json")
}

fn generated() -> Value {
    serde_json::from_str(mamori_center::http::openapi_json()).expect("the document is JSON")
}

/// Every (method, path) the document describes.
fn operations(doc: &Value) -> Vec<(Method, String)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (m, _) in item.as_object().expect("a path item") {
            let method = match m.as_str() {
                "get" => Method::GET,
                "post" => Method::POST,
                "put" => Method::PUT,
                "patch" => Method::PATCH,
                "delete" => Method::DELETE,
                other => panic!("{path}: unexpected key {other}"),
            };
            out.push((method, path.clone()));
        }
    }
    out
}

/// The committed document is exactly the generated one (pretty, keys in order).
#[test]
fn the_committed_document_is_the_generated_one() {
    let text = mamori_center::http::openapi_json();
    let path = committed_path();
    if std::env::var_os("MAMORI_UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, text).expect("write docs/openapi.json");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == text,
        "docs/openapi.json differs from the document the center generates; after checking \
         the change, regenerate it with\n  MAMORI_UPDATE_OPENAPI=1 cargo nextest run -p \
         mamori-center --test openapi"
    );
}

/// The document's shape: OpenAPI 3.1, every operation answers a problem on error,
/// every reference resolves, the problem codes are the wire type's.
#[test]
fn the_document_describes_every_operation_fully() {
    let doc = generated();
    assert_eq!(doc["openapi"], "3.1.0");
    let ops = operations(&doc);
    assert!(ops.len() > 50, "too few operations: {}", ops.len());
    for (m, path) in &ops {
        let op = &doc["paths"][path][m.as_str().to_ascii_lowercase()];
        assert!(
            op["summary"].as_str().is_some_and(|s| !s.is_empty()),
            "{m} {path} has no summary"
        );
        assert_eq!(
            op["responses"]["default"]["content"]["application/problem+json"]["schema"]["$ref"],
            "#/components/schemas/Problem",
            "{m} {path} does not answer problems"
        );
        let ok = op["responses"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(code, _)| code.starts_with('2'))
            .count();
        assert_eq!(ok, 1, "{m} {path} has {ok} success responses");
        // Path parameters: each `{name}` of the path is declared.
        for name in path
            .split('{')
            .skip(1)
            .map(|p| p.split('}').next().unwrap())
        {
            let declared = op["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["name"] == name && p["in"] == "path"));
            assert!(
                declared,
                "{m} {path}: path parameter {name} is not declared"
            );
        }
        // A body is documented exactly where the handler reads one: every POST but the
        // few that take none.
        let bodiless = [
            "/api/v1/users/{id}/deactivate",
            "/api/v1/backoffice/equipment-returns",
            "/api/v1/sites/{id}/revisions/{n}/publish",
            "/api/v1/tasks/{name}/run",
        ];
        if *m == Method::POST && !bodiless.contains(&path.as_str()) {
            assert!(
                op["requestBody"]["content"]["application/json"]["schema"].is_object(),
                "{m} {path} documents no request body"
            );
        }
    }
    let text = doc.to_string();
    for r in text.split("\"#/components/schemas/").skip(1) {
        let name = r.split('"').next().unwrap();
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "{name} is referred to but not defined"
        );
    }
    let codes: BTreeSet<&str> = doc["components"]["schemas"]["ProblemType"]["enum"]
        .as_array()
        .expect("ProblemType is an enum")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let wire: BTreeSet<&str> = ProblemType::ALL.iter().map(|t| t.as_str()).collect();
    assert_eq!(codes, wire);
    assert_eq!(
        doc["components"]["schemas"]["Problem"]["properties"]["type"]["$ref"],
        "#/components/schemas/ProblemType"
    );
    assert_eq!(doc["security"][0]["bearer"], Value::Array(vec![]));
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

/// Nothing in the API's module tree adds a route by hand: every route goes through
/// `routes!(handler)`, which takes method and path from the handler's documentation,
/// and nothing else in the center serves a path under `/api/v1`.
#[test]
fn every_route_comes_from_the_documentation() {
    let src = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo")).join("src");
    let mut files = vec![src.clone()];
    let mut seen = 0;
    while let Some(p) = files.pop() {
        if p.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                files.push(e.unwrap().path());
            }
            continue;
        }
        if p.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap();
        let rel = p.strip_prefix(&src).unwrap().to_string_lossy().into_owned();
        if rel.starts_with("http/api/") {
            seen += 1;
            // The document's own nesting of the same list (its router is dropped).
            let text = text
                .replace(".nest(\"/api/v1\", api)", "")
                .replace("OpenApiRouter::new(", "");
            for call in [
                ".route(",
                ".nest(",
                ".merge(",
                ".route_service(",
                "Router::new(",
            ] {
                assert!(
                    !text.contains(call),
                    "{rel} calls {call}: a route under /api/v1 that is not documented"
                );
            }
        } else {
            assert!(
                !text.contains(".route(\"/api/"),
                "{rel} routes a path under /api/ outside http/api/"
            );
        }
    }
    assert!(seen >= 10, "the API's module tree was not found");
    let http = std::fs::read_to_string(src.join("http/mod.rs")).unwrap();
    assert_eq!(
        http.matches(".nest(\"/api/v1\"").count(),
        1,
        "http/mod.rs nests the API router once"
    );
}

async fn the_served_document_is_the_committed_one(backend: Backend) {
    let c = Center::start(backend).await;
    let resp = c
        .client
        .get(format!("{}/api/v1/openapi.json", c.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    assert_eq!(
        resp.text().await.unwrap(),
        mamori_center::http::openapi_json()
    );
    c.stop().await;
}

/// A path parameter's value in a probe: a number nobody has.
fn concrete(path: &str) -> String {
    let mut out = String::new();
    for (i, part) in path.split('{').enumerate() {
        if i == 0 {
            out.push_str(part);
        } else {
            let rest = part.split_once('}').map_or("", |(_, r)| r);
            out.push_str("987654");
            out.push_str(rest);
        }
    }
    out
}

/// Each documented operation, called without credentials, answers something other than
/// "no such endpoint" or "method not allowed": the router serves it. Also the
/// converse for a path and a method the document does not have.
async fn every_documented_operation_is_routed(backend: Backend) {
    let c = Center::start(backend).await;
    let doc = generated();
    for (m, path) in operations(&doc) {
        let url = concrete(&path);
        let (status, body) = c.call(m.clone(), &url, None, None).await;
        let kind = body["type"].as_str().unwrap_or("");
        assert!(
            !matches!(
                status,
                StatusCode::METHOD_NOT_ALLOWED | StatusCode::NOT_IMPLEMENTED
            ) && kind != ProblemType::NoSuchEndpoint.as_str()
                && kind != ProblemType::MethodNotAllowed.as_str(),
            "{m} {url} (documented) is not routed: {status} {body}"
        );
        if status == StatusCode::NOT_FOUND {
            assert_eq!(kind, ProblemType::NotFound.as_str(), "{m} {url}: {body}");
        }
    }
    // The probe can tell: an undocumented path and method are refused as such.
    let (status, body) = c.call(Method::GET, "/api/v1/nowhere", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["type"], ProblemType::NoSuchEndpoint.as_str());
    let (status, body) = c.call(Method::PUT, "/api/v1/users", None, None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body["type"], ProblemType::MethodNotAllowed.as_str());
    c.stop().await;
}

/// Reads a problem answer: `application/problem+json`, a documented code.
async fn problem(resp: reqwest::Response) -> (StatusCode, Problem) {
    let status = resp.status();
    let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
    let text = resp.text().await.unwrap();
    assert_eq!(ct, "application/problem+json", "{status}: {text}");
    let p: Problem = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert!(
        ProblemType::ALL.iter().any(|t| t.as_str() == p.kind),
        "{} is not a documented code",
        p.kind
    );
    assert_eq!(p.status, status.as_u16());
    (status, p)
}

/// Errors of every kind reach the caller as problems with their code: a missing token,
/// an unknown path, a wrong method, a body of the wrong type or shape, a query string
/// of the wrong shape, an invalid field (named), a missing object, a forbidden act, a
/// conflict.
async fn errors_are_problems_with_documented_codes(backend: Backend) {
    let c = Center::start(backend).await;
    let admin = c.admin().await;
    let (_, officer, _) = c.customer(&admin, "Alpha").await;
    let url = |p: &str| format!("{}{p}", c.base);
    let send = |m: Method, p: &str, token: Option<&str>| {
        let mut rb = c.client.request(m, url(p));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        rb
    };

    let (s, p) = problem(send(Method::GET, "/api/v1/me", None).send().await.unwrap()).await;
    assert_eq!(
        (s, p.kind.as_str()),
        (
            StatusCode::UNAUTHORIZED,
            ProblemType::Unauthenticated.as_str()
        )
    );

    let (s, p) = problem(
        send(Method::GET, "/api/v1/nowhere", Some(&admin))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s, p.kind.as_str()),
        (StatusCode::NOT_FOUND, ProblemType::NoSuchEndpoint.as_str())
    );

    // A method the path does not take: before, an empty 405 answer.
    let (s, p) = problem(
        send(Method::PATCH, "/api/v1/me", Some(&admin))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s, p.kind.as_str()),
        (
            StatusCode::METHOD_NOT_ALLOWED,
            ProblemType::MethodNotAllowed.as_str()
        )
    );

    let (s, p) = problem(
        send(Method::POST, "/api/v1/sites", Some(&admin))
            .header("content-type", "text/plain")
            .body("{}")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s, p.kind.as_str()),
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ProblemType::UnsupportedMediaType.as_str()
        )
    );

    let (s, p) = problem(
        send(Method::POST, "/api/v1/sites", Some(&admin))
            .header("content-type", "application/json")
            .body("{\"name\": 1}")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s, p.kind.as_str()),
        (StatusCode::BAD_REQUEST, ProblemType::Malformed.as_str())
    );

    // A query string of the wrong shape: before, a `text/plain` answer.
    let (s, p) = problem(
        send(
            Method::GET,
            "/api/v1/backoffice/contracts/1/liability-cap",
            Some(&admin),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (s, p.kind.as_str()),
        (StatusCode::BAD_REQUEST, ProblemType::Malformed.as_str())
    );
    assert!(p.detail.contains("cause_date"), "{}", p.detail);
    let (s, p) = problem(
        send(Method::GET, "/api/v1/equipment?colour=red", Some(&admin))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s, p.kind.as_str()),
        (StatusCode::BAD_REQUEST, ProblemType::Malformed.as_str())
    );

    // Invalid fields name the field, from the application and from the handlers.
    let (s, p) = problem(
        send(Method::POST, "/api/v1/users", Some(&admin))
            .json(&serde_json::json!({"email": "x@example.com", "display_name": "X", "role": "emperor"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s, p.kind.as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            ProblemType::Invalid.as_str()
        )
    );
    assert_eq!(p.field.as_deref(), Some("role"));
    let (s, p) = problem(
        send(Method::GET, "/api/v1/equipment?state=lost", Some(&admin))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s, p.kind.as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            ProblemType::Invalid.as_str()
        )
    );
    assert_eq!(p.field.as_deref(), Some("state"));
    let (s, p) = problem(
        send(Method::GET, "/api/v1/fleet?customer_id=x", Some(&admin))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s, p.kind.as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            ProblemType::Invalid.as_str()
        )
    );
    assert_eq!(p.field.as_deref(), Some("customer_id"));

    let (s, p) = problem(
        send(Method::GET, "/api/v1/users/987654", Some(&admin))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s, p.kind.as_str()),
        (StatusCode::NOT_FOUND, ProblemType::NotFound.as_str())
    );
    let (s, p) = problem(
        send(Method::GET, "/api/v1/users/abc", Some(&admin))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s, p.kind.as_str()),
        (StatusCode::NOT_FOUND, ProblemType::NotFound.as_str())
    );

    // An officer may not create a customer.
    let (s, p) = problem(
        send(Method::POST, "/api/v1/customers", Some(&officer))
            .json(&serde_json::json!({"name": "Beta", "officer": {"email": "b@example.com", "display_name": "B"}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s, p.kind.as_str()),
        (StatusCode::FORBIDDEN, ProblemType::Forbidden.as_str())
    );

    // The same serial number twice is a conflict.
    let stock = || {
        send(Method::POST, "/api/v1/equipment", Some(&admin))
            .json(&serde_json::json!({"serial": "SN-1", "model": "MX-1"}))
            .send()
    };
    assert_eq!(stock().await.unwrap().status(), StatusCode::CREATED);
    let (s, p) = problem(stock().await.unwrap()).await;
    assert_eq!(
        (s, p.kind.as_str()),
        (StatusCode::CONFLICT, ProblemType::Conflict.as_str())
    );
    c.stop().await;
}
