//! The control panel: server-rendered HTML in Japanese and English, on maud templates
//! that escape every value by its type (raw HTML only through `PreEscaped`, in the few
//! places `xtask` tidy allows). This module holds the routes, the one layout (with the
//! panel's or the back office's navigation), the one signed-in user extractor with the
//! one language negotiation (`Lang::negotiate`: the user's stored preference, else
//! `Accept-Language`), the one error page, and the CSRF helpers. Sessions live in
//! HttpOnly SameSite=Strict cookies; every form carries a CSRF token (the session's,
//! or before sign-in a double-submit cookie). One file per area holds its pages.

use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use mamori_center_model::messages::Lang;
use mamori_center_model::messages::backoffice::BackOffice as B;
use mamori_center_model::messages::panel::{Common as C, Flash, RoleName};
use maud::{DOCTYPE, Markup, html};

use super::{AppState, Peer, cookie, set_cookie, status_of};
use crate::app::AppError;
use crate::auth;
use crate::domain::{Actor, Role};

mod accounts;
pub(super) mod backoffice;
mod customers;
mod equipment;
pub(super) mod fleet;
mod revisions;
mod tokens;

const SESSION: &str = "mamori_session";
const PENDING: &str = "mamori_pending";
const PRE: &str = "mamori_pre";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/static/panel.css", get(css))
        .route("/static/htmx.min.js", get(htmx))
        .route("/static/panel.js", get(panel_js))
        .merge(accounts::routes())
        .merge(customers::routes())
        .merge(equipment::routes())
        .merge(revisions::routes())
        .merge(fleet::routes())
        .merge(tokens::routes())
        .merge(backoffice::routes())
}

// ---- words and values --------------------------------------------------------------------

/// The language of a request without a signed-in user: the browser's.
fn browser_lang(headers: &HeaderMap) -> Lang {
    let al = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    Lang::negotiate(None, al)
}

/// A role's name in the panel.
fn role_name(r: Role) -> RoleName {
    match r {
        Role::Admin => RoleName::Admin,
        Role::Operator => RoleName::Operator,
        Role::Coordinator => RoleName::Coordinator,
        Role::BackOffice => RoleName::BackOffice,
        Role::Officer => RoleName::Officer,
        Role::Staff => RoleName::Staff,
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

/// The hidden CSRF field of a form.
fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(token); }
}

// ---- the layout ---------------------------------------------------------------------------

/// Which navigation a page shows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Nav {
    /// The panel's, with who is signed in and the sign-out button.
    Panel,
    /// The back office's own: dashboard, contracts and invoices, applications, and the
    /// notices for back-office staff.
    BackOffice,
}

/// Who opens the back office's notices: back-office staff and administrators of the
/// provider (the rule of `App::bo_notices`).
fn may_see_notices(actor: &Actor) -> bool {
    actor.customer_id.is_none() && matches!(actor.role, Role::BackOffice | Role::Admin)
}

/// Every page of the panel and the back office: `title` as the heading, `body` below.
/// Without a user (before sign-in, an error) the navigation shows only what everyone
/// may open.
fn layout(l: Lang, user: Option<&PanelUser>, nav: Nav, title: &str, body: Markup) -> Html<String> {
    layout_at(l, user, nav, user.map(|u| u.path.as_str()), title, body)
}

/// [`layout`] with the navigation marking the page at `here` (none on an error page:
/// an error is nowhere, and looks the same whatever was asked for).
fn layout_at(
    l: Lang,
    user: Option<&PanelUser>,
    nav: Nav,
    here: Option<&str>,
    title: &str,
    body: Markup,
) -> Html<String> {
    let nav = match nav {
        Nav::Panel => panel_nav(l, user, here),
        Nav::BackOffice => html! {
            (nav_link(here, "/", C::Dashboard.text(l)))
            (nav_link(
                here.filter(|p| !p.starts_with("/backoffice/applications") && !p.starts_with("/backoffice/notices")),
                "/backoffice",
                B::ContractsAndInvoices.text(l),
            ))
            (nav_link(here, "/backoffice/applications", B::Applications.text(l)))
            @if user.is_some_and(|u| may_see_notices(&u.actor)) {
                a href="/backoffice/notices" id="nav_notices"
                    aria-current=[here.is_some_and(|p| p.starts_with("/backoffice/notices")).then_some("page")]
                    { (B::Notices.text(l)) }
            }
            @if let Some(u) = user { (signed_in(l, u)) }
        },
    };
    let page = html! {
        (DOCTYPE)
        html lang=(l.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — " (C::Title.text(l)) }
                link rel="stylesheet" href="/static/panel.css";
                meta name="htmx-config" content=(HTMX_CONFIG);
                script src="/static/htmx.min.js" defer {}
                script src="/static/panel.js" defer {}
            }
            body {
                header { strong { "Mamori" } " " nav { (nav) } }
                main {
                    h1 { (title) }
                    @if let Some(f) = user.and_then(|u| u.flash) {
                        p.flash #flash role="status" { (f.text(l)) }
                    }
                    (body)
                }
            }
        }
    };
    Html(page.into_string())
}

