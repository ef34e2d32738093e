//! Reports under `/porchlight/v1/reports`: one built on demand over a range of days (last week
//! by default), and its files read back; the answer's `link` opens it without the API key.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::api::{ApiError, envelope, parse_body};
use crate::app::analytics::DayRange;
use crate::app::{AppError, Deps, reports};
use crate::domain::{DomainError, TenantId};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReportWrite {
    from: Option<String>,
    to: Option<String>,
}

/// `POST /porchlight/v1/reports`: `{"from", "to"}` (both or neither); answers 201 with the
/// report's id, files and sealed link.
pub(super) async fn create(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let empty = body.as_ref().is_ok_and(|b| b.iter().all(u8::is_ascii_whitespace));
    let write: ReportWrite = if empty { ReportWrite::default() } else { parse_body(body)? };
    let today = deps.clock.now().date_naive();
    let range = match (write.from.as_deref(), write.to.as_deref()) {
        (None, None) => reports::last_week(today),
        (Some(from), Some(to)) => DayRange::parse(Some(from), Some(to), today).map_err(AppError::from)?,
        _ => return Err(AppError::from(DomainError::invalid("from", "give from and to, or neither")).into()),
    };
    let report = reports::run_report(&deps, &tenant, range).await?;
    let link = reports::link_path(&deps, &tenant, &report.id);
    let link = deps.public_url.as_deref().map_or(link.clone(), |base| format!("{base}{link}"));
    let files: Vec<_> = report
        .files
        .iter()
        .map(|(name, _)| format!("{}/reports/{}/{name}", crate::api::merchant::EXTENSIONS, report.id))
        .collect();
    let body = json!({ "id": report.id, "from": range.from.to_string(), "to": range.to.to_string(), "files": files, "link": link });
    Ok(envelope(StatusCode::CREATED, body))
}

/// `GET /porchlight/v1/reports/{id}/{file}`: the file as it was written.
pub(super) async fn file(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    Path((id, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (content_type, bytes) = reports::report_file(&deps, &tenant, &id, &name).await?;
    let mut response = (StatusCode::OK, bytes).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(reports::CSP));
    Ok(response)
}

fn settings_view(settings: &crate::domain::ReportSettings) -> serde_json::Value {
    json!({ "report_settings": settings })
}

/// `GET /porchlight/v1/report-settings`: who gets the weekly report (disabled until set).
pub(super) async fn get_settings(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
) -> Result<Response, ApiError> {
    let (settings, _) = reports::report_settings(&deps, &tenant).await?;
    Ok(envelope(StatusCode::OK, settings_view(&settings)))
}

/// `PUT /porchlight/v1/report-settings`: `{"enabled", "recipients", "time_zone"}`, replaced
/// whole.
pub(super) async fn put_settings(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let settings: crate::domain::ReportSettings = parse_body(body)?;
    let stored = reports::set_report_settings(&deps, &tenant, settings).await?;
    Ok(envelope(StatusCode::OK, settings_view(&stored)))
}
