//! Shopify's webhooks and Admin API, read as the REST Admin API's `Order` and `Fulfillment`
//! resources are documented (webhook payloads are those resources); the backfill reads the
//! GraphQL Admin API's `orders` connection.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{Buyer, Parcel, ParseError, StoreFulfillment, StoreOrder, StorefrontEvent, full_name, present};
use crate::domain::{CountryCode, Money, OrderItem, ShippingAddress};

/// The header carrying the body's base64 HMAC-SHA256 under the app's client secret.
pub const HMAC_HEADER: &str = "x-shopify-hmac-sha256";
/// The header telling when Shopify triggered the event (retries keep it).
pub const TRIGGERED_AT_HEADER: &str = "x-shopify-triggered-at";
/// The topics Porchlight subscribes to.
pub const TOPICS: [&str; 6] = [
    "orders/create",
    "orders/updated",
    "orders/fulfilled",
    "orders/delete",
    "fulfillments/create",
    "fulfillments/update",
];

/// An id Shopify writes as a number (REST) or a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Id(pub String);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::Number(n) => Ok(Id(n.to_string())),
            serde_json::Value::String(s) if !s.trim().is_empty() => Ok(Id(s.trim().to_owned())),
            _ => Err(serde::de::Error::custom("must be a number or a string")),
        }
    }
}

#[derive(Debug, Deserialize)]
struct OrderPayload {
    id: Id,
    name: Option<String>,
    email: Option<String>,
    contact_email: Option<String>,
    phone: Option<String>,
    customer_locale: Option<String>,
    created_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
    currency: Option<String>,
    customer: Option<CustomerPayload>,
    shipping_address: Option<AddressPayload>,
    #[serde(default)]
    line_items: Vec<LineItemPayload>,
    #[serde(default)]
    fulfillments: Vec<FulfillmentPayload>,
}

/// A customer as REST writes it (the GraphQL API's camel-case names read too).
#[derive(Debug, Deserialize)]
struct CustomerPayload {
    #[serde(alias = "firstName")]
    first_name: Option<String>,
    #[serde(alias = "lastName")]
    last_name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
}

/// An address as REST writes it (the GraphQL API's camel-case names read too).
#[derive(Debug, Default, Deserialize)]
struct AddressPayload {
    name: Option<String>,
    #[serde(alias = "firstName")]
    first_name: Option<String>,
    #[serde(alias = "lastName")]
    last_name: Option<String>,
    address1: Option<String>,
    address2: Option<String>,
    city: Option<String>,
    province: Option<String>,
    #[serde(alias = "provinceCode")]
    province_code: Option<String>,
    zip: Option<String>,
    #[serde(alias = "countryCodeV2")]
    country_code: Option<String>,
    phone: Option<String>,
}

#[derive(Debug, Deserialize)]
struct LineItemPayload {
    id: Id,
    sku: Option<String>,
    title: Option<String>,
    name: Option<String>,
    variant_title: Option<String>,
    quantity: u32,
    price: Option<String>,
    total_discount: Option<String>,
    price_set: Option<PriceSet>,
}

#[derive(Debug, Deserialize)]
struct PriceSet {
    shop_money: Option<ShopMoney>,
}

#[derive(Debug, Deserialize)]
struct ShopMoney {
    currency_code: Option<String>,
}

impl LineItemPayload {
    /// The line's currency: its own price set's, else the order's.
    fn currency(&self, order: Option<&str>) -> Option<String> {
        let own = self.price_set.as_ref().and_then(|p| p.shop_money.as_ref()).and_then(|m| m.currency_code.as_deref());
        own.or(order).map(str::to_ascii_uppercase)
    }

    /// The line as an order's item, when it has a title and a price.
    fn item(&self, order_currency: Option<&str>) -> Option<OrderItem> {
        let currency = self.currency(order_currency);
        Some(OrderItem {
            external_id: self.id.0.clone(),
            sku: present(self.sku.as_deref()),
            title: present(self.title.as_deref()).or_else(|| present(self.name.as_deref()))?,
            variant_title: present(self.variant_title.as_deref()),
            quantity: self.quantity.max(1),
            unit_price: money(self.price.as_deref(), currency.as_deref())?,
            discount: money(self.total_discount.as_deref(), currency.as_deref()).filter(|d| d.minor_units() != Some(0)),
            tax: None,
            tags: Vec::new(),
            categories: Vec::new(),
            image_url: None,
        })
    }
}

