//! `/tracking/2026-07/courier-connections`: merchants' own carrier accounts, as AfterShip's API
//! manages them. Secret credentials are masked in every answer.

use std::collections::BTreeMap;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use crate::api::wire::timestamp;
use crate::api::{ApiError, envelope, parse_body};
use crate::app::connections::{self, Connection};
use crate::app::{AppError, Deps};
use crate::domain::{DomainError, Slug, TenantId};

#[derive(Deserialize)]
pub(super) struct CreateRequest {
    courier_slug: Option<String>,
    credentials: Option<BTreeMap<String, serde_json::Value>>,
}

#[derive(Deserialize)]
pub(super) struct UpdateRequest {
    credentials: Option<BTreeMap<String, serde_json::Value>>,
}

#[derive(Deserialize, Default)]
pub(super) struct ListParams {
    courier_slug: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

fn view(deps: &Deps, connection: &Connection) -> serde_json::Value {
    serde_json::json!({
        "id": connection.id,
        "courier_slug": connection.courier_slug.as_str(),
        "credentials": connection.masked_credentials(deps),
        "created_at": timestamp(connection.created_at),
        "updated_at": timestamp(connection.updated_at),
    })
}

pub(super) async fn create(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let request: CreateRequest = parse_body(body)?;
    let slug = request.courier_slug.ok_or(AppError::Required("courier_slug"))?;
    let credentials = request.credentials.ok_or(AppError::Required("credentials"))?;
    let connection = connections::create_connection(&deps, &tenant, &slug, &credentials).await?;
    Ok(envelope(StatusCode::CREATED, view(&deps, &connection)))
}

pub(super) async fn get(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let connection = connections::get_connection(&deps, &tenant, &id).await?;
    Ok(envelope(StatusCode::OK, view(&deps, &connection)))
}

pub(super) async fn update(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let request: UpdateRequest = parse_body(body)?;
    let credentials = request.credentials.ok_or(AppError::Required("credentials"))?;
    let connection = connections::update_connection(&deps, &tenant, &id, &credentials).await?;
    Ok(envelope(StatusCode::OK, view(&deps, &connection)))
}

pub(super) async fn delete(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let connection = connections::delete_connection(&deps, &tenant, &id).await?;
    Ok(envelope(StatusCode::OK, view(&deps, &connection)))
}

pub(super) async fn list(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let params = crate::api::query_params(params)?;
    let limit = super::page_limit(params.limit.as_deref(), 100, 200).map_err(AppError::from)?;
    let slug = params
        .courier_slug
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| Slug::parse(s).map_err(|e| DomainError::invalid("courier_slug", e.reason)))
        .transpose()
        .map_err(AppError::from)?;
    let cursor = params.cursor.filter(|c| !c.is_empty());
    if cursor.as_deref().is_some_and(|c| c.len() != 32 || !c.bytes().all(|b| b.is_ascii_hexdigit())) {
        return Err(AppError::from(DomainError::invalid("cursor", "is not a cursor this API returned")).into());
    }
    let total = connections::list_connections(&deps, &tenant, slug.as_ref(), None, 10_000).await?.len();
    let mut page = connections::list_connections(&deps, &tenant, slug.as_ref(), cursor.as_deref(), limit + 1).await?;
    let has_next_page = page.len() > limit;
    page.truncate(limit);
    let next_cursor = has_next_page.then(|| page.last().map(|c| c.id.clone())).flatten();
    let items: Vec<_> = page.iter().map(|c| view(&deps, c)).collect();
    Ok(envelope(
        StatusCode::OK,
        serde_json::json!({
            "pagination": { "total": total, "next_cursor": next_cursor, "has_next_page": has_next_page },
            "courier_connections": items,
        }),
    ))
}
