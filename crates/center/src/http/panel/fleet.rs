//! The equipment status (the fleet view): per piece of equipment installed at a site,
//! its customer and site, last contact, applied vs desired generation, failed applies
//! and drift, with filters by customer and state. In the panel (`/fleet`, Japanese and
//! English) and the REST API (`GET /api/v1/fleet`); [`agent_section`] shows one piece
//! of equipment's agent on its page.

use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use mamori_center_model::ids::CustomerId;
use mamori_center_model::ids::*;
use serde::Deserialize;

use mamori_center_model::messages::Lang;
use mamori_center_model::messages::panel::{ApplyOutcome, Common as C, Equipment as E};
use maud::{Markup, html};

use super::equipment::filter_form;
use super::{AppState, PanelUser, date, error_page, page};
use crate::domain::Actor;
use crate::gateways::reconcile::{FleetFilter, FleetState};

pub fn routes() -> Router<AppState> {
    Router::new().route("/fleet", get(fleet_page))
}

#[derive(Deserialize)]
struct Filter {
    state: Option<String>,
    customer_id: Option<String>,
}

fn filter_of(q: &Filter) -> Result<FleetFilter, String> {
    let state = match q.state.as_deref().filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => Some(FleetState::parse(v).ok_or_else(|| {
            format!(
                "state: {v:?} is not a fleet state; one of: {}",
                FleetState::ALL.map(|s| s.as_str()).join(", ")
            )
        })?),
    };
    let customer_id = match q
        .customer_id
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        None => None,
        Some(v) => Some(
            v.parse::<i64>()
                .map_err(|_| format!("customer_id: {v:?} is not a number"))?,
        ),
    };
    Ok(FleetFilter {
        customer_id: customer_id.map(CustomerId::new),
        state,
    })
}

fn apply_label(l: Lang, s: &str) -> &'static str {
    match s {
        "applied" => ApplyOutcome::Applied.text(l),
        "apply_failed" => ApplyOutcome::ApplyFailed.text(l),
        "rolled_back" => ApplyOutcome::RolledBack.text(l),
        "refused" => ApplyOutcome::Refused.text(l),
        _ => "—",
    }
}

fn generation(g: Option<i64>) -> String {
    g.map(|g| g.to_string()).unwrap_or_else(|| "—".into())
}

async fn fleet_page(State(s): State<AppState>, u: PanelUser, Query(q): Query<Filter>) -> Response {
    let l = u.lang;
    let f = filter_of(&q).unwrap_or_default();
    let rows = match s.app.fleet().list(&u.actor, &f).await {
        Ok(r) => r,
        Err(e) => return error_page(l, Some(&u), e),
    };
    let customers = s.app.customers().list(&u.actor).await.unwrap_or_default();
    let body = html! {
        (filter_form(
            l,
            "/fleet",
            FleetState::ALL.map(|st| (st.as_str(), st.name().text(l))),
            f.state.map(FleetState::as_str),
            &customers,
            f.customer_id,
        ))
        table #fleet {
            thead {
                tr {
                    th { (C::Equipment.text(l)) } th { (C::Customer.text(l)) } th { (C::Site.text(l)) }
                    th { (C::State.text(l)) } th { (E::LastContact.text(l)) } th { (E::AppliedOverDesired.text(l)) }
                    th { (E::LastApply.text(l)) } th { (E::Drift.text(l)) }
                }
            }
            tbody {
                @for r in &rows {
                    @let st = r.state();
                    tr class=(st.as_str()) {
                        td { a href={ "/equipment/" (r.equipment_id) } { (r.serial) } }
                        td { (r.customer_name) }
                        td { (r.site_name) }
                        td { (st.name().text(l)) }
                        td { (r.last_contact.map(|t| date(l, t)).unwrap_or_else(|| "—".into())) }
                        td { (generation(r.applied_generation)) " / " (generation(r.desired_generation)) }
                        td {
                            (r.apply_state.as_deref().map(|a| apply_label(l, a)).unwrap_or("—"))
                            @if let Some(e) = r.apply_error.as_deref().filter(|_| r.apply_state.as_deref() != Some("applied")) {
                                br; small { (e) }
                            }
                        }
                        td { (r.drift.as_deref().unwrap_or("—")) }
                    }
                }
            }
        }
        @if rows.is_empty() {
            p #empty { (E::NoneMatches.text(l)) }
        }
    };
    page(l, Some(&u), C::EquipmentStatus.text(l), body).into_response()
}

/// The agent part of a piece of equipment's page: last contact, applied generation,
/// the last apply (with its error), drift, and the newest reports. Empty when the
/// agent never spoke.
pub async fn agent_section(app: &crate::app::App, actor: &Actor, l: Lang, id: i64) -> Markup {
    let Ok((Some(st), reports)) = app.agents().status(actor, EquipmentId::new(id)).await else {
        return html! {};
    };
    html! {
        h2 { (E::Agent.text(l)) }
        dl #agent {
            dt { (E::LastContact.text(l)) } dd { (date(l, st.last_contact)) }
            dt { (E::AppliedGeneration.text(l)) } dd #applied { (st.applied_generation) }
            dt { (E::LastApply.text(l)) }
            dd id="last-apply" {
                (apply_label(l, &st.apply_state)) " "
                @if let Some(e) = st.apply_error.as_deref() {
                    "(" (E::GenerationLower.text(l)) " " (generation(st.apply_generation)) ": " (e) ")"
                }
            }
            dt { (E::Drift.text(l)) } dd #drift { (st.drift.as_deref().unwrap_or(E::NoDrift.text(l))) }
        }
        table #reports {
            thead {
                tr {
                    th { (C::When.text(l)) } th { (E::Report.text(l)) } th { (E::Generation.text(l)) }
                    th { (C::Detail.text(l)) }
                }
            }
            tbody {
                @for r in &reports {
                    tr {
                        td { (date(l, r.at)) }
                        td { (r.kind) }
                        td { (r.generation) }
                        td { (r.detail) }
                    }
                }
            }
        }
    }
}