#[derive(Debug, Deserialize)]
struct FulfillmentPayload {
    id: Id,
    order_id: Option<Id>,
    status: Option<String>,
    name: Option<String>,
    email: Option<String>,
    created_at: Option<DateTime<Utc>>,
    updated_at: Option<DateTime<Utc>>,
    tracking_company: Option<String>,
    tracking_number: Option<String>,
    #[serde(default)]
    tracking_numbers: Vec<String>,
    destination: Option<AddressPayload>,
    #[serde(default)]
    line_items: Vec<LineItemPayload>,
}

fn error(topic: &str, reason: impl Into<String>) -> ParseError {
    ParseError { platform: "shopify", topic: topic.to_owned(), reason: reason.into() }
}

/// Reads a webhook body of `topic` (one of [`TOPICS`]; others are [`StorefrontEvent::Ignored`]).
pub fn parse_webhook(topic: &str, body: &[u8]) -> Result<StorefrontEvent, ParseError> {
    let read = |reason: serde_json::Error| error(topic, reason.to_string());
    match topic {
        "orders/create" | "orders/updated" | "orders/fulfilled" | "orders/paid" | "orders/cancelled" => {
            let order: OrderPayload = serde_json::from_slice(body).map_err(read)?;
            Ok(StorefrontEvent::Order(store_order(order)))
        }
        "orders/delete" => {
            #[derive(Deserialize)]
            struct Deleted {
                id: Id,
            }
            let deleted: Deleted = serde_json::from_slice(body).map_err(read)?;
            Ok(StorefrontEvent::OrderDeleted { external_id: deleted.id.0 })
        }
        "fulfillments/create" | "fulfillments/update" => {
            let fulfillment: FulfillmentPayload = serde_json::from_slice(body).map_err(read)?;
            store_fulfillment(fulfillment)
                .map(StorefrontEvent::Fulfillment)
                .ok_or_else(|| error(topic, "a fulfillment needs its order_id and updated_at"))
        }
        _ => Ok(StorefrontEvent::Ignored),
    }
}

fn address(payload: Option<AddressPayload>) -> (ShippingAddress, Option<String>, Option<String>) {
    let payload = payload.unwrap_or_default();
    let name = present(payload.name.as_deref())
        .or_else(|| full_name(payload.first_name.as_deref(), payload.last_name.as_deref()));
    let lines = [payload.address1.as_deref(), payload.address2.as_deref()].into_iter().filter_map(present).collect();
    let address = ShippingAddress {
        country_region: payload.country_code.as_deref().and_then(CountryCode::from_carrier),
        state: present(payload.province_code.as_deref()).or_else(|| present(payload.province.as_deref())),
        city: present(payload.city.as_deref()),
        postal_code: present(payload.zip.as_deref()),
        lines,
    };
    (address, name, present(payload.phone.as_deref()))
}

/// A decimal amount Shopify writes (`"199.00"`), kept when it is one.
fn money(amount: Option<&str>, currency: Option<&str>) -> Option<Money> {
    let money = Money { amount: present(amount)?, currency: currency?.to_owned() };
    money.validate("amount").is_ok().then_some(money)
}

fn parcel(fulfillment: &FulfillmentPayload) -> Option<Parcel> {
    if matches!(fulfillment.status.as_deref(), Some("cancelled" | "error" | "failure")) {
        return None;
    }
    let mut numbers: Vec<String> = Vec::new();
    for number in fulfillment.tracking_numbers.iter().map(String::as_str).chain(fulfillment.tracking_number.as_deref())
    {
        if let Some(number) = present(Some(number))
            && !numbers.contains(&number)
        {
            numbers.push(number);
        }
    }
    Some(Parcel {
        external_id: fulfillment.id.0.clone(),
        carrier: present(fulfillment.tracking_company.as_deref()),
        numbers,
        shipped_at: fulfillment.created_at,
    })
}

fn store_order(order: OrderPayload) -> StoreOrder {
    let currency = order.currency.as_deref().map(str::to_ascii_uppercase);
    let (destination, ship_name, ship_phone) = address(order.shipping_address);
    let customer = order.customer.as_ref();
    let buyer = Buyer {
        name: customer.and_then(|c| full_name(c.first_name.as_deref(), c.last_name.as_deref())).or(ship_name),
        email: present(order.email.as_deref())
            .or_else(|| present(order.contact_email.as_deref()))
            .or_else(|| customer.and_then(|c| present(c.email.as_deref()))),
        phone: present(order.phone.as_deref())
            .or_else(|| customer.and_then(|c| present(c.phone.as_deref())))
            .or(ship_phone),
        locale: present(order.customer_locale.as_deref()),
    };
    let items = order.line_items.iter().filter_map(|line| line.item(currency.as_deref())).collect();
    StoreOrder {
        external_id: order.id.0,
        order_number: present(order.name.as_deref()),
        placed_at: order.created_at,
        updated_at: order.updated_at,
        buyer,
        destination,
        currency,
        items,
        parcels: order.fulfillments.iter().filter_map(parcel).collect(),
    }
}

