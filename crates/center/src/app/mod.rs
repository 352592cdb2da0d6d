//! The use cases. Every function takes the caller's identity ([`Actor`]) and scopes every
//! read and write to the caller's customer; another customer's object is `NotFound`,
//! exactly like one that does not exist. Every change is audited in its transaction.
//! Time comes in as a value (`now`, milliseconds since the Unix epoch).

use crate::audit::Record;
use crate::auth::{self, AuthError};
use crate::domain::*;
use crate::signin::{self, Guard};
use crate::store::{Admission, Store, StoreError, TokenFilter};
use mamori_center_model::authz::Action;
use mamori_center_model::ids::*;

pub use mamori_center_model::messages::Lang;

mod accounts;
mod audit;
mod customers;
mod instructions;
pub mod monitoring;
mod sites;
mod tokens;
mod users;

pub use accounts::Accounts;
pub use audit::AuditTrail;
pub use customers::Customers;
pub use instructions::Instructions;
pub use monitoring::Monitoring;
pub use sites::Sites;
pub use tokens::Tokens;
pub use users::Users;

/// Declares a capability's handle: a `Copy` type over the [`App`] (`app.users()`), whose
/// methods are the capability's use cases; it dereferences to the `App` for the store
/// and the settings. Every capability of the center is reached this way, never through
/// a method of `App` named after it.
macro_rules! capability {
    ($(#[$doc:meta])* $name:ident, $ctor:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy)]
        pub struct $name<'a>(&'a $crate::app::App);

        impl $crate::app::App {
            $(#[$doc])*
            pub fn $ctor(&self) -> $name<'_> {
                $name(self)
            }
        }

        impl std::ops::Deref for $name<'_> {
            type Target = $crate::app::App;
            fn deref(&self) -> &$crate::app::App {
                self.0
            }
        }
    };
}
pub(crate) use capability;
pub use mamori_center_model::messages::errors::{
    ApiHint, ApiProblem, Conflict, ErrorWords, Field, Forbidden, Invalid, Throttled,
    Unauthenticated,
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
    /// Where and how incident notifications are mailed; `None`: not at all.
    pub notify: Option<Notify>,
}

/// The mail of the monitoring's notifications: the relay, the sender, the recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notify {
    pub smtp: String,
    pub from: String,
    pub to: String,
}

impl Notify {
    /// From the configuration: both the relay and the recipient set, or nothing.
    pub fn from_config(config: &crate::config::Config) -> Option<Notify> {
        let smtp = config.backoffice.smtp.trim();
        let to = config.noc_email.trim();
        (!smtp.is_empty() && !to.is_empty()).then(|| Notify {
            smtp: smtp.to_string(),
            from: config.backoffice.mail_from.clone(),
            to: to.to_string(),
        })
    }
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
            notify: Notify::from_config(config),
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
            notify: None,
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
    typed(field, v, multiline)?;
    Ok(v.to_string())
}

/// Refuses `value` when it holds control characters (line breaks only where
/// `multiline`), characters that reorder what is shown, or nothing visible
/// (`mamori_center_model::text`).
pub(crate) fn typed(field: Field, value: &str, multiline: bool) -> Result<()> {
    use mamori_center_model::text::{Problem, problem};
    match problem(value, multiline) {
        None => Ok(()),
        Some(Problem::Control(c)) => Err(AppError::invalid(
            field,
            Invalid::ControlCharacter { field, c: c as u32 },
        )),
        Some(Problem::Bidi(c)) => Err(AppError::invalid(
            field,
            Invalid::BidiControl { field, c: c as u32 },
        )),
        Some(Problem::Invisible) => Err(AppError::invalid(field, Invalid::OnlyInvisible { field })),
    }
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
    customer_id: Option<CustomerId>,
    action: &str,
    object: String,
    detail: String,
) -> Record {
    Record {
        actor_id: Some(actor.user_id.get()),
        actor: actor.label.clone(),
        customer_id: customer_id.map(CustomerId::get),
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
}
