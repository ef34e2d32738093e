//! WooCommerce's webhooks and REST API (`/wp-json/wc/v3/orders`), read as WooCommerce's REST
//! API documents an order; parcels come from the Shipment Tracking extension's
//! `_wc_shipment_tracking_items` meta field.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;

use super::shopify::Id;
use super::{Buyer, Parcel, ParseError, StoreOrder, StorefrontEvent, full_name, present};
use crate::domain::{CountryCode, Money, OrderItem, ShippingAddress};

/// The header carrying the body's base64 HMAC-SHA256 under the webhook's secret.
pub const SIGNATURE_HEADER: &str = "x-wc-webhook-signature";
/// The meta key under which the Shipment Tracking extension keeps an order's parcels.
pub const TRACKING_META_KEY: &str = "_wc_shipment_tracking_items";

/// The webhook id of WooCommerce's unsigned ping, sent form-encoded (`webhook_id=12`) when a
/// webhook is created; `None` for any other body.
pub fn ping_webhook_id(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?.trim();
    let id = text.strip_prefix("webhook_id=")?;
    (!id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit())).then(|| id.to_owned())
}

/// A time WooCommerce writes in GMT without an offset (`2026-11-02T09:15:00`), or with one.
#[derive(Debug, Clone, Copy)]
struct Gmt(DateTime<Utc>);

