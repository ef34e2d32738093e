//! History imports under `/porchlight/v1/imports`: a file of trackings (JSON lines, as
//! AfterShip's `GET /trackings` answers them, or a CSV) sent as the body, imported in the
//! background; the job shows how far it got and every line that failed.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use crate::api::wire::timestamp;
use crate::api::{ApiError, envelope};
use crate::app::imports::{self, HistoryFormat, ImportJob};
use crate::app::{AppError, Deps};
use crate::domain::{DomainError, TenantId};

fn job_view(job: &ImportJob) -> Value {
    let tally = &job.tally;
    json!({
        "id": job.id,
        "state": job.state,
        "format": job.format.content_type(),
        "bytes": job.bytes,
        "created_at": timestamp(job.created_at),
        "updated_at": timestamp(job.updated_at),
        "lines": tally.lines,
        "imported": tally.imported,
        "created": tally.created,
        "updated": tally.updated,
        "unchanged": tally.unchanged,
        "failed": tally.failed,
        "errors": tally.errors,
        "error": job.error,
    })
}

/// `POST /porchlight/v1/imports`: the body is the file, `Content-Type: application/x-ndjson`
/// or `text/csv`; answers 202 with the job.
pub(super) async fn start(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let format = HistoryFormat::from_content_type(content_type).ok_or_else(|| {
        AppError::from(DomainError::invalid("content-type", "must be application/x-ndjson or text/csv"))
    })?;
    let job = imports::start_import(&deps, &tenant, format, body.to_vec()).await?;
    Ok(envelope(StatusCode::ACCEPTED, job_view(&job)))
}

/// `GET /porchlight/v1/imports/{id}`.
pub(super) async fn get(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let job = imports::get_import(&deps, &tenant, &id).await?;
    Ok(envelope(StatusCode::OK, job_view(&job)))
}

/// Most trackings one part of an export holds.
const EXPORT_PART: usize = 10_000;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ExportParams {
    cursor: Option<String>,
    limit: Option<String>,
}

/// `GET /porchlight/v1/exports/trackings`: the merchant's trackings as CSV with the columns an
/// import reads, newest first, up to `limit` (at most 10,000) from `cursor`; when more follow,
/// the `x-next-cursor` header names where the next part starts.
pub(super) async fn export_trackings(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    params: Result<axum::extract::Query<ExportParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    use axum::response::IntoResponse;
    let axum::extract::Query(params) =
        params.map_err(|e| AppError::from(DomainError::invalid("query", e.body_text())))?;
    let limit = super::page_limit(params.limit.as_deref(), EXPORT_PART, EXPORT_PART).map_err(AppError::from)?;
    let cursor = super::shipments_cursor(params.cursor.as_deref()).map_err(AppError::from)?;
    let mut writer = csv::Writer::from_writer(Vec::new());
    let (_, next) =
        crate::app::exports::write_trackings_csv(&deps, &tenant, &Default::default(), cursor, limit, &mut writer)
            .await?;
    let body = writer.into_inner().map_err(|e| AppError::Internal(format!("csv: {e}")))?;
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, header::HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Some(next) = next
        && let Ok(value) = header::HeaderValue::from_str(&next.encode())
    {
        headers.insert("x-next-cursor", value);
    }
    Ok(response)
}
