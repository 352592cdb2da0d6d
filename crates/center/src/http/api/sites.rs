//! Sites: `/sites`, `/sites/{id}`.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use mamori_api::v1 as wire;
use mamori_center_model::ids::{CustomerId, SiteId};

use super::extract::{ApiActor, ApiJson, Id, created};
use super::problem::ApiResult;
use crate::domain::{self, rfc3339};
use crate::http::AppState;

fn site_wire(s: domain::Site) -> wire::Site {
    wire::Site {
        id: s.id.get(),
        customer_id: s.customer_id.get(),
        name: s.name,
        address: s.address,
        created_at: rfc3339(s.created_at),
    }
}

/// Sites the caller may see
#[utoipa::path(get, path = "/sites", tag = "sites",
    responses((status = 200, description = "the sites", body = Vec<wire::Site>)))]
pub(super) async fn sites(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
) -> ApiResult<Json<Vec<wire::Site>>> {
    Ok(Json(
        s.app
            .sites()
            .list(&a)
            .await?
            .into_iter()
            .map(site_wire)
            .collect(),
    ))
}

/// One site
#[utoipa::path(get, path = "/sites/{id}", tag = "sites",
    params(("id" = i64, Path, description = "the site")),
    responses((status = 200, description = "the site", body = wire::Site)))]
pub(super) async fn site(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Id(id): Id,
) -> ApiResult<Json<wire::Site>> {
    Ok(Json(site_wire(
        s.app.sites().get(&a, SiteId::new(id)).await?,
    )))
}

/// Create a site
#[utoipa::path(post, path = "/sites", tag = "sites",
    request_body = wire::NewSite,
    responses((status = 201, description = "the site", body = wire::Site)))]
pub(super) async fn create_site(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(req): ApiJson<wire::NewSite>,
) -> ApiResult<Response> {
    Ok(created(site_wire(
        s.app
            .sites()
            .create(
                &a,
                CustomerId::new(req.customer_id),
                &req.name,
                &req.address,
                s.now_ms(),
            )
            .await?,
    )))
}