fn store_fulfillment(fulfillment: FulfillmentPayload) -> Option<StoreFulfillment> {
    let order_external_id = fulfillment.order_id.clone()?.0;
    let updated_at = fulfillment.updated_at.or(fulfillment.created_at)?;
    // A fulfilment's name is the order's followed by its sequence: `#1001.1`.
    let order_number = present(fulfillment.name.as_deref())
        .map(|name| name.rsplit_once('.').map_or(name.clone(), |(order, _)| order.to_owned()));
    let parcel = parcel(&fulfillment);
    let (destination, name, phone) = address(fulfillment.destination);
    let buyer = Buyer { name, email: present(fulfillment.email.as_deref()), phone, locale: None };
    let items: Vec<OrderItem> = fulfillment.line_items.iter().filter_map(|line| line.item(None)).collect();
    let currency = items.first().map(|item| item.unit_price.currency.clone());
    Some(StoreFulfillment { order_external_id, order_number, updated_at, buyer, destination, items, currency, parcel })
}

/// The Admin API version the backfill speaks.
pub const ADMIN_API_VERSION: &str = "2025-10";
/// Orders a backfill page asks for.
pub const PAGE_SIZE: u32 = 50;

/// The GraphQL query a backfill pages through: orders changed since a time, oldest change
/// first, with what a tracking needs.
const ORDERS_QUERY: &str = "query Backfill($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes {
      legacyResourceId name email phone createdAt updatedAt currencyCode customerLocale
      customer { firstName lastName email phone }
      shippingAddress { name firstName lastName address1 address2 city province provinceCode zip countryCodeV2 phone }
      lineItems(first: 100) {
        nodes { id sku title variantTitle quantity originalUnitPriceSet { shopMoney { amount currencyCode } } }
      }
      fulfillments(first: 20) { legacyResourceId status createdAt trackingInfo(first: 10) { company number } }
    }
  }
}";

/// The body of a backfill page's request: orders updated at or after `since`, after `cursor`.
pub fn orders_request(since: DateTime<Utc>, cursor: Option<&str>) -> Vec<u8> {
    let filter = format!("updated_at:>='{}'", since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    serde_json::to_vec(&serde_json::json!({
        "query": ORDERS_QUERY,
        "variables": {"first": PAGE_SIZE, "after": cursor, "query": filter},
    }))
    .expect("a request serializes")
}

/// Shopify's leaky bucket after a request (`extensions.cost.throttleStatus`), and what the
/// request cost.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throttle {
    /// Points the request was estimated to cost.
    pub requested: f64,
    /// Points left in the bucket.
    pub available: f64,
    /// Points restored per second.
    pub restore_rate: f64,
}

impl Throttle {
    /// How long to wait before a request of the same cost fits the bucket.
    pub fn wait(&self) -> std::time::Duration {
        if self.available >= self.requested || self.restore_rate <= 0.0 {
            return std::time::Duration::ZERO;
        }
        std::time::Duration::from_secs_f64(((self.requested - self.available) / self.restore_rate).min(60.0))
    }
}

/// One page of a backfill.
#[derive(Debug, Clone, PartialEq)]
pub struct OrdersPage {
    /// Its orders.
    pub orders: Vec<StoreOrder>,
    /// The cursor of the next page, when there is one.
    pub next: Option<String>,
    /// The bucket after the request.
    pub throttle: Option<Throttle>,
}

/// Why a backfill page was not read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PageError {
    /// Shopify throttled the request: try again after the wait.
    #[error("throttled by shopify")]
    Throttled(Option<Throttle>),
    /// The answer does not read, or carries errors.
    #[error(transparent)]
    Unreadable(#[from] ParseError),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GqlOrder {
    legacy_resource_id: String,
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    created_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
    currency_code: Option<String>,
    customer_locale: Option<String>,
    customer: Option<CustomerPayload>,
    shipping_address: Option<AddressPayload>,
    line_items: GqlNodes<GqlLineItem>,
    #[serde(default)]
    fulfillments: Vec<GqlFulfillment>,
}