/// A link of the navigation, marked `aria-current="page"` where the reader is.
fn nav_link(here: Option<&str>, href: &str, text: &str) -> Markup {
    let here =
        here.is_some_and(|p| p == href || (href != "/" && p.starts_with(&format!("{href}/"))));
    html! { a href=(href) aria-current=[here.then_some("page")] { (text) } }
}

fn panel_nav(l: Lang, user: Option<&PanelUser>, here: Option<&str>) -> Markup {
    let Some(u) = user else {
        return html! {};
    };
    let role = u.actor.role;
    let link = |href: &str, text: &str| nav_link(here, href, text);
    html! {
        (link("/", C::Dashboard.text(l)))
        @if role.handles_instructions() || !role.is_provider() {
            (link("/instructions", C::Instructions.text(l)))
        }
        (link("/customers", C::Customers.text(l)))
        (link("/equipment", C::EquipmentRegister.text(l)))
        (link("/fleet", C::EquipmentStatus.text(l)))
        @if matches!(role, Role::Admin | Role::Officer) {
            (link("/users", C::Users.text(l)))
        }
        (link("/audit", C::AuditTrail.text(l)))
        (link("/tokens", C::ApiTokens.text(l)))
        (link("/backoffice", C::ContractsAndInvoices.text(l)))
        (signed_in(l, u))
    }
}

/// Who is signed in, with the sign-out button.
fn signed_in(l: Lang, u: &PanelUser) -> Markup {
    html! {
        span.who {
            span.me #me { (u.actor.label) " (" (role_name(u.actor.role).text(l)) ")" }
            form method="post" action="/logout" class="inline" {
                (csrf_field(&u.csrf))
                button #signout { (C::SignOut.text(l)) }
            }
        }
    }
}

/// A page of the panel.
fn page(l: Lang, user: Option<&PanelUser>, title: &str, body: Markup) -> Html<String> {
    layout(l, user, Nav::Panel, title, body)
}

/// htmx's settings (the `htmx-config` meta tag, JSON the template escapes) for the
/// Content-Security-Policy: no `<style>` element of its own, no `eval`, no inline
/// scripts from swapped content.
const HTMX_CONFIG: &str =
    r#"{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false}"#;

/// The panel's own script (`static/panel.js`): what would otherwise be inline script,
/// which the Content-Security-Policy forbids.
async fn panel_js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("../../../static/panel.js"),
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
        include_str!("../../../static/htmx-2.0.11.min.js"),
    )
        .into_response()
}

async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("../../../static/panel.css"),
    )
        .into_response()
}

// ---- who is asking ----------------------------------------------------------------------

/// The signed-in user of a panel or back-office page, with the session's CSRF token
/// and the page's language.
pub struct PanelUser {
    actor: Actor,
    csrf: String,
    token: String,
    lang: Lang,
    /// What the form before this page did, from `?done=` (see [`done`]).
    flash: Option<Flash>,
    /// The path of the page (the navigation marks where one is).
    path: String,
}

/// The flash messages a redirect may ask for with `?done=CODE`: only these fixed
/// codes, so the address never carries text of its own onto the page.
const FLASHES: [(&str, Flash); 3] = [
    ("site_created", Flash::SiteCreated),
    ("unit_stocked", Flash::UnitStocked),
    ("unit_moved", Flash::UnitMoved),
];

/// `path` with the flash message `flash` for the page it leads to.
fn done(path: &str, flash: Flash) -> String {
    let code = FLASHES
        .iter()
        .find(|(_, f)| *f == flash)
        .map_or("", |(c, _)| c);
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}done={code}")
}

/// The flash message a request's query asks for.
fn flash_of(query: Option<&str>) -> Option<Flash> {
    let code = query?.split('&').find_map(|kv| kv.strip_prefix("done="))?;
    FLASHES.iter().find(|(c, _)| *c == code).map(|(_, f)| *f)
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
        match s
            .app
            .accounts()
            .session_actor(&token, &ip.to_string(), s.now_ms())
            .await
        {
            Ok(Some((actor, session))) => {
                let al = parts
                    .headers
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok());
                let lang = Lang::negotiate(actor.locale.as_deref(), al);
                Ok(PanelUser {
                    actor,
                    csrf: session.csrf,
                    token,
                    lang,
                    flash: flash_of(parts.uri.query()),
                    path: parts.uri.path().to_string(),
                })
            }
            Ok(None) => Err(Redirect::to("/login").into_response()),
            Err(e) => Err(error_page(browser_lang(&parts.headers), None, e)),
        }
    }
}

// ---- the error page -------------------------------------------------------------------------

