//! Errors of the REST API as RFC 9457 problem details (`application/problem+json`), each
//! with a stable `type` code ([`ProblemType`]); `localize` sends the Japanese form to
//! callers whose `Accept-Language` prefers Japanese.

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use mamori_api::v1::{self as wire, ProblemType};

use crate::app::AppError;
use crate::http::status_of;

pub struct Problem {
    kind: ProblemType,
    status: StatusCode,
    title: &'static str,
    detail: String,
    hint: Option<String>,
    field: Option<String>,
    /// The detail and hint in Japanese, sent instead when the caller prefers Japanese.
    ja: Option<Box<(String, String)>>,
}

pub type ApiResult<T> = Result<T, Problem>;

/// The Japanese form of a problem, left on the response for [`localize`].
#[derive(Clone)]
struct JaProblem(wire::Problem);

/// Whether an `Accept-Language` header prefers Japanese: its highest-weighted tag (the
/// first among equals) is `ja` or `ja-*`.
pub(crate) fn prefers_ja(header: &str) -> bool {
    let mut best: Option<(u32, bool)> = None;
    for part in header.split(',') {
        let mut it = part.split(';');
        let tag = it.next().unwrap_or("").trim().to_ascii_lowercase();
        if tag.is_empty() {
            continue;
        }
        let q = it
            .filter_map(|p| p.trim().strip_prefix("q="))
            .filter_map(|v| v.trim().parse::<f32>().ok())
            .next()
            .unwrap_or(1.0);
        let q = (q.clamp(0.0, 1.0) * 1000.0) as u32;
        if q == 0 {
            continue;
        }
        let ja = tag == "ja" || tag.starts_with("ja-");
        if best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, ja));
        }
    }
    best.is_some_and(|(_, ja)| ja)
}

/// Sends the Japanese form of a problem to callers whose `Accept-Language` prefers
/// Japanese; everything else passes through unchanged.
pub(super) async fn localize(req: Request, next: axum::middleware::Next) -> Response {
    let ja = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(prefers_ja);
    let mut resp = next.run(req).await;
    if let Some(JaProblem(p)) = resp.extensions_mut().remove::<JaProblem>()
        && ja
    {
        let status = resp.status();
        let text = serde_json::to_string(&p).unwrap_or_default();
        return (
            status,
            [
                (header::CONTENT_TYPE, "application/problem+json"),
                (header::CONTENT_LANGUAGE, "ja"),
            ],
            text,
        )
            .into_response();
    }
    resp
}

/// The code of a problem with `status` when nothing more precise is said.
fn kind_of(status: StatusCode) -> ProblemType {
    match status {
        StatusCode::BAD_REQUEST => ProblemType::Malformed,
        StatusCode::UNAUTHORIZED => ProblemType::Unauthenticated,
        StatusCode::FORBIDDEN => ProblemType::Forbidden,
        StatusCode::NOT_FOUND => ProblemType::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ProblemType::MethodNotAllowed,
        StatusCode::CONFLICT => ProblemType::Conflict,
        StatusCode::PAYLOAD_TOO_LARGE => ProblemType::TooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ProblemType::UnsupportedMediaType,
        StatusCode::UNPROCESSABLE_ENTITY => ProblemType::Invalid,
        StatusCode::TOO_MANY_REQUESTS => ProblemType::Throttled,
        _ => ProblemType::Internal,
    }
}

