//! The use cases. Every function takes the caller's identity ([`Actor`]) and scopes every
//! read and write to the caller's customer; another customer's object is `NotFound`,
//! exactly like one that does not exist. Every change is audited in its transaction.
//! Time comes in as a value (`now`, milliseconds since the Unix epoch).

use crate::audit::Record;
use crate::auth::{self, AuthError};
use crate::domain::*;
use crate::signin::{self, Guard};
use crate::store::{Admission, Store, StoreError, TokenFilter, Tx};
use mamori_center_model::authz::Action;

pub use mamori_center_model::messages::Lang;
pub use mamori_center_model::messages::errors::{
    ApiHint, Conflict, ErrorWords, Field, Forbidden, Invalid, Throttled, Unauthenticated,
};

/// An error of a use case. What a user reads comes from the message catalog
/// (`mamori_center_model::messages::errors`) through [`AppError::text`], in their
/// language; `Display` is the English text (for logs).
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("{}", .0.text(Lang::En))]
    Forbidden(Forbidden),
    #[error("{}", .0.text(Lang::En))]
    Unauthenticated(Unauthenticated),
    /// A field of a request is wrong: which field, and why.
    #[error("{}: {}", .field.code(), .why.text(Lang::En))]
    Invalid { field: Field, why: Box<Invalid> },
    #[error("{}", .0.text(Lang::En))]
    Conflict(Conflict),
    /// Too many attempts of a kind.
    #[error("{}", .0.text(Lang::En))]
    Throttled(Throttled),
    #[error("a TOTP code is required")]
    TotpRequired,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Auth(#[from] AuthError),
}

impl AppError {
    /// A refused field: `field`, and `why` in both languages.
    pub fn invalid(field: Field, why: Invalid) -> AppError {
        AppError::Invalid {
            field,
            why: Box::new(why),
        }
    }

    /// What a reader of `lang` is told: the catalog's text of this error (a refused
    /// field: the whole sentence in Japanese, `field: why` in English). An internal
    /// error (the store, the authenticator) tells nothing of its cause; it is logged
    /// where it is answered.
    pub fn text(&self, lang: Lang) -> String {
        match self {
            AppError::NotFound => ErrorWords::NotFound.text(lang).into(),
            AppError::Forbidden(m) => m.text(lang).into(),
            AppError::Unauthenticated(m) => m.text(lang).into(),
            AppError::Invalid { field, why } => match lang {
                Lang::Ja => why.text(lang),
                Lang::En => format!("{}: {}", field.code(), why.text(lang)),
            },
            AppError::Conflict(m) => m.text(lang),
            AppError::Throttled(m) => m.text(lang).into(),
            AppError::TotpRequired => ErrorWords::TotpRequired.text(lang).into(),
            AppError::Store(StoreError::Conflict(m)) => {
                Conflict::Stored { detail: m.clone() }.text(lang)
            }
            AppError::Store(_) | AppError::Auth(_) => ErrorWords::Internal.text(lang).into(),
        }
    }
}

pub type Result<T, E = AppError> = std::result::Result<T, E>;

#[derive(Debug, Clone)]
pub struct Settings {
    pub session_ttl_ms: i64,
    pub lockout_failures: i64,
    pub lockout_ms: i64,
    /// The operations center's addresses (`operations_center`): every revision's
    /// `[management] center` must admit them; empty means no such check.
    pub operations_center: Vec<mamori_policy::addr::IpRange>,
    /// Where "now" comes from: the system clock, or a fixed one in tests.
    pub clock: crate::clock::Clock,
}

impl Settings {
    /// The use cases' settings from the configuration; an `operations_center` entry
    /// that is not an address, network or range is an error naming it.
    pub fn from_config(config: &crate::config::Config) -> Result<Settings, String> {
        Ok(Settings {
            session_ttl_ms: config.session_ttl_secs * 1000,
            lockout_failures: config.lockout_failures.max(1),
            lockout_ms: config.lockout_secs * 1000,
            operations_center: config.operations_center_ranges()?,
            clock: crate::clock::system(),
        })
    }
}

impl Default for Settings {
    /// The settings of the default configuration.
    fn default() -> Self {
        let c = crate::config::Config::default();
        Settings {
            session_ttl_ms: c.session_ttl_secs * 1000,
            lockout_failures: c.lockout_failures.max(1),
            lockout_ms: c.lockout_secs * 1000,
            operations_center: Vec::new(),
            clock: crate::clock::system(),
        }
    }
}

#[derive(Clone)]
pub struct App {
    pub store: Store,
    pub settings: Settings,
}

const SETUP_LINK_TTL_MS: i64 = 7 * 24 * 3600 * 1000;
const PENDING_SESSION_TTL_MS: i64 = 5 * 60 * 1000;
/// Bootstrap links issued this recently by another process are left valid.
const BOOTSTRAP_CONCURRENT_MS: i64 = 5 * 60 * 1000;

/// Checks a text field: trimmed length in characters, and no control characters other
/// than newlines and tabs when `multiline`.
fn text(field: Field, value: &str, max: usize, multiline: bool) -> Result<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(AppError::invalid(field, Invalid::Empty { field }));
    }
    let n = v.chars().count();
    if n > max {
        return Err(AppError::invalid(field, Invalid::TooLong { field, n, max }));
    }
    if let Some(c) = v
        .chars()
        .find(|&c| c.is_control() && !(multiline && (c == '\n' || c == '\r' || c == '\t')))
    {
        return Err(AppError::invalid(
            field,
            Invalid::ControlCharacter { field, c: c as u32 },
        ));
    }
    Ok(v.to_string())
}

fn email(value: &str) -> Result<String> {
    let v = text(Field::Email, value, 254, false)?.to_lowercase();
    let ok = v.split_once('@').is_some_and(|(l, d)| {
        !l.is_empty() && d.contains('.') && !d.starts_with('.') && !v.contains(' ')
    });
    if !ok {
        return Err(AppError::invalid(Field::Email, Invalid::NotAnEmail));
    }
    Ok(v)
}

