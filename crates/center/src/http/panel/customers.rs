//! Customers (the list, a new customer with its officer, one customer's sites and
//! equipment), instructions (the list and its htmx fragment, filing one, one
//! instruction with its comments and the workflow's buttons), and the audit trail.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use mamori_center_model::ids::CustomerId;
use mamori_center_model::ids::*;
use mamori_center_model::messages::Lang;
use mamori_center_model::messages::panel::{
    Common as C, Customers as W, InstructionKindName, InstructionStateName, RoleName,
};
use maud::{Markup, html};
use serde::Deserialize;

use super::{
    AppState, Entered, Form, PanelUser, check_csrf, csrf_field, date, done, error_page, id_of,
    page, refused, submit,
};
use crate::app::AppError;
use crate::domain::{Instruction, InstructionKind, InstructionState};
use axum::http::StatusCode;
use mamori_center_model::authz::Action;
use mamori_center_model::messages::panel::Flash;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/customers", get(customers_page).post(create_customer))
        .route("/customers/{id}", get(customer_page))
        .route("/customers/{id}/sites", post(create_site))
        .route(
            "/instructions",
            get(instructions_page).post(submit_instruction),
        )
        .route("/instructions/{id}", get(instruction_page))
        .route("/instructions/{id}/{action}", post(act_instruction))
        .route("/audit", get(audit_page))
        .route("/partials/instructions", get(instructions_partial))
}

fn kind_name(k: InstructionKind) -> InstructionKindName {
    match k {
        InstructionKind::PolicyChange => InstructionKindName::PolicyChange,
        InstructionKind::MaintenanceRequest => InstructionKindName::MaintenanceRequest,
        InstructionKind::Question => InstructionKindName::Question,
        InstructionKind::Other => InstructionKindName::Other,
    }
}

fn state_name(s: InstructionState) -> InstructionStateName {
    match s {
        InstructionState::Submitted => InstructionStateName::Submitted,
        InstructionState::Accepted => InstructionStateName::Accepted,
        InstructionState::Rejected => InstructionStateName::Rejected,
        InstructionState::Done => InstructionStateName::Done,
    }
}

// ---- customers ----------------------------------------------------------------------------

async fn customers_page(State(s): State<AppState>, u: PanelUser) -> Response {
    customers_view(&s, &u, &Entered::default()).await
}

/// The customers; `entered` is a refused new-customer form, shown again.
async fn customers_view(s: &AppState, u: &PanelUser, entered: &Entered) -> Response {
    let l = u.lang;
    let list = match s.app.customers().list(&u.actor).await {
        Ok(v) => v,
        Err(e) => return error_page(l, Some(u), e),
    };
    let officer = RoleName::Officer.text(l);
    let body = html! {
        table #customers {
            tr { th { "ID" } th { (C::Name.text(l)) } th { (C::When.text(l)) } }
            @for c in &list {
                tr {
                    td { (c.id) }
                    td { a href={ "/customers/" (c.id) } data-name=(c.name) { (c.name) } }
                    td { (date(l, c.created_at)) }
                }
            }
        }
        @if u.actor.may(Action::ManageCustomers) {
            h2 { (W::NewCustomerAndOfficer.text(l)) }
            form method="post" action="/customers" {
                (csrf_field(&u.csrf))
                label {
                    (C::Name.text(l)) br;
                    input #customer_name name="name" required value=(entered.value("name")) aria-invalid=[entered.invalid("name").then_some("true")];
                    (entered.error("name"))
                }
                label {
                    (officer) " — " (mamori_center_model::messages::panel::Accounts::EmailAddress.text(l)) br;
                    input #officer_email name="officer_email" type="email" required value=(entered.value("officer_email")) aria-invalid=[entered.invalid("officer_email").then_some("true")];
                    (entered.error("officer_email"))
                }
                label {
                    (officer) " — " (mamori_center_model::messages::panel::Accounts::PersonName.text(l)) br;
                    input #officer_name name="officer_name" required value=(entered.value("officer_name")) aria-invalid=[entered.invalid("officer_name").then_some("true")];
                    (entered.error("officer_name"))
                }
                button #create_customer { (C::Create.text(l)) }
            }
        }
    };
    page(l, Some(u), C::Customers.text(l), body).into_response()
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
    if let Err(r) = check_csrf(&u, &f.csrf) {
        return *r;
    }
    let created = s
        .app
        .customers()
        .create(
            &u.actor,
            &f.name,
            &f.officer_email,
            &f.officer_name,
            s.now_ms(),
        )
        .await;
    match created {
        Ok((c, officer, token)) => {
            let what = html! {
                p #created_customer data-id=(c.id) { (c.name) " (ID " (c.id) ")" }
                p { (RoleName::Officer.text(l)) ": " (officer.email) }
            };
            super::accounts::created_page(&s, &u, W::NewCustomerAndOfficer.text(l), what, &token)
        }
        Err(e) => match refused(
            l,
            e,
            &[
                ("name", "name", &f.name),
                ("officer_email", "email", &f.officer_email),
                ("officer_name", "display_name", &f.officer_name),
            ],
        ) {
            Ok(entered) => {
                let mut r = customers_view(&s, &u, &entered).await;
                *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
                r
            }
            Err(e) => error_page(l, Some(&u), e),
        },
    }
}

