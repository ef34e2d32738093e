//! Merchants' orders (`/porchlight/v1/orders`): sent by the merchant (later by storefront
//! connectors), stored once per store order id, read back for returns.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{AppError, Deps};
use crate::domain::{Order, OrderCustomer, OrderItem, Shipment, ShipmentDirection, ShippingAddress, Store, TenantId};
use crate::ports::ListQuery;

/// The most orders a page holds.
pub const MAX_PAGE: usize = 200;

/// An order as the API takes it: every field of [`Order`] but those Porchlight keeps.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // each field is the order's field of the same name
pub struct OrderWrite {
    pub external_id: Option<String>,
    pub store: Option<Store>,
    pub order_number: Option<String>,
    pub placed_at: Option<DateTime<Utc>>,
    pub fulfilled_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub customer: OrderCustomer,
    #[serde(default)]
    pub shipping_address: ShippingAddress,
    pub currency: Option<String>,
    pub items: Option<Vec<OrderItem>>,
}

/// Stores the order `write` describes, replacing the tenant's order with the same
/// `external_id` (it keeps its id and creation time): the order, and whether it is new.
pub async fn upsert_order(deps: &Deps, tenant: &TenantId, write: OrderWrite) -> Result<(Order, bool), AppError> {
    let external_id = write.external_id.ok_or(AppError::Required("external_id"))?;
    let items = write.items.ok_or(AppError::Required("items"))?;
    let id = Order::id_of(tenant, &external_id);
    let now = deps.clock.now();
    let created_at = deps.orders.order(tenant, &id).await?.map_or(now, |existing| existing.created_at);
    let mut order = Order {
        id,
        tenant_id: tenant.clone(),
        external_id,
        store: write.store,
        order_number: write.order_number,
        placed_at: write.placed_at,
        fulfilled_at: write.fulfilled_at,
        customer: write.customer,
        shipping_address: write.shipping_address,
        currency: write.currency,
        items,
        created_at,
        updated_at: now,
    };
    order.validate()?;
    let created = deps.orders.put_order(&order).await?;
    tracing::info!(tenant_id = %tenant, order_id = %order.id, created, items = order.items.len(), "order stored");
    Ok((order, created))
}

/// The shipments of `order`: the tenant's trackings whose `order_id` is its `external_id`,
/// newest first (at most 200).
pub async fn order_shipments(deps: &Deps, order: &Order) -> Result<Vec<Shipment>, AppError> {
    let query = ListQuery { limit: 200, order_id: Some(order.external_id.clone()), ..ListQuery::default() };
    Ok(deps.shipments.list(&order.tenant_id, &query).await?.shipments)
}

/// When the order was delivered: when the last of its shipments was, once every one of them
/// is delivered; `None` while one is on its way, or it has none. Return shipments (on their
/// way back) do not count.
pub fn delivered_at(shipments: &[Shipment]) -> Option<DateTime<Utc>> {
    let mut latest: Option<DateTime<Utc>> = None;
    for shipment in shipments.iter().filter(|s| s.details.shipment_direction == ShipmentDirection::Forward) {
        let delivered = shipment.shipment_delivery_date.as_ref()?.instant();
        latest = Some(latest.map_or(delivered, |l| l.max(delivered)));
    }
    latest
}

/// One order. `Missing` if the tenant has none with `id`.
pub async fn get_order(deps: &Deps, tenant: &TenantId, id: &str) -> Result<Order, AppError> {
    deps.orders.order(tenant, id).await?.ok_or(AppError::Missing("order"))
}