fn password(value: &str) -> Result<()> {
    let n = value.chars().count();
    if n < 12 {
        return Err(AppError::invalid(
            Field::Password,
            Invalid::PasswordTooShort { n },
        ));
    }
    if n > 1024 {
        return Err(AppError::invalid(Field::Password, Invalid::PasswordTooLong));
    }
    Ok(())
}

/// An audit record of a successful action by `actor` (used by every use-case module).
pub(crate) fn record(
    actor: &Actor,
    customer_id: Option<i64>,
    action: &str,
    object: String,
    detail: String,
) -> Record {
    Record {
        actor_id: Some(actor.user_id),
        actor: actor.label.clone(),
        customer_id,
        source: actor.source.clone(),
        action: action.into(),
        object,
        outcome: "ok".into(),
        detail,
    }
}

/// The answer to every failed sign-in, whatever failed (an unknown address, a wrong
/// password or code, a missing code, a locked or inactive account): it tells nothing.
fn signin_refused() -> AppError {
    AppError::Unauthenticated(Unauthenticated::SigninRefused)
}

/// Whether an owner with role `owner` may hold a token acting with role `token`:
/// administrators any provider role, other provider staff their own, an officer officer
/// or staff, staff staff. Checked when a token is issued and on every use, against the
/// owner's role of that moment.
pub(crate) fn token_role_allowed(owner: Role, token: Role) -> bool {
    match owner {
        Role::Admin => token.is_provider(),
        r if r.is_provider() => token == r,
        Role::Officer => matches!(token, Role::Officer | Role::Staff),
        _ => token == Role::Staff,
    }
}

/// A token's last use is recorded at most this often.
const TOKEN_TOUCH_MS: i64 = 60_000;

/// The start of a sign-in, for the panel's two steps.
pub enum SignIn {
    /// Signed in; the session token.
    Done { token: String, user: User },
    /// Password accepted; a pending session awaits the TOTP code.
    NeedTotp { pending_token: String },
}

impl App {
    /// Whether the database answers (`/readyz`, `/metrics`).
    pub async fn ping(&self) -> Result<()> {
        Ok(self.store.ping().await?)
    }

    /// Now, from the use cases' clock (milliseconds since the Unix epoch).
    pub fn now_ms(&self) -> i64 {
        self.settings.clock.now_ms()
    }

    // ---- bootstrap and setup links -----------------------------------------------

