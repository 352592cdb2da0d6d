//! Errors of the REST API as RFC 9457 problem details (`application/problem+json`), each
//! with a stable `type` code ([`ProblemType`]); `localize` sends the Japanese form to
//! callers whose `Accept-Language` prefers Japanese.

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use mamori_api::v1::{self as wire, ProblemType};

use crate::app::{ApiHint, ApiProblem, AppError, Lang};
use crate::http::status_of;

pub struct Problem {
    kind: ProblemType,
    status: StatusCode,
    title: &'static str,
    detail: String,
    hint: Option<String>,
    field: Option<String>,
    /// The detail and hint in Japanese, sent instead when the caller's language is
    /// Japanese (see [`problem_lang`]).
    ja: Option<Box<(String, Option<String>)>>,
}

pub type ApiResult<T> = Result<T, Problem>;

/// The Japanese form of a problem, left on the response for [`localize`].
#[derive(Clone)]
struct JaProblem(wire::Problem);

/// The language of an API problem's `detail` and `hint`: English when the request
/// sends no `Accept-Language` (a script reads the same English texts whatever language
/// its user chose for the panel), else the center's one negotiation,
/// [`Lang::negotiate`], of the user's stored preference (once the bearer is known) and
/// the header.
pub(crate) fn problem_lang(preference: Option<&str>, accept_language: Option<&str>) -> Lang {
    match accept_language {
        None => Lang::En,
        Some(header) => Lang::negotiate(preference, Some(header)),
    }
}

/// The stored language preference of the bearer, filled in by `ApiActor` for
/// [`localize`]; one slot per request.
#[derive(Clone, Default)]
pub(super) struct BearerLocale(pub(super) std::sync::Arc<std::sync::Mutex<Option<String>>>);

/// Sends the Japanese form of a problem to callers whose language ([`problem_lang`])
/// is Japanese; everything else passes through unchanged.
pub(super) async fn localize(mut req: Request, next: axum::middleware::Next) -> Response {
    let accept = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .map(|v| v.to_str().unwrap_or("").to_string());
    let locale = BearerLocale::default();
    req.extensions_mut().insert(locale.clone());
    let mut resp = next.run(req).await;
    let preference = locale.0.lock().ok().and_then(|l| l.clone());
    if let Some(JaProblem(p)) = resp.extensions_mut().remove::<JaProblem>()
        && problem_lang(preference.as_deref(), accept.as_deref()) == Lang::Ja
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
    /// Private: every other problem says a text of the catalog ([`Problem::says`],
    /// `From<AppError>`), so that it speaks the reader's language.
    fn new(status: StatusCode, title: &'static str, detail: impl Into<String>) -> Problem {
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

    /// A problem of the API's edge: `detail` from the catalog, in English and Japanese.
    pub fn says(status: StatusCode, title: &'static str, detail: ApiProblem) -> Problem {
        let mut p = Problem::new(status, title, detail.text(Lang::En));
        p.ja = Some(Box::new((detail.text(Lang::Ja), None)));
        p
    }

    /// What to do about it, from the catalog, in English and Japanese.
    pub fn hint(mut self, hint: ApiHint) -> Problem {
        self.hint = Some(hint.text(Lang::En));
        if let Some(ja) = self.ja.as_mut() {
            ja.1 = Some(hint.text(Lang::Ja));
        }
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
                hint,
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
    /// The problem of an error: its code, and its `detail` and `hint` in English and
    /// Japanese from the message catalog ([`AppError::text`]).
    fn from(e: AppError) -> Problem {
        let status = status_of(&e);
        let (title, kind) = match &e {
            AppError::NotFound => ("Not Found", ProblemType::NotFound),
            AppError::Forbidden(_) => ("Forbidden", ProblemType::Forbidden),
            AppError::Unauthenticated(_) => ("Unauthorized", ProblemType::Unauthenticated),
            AppError::TotpRequired => ("Unauthorized", ProblemType::TotpRequired),
            AppError::Invalid { .. } => ("Invalid Field", ProblemType::Invalid),
            AppError::Conflict(_) | AppError::Store(crate::store::StoreError::Conflict(_)) => {
                ("Conflict", ProblemType::Conflict)
            }
            AppError::Throttled(_) => ("Too Many Requests", ProblemType::Throttled),
            AppError::Store(_) | AppError::Auth(_) => {
                tracing::error!(error = %e, "request failed");
                ("Internal Server Error", ProblemType::Internal)
            }
        };
        let hint = match &e {
            AppError::TotpRequired => Some(ApiHint::SendTotp),
            AppError::Invalid { field, .. } => Some(ApiHint::CorrectField { field: *field }),
            _ => None,
        };
        let field = match &e {
            AppError::Invalid { field, .. } => Some(field.code().to_string()),
            _ => None,
        };
        let mut p = Problem::new(status, title, e.text(Lang::En)).kind(kind);
        p.hint = hint.as_ref().map(|h| h.text(Lang::En));
        p.field = field;
        p.ja = Some(Box::new((e.text(Lang::Ja), hint.map(|h| h.text(Lang::Ja)))));
        p
    }
}

/// The answer to a path under `/api/v1` that no route serves.
pub(super) async fn not_found() -> Problem {
    Problem::says(
        StatusCode::NOT_FOUND,
        "Not Found",
        ApiProblem::NoSuchEndpoint,
    )
    .hint(ApiHint::SeeOpenApi)
    .kind(ProblemType::NoSuchEndpoint)
}

/// The answer to a method that a path under `/api/v1` does not serve.
pub(super) async fn method_not_allowed() -> Problem {
    Problem::says(
        StatusCode::METHOD_NOT_ALLOWED,
        "Method Not Allowed",
        ApiProblem::MethodNotAllowed,
    )
    .hint(ApiHint::SeeOpenApi)
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
            (
                AppError::Forbidden(crate::app::Forbidden::ChangeRoles),
                ProblemType::Forbidden,
            ),
            (
                AppError::Unauthenticated(crate::app::Unauthenticated::SigninRefused),
                ProblemType::Unauthenticated,
            ),
            (AppError::TotpRequired, ProblemType::TotpRequired),
            (
                AppError::invalid(
                    crate::app::Field::Name,
                    crate::app::Invalid::Empty {
                        field: crate::app::Field::Name,
                    },
                ),
                ProblemType::Invalid,
            ),
            (
                AppError::Conflict(crate::app::Conflict::AccountExists),
                ProblemType::Conflict,
            ),
            (
                AppError::Throttled(crate::app::Throttled::TotpCodes),
                ProblemType::Throttled,
            ),
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
