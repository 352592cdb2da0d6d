//! The control panel: server-rendered HTML in Japanese and English (the user's setting,
//! else the browser's language). Sessions live in HttpOnly SameSite=Strict cookies;
//! every form carries a CSRF token (the session's, or before sign-in a double-submit
//! cookie).

use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::{AppState, Peer, cookie, now_ms, set_cookie, status_of};
use crate::app::{AppError, SignIn};
use crate::auth;
use crate::domain::{Actor, InstructionKind, InstructionState, Role};

const SESSION: &str = "mamori_session";
const PENDING: &str = "mamori_pending";
const PRE: &str = "mamori_pre";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard))
        .route("/login", get(login_page).post(login))
        .route("/login/totp", get(totp_page).post(totp))
        .route("/logout", post(logout))
        .route("/setup/{token}", get(setup_page).post(setup))
        .route("/users", get(users_page).post(create_user))
        .route("/users/{id}/deactivate", post(deactivate_user))
        .route("/customers", get(customers_page).post(create_customer))
        .route("/customers/{id}", get(customer_page))
        .route(
            "/instructions",
            get(instructions_page).post(submit_instruction),
        )
        .route("/instructions/{id}", get(instruction_page))
        .route("/instructions/{id}/{action}", post(act_instruction))
        .route("/audit", get(audit_page))
        .route("/settings/locale", post(set_locale))
        .route("/static/panel.css", get(css))
        .route("/static/htmx.min.js", get(htmx))
        .route("/static/panel.js", get(panel_js))
        .route("/partials/instructions", get(instructions_partial))
        .merge(gateways::routes())
        .merge(revisions::routes())
        .merge(fleet::routes())
        .merge(tokens::routes())
}

#[path = "fleet_panel.rs"]
pub(super) mod fleet;
#[path = "gateways_panel.rs"]
mod gateways;
#[path = "revisions_panel.rs"]
mod revisions;
#[path = "tokens_panel.rs"]
mod tokens;

// ---- language -----------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ja,
    En,
}

fn browser_lang(headers: &HeaderMap) -> Lang {
    let al = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    for part in al.split(',') {
        let tag = part
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if tag.starts_with("ja") {
            return Lang::Ja;
        }
        if tag.starts_with("en") {
            return Lang::En;
        }
    }
    Lang::Ja
}

fn lang_of(actor: Option<&Actor>, headers: &HeaderMap) -> Lang {
    match actor.and_then(|a| a.locale.as_deref()) {
        Some("en") => Lang::En,
        Some("ja") => Lang::Ja,
        _ => browser_lang(headers),
    }
}

/// The panel's words, in both languages.
fn t(l: Lang, key: &str) -> &'static str {
    let (ja, en) = match key {
        "title" => ("Mamori 管理パネル", "Mamori control panel"),
        "dashboard" => ("ダッシュボード", "Dashboard"),
        "users" => ("ユーザー", "Users"),
        "customers" => ("顧客", "Customers"),
        "instructions" => ("指示", "Instructions"),
        "audit" => ("監査ログ", "Audit trail"),
        "signin" => ("サインイン", "Sign in"),
        "signout" => ("サインアウト", "Sign out"),
        "email" => ("メールアドレス", "E-mail address"),
        "password" => ("パスワード", "Password"),
        "totp" => (
            "確認コード（認証アプリの6桁）",
            "Verification code (6 digits from your authenticator app)",
        ),
        "next" => ("次へ", "Next"),
        "setup" => ("アカウントの設定", "Set up your account"),
        "bootstrap" => ("最初の管理者を作成", "Create the first administrator"),
        "display_name" => ("氏名", "Name"),
        "totp_secret" => (
            "認証アプリでこの QR コードを読み取るか、秘密鍵を入力してください",
            "Scan this QR code with your authenticator app, or enter the secret",
        ),
        "create" => ("作成", "Create"),
        "submit" => ("送信", "Submit"),
        "role" => ("役割", "Role"),
        "customer" => ("顧客", "Customer"),
        "customer_id" => ("顧客ID", "Customer ID"),
        "name" => ("名称", "Name"),
        "officer" => ("セキュリティ責任者", "Security officer"),
        "new_customer" => ("新しい顧客と責任者", "New customer and its officer"),
        "new_user" => ("新しいユーザー", "New user"),
        "setup_link" => (
            "この一回限りのリンクを本人に渡してください",
            "Give this one-time link to its owner",
        ),
        "subject" => ("件名", "Subject"),
        "body" => ("内容", "Details"),
        "kind" => ("種類", "Kind"),
        "state" => ("状態", "State"),
        "new_instruction" => ("新しい指示を送信", "Submit a new instruction"),
        "accept" => ("受付", "Accept"),
        "reject" => ("却下", "Reject"),
        "done" => ("完了にする", "Mark done"),
        "reason" => ("理由", "Reason"),
        "comment" => ("コメント", "Comment"),
        "comments" => ("コメント", "Comments"),
        "when" => ("日時", "When"),
        "who" => ("誰が", "Who"),
        "from" => ("接続元", "From"),
        "action" => ("操作", "Action"),
        "object" => ("対象", "Object"),
        "outcome" => ("結果", "Outcome"),
        "detail" => ("詳細", "Detail"),
        "sites" => ("拠点", "Sites"),
        "units" => ("貸与機器", "Equipment"),
        "serial" => ("シリアル番号", "Serial number"),
        "model" => ("型番", "Model"),
        "language" => ("表示言語", "Language"),
        "browser" => ("ブラウザに合わせる", "Same as browser"),
        "save" => ("保存", "Save"),
        "deactivate" => ("無効にする", "Deactivate"),
        "active" => ("有効", "Active"),
        "none" => ("ありません", "None"),
        "ready" => (
            "アカウントの準備ができました。サインインしてください。",
            "Your account is ready. Please sign in.",
        ),
        "error" => ("エラー", "Error"),
        "notfound" => ("見つかりません", "Not found"),
        "forbidden" => ("この操作は許可されていません", "This action is not allowed"),
        "csrf" => (
            "フォームの有効期限が切れたか、不正な送信です。ページを再読み込みしてください。",
            "The form has expired or was not sent from this panel. Reload the page and try again.",
        ),
        "back" => ("戻る", "Back"),
        "welcome" => ("ようこそ", "Welcome"),
        "policy_change" => ("ポリシー変更", "Policy change"),
        "maintenance_request" => ("保守依頼", "Maintenance request"),
        "question" => ("質問", "Question"),
        "other" => ("その他", "Other"),
        "submitted" => ("受信済み", "Submitted"),
        "accepted" => ("受付済み", "Accepted"),
        "rejected" => ("却下", "Rejected"),
        "admin" => ("管理者", "Administrator"),
        "operator" => ("オペレーター", "Operator"),
        "coordinator" => ("セキュリティコーディネーター", "Security coordinator"),
        "back_office" => ("バックオフィス", "Back office"),
        "staff" => ("閲覧スタッフ", "Staff (read-only)"),
        _ => ("?", "?"),
    };
    match l {
        Lang::Ja => ja,
        Lang::En => en,
    }
}