impl<'de> Deserialize<'de> for Gmt {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if let Ok(at) = DateTime::parse_from_rfc3339(&text) {
            return Ok(Gmt(at.with_timezone(&Utc)));
        }
        NaiveDateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S")
            .map(|naive| Gmt(naive.and_utc()))
            .map_err(|_| serde::de::Error::custom("must be a time such as 2026-11-02T09:15:00"))
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct OrderPayload {
    id: Id,
    number: Option<String>,
    currency: Option<String>,
    date_created_gmt: Option<Gmt>,
    date_modified_gmt: Option<Gmt>,
    #[serde(default)]
    billing: AddressPayload,
    #[serde(default)]
    shipping: AddressPayload,
    #[serde(default)]
    line_items: Vec<LineItemPayload>,
    #[serde(default)]
    meta_data: Vec<MetaPayload>,
}

#[derive(Debug, Default, Deserialize)]
struct AddressPayload {
    first_name: Option<String>,
    last_name: Option<String>,
    address_1: Option<String>,
    address_2: Option<String>,
    city: Option<String>,
    state: Option<String>,
    postcode: Option<String>,
    country: Option<String>,
    email: Option<String>,
    phone: Option<String>,
}

#[derive(Debug, Deserialize)]
struct LineItemPayload {
    id: Id,
    name: Option<String>,
    sku: Option<String>,
    quantity: i64,
    price: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct MetaPayload {
    key: String,
    value: serde_json::Value,
}

#[derive(Debug, Deserialize)]
struct TrackingItem {
    tracking_provider: Option<String>,
    custom_tracking_provider: Option<String>,
    tracking_number: Option<String>,
    date_shipped: Option<serde_json::Value>,
    tracking_id: Option<String>,
}

fn error(topic: &str, reason: impl Into<String>) -> ParseError {
    ParseError { platform: "woocommerce", topic: topic.to_owned(), reason: reason.into() }
}

/// The webhook topics Porchlight reads.
pub const TOPICS: [&str; 4] = ["order.created", "order.updated", "order.restored", "order.deleted"];

/// Reads a webhook body of `topic` (one of [`TOPICS`]; others are [`StorefrontEvent::Ignored`]).
pub fn parse_webhook(topic: &str, body: &[u8]) -> Result<StorefrontEvent, ParseError> {
    match topic {
        "order.created" | "order.updated" | "order.restored" => {
            let order: OrderPayload = serde_json::from_slice(body).map_err(|e| error(topic, e.to_string()))?;
            store_order(order).map(StorefrontEvent::Order).map_err(|reason| error(topic, reason))
        }
        "order.deleted" => {
            #[derive(Deserialize)]
            struct Deleted {
                id: Id,
            }
            let deleted: Deleted = serde_json::from_slice(body).map_err(|e| error(topic, e.to_string()))?;
            Ok(StorefrontEvent::OrderDeleted { external_id: deleted.id.0 })
        }
        _ => Ok(StorefrontEvent::Ignored),
    }
}

/// Reads one order of the REST API's `GET /wp-json/wc/v3/orders` answer.
pub fn parse_order(value: serde_json::Value) -> Result<StoreOrder, ParseError> {
    let order: OrderPayload = serde_json::from_value(value).map_err(|e| error("backfill", e.to_string()))?;
    store_order(order).map_err(|reason| error("backfill", reason))
}

/// An amount WooCommerce writes as a number or a string, as a decimal with two places.
fn money(value: Option<&serde_json::Value>, currency: Option<&str>) -> Option<Money> {
    let amount = match value? {
        serde_json::Value::Number(n) => n.as_f64()?,
        serde_json::Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    let money = Money { amount: format!("{:.2}", amount.max(0.0)), currency: currency?.to_owned() };
    money.validate("amount").is_ok().then_some(money)
}

/// When a parcel shipped: the extension writes a Unix time, as a number or a string.
fn shipped_at(value: Option<&serde_json::Value>) -> Option<DateTime<Utc>> {
    let seconds = match value? {
        serde_json::Value::Number(n) => n.as_i64()?,
        serde_json::Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    DateTime::from_timestamp(seconds, 0)
}

fn parcels(meta: &[MetaPayload]) -> Vec<Parcel> {
    let Some(items) = meta.iter().find(|m| m.key == TRACKING_META_KEY) else { return Vec::new() };
    let items: Vec<TrackingItem> = serde_json::from_value(items.value.clone()).unwrap_or_default();
    items
        .into_iter()
        .enumerate()
        .filter_map(|(index, item)| {
            let number = present(item.tracking_number.as_deref())?;
            Some(Parcel {
                external_id: present(item.tracking_id.as_deref()).unwrap_or_else(|| index.to_string()),
                carrier: present(item.custom_tracking_provider.as_deref())
                    .or_else(|| present(item.tracking_provider.as_deref())),
                numbers: vec![number],
                shipped_at: shipped_at(item.date_shipped.as_ref()),
            })
        })
        .collect()
}

fn store_order(order: OrderPayload) -> Result<StoreOrder, String> {
    let updated_at =
        order.date_modified_gmt.or(order.date_created_gmt).ok_or("an order needs its date_modified_gmt")?.0;
    let currency = order.currency.as_deref().map(str::to_ascii_uppercase);
    let ship = &order.shipping;
    let bill = &order.billing;
    let shipping_named = present(ship.first_name.as_deref()).is_some() || present(ship.last_name.as_deref()).is_some();
    let buyer = Buyer {
        name: if shipping_named {
            full_name(ship.first_name.as_deref(), ship.last_name.as_deref())
        } else {
            full_name(bill.first_name.as_deref(), bill.last_name.as_deref())
        },
        email: present(bill.email.as_deref()),
        phone: present(ship.phone.as_deref()).or_else(|| present(bill.phone.as_deref())),
        locale: None,
    };
    // The shipping address when there is one, else the billing address (digital goods, or a
    // store that ships to the billing address).
    let address = if present(ship.country.as_deref()).is_some() { ship } else { bill };
    let destination = ShippingAddress {
        country_region: address.country.as_deref().and_then(CountryCode::from_carrier),
        state: present(address.state.as_deref()),
        city: present(address.city.as_deref()),
        postal_code: present(address.postcode.as_deref()),
        lines: [address.address_1.as_deref(), address.address_2.as_deref()].into_iter().filter_map(present).collect(),
    };
    let items = order
        .line_items
        .iter()
        .filter_map(|line| {
            Some(OrderItem {
                external_id: line.id.0.clone(),
                sku: present(line.sku.as_deref()),
                title: present(line.name.as_deref())?,
                variant_title: None,
                quantity: u32::try_from(line.quantity).ok()?.max(1),
                unit_price: money(line.price.as_ref(), currency.as_deref())?,
                discount: None,
                tax: None,
                tags: Vec::new(),
                categories: Vec::new(),
                image_url: None,
            })
        })
        .collect();
    Ok(StoreOrder {
        external_id: order.id.0,
        order_number: present(order.number.as_deref()),
        placed_at: order.date_created_gmt.map(|g| g.0),
        updated_at,
        buyer,
        destination,
        currency,
        items,
        parcels: parcels(&order.meta_data),
    })
}

/// Orders a backfill page asks for.
pub const PAGE_SIZE: u32 = 50;

/// The REST API's URL of backfill page `page` (from 1): orders modified after `since`, oldest
/// change first.
pub fn orders_url(site_url: &str, since: DateTime<Utc>, page: u32) -> String {
    let since = since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut url = url::Url::parse(&format!("{}/wp-json/wc/v3/orders", site_url.trim_end_matches('/')))
        .expect("a connector's site URL was checked when it was made");
    url.query_pairs_mut()
        .append_pair("per_page", &PAGE_SIZE.to_string())
        .append_pair("page", &page.to_string())
        .append_pair("modified_after", &since)
        .append_pair("dates_are_gmt", "true")
        .append_pair("orderby", "modified")
        .append_pair("order", "asc");
    url.into()
}

/// Reads a page of `GET /wp-json/wc/v3/orders`: an array of orders.
pub fn parse_orders(body: &[u8]) -> Result<Vec<StoreOrder>, ParseError> {
    let values: Vec<serde_json::Value> = serde_json::from_slice(body).map_err(|e| error("backfill", e.to_string()))?;
    values.into_iter().map(parse_order).collect()
}
