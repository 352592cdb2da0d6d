//! Panel pages of the equipment: the register (filters by state and customer) and one
//! piece of equipment with its whole history, its contracts, the agent enrolment
//! token and its agent.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use mamori_center_model::ids::*;
use mamori_center_model::messages::Lang;
use mamori_center_model::messages::panel::{Common as C, Equipment as E};
use maud::{Markup, html};
use serde::Deserialize;

use super::{
    AppState, Entered, Form, PanelUser, check_csrf, csrf_field, date, done, error_page, id_of,
    page, refused, submit,
};
use crate::app::AppError;
use crate::domain::Customer;
use crate::gateways::EquipmentFilter;
use crate::gateways::inventory::{EquipmentState, Move};
use axum::http::StatusCode;
use axum::response::Redirect;
use mamori_center_model::authz::Action;
use mamori_center_model::messages::panel::Flash;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/equipment", get(list_page).post(stock))
        .route("/equipment/{id}", get(unit_page))
        .route("/equipment/{id}/move", post(move_unit))
        .route("/equipment/{id}/enrolment-token", post(enrolment_token))
}

#[derive(Deserialize)]
struct StockForm {
    csrf: Option<String>,
    serial: String,
    model: String,
}

/// `POST /equipment`: a unit added to stock, then its page.
async fn stock(State(s): State<AppState>, u: PanelUser, Form(f): Form<StockForm>) -> Response {
    if let Err(r) = check_csrf(&u, &f.csrf) {
        return *r;
    }
    let stocked = s
        .app
        .inventory()
        .stock(&u.actor, &f.serial, &f.model, s.now_ms())
        .await;
    match stocked {
        Ok(e) => {
            Redirect::to(&done(&format!("/equipment/{}", e.id), Flash::UnitStocked)).into_response()
        }
        Err(e) => match refused(
            u.lang,
            e,
            &[
                ("serial", "serial", &f.serial),
                ("model", "model", &f.model),
            ],
        ) {
            Ok(entered) => {
                let mut r = list_view(&s, &u, Filter::default(), &entered).await;
                *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
                r
            }
            Err(e) => error_page(u.lang, Some(&u), e),
        },
    }
}

#[derive(Deserialize)]
struct MoveForm {
    csrf: Option<String>,
    to: String,
    #[serde(default)]
    customer_id: String,
    #[serde(default)]
    site_id: String,
    #[serde(default)]
    note: String,
}

/// `POST /equipment/{id}/move`: the unit's next state. The customer (lending) and the
/// site (installing) come from the lists of the unit's page, by name; only the one the
/// move takes is sent on, so a stale field of another form never makes a move fail.
async fn move_unit(
    State(s): State<AppState>,
    u: PanelUser,
    Path(id): Path<String>,
    Form(f): Form<MoveForm>,
) -> Response {
    let act = async {
        let id: i64 = id_of(&id)?;
        let to = EquipmentState::parse(f.to.trim()).ok_or_else(|| {
            AppError::invalid(
                crate::app::Field::To,
                crate::app::Invalid::Empty {
                    field: crate::app::Field::To,
                },
            )
        })?;
        let pick = |v: &str, field: crate::app::Field| -> Result<Option<i64>, AppError> {
            match v.trim() {
                "" => Ok(None),
                v => v.parse::<i64>().map(Some).map_err(|_| {
                    AppError::invalid(field, crate::app::Invalid::NotANumber { field })
                }),
            }
        };
        let m = Move {
            to,
            customer_id: match to {
                EquipmentState::Lent => {
                    pick(&f.customer_id, crate::app::Field::CustomerId)?.map(CustomerId::new)
                }
                _ => None,
            },
            site_id: match to {
                EquipmentState::Installed => {
                    pick(&f.site_id, crate::app::Field::SiteId)?.map(SiteId::new)
                }
                _ => None,
            },
        };
        s.app
            .inventory()
            .apply_move(&u.actor, EquipmentId::new(id), m, &f.note, s.now_ms())
            .await
    };
    submit(&u, &f.csrf, act, |e| {
        done(&format!("/equipment/{}", e.id), Flash::UnitMoved)
    })
    .await
}

#[derive(Deserialize)]
struct TokenForm {
    csrf: Option<String>,
    ttl_minutes: Option<String>,
}

