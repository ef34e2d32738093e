//! The HTTP API, one router per audience: merchants (AfterShip's Tracking API 2026-07 and the
//! `/porchlight/v1/` extensions), the operator (`/admin`), carriers (`/webhooks/carriers`);
//! the shopper's tracking page (`crate::web`) is served beside them.
//!
//! Each surface is a [`Router`] without a fallback; a runtime merges the surfaces it serves and
//! hands them to [`app`], which adds what every answer shares (the 404/405 envelopes, the body
//! limit, security headers). `porchlight serve` runs [`router`] (every surface) on its own
//! listener; the Lambda functions run theirs through the Lambda runtime. Handlers parse, call one
//! `app::` use case and map the result into the `{meta, data}` envelope.

mod admin;
mod body;
mod error;
pub mod merchant;
mod openapi;
pub mod rate_limit;
mod webhooks;
pub mod wire;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

pub use admin::admin_router;
pub(crate) use body::{parse_body, query_params};
pub use error::ApiError;
pub use merchant::{PREFIX, merchant_router};
pub use webhooks::webhook_router;

use crate::app::{AppError, Deps};

/// Largest request body accepted (but by the returns portal's request, with its photos:
/// [`crate::web::MAX_FORM_BYTES`], and by history imports).
const MAX_BODY_BYTES: usize = 1024 * 1024;
/// How long a request's body may take to arrive, once its headers have.
const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// Where history files are sent, with their own limits: [`crate::app::imports::MAX_IMPORT_BYTES`]
/// and [`IMPORT_TIMEOUT`].
const IMPORTS_PATH: &str = "/porchlight/v1/imports";
/// Where the console takes a history file, with the same limits.
const CONSOLE_IMPORTS_PATH: &str = "/console/settings/imports";
/// How long a history file may take to arrive.
const IMPORT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// Every surface one process serves: what `porchlight serve` runs.
pub fn router(deps: Deps) -> Router {
    app([
        merchant_router(deps.clone()),
        admin_router(deps.clone()),
        webhook_router(deps.clone()),
        crate::console::console_router(deps.clone()),
        crate::web::page_router(deps),
    ])
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
        // The body's limit is `bounded_body`'s, path by path; axum's own 2 MB default for
        // extractors would cut history files short.
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn(bounded_body))
        .layer(axum::middleware::map_response(secure_headers))
}

/// Reads the whole body before the handler runs, within [`BODY_TIMEOUT`] and
/// [`MAX_BODY_BYTES`]: a declared length over the limit is refused (413) before a byte is read,
/// a body that trickles or never comes ends in a 408, so no client holds a request open.
async fn bounded_body(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let post = request.method() == axum::http::Method::POST;
    let (limit, timeout) = if post && crate::web::is_upload(request.uri().path()) {
        (crate::web::MAX_FORM_BYTES, BODY_TIMEOUT)
    } else if post && [IMPORTS_PATH, CONSOLE_IMPORTS_PATH].contains(&request.uri().path()) {
        (crate::app::imports::MAX_IMPORT_BYTES, IMPORT_TIMEOUT)
    } else {
        (MAX_BODY_BYTES, BODY_TIMEOUT)
    };
    let declared = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return ApiError::too_large().into_response();
    }
    let (parts, body) = request.into_parts();
    let bytes = match tokio::time::timeout(timeout, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(error)) if is_length_limit(&error) => return ApiError::too_large().into_response(),
        Ok(Err(_)) => return ApiError::bad_request(400, "the request body could not be read").into_response(),
        Err(_) => return ApiError::body_timeout().into_response(),
    };
    next.run(axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes))).await
}

fn is_length_limit(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = source {
        if error.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = error.source();
    }
    false
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
            ApiError::from(AppError::Internal(format!("response serialization failed: {error}"))).into_response()
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
