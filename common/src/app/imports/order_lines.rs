//! Order lines from a CSV's item columns: each row that imports its tracking adds its line to
//! the order its `order_id` (or else `order_number`) names, creating the order from the
//! tracking's fields when there is none. A round's lines are stored together, one write per
//! order, after its trackings (rows of one order are never stored concurrently); a line with
//! the same id replaces the one there, so importing a file again changes nothing.

use std::collections::BTreeMap;

use crate::app::orders::{OrderWrite, upsert_order};
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

    /// Stores every order that gained or changed a line: how many.
    pub(super) async fn store(self, deps: &Deps, tenant: &TenantId) -> Result<u64, AppError> {
        let mut stored = 0;
        for (key, lines) in self.0 {
            let existing = deps.orders.order(tenant, &Order::id_of(tenant, &key)).await?;
            let mut items = existing.as_ref().map(|o| o.items.clone()).unwrap_or_default();
            for line in &lines {
                match items.iter_mut().find(|item| item.external_id == line.item.external_id) {
                    Some(item) => *item = line.item.clone(),
                    None => items.push(line.item.clone()),
                }
            }
            if existing.as_ref().is_some_and(|order| order.items == items) {
                continue;
            }
            let first = &lines[0].details;
            let write = match existing {
                Some(order) => OrderWrite {
                    external_id: Some(order.external_id),
                    store: order.store,
                    order_number: order.order_number,
                    placed_at: order.placed_at,
                    fulfilled_at: order.fulfilled_at,
                    customer: order.customer,
                    shipping_address: order.shipping_address,
                    currency: order.currency,
                    items: Some(items),
                },
                None => new_order(key, first, items),
            };
            upsert_order(deps, tenant, write).await?;
            stored += 1;
        }
        Ok(stored)
    }
}

/// An order made from the first row's tracking fields.
fn new_order(key: String, details: &ShipmentDetails, items: Vec<OrderItem>) -> OrderWrite {
    let buyer = details.customers.iter().find(|c| c.role.as_deref() == Some("buyer"));
    OrderWrite {
        external_id: Some(key),
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
        currency: items.first().map(|item| item.unit_price.currency.clone()),
        items: Some(items),
    }
}
