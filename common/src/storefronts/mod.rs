//! Storefronts: what Shopify's and WooCommerce's webhooks and APIs say about orders and their
//! parcels, read into one shape ([`StorefrontEvent`]). Pure parsing and verification, no I/O:
//! `app::connectors` stores what they say.
//!
//! The payload shapes follow each platform's published reference (see `fixtures/README.md`).

pub mod shopify;
pub mod woocommerce;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::carriers::WebhookAuth;
use crate::domain::{OrderItem, ShippingAddress};

/// A storefront platform Porchlight connects to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// Shopify (Admin API, webhooks signed with the app's client secret).
    Shopify,
    /// WooCommerce (REST API v3, webhooks signed with each webhook's secret).
    Woocommerce,
}

impl Platform {
    /// Every platform.
    pub const ALL: [Platform; 2] = [Platform::Shopify, Platform::Woocommerce];

    /// AfterShip's platform code, as paths and orders' `store.platform` spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Shopify => "shopify",
            Platform::Woocommerce => "woocommerce",
        }
    }

    /// The platform spelled `name` ([`Platform::as_str`]).
    pub fn parse(name: &str) -> Option<Platform> {
        Platform::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// How the platform signs its webhooks (the secret is the connection's).
    pub fn webhook_auth(self) -> WebhookAuth {
        match self {
            Platform::Shopify => WebhookAuth::HmacSha256Base64 { header: shopify::HMAC_HEADER },
            Platform::Woocommerce => WebhookAuth::HmacSha256Base64 { header: woocommerce::SIGNATURE_HEADER },
        }
    }

    /// The header naming a webhook's topic.
    pub fn topic_header(self) -> &'static str {
        match self {
            Platform::Shopify => "x-shopify-topic",
            Platform::Woocommerce => "x-wc-webhook-topic",
        }
    }

    /// The header identifying one delivery, the same on the platform's retries of it.
    pub fn delivery_header(self) -> &'static str {
        match self {
            Platform::Shopify => "x-shopify-webhook-id",
            Platform::Woocommerce => "x-wc-webhook-delivery-id",
        }
    }

    /// Reads a verified webhook body of `topic`.
    pub fn parse_webhook(self, topic: &str, body: &[u8]) -> Result<StorefrontEvent, ParseError> {
        match self {
            Platform::Shopify => shopify::parse_webhook(topic, body),
            Platform::Woocommerce => woocommerce::parse_webhook(topic, body),
        }
    }
}

/// Why a storefront payload could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{platform} {topic} payload: {reason}")]
pub struct ParseError {
    /// The platform.
    pub platform: &'static str,
    /// The webhook topic (or `backfill`).
    pub topic: String,
    /// What was wrong.
    pub reason: String,
}

/// What one webhook (or one backfilled order) says.
#[derive(Debug, Clone, PartialEq)]
pub enum StorefrontEvent {
    /// An order as it stands now, with its parcels so far.
    Order(StoreOrder),
    /// One fulfilment (parcel) of an order.
    Fulfillment(StoreFulfillment),
    /// An order deleted in the store.
    OrderDeleted {
        /// The store's order id.
        external_id: String,
    },
    /// Nothing for Porchlight (a topic it does not read).
    Ignored,
}

/// The person who ordered. Personal data: its `Debug` hides it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Buyer {
    /// Full name.
    pub name: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// Phone number as the store has it.
    pub phone: Option<String>,
    /// Language tag (`de`, `en-GB`).
    pub locale: Option<String>,
}

impl std::fmt::Debug for Buyer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Buyer").field("locale", &self.locale).finish_non_exhaustive()
    }
}

/// One parcel a store recorded: a carrier's name and its tracking numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parcel {
    /// The store's id of the fulfilment (or of the tracking item).
    pub external_id: String,
    /// The carrier as the store names it (`UPS`, `DHL Express`, `royal-mail`); `None` to detect
    /// it from the number.
    pub carrier: Option<String>,
    /// Its tracking numbers.
    pub numbers: Vec<String>,
    /// When it was shipped.
    pub shipped_at: Option<DateTime<Utc>>,
}

/// An order as a store has it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreOrder {
    /// The store's order id.
    pub external_id: String,
    /// The number shoppers see (`#1001`).
    pub order_number: Option<String>,
    /// When it was placed.
    pub placed_at: Option<DateTime<Utc>>,
    /// When the store last changed it: an older version never replaces a newer one.
    pub updated_at: DateTime<Utc>,
    /// Who ordered.
    pub buyer: Buyer,
    /// Where it goes.
    pub destination: ShippingAddress,
    /// Its currency.
    pub currency: Option<String>,
    /// Its lines.
    pub items: Vec<OrderItem>,
    /// Its parcels so far (cancelled ones left out).
    pub parcels: Vec<Parcel>,
}

/// One fulfilment of an order, as the store sends it on its own.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreFulfillment {
    /// The order's id in the store.
    pub order_external_id: String,
    /// The order's number, when the payload tells it.
    pub order_number: Option<String>,
    /// When the store last changed the fulfilment.
    pub updated_at: DateTime<Utc>,
    /// The buyer, as far as the payload tells.
    pub buyer: Buyer,
    /// The destination, as far as the payload tells.
    pub destination: ShippingAddress,
    /// The lines it ships (their currency, when the payload tells it).
    pub items: Vec<OrderItem>,
    /// The currency of its lines.
    pub currency: Option<String>,
    /// The parcel; `None` when the fulfilment was cancelled.
    pub parcel: Option<Parcel>,
}

/// Trims `value`, `None` when nothing is left.
pub(crate) fn present(value: Option<&str>) -> Option<String> {
    value.map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
}

/// "First Last" from the parts given.
pub(crate) fn full_name(first: Option<&str>, last: Option<&str>) -> Option<String> {
    let name = [first, last].into_iter().flatten().map(str::trim).filter(|p| !p.is_empty()).collect::<Vec<_>>();
    (!name.is_empty()).then(|| name.join(" "))
}

#[cfg(test)]
mod tests;