async fn customer_page(
    State(s): State<AppState>,
    u: PanelUser,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return error_page(u.lang, Some(&u), AppError::NotFound);
    };
    customer_view(&s, &u, id, &Entered::default()).await
}

/// One customer's page; `entered` is a refused new-site form, shown again.
async fn customer_view(s: &AppState, u: &PanelUser, id: i64, entered: &Entered) -> Response {
    let l = u.lang;
    let c = match s.app.customers().get(&u.actor, CustomerId::new(id)).await {
        Ok(c) => c,
        Err(e) => return error_page(l, Some(u), e),
    };
    let sites = s.app.sites().list(&u.actor).await.unwrap_or_default();
    let filter = crate::gateways::EquipmentFilter {
        customer_id: Some(CustomerId::new(id)),
        ..Default::default()
    };
    let equipment = s
        .app
        .inventory()
        .list(&u.actor, &filter)
        .await
        .unwrap_or_default();
    let sites: Vec<_> = sites
        .iter()
        .filter(|x| x.customer_id == CustomerId::new(id))
        .collect();
    let body = html! {
        p { "ID " (c.id) " — " (date(l, c.created_at)) }
        h2 { (C::Sites.text(l)) }
        @if sites.is_empty() {
            p #no_sites { (W::NoSites.text(l)) }
        } @else {
            table #sites {
                thead { tr { th { (C::Name.text(l)) } th { (W::Address.text(l)) } th {} } }
                tbody {
                    @for x in &sites {
                        tr {
                            td.site_name { (x.name) }
                            td { (x.address) }
                            td { a href={ "/sites/" (x.id) "/revisions" } { (W::ConfigurationRevisions.text(l)) } }
                        }
                    }
                }
            }
        }
        @if u.actor.may(Action::ManageCustomers) {
            h3 { (W::NewSite.text(l)) }
            form method="post" action={ "/customers/" (id) "/sites" } #new_site {
                (csrf_field(&u.csrf))
                label {
                    (C::Name.text(l)) br;
                    input #site_name name="name" required value=(entered.value("name")) aria-invalid=[entered.invalid("name").then_some("true")];
                    (entered.error("name"))
                }
                label {
                    (W::Address.text(l)) br;
                    input #site_address name="address" value=(entered.value("address")) aria-invalid=[entered.invalid("address").then_some("true")];
                    (entered.error("address"))
                }
                button #create_site { (C::Create.text(l)) }
            }
        }
        h2 { (C::Equipment.text(l)) }
        ul {
            @for x in &equipment {
                li {
                    a href={ "/equipment/" (x.id) } { (x.serial) }
                    " / " (x.model) " (" (x.placement.state.name().text(l)) ")"
                }
            }
        }
    };
    page(l, Some(u), &c.name, body).into_response()
}

#[derive(Deserialize)]
struct NewSiteForm {
    csrf: Option<String>,
    name: String,
    #[serde(default)]
    address: String,
}

