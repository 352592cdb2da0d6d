//! The API's extractors: [`ApiJson`] (a bounded JSON body, every failure a problem),
//! [`Id`] (a numeric path identifier, anything else a missing object) and [`ApiActor`]
//! (the caller of `Authorization: Bearer`, a session or an API token).

use axum::extract::{FromRef, FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use super::problem::Problem;
use crate::app::{ApiHint, ApiProblem, AppError};
use crate::domain::Actor;
use crate::http::{AppState, Peer};

fn too_large() -> Problem {
    Problem::says(
        StatusCode::PAYLOAD_TOO_LARGE,
        "Payload Too Large",
        ApiProblem::BodyTooLarge,
    )
    .hint(ApiHint::MaxBodyBytes)
}

/// Reads a request body of at most `limit` bytes. A larger body is still read (and
/// thrown away) up to a bounded amount before the 413 answer: closing a socket that
/// has unread data makes the kernel reset the connection, and the client may then lose
/// the answer and see only "connection reset".
async fn read_body(mut body: axum::body::Body, limit: usize) -> Result<Vec<u8>, Problem> {
    use axum::body::HttpBody;
    let drain_cap = limit.saturating_mul(16).max(1 << 20);
    if body.size_hint().lower() > drain_cap as u64 {
        return Err(too_large());
    }
    let mut buf = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) =
        std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await
    {
        let frame = frame.map_err(|e| {
            Problem::says(
                StatusCode::BAD_REQUEST,
                "Bad Request",
                ApiProblem::BodyUnreadable {
                    error: e.to_string(),
                },
            )
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen = seen.saturating_add(data.len());
        if seen <= limit {
            buf.extend_from_slice(&data);
        } else if seen > drain_cap {
            break;
        }
    }
    if seen > limit {
        return Err(too_large());
    }
    Ok(buf)
}

/// A JSON body: `application/json`, valid UTF-8, well-formed, the right shape.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T>
where
    AppState: FromRef<S>,
{
    type Rejection = Problem;
    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let mime = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if mime != "application/json" {
            return Err(Problem::says(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported Media Type",
                ApiProblem::NotJson {
                    content_type: format!(
                        "{:?}",
                        if ct.is_empty() {
                            "(no content type)"
                        } else {
                            &ct
                        }
                    ),
                },
            ));
        }
        let limit = AppState::from_ref(state).config.max_body_bytes;
        let bytes = read_body(req.into_body(), limit).await?;
        if let Err(e) = std::str::from_utf8(&bytes) {
            return Err(Problem::says(
                StatusCode::BAD_REQUEST,
                "Malformed Body",
                ApiProblem::NotUtf8 {
                    at: e.valid_up_to(),
                },
            ));
        }
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let v = T::deserialize(&mut de)
            .and_then(|v| de.end().map(|()| v))
            .map_err(|e| {
                Problem::says(
                    StatusCode::BAD_REQUEST,
                    "Malformed Body",
                    ApiProblem::BadJson {
                        line: e.line(),
                        column: e.column(),
                        error: e.to_string(),
                    },
                )
            })?;
        Ok(ApiJson(v))
    }
}

/// A numeric identifier in the path; anything else is a missing object.
pub struct Id(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = Problem;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| Problem::from(AppError::NotFound))?;
        raw.parse()
            .map(Id)
            .map_err(|_| Problem::from(AppError::NotFound))
    }
}

/// The authenticated caller (`Authorization: Bearer <token>`).
pub struct ApiActor(pub Actor);

impl FromRequestParts<AppState> for ApiActor {
    type Rejection = Problem;
    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Problem> {
        let Peer(ip) = Peer::from_request_parts(parts, s)
            .await
            .unwrap_or(Peer([0, 0, 0, 0].into()));
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| {
                Problem::says(
                    StatusCode::UNAUTHORIZED,
                    "Unauthorized",
                    ApiProblem::NoBearer,
                )
                .hint(ApiHint::SendBearer)
            })?;
        match s
            .app
            .accounts()
            .bearer_actor(token, &ip.to_string(), s.now_ms())
            .await
        {
            Ok(Some(a)) => {
                // The bearer's stored language, for the problems of this request.
                if let (Some(slot), Some(l)) = (
                    parts.extensions.get::<super::problem::BearerLocale>(),
                    &a.locale,
                ) && let Ok(mut slot) = slot.0.lock()
                {
                    *slot = Some(l.clone());
                }
                Ok(ApiActor(a))
            }
            Ok(None) => Err(Problem::says(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                ApiProblem::UnknownToken,
            )
            .hint(ApiHint::SignInAgain)),
            Err(e) => Err(e.into()),
        }
    }
}

/// `v` as JSON with `201 Created`.
pub fn created<T: serde::Serialize>(v: T) -> axum::response::Response {
    use axum::response::IntoResponse;
    (StatusCode::CREATED, axum::Json(v)).into_response()
}

/// Items per page of a list when the caller gives no `limit`.
pub const DEFAULT_PAGE: i64 = 25;

/// A page of a list, newest first.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// How many items (at most 500).
    pub limit: Option<i64>,
    /// An id: the page before it (the next page is the one before the last id of this one).
    pub before: Option<i64>,
}

/// A query string of the right shape; anything else is a malformed request (400).
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Problem;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| ApiQuery(v))
            .map_err(|e| {
                Problem::says(
                    StatusCode::BAD_REQUEST,
                    "Malformed Query",
                    ApiProblem::BadQuery {
                        error: e.body_text(),
                    },
                )
            })
    }
}