/// `POST /equipment/{id}/enrolment-token`: a one-time enrolment token for the unit at
/// the site where it is installed, shown once with the commands that put it in a file.
async fn enrolment_token(
    State(s): State<AppState>,
    u: PanelUser,
    Path(id): Path<String>,
    Form(f): Form<TokenForm>,
) -> Response {
    if let Err(r) = check_csrf(&u, &f.csrf) {
        return *r;
    }
    let l = u.lang;
    let Ok(id) = id.parse::<i64>() else {
        return error_page(l, Some(&u), AppError::NotFound);
    };
    let minutes = match f.ttl_minutes.as_deref().map(str::trim) {
        None | Some("") => 60,
        Some(m) => match m.parse::<i64>() {
            Ok(v) => v,
            Err(_) => {
                return error_page(
                    l,
                    Some(&u),
                    AppError::invalid(
                        crate::app::Field::TtlMinutes,
                        crate::app::Invalid::EnrolmentTtlNotMinutes,
                    ),
                );
            }
        },
    };
    let (e, _) = match s.app.inventory().get(&u.actor, EquipmentId::new(id)).await {
        Ok(x) => x,
        Err(e) => return error_page(l, Some(&u), e),
    };
    let Some(site) = e.placement.site_id else {
        return error_page(
            l,
            Some(&u),
            AppError::invalid(
                crate::app::Field::EquipmentId,
                crate::app::Invalid::UnitNotAtSite,
            ),
        );
    };
    match s
        .app
        .enrolment()
        .create_token(
            &u.actor,
            site,
            EquipmentId::new(id),
            minutes.saturating_mul(60_000),
            s.now_ms(),
        )
        .await
    {
        Ok((token, expires_at)) => {
            // The token goes into a file only root reads, never onto a command line
            // (other local users see command lines).
            let agent_url = s.agent_url.get();
            // The token is `SECRET.FINGERPRINT` once the listener has recorded its CA.
            let fingerprint = token.rsplit_once('.').map(|(_, fp)| fp);
            let body = html! {
                p { (E::EnrolmentTokenShownOnce.text(l)) }
                p { code #enrolment_token { (token) } }
                p { (E::ExpiresAt.text(l)) " " (date(l, expires_at)) }
                @match agent_url {
                    Some(url) => {
                        dl {
                            dt { (E::AgentUrl.text(l)) } dd { code #agent_url { (url) } }
                            @if let Some(fp) = fingerprint {
                                dt { (E::CaFingerprint.text(l)) } dd { code.wrap #ca_fingerprint { (fp) } }
                            }
                        }
                        p { (E::AgentCommand.text(l)) }
                        pre #enrol_command {
                            (enrol_command(url, &token))
                        }
                        button type="button" #copy_command data-copy="enrol_command" { (E::Copy.text(l)) }
                    }
                    None => p.err #agent_listener_off { (E::AgentListenerOff.text(l)) }
                }
            };
            crate::http::shows_secret(page(l, Some(&u), &e.serial, body))
        }
        Err(e) => error_page(l, Some(&u), e),
    }
}

/// The commands that enrol a unit's agent as root: the token into a file only root
/// reads (never onto a command line, which other local users see), then
/// `mamori agent enrol` at the agent listener's URL.
fn enrol_command(agent_url: &str, token: &str) -> String {
    format!(
        "umask 077\nmkdir -p /etc/mamori\nprintf '%s\\n' '{token}' > /etc/mamori/enrol.token\nmamori agent enrol --center {agent_url} --token-file /etc/mamori/enrol.token\n"
    )
}

/// A unit's state as a badge: green installed, red disconnected or failed, amber
/// on its way back, grey otherwise.
pub(super) fn state_badge(l: Lang, st: EquipmentState) -> Markup {
    let class = match st {
        EquipmentState::Installed => "badge ok",
        EquipmentState::Disconnected | EquipmentState::Failed => "badge bad",
        EquipmentState::Replaced | EquipmentState::Returned | EquipmentState::Relocating => {
            "badge warn"
        }
        EquipmentState::InStock | EquipmentState::Lent => "badge",
    };
    html! { span class=(class) { (st.name().text(l)) } }
}

/// The filter form of a list of equipment (`id="filter"`, GET to `action`): a state
/// select from `states` (value, label) and a customer select, each with an empty
/// choice for any, the current choices selected, and the Filter button.
pub(super) fn filter_form<'a>(
    l: Lang,
    action: &str,
    states: impl IntoIterator<Item = (&'a str, &'a str)>,
    state: Option<&str>,
    customers: &[Customer],
    customer_id: Option<CustomerId>,
) -> Markup {
    html! {
        form method="get" action=(action) #filter {
            label {
                (C::State.text(l)) " "
                select name="state" {
                    option value="" { "—" }
                    @for (value, label) in states {
                        option value=(value) selected[state == Some(value)] { (label) }
                    }
                }
            }
            " "
            label {
                (C::Customer.text(l)) " "
                select name="customer_id" {
                    option value="" { "—" }
                    @for c in customers {
                        option value=(c.id) selected[customer_id == Some(c.id)] { (c.name) }
                    }
                }
            }
            " "
            button { (C::Filter.text(l)) }
        }
    }
}

