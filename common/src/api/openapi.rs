//! The OpenAPI 3.1 description of what this router implements, served at `/openapi.json`.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// The document, kept beside this file and checked against the router by the API tests.
pub(crate) const DOCUMENT: &str = include_str!("openapi.json");

pub(crate) async fn document() -> Response {
    let mut response = DOCUMENT.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
