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

use super::{AppState, Form, PanelUser, check_csrf, csrf_field, date, error_page, page};
use crate::app::AppError;
use crate::domain::{Customer, Role};
use crate::gateways::EquipmentFilter;
use crate::gateways::inventory::EquipmentState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/equipment", get(list_page))
        .route("/equipment/{id}", get(unit_page))
        .route("/equipment/{id}/enrolment-token", post(enrolment_token))
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
            let body = html! {
                p { (E::EnrolmentTokenShownOnce.text(l)) }
                p { code #enrolment_token { (token) } }
                p { (E::ExpiresAt.text(l)) " " (date(l, expires_at)) }
                pre {
                    "umask 077\nmkdir -p /etc/mamori\nprintf '%s\\n' '" (token) "' > /etc/mamori/enrol.token\nmamori agent run --center https://CENTER:PORT --token-file /etc/mamori/enrol.token"
                }
            };
            crate::http::shows_secret(page(l, Some(&u), &e.serial, body))
        }
        Err(e) => error_page(l, Some(&u), e),
    }
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

#[derive(Deserialize)]
struct Filter {
    state: Option<String>,
    customer_id: Option<String>,
}

async fn list_page(State(s): State<AppState>, u: PanelUser, Query(q): Query<Filter>) -> Response {
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
        Err(e) => return error_page(l, Some(&u), e),
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
                        td { (e.placement.state.name().text(l)) }
                        td { (name_of(e.placement.customer_id.map(CustomerId::get))) }
                        td { (date(l, e.updated_at)) }
                    }
                }
            }
        }
        @if list.is_empty() {
            p #empty { (E::NoneMatches.text(l)) }
        }
    };
    page(l, Some(&u), C::EquipmentRegister.text(l), body).into_response()
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
    let enrol = u.actor.customer_id.is_none()
        && matches!(u.actor.role, Role::Admin | Role::Operator)
        && e.placement.site_id.is_some()
        && e.placement.state == EquipmentState::Installed;
    let body = html! {
        dl {
            dt { (C::Model.text(l)) } dd { (e.model) }
            dt { (C::State.text(l)) } dd #state { (e.placement.state.name().text(l)) }
            dt { (C::Customer.text(l)) } dd { @if let Some(c) = e.placement.customer_id { (c) } }
            dt { (C::Site.text(l)) } dd { @if let Some(c) = e.placement.site_id { (c) } }
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
                        td { @if let Some(c) = h.site_id { (c) } }
                        td { (h.actor) }
                        td { (h.note) }
                    }
                }
            }
        }
        (contracts)
        @if enrol {
            h2 { (E::AgentEnrolment.text(l)) }
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