/// `POST /customers/{id}/sites`: a new site of the customer, then back to its page.
async fn create_site(
    State(s): State<AppState>,
    u: PanelUser,
    Path(id): Path<String>,
    Form(f): Form<NewSiteForm>,
) -> Response {
    if let Err(r) = check_csrf(&u, &f.csrf) {
        return *r;
    }
    let Ok(id) = id.parse::<i64>() else {
        return error_page(u.lang, Some(&u), AppError::NotFound);
    };
    let created = s
        .app
        .sites()
        .create(
            &u.actor,
            CustomerId::new(id),
            &f.name,
            &f.address,
            s.now_ms(),
        )
        .await;
    match created {
        Ok(site) => axum::response::Redirect::to(&done(
            &format!("/customers/{}", site.customer_id),
            Flash::SiteCreated,
        ))
        .into_response(),
        Err(e) => match refused(
            u.lang,
            e,
            &[
                ("name", "name", &f.name),
                ("address", "address", &f.address),
            ],
        ) {
            Ok(entered) => {
                let mut r = customer_view(&s, &u, id, &entered).await;
                *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
                r
            }
            Err(e) => error_page(u.lang, Some(&u), e),
        },
    }
}

// ---- instructions -------------------------------------------------------------------------

/// The instruction table of the dashboard and the instructions page.
pub(super) fn instruction_table(l: Lang, list: &[Instruction]) -> Markup {
    if list.is_empty() {
        return html! { p #no_instructions { (C::NoneYet.text(l)) } };
    }
    html! {
        table #instructions {
            tr {
                th { "ID" } th { (C::CustomerId.text(l)) } th { (W::Subject.text(l)) }
                th { (C::Kind.text(l)) } th { (C::State.text(l)) } th { (C::When.text(l)) }
            }
            @for i in list {
                tr {
                    td { (i.id) }
                    td { (i.customer_id) }
                    td { a href={ "/instructions/" (i.id) } { (i.subject) } }
                    td { (kind_name(i.kind).text(l)) }
                    td.state {
                        span class=(match i.state {
                            InstructionState::Submitted => "badge warn",
                            InstructionState::Accepted => "badge",
                            InstructionState::Rejected => "badge bad",
                            InstructionState::Done => "badge ok",
                        }) { (state_name(i.state).text(l)) }
                    }
                    td { (date(l, i.created_at)) }
                }
            }
        }
    }
}

/// The dashboard's instruction table, refreshed in place by htmx.
async fn instructions_partial(State(s): State<AppState>, u: PanelUser) -> Response {
    match s.app.instructions().list(&u.actor, 10).await {
        Ok(list) => Html(instruction_table(u.lang, &list).into_string()).into_response(),
        Err(e) => error_page(u.lang, Some(&u), e),
    }
}