/// Japanese dates in Japanese (2026年4月1日 09:30), ISO-like in English; both in JST.
fn date(l: Lang, ms: i64) -> String {
    let Ok(ts) = jiff::Timestamp::from_millisecond(ms) else {
        return ms.to_string();
    };
    let z = jiff::tz::offset(9).to_datetime(ts);
    match l {
        Lang::Ja => format!(
            "{}年{}月{}日 {:02}:{:02}",
            z.year(),
            z.month(),
            z.day(),
            z.hour(),
            z.minute()
        ),
        Lang::En => format!(
            "{}-{:02}-{:02} {:02}:{:02} JST",
            z.year(),
            z.month(),
            z.day(),
            z.hour(),
            z.minute()
        ),
    }
}

pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn page(l: Lang, user: Option<&PanelUser>, title: &str, body: &str) -> Html<String> {
    let lang = if l == Lang::Ja { "ja" } else { "en" };
    let nav = match user {
        Some(u) => {
            let mut n = format!("<a href=\"/\">{}</a>", t(l, "dashboard"));
            if u.actor.role.handles_instructions() || !u.actor.role.is_provider() {
                n.push_str(&format!(
                    " <a href=\"/instructions\">{}</a>",
                    t(l, "instructions")
                ));
            }
            n.push_str(&format!(
                " <a href=\"/customers\">{}</a>",
                t(l, "customers")
            ));
            n.push_str(&format!(
                " <a href=\"/equipment\">{}</a>",
                if l == Lang::Ja {
                    "機器台帳"
                } else {
                    "Equipment"
                }
            ));
            n.push_str(if l == Lang::Ja {
                " <a href=\"/fleet\">稼働状況</a>"
            } else {
                " <a href=\"/fleet\">Fleet</a>"
            });
            if matches!(u.actor.role, Role::Admin | Role::Officer) {
                n.push_str(&format!(" <a href=\"/users\">{}</a>", t(l, "users")));
            }
            n.push_str(&format!(" <a href=\"/audit\">{}</a>", t(l, "audit")));
            n.push_str(if l == Lang::Ja {
                " <a href=\"/tokens\">APIトークン</a>"
            } else {
                " <a href=\"/tokens\">API tokens</a>"
            });
            n.push_str(if l == Lang::Ja {
                " <a href=\"/backoffice\">契約と請求</a>"
            } else {
                " <a href=\"/backoffice\">Contracts and invoices</a>"
            });
            n.push_str(&format!(
                " <span class=\"me\">{} ({})</span> <form method=\"post\" action=\"/logout\" class=\"inline\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><button id=\"signout\">{}</button></form>",
                esc(&u.actor.label),
                t(l, u.actor.role.as_str()),
                esc(&u.csrf),
                t(l, "signout")
            ));
            n
        }
        None => String::new(),
    };
    Html(format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{} — {}</title><link rel=\"stylesheet\" href=\"/static/panel.css\"><meta name=\"htmx-config\" content=\"{HTMX_CONFIG}\"><script src=\"/static/htmx.min.js\" defer></script><script src=\"/static/panel.js\" defer></script></head><body><header><strong>Mamori</strong> <nav>{nav}</nav></header><main><h1>{}</h1>{body}</main></body></html>",
        esc(title),
        t(l, "title"),
        esc(title)
    ))
}

/// htmx's settings (the `htmx-config` meta tag, HTML-escaped JSON) for the
/// Content-Security-Policy: no `<style>` element of its own, no `eval`, no inline
/// scripts from swapped content.
const HTMX_CONFIG: &str = "{&quot;includeIndicatorStyles&quot;:false,&quot;allowEval&quot;:false,&quot;allowScriptTags&quot;:false}";

/// The panel's own script (`static/panel.js`): what would otherwise be inline script,
/// which the Content-Security-Policy forbids.
async fn panel_js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("../../static/panel.js"),
    )
        .into_response()
}

/// htmx 2.0.11 (0BSD, `static/htmx-LICENSE.txt`), vendored and served by the center.
async fn htmx() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript"),
            (header::CACHE_CONTROL, "max-age=86400"),
        ],
        include_str!("../../static/htmx-2.0.11.min.js"),
    )
        .into_response()
}

/// The dashboard's instruction table, refreshed in place by htmx.
async fn instructions_partial(State(s): State<AppState>, u: PanelUser) -> Response {
    match s.app.instructions(&u.actor, 10).await {
        Ok(list) => Html(instruction_table(u.lang, &list)).into_response(),
        Err(e) => error_page(u.lang, Some(&u), e),
    }
}

async fn css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css"), (header::CACHE_CONTROL, "max-age=3600")],
        "body{font-family:system-ui,'Hiragino Sans','Noto Sans CJK JP',sans-serif;margin:0;color:#1d2430}header{background:#123;color:#fff;padding:.6em 1em}header a{color:#cde;margin-right:.8em}main{padding:1em 2em;max-width:70em}table{border-collapse:collapse}td,th{border-bottom:1px solid #ccd;padding:.3em .6em;text-align:left;vertical-align:top}label{display:block;margin:.5em 0}input,select,textarea{font:inherit}textarea{width:100%;min-height:6em}.inline{display:inline}.err{color:#a00}.me{margin-left:1em}code{background:#eef;padding:.1em .3em}",
    )
        .into_response()
}

