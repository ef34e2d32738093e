//! Answers that come as JSON in the envelope or, with `format=csv`, as one CSV table.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::api::{ApiError, envelope};
use crate::app::AppError;
use crate::domain::DomainError;

/// JSON or CSV.
pub(super) enum Format {
    Json,
    Csv,
}

impl Format {
    /// The `format` parameter: `json` (the default, also when empty) or `csv`.
    pub(super) fn parse(raw: Option<&str>) -> Result<Format, ApiError> {
        match raw {
            None | Some("" | "json") => Ok(Format::Json),
            Some("csv") => Ok(Format::Csv),
            Some(_) => Err(AppError::from(DomainError::invalid("format", "must be json or csv")).into()),
        }
    }
}

/// `value` in the envelope, or its table as CSV (`text/csv`).
pub(super) fn answer<T: Serialize>(
    format: Format,
    value: &T,
    csv: impl FnOnce(&T) -> Result<Vec<u8>, AppError>,
) -> Result<Response, ApiError> {
    match format {
        Format::Json => Ok(envelope(StatusCode::OK, value)),
        Format::Csv => {
            let mut response = (StatusCode::OK, csv(value)?).into_response();
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
            Ok(response)
        }
    }
}