/// A page of the tenant's orders in id order, from after `cursor` (an id), and the cursor of
/// the next page when there may be one.
pub async fn list_orders(
    deps: &Deps,
    tenant: &TenantId,
    cursor: Option<&str>,
    limit: usize,
) -> Result<(Vec<Order>, Option<String>), AppError> {
    let limit = limit.clamp(1, MAX_PAGE);
    let orders = deps.orders.orders(tenant, cursor, limit).await?;
    let next = super::next_cursor(&orders, limit, |o| &o.id);
    Ok((orders, next))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::adapters::sqlite::SqliteStore;
    use crate::ports::Clock;
    use crate::testkit::ManualClock;

    fn write(quantity: u32) -> OrderWrite {
        serde_json::from_value(serde_json::json!({
            "external_id": "5001", "order_number": "#1001",
            "store": {"platform": "shopify", "external_id": "acme.myshopify.com"},
            "items": [{"external_id": "l1", "title": "Mug", "quantity": quantity,
                "unit_price": {"amount": "12.50", "currency": "EUR"}}]
        }))
        .expect("a write")
    }

    #[tokio::test]
    async fn an_order_sent_again_is_the_same_order_updated() {
        let clock = Arc::new(ManualClock::at(chrono::Utc::now()));
        let deps = crate::testkit::deps(SqliteStore::in_memory().expect("store"), clock.clone());
        let tenant = crate::app::create_tenant(&deps, "Acme").await.expect("tenant").0.id;
        let (first, created) = upsert_order(&deps, &tenant, write(1)).await.expect("stored");
        assert!(created);
        clock.advance(chrono::Duration::hours(1));
        let (again, created) = upsert_order(&deps, &tenant, write(2)).await.expect("stored");
        assert!(!created);
        assert_eq!(
            (again.id.as_str(), again.created_at, again.items[0].quantity),
            (first.id.as_str(), first.created_at, 2)
        );
        assert!(again.updated_at > first.updated_at);
        let refused = upsert_order(&deps, &tenant, write(0)).await;
        assert!(matches!(refused, Err(AppError::Invalid(ref e)) if e.field == "items[0].quantity"), "{refused:?}");
        assert_eq!(get_order(&deps, &tenant, &first.id).await.expect("read").items[0].quantity, 2, "kept");
        let other = crate::app::create_tenant(&deps, "Other").await.expect("tenant").0.id;
        assert!(matches!(get_order(&deps, &other, &first.id).await, Err(AppError::Missing("order"))));
    }

    #[tokio::test]
    async fn an_order_is_delivered_when_its_last_shipment_is() {
        use crate::domain::{
            CheckpointInput, CheckpointSource, EventTime, ShipmentDetails, Slug, Subtag, TrackingNumber,
        };
        let clock = Arc::new(ManualClock::at(chrono::Utc::now()));
        let deps = crate::testkit::deps(SqliteStore::in_memory().expect("store"), clock.clone());
        let tenant = crate::app::create_tenant(&deps, "Acme").await.expect("tenant").0.id;
        let (order, _) = upsert_order(&deps, &tenant, write(1)).await.expect("stored");
        let mut ids = Vec::new();
        for number in ["1Z999AA10123456784", "1Z999AA10123456791"] {
            let new = crate::app::NewTracking {
                slug: Some(Slug::parse("ups").expect("slug")),
                tracking_number: TrackingNumber::parse(number).expect("number"),
                details: ShipmentDetails { order_id: Some("5001".into()), ..ShipmentDetails::default() },
                last_mile: None,
            };
            ids.push(crate::app::create_tracking(&deps, &tenant, new).await.expect("created").id);
        }
        let deliver = |id: &crate::domain::ShipmentId, hours: i64| {
            let (deps, tenant, id) = (deps.clone(), tenant.clone(), id.clone());
            let at = clock.now() - chrono::Duration::hours(hours);
            async move {
                let mut s = deps.shipments.get(&tenant, &id).await.expect("read").expect("there");
                let input = CheckpointInput::new(
                    s.slug.clone(),
                    s.tracking_number.clone(),
                    EventTime::from_utc(at),
                    Subtag::parse("Delivered_001").expect("code"),
                    "Delivered",
                    CheckpointSource::Carrier,
                );
                s.merge([input], at);
                deps.shipments.update(&s).await.expect("updated");
                at
            }
        };
        assert_eq!(order_shipments(&deps, &order).await.expect("found").len(), 2);
        deliver(&ids[0], 5).await;
        assert_eq!(delivered_at(&order_shipments(&deps, &order).await.expect("found")), None, "one still on its way");
        let last = deliver(&ids[1], 2).await;
        let last = chrono::SubsecRound::trunc_subsecs(last, 0); // carriers' times are to the second
        assert_eq!(delivered_at(&order_shipments(&deps, &order).await.expect("found")), Some(last));
    }
}