// ---- who is asking ----------------------------------------------------------------------

pub struct PanelUser {
    actor: Actor,
    csrf: String,
    token: String,
    lang: Lang,
}

impl FromRequestParts<AppState> for PanelUser {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Response> {
        let Peer(ip) = Peer::from_request_parts(parts, s)
            .await
            .unwrap_or(Peer([0, 0, 0, 0].into()));
        let Some(token) = cookie(&parts.headers, SESSION) else {
            return Err(Redirect::to("/login").into_response());
        };
        match s.app.session_actor(&token, &ip.to_string(), now_ms()).await {
            Ok(Some((actor, session))) => {
                let lang = lang_of(Some(&actor), &parts.headers);
                Ok(PanelUser {
                    actor,
                    csrf: session.csrf,
                    token,
                    lang,
                })
            }
            Ok(None) => Err(Redirect::to("/login").into_response()),
            Err(e) => Err(error_page(browser_lang(&parts.headers), None, e)),
        }
    }
}

/// The message catalog's language of a panel language.
fn msg_lang(l: Lang) -> crate::app::Lang {
    match l {
        Lang::Ja => crate::app::Lang::Ja,
        Lang::En => crate::app::Lang::En,
    }
}

fn error_page(l: Lang, u: Option<&PanelUser>, e: AppError) -> Response {
    let status = status_of(&e);
    let (title, detail) = match &e {
        AppError::NotFound => (t(l, "notfound"), String::new()),
        AppError::Forbidden(_) => (t(l, "forbidden"), e.text(msg_lang(l))),
        AppError::Store(_) | AppError::Auth(_) => {
            tracing::error!(error = %e, "panel request failed");
            (t(l, "error"), e.text(msg_lang(l)))
        }
        other => (t(l, "error"), other.text(msg_lang(l))),
    };
    (
        status,
        page(
            l,
            u,
            title,
            &format!(
                "<p class=\"err\" id=\"error\">{}</p><p><a href=\"/\" data-back>{}</a></p>",
                esc(&detail),
                t(l, "back")
            ),
        ),
    )
        .into_response()
}

/// A page that says only what went wrong (`html`, already escaped), with `status`.
fn error_message(l: Lang, status: StatusCode, html: &str) -> Response {
    (
        status,
        page(
            l,
            None,
            t(l, "error"),
            &format!("<p class=\"err\" id=\"error\">{html}</p>"),
        ),
    )
        .into_response()
}

fn csrf_error(l: Lang) -> Response {
    error_message(l, StatusCode::FORBIDDEN, t(l, "csrf"))
}

fn check_csrf(u: &PanelUser, given: &Option<String>) -> Result<(), Box<Response>> {
    match given {
        Some(g) if auth::constant_time_eq(g.as_bytes(), u.csrf.as_bytes()) => Ok(()),
        _ => Err(Box::new(csrf_error(u.lang))),
    }
}

/// The flow every signed-in form shares: the CSRF check, the use case, then `done` with
/// its result, or the error page in the reader's language. The use case does not run
/// when the check fails.
async fn submit_then<T>(
    u: &PanelUser,
    csrf: &Option<String>,
    action: impl std::future::Future<Output = Result<T, AppError>>,
    done: impl FnOnce(T) -> Response,
) -> Response {
    if let Err(r) = check_csrf(u, csrf) {
        return *r;
    }
    match action.await {
        Ok(v) => done(v),
        Err(e) => error_page(u.lang, Some(u), e),
    }
}

/// [`submit_then`] for the forms that answer with a redirect to `to(result)`.
async fn submit<T>(
    u: &PanelUser,
    csrf: &Option<String>,
    action: impl std::future::Future<Output = Result<T, AppError>>,
    to: impl FnOnce(T) -> String,
) -> Response {
    submit_then(u, csrf, action, |v| Redirect::to(&to(v)).into_response()).await
}

/// A path segment that must be a number; a malformed one is a page that does not exist.
fn id_of<T: std::str::FromStr>(segment: &str) -> Result<T, AppError> {
    segment.parse().map_err(|_| AppError::NotFound)
}

/// Before sign-in: the form's token must equal the `mamori_pre` cookie.
fn check_pre_csrf(headers: &HeaderMap, given: &Option<String>) -> Result<(), Box<Response>> {
    match (cookie(headers, PRE), given) {
        (Some(c), Some(g))
            if !c.is_empty() && auth::constant_time_eq(c.as_bytes(), g.as_bytes()) =>
        {
            Ok(())
        }
        _ => Err(Box::new(csrf_error(browser_lang(headers)))),
    }
}

fn pre_csrf(s: &AppState, headers: &HeaderMap) -> (String, Option<axum::http::HeaderValue>) {
    match cookie(headers, PRE).filter(|c| c.len() >= 20) {
        Some(c) => (c, None),
        None => {
            let c = auth::new_token().unwrap_or_default();
            let h = set_cookie(s, PRE, &c, None);
            (c, Some(h))
        }
    }
}

