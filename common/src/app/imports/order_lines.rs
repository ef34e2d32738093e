//! Order lines from a CSV's item columns: each row that imports its tracking adds its line to
//! the order its `order_id` (or else `order_number`) names, creating the order from the
//! tracking's fields when there is none. A round's lines are stored together, one write per
//! order, after its trackings (rows of one order are never stored concurrently); a line with
//! the same id replaces the one there, so importing a file again changes nothing.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use futures_util::{StreamExt, TryStreamExt};

use crate::app::{AppError, Deps};
use crate::domain::{Order, OrderCustomer, OrderItem, ShipmentDetails, ShippingAddress, TenantId};

use super::HistoryRecord;

/// An order line with the order fields its row gave.
pub(super) struct LineOfOrder {
    key: String,
    item: OrderItem,
    details: ShipmentDetails,
}

/// Takes the order line out of `record`, with what its order needs from the tracking.
pub(super) fn take(record: &mut HistoryRecord) -> Option<LineOfOrder> {
    let item = record.order_line.take()?;
    let details = &record.tracking.details;
    let key = details.order_id.clone().or_else(|| details.order_number.clone())?;
    Some(LineOfOrder { key, item, details: details.clone() })
}

/// A round's order lines, by order.
#[derive(Default)]
pub(super) struct OrderLines(BTreeMap<String, Vec<LineOfOrder>>);

impl OrderLines {
    /// Adds a line, when the row had one.
    pub(super) fn add(&mut self, line: Option<LineOfOrder>) {
        if let Some(line) = line {
            self.0.entry(line.key.clone()).or_default().push(line);
        }
    }

    /// Stores every order that gained or changed a line, a few at a time (each order once, so
    /// no two writes race): how many.
    pub(super) async fn store(self, deps: &Deps, tenant: &TenantId) -> Result<u64, AppError> {
        let changed: Vec<bool> = futures_util::stream::iter(self.0)
            .map(|(key, lines)| store_order(deps, tenant, key, lines))
            .buffer_unordered(CONCURRENCY)
            .try_collect()
            .await?;
        Ok(changed.into_iter().filter(|changed| *changed).count() as u64)
    }
}

/// Orders read and written at once: enough to fill the embedded store's group commits.
const CONCURRENCY: usize = 32;

/// Adds `lines` to the order `key` names, made from the first line's row when there is none:
/// whether it changed.
async fn store_order(deps: &Deps, tenant: &TenantId, key: String, lines: Vec<LineOfOrder>) -> Result<bool, AppError> {
    let id = Order::id_of(tenant, &key);
    let now = deps.clock.now();
    let mut order = match deps.orders.order(tenant, &id).await? {
        Some(order) => order,
        None => new_order(tenant, id, key, &lines[0].details, now),
    };
    let before = order.items.clone();
    for line in &lines {
        match order.items.iter_mut().find(|item| item.external_id == line.item.external_id) {
            Some(item) => *item = line.item.clone(),
            None => order.items.push(line.item.clone()),
        }
    }
    if order.items == before {
        return Ok(false);
    }
    if order.currency.is_none() {
        order.currency = order.items.first().map(|item| item.unit_price.currency.clone());
    }
    order.updated_at = now;
    order.validate()?;
    deps.orders.put_order(&order).await?;
    Ok(true)
}

/// An order made from a row's tracking fields, without lines yet.
fn new_order(tenant: &TenantId, id: String, key: String, details: &ShipmentDetails, now: DateTime<Utc>) -> Order {
    let buyer = details.customers.iter().find(|c| c.role.as_deref() == Some("buyer"));
    Order {
        id,
        tenant_id: tenant.clone(),
        external_id: key,
        store: None,
        order_number: details.order_number.clone(),
        placed_at: None,
        fulfilled_at: None,
        customer: OrderCustomer {
            email: buyer.and_then(|b| b.email.clone()),
            phone: buyer.and_then(|b| b.phone_number.clone()).filter(|p| crate::domain::e164("phone", p).is_ok()),
            locale: None,
        },
        shipping_address: ShippingAddress {
            country_region: details.destination_country_region,
            state: details.destination_state.clone(),
            city: details.destination_city.clone(),
            postal_code: details.destination_postal_code.clone(),
            lines: Vec::new(),
        },
        currency: None,
        items: Vec::new(),
        created_at: now,
        updated_at: now,
    }
}