    /// When no active administrator exists, issues a fresh one-time bootstrap link
    /// (retiring older ones) and returns its token.
    pub async fn ensure_bootstrap(&self, now: i64) -> Result<Option<String>> {
        if self.store.user_count_with_role(Role::Admin).await? > 0 {
            return Ok(None);
        }
        let token = auth::new_token()?;
        let secret = auth::new_totp_secret()?;
        let mut tx = self.store.begin().await?;
        // Checked again under the write lock: another process may have finished the
        // bootstrap meanwhile.
        if tx.admin_count().await? > 0 {
            return Ok(None);
        }
        // Links of earlier runs are retired; links issued in the last few minutes stay
        // valid, so that several processes starting at once on an empty database each
        // print a link that works (the first one used voids the others).
        tx.retire_bootstrap_links_before(now - BOOTSTRAP_CONCURRENT_MS)
            .await?;
        tx.insert_setup_link(
            &auth::token_hash(&token),
            None,
            "bootstrap",
            &secret,
            now + 24 * 3600 * 1000,
            now,
        )
        .await?;
        tx.audit(
            Record {
                actor_id: None,
                actor: "system".into(),
                customer_id: None,
                source: "startup".into(),
                action: "bootstrap.link".into(),
                object: "setup".into(),
                outcome: "ok".into(),
                detail: "one-time link to create the first administrator issued".into(),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Some(token))
    }

    /// A valid (unused, unexpired) setup link and the account it is for.
    pub async fn setup_link(&self, token: &str, now: i64) -> Result<(SetupLink, Option<User>)> {
        let link = self
            .store
            .setup_link(&auth::token_hash(token))
            .await?
            .filter(|l| !l.used && l.expires_at > now)
            .ok_or(AppError::NotFound)?;
        let user = match link.user_id {
            Some(id) => Some(
                self.store
                    .user(Scope::All, id)
                    .await?
                    .ok_or(AppError::NotFound)?,
            ),
            None => None,
        };
        Ok((link, user))
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "the fields of the setup form, passed as they came"
    )]
    pub async fn complete_setup(
        &self,
        token: &str,
        email_in: Option<&str>,
        display_name: &str,
        password_in: &str,
        totp_code: Option<&str>,
        source: &str,
        now: i64,
    ) -> Result<User> {
        let (link, user) = self.setup_link(token, now).await?;
        let display_name = text(Field::DisplayName, display_name, 200, false)?;
        password(password_in)?;
        let role = user.as_ref().map_or(Role::Admin, |u| u.role);
        let code = totp_code.map(str::trim).filter(|c| !c.is_empty());
        let step = code.and_then(|c| auth::totp_step(&link.totp_secret, c, now / 1000));
        let totp = match code {
            Some(_) if step.is_some() => Some(link.totp_secret.as_str()),
            Some(_) => {
                return Err(AppError::invalid(Field::TotpCode, Invalid::TotpMismatch));
            }
            None if role.totp_required() => {
                return Err(AppError::invalid(Field::TotpCode, Invalid::TotpNeeded));
            }
            None => None,
        };
        let hash = auth::hash_password_async(password_in).await?;
        let mut tx = self.store.begin().await?;
        let user_id = match &user {
            Some(u) => u.id,
            None => {
                let e = email(email_in.unwrap_or(""))?;
                if tx.email_taken(&e).await? {
                    return Err(AppError::Conflict(Conflict::AccountExists));
                }
                tx.insert_user(None, &e, &display_name, Role::Admin, now)
                    .await?
            }
        };
        if !tx.use_setup_link(&link.token_hash).await? {
            return Err(AppError::NotFound);
        }
        tx.set_credentials(user_id, &display_name, &hash, totp)
            .await?;
        if let Some(step) = step {
            // The enrolment code cannot be replayed to sign in.
            tx.claim_totp_step(user_id, step).await?;
        }
        if user.is_none() {
            // The first administrator exists: every other bootstrap link is void.
            tx.retire_bootstrap_links().await?;
        }
        let label = match &user {
            Some(u) => u.email.clone(),
            None => email(email_in.unwrap_or(""))?,
        };
        tx.audit(
            Record {
                actor_id: Some(user_id),
                actor: label,
                customer_id: user.as_ref().and_then(|u| u.customer_id),
                source: source.into(),
                action: if user.is_none() {
                    "bootstrap.admin"
                } else {
                    "account.setup"
                }
                .into(),
                object: format!("user/{user_id}"),
                outcome: "ok".into(),
                detail: format!("role={role} totp={}", totp.is_some()),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        self.store
            .user(Scope::All, user_id)
            .await?
            .ok_or(AppError::NotFound)
    }

    // ---- sign-in -------------------------------------------------------------------
    //
    // Every attempt on an existing account is counted in the database before it is
    // evaluated (`Tx::admit_signin`: one conditional UPDATE), so concurrent attempts
    // never evaluate more guesses than the lock allows; a locked account admits nothing
    // and answers exactly like a wrong password. Password hashing runs off the async
    // threads (`auth::verify_password_async`).

    async fn audit_signin(
        &self,
        user: Option<&User>,
        label: &str,
        source: &str,
        outcome: &str,
        detail: &str,
        now: i64,
    ) -> Result<()> {
        let mut tx = self.store.begin().await?;
        tx.audit(
            Record {
                actor_id: user.map(|u| u.id),
                actor: label.into(),
                customer_id: user.and_then(|u| u.customer_id),
                source: source.into(),
                action: "signin".into(),
                object: user.map_or_else(|| "user/?".into(), |u| format!("user/{}", u.id)),
                outcome: outcome.into(),
                detail: detail.into(),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// An admitted attempt failed: it stays counted, the account is locked when the
    /// count reached the limit (and its owner told), the failure is audited.
    async fn fail_signin(
        &self,
        c: &Credentials,
        source: &str,
        detail: &str,
        guard: &Guard<'_>,
        now: i64,
    ) -> Result<AppError> {
        let mut tx = self.store.begin().await?;
        let locked = tx
            .fail_signin(
                c.user.id,
                now,
                self.settings.lockout_failures,
                self.settings.lockout_ms,
            )
            .await?;
        tx.audit(
            Record {
                actor_id: Some(c.user.id),
                actor: c.user.email.clone(),
                customer_id: c.user.customer_id,
                source: source.into(),
                action: "signin".into(),
                object: format!("user/{}", c.user.id),
                outcome: "failed".into(),
                detail: if locked.is_some() {
                    format!("{detail}; account locked")
                } else {
                    detail.into()
                },
            },
            now,
        )
        .await?;
        tx.commit().await?;
        if let Some(until) = locked {
            self.notify_lock(&c.user, source, until, guard, now);
        }
        Ok(signin_refused())
    }

    /// An attempt the account's lock refused before evaluating it: audited, answered
    /// like a wrong password. `now_locked`: this attempt found the count used up and
    /// locked the account.
    async fn deny_signin(
        &self,
        user: &User,
        source: &str,
        detail: &str,
        locked: Option<i64>,
        guard: &Guard<'_>,
        now: i64,
    ) -> Result<AppError> {
        self.audit_signin(Some(user), &user.email, source, "denied", detail, now)
            .await?;
        if let Some(until) = locked {
            self.notify_lock(user, source, until, guard, now);
        }
        Ok(signin_refused())
    }

    /// Tells the owner of a just-locked account by e-mail, in the background (the
    /// answer to the attempt must not wait for the relay, nor differ in its timing);
    /// the sending is audited.
    fn notify_lock(&self, user: &User, source: &str, until: i64, guard: &Guard<'_>, now: i64) {
        let Some(mail) = guard.mail.clone() else {
            return;
        };
        let app = self.clone();
        let user = user.clone();
        let source = source.to_string();
        tokio::spawn(async move {
            let (subject, body) = signin::lock_notice(&user.email, &source, until);
            let sent = crate::adapters::smtp::send(
                &mail.smtp,
                &mail.from,
                &user.email,
                &subject,
                &body,
                now,
            )
            .await;
            let (outcome, detail) = match &sent {
                Ok(()) => ("ok", format!("to={}", user.email)),
                Err(e) => ("failed", format!("to={} error={e}", user.email)),
            };
            let audited = async {
                let mut tx = app.store.begin().await?;
                tx.audit(
                    Record {
                        actor_id: None,
                        actor: "system".into(),
                        customer_id: user.customer_id,
                        source: "smtp".into(),
                        action: "signin.lock_notice".into(),
                        object: format!("user/{}", user.id),
                        outcome: outcome.into(),
                        detail,
                    },
                    now,
                )
                .await?;
                tx.commit().await
            };
            if let Err(e) = audited.await {
                tracing::error!(error = %e, "cannot audit the lock notice");
            }
        });
    }

    /// Checks e-mail and password. The attempt is counted against the account before the
    /// password is verified; on success it is still counted (the caller completes the
    /// sign-in, which resets the count, or releases the attempt for the TOTP step).
    pub async fn check_password(
        &self,
        email_in: &str,
        password_in: &str,
        source: &str,
        guard: &Guard<'_>,
        now: i64,
    ) -> Result<Credentials> {
        let e = email_in.trim().to_lowercase();
        let creds = self.store.credentials_by_email(&e).await?;
        let Some(c) = creds else {
            auth::verify_password_async(password_in, None).await;
            self.audit_signin(
                None,
                &e.chars().take(254).collect::<String>(),
                source,
                "failed",
                "unknown account",
                now,
            )
            .await?;
            return Err(signin_refused());
        };
        let mut tx = self.store.begin().await?;
        let admission = tx
            .admit_signin(
                c.user.id,
                now,
                self.settings.lockout_failures,
                self.settings.lockout_ms,
            )
            .await?;
        tx.commit().await?;
        if let Admission::Locked { until, now_locked } = admission {
            // Verified against nothing, so that the answer takes as long as a wrong
            // password's.
            auth::verify_password_async(password_in, None).await;
            return Err(self
                .deny_signin(
                    &c.user,
                    source,
                    "account locked",
                    now_locked.then_some(until),
                    guard,
                    now,
                )
                .await?);
        }
        let ok = auth::verify_password_async(password_in, c.password_hash.as_deref()).await;
        if !ok || !c.user.active {
            return Err(self
                .fail_signin(
                    &c,
                    source,
                    if c.user.active {
                        "wrong password"
                    } else {
                        "inactive account"
                    },
                    guard,
                    now,
                )
                .await?);
        }
        Ok(c)
    }

    /// Completes an admitted attempt: claims the TOTP code's time step (`step`), resets
    /// the count unless the account was locked meanwhile, replaces the pending session
    /// (`pending`) and starts a full one; audited. A replayed code or a lock that won
    /// the race refuses the sign-in.
    async fn open_session(
        &self,
        c: &Credentials,
        step: Option<i64>,
        pending: Option<&str>,
        source: &str,
        guard: &Guard<'_>,
        now: i64,
    ) -> Result<String> {
        let token = auth::new_token()?;
        let csrf = auth::new_token()?;
        let mut tx = self.store.begin().await?;
        // A code is good once: the step is claimed atomically, so a replay (even to
        // another center process, even concurrently) fails like a wrong code.
        if let Some(step) = step
            && !tx.claim_totp_step(c.user.id, step).await?
        {
            drop(tx);
            return Err(self
                .fail_signin(c, source, "TOTP code already used", guard, now)
                .await?);
        }
        if !tx.finish_signin(c.user.id, now).await? {
            drop(tx);
            return Err(self
                .deny_signin(&c.user, source, "account locked", None, guard, now)
                .await?);
        }
        // Expired sessions and used or expired setup links are purged as sessions start.
        tx.purge_expired(now).await?;
        if let Some(p) = pending {
            tx.delete_session(p).await?;
        }
        tx.insert_session(
            &auth::token_hash(&token),
            c.user.id,
            "full",
            &csrf,
            now,
            now + self.settings.session_ttl_ms,
        )
        .await?;
        tx.audit(
            Record {
                actor_id: Some(c.user.id),
                actor: c.user.email.clone(),
                customer_id: c.user.customer_id,
                source: source.into(),
                action: "signin".into(),
                object: format!("user/{}", c.user.id),
                outcome: "ok".into(),
                detail: format!("totp={}", c.user.totp_enabled),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// Checks an admitted attempt's TOTP code (throttled per account) and opens the
    /// session. `throttled` is the error of a code the per-account throttle refuses.
    #[expect(
        clippy::too_many_arguments,
        reason = "one private step of the sign-in; the values are all different"
    )]
    async fn totp_then_session(
        &self,
        c: &Credentials,
        code: &str,
        pending: Option<&str>,
        source: &str,
        guard: &Guard<'_>,
        throttled: AppError,
        now: i64,
    ) -> Result<String> {
        let account = signin::Key::Account(c.user.id);
        if !guard.throttle.admit(account, now, guard.totp_per_account) {
            self.fail_signin(
                c,
                source,
                "too many TOTP codes for this account",
                guard,
                now,
            )
            .await?;
            return Err(throttled);
        }
        let secret = c.totp_secret.as_deref().unwrap_or("");
        let Some(step) = auth::totp_step(secret, code, now / 1000) else {
            return Err(self
                .fail_signin(c, source, "wrong TOTP code", guard, now)
                .await?);
        };
        let token = self
            .open_session(c, Some(step), pending, source, guard, now)
            .await?;
        guard.throttle.forgive(account, now);
        Ok(token)
    }

    /// One-step sign-in (API): password and TOTP code together, with no throttle and
    /// no lock notice (for tools and seeders; the API uses [`App::sign_in_guarded`]).
    pub async fn sign_in(
        &self,
        email_in: &str,
        password_in: &str,
        code: Option<&str>,
        source: &str,
        now: i64,
    ) -> Result<(String, User)> {
        self.sign_in_guarded(email_in, password_in, code, source, &Guard::none(), now)
            .await
    }

    /// One-step sign-in (API): password and TOTP code together. Every refusal, even
    /// that of the per-account TOTP throttle, is the same answer, so it never tells
    /// that the password was right.
    pub async fn sign_in_guarded(
        &self,
        email_in: &str,
        password_in: &str,
        code: Option<&str>,
        source: &str,
        guard: &Guard<'_>,
        now: i64,
    ) -> Result<(String, User)> {
        let c = self
            .check_password(email_in, password_in, source, guard, now)
            .await?;
        let token = if c.user.totp_enabled {
            let Some(code) = code else {
                return Err(self
                    .fail_signin(&c, source, "TOTP code missing", guard, now)
                    .await?);
            };
            self.totp_then_session(&c, code, None, source, guard, signin_refused(), now)
                .await?
        } else {
            self.open_session(&c, None, None, source, guard, now)
                .await?
        };
        Ok((token, c.user))
    }

    /// The panel's first step.
    pub async fn sign_in_password(
        &self,
        email_in: &str,
        password_in: &str,
        source: &str,
        guard: &Guard<'_>,
        now: i64,
    ) -> Result<SignIn> {
        let c = self
            .check_password(email_in, password_in, source, guard, now)
            .await?;
        if !c.user.totp_enabled {
            let token = self
                .open_session(&c, None, None, source, guard, now)
                .await?;
            return Ok(SignIn::Done {
                token,
                user: c.user,
            });
        }
        // The password was right: the attempt is taken back, the TOTP step counts by
        // itself.
        let pending_token = auth::new_token()?;
        let mut tx = self.store.begin().await?;
        if !tx.release_signin(c.user.id, now).await? {
            drop(tx);
            return Err(self
                .deny_signin(&c.user, source, "account locked", None, guard, now)
                .await?);
        }
        tx.purge_expired(now).await?;
        tx.insert_session(
            &auth::token_hash(&pending_token),
            c.user.id,
            "password",
            &auth::new_token()?,
            now,
            now + PENDING_SESSION_TTL_MS,
        )
        .await?;
        tx.commit().await?;
        Ok(SignIn::NeedTotp { pending_token })
    }

    /// The panel's second step: the pending session's TOTP code, counted against the
    /// account like a password and throttled per account. The pending session is
    /// replaced by a new full one.
    pub async fn sign_in_totp(
        &self,
        pending_token: &str,
        code: &str,
        source: &str,
        guard: &Guard<'_>,
        now: i64,
    ) -> Result<String> {
        let hash = auth::token_hash(pending_token);
        let s = self
            .store
            .session(&hash)
            .await?
            .filter(|s| s.stage == "password" && s.expires_at > now)
            .ok_or_else(|| AppError::Unauthenticated(Unauthenticated::SigninExpired))?;
        let c = self
            .store
            .credentials_by_id(s.user_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let mut tx = self.store.begin().await?;
        let admission = tx
            .admit_signin(
                c.user.id,
                now,
                self.settings.lockout_failures,
                self.settings.lockout_ms,
            )
            .await?;
        tx.commit().await?;
        if let Admission::Locked { until, now_locked } = admission {
            return Err(self
                .deny_signin(
                    &c.user,
                    source,
                    "account locked",
                    now_locked.then_some(until),
                    guard,
                    now,
                )
                .await?);
        }
        if !c.user.active {
            return Err(self
                .fail_signin(&c, source, "inactive account", guard, now)
                .await?);
        }
        self.totp_then_session(
            &c,
            code,
            Some(&hash),
            source,
            guard,
            AppError::Throttled(Throttled::TotpCodes),
            now,
        )
        .await
    }

    pub async fn sign_out(&self, actor: &Actor, token: &str, now: i64) -> Result<()> {
        let mut tx = self.store.begin().await?;
        tx.delete_session(&auth::token_hash(token)).await?;
        tx.audit(
            record(
                actor,
                actor.customer_id,
                "signout",
                format!("user/{}", actor.user_id),
                String::new(),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The caller behind a full session token (panel cookie or bearer).
    pub async fn session_actor(
        &self,
        token: &str,
        source: &str,
        now: i64,
    ) -> Result<Option<(Actor, Session)>> {
        let Some((s, u)) = self
            .store
            .session_with_user(&auth::token_hash(token))
            .await?
        else {
            return Ok(None);
        };
        if s.stage != "full" || s.expires_at <= now || !u.active {
            return Ok(None);
        }
        let actor = Actor {
            user_id: u.id,
            label: u.email.clone(),
            role: u.role,
            customer_id: u.customer_id,
            source: source.into(),
            locale: u.locale.clone(),
        };
        Ok(Some((actor, s)))
    }

    /// The caller behind an `Authorization: Bearer` value: a session or an API token.
    pub async fn bearer_actor(&self, token: &str, source: &str, now: i64) -> Result<Option<Actor>> {
        if let Some((a, _)) = self.session_actor(token, source, now).await? {
            return Ok(Some(a));
        }
        // The token and its owner as they are now, in one query: a token never acts
        // with more than its owner's current role allows, nor for another customer
        // than its owner's.
        let Some((t, u)) = self
            .store
            .api_token_with_owner(&auth::token_hash(token))
            .await?
        else {
            return Ok(None);
        };
        let usable = !t.revoked
            && t.expires_at.is_none_or(|e| e > now)
            && u.active
            && token_role_allowed(u.role, t.role)
            && u.customer_id.is_none_or(|c| t.customer_id == Some(c));
        if !usable {
            return Ok(None);
        }
        if t.last_used_at.is_none_or(|at| at <= now - TOKEN_TOUCH_MS)
            && let Err(e) = self.store.touch_api_token(t.id, now, TOKEN_TOUCH_MS).await
        {
            tracing::warn!(error = %e, token = t.id, "cannot record the token's last use");
        }
        Ok(Some(Actor {
            user_id: u.id,
            label: format!("{} (token {})", u.email, t.name),
            role: t.role,
            customer_id: t.customer_id,
            source: source.into(),
            locale: u.locale,
        }))
    }

    // ---- users -----------------------------------------------------------------------

    /// The caller's own account (an API token's creator).
    pub async fn me(&self, actor: &Actor) -> Result<User> {
        self.store
            .user(Scope::All, actor.user_id)
            .await?
            .ok_or(AppError::NotFound)
    }

    pub async fn users(&self, actor: &Actor) -> Result<Vec<User>> {
        Ok(self.store.users(actor.scope()).await?)
    }

    pub async fn user(&self, actor: &Actor, id: i64) -> Result<User> {
        self.store
            .user(actor.scope(), id)
            .await?
            .ok_or(AppError::NotFound)
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one private helper; the fields are all different"
    )]
    async fn invite(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        customer_id: Option<i64>,
        email_in: &str,
        display_name: &str,
        role: Role,
        now: i64,
    ) -> Result<(i64, String)> {
        let e = email(email_in)?;
        let name = text(Field::DisplayName, display_name, 200, false)?;
        if tx.email_taken(&e).await? {
            // Addresses are unique across the service (they sign in). A customer's
            // user must not learn that an address is in use elsewhere, so they get
            // the answer of any unusable input; provider administrators see why.
            if actor.customer_id.is_some() {
                return Err(AppError::invalid(Field::Email, Invalid::EmailUnusable));
            }
            return Err(AppError::Conflict(Conflict::AccountWithEmailExists {
                email: e,
            }));
        }
        if role == Role::Officer
            && let Some(c) = customer_id
            && tx.active_officer_count(c).await? > 0
        {
            return Err(AppError::Conflict(Conflict::OfficerExists));
        }
        let id = tx.insert_user(customer_id, &e, &name, role, now).await?;
        let token = auth::new_token()?;
        tx.insert_setup_link(
            &auth::token_hash(&token),
            Some(id),
            "invite",
            &auth::new_totp_secret()?,
            now + SETUP_LINK_TTL_MS,
            now,
        )
        .await?;
        tx.audit(
            record(
                actor,
                customer_id,
                "user.create",
                format!("user/{id}"),
                format!("email={e} role={role}"),
            ),
            now,
        )
        .await?;
        Ok((id, token))
    }

    /// Creates an account; returns it and the token of its one-time setup link.
    pub async fn create_user(
        &self,
        actor: &Actor,
        email_in: &str,
        display_name: &str,
        role: &str,
        customer_id: Option<i64>,
        now: i64,
    ) -> Result<(User, String)> {
        let role = Role::parse(role).ok_or_else(|| {
            AppError::invalid(
                Field::Role,
                Invalid::NotARoleForUser {
                    role: role.to_string(),
                },
            )
        })?;
        let customer_id = match (actor.role, actor.customer_id) {
            (Role::Admin, None) => customer_id,
            (Role::Officer, Some(own)) => {
                if role != Role::Staff {
                    return Err(AppError::Forbidden(Forbidden::OfficerCreatesStaffOnly));
                }
                if customer_id.is_some_and(|c| c != own) {
                    return Err(AppError::NotFound);
                }
                Some(own)
            }
            _ => return Err(AppError::Forbidden(Forbidden::CreateUsers)),
        };
        match (role.is_provider(), customer_id) {
            (true, Some(_)) => {
                return Err(AppError::invalid(
                    Field::CustomerId,
                    Invalid::ProviderHasNoCustomer,
                ));
            }
            (false, None) => {
                return Err(AppError::invalid(
                    Field::CustomerId,
                    Invalid::CustomerUserNeedsCustomer,
                ));
            }
            _ => {}
        }
        let mut tx = self.store.begin().await?;
        if let Some(c) = customer_id
            && !tx.customer_exists(c).await?
        {
            return Err(AppError::NotFound);
        }
        let (id, token) = self
            .invite(
                &mut tx,
                actor,
                customer_id,
                email_in,
                display_name,
                role,
                now,
            )
            .await?;
        tx.commit().await?;
        Ok((
            self.store
                .user(Scope::All, id)
                .await?
                .ok_or(AppError::NotFound)?,
            token,
        ))
    }

    pub async fn set_user_active(
        &self,
        actor: &Actor,
        id: i64,
        active: bool,
        now: i64,
    ) -> Result<User> {
        let target = self
            .store
            .user(actor.scope(), id)
            .await?
            .ok_or(AppError::NotFound)?;
        let allowed = match actor.role {
            Role::Admin => actor.customer_id.is_none(),
            Role::Officer => target.role == Role::Staff,
            _ => false,
        };
        if !allowed {
            return Err(AppError::Forbidden(Forbidden::ChangeAccount));
        }
        let mut tx = self.store.begin().await?;
        // Deactivation ends the user's sessions (in `set_active`) and tokens at once.
        tx.set_active(id, active).await?;
        let revoked = if active {
            0
        } else {
            tx.revoke_user_tokens(id, now, actor.user_id).await?
        };
        tx.audit(
            record(
                actor,
                target.customer_id,
                if active {
                    "user.activate"
                } else {
                    "user.deactivate"
                },
                format!("user/{id}"),
                if active {
                    format!("role={}", target.role)
                } else {
                    format!("role={} tokens_revoked={revoked}", target.role)
                },
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        self.store
            .user(Scope::All, id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// Changes a provider user's role (administrators only; customer roles are fixed:
    /// an officer is replaced, not promoted). The user's sessions and API tokens end at
    /// once, on every center process (each request reads them from the database).
    pub async fn set_user_role(
        &self,
        actor: &Actor,
        id: i64,
        role: &str,
        now: i64,
    ) -> Result<User> {
        let role = Role::parse(role).ok_or_else(|| {
            AppError::invalid(
                Field::Role,
                Invalid::NotARole {
                    role: role.to_string(),
                },
            )
        })?;
        let target = self
            .store
            .user(actor.scope(), id)
            .await?
            .ok_or(AppError::NotFound)?;
        if !actor.may(Action::ChangeRoles) {
            return Err(AppError::Forbidden(Forbidden::ChangeRoles));
        }
        if !target.role.is_provider() || !role.is_provider() {
            return Err(AppError::invalid(
                Field::Role,
                Invalid::OnlyProviderRolesChange,
            ));
        }
        if target.id == actor.user_id && role != Role::Admin {
            return Err(AppError::invalid(Field::Role, Invalid::OwnAdminRole));
        }
        let mut tx = self.store.begin().await?;
        tx.set_role(id, role).await?;
        let revoked = tx.revoke_user_tokens(id, now, actor.user_id).await?;
        tx.audit(
            record(
                actor,
                None,
                "user.role",
                format!("user/{id}"),
                format!("from={} to={role} tokens_revoked={revoked}", target.role),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        self.store
            .user(Scope::All, id)
            .await?
            .ok_or(AppError::NotFound)
    }

    pub async fn set_locale(&self, actor: &Actor, locale: Option<&str>, now: i64) -> Result<()> {
        let locale = match locale {
            None | Some("") => None,
            Some(l @ ("ja" | "en")) => Some(l),
            Some(_) => {
                return Err(AppError::invalid(Field::Locale, Invalid::NotALocale));
            }
        };
        let mut tx = self.store.begin().await?;
        tx.set_locale(actor.user_id, locale).await?;
        tx.audit(
            record(
                actor,
                actor.customer_id,
                "user.locale",
                format!("user/{}", actor.user_id),
                locale.unwrap_or("browser").into(),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    // ---- customers, sites ----------------------------------------------------------

    pub async fn customers(&self, actor: &Actor) -> Result<Vec<Customer>> {
        Ok(self.store.customers(actor.scope()).await?)
    }

    pub async fn customer(&self, actor: &Actor, id: i64) -> Result<Customer> {
        self.store
            .customer(actor.scope(), id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// Creates a customer with its security officer; returns both and the officer's
    /// setup token.
    pub async fn create_customer(
        &self,
        actor: &Actor,
        name: &str,
        officer_email: &str,
        officer_name: &str,
        now: i64,
    ) -> Result<(Customer, User, String)> {
        if !actor.role.manages_customers() || actor.customer_id.is_some() {
            return Err(AppError::Forbidden(Forbidden::CreateCustomers));
        }
        let name = text(Field::Name, name, 200, false)?;
        let mut tx = self.store.begin().await?;
        let id = tx.insert_customer(&name, now).await?;
        tx.audit(
            record(
                actor,
                Some(id),
                "customer.create",
                format!("customer/{id}"),
                format!("name={name}"),
            ),
            now,
        )
        .await?;
        let (uid, token) = self
            .invite(
                &mut tx,
                actor,
                Some(id),
                officer_email,
                officer_name,
                Role::Officer,
                now,
            )
            .await?;
        tx.commit().await?;
        let c = self
            .store
            .customer(Scope::All, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let u = self
            .store
            .user(Scope::All, uid)
            .await?
            .ok_or(AppError::NotFound)?;
        Ok((c, u, token))
    }

    pub async fn sites(&self, actor: &Actor) -> Result<Vec<Site>> {
        Ok(self.store.sites(actor.scope()).await?)
    }

    pub async fn site(&self, actor: &Actor, id: i64) -> Result<Site> {
        self.store
            .site(actor.scope(), id)
            .await?
            .ok_or(AppError::NotFound)
    }

    async fn customer_for_write(&self, tx: &mut Tx, actor: &Actor, customer_id: i64) -> Result<()> {
        if !actor.role.manages_customers() {
            return Err(AppError::Forbidden(Forbidden::ChangeCustomers));
        }
        if let Scope::Customer(c) = actor.scope()
            && c != customer_id
        {
            return Err(AppError::NotFound);
        }
        if !tx.customer_exists(customer_id).await? {
            return Err(AppError::NotFound);
        }
        Ok(())
    }

    pub async fn create_site(
        &self,
        actor: &Actor,
        customer_id: i64,
        name: &str,
        address: &str,
        now: i64,
    ) -> Result<Site> {
        let name = text(Field::Name, name, 200, false)?;
        let address = if address.trim().is_empty() {
            String::new()
        } else {
            text(Field::Address, address, 500, false)?
        };
        let mut tx = self.store.begin().await?;
        self.customer_for_write(&mut tx, actor, customer_id).await?;
        let id = tx.insert_site(customer_id, &name, &address, now).await?;
        tx.audit(
            record(
                actor,
                Some(customer_id),
                "site.create",
                format!("site/{id}"),
                format!("name={name}"),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        self.store
            .site(Scope::All, id)
            .await?
            .ok_or(AppError::NotFound)
    }

    // ---- audit and tokens ----------------------------------------------------------------

    pub async fn audit_trail(
        &self,
        actor: &Actor,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<crate::audit::Entry>> {
        Ok(self
            .store
            .audit_entries(actor.scope(), before, limit.clamp(1, 500))
            .await?)
    }

    /// Issues an API token acting with `role` within `customer_id`, valid for
    /// `expires_in_days` days (1 to 3650) or until revoked. Nobody issues a token with
    /// more rights than their own.
    pub async fn create_token(
        &self,
        actor: &Actor,
        name: &str,
        role: &str,
        customer_id: Option<i64>,
        expires_in_days: Option<i64>,
        now: i64,
    ) -> Result<(i64, String, Role, Option<i64>)> {
        let name = text(Field::Name, name, 100, false)?;
        let role = Role::parse(role).ok_or_else(|| {
            AppError::invalid(
                Field::Role,
                Invalid::NotARole {
                    role: role.to_string(),
                },
            )
        })?;
        let expires_at = match expires_in_days {
            None => None,
            Some(d @ 1..=3650) => Some(now + d * 24 * 3600 * 1000),
            Some(d) => {
                return Err(AppError::invalid(
                    Field::ExpiresInDays,
                    Invalid::TokenDays { days: d },
                ));
            }
        };
        if !token_role_allowed(actor.role, role) {
            return Err(AppError::Forbidden(Forbidden::TokenRole));
        }
        let customer_id = match actor.scope() {
            Scope::Customer(own) => {
                if customer_id.is_some_and(|c| c != own) {
                    return Err(AppError::NotFound);
                }
                Some(own)
            }
            Scope::All => customer_id,
        };
        let mut tx = self.store.begin().await?;
        if let Some(c) = customer_id
            && !tx.customer_exists(c).await?
        {
            return Err(AppError::NotFound);
        }
        let token = auth::new_token()?;
        let id = tx
            .insert_api_token(
                &auth::token_hash(&token),
                actor.user_id,
                &name,
                role,
                customer_id,
                expires_at,
                now,
            )
            .await?;
        tx.audit(
            record(
                actor,
                customer_id,
                "token.create",
                format!("token/{id}"),
                format!(
                    "name={name} role={role} expires={}",
                    expires_at.map_or_else(|| "never".to_string(), rfc3339)
                ),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok((id, token, role, customer_id))
    }

    /// Whether `actor` may see and revoke token `t`: its owner, or an administrator;
    /// either only within the caller's customer when the caller is scoped to one.
    fn token_visible(actor: &Actor, t: &ApiToken) -> bool {
        (actor.may(Action::ManageAllTokens) || t.user_id == actor.user_id)
            && match actor.scope() {
                Scope::All => true,
                Scope::Customer(c) => t.customer_id == Some(c),
            }
    }

    /// The tokens the caller may see, newest first: their own; an administrator's, every
    /// one (within the caller's customer when scoped to one).
    pub async fn tokens(&self, actor: &Actor) -> Result<Vec<ApiToken>> {
        let filter = TokenFilter {
            owner: (!actor.may(Action::ManageAllTokens)).then_some(actor.user_id),
            scope: actor.scope(),
        };
        Ok(self.store.api_tokens(filter).await?)
    }

    /// Revokes a token (its owner, or an administrator); another's token, or one of
    /// another customer, is `NotFound`. Revoking a revoked token changes nothing.
    pub async fn revoke_token(&self, actor: &Actor, id: i64, now: i64) -> Result<ApiToken> {
        let mut tx = self.store.begin().await?;
        let t = tx
            .api_token(id)
            .await?
            .filter(|t| Self::token_visible(actor, t))
            .ok_or(AppError::NotFound)?;
        if tx.revoke_api_token(id, now, actor.user_id).await? {
            tx.audit(
                record(
                    actor,
                    t.customer_id,
                    "token.revoke",
                    format!("token/{id}"),
                    format!("name={} owner={}", t.name, t.owner),
                ),
                now,
            )
            .await?;
        }
        let t = tx.api_token(id).await?.ok_or(AppError::NotFound)?;
        tx.commit().await?;
        Ok(t)
    }
}

/// The instructions' use cases: `app.instructions().list()`.
#[derive(Clone, Copy)]
pub struct Instructions<'a>(&'a App);

impl App {
    /// The instructions' use cases.
    pub fn instructions(&self) -> Instructions<'_> {
        Instructions(self)
    }
}

impl std::ops::Deref for Instructions<'_> {
    type Target = App;
    fn deref(&self) -> &App {
        self.0
    }
}

impl Instructions<'_> {
    fn instruction_scope(actor: &Actor) -> Result<Scope> {
        if actor.may(Action::ReadInstructions) {
            Ok(actor.scope())
        } else {
            Err(AppError::Forbidden(Forbidden::SeeInstructions))
        }
    }

    pub async fn list(self, actor: &Actor, limit: i64) -> Result<Vec<Instruction>> {
        self.page(actor, None, limit).await
    }

    /// Newest first, at most `limit` (1 to 500), those with an id below `before` when
    /// given (keyset pagination: pass the last id of the previous page).
    pub async fn page(
        self,
        actor: &Actor,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Instruction>> {
        let scope = Self::instruction_scope(actor)?;
        Ok(self
            .store
            .instructions_before(scope, before, limit.clamp(1, 500))
            .await?)
    }

    pub async fn get(self, actor: &Actor, id: i64) -> Result<(Instruction, Vec<Comment>)> {
        let scope = Self::instruction_scope(actor)?;
        let i = self
            .store
            .instruction(scope, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let c = self.store.comments(scope, id).await?;
        Ok((i, c))
    }

    /// Art. 6-3(3): only the customer's security officer instructs the provider.
    pub async fn submit(
        self,
        actor: &Actor,
        subject: &str,
        body: &str,
        kind: &str,
        now: i64,
    ) -> Result<Instruction> {
        let (Role::Officer, Some(customer_id)) = (actor.role, actor.customer_id) else {
            return Err(AppError::Forbidden(Forbidden::SubmitInstructions));
        };
        let subject = text(Field::Subject, subject, 200, false)?;
        let body = text(Field::Body, body, 10_000, true)?;
        let kind = InstructionKind::parse(kind).ok_or_else(|| {
            AppError::invalid(
                Field::Kind,
                Invalid::NotAnInstructionKind {
                    kind: kind.to_string(),
                },
            )
        })?;
        let mut tx = self.store.begin().await?;
        let id = tx
            .insert_instruction(customer_id, actor.user_id, &subject, &body, kind, now)
            .await?;
        tx.audit(
            record(
                actor,
                Some(customer_id),
                "instruction.submit",
                format!("instruction/{id}"),
                format!("kind={} subject={subject}", kind.as_str()),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        self.store
            .instruction(Scope::All, id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// Accept, reject (with a reason) or mark done.
    pub async fn decide(
        self,
        actor: &Actor,
        id: i64,
        to: InstructionState,
        reason: Option<&str>,
        now: i64,
    ) -> Result<Instruction> {
        let scope = Self::instruction_scope(actor)?;
        let reason = match reason.map(str::trim).filter(|r| !r.is_empty()) {
            Some(r) => Some(text(Field::Reason, r, 2000, true)?),
            None if to == InstructionState::Rejected => {
                return Err(AppError::invalid(
                    Field::Reason,
                    Invalid::RejectionNeedsReason,
                ));
            }
            None => None,
        };
        let mut tx = self.store.begin().await?;
        let i = tx.instruction(scope, id).await?.ok_or(AppError::NotFound)?;
        if !actor.role.handles_instructions() {
            return Err(AppError::Forbidden(Forbidden::ActOnInstructions));
        }
        if !i.state.can_become(to)
            || !tx
                .set_instruction_state(id, i.state, to, reason.as_deref(), now)
                .await?
        {
            return Err(AppError::Conflict(Conflict::InstructionState {
                from: i.state.as_str().into(),
                to: to.as_str().into(),
            }));
        }
        let action = match to {
            InstructionState::Accepted => "instruction.accept",
            InstructionState::Rejected => "instruction.reject",
            InstructionState::Done => "instruction.done",
            InstructionState::Submitted => "instruction.submit",
        };
        tx.audit(
            record(
                actor,
                Some(i.customer_id),
                action,
                format!("instruction/{id}"),
                reason.map(|r| format!("reason={r}")).unwrap_or_default(),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        self.store
            .instruction(Scope::All, id)
            .await?
            .ok_or(AppError::NotFound)
    }

    pub async fn comment(self, actor: &Actor, id: i64, body: &str, now: i64) -> Result<Comment> {
        let scope = Self::instruction_scope(actor)?;
        let body = text(Field::Body, body, 10_000, true)?;
        let mut tx = self.store.begin().await?;
        let i = tx.instruction(scope, id).await?.ok_or(AppError::NotFound)?;
        if !actor.may(Action::CommentOnInstructions) {
            return Err(AppError::Forbidden(Forbidden::StaffComment));
        }
        let cid = tx
            .insert_comment(id, i.customer_id, actor.user_id, &body, now)
            .await?;
        tx.audit(
            record(
                actor,
                Some(i.customer_id),
                "instruction.comment",
                format!("instruction/{id}"),
                format!("comment={cid}"),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        let comments = self.store.comments(Scope::All, id).await?;
        comments
            .into_iter()
            .find(|c| c.id == cid)
            .ok_or(AppError::NotFound)
    }
}
