//! `GET /porchlight/v1/trackings/{id}/evidence`: a shipment's evidence for a carrier claim or
//! a chargeback, as JSON or (`format=csv`) its timeline as CSV.

use axum::Extension;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::trackings::shipment_id;
use crate::api::{ApiError, envelope, query_params};
use crate::app::{AppError, Deps, evidence};
use crate::domain::{DomainError, TenantId};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EvidenceParams {
    format: Option<String>,
}

pub(super) async fn get(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    Path(id): Path<String>,
    query: Result<Query<EvidenceParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let params = query_params(query)?;
    let csv = match params.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(AppError::from(DomainError::invalid("format", "must be json or csv")).into()),
    };
    let found = evidence::evidence(&deps, &tenant, &shipment_id(&id)?).await?;
    if !csv {
        return Ok(envelope(StatusCode::OK, &found));
    }
    let mut response = (StatusCode::OK, evidence::timeline_csv(&found)?).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    let disposition = format!("attachment; filename=\"evidence-{}.csv\"", found.tracking.id);
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        response.headers_mut().insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}
