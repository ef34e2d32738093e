//! Carriers' pushes (`POST /webhooks/carriers/{slug}`, authenticated per carrier) and
//! storefronts' webhooks (`POST /connectors/{platform}/{connector_id}`, authenticated with the
//! connector's secret), stored on the `carrier-updates` queue before the answer.

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;

use super::{ApiError, envelope};
use crate::app::connectors::ConnectorIntakeError;
use crate::app::{self, AppError, Deps};

/// Carriers' and storefronts' webhooks.
pub fn webhook_router(deps: Deps) -> Router {
    Router::new()
        .route("/webhooks/carriers/{slug}", post(carrier_webhook))
        .route("/connectors/{platform}/{connector_id}", post(storefront_webhook))
        .with_state(deps)
}

fn read_body(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    match body {
        Ok(body) => Ok(body),
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(ApiError::too_large()),
        Err(rejection) => Err(ApiError::bad_request(400, format!("request body could not be read: {rejection}"))),
    }
}

/// `POST /connectors/{platform}/{connector_id}`: a Shopify or WooCommerce webhook. Answers 200
/// once it is stored (or for WooCommerce's ping); 401 when the signature does not hold; 404
/// for a connector that does not exist.
async fn storefront_webhook(
    State(deps): State<Deps>,
    Path((platform, connector_id)): Path<(String, String)>,
    headers: axum::http::HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = read_body(body)?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    match app::connectors::accept_storefront_webhook(&deps, &platform, &connector_id, header, &body).await {
        Ok(app::connectors::Accepted::Queued(id)) => {
            Ok(envelope(StatusCode::OK, serde_json::json!({ "id": id.to_string() })))
        }
        Ok(app::connectors::Accepted::Ping) => Ok(envelope(StatusCode::OK, serde_json::json!({ "ping": true }))),
        Err(ConnectorIntakeError::UnknownConnector) => Err(ApiError::no_route()),
        Err(ConnectorIntakeError::Unauthorized) => Err(AppError::Unauthorized.into()),
        Err(ConnectorIntakeError::BadRequest(reason)) => Err(ApiError::bad_request(400, reason)),
        Err(ConnectorIntakeError::Unavailable(error)) => Err(AppError::from(error).into()),
    }
}

/// `POST /webhooks/carriers/{slug}`: a carrier's push. Answers 200 once the payload is stored;
/// 401 when the signature does not hold; 404 for a carrier that does not push here.
async fn carrier_webhook(
    State(deps): State<Deps>,
    Path(slug): Path<String>,
    headers: axum::http::HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = read_body(body)?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    match app::accept_webhook(&deps, &slug, header, &body).await {
        Ok(id) => Ok(envelope(StatusCode::OK, serde_json::json!({ "id": id.to_string() }))),
        Err(app::IntakeError::UnknownCarrier(_)) => Err(ApiError::no_route()),
        Err(app::IntakeError::Unauthorized) => Err(AppError::Unauthorized.into()),
        Err(app::IntakeError::Queue(error)) => Err(AppError::from(error).into()),
    }
}
