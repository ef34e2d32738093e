//! The HTTP API, one router per audience: merchants (AfterShip's Tracking API 2026-07 and the
//! `/porchlight/v1/` extensions), the operator (`/admin`), carriers (`/webhooks/carriers`).
//! The shopper's tracking page and returns portal will be more.
//!
//! Each surface is a [`Router`] without a fallback; a runtime merges the surfaces it serves and
//! hands them to [`app`], which adds what every answer shares (the 404/405 envelopes, the body
//! limit, security headers). `porchlight serve` runs [`router`] (every surface) under
//! `axum::serve`; the Lambda functions run theirs under `lambda_http`. Handlers parse, call one
//! `app::` use case and map the result into the `{meta, data}` envelope.

mod admin;
mod error;
pub mod merchant;
mod openapi;
mod webhooks;
pub mod wire;

use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use admin::admin_router;
pub use error::ApiError;
pub use merchant::{PREFIX, merchant_router};
pub use webhooks::webhook_router;

use crate::app::{AppError, Deps};

/// Largest request body accepted.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Every surface one process serves: what `porchlight serve` runs.
pub fn router(deps: Deps) -> Router {
    app([merchant_router(deps.clone()), admin_router(deps.clone()), webhook_router(deps)])
}

/// `surfaces` merged, with what every answer shares: AfterShip's envelope for unknown paths
/// (404) and methods (405), the body limit (413), and headers that keep answers out of caches
/// and browsers' content sniffing.
pub fn app(surfaces: impl IntoIterator<Item = Router>) -> Router {
    surfaces
        .into_iter()
        .fold(Router::new(), Router::merge)
        .fallback(|| async { ApiError::no_route() })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::map_response(secure_headers))
}

async fn secure_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}

/// `{"meta": {"code": N}, "data": ...}` with status N.
pub(crate) fn envelope(status: StatusCode, data: impl Serialize) -> Response {
    #[derive(Serialize)]
    struct Meta {
        code: u16,
    }
    #[derive(Serialize)]
    struct Envelope<T> {
        meta: Meta,
        data: T,
    }
    match serde_json::to_vec(&Envelope { meta: Meta { code: status.as_u16() }, data }) {
        Ok(body) => {
            let mut response = (status, body).into_response();
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
        Err(error) => {
            tracing::error!(error = %error, "response serialization failed");
            ApiError::from(AppError::Busy).into_response()
        }
    }
}

/// Parses a JSON body, naming the offending field on a type error.
pub(crate) fn parse_body<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(ApiError::too_large()),
        Err(rejection) => {
            return Err(ApiError::bad_request(4001, format!("request body could not be read: {rejection}")));
        }
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(4001, "request body must be a JSON object"));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(&body);
    match serde_path_to_error::deserialize(&mut deserializer) {
        Ok(value) => Ok(value),
        Err(error) => {
            let path = error.path().to_string();
            let inner = error.into_inner();
            if inner.is_syntax() || inner.is_eof() || path == "." {
                Err(ApiError::bad_request(4001, format!("invalid JSON: {inner}")))
            } else {
                Err(ApiError::bad_request(4008, format!("{path} is invalid: {inner}")))
            }
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        ApiError::from(self).into_response()
    }
}

#[cfg(test)]
mod tests;
