//! The panel's API-token page, in Japanese and English: the tokens the reader may see
//! (their own; an administrator's, every one), a form to create one (its secret shown
//! once, on a page that is not cached), and a revoke button per token. Every form
//! carries the session's CSRF token.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::{
    AppState, Form, Lang, PanelUser, date, error_page, esc, id_of, now_ms, page, submit,
    submit_then, t,
};
use crate::app::{AppError, Field, Invalid, token_role_allowed};
use crate::domain::{ApiToken, Role};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tokens", get(tokens_page).post(create))
        .route("/tokens/{id}/revoke", post(revoke))
}

fn w(l: Lang, ja: &'static str, en: &'static str) -> &'static str {
    match l {
        Lang::Ja => ja,
        Lang::En => en,
    }
}

fn state(l: Lang, tk: &ApiToken, now: i64) -> &'static str {
    if tk.revoked {
        w(l, "取り消し済み", "Revoked")
    } else if tk.expires_at.is_some_and(|e| e <= now) {
        w(l, "期限切れ", "Expired")
    } else {
        w(l, "有効", "Active")
    }
}

async fn tokens_page(State(s): State<AppState>, u: PanelUser) -> Response {
    let l = u.lang;
    let list = match s.app.tokens(&u.actor).await {
        Ok(v) => v,
        Err(e) => return error_page(l, Some(&u), e),
    };
    let now = now_ms();
    let mut body = format!(
        "<p>{}</p>",
        w(
            l,
            "API トークンで /api/v1 を呼び出せます（Authorization: Bearer）。トークンは作成した人の現在の役割を超えて使えません。役割の変更や無効化で、その人のトークンはすべて取り消されます。",
            "An API token calls /api/v1 (Authorization: Bearer). A token never acts with more than its owner's current role allows; a role change or deactivation revokes all of the owner's tokens.",
        )
    );
    if list.is_empty() {
        body.push_str(&format!("<p id=\"no_tokens\">{}</p>", t(l, "none")));
    } else {
        body.push_str(&format!(
            "<table id=\"tokens\"><tr><th>ID</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr>",
            t(l, "name"),
            t(l, "role"),
            t(l, "customer_id"),
            w(l, "所有者", "Owner"),
            w(l, "作成", "Created"),
            w(l, "有効期限", "Expires"),
            w(l, "最終使用", "Last used"),
            t(l, "state"),
        ));
        for tk in &list {
            let revoke = if tk.revoked {
                String::new()
            } else {
                format!(
                    "<form method=\"post\" action=\"/tokens/{}/revoke\" class=\"inline\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><button id=\"revoke_{}\">{}</button></form>",
                    tk.id,
                    esc(&u.csrf),
                    tk.id,
                    w(l, "取り消す", "Revoke")
                )
            };
            body.push_str(&format!(
                "<tr id=\"token_{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"state\">{}</td><td>{revoke}</td></tr>",
                tk.id,
                tk.id,
                esc(&tk.name),
                t(l, tk.role.as_str()),
                tk.customer_id.map(|c| c.to_string()).unwrap_or_default(),
                esc(&tk.owner),
                date(l, tk.created_at),
                tk.expires_at
                    .map_or_else(|| w(l, "なし", "Never").to_string(), |e| date(l, e)),
                tk.last_used_at.map(|e| date(l, e)).unwrap_or_default(),
                state(l, tk, now),
            ));
        }
        body.push_str("</table>");
    }
    let roles: String = Role::ALL
        .iter()
        .filter(|r| token_role_allowed(u.actor.role, **r))
        .map(|r| {
            format!(
                "<option value=\"{}\">{}</option>",
                r.as_str(),
                t(l, r.as_str())
            )
        })
        .collect();
    let customer = if u.actor.customer_id.is_none() {
        format!(
            "<label>{} ({})<br><input id=\"token_customer\" name=\"customer_id\" inputmode=\"numeric\"></label>",
            t(l, "customer_id"),
            w(l, "空欄: すべての顧客", "empty: every customer")
        )
    } else {
        String::new()
    };
    let days = [("30", "30"), ("90", "90"), ("365", "365")]
        .iter()
        .map(|(v, n)| {
            format!(
                "<option value=\"{v}\"{}>{n} {}</option>",
                if *v == "90" { " selected" } else { "" },
                w(l, "日", "days")
            )
        })
        .collect::<String>();
    body.push_str(&format!(
        "<h2>{}</h2><form method=\"post\" action=\"/tokens\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><label>{}<br><input id=\"token_name\" name=\"name\" required maxlength=\"100\"></label><label>{}<br><select id=\"token_role\" name=\"role\">{roles}</select></label>{customer}<label>{}<br><select id=\"token_expiry\" name=\"expires_in_days\">{days}<option value=\"\">{}</option></select></label><button id=\"create_token\">{}</button></form>",
        w(l, "新しいトークン", "New token"),
        esc(&u.csrf),
        t(l, "name"),
        t(l, "role"),
        w(l, "有効期限", "Expires after"),
        w(l, "なし（取り消すまで）", "never (until revoked)"),
        t(l, "create"),
    ));
    page(l, Some(&u), w(l, "API トークン", "API tokens"), &body).into_response()
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
            .create_token(&u.actor, &f.name, &f.role, customer_id, days, now_ms())
            .await
    };
    submit_then(&u, &f.csrf, action, |(id, token, role, customer_id)| {
        let body = format!(
            "<p id=\"created_token\" data-id=\"{id}\">{} ({}{})</p><p>{}</p><p><code id=\"token_secret\">{}</code></p><p><a href=\"/tokens\">{}</a></p>",
            esc(&f.name),
            t(l, role.as_str()),
            customer_id
                .map(|c| format!(", {} {c}", t(l, "customer_id")))
                .unwrap_or_default(),
            w(
                l,
                "このトークンは一度だけ表示されます。今すぐ控えてください。センターにはハッシュしか残りません。",
                "This token is shown once: copy it now. The center keeps only its hash.",
            ),
            esc(&token),
            w(l, "トークンの一覧へ", "Back to the tokens"),
        );
        let mut r = page(l, Some(&u), w(l, "新しいトークン", "New token"), &body).into_response();
        r.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
        r
    })
    .await
}

#[derive(Deserialize)]
struct CsrfOnly {
    csrf: Option<String>,
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
        s.app.revoke_token(&u.actor, id, now_ms()).await
    };
    submit(&u, &f.csrf, action, |_| "/tokens".into()).await
}