#[derive(Deserialize)]
struct GqlNodes<T> {
    nodes: Vec<T>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GqlLineItem {
    id: String,
    sku: Option<String>,
    title: Option<String>,
    variant_title: Option<String>,
    quantity: u32,
    original_unit_price_set: Option<GqlMoneyBag>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GqlMoneyBag {
    shop_money: GqlMoney,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GqlMoney {
    amount: String,
    currency_code: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GqlFulfillment {
    legacy_resource_id: String,
    status: Option<String>,
    created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    tracking_info: Vec<GqlTracking>,
}

#[derive(Deserialize)]
struct GqlTracking {
    company: Option<String>,
    number: Option<String>,
}

/// The REST shape of a GraphQL order, so that both read through one path.
fn rest_order(order: GqlOrder) -> OrderPayload {
    let line_items = order
        .line_items
        .nodes
        .into_iter()
        .map(|line| LineItemPayload {
            // `gid://shopify/LineItem/123` is REST's 123.
            id: Id(line.id.rsplit('/').next().unwrap_or(&line.id).to_owned()),
            sku: line.sku,
            title: line.title,
            name: None,
            variant_title: line.variant_title,
            quantity: line.quantity,
            price: line.original_unit_price_set.as_ref().map(|p| p.shop_money.amount.clone()),
            total_discount: None,
            price_set: line
                .original_unit_price_set
                .map(|p| PriceSet { shop_money: Some(ShopMoney { currency_code: Some(p.shop_money.currency_code) }) }),
        })
        .collect();
    let fulfillments = order
        .fulfillments
        .into_iter()
        .map(|f| {
            let company = f.tracking_info.iter().find_map(|t| t.company.clone());
            FulfillmentPayload {
                id: Id(f.legacy_resource_id),
                order_id: None,
                status: f.status.map(|s| s.to_ascii_lowercase()),
                name: None,
                email: None,
                created_at: f.created_at,
                updated_at: None,
                tracking_company: company,
                tracking_number: None,
                tracking_numbers: f.tracking_info.into_iter().filter_map(|t| t.number).collect(),
                destination: None,
                line_items: Vec::new(),
            }
        })
        .collect();
    OrderPayload {
        id: Id(order.legacy_resource_id),
        name: order.name,
        email: order.email,
        contact_email: None,
        phone: order.phone,
        customer_locale: order.customer_locale,
        created_at: order.created_at,
        updated_at: order.updated_at,
        currency: order.currency_code,
        customer: order.customer,
        shipping_address: order.shipping_address,
        line_items,
        fulfillments,
    }
}

/// Reads a backfill page's answer (`data.orders`, `extensions.cost`); a `THROTTLED` error is
/// [`PageError::Throttled`].
pub fn parse_orders_page(body: &[u8]) -> Result<OrdersPage, PageError> {
    #[derive(Deserialize)]
    struct Answer {
        data: Option<Data>,
        #[serde(default)]
        errors: Vec<GqlError>,
        extensions: Option<Extensions>,
    }
    #[derive(Deserialize)]
    struct Data {
        orders: Connection,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Connection {
        page_info: PageInfo,
        nodes: Vec<GqlOrder>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct PageInfo {
        has_next_page: bool,
        end_cursor: Option<String>,
    }
    #[derive(Deserialize)]
    struct GqlError {
        message: String,
        extensions: Option<serde_json::Value>,
    }
    #[derive(Deserialize)]
    struct Extensions {
        cost: Option<Cost>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Cost {
        requested_query_cost: f64,
        throttle_status: ThrottleStatus,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct ThrottleStatus {
        currently_available: f64,
        restore_rate: f64,
    }
    let answer: Answer = serde_json::from_slice(body).map_err(|e| error("backfill", e.to_string()))?;
    let throttle = answer.extensions.and_then(|e| e.cost).map(|cost| Throttle {
        requested: cost.requested_query_cost,
        available: cost.throttle_status.currently_available,
        restore_rate: cost.throttle_status.restore_rate,
    });
    let throttled = answer
        .errors
        .iter()
        .any(|e| e.extensions.as_ref().and_then(|x| x.get("code")).is_some_and(|c| c == "THROTTLED"));
    if throttled {
        return Err(PageError::Throttled(throttle));
    }
    if let Some(first) = answer.errors.first() {
        return Err(error("backfill", format!("graphql error: {}", first.message)).into());
    }
    let orders = answer.data.ok_or_else(|| error("backfill", "an answer without data"))?.orders;
    let next = orders.page_info.end_cursor.filter(|_| orders.page_info.has_next_page);
    let orders = orders.nodes.into_iter().map(|order| store_order(rest_order(order))).collect();
    Ok(OrdersPage { orders, next, throttle })
}