fn with_cookie(resp: impl IntoResponse, c: Option<axum::http::HeaderValue>) -> Response {
    let mut r = resp.into_response();
    if let Some(c) = c {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    r
}

/// A form body: `application/x-www-form-urlencoded`, every field valid UTF-8 once
/// percent-decoded (never silently replaced), the fields the handler expects.
pub struct Form<T>(pub T);

/// Whether every key and value of a URL-encoded body decodes to valid UTF-8; the first
/// bad field's position otherwise.
fn form_utf8_error(body: &[u8]) -> Option<usize> {
    for (i, part) in body.split(|&b| b == b'&').enumerate() {
        for piece in part.split(|&b| b == b'=') {
            let mut out = Vec::with_capacity(piece.len());
            let mut j = 0;
            while j < piece.len() {
                match piece[j] {
                    b'%' if j + 2 < piece.len() => {
                        let hex = std::str::from_utf8(&piece[j + 1..j + 3]).ok();
                        match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                            Some(b) => out.push(b),
                            None => return Some(i + 1),
                        }
                        j += 3;
                    }
                    b'%' => return Some(i + 1),
                    b'+' => {
                        out.push(b' ');
                        j += 1;
                    }
                    b => {
                        out.push(b);
                        j += 1;
                    }
                }
            }
            if std::str::from_utf8(&out).is_err() {
                return Some(i + 1);
            }
        }
    }
    None
}

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequest<S> for Form<T> {
    type Rejection = Response;
    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let l = browser_lang(req.headers());
        let bad = |status: StatusCode, ja: &str, en: String| {
            error_message(l, status, &esc(if l == Lang::Ja { ja } else { &en }))
        };
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if ct.split(';').next().unwrap_or("").trim() != "application/x-www-form-urlencoded" {
            return Err(bad(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "フォームの形式が正しくありません。",
                format!(
                    "the form was sent as {ct:?}; the panel takes application/x-www-form-urlencoded"
                ),
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    bad(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "送信された内容が大きすぎます。",
                        "the form is larger than the center accepts".into(),
                    )
                } else {
                    bad(
                        StatusCode::BAD_REQUEST,
                        "フォームを読み取れませんでした。",
                        format!("cannot read the form: {e}"),
                    )
                }
            })?;
        if let Some(field) = form_utf8_error(&bytes) {
            return Err(bad(
                StatusCode::BAD_REQUEST,
                "フォームに不正な文字が含まれています。",
                format!("field {field} of the form is not valid UTF-8"),
            ));
        }
        serde_urlencoded::from_bytes(&bytes).map(Form).map_err(|e| {
            bad(
                StatusCode::UNPROCESSABLE_ENTITY,
                "フォームの項目が不足しているか、正しくありません。",
                format!("the form is incomplete: {e}"),
            )
        })
    }
}

// ---- sign-in -----------------------------------------------------------------------------

fn login_form(l: Lang, csrf: &str, msg: &str) -> String {
    format!(
        "{msg}<form method=\"post\" action=\"/login\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><label>{}<br><input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" required></label><label>{}<br><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label><button id=\"signin\">{}</button></form>",
        esc(csrf),
        t(l, "email"),
        t(l, "password"),
        t(l, "signin")
    )
}

/// A sign-in step's form before it is sent, with the pre-sign-in CSRF cookie.
fn signin_page(
    s: &AppState,
    headers: &HeaderMap,
    form: fn(Lang, &str, &str) -> String,
) -> Response {
    let l = browser_lang(headers);
    let (csrf, c) = pre_csrf(s, headers);
    with_cookie(page(l, None, t(l, "signin"), &form(l, &csrf, "")), c)
}

/// A sign-in step that failed: its form again, what went wrong above it.
fn signin_failed(
    l: Lang,
    e: &AppError,
    form: fn(Lang, &str, &str) -> String,
    csrf: Option<String>,
) -> Response {
    let msg = format!(
        "<p class=\"err\" id=\"error\">{}</p>",
        esc(&e.text(msg_lang(l)))
    );
    let body = form(l, &csrf.unwrap_or_default(), &msg);
    (status_of(e), page(l, None, t(l, "signin"), &body)).into_response()
}

/// The session cookie set when a sign-in completes.
fn session_cookie(s: &AppState, token: &str) -> axum::http::HeaderValue {
    set_cookie(
        s,
        SESSION,
        token,
        Some(s.app.settings.session_ttl_ms / 1000),
    )
}

async fn login_page(State(s): State<AppState>, headers: HeaderMap) -> Response {
    signin_page(&s, &headers, login_form)
}

#[derive(Deserialize)]
struct LoginForm {
    csrf: Option<String>,
    email: String,
    password: String,
}

async fn login(
    State(s): State<AppState>,
    Peer(ip): Peer,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    if let Err(r) = check_pre_csrf(&headers, &f.csrf) {
        return *r;
    }
    let l = browser_lang(&headers);
    let now = now_ms();
    if !s.admit_signin(ip, now) {
        return signin_throttled(l);
    }
    let result = s
        .app
        .sign_in_password(
            &f.email,
            &f.password,
            &ip.to_string(),
            &s.signin_guard(),
            now,
        )
        .await;
    s.settle_signin(ip, now, result.as_ref().map(|_| ()));
    match result {
        Ok(SignIn::NeedTotp { pending_token }) => with_cookie(
            Redirect::to("/login/totp"),
            Some(set_cookie(&s, PENDING, &pending_token, Some(300))),
        ),
        Ok(SignIn::Done { token, .. }) => {
            with_cookie(Redirect::to("/"), Some(session_cookie(&s, &token)))
        }
        Err(e) => signin_failed(l, &e, login_form, f.csrf),
    }
}

/// The answer to a sign-in step from an address that used up its attempts.
fn signin_throttled(l: Lang) -> Response {
    error_message(
        l,
        StatusCode::TOO_MANY_REQUESTS,
        crate::app::Throttled::SigninsFromAddress.text(msg_lang(l)),
    )
}

fn totp_form(l: Lang, csrf: &str, msg: &str) -> String {
    format!(
        "{msg}<form method=\"post\" action=\"/login/totp\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><label>{}<br><input id=\"code\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required></label><button id=\"verify\">{}</button></form>",
        esc(csrf),
        t(l, "totp"),
        t(l, "signin")
    )
}

async fn totp_page(State(s): State<AppState>, headers: HeaderMap) -> Response {
    signin_page(&s, &headers, totp_form)
}

#[derive(Deserialize)]
struct TotpForm {
    csrf: Option<String>,
    code: String,
}

