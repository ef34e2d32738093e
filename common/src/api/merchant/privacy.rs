//! `/porchlight/v1/privacy`: one shopper's data, exported or erased, by email or phone (a
//! Porchlight extension; see [`crate::app::privacy`]). The shopper is named in the body, never
//! in the URL, so that addresses stay out of access logs.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use crate::api::{ApiError, envelope, parse_body};
use crate::app::privacy::{self, Shopper};
use crate::app::{AppError, Deps};
use crate::domain::TenantId;

/// The shopper a request is about: `email` or `phone`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ShopperRequest {
    email: Option<String>,
    phone: Option<String>,
}

fn shopper(body: Result<Bytes, BytesRejection>) -> Result<Shopper, ApiError> {
    let request: ShopperRequest = parse_body(body)?;
    Shopper::parse(request.email.as_deref(), request.phone.as_deref()).map_err(|e| AppError::from(e).into())
}

/// `POST /porchlight/v1/privacy/exports`: everything kept about the shopper.
pub(super) async fn export(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let who = shopper(body)?;
    let data = privacy::export(&deps, &tenant, &who).await?;
    Ok(envelope(StatusCode::OK, data.to_json(deps.public_url.as_deref())))
}

/// `POST /porchlight/v1/privacy/erasures`: the shopper erased; answers what changed.
pub(super) async fn erase(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let who = shopper(body)?;
    let erased = privacy::erase(&deps, &tenant, &who).await?;
    Ok(envelope(StatusCode::OK, json!({ "erased": erased })))
}
