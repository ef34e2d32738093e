//! `/porchlight/v1/orders`: the merchant's orders and their lines (a Porchlight extension:
//! returns are of order lines, and the tracking API has none).

use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::api::wire::{order_json, timestamp};
use crate::api::{ApiError, envelope, parse_body};
use crate::app::orders::{self, MAX_PAGE, OrderWrite};
use crate::app::{AppError, Deps};
use crate::domain::{Order, TenantId};

/// Orders a page holds unless asked for fewer.
const DEFAULT_LIMIT: usize = 50;

/// The order, with its trackings (id, number, courier, status) and the date the last of them
/// was delivered, once all are.
async fn order_with_shipments(deps: &Deps, order: &Order) -> Result<Value, AppError> {
    let shipments = orders::order_shipments(deps, order).await?;
    let mut value = order_json(order);
    value["delivered_at"] = json!(orders::delivered_at(&shipments).map(timestamp));
    value["trackings"] = shipments
        .iter()
        .map(|s| json!({"id": s.id.as_str(), "slug": s.slug.as_str(), "tracking_number": s.tracking_number.as_str(), "tag": s.tag}))
        .collect();
    let lines = crate::app::returns::order_eligibility(deps, order).await?;
    value["return_eligibility"] = lines
        .iter()
        .map(|l| {
            json!({"external_order_item_id": l.item, "returnable_quantity": l.returnable_quantity,
            "refusal": l.refusal.as_ref().map(|r| {
                let mut refusal = json!(r);
                refusal["info"] = json!(r.info());
                refusal
            })})
        })
        .collect();
    Ok(value)
}

pub(super) async fn list(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    page: Result<Query<super::IdPage>, QueryRejection>,
) -> Result<Response, ApiError> {
    let (cursor, limit) = super::IdPage::read(page, DEFAULT_LIMIT, MAX_PAGE)?;
    let (found, next_cursor) = orders::list_orders(&deps, &tenant, cursor.as_deref(), limit).await?;
    Ok(envelope(
        StatusCode::OK,
        json!({ "orders": found.iter().map(order_json).collect::<Vec<_>>(), "next_cursor": next_cursor }),
    ))
}

pub(super) async fn upsert(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let write: OrderWrite = parse_body(body)?;
    let (order, created) = orders::upsert_order(&deps, &tenant, write).await?;
    Ok(envelope(if created { StatusCode::CREATED } else { StatusCode::OK }, order_json(&order)))
}

pub(super) async fn get(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let order = orders::get_order(&deps, &tenant, &id).await?;
    Ok(envelope(StatusCode::OK, order_with_shipments(&deps, &order).await?))
}
