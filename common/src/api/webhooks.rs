//! Carriers' pushes (`POST /webhooks/carriers/{slug}`, authenticated per carrier) and
//! storefronts' webhooks (`POST /connectors/{platform}/{connector_id}`, authenticated with the
//! connector's secret), stored on the `carrier-updates` queue before the answer. Each sending
//! address may make [`Deps::webhooks_per_minute`] requests a minute; beyond, a 429 with
//! `retry-after`, which carriers and storefronts retry.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::{ApiError, envelope};
use crate::app::connectors::ConnectorIntakeError;
use crate::app::{self, AppError, Deps};
use crate::web::{Limiter, client_ip};

/// Carriers' and storefronts' webhooks, limited per sending address.
pub fn webhook_router(deps: Deps) -> Router {
    let senders = Arc::new(Limiter::per_minute(deps.webhooks_per_minute));
    Router::new()
        .route("/webhooks/carriers/{slug}", post(carrier_webhook))
        .route("/connectors/{platform}/{connector_id}", post(storefront_webhook))
        .route_layer(middleware::from_fn_with_state(senders, limit_senders))
        .with_state(deps)
}

/// Counts the request against its sender's address: a 429 (AfterShip's shape, with
/// `retry-after`) past the limit, before the body is read.
async fn limit_senders(State(senders): State<Arc<Limiter>>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    if let Err(wait) = senders.check(client_ip(&parts)) {
        let mut response =
            ApiError::too_many_requests("too many webhook requests from this address; retry later").into_response();
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait));
        return response;
    }
    next.run(Request::from_parts(parts, body)).await
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