async fn totp(
    State(s): State<AppState>,
    Peer(ip): Peer,
    headers: HeaderMap,
    Form(f): Form<TotpForm>,
) -> Response {
    if let Err(r) = check_pre_csrf(&headers, &f.csrf) {
        return *r;
    }
    let l = browser_lang(&headers);
    let pending = cookie(&headers, PENDING).unwrap_or_default();
    let now = now_ms();
    // The TOTP step is throttled per address like the password step (and per account
    // in the use case).
    if !s.admit_signin(ip, now) {
        return signin_throttled(l);
    }
    let result = s
        .app
        .sign_in_totp(&pending, &f.code, &ip.to_string(), &s.signin_guard(), now)
        .await;
    s.settle_signin(ip, now, result.as_ref().map(|_| ()));
    match result {
        Ok(token) => {
            let mut r = with_cookie(Redirect::to("/"), Some(session_cookie(&s, &token)));
            r.headers_mut()
                .append(header::SET_COOKIE, set_cookie(&s, PENDING, "", Some(0)));
            r
        }
        Err(e) => signin_failed(l, &e, totp_form, f.csrf),
    }
}

#[derive(Deserialize)]
struct CsrfOnly {
    csrf: Option<String>,
}

async fn logout(State(s): State<AppState>, u: PanelUser, Form(f): Form<CsrfOnly>) -> Response {
    let action = s.app.sign_out(&u.actor, &u.token, now_ms());
    submit_then(&u, &f.csrf, action, |()| {
        with_cookie(
            Redirect::to("/login"),
            Some(set_cookie(&s, SESSION, "", Some(0))),
        )
    })
    .await
}

// ---- setup links -----------------------------------------------------------------------

async fn setup_page(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    let l = browser_lang(&headers);
    let (link, user) = match s.app.setup_link(&token, now_ms()).await {
        Ok(v) => v,
        Err(e) => return error_page(l, None, e),
    };
    let (csrf, c) = pre_csrf(&s, &headers);
    let role = user.as_ref().map_or(Role::Admin, |u| u.role);
    let title = if user.is_none() {
        t(l, "bootstrap")
    } else {
        t(l, "setup")
    };
    let email_field = match &user {
        None => format!(
            "<label>{}<br><input id=\"email\" name=\"email\" type=\"email\" required></label>",
            t(l, "email")
        ),
        Some(u) => format!(
            "<p>{}: <strong id=\"account\">{}</strong> ({})</p>",
            t(l, "email"),
            esc(&u.email),
            t(l, role.as_str())
        ),
    };
    let account = user.as_ref().map_or("admin", |u| u.email.as_str());
    let uri = auth::totp_uri(&link.totp_secret, account);
    let body = format!(
        "<form method=\"post\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">{email_field}<label>{}<br><input id=\"display_name\" name=\"display_name\" required></label><label>{} (12+)<br><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" required></label><p>{}:<br><span id=\"totp_qr\">{}</span><br><code id=\"totp_secret\">{}</code><br><small>{}</small></p><label>{}<br><input id=\"code\" name=\"totp_code\" inputmode=\"numeric\" {}></label><button id=\"create\">{}</button></form>",
        esc(&csrf),
        t(l, "display_name"),
        t(l, "password"),
        t(l, "totp_secret"),
        auth::qr_svg(&uri).unwrap_or_default(),
        esc(&link.totp_secret),
        esc(&uri),
        t(l, "totp"),
        if role.totp_required() { "required" } else { "" },
        t(l, "create"),
    );
    super::shows_secret(with_cookie(page(l, None, title, &body), c))
}

#[derive(Deserialize)]
struct SetupForm {
    csrf: Option<String>,
    email: Option<String>,
    display_name: String,
    password: String,
    totp_code: Option<String>,
}

async fn setup(
    State(s): State<AppState>,
    Peer(ip): Peer,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(f): Form<SetupForm>,
) -> Response {
    if let Err(r) = check_pre_csrf(&headers, &f.csrf) {
        return *r;
    }
    let l = browser_lang(&headers);
    match s
        .app
        .complete_setup(
            &token,
            f.email.as_deref(),
            &f.display_name,
            &f.password,
            f.totp_code.as_deref(),
            &ip.to_string(),
            now_ms(),
        )
        .await
    {
        Ok(_) => page(
            l,
            None,
            t(l, "setup"),
            &format!(
                "<p id=\"ready\">{}</p><p><a id=\"to-signin\" href=\"/login\">{}</a></p>",
                t(l, "ready"),
                t(l, "signin")
            ),
        )
        .into_response(),
        Err(e) => error_page(l, None, e),
    }
}

// ---- pages ------------------------------------------------------------------------------------

async fn dashboard(State(s): State<AppState>, u: PanelUser) -> Response {
    let l = u.lang;
    let mut body = format!(
        "<p>{}, {} — {}</p>",
        t(l, "welcome"),
        esc(&u.actor.label),
        t(l, u.actor.role.as_str())
    );
    if let Some(c) = u.actor.customer_id
        && let Ok(cust) = s.app.customer(&u.actor, c).await
    {
        body.push_str(&format!(
            "<p>{}: <strong>{}</strong></p>",
            t(l, "customer"),
            esc(&cust.name)
        ));
    }
    if let Ok(list) = s.app.instructions(&u.actor, 10).await {
        body.push_str(&format!(
            "<h2>{}</h2><div id=\"queue\" hx-get=\"/partials/instructions\" hx-trigger=\"every 30s\" hx-swap=\"innerHTML\">{}</div>",
            t(l, "instructions"),
            instruction_table(l, &list)
        ));
    }
    body.push_str(&format!(
        "<h2>{}</h2><form method=\"post\" action=\"/settings/locale\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><select name=\"locale\"><option value=\"\">{}</option><option value=\"ja\"{}>日本語</option><option value=\"en\"{}>English</option></select> <button>{}</button></form>",
        t(l, "language"),
        esc(&u.csrf),
        t(l, "browser"),
        if u.actor.locale.as_deref() == Some("ja") { " selected" } else { "" },
        if u.actor.locale.as_deref() == Some("en") { " selected" } else { "" },
        t(l, "save")
    ));
    page(l, Some(&u), t(l, "dashboard"), &body).into_response()
}

#[derive(Deserialize)]
struct LocaleForm {
    csrf: Option<String>,
    locale: String,
}

