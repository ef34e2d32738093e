//! `/porchlight/v1/tracking-page`: the merchant's tracking page settings (a Porchlight
//! extension: AfterShip has no API for its page designer).

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

use crate::api::{ApiError, envelope, parse_body};
use crate::app::Deps;
use crate::app::pages::{self, PageUpdate};
use crate::domain::{TenantId, TrackingPage};

/// The settings with the page's public address (read-only; `PUT` ignores it).
#[derive(Serialize)]
struct PageView<'a> {
    #[serde(flatten)]
    settings: &'a TrackingPage,
    url: Option<String>,
}

fn view(deps: &Deps, page: &TrackingPage) -> Response {
    let url = deps.public_url.as_deref().map(|base| format!("{base}/t/{}", page.slug));
    envelope(StatusCode::OK, PageView { settings: page, url })
}

pub(super) async fn get(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
) -> Result<Response, ApiError> {
    let page = pages::page_settings(&deps, &tenant).await?;
    Ok(view(&deps, &page))
}

pub(super) async fn update(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let update: PageUpdate = parse_body(body)?;
    let page = pages::update_page_settings(&deps, &tenant, update).await?;
    Ok(view(&deps, &page))
}