async fn instructions_page(State(s): State<AppState>, u: PanelUser) -> Response {
    let l = u.lang;
    let list = match s.app.instructions().list(&u.actor, 200).await {
        Ok(v) => v,
        Err(e) => return error_page(l, Some(&u), e),
    };
    let body = html! {
        (instruction_table(l, &list))
        @if u.actor.may(Action::FileInstructions) {
            h2 { (W::SubmitNewInstruction.text(l)) }
            form #submit_form method="post" action="/instructions" {
                (csrf_field(&u.csrf))
                label { (W::Subject.text(l)) br; input #subject name="subject" required maxlength="200"; }
                label {
                    (C::Kind.text(l)) br;
                    select #kind name="kind" {
                        @for k in InstructionKind::ALL {
                            option value=(k.as_str()) { (kind_name(k).text(l)) }
                        }
                    }
                }
                label { (W::Details.text(l)) br; textarea #body name="body" required {} }
                button #submit_instruction { (C::Submit.text(l)) }
            }
        }
    };
    page(l, Some(&u), C::Instructions.text(l), body).into_response()
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
        .instructions()
        .submit(&u.actor, &f.subject, &f.body, &f.kind, s.now_ms());
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
    let (i, comments) = match s
        .app
        .instructions()
        .get(&u.actor, InstructionId::new(id))
        .await
    {
        Ok(v) => v,
        Err(e) => return error_page(l, Some(&u), e),
    };
    let handles = u.actor.may(Action::HandleInstructions);
    let body = html! {
        p {
            (C::Kind.text(l)) ": " (kind_name(i.kind).text(l)) " — "
            (C::State.text(l)) ": " strong #state { (state_name(i.state).text(l)) } " — "
            (date(l, i.created_at))
        }
        pre #instruction_body { (i.body) }
        @if let Some(r) = &i.reason {
            p { (W::Reason.text(l)) ": " (r) }
        }
        h2 { (W::Comments.text(l)) }
        ul #comments {
            @for c in &comments {
                li { (date(l, c.created_at)) " — " (c.body) }
            }
        }
        @if handles && i.state == InstructionState::Submitted {
            form method="post" action={ "/instructions/" (id) "/accept" } class="inline" {
                (csrf_field(&u.csrf))
                button #accept { (W::Accept.text(l)) }
            }
            " "
            form method="post" action={ "/instructions/" (id) "/reject" } {
                (csrf_field(&u.csrf))
                label { (W::Reason.text(l)) br; input #reason name="text"; }
                button #reject { (W::Reject.text(l)) }
            }
        }
        @if handles && i.state == InstructionState::Accepted {
            form method="post" action={ "/instructions/" (id) "/done" } {
                (csrf_field(&u.csrf))
                button #done { (W::MarkDone.text(l)) }
            }
        }
        @if u.actor.may(Action::CommentOnInstructions) {
            form method="post" action={ "/instructions/" (id) "/comment" } {
                (csrf_field(&u.csrf))
                label { (W::Comment.text(l)) br; textarea #comment name="text" required {} }
                button #add_comment { (C::Submit.text(l)) }
            }
        }
    };
    page(l, Some(&u), &i.subject, body).into_response()
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
        let now = s.now_ms();
        let text = f.text.as_deref();
        let state = match action.as_str() {
            "accept" => InstructionState::Accepted,
            "reject" => InstructionState::Rejected,
            "done" => InstructionState::Done,
            "comment" => {
                s.app
                    .instructions()
                    .comment(&u.actor, InstructionId::new(id), text.unwrap_or(""), now)
                    .await?;
                return Ok(id);
            }
            _ => return Err(AppError::NotFound),
        };
        s.app
            .instructions()
            .decide(&u.actor, InstructionId::new(id), state, text, now)
            .await?;
        Ok(id)
    };
    submit(&u, &f.csrf, act, |id| format!("/instructions/{id}")).await
}

// ---- the audit trail ---------------------------------------------------------------------

#[derive(Deserialize)]
struct AuditQuery {
    before: Option<i64>,
}

async fn audit_page(
    State(s): State<AppState>,
    u: PanelUser,
    Query(q): Query<AuditQuery>,
) -> Response {
    let l = u.lang;
    let list = match s.app.audit_trail().list(&u.actor, q.before, 100).await {
        Ok(v) => v,
        Err(e) => return error_page(l, Some(&u), e),
    };
    let body = html! {
        table #audit {
            tr {
                th { "#" } th { (C::When.text(l)) } th { (W::Who.text(l)) } th { (W::From.text(l)) }
                th { (W::Action.text(l)) } th { (W::Object.text(l)) } th { (W::Outcome.text(l)) }
                th { (C::Detail.text(l)) }
            }
            @for e in &list {
                tr {
                    td { (e.seq) }
                    td { (date(l, e.at)) }
                    td { (e.actor) }
                    td { (e.source) }
                    td.action {
                        (mamori_center_model::messages::audit::summary(&e.action, l)) " "
                        code { (e.action) }
                    }
                    td { (e.object) }
                    td { (e.outcome) }
                    td { (e.detail) }
                }
            }
        }
        @if let Some(last) = list.last().filter(|_| list.len() == 100) {
            p { a href={ "/audit?before=" (last.seq) } { "→" } }
        }
    };
    page(l, Some(&u), C::AuditTrail.text(l), body).into_response()
}
