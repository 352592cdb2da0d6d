//! Sign-in (password, then TOTP), sign-out, the one-time setup links, the dashboard
//! with the language setting, and the users page.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use mamori_center_model::messages::Lang;
use mamori_center_model::messages::panel::{Accounts as A, Common as C};
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;

use super::{
    AppState, CsrfOnly, Form, PENDING, PanelUser, SESSION, browser_lang, check_pre_csrf,
    csrf_field, error_message, error_page, id_of, page, pre_csrf, role_name, submit, submit_then,
    with_cookie,
};
use crate::app::{AppError, SignIn};
use crate::auth;
use crate::domain::Role;
use crate::http::{Peer, cookie, set_cookie, status_of};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard))
        .route("/login", get(login_page).post(login))
        .route("/login/totp", get(totp_page).post(totp))
        .route("/logout", post(logout))
        .route("/setup/{token}", get(setup_page).post(setup))
        .route("/users", get(users_page).post(create_user))
        .route("/users/{id}/deactivate", post(deactivate_user))
        .route("/settings/locale", post(set_locale))
}

// ---- sign-in -----------------------------------------------------------------------------

/// A sign-in step's form, with what went wrong (if anything) above it.
type SignInForm = fn(Lang, &str) -> Markup;

fn login_form(l: Lang, csrf: &str) -> Markup {
    html! {
        form method="post" action="/login" {
            (csrf_field(csrf))
            label { (A::EmailAddress.text(l)) br; input #email name="email" type="email" autocomplete="username" required; }
            label { (A::Password.text(l)) br; input #password name="password" type="password" autocomplete="current-password" required; }
            button #signin { (C::SignIn.text(l)) }
        }
    }
}

fn totp_form(l: Lang, csrf: &str) -> Markup {
    html! {
        form method="post" action="/login/totp" {
            (csrf_field(csrf))
            label { (A::VerificationCode.text(l)) br; input #code name="code" inputmode="numeric" autocomplete="one-time-code" required; }
            button #verify { (C::SignIn.text(l)) }
        }
    }
}

/// A sign-in step's form before it is sent, with the pre-sign-in CSRF cookie.
fn signin_page(s: &AppState, headers: &HeaderMap, form: SignInForm) -> Response {
    let l = browser_lang(headers);
    let (csrf, c) = pre_csrf(s, headers);
    with_cookie(page(l, None, C::SignIn.text(l), form(l, &csrf)), c)
}

/// A sign-in step that failed: its form again, what went wrong above it.
fn signin_failed(l: Lang, e: &AppError, form: SignInForm, csrf: Option<String>) -> Response {
    let body = html! {
        p.err #error { (e.text(l)) }
        (form(l, &csrf.unwrap_or_default()))
    };
    (status_of(e), page(l, None, C::SignIn.text(l), body)).into_response()
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
    let now = s.now_ms();
    if !s.admit_signin(ip, now) {
        return signin_throttled(l);
    }
    let result = s
        .app
        .accounts()
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
        axum::http::StatusCode::TOO_MANY_REQUESTS,
        A::TooManySignIns.text(l),
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
    let now = s.now_ms();
    // The TOTP step is throttled per address like the password step (and per account
    // in the use case).
    if !s.admit_signin(ip, now) {
        return signin_throttled(l);
    }
    let result = s
        .app
        .accounts()
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

async fn logout(State(s): State<AppState>, u: PanelUser, Form(f): Form<CsrfOnly>) -> Response {
    let action = s.app.accounts().sign_out(&u.actor, &u.token, s.now_ms());
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
    let (link, user) = match s.app.accounts().setup_link(&token, s.now_ms()).await {
        Ok(v) => v,
        Err(e) => return error_page(l, None, e),
    };
    let (csrf, c) = pre_csrf(&s, &headers);
    let role = user.as_ref().map_or(Role::Admin, |u| u.role);
    let title = if user.is_none() {
        A::CreateFirstAdministrator.text(l)
    } else {
        A::SetUpAccount.text(l)
    };
    let account = user.as_ref().map_or("admin", |u| u.email.as_str());
    let uri = auth::totp_uri(&link.totp_secret, account);
    // The QR code is SVG the center draws from the TOTP URI: markup of its own.
    let qr = auth::qr_svg(&uri).unwrap_or_default();
    let body = html! {
        form method="post" {
            (csrf_field(&csrf))
            @match &user {
                None => label { (A::EmailAddress.text(l)) br; input #email name="email" type="email" required; },
                Some(u) => p {
                    (A::EmailAddress.text(l)) ": " strong #account { (u.email) } " (" (role_name(role).text(l)) ")"
                },
            }
            label { (A::PersonName.text(l)) br; input #display_name name="display_name" required; }
            label { (A::Password.text(l)) " (" (A::PasswordLength.text(l)) ")" br; input #password name="password" type="password" autocomplete="new-password" required; }
            p {
                (A::ScanTotpSecret.text(l)) ":" br;
                span #totp_qr { (PreEscaped(qr)) } br;
                code #totp_secret { (link.totp_secret) } br;
                small { (uri) }
            }
            label { (A::VerificationCode.text(l)) br; input #code name="totp_code" inputmode="numeric" required[role.totp_required()]; }
            button #create { (C::Create.text(l)) }
        }
    };
    super::super::shows_secret(with_cookie(page(l, None, title, body), c))
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
        .accounts()
        .complete_setup(
            &token,
            f.email.as_deref(),
            &f.display_name,
            &f.password,
            f.totp_code.as_deref(),
            &ip.to_string(),
            s.now_ms(),
        )
        .await
    {
        Ok(_) => page(
            l,
            None,
            A::SetUpAccount.text(l),
            html! {
                p #ready { (A::AccountReady.text(l)) }
                p { a id="to-signin" href="/login" { (C::SignIn.text(l)) } }
            },
        )
        .into_response(),
        Err(e) => error_page(l, None, e),
    }
}

// ---- the dashboard ------------------------------------------------------------------------

async fn dashboard(State(s): State<AppState>, u: PanelUser) -> Response {
    let l = u.lang;
    let customer = match u.actor.customer_id {
        Some(c) => s.app.customers().get(&u.actor, c).await.ok(),
        None => None,
    };
    let instructions = s.app.instructions().list(&u.actor, 10).await.ok();
    let locale = u.actor.locale.as_deref();
    let body = html! {
        p { (A::Welcome.text(l)) ", " (u.actor.label) " — " (role_name(u.actor.role).text(l)) }
        @if let Some(cust) = &customer {
            p { (C::Customer.text(l)) ": " strong { (cust.name) } }
        }
        @if let Some(list) = &instructions {
            h2 { (C::Instructions.text(l)) }
            div #queue hx-get="/partials/instructions" hx-trigger="every 30s" hx-swap="innerHTML" {
                (super::customers::instruction_table(l, list))
            }
        }
        h2 { (A::Language.text(l)) }
        form method="post" action="/settings/locale" {
            (csrf_field(&u.csrf))
            select name="locale" {
                option value="" { (A::SameAsBrowser.text(l)) }
                option value="ja" selected[locale == Some("ja")] { "日本語" }
                option value="en" selected[locale == Some("en")] { "English" }
            }
            " "
            button { (C::Save.text(l)) }
        }
    };
    page(l, Some(&u), C::Dashboard.text(l), body).into_response()
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
    let action = s
        .app
        .accounts()
        .set_locale(&u.actor, Some(&f.locale), s.now_ms());
    submit(&u, &f.csrf, action, |()| "/".into()).await
}

// ---- users ------------------------------------------------------------------------------------

async fn users_page(State(s): State<AppState>, u: PanelUser) -> Response {
    let l = u.lang;
    let list = match s.app.users().list(&u.actor).await {
        Ok(v) => v,
        Err(e) => return error_page(l, Some(&u), e),
    };
    let roles: &[Role] = match u.actor.role {
        Role::Admin => &Role::ALL,
        Role::Officer => &[Role::Staff],
        _ => &[],
    };
    // The last active administrator cannot go (the users' rule): no button for it.
    let is_admin = |x: &crate::domain::User| x.role == Role::Admin && x.customer_id.is_none();
    let active_admins = list.iter().filter(|x| is_admin(x) && x.active).count();
    let body = html! {
        table #users {
            tr {
                th { "ID" } th { (A::EmailAddress.text(l)) } th { (A::PersonName.text(l)) }
                th { (C::Role.text(l)) } th { (C::CustomerId.text(l)) } th { (A::Active.text(l)) } th {}
            }
            @for x in &list {
                @let can = (u.actor.role == Role::Admin
                    || (u.actor.role == Role::Officer && x.role == Role::Staff))
                    && x.active
                    && !(is_admin(x) && active_admins <= 1);
                tr {
                    td { (x.id) }
                    td { (x.email) }
                    td { (x.display_name) }
                    td { (role_name(x.role).text(l)) }
                    td { @if let Some(c) = x.customer_id { (c) } }
                    td { (if x.active { "✓" } else { "—" }) }
                    td {
                        @if can {
                            form method="post" action={ "/users/" (x.id) "/deactivate" } class="inline"
                                data-confirm=(mamori_center_model::messages::panel::Confirm::DeactivateUser.text(l)) {
                                (csrf_field(&u.csrf))
                                button.danger id={ "deactivate_" (x.id) } { (A::Deactivate.text(l)) }
                            }
                        }
                    }
                }
            }
        }
        @if !roles.is_empty() {
            h2 { (A::NewUser.text(l)) }
            form method="post" action="/users" {
                (csrf_field(&u.csrf))
                label { (A::EmailAddress.text(l)) br; input #new_email name="email" type="email" required; }
                label { (A::PersonName.text(l)) br; input #new_name name="display_name" required; }
                label {
                    (C::Role.text(l)) br;
                    select #new_role name="role" {
                        @for r in roles { option value=(r.as_str()) { (role_name(*r).text(l)) } }
                    }
                }
                @if u.actor.role == Role::Admin {
                    label {
                        (C::CustomerId.text(l)) " (" (role_name(Role::Officer).text(l)) " / " (role_name(Role::Staff).text(l)) ")" br;
                        input #customer_id name="customer_id" inputmode="numeric";
                    }
                }
                button #create_user { (C::Create.text(l)) }
            }
        }
    };
    page(l, Some(&u), C::Users.text(l), body).into_response()
}

#[derive(Deserialize)]
struct NewUserForm {
    csrf: Option<String>,
    email: String,
    display_name: String,
    role: String,
    customer_id: Option<String>,
}

/// The answer to a form that created an account: what was created (`what`), then the
/// one-time setup link for its owner.
pub(super) fn created_page(
    s: &AppState,
    u: &PanelUser,
    title: &str,
    what: Markup,
    token: &str,
) -> Response {
    let l = u.lang;
    let url = format!("{}/setup/{token}", s.config.effective_public_url());
    let body = html! {
        (what)
        p { (A::GiveSetupLink.text(l)) ":" }
        p { a #setup_link href=(url) { (url) } }
    };
    super::super::shows_secret(page(l, Some(u), title, body))
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
            .users()
            .create(
                &u.actor,
                &f.email,
                &f.display_name,
                &f.role,
                customer_id,
                s.now_ms(),
            )
            .await
    };
    submit_then(&u, &f.csrf, action, |(user, token)| {
        let what = html! { p { (user.email) " (" (role_name(user.role).text(l)) ")" } };
        created_page(&s, &u, A::NewUser.text(l), what, &token)
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
        s.app
            .users()
            .set_active(&u.actor, id, false, s.now_ms())
            .await
    };
    submit(&u, &f.csrf, action, |_| "/users".into()).await
}