async fn set_locale(
    State(s): State<AppState>,
    u: PanelUser,
    Form(f): Form<LocaleForm>,
) -> Response {
    let action = s.app.set_locale(&u.actor, Some(&f.locale), now_ms());
    submit(&u, &f.csrf, action, |()| "/".into()).await
}

fn role_options(l: Lang, roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| {
            format!(
                "<option value=\"{}\">{}</option>",
                r.as_str(),
                t(l, r.as_str())
            )
        })
        .collect()
}

async fn users_page(State(s): State<AppState>, u: PanelUser) -> Response {
    let l = u.lang;
    let list = match s.app.users(&u.actor).await {
        Ok(v) => v,
        Err(e) => return error_page(l, Some(&u), e),
    };
    let mut body = format!(
        "<table id=\"users\"><tr><th>ID</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr>",
        t(l, "email"),
        t(l, "display_name"),
        t(l, "role"),
        t(l, "customer_id"),
        t(l, "active")
    );
    for x in &list {
        let can = (u.actor.role == Role::Admin
            || (u.actor.role == Role::Officer && x.role == Role::Staff))
            && x.active;
        let btn = if can {
            format!(
                "<form method=\"post\" action=\"/users/{}/deactivate\" class=\"inline\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><button>{}</button></form>",
                x.id,
                esc(&u.csrf),
                t(l, "deactivate")
            )
        } else {
            String::new()
        };
        body.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{btn}</td></tr>",
            x.id,
            esc(&x.email),
            esc(&x.display_name),
            t(l, x.role.as_str()),
            x.customer_id.map(|c| c.to_string()).unwrap_or_default(),
            if x.active { "✓" } else { "—" }
        ));
    }
    body.push_str("</table>");
    let roles: &[Role] = match u.actor.role {
        Role::Admin => &Role::ALL,
        Role::Officer => &[Role::Staff],
        _ => &[],
    };
    if !roles.is_empty() {
        let cust = if u.actor.role == Role::Admin {
            format!(
                "<label>{} ({} / {})<br><input id=\"customer_id\" name=\"customer_id\" inputmode=\"numeric\"></label>",
                t(l, "customer_id"),
                t(l, "officer"),
                t(l, "staff")
            )
        } else {
            String::new()
        };
        body.push_str(&format!(
            "<h2>{}</h2><form method=\"post\" action=\"/users\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><label>{}<br><input id=\"new_email\" name=\"email\" type=\"email\" required></label><label>{}<br><input id=\"new_name\" name=\"display_name\" required></label><label>{}<br><select id=\"new_role\" name=\"role\">{}</select></label>{cust}<button id=\"create_user\">{}</button></form>",
            t(l, "new_user"),
            esc(&u.csrf),
            t(l, "email"),
            t(l, "display_name"),
            t(l, "role"),
            role_options(l, roles),
            t(l, "create")
        ));
    }
    page(l, Some(&u), t(l, "users"), &body).into_response()
}

#[derive(Deserialize)]
struct NewUserForm {
    csrf: Option<String>,
    email: String,
    display_name: String,
    role: String,
    customer_id: Option<String>,
}

/// The answer to a form that created an account: what was created (`what`, already
/// escaped), then the one-time setup link for its owner.
fn created_page(s: &AppState, u: &PanelUser, title: &str, what: &str, token: &str) -> Response {
    let l = u.lang;
    let url = format!("{}/setup/{token}", s.config.effective_public_url());
    let body = format!(
        "{what}<p>{}:</p><p><a id=\"setup_link\" href=\"{}\">{}</a></p>",
        t(l, "setup_link"),
        esc(&url),
        esc(&url)
    );
    super::shows_secret(page(l, Some(u), title, &body))
}

async fn create_user(
    State(s): State<AppState>,
    u: PanelUser,
    Form(f): Form<NewUserForm>,
) -> Response {
    let l = u.lang;
    let action = async {
        let customer_id = match f
            .customer_id
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            None => None,
            Some(c) => Some(c.parse().map_err(|_| {
                AppError::invalid(
                    crate::app::Field::CustomerId,
                    crate::app::Invalid::CustomerNumber,
                )
            })?),
        };
        s.app
            .create_user(
                &u.actor,
                &f.email,
                &f.display_name,
                &f.role,
                customer_id,
                now_ms(),
            )
            .await
    };
    submit_then(&u, &f.csrf, action, |(user, token)| {
        let what = format!("<p>{} ({})</p>", esc(&user.email), t(l, user.role.as_str()));
        created_page(&s, &u, t(l, "new_user"), &what, &token)
    })
    .await
}

async fn deactivate_user(
    State(s): State<AppState>,
    u: PanelUser,
    Path(id): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    let action = async {
        let id = id_of(&id)?;
        s.app.set_user_active(&u.actor, id, false, now_ms()).await
    };
    submit(&u, &f.csrf, action, |_| "/users".into()).await
}

async fn customers_page(State(s): State<AppState>, u: PanelUser) -> Response {
    let l = u.lang;
    let list = match s.app.customers(&u.actor).await {
        Ok(v) => v,
        Err(e) => return error_page(l, Some(&u), e),
    };
    let mut body = format!(
        "<table id=\"customers\"><tr><th>ID</th><th>{}</th><th>{}</th></tr>",
        t(l, "name"),
        t(l, "when")
    );
    for c in &list {
        body.push_str(&format!(
            "<tr><td>{}</td><td><a href=\"/customers/{}\">{}</a></td><td>{}</td></tr>",
            c.id,
            c.id,
            esc(&c.name),
            date(l, c.created_at)
        ));
    }
    body.push_str("</table>");
    if u.actor.role.manages_customers() {
        body.push_str(&format!(
            "<h2>{}</h2><form method=\"post\" action=\"/customers\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><label>{}<br><input id=\"customer_name\" name=\"name\" required></label><label>{} — {}<br><input id=\"officer_email\" name=\"officer_email\" type=\"email\" required></label><label>{} — {}<br><input id=\"officer_name\" name=\"officer_name\" required></label><button id=\"create_customer\">{}</button></form>",
            t(l, "new_customer"),
            esc(&u.csrf),
            t(l, "name"),
            t(l, "officer"),
            t(l, "email"),
            t(l, "officer"),
            t(l, "display_name"),
            t(l, "create")
        ));
    }
    page(l, Some(&u), t(l, "customers"), &body).into_response()
}