/// The one error page: what went wrong in the reader's language, with the status of
/// the error. Store and authentication failures are logged and shown as an internal
/// error only.
fn error_page(l: Lang, u: Option<&PanelUser>, e: AppError) -> Response {
    let status = status_of(&e);
    let (title, detail) = match &e {
        AppError::NotFound => (C::NotFound.text(l), String::new()),
        AppError::Forbidden(_) => (C::NotAllowed.text(l), e.text(l)),
        AppError::Store(_) | AppError::Auth(_) => {
            tracing::error!(error = %e, "panel request failed");
            (C::Error.text(l), e.text(l))
        }
        other => (C::Error.text(l), other.text(l)),
    };
    let body = html! {
        p.err #error { (detail) }
        p { a href="/" data-back { (C::Back.text(l)) } }
    };
    (status, layout_at(l, u, Nav::Panel, None, title, body)).into_response()
}

/// A page that says only what went wrong (`text`), with `status`.
fn error_message(l: Lang, status: StatusCode, text: &str) -> Response {
    let body = html! { p.err #error { (text) } };
    (status, page(l, None, C::Error.text(l), body)).into_response()
}

// ---- CSRF and forms --------------------------------------------------------------------------

fn csrf_error(l: Lang) -> Response {
    error_message(l, StatusCode::FORBIDDEN, C::FormExpired.text(l))
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

/// What a form sent back when a use case refused it: the values as typed (kept, also
/// when too long) and the refusal beside the field it is about.
#[derive(Default)]
pub(super) struct Entered {
    values: Vec<(&'static str, String)>,
    /// The input's name and the message.
    error: Option<(&'static str, String)>,
}

impl Entered {
    /// The value typed into `name`, or nothing.
    pub(super) fn value(&self, name: &str) -> &str {
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// The refusal beside the input `name` (`id="<name>_error"`), if it is about it.
    pub(super) fn error(&self, name: &str) -> Markup {
        match &self.error {
            Some((n, text)) if *n == name => html! {
                span.field_error id={ (name) "_error" } role="alert" { (text) }
            },
            _ => html! {},
        }
    }

    /// Whether the input `name` has the refusal (for `aria-invalid`).
    pub(super) fn invalid(&self, name: &str) -> bool {
        self.error.as_ref().is_some_and(|(n, _)| *n == name)
    }
}

/// A refused form's [`Entered`]: `fields` are (input name, the use case's field code,
/// the value typed). Only a refusal of one of these fields goes beside it; any other
/// error is for the error page (`Err`).
pub(super) fn refused(
    l: Lang,
    e: AppError,
    fields: &[(&'static str, &str, &str)],
) -> Result<Entered, AppError> {
    let at = match &e {
        AppError::Invalid { field, .. } => fields
            .iter()
            .find(|(_, code, _)| *code == field.code())
            .map(|(name, _, _)| *name),
        _ => None,
    };
    let Some(name) = at else {
        return Err(e);
    };
    Ok(Entered {
        values: fields.iter().map(|(n, _, v)| (*n, v.to_string())).collect(),
        error: Some((
            name,
            match &e {
                AppError::Invalid { why, .. } => why.text(l),
                _ => e.text(l),
            },
        )),
    })
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

#[derive(serde::Deserialize)]
struct CsrfOnly {
    csrf: Option<String>,
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
        // The catalog's text; in English with the technical detail after it.
        let bad = |status: StatusCode, what: C, detail: String| {
            let text = match l {
                Lang::Ja => what.text(l).to_string(),
                Lang::En => format!("{} ({detail})", what.text(l)),
            };
            error_message(l, status, &text)
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
                C::FormNotUrlEncoded,
                format!("it was sent as {ct:?}"),
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    bad(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        C::FormTooLarge,
                        e.to_string(),
                    )
                } else {
                    bad(StatusCode::BAD_REQUEST, C::FormUnreadable, e.to_string())
                }
            })?;
        if let Some(field) = form_utf8_error(&bytes) {
            return Err(bad(
                StatusCode::BAD_REQUEST,
                C::FormNotUtf8,
                format!("field {field} of the form is not valid UTF-8"),
            ));
        }
        serde_urlencoded::from_bytes(&bytes).map(Form).map_err(|e| {
            bad(
                StatusCode::UNPROCESSABLE_ENTITY,
                C::FormIncomplete,
                e.to_string(),
            )
        })
    }
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
    fn templates_escape_what_they_show() {
        let shown = html! { p title=("\"x'") { ("<a href=\"x\">&") } }.into_string();
        assert_eq!(
            shown,
            "<p title=\"&quot;x'\">&lt;a href=&quot;x&quot;&gt;&amp;</p>"
        );
    }

    #[test]
    fn the_browser_language_is_negotiated_by_quality() {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_LANGUAGE,
            "fr-FR,en-US;q=0.8,ja;q=0.5".parse().unwrap(),
        );
        assert_eq!(browser_lang(&h), Lang::En);
        h.insert(header::ACCEPT_LANGUAGE, "en;q=0.5, ja".parse().unwrap());
        assert_eq!(browser_lang(&h), Lang::Ja);
    }
}
