//! `GET /porchlight/v1/trackings/{id}/evidence`: a shipment's evidence for a carrier claim or
//! a chargeback, as JSON or (`format=csv`) its timeline as CSV.

use axum::Extension;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use serde::Deserialize;

use super::tabular::{Format, answer};
use super::trackings::shipment_id;
use crate::api::{ApiError, query_params};
use crate::app::{Deps, evidence};
use crate::domain::TenantId;

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
    let format = Format::parse(query_params(query)?.format.as_deref())?;
    let found = evidence::evidence(&deps, &tenant, &shipment_id(&id)?).await?;
    let downloaded = matches!(format, Format::Csv);
    let mut response = answer(format, &found, evidence::timeline_csv)?;
    if downloaded {
        let disposition = format!("attachment; filename=\"evidence-{}.csv\"", found.tracking.id);
        if let Ok(value) = HeaderValue::from_str(&disposition) {
            response.headers_mut().insert(header::CONTENT_DISPOSITION, value);
        }
    }
    Ok(response)
}
