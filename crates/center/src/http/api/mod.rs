//! The REST API under `/api/v1`: bearer authentication (session or API token), JSON in
//! and out, errors as RFC 9457 problem details with stable type codes. Wire types come
//! from `mamori_api` and are converted from domain types in each capability's file.
//!
//! This file is the router alone. Every route is added here once, through
//! `routes!(handler)`, which takes the method and path from the handler's
//! `#[utoipa::path]`: the router and the OpenAPI document (`openapi.rs`) are built from
//! this one list and cannot disagree. No route is added with axum's `route` (the test
//! `tests/openapi.rs` looks for one).

mod audit;
mod auth;
mod backoffice;
mod customers;
mod extract;
mod fleet;
mod gateways;
mod incidents;
mod instructions;
mod openapi;
mod problem;
mod revisions;
mod sites;
mod tasks;
mod tokens;
mod users;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) use openapi::text as openapi_text;

use super::AppState;

/// Every route of `/api/v1`, with its documentation.
fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(openapi::openapi_json))
        .routes(routes!(auth::login))
        .routes(routes!(auth::setup_info, auth::setup))
        .routes(routes!(auth::me))
        .routes(routes!(users::users, users::create_user))
        .routes(routes!(users::user))
        .routes(routes!(users::deactivate_user))
        .routes(routes!(users::set_role))
        .routes(routes!(customers::customers, customers::create_customer))
        .routes(routes!(customers::customer))
        .routes(routes!(sites::sites, sites::create_site))
        .routes(routes!(sites::site))
        .routes(routes!(
            instructions::instructions,
            instructions::submit_instruction
        ))
        .routes(routes!(instructions::instruction))
        .routes(routes!(instructions::accept))
        .routes(routes!(instructions::reject))
        .routes(routes!(instructions::done))
        .routes(routes!(instructions::comment))
        .routes(routes!(audit::audit))
        .routes(routes!(tokens::tokens, tokens::create_token))
        .routes(routes!(tokens::revoke_token))
        .routes(routes!(
            backoffice::applications,
            backoffice::create_application
        ))
        .routes(routes!(backoffice::application))
        .routes(routes!(backoffice::accept))
        .routes(routes!(backoffice::refuse))
        .routes(routes!(backoffice::contracts))
        .routes(routes!(backoffice::contract))
        .routes(routes!(backoffice::cancellation_preview))
        .routes(routes!(backoffice::lend_unit))
        .routes(routes!(backoffice::take_back_units))
        .routes(routes!(backoffice::cancel))
        .routes(routes!(backoffice::terminate))
        .routes(routes!(backoffice::payments))
        .routes(routes!(backoffice::liability_cap))
        .routes(routes!(backoffice::invoice_run))
        .routes(routes!(backoffice::invoices))
        .routes(routes!(backoffice::overdue))
        .routes(routes!(backoffice::invoice))
        .routes(routes!(backoffice::invoice_html))
        .routes(routes!(backoffice::invoice_pdf))
        .routes(routes!(backoffice::record_payment))
        .routes(routes!(backoffice::notices, backoffice::send_notice))
        .routes(routes!(gateways::list, gateways::stock))
        .routes(routes!(gateways::one))
        .routes(routes!(gateways::move_unit))
        .routes(routes!(gateways::enrolment_token))
        .routes(routes!(fleet::fleet))
        .routes(routes!(revisions::list, revisions::create))
        .routes(routes!(revisions::diff))
        .routes(routes!(revisions::one))
        .routes(routes!(revisions::approve))
        .routes(routes!(revisions::reject))
        .routes(routes!(revisions::publish))
        .routes(routes!(revisions::rollback))
        .routes(routes!(tasks::list))
        .routes(routes!(tasks::runs))
        .routes(routes!(tasks::run))
        .routes(routes!(incidents::list))
        .routes(routes!(incidents::one))
        .routes(routes!(incidents::acknowledge))
        .routes(routes!(incidents::resolve))
        .routes(routes!(incidents::comment))
}

/// The router of `/api/v1` (nested there by `http/mod.rs`): the routes of [`api`], a
/// problem for any other path or method, Japanese problems for callers who prefer them.
pub fn routes() -> Router<AppState> {
    let (router, _) = api().split_for_parts();
    router
        .fallback(problem::not_found)
        .method_not_allowed_fallback(problem::method_not_allowed)
        .layer(axum::middleware::from_fn(problem::localize))
}
