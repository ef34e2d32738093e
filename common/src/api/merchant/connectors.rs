//! `/porchlight/v1/connectors`: merchants' Shopify and WooCommerce stores. Secrets are masked in
//! every answer; each connector names the path its platform posts webhooks to.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::api::wire::timestamp;
use crate::api::{ApiError, envelope, parse_body};
use crate::app::Deps;
use crate::app::connectors::{self, Connector};
use crate::domain::TenantId;
use crate::storefronts::{Platform, shopify};

/// The webhook topics to subscribe the connector's path to.
fn topics(platform: Platform) -> &'static [&'static str] {
    match platform {
        Platform::Shopify => &shopify::TOPICS,
        Platform::Woocommerce => &["order.created", "order.updated", "order.deleted"],
    }
}

pub(super) fn view(connector: &Connector) -> Value {
    let record = &connector.record;
    let shop_field = match record.platform {
        Platform::Shopify => "shop_domain",
        Platform::Woocommerce => "site_url",
    };
    let backfill = record.backfill.as_ref().map(|b| {
        json!({
            "id": b.id,
            "state": b.state,
            "since": timestamp(b.since),
            "started_at": timestamp(b.started_at),
            "finished_at": b.finished_at.map(timestamp),
            "pages": b.pages,
            "orders": b.orders,
            "trackings": b.trackings,
            "total": b.total,
            "error": b.error,
        })
    });
    let mut answer = json!({
        "id": connector.id,
        "platform": record.platform.as_str(),
        shop_field: record.shop,
        "webhook_path": connector.webhook_path(),
        "webhook_topics": topics(record.platform),
        "created_at": timestamp(record.created_at),
        "updated_at": timestamp(record.updated_at),
        "last_webhook_at": record.last_webhook_at.map(timestamp),
        "backfill": backfill,
    });
    for (field, masked) in connector.masked_secrets() {
        answer[field] = Value::String(masked);
    }
    answer
}

/// `POST /porchlight/v1/connectors`: `{"platform": "shopify", "shop_domain", "client_secret",
/// "access_token"}` or `{"platform": "woocommerce", "site_url", "webhook_secret",
/// "consumer_key", "consumer_secret"}`; answers 201 with the connector.
pub(super) async fn create(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let request: serde_json::Map<String, Value> = parse_body(body)?;
    let connector = connectors::create_connector(&deps, &tenant, &request).await?;
    Ok(envelope(StatusCode::CREATED, json!({ "connector": view(&connector) })))
}

/// `GET /porchlight/v1/connectors`.
pub(super) async fn list(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
) -> Result<Response, ApiError> {
    let all = connectors::list_connectors(&deps, &tenant).await?;
    Ok(envelope(StatusCode::OK, json!({ "connectors": all.iter().map(view).collect::<Vec<_>>() })))
}

/// `GET /porchlight/v1/connectors/{id}`.
pub(super) async fn get(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let connector = connectors::get_connector(&deps, &tenant, &id).await?;
    Ok(envelope(StatusCode::OK, json!({ "connector": view(&connector) })))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BackfillRequest {
    days: Option<i64>,
}

/// How far back a backfill reads when the request does not say.
const DEFAULT_BACKFILL_DAYS: i64 = 30;

/// `POST /porchlight/v1/connectors/{id}/backfills`: `{"days": 30}` (1 to 365); reads the
/// store's orders changed in those days, page by page, behind the queue; answers 202 with the
/// connector, whose `backfill` shows the progress.
pub(super) async fn backfill(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let request: BackfillRequest = match &body {
        Ok(bytes) if bytes.is_empty() => BackfillRequest { days: None },
        _ => parse_body(body)?,
    };
    let days = request.days.unwrap_or(DEFAULT_BACKFILL_DAYS);
    let (connector, _) = connectors::start_backfill(&deps, &tenant, &id, days, true).await?;
    Ok(envelope(StatusCode::ACCEPTED, json!({ "connector": view(&connector) })))
}

/// `DELETE /porchlight/v1/connectors/{id}`: its webhooks are refused from then on; the orders
/// and trackings it brought stay.
pub(super) async fn delete(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let connector = connectors::delete_connector(&deps, &tenant, &id).await?;
    Ok(envelope(StatusCode::OK, json!({ "connector": view(&connector) })))
}
