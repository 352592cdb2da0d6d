//! The panel's API-token page, in Japanese and English: the tokens the reader may see
//! (their own; an administrator's, every one), a form to create one (its secret shown
//! once, on a page that is not cached), and a revoke button per token. Every form
//! carries the session's CSRF token.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use mamori_center_model::ids::CustomerId;
use serde::Deserialize;

use mamori_center_model::messages::Lang;
use mamori_center_model::messages::panel::{Common as C, Tokens as T};
use maud::html;

use super::{
    AppState, CsrfOnly, Form, PanelUser, csrf_field, date, error_page, id_of, page, role_name,
    submit, submit_then,
};
use crate::app::{AppError, Field, Invalid, token_role_allowed};
use crate::domain::{ApiToken, Role};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tokens", get(tokens_page).post(create))
        .route("/tokens/{id}/revoke", post(revoke))
}

fn state(l: Lang, tk: &ApiToken, now: i64) -> &'static str {
    if tk.revoked {
        T::Revoked.text(l)
    } else if tk.expires_at.is_some_and(|e| e <= now) {
        T::Expired.text(l)
    } else {
        T::Active.text(l)
    }
}

async fn tokens_page(State(s): State<AppState>, u: PanelUser) -> Response {
    let l = u.lang;
    let list = match s.app.tokens().list(&u.actor).await {
        Ok(v) => v,
        Err(e) => return error_page(l, Some(&u), e),
    };
    let now = s.now_ms();
    let body = html! {
        p { (T::About.text(l)) }
        @if list.is_empty() {
            p #no_tokens { (C::NoneYet.text(l)) }
        } @else {
            table #tokens {
                tr {
                    th { "ID" } th { (C::Name.text(l)) } th { (C::Role.text(l)) }
                    th { (C::CustomerId.text(l)) } th { (T::Owner.text(l)) } th { (T::Created.text(l)) }
                    th { (T::Expires.text(l)) } th { (T::LastUsed.text(l)) } th { (C::State.text(l)) } th {}
                }
                @for tk in &list {
                    tr id={ "token_" (tk.id) } {
                        td { (tk.id) }
                        td { (tk.name) }
                        td { (role_name(tk.role).text(l)) }
                        td { @if let Some(c) = tk.customer_id { (c) } }
                        td { (tk.owner) }
                        td { (date(l, tk.created_at)) }
                        td {
                            @match tk.expires_at {
                                Some(e) => (date(l, e)),
                                None => (C::Never.text(l)),
                            }
                        }
                        td { @if let Some(e) = tk.last_used_at { (date(l, e)) } }
                        td.state { (state(l, tk, now)) }
                        td {
                            @if !tk.revoked {
                                form method="post" action={ "/tokens/" (tk.id) "/revoke" } class="inline" {
                                    (csrf_field(&u.csrf))
                                    button id={ "revoke_" (tk.id) } { (T::Revoke.text(l)) }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { (T::NewToken.text(l)) }
        form method="post" action="/tokens" {
            (csrf_field(&u.csrf))
            label { (C::Name.text(l)) br; input #token_name name="name" required maxlength="100"; }
            label {
                (C::Role.text(l)) br;
                select #token_role name="role" {
                    @for r in Role::ALL.iter().filter(|r| token_role_allowed(u.actor.role, **r)) {
                        option value=(r.as_str()) { (role_name(*r).text(l)) }
                    }
                }
            }
            @if u.actor.customer_id.is_none() {
                label {
                    (C::CustomerId.text(l)) " (" (T::EveryCustomer.text(l)) ")" br;
                    input #token_customer name="customer_id" inputmode="numeric";
                }
            }
            label {
                (T::ExpiresAfter.text(l)) br;
                select #token_expiry name="expires_in_days" {
                    @for days in ["30", "90", "365"] {
                        option value=(days) selected[days == "90"] { (days) " " (T::Days.text(l)) }
                    }
                    option value="" { (T::UntilRevoked.text(l)) }
                }
            }
            button #create_token { (C::Create.text(l)) }
        }
    };
    page(l, Some(&u), C::ApiTokens.text(l), body).into_response()
}

#[derive(Deserialize)]
struct NewTokenForm {
    csrf: Option<String>,
    name: String,
    role: String,
    customer_id: Option<String>,
    expires_in_days: Option<String>,
}

/// A number of a form field: empty is `None`, anything else must be a number.
fn number(v: Option<&str>, field: Field, why: Invalid) -> Result<Option<i64>, AppError> {
    match v.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| AppError::invalid(field, why)),
    }
}

/// `POST /tokens`: creates a token and shows its secret once (`Cache-Control: no-store`).
async fn create(State(s): State<AppState>, u: PanelUser, Form(f): Form<NewTokenForm>) -> Response {
    let l = u.lang;
    let action = async {
        let customer_id = number(
            f.customer_id.as_deref(),
            Field::CustomerId,
            Invalid::CustomerNumber,
        )?;
        let days = number(
            f.expires_in_days.as_deref(),
            Field::ExpiresInDays,
            Invalid::NotANumberOfDays,
        )?;
        s.app
            .tokens()
            .create(
                &u.actor,
                &f.name,
                &f.role,
                customer_id.map(CustomerId::new),
                days,
                s.now_ms(),
            )
            .await
    };
    submit_then(&u, &f.csrf, action, |(id, token, role, customer_id)| {
        let body = html! {
            p #created_token data-id=(id) {
                (f.name) " (" (role_name(role).text(l))
                @if let Some(c) = customer_id { ", " (C::CustomerId.text(l)) " " (c) }
                ")"
            }
            p { (T::ShownOnce.text(l)) }
            p { code #token_secret { (token) } }
            p { a href="/tokens" { (T::BackToTokens.text(l)) } }
        };
        let mut r = page(l, Some(&u), T::NewToken.text(l), body).into_response();
        r.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
        r
    })
    .await
}

/// `POST /tokens/{id}/revoke`.
async fn revoke(
    State(s): State<AppState>,
    u: PanelUser,
    Path(id): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    let action = async {
        let id = id_of(&id)?;
        s.app.tokens().revoke(&u.actor, id, s.now_ms()).await
    };
    submit(&u, &f.csrf, action, |_| "/tokens".into()).await
}