#[derive(Deserialize, Default)]
struct Filter {
    state: Option<String>,
    customer_id: Option<String>,
}

async fn list_page(State(s): State<AppState>, u: PanelUser, Query(q): Query<Filter>) -> Response {
    list_view(&s, &u, q, &Entered::default()).await
}

/// The register; `entered` is a refused stock form, shown again.
async fn list_view(s: &AppState, u: &PanelUser, q: Filter, entered: &Entered) -> Response {
    let l = u.lang;
    let state = q
        .state
        .as_deref()
        .filter(|v| !v.is_empty())
        .and_then(EquipmentState::parse);
    let customer_id = q
        .customer_id
        .as_deref()
        .and_then(|v| v.trim().parse::<i64>().ok());
    let list = match s
        .app
        .inventory()
        .list(
            &u.actor,
            &EquipmentFilter {
                state,
                customer_id: customer_id.map(CustomerId::new),
            },
        )
        .await
    {
        Ok(x) => x,
        Err(e) => return error_page(l, Some(u), e),
    };
    let customers = s.app.customers().list(&u.actor).await.unwrap_or_default();
    let name_of = |id: Option<i64>| {
        id.and_then(|id| customers.iter().find(|c| c.id == CustomerId::new(id)))
            .map(|c| c.name.as_str())
            .unwrap_or_default()
    };
    let body = html! {
        (filter_form(
            l,
            "/equipment",
            EquipmentState::ALL.map(|st| (st.as_str(), st.name().text(l))),
            state.map(EquipmentState::as_str),
            &customers,
            customer_id.map(CustomerId::new),
        ))
        table #equipment {
            thead {
                tr {
                    th { (C::SerialNumber.text(l)) } th { (C::Model.text(l)) } th { (C::State.text(l)) }
                    th { (C::Customer.text(l)) } th { (E::Updated.text(l)) }
                }
            }
            tbody {
                @for e in &list {
                    tr {
                        td { a href={ "/equipment/" (e.id) } { (e.serial) } }
                        td { (e.model) }
                        td { (state_badge(l, e.placement.state)) }
                        td { (name_of(e.placement.customer_id.map(CustomerId::get))) }
                        td { (date(l, e.updated_at)) }
                    }
                }
            }
        }
        @if list.is_empty() {
            p #empty { (E::NoneMatches.text(l)) }
        }
        @if u.actor.may(Action::StockEquipment) {
            h2 { (E::StockUnit.text(l)) }
            form method="post" action="/equipment" #stock_form {
                (csrf_field(&u.csrf))
                label {
                    (C::SerialNumber.text(l)) br;
                    input #serial name="serial" required value=(entered.value("serial")) aria-invalid=[entered.invalid("serial").then_some("true")];
                    (entered.error("serial"))
                }
                label {
                    (C::Model.text(l)) br;
                    input #model name="model" required value=(entered.value("model")) aria-invalid=[entered.invalid("model").then_some("true")];
                    (entered.error("model"))
                }
                button #stock { (E::AddToStock.text(l)) }
            }
        }
    };
    page(l, Some(u), C::EquipmentRegister.text(l), body).into_response()
}