#[derive(Deserialize)]
struct NewCustomerForm {
    csrf: Option<String>,
    name: String,
    officer_email: String,
    officer_name: String,
}

async fn create_customer(
    State(s): State<AppState>,
    u: PanelUser,
    Form(f): Form<NewCustomerForm>,
) -> Response {
    let l = u.lang;
    let action = s.app.create_customer(
        &u.actor,
        &f.name,
        &f.officer_email,
        &f.officer_name,
        now_ms(),
    );
    submit_then(&u, &f.csrf, action, |(c, officer, token)| {
        let what = format!(
            "<p id=\"created_customer\" data-id=\"{}\">{} (ID {})</p><p>{}: {}</p>",
            c.id,
            esc(&c.name),
            c.id,
            t(l, "officer"),
            esc(&officer.email)
        );
        created_page(&s, &u, t(l, "new_customer"), &what, &token)
    })
    .await
}

async fn customer_page(
    State(s): State<AppState>,
    u: PanelUser,
    Path(id): Path<String>,
) -> Response {
    let l = u.lang;
    let Ok(id) = id.parse::<i64>() else {
        return error_page(l, Some(&u), AppError::NotFound);
    };
    let c = match s.app.customer(&u.actor, id).await {
        Ok(c) => c,
        Err(e) => return error_page(l, Some(&u), e),
    };
    let sites = s.app.sites(&u.actor).await.unwrap_or_default();
    let filter = crate::gateways::EquipmentFilter {
        customer_id: Some(id),
        ..Default::default()
    };
    let units = s
        .app
        .equipment_list(&u.actor, &filter)
        .await
        .unwrap_or_default();
    let mut body = format!(
        "<p>ID {} — {}</p><h2>{}</h2><ul>",
        c.id,
        date(l, c.created_at),
        t(l, "sites")
    );
    for x in sites.iter().filter(|x| x.customer_id == id) {
        body.push_str(&format!(
            "<li>{} {} <a href=\"/sites/{}/revisions\">{}</a></li>",
            esc(&x.name),
            esc(&x.address),
            x.id,
            if l == Lang::Ja {
                "設定の版"
            } else {
                "Configuration revisions"
            }
        ));
    }
    body.push_str(&format!("</ul><h2>{}</h2><ul>", t(l, "units")));
    for x in &units {
        let (ja, en) = x.placement.state.label();
        body.push_str(&format!(
            "<li><a href=\"/equipment/{}\">{}</a> / {} ({})</li>",
            x.id,
            esc(&x.serial),
            esc(&x.model),
            if l == Lang::Ja { ja } else { en }
        ));
    }
    body.push_str("</ul>");
    page(l, Some(&u), &c.name, &body).into_response()
}

fn instruction_table(l: Lang, list: &[crate::domain::Instruction]) -> String {
    if list.is_empty() {
        return format!("<p id=\"no_instructions\">{}</p>", t(l, "none"));
    }
    let mut out = format!(
        "<table id=\"instructions\"><tr><th>ID</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        t(l, "customer_id"),
        t(l, "subject"),
        t(l, "kind"),
        t(l, "state"),
        t(l, "when")
    );
    for i in list {
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td><a href=\"/instructions/{}\">{}</a></td><td>{}</td><td class=\"state\">{}</td><td>{}</td></tr>",
            i.id,
            i.customer_id,
            i.id,
            esc(&i.subject),
            t(l, i.kind.as_str()),
            t(l, i.state.as_str()),
            date(l, i.created_at)
        ));
    }
    out.push_str("</table>");
    out
}

async fn instructions_page(State(s): State<AppState>, u: PanelUser) -> Response {
    let l = u.lang;
    let list = match s.app.instructions(&u.actor, 200).await {
        Ok(v) => v,
        Err(e) => return error_page(l, Some(&u), e),
    };
    let mut body = instruction_table(l, &list);
    if u.actor.role == Role::Officer {
        let kinds: String = InstructionKind::ALL
            .iter()
            .map(|k| {
                format!(
                    "<option value=\"{}\">{}</option>",
                    k.as_str(),
                    t(l, k.as_str())
                )
            })
            .collect();
        body.push_str(&format!(
            "<h2>{}</h2><form id=\"submit_form\" method=\"post\" action=\"/instructions\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><label>{}<br><input id=\"subject\" name=\"subject\" required maxlength=\"200\"></label><label>{}<br><select id=\"kind\" name=\"kind\">{kinds}</select></label><label>{}<br><textarea id=\"body\" name=\"body\" required></textarea></label><button id=\"submit_instruction\">{}</button></form>",
            t(l, "new_instruction"),
            esc(&u.csrf),
            t(l, "subject"),
            t(l, "kind"),
            t(l, "body"),
            t(l, "submit")
        ));
    }
    page(l, Some(&u), t(l, "instructions"), &body).into_response()
}

#[derive(Deserialize)]
struct NewInstructionForm {
    csrf: Option<String>,
    subject: String,
    body: String,
    kind: String,
}

async fn submit_instruction(
    State(s): State<AppState>,
    u: PanelUser,
    Form(f): Form<NewInstructionForm>,
) -> Response {
    let action = s
        .app
        .submit_instruction(&u.actor, &f.subject, &f.body, &f.kind, now_ms());
    submit(&u, &f.csrf, action, |i| format!("/instructions/{}", i.id)).await
}

