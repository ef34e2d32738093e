//! Carriers' pushes: `POST /webhooks/carriers/{slug}`, authenticated per carrier and stored on
//! the `carrier-updates` queue before the answer.

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;

use super::{ApiError, envelope};
use crate::app::{self, AppError, Deps};

/// Carriers' webhooks.
pub fn webhook_router(deps: Deps) -> Router {
    Router::new().route("/webhooks/carriers/{slug}", post(carrier_webhook)).with_state(deps)
}

/// `POST /webhooks/carriers/{slug}`: a carrier's push. Answers 200 once the payload is stored;
/// 401 when the signature does not hold; 404 for a carrier that does not push here.
async fn carrier_webhook(
    State(deps): State<Deps>,
    Path(slug): Path<String>,
    headers: axum::http::HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(ApiError::too_large()),
        Err(rejection) => {
            return Err(ApiError::bad_request(400, format!("request body could not be read: {rejection}")));
        }
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    match app::accept_webhook(&deps, &slug, header, &body).await {
        Ok(id) => Ok(envelope(StatusCode::OK, serde_json::json!({ "id": id.to_string() }))),
        Err(app::IntakeError::UnknownCarrier(_)) => Err(ApiError::no_route()),
        Err(app::IntakeError::Unauthorized) => Err(AppError::Unauthorized.into()),
        Err(app::IntakeError::Queue(error)) => Err(AppError::from(error).into()),
    }
}
