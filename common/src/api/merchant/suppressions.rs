//! `/porchlight/v1/suppressions`: the merchant's suppression list, the addresses no message
//! goes to (bounced for good, complained, or added by the merchant); a Porchlight extension.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::api::wire::timestamp;
use crate::api::{ApiError, envelope, parse_body};
use crate::app::Deps;
use crate::app::suppressions::{self, MAX_PAGE, SuppressionWrite};
use crate::domain::TenantId;
use crate::ports::Suppression;

/// Entries a page holds unless asked for fewer.
const DEFAULT_LIMIT: usize = 50;

fn suppression_json(entry: &Suppression) -> Value {
    json!({
        "id": entry.id,
        "channel": entry.channel,
        "address": entry.address,
        "reason": entry.reason,
        "detail": entry.detail,
        "tracking_id": entry.shipment_id.as_ref().map(|id| id.as_str()),
        "message_id": entry.message_id,
        "created_at": timestamp(entry.created_at),
    })
}

pub(super) async fn list(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    page: Result<Query<super::IdPage>, QueryRejection>,
) -> Result<Response, ApiError> {
    let (cursor, limit) = super::IdPage::read(page, DEFAULT_LIMIT, MAX_PAGE)?;
    let (entries, next_cursor) = suppressions::list(&deps, &tenant, cursor.as_deref(), limit).await?;
    Ok(envelope(
        StatusCode::OK,
        json!({
            "suppressions": entries.iter().map(suppression_json).collect::<Vec<_>>(),
            "next_cursor": next_cursor,
        }),
    ))
}

pub(super) async fn create(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let write: SuppressionWrite = parse_body(body)?;
    let (entry, added) = suppressions::add(&deps, &tenant, write).await?;
    let status = if added { StatusCode::CREATED } else { StatusCode::OK };
    Ok(envelope(status, suppression_json(&entry)))
}

pub(super) async fn get(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(envelope(StatusCode::OK, suppression_json(&suppressions::get(&deps, &tenant, &id).await?)))
}

pub(super) async fn delete(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(envelope(StatusCode::OK, suppression_json(&suppressions::remove(&deps, &tenant, &id).await?)))
}