async fn instruction_page(
    State(s): State<AppState>,
    u: PanelUser,
    Path(id): Path<String>,
) -> Response {
    let l = u.lang;
    let Ok(id) = id.parse::<i64>() else {
        return error_page(l, Some(&u), AppError::NotFound);
    };
    let (i, comments) = match s.app.instruction(&u.actor, id).await {
        Ok(v) => v,
        Err(e) => return error_page(l, Some(&u), e),
    };
    let mut body = format!(
        "<p>{}: {} — {}: <strong id=\"state\">{}</strong> — {}</p><pre id=\"instruction_body\">{}</pre>",
        t(l, "kind"),
        t(l, i.kind.as_str()),
        t(l, "state"),
        t(l, i.state.as_str()),
        date(l, i.created_at),
        esc(&i.body)
    );
    if let Some(r) = &i.reason {
        body.push_str(&format!("<p>{}: {}</p>", t(l, "reason"), esc(r)));
    }
    body.push_str(&format!(
        "<h2>{}</h2><ul id=\"comments\">",
        t(l, "comments")
    ));
    for c in &comments {
        body.push_str(&format!(
            "<li>{} — {}</li>",
            date(l, c.created_at),
            esc(&c.body)
        ));
    }
    body.push_str("</ul>");
    let csrf = esc(&u.csrf);
    if u.actor.role.handles_instructions() {
        if i.state == InstructionState::Submitted {
            body.push_str(&format!(
                "<form method=\"post\" action=\"/instructions/{id}/accept\" class=\"inline\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><button id=\"accept\">{}</button></form> <form method=\"post\" action=\"/instructions/{id}/reject\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><label>{}<br><input id=\"reason\" name=\"text\"></label><button id=\"reject\">{}</button></form>",
                t(l, "accept"),
                t(l, "reason"),
                t(l, "reject")
            ));
        }
        if i.state == InstructionState::Accepted {
            body.push_str(&format!("<form method=\"post\" action=\"/instructions/{id}/done\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><button id=\"done\">{}</button></form>", t(l, "done")));
        }
    }
    if u.actor.role.handles_instructions() || u.actor.role == Role::Officer {
        body.push_str(&format!(
            "<form method=\"post\" action=\"/instructions/{id}/comment\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><label>{}<br><textarea id=\"comment\" name=\"text\" required></textarea></label><button id=\"add_comment\">{}</button></form>",
            t(l, "comment"),
            t(l, "submit")
        ));
    }
    page(l, Some(&u), &i.subject, &body).into_response()
}

#[derive(Deserialize)]
struct ActForm {
    csrf: Option<String>,
    #[serde(default)]
    text: Option<String>,
}

async fn act_instruction(
    State(s): State<AppState>,
    u: PanelUser,
    Path((id, action)): Path<(String, String)>,
    Form(f): Form<ActForm>,
) -> Response {
    let act = async {
        let id: i64 = id_of(&id)?;
        let now = now_ms();
        let text = f.text.as_deref();
        let state = match action.as_str() {
            "accept" => InstructionState::Accepted,
            "reject" => InstructionState::Rejected,
            "done" => InstructionState::Done,
            "comment" => {
                s.app
                    .comment_instruction(&u.actor, id, text.unwrap_or(""), now)
                    .await?;
                return Ok(id);
            }
            _ => return Err(AppError::NotFound),
        };
        s.app
            .decide_instruction(&u.actor, id, state, text, now)
            .await?;
        Ok(id)
    };
    submit(&u, &f.csrf, act, |id| format!("/instructions/{id}")).await
}

#[derive(Deserialize)]
struct AuditQuery {
    before: Option<i64>,
}

/// An audit entry's action: its summary from the catalog, then its recorded code.
fn audit_action_html(l: crate::app::Lang, code: &str) -> String {
    format!(
        "{} <code>{}</code>",
        esc(&mamori_center_model::messages::audit::summary(code, l)),
        esc(code)
    )
}

async fn audit_page(
    State(s): State<AppState>,
    u: PanelUser,
    axum::extract::Query(q): axum::extract::Query<AuditQuery>,
) -> Response {
    let l = u.lang;
    let list = match s.app.audit_trail(&u.actor, q.before, 100).await {
        Ok(v) => v,
        Err(e) => return error_page(l, Some(&u), e),
    };
    let mut body = format!(
        "<table id=\"audit\"><tr><th>#</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        t(l, "when"),
        t(l, "who"),
        t(l, "from"),
        t(l, "action"),
        t(l, "object"),
        t(l, "outcome"),
        t(l, "detail")
    );
    for e in &list {
        body.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"action\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            e.seq,
            date(l, e.at),
            esc(&e.actor),
            esc(&e.source),
            audit_action_html(msg_lang(l), &e.action),
            esc(&e.object),
            esc(&e.outcome),
            esc(&e.detail)
        ));
    }
    body.push_str("</table>");
    if let Some(last) = list.last().filter(|_| list.len() == 100) {
        body.push_str(&format!(
            "<p><a href=\"/audit?before={}\">→</a></p>",
            last.seq
        ));
    }
    page(l, Some(&u), t(l, "audit"), &body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_follow_each_language() {
        // 2026-04-01T00:30:00Z is 09:30 in Japan.
        let ms = 1_775_003_400_000;
        assert_eq!(date(Lang::Ja, ms), "2026年4月1日 09:30");
        assert_eq!(date(Lang::En, ms), "2026-04-01 09:30 JST");
    }

    #[test]
    fn form_bodies_must_be_utf8() {
        assert_eq!(form_utf8_error(b"a=1&b=%E3%81%82+x"), None);
        assert_eq!(form_utf8_error(b"a=1&b=%FF"), Some(2));
        assert_eq!(form_utf8_error(b"a=%E3%81"), Some(1));
        assert_eq!(form_utf8_error(b"a=%G1"), Some(1));
        assert_eq!(form_utf8_error(b"a=%4"), Some(1));
        assert_eq!(form_utf8_error(b""), None);
    }

    proptest::proptest! {
        #[test]
        fn form_check_never_panics(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let _ = form_utf8_error(&body);
        }
    }

    #[test]
    fn escapes_html() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn browser_language_picks_first_known() {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_LANGUAGE,
            "fr-FR,en-US;q=0.8,ja;q=0.5".parse().unwrap(),
        );
        assert!(browser_lang(&h) == Lang::En);
        h.insert(header::ACCEPT_LANGUAGE, "ja-JP".parse().unwrap());
        assert!(browser_lang(&h) == Lang::Ja);
    }
}
