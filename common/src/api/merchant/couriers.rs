//! `/couriers`: the catalog and detection.

use axum::body::Bytes;
use axum::extract::Query;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::Response;

use crate::api::wire::DetectRequest;
use crate::api::{ApiError, envelope, parse_body};
use crate::app::AppError;
use crate::couriers::{self, COURIERS};
use crate::domain::DomainError;

#[derive(serde::Deserialize, Default)]
pub(super) struct CourierParams {
    slug: Option<String>,
    active: Option<String>,
}

fn couriers_body(couriers: Vec<&couriers::Courier>) -> serde_json::Value {
    serde_json::json!({ "total": couriers.len(), "couriers": couriers })
}

/// The tenant's activated couriers. Every tenant has the whole catalog activated until courier
/// settings exist, so this equals `/couriers/all` filtered by `slug`.
pub(super) async fn list(params: Result<Query<CourierParams>, QueryRejection>) -> Result<Response, ApiError> {
    let params = crate::api::query_params(params)?;
    if let Some(active) = params.active.as_deref()
        && !matches!(active, "" | "true" | "false")
    {
        return Err(AppError::from(DomainError::invalid("active", "must be true or false")).into());
    }
    let wanted: Vec<&str> = params.slug.as_deref().map(|s| s.split(',').map(str::trim).collect()).unwrap_or_default();
    let couriers = COURIERS.iter().filter(|c| wanted.is_empty() || wanted.contains(&c.slug)).collect();
    Ok(envelope(StatusCode::OK, couriers_body(couriers)))
}

pub(super) async fn list_all() -> Response {
    envelope(StatusCode::OK, couriers_body(COURIERS.iter().collect()))
}

pub(super) async fn detect(body: Result<Bytes, BytesRejection>) -> Result<Response, ApiError> {
    let request: DetectRequest = parse_body(body)?;
    let number =
        request.tracking_number.filter(|n| !n.trim().is_empty()).ok_or(AppError::Required("tracking_number"))?;
    let number = crate::domain::TrackingNumber::parse(&number).map_err(AppError::from)?;
    let allowed = request.slug.unwrap_or_default();
    let couriers = couriers::detect(number.as_str())
        .into_iter()
        .map(|detection| detection.courier)
        .filter(|c| allowed.is_empty() || allowed.iter().any(|s| s == c.slug))
        .collect();
    Ok(envelope(StatusCode::OK, couriers_body(couriers)))
}