impl Problem {
    /// A problem whose `type` follows from `status` (see [`ProblemType`]); a validation
    /// error (422) names its field with [`Problem::field`].
    pub fn new(status: StatusCode, title: &'static str, detail: impl Into<String>) -> Problem {
        Problem {
            kind: kind_of(status),
            status,
            title,
            detail: detail.into(),
            hint: None,
            field: None,
            ja: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Problem {
        self.hint = Some(hint.into());
        self
    }

    /// Names the request field a validation error is about.
    pub fn field(mut self, field: impl Into<String>) -> Problem {
        self.field = Some(field.into());
        self
    }

    fn kind(mut self, kind: ProblemType) -> Problem {
        self.kind = kind;
        self
    }

    /// The `type` code.
    #[cfg(test)]
    fn code(&self) -> ProblemType {
        self.kind
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = wire::Problem {
            kind: self.kind.as_str().into(),
            title: self.title.into(),
            status: self.status.as_u16(),
            detail: self.detail,
            hint: self.hint,
            field: self.field,
        };
        let text = serde_json::to_string(&body).unwrap_or_default();
        let ja = self.ja.map(|b| {
            let (detail, hint) = *b;
            JaProblem(wire::Problem {
                detail,
                hint: Some(hint),
                ..body
            })
        });
        let mut resp = (
            self.status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            text,
        )
            .into_response();
        if let Some(ja) = ja {
            resp.extensions_mut().insert(ja);
        }
        resp
    }
}

impl From<AppError> for Problem {
    fn from(e: AppError) -> Problem {
        let status = status_of(&e);
        match e {
            AppError::NotFound => {
                Problem::new(status, "Not Found", "no such object").kind(ProblemType::NotFound)
            }
            AppError::Forbidden(m) => {
                Problem::new(status, "Forbidden", m).kind(ProblemType::Forbidden)
            }
            AppError::Unauthenticated(m) => {
                Problem::new(status, "Unauthorized", m).kind(ProblemType::Unauthenticated)
            }
            AppError::TotpRequired => {
                Problem::new(status, "Unauthorized", "a TOTP code is required")
                    .hint("send totp_code")
                    .kind(ProblemType::TotpRequired)
            }
            AppError::Invalid { field, message, ja } => {
                let mut p = Problem::new(status, "Invalid Field", format!("{field}: {message}"))
                    .hint(format!("correct the field `{field}` and send again"))
                    .field(field)
                    .kind(ProblemType::Invalid);
                p.ja = ja.map(|ja| {
                    Box::new((
                        ja,
                        format!(
                            "{}（`{field}`）を直して、もう一度送ってください。",
                            crate::app::field_ja(field)
                        ),
                    ))
                });
                p
            }
            AppError::Conflict(m) => {
                Problem::new(status, "Conflict", m).kind(ProblemType::Conflict)
            }
            AppError::Throttled(m) => {
                Problem::new(status, "Too Many Requests", m).kind(ProblemType::Throttled)
            }
            AppError::Store(crate::store::StoreError::Conflict(m)) => {
                Problem::new(status, "Conflict", m).kind(ProblemType::Conflict)
            }
            other => {
                tracing::error!(error = %other, "request failed");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal Server Error",
                    "the center could not complete the request; it has been logged",
                )
                .kind(ProblemType::Internal)
            }
        }
    }
}

/// The answer to a path under `/api/v1` that no route serves.
pub(super) async fn not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "Not Found", "no such endpoint")
        .hint("see /api/v1/openapi.json")
        .kind(ProblemType::NoSuchEndpoint)
}

/// The answer to a method that a path under `/api/v1` does not serve.
pub(super) async fn method_not_allowed() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "Method Not Allowed",
        "this endpoint does not take this method",
    )
    .hint("see /api/v1/openapi.json")
    .kind(ProblemType::MethodNotAllowed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each error of the application that reaches the API has its own code, and the
    /// status of each code is the one its documentation gives.
    #[test]
    fn every_app_error_has_its_code() {
        let cases = [
            (AppError::NotFound, ProblemType::NotFound),
            (AppError::Forbidden("x"), ProblemType::Forbidden),
            (
                AppError::Unauthenticated("x".into()),
                ProblemType::Unauthenticated,
            ),
            (AppError::TotpRequired, ProblemType::TotpRequired),
            (
                AppError::Invalid {
                    field: "name",
                    message: "x".into(),
                    ja: None,
                },
                ProblemType::Invalid,
            ),
            (AppError::Conflict("x".into()), ProblemType::Conflict),
            (AppError::Throttled("x"), ProblemType::Throttled),
        ];
        for (e, want) in cases {
            let p = Problem::from(e);
            assert_eq!(p.code(), want);
            // The status alone would give the same code, except for the TOTP case.
            if want != ProblemType::TotpRequired {
                assert_eq!(kind_of(p.status), want);
            }
        }
    }
}