async fn unit_page(State(s): State<AppState>, u: PanelUser, Path(id): Path<String>) -> Response {
    let l = u.lang;
    let Ok(id) = id.parse::<i64>() else {
        return error_page(l, Some(&u), AppError::NotFound);
    };
    let (e, history) = match s.app.inventory().get(&u.actor, EquipmentId::new(id)).await {
        Ok(x) => x,
        Err(e) => return error_page(l, Some(&u), e),
    };
    let contracts = super::backoffice::unit_contracts(&s.app, &u.actor, l, id).await;
    let agent = super::fleet::agent_section(&s.app, &u.actor, l, id).await;
    let enrol = u.actor.may(Action::IssueEnrolmentTokens)
        && e.placement.site_id.is_some()
        && e.placement.state == EquipmentState::Installed;
    let customers = s.app.customers().list(&u.actor).await.unwrap_or_default();
    let sites = s.app.sites().list(&u.actor).await.unwrap_or_default();
    let customer_name = |id: CustomerId| {
        customers
            .iter()
            .find(|c| c.id == id)
            .map_or_else(|| id.to_string(), |c| c.name.clone())
    };
    let site_name = |id: SiteId| {
        sites
            .iter()
            .find(|x| x.id == id)
            .map_or_else(|| id.to_string(), |x| x.name.clone())
    };
    let moves = u.actor.may(Action::MoveEquipment);
    let next = e.placement.state.next();
    let others: Vec<EquipmentState> = next
        .iter()
        .copied()
        .filter(|t| !matches!(t, EquipmentState::Lent | EquipmentState::Installed))
        .collect();
    let own_sites: Vec<_> = sites
        .iter()
        .filter(|x| Some(x.customer_id) == e.placement.customer_id)
        .collect();
    let body = html! {
        dl {
            dt { (C::Model.text(l)) } dd { (e.model) }
            dt { (C::State.text(l)) } dd #state { (state_badge(l, e.placement.state)) }
            dt { (C::Customer.text(l)) }
            dd #customer {
                @if let Some(c) = e.placement.customer_id {
                    a href={ "/customers/" (c) } { (customer_name(c)) }
                }
            }
            dt { (C::Site.text(l)) }
            dd #site { @if let Some(x) = e.placement.site_id { (site_name(x)) } }
        }
        @if moves && next.contains(&EquipmentState::Lent) {
            h2 { (E::LendToCustomer.text(l)) }
            form method="post" action={ "/equipment/" (id) "/move" } #lend_form {
                (csrf_field(&u.csrf))
                input type="hidden" name="to" value=(EquipmentState::Lent.as_str());
                label {
                    (C::Customer.text(l)) br;
                    select #lend_customer name="customer_id" required {
                        option value="" { "—" }
                        @for c in &customers {
                            option value=(c.id) { (c.name) }
                        }
                    }
                }
                label { (C::Note.text(l)) br; input name="note" maxlength="1000"; }
                button #lend { (E::Lend.text(l)) }
            }
        }
        @if moves && next.contains(&EquipmentState::Installed) {
            h2 { (E::InstallAtSite.text(l)) }
            @if own_sites.is_empty() {
                p #no_sites { (E::NoSitesOfCustomer.text(l)) }
            } @else {
                form method="post" action={ "/equipment/" (id) "/move" } #install_form {
                    (csrf_field(&u.csrf))
                    input type="hidden" name="to" value=(EquipmentState::Installed.as_str());
                    label {
                        (C::Site.text(l)) br;
                        select #install_site name="site_id" required {
                            option value="" { "—" }
                            @for x in &own_sites {
                                option value=(x.id) { (x.name) }
                            }
                        }
                    }
                    label { (C::Note.text(l)) br; input name="note" maxlength="1000"; }
                    button #install { (E::Install.text(l)) }
                }
            }
        }
        @if moves && !others.is_empty() {
            h2 { (E::OtherMove.text(l)) }
            form method="post" action={ "/equipment/" (id) "/move" } #move_form {
                (csrf_field(&u.csrf))
                label {
                    (E::MoveTo.text(l)) br;
                    select #move_to name="to" {
                        @for t in &others {
                            option value=(t.as_str()) { (t.name().text(l)) }
                        }
                    }
                }
                label { (C::Note.text(l)) br; input name="note" maxlength="1000"; }
                button #move { (E::Move.text(l)) }
            }
        }
        h2 { (E::History.text(l)) }
        table #history {
            thead {
                tr {
                    th { (C::When.text(l)) } th { (E::Change.text(l)) } th { (C::Site.text(l)) }
                    th { (E::By.text(l)) } th { (C::Note.text(l)) }
                }
            }
            tbody {
                @for h in &history {
                    tr {
                        td { (date(l, h.at)) }
                        td {
                            (h.from.map(|f| f.name().text(l)).unwrap_or("—"))
                            " → " (h.to.name().text(l))
                        }
                        td { @if let Some(c) = h.site_id { (site_name(c)) } }
                        td { (h.actor) }
                        td { (h.note) }
                    }
                }
            }
        }
        (contracts)
        @if enrol {
            h2 { (E::AgentEnrolment.text(l)) }
            @if s.agent_url.get().is_none() {
                p.err #agent_listener_off { (E::AgentListenerOff.text(l)) }
            }
            form method="post" action={ "/equipment/" (id) "/enrolment-token" } {
                (csrf_field(&u.csrf))
                label { (E::ValidForMinutes.text(l)) " " input name="ttl_minutes" value="60" size="5"; }
                " "
                button #create_token { (E::CreateEnrolmentToken.text(l)) }
            }
        }
        (agent)
    };
    page(l, Some(&u), &e.serial, body).into_response()
}
