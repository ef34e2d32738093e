//! A storefront's webhook authenticated with its connector's secret and stored on the
//! `carrier-updates` queue before the answer; read behind the queue (`sync.rs`).

use std::sync::atomic::Ordering;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::open;
use crate::app::Deps;
use crate::app::pipeline::CarrierMessage;
use crate::domain::TenantId;
use crate::ports::{QueueName, StoreError};
use crate::storefronts::{Platform, shopify, woocommerce};

/// A verified storefront webhook, as queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorefrontDelivery {
    /// The merchant.
    pub tenant_id: TenantId,
    /// The connector it came through.
    pub connector_id: String,
    /// Its platform.
    pub platform: Platform,
    /// Its topic (`orders/updated`, `order.updated`).
    pub topic: String,
    /// The platform's id of the delivery, the same on its retries.
    pub delivery_id: Option<String>,
    /// When the platform says the event happened (Shopify's `X-Shopify-Triggered-At`).
    pub triggered_at: Option<DateTime<Utc>>,
    /// When Porchlight accepted it.
    pub received_at: DateTime<Utc>,
    /// The body, as sent (UTF-8).
    pub body: String,
}

/// Why a storefront webhook was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorIntakeError {
    /// No connector of that platform has the id.
    #[error("no such connector")]
    UnknownConnector,
    /// The signature is missing or wrong.
    #[error("unauthenticated webhook")]
    Unauthorized,
    /// The request lacks what the platform always sends.
    #[error("{0}")]
    BadRequest(String),
    /// The store or queue could not take it; the platform should retry.
    #[error("unavailable")]
    Unavailable(#[source] StoreError),
}

/// What became of an accepted webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// Stored on the queue under this message id.
    Queued(u64),
    /// WooCommerce's creation ping: nothing to store.
    Ping,
}

/// Authenticates a storefront's webhook for connector `connector_id` and stores it durably on
/// the `carrier-updates` queue. Nothing is parsed here beyond the headers.
pub async fn accept_storefront_webhook(
    deps: &Deps,
    platform: &str,
    connector_id: &str,
    header: impl Fn(&str) -> Option<String>,
    body: &[u8],
) -> Result<Accepted, ConnectorIntakeError> {
    let platform = Platform::parse(platform).ok_or(ConnectorIntakeError::UnknownConnector)?;
    let tenant = deps
        .connectors
        .connector_tenant(connector_id)
        .await
        .map_err(ConnectorIntakeError::Unavailable)?
        .ok_or(ConnectorIntakeError::UnknownConnector)?;
    let stored = deps
        .connectors
        .get_connector(&tenant, connector_id)
        .await
        .map_err(ConnectorIntakeError::Unavailable)?
        .filter(|stored| stored.record.platform == platform)
        .ok_or(ConnectorIntakeError::UnknownConnector)?;
    if platform == Platform::Woocommerce && woocommerce::ping_webhook_id(body).is_some() {
        tracing::info!(tenant_id = %tenant, connector_id, "woocommerce webhook ping accepted");
        return Ok(Accepted::Ping);
    }
    let connector = open(deps, stored).map_err(|e| {
        tracing::error!(tenant_id = %tenant, connector_id, error = %e, "connector secrets unreadable");
        ConnectorIntakeError::Unauthorized
    })?;
    if !platform.webhook_auth().verify(connector.signing_secret(), &header, body) {
        let refused = deps.stats.webhooks_unauthenticated.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::warn!(tenant_id = %tenant, connector_id, refused_total = refused, "unauthenticated storefront webhook refused");
        return Err(ConnectorIntakeError::Unauthorized);
    }
    let topic =
        header(platform.topic_header()).map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).ok_or_else(|| {
            ConnectorIntakeError::BadRequest(format!("the {} header is required", platform.topic_header()))
        })?;
    let body = String::from_utf8(body.to_vec())
        .map_err(|_| ConnectorIntakeError::BadRequest("the body must be UTF-8 JSON".into()))?;
    let triggered_at = header(shopify::TRIGGERED_AT_HEADER)
        .and_then(|t| DateTime::parse_from_rfc3339(t.trim()).ok())
        .map(|t| t.with_timezone(&Utc));
    let delivery = StorefrontDelivery {
        tenant_id: tenant,
        connector_id: connector.id,
        platform,
        topic,
        delivery_id: header(platform.delivery_header()).map(|d| d.trim().to_owned()).filter(|d| !d.is_empty()),
        triggered_at,
        received_at: deps.clock.now(),
        body,
    };
    let encoded = serde_json::to_vec(&CarrierMessage::Storefront(delivery)).expect("carrier messages serialize");
    let ids = deps
        .queue
        .send_batch(QueueName::CarrierUpdates, &[encoded])
        .await
        .map_err(ConnectorIntakeError::Unavailable)?;
    deps.stats.webhooks_accepted.fetch_add(1, Ordering::Relaxed);
    Ok(Accepted::Queued(ids[0]))
}
