//! What a storefront says, stored: orders with their lines, buyer and destination, and a
//! tracking for every tracking number of their parcels, each carrying the order's fields.
//! Deliveries are handled once (by the platform's delivery id); an older version of an order
//! or fulfilment never replaces a newer one, and a deleted order stays deleted.

use chrono::{DateTime, Utc};

use super::{Connector, StorefrontDelivery, get_connector, save_record};
use crate::app::orders::{OrderWrite, upsert_order};
use crate::app::{AppError, Deps, NewTracking, create_tracking_from, update_tracking};
use crate::couriers;
use crate::domain::{
    Contact, Customer, Order, OrderCustomer, ShipmentDetails, ShippingAddress, Slug, Store, TrackingNumber,
    TrackingSource, e164, language_tag,
};
use crate::ports::Advance;
use crate::storefronts::{Buyer, Parcel, StoreOrder, StorefrontEvent};

/// What handling one storefront event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncOutcome {
    /// Stored.
    Applied {
        /// Trackings created.
        trackings: usize,
        /// Numbers that could not be tracked, each with the reason (no shopper data).
        skipped: Vec<String>,
    },
    /// The order was deleted.
    Deleted,
    /// A newer version (or the deletion) was stored already: nothing changed.
    Stale,
    /// The same delivery was handled before: nothing changed.
    Duplicate,
    /// Nothing for Porchlight (another topic, or the connector is gone).
    Ignored,
}

/// Why a delivery could not be handled.
#[derive(Debug, thiserror::Error)]
pub enum SyncFailure {
    /// The body does not read: it never will.
    #[error(transparent)]
    Unreadable(#[from] crate::storefronts::ParseError),
    /// The store failed.
    #[error(transparent)]
    App(#[from] AppError),
}

/// Handles a queued webhook: once per delivery id, in the platform's order of changes.
pub async fn handle_storefront_delivery(
    deps: &Deps,
    delivery: &StorefrontDelivery,
) -> Result<SyncOutcome, SyncFailure> {
    let tenant = &delivery.tenant_id;
    let mut connector = match get_connector(deps, tenant, &delivery.connector_id).await {
        Ok(connector) => connector,
        Err(AppError::Missing(_)) => return Ok(SyncOutcome::Ignored),
        Err(other) => return Err(other.into()),
    };
    if let Some(id) = &delivery.delivery_id
        && deps.connectors.delivery_seen(tenant, &connector.id, id).await.map_err(AppError::from)?
    {
        return Ok(SyncOutcome::Duplicate);
    }
    let event = delivery.platform.parse_webhook(&delivery.topic, delivery.body.as_bytes())?;
    let at = delivery.triggered_at.unwrap_or(delivery.received_at);
    let outcome = apply_storefront_event(deps, &connector, event, at).await?;
    if let Some(id) = &delivery.delivery_id {
        deps.connectors.remember_delivery(tenant, &connector.id, id, deps.clock.now()).await.map_err(AppError::from)?;
    }
    let seen_long_ago =
        connector.record.last_webhook_at.is_none_or(|last| delivery.received_at - last > chrono::Duration::minutes(1));
    if seen_long_ago {
        connector.record.last_webhook_at = Some(delivery.received_at);
        save_record(deps, &connector).await?;
    }
    tracing::info!(
        tenant_id = %tenant,
        connector_id = %connector.id,
        topic = %delivery.topic,
        outcome = ?outcome,
        "storefront webhook handled"
    );
    Ok(outcome)
}

/// Stores what `event` says for `connector`'s merchant; `at` is when the platform says it
/// happened (for a deletion, which carries no time of its own).
pub async fn apply_storefront_event(
    deps: &Deps,
    connector: &Connector,
    event: StorefrontEvent,
    at: DateTime<Utc>,
) -> Result<SyncOutcome, AppError> {
    let (tenant, id) = (&connector.tenant_id, connector.id.as_str());
    match event {
        StorefrontEvent::Ignored => Ok(SyncOutcome::Ignored),
        StorefrontEvent::OrderDeleted { external_id } => {
            let resource = format!("order:{external_id}");
            if deps.connectors.advance_resource(tenant, id, &resource, at, true).await? == Advance::Deleted {
                return Ok(SyncOutcome::Stale);
            }
            deps.orders.delete_order(tenant, &Order::id_of(tenant, &external_id)).await?;
            Ok(SyncOutcome::Deleted)
        }
        StorefrontEvent::Order(order) => {
            let resource = format!("order:{}", order.external_id);
            if deps.connectors.advance_resource(tenant, id, &resource, order.updated_at, false).await? != Advance::Fresh
            {
                return Ok(SyncOutcome::Stale);
            }
            let context = OrderContext::of(&order);
            store_order(deps, connector, order.clone()).await?;
            let mut outcome = (0, Vec::new());
            for parcel in &order.parcels {
                track_parcel(deps, connector, &context, parcel, &mut outcome).await?;
            }
            Ok(SyncOutcome::Applied { trackings: outcome.0, skipped: outcome.1 })
        }
        StorefrontEvent::Fulfillment(fulfillment) => {
            let order_resource = format!("order:{}", fulfillment.order_external_id);
            if deps.connectors.resource_deleted(tenant, id, &order_resource).await? {
                return Ok(SyncOutcome::Stale);
            }
            let Some(parcel) = &fulfillment.parcel else { return Ok(SyncOutcome::Ignored) };
            let resource = format!("fulfillment:{}", parcel.external_id);
            if deps.connectors.advance_resource(tenant, id, &resource, fulfillment.updated_at, false).await?
                != Advance::Fresh
            {
                return Ok(SyncOutcome::Stale);
            }
            // The order's own record (from its webhook) fills what the fulfilment leaves out;
            // without one, the fulfilment makes it (with the lines it ships) until the order's
            // own webhook replaces it.
            let stored = deps.orders.order(tenant, &Order::id_of(tenant, &fulfillment.order_external_id)).await?;
            if stored.is_none() {
                let order = StoreOrder {
                    external_id: fulfillment.order_external_id.clone(),
                    order_number: fulfillment.order_number.clone(),
                    placed_at: None,
                    updated_at: fulfillment.updated_at,
                    buyer: fulfillment.buyer.clone(),
                    destination: fulfillment.destination.clone(),
                    currency: fulfillment.currency.clone(),
                    items: fulfillment.items.clone(),
                    parcels: vec![parcel.clone()],
                };
                store_order(deps, connector, order).await?;
            }
            let context = OrderContext {
                external_id: fulfillment.order_external_id.clone(),
                order_number: fulfillment.order_number.clone().or(stored.as_ref().and_then(|o| o.order_number.clone())),
                placed_at: stored.as_ref().and_then(|o| o.placed_at),
                buyer: Buyer {
                    email: fulfillment.buyer.email.clone().or(stored.as_ref().and_then(|o| o.customer.email.clone())),
                    phone: fulfillment.buyer.phone.clone().or(stored.as_ref().and_then(|o| o.customer.phone.clone())),
                    locale: stored.as_ref().and_then(|o| o.customer.locale.clone()),
                    name: fulfillment.buyer.name.clone(),
                },
                destination: if fulfillment.destination.country_region.is_some() {
                    fulfillment.destination.clone()
                } else {
                    stored.map(|o| o.shipping_address).unwrap_or_default()
                },
            };
            let mut outcome = (0, Vec::new());
            track_parcel(deps, connector, &context, parcel, &mut outcome).await?;
            Ok(SyncOutcome::Applied { trackings: outcome.0, skipped: outcome.1 })
        }
    }
}

/// What a tracking takes from its order.
struct OrderContext {
    external_id: String,
    order_number: Option<String>,
    placed_at: Option<DateTime<Utc>>,
    buyer: Buyer,
    destination: ShippingAddress,
}

impl OrderContext {
    fn of(order: &StoreOrder) -> Self {
        OrderContext {
            external_id: order.external_id.clone(),
            order_number: order.order_number.clone(),
            placed_at: order.placed_at,
            buyer: order.buyer.clone(),
            destination: order.destination.clone(),
        }
    }
}

/// The buyer's email, when it is one.
fn email_of(buyer: &Buyer) -> Option<String> {
    buyer.email.as_deref().and_then(|e| match Contact::email(e) {
        Ok(Contact::Email(email)) => Some(email),
        _ => None,
    })
}

/// The buyer's phone number in E.164, when it reads as one.
fn phone_of(buyer: &Buyer) -> Option<String> {
    buyer.phone.as_deref().and_then(|p| e164("phone", p).ok())
}

async fn store_order(deps: &Deps, connector: &Connector, order: StoreOrder) -> Result<(), AppError> {
    let write = OrderWrite {
        external_id: Some(order.external_id),
        store: Some(Store {
            platform: connector.record.platform.as_str().to_owned(),
            external_id: connector.record.shop.clone(),
        }),
        order_number: order.order_number,
        placed_at: order.placed_at,
        fulfilled_at: order.parcels.iter().filter_map(|p| p.shipped_at).max(),
        customer: OrderCustomer {
            email: email_of(&order.buyer),
            phone: phone_of(&order.buyer),
            locale: order.buyer.locale.filter(|l| language_tag("locale", l).is_ok()),
        },
        shipping_address: order.destination,
        currency: order.currency,
        items: Some(order.items),
    };
    upsert_order(deps, &connector.tenant_id, write).await.map(|_| ())
}

/// The merchant's fields a tracking of the order carries.
fn details_of(context: &OrderContext) -> ShipmentDetails {
    let buyer = Customer {
        role: Some("buyer".into()),
        name: context.buyer.name.as_ref().map(|n| n.chars().take(256).collect()),
        phone_number: phone_of(&context.buyer),
        email: email_of(&context.buyer),
        language: context.buyer.locale.as_ref().and_then(|l| l.split(['-', '_']).next()).map(str::to_ascii_lowercase),
        id: None,
    };
    let has_buyer = buyer.email.is_some() || buyer.phone_number.is_some() || buyer.name.is_some();
    let destination = &context.destination;
    ShipmentDetails {
        order_id: Some(context.external_id.clone()),
        order_number: context.order_number.clone(),
        order_date: context.placed_at.map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        destination_country_region: destination.country_region,
        destination_state: destination.state.clone(),
        destination_city: destination.city.clone(),
        destination_postal_code: destination.postal_code.clone(),
        customers: if has_buyer { vec![buyer] } else { Vec::new() },
        ..ShipmentDetails::default()
    }
}

/// The carrier a store's name for it means, when Porchlight knows the name.
fn slug_named(carrier: Option<&str>) -> Option<Slug> {
    carrier.and_then(couriers::slug_for_name).and_then(|slug| Slug::parse(slug).ok())
}

/// Creates a tracking for each of `parcel`'s numbers the merchant does not track yet, and gives
/// an existing one without an order the order's fields. Counts what it created in `outcome.0`
/// and names what it could not track in `outcome.1`.
async fn track_parcel(
    deps: &Deps,
    connector: &Connector,
    context: &OrderContext,
    parcel: &Parcel,
    outcome: &mut (usize, Vec<String>),
) -> Result<(), AppError> {
    let tenant = &connector.tenant_id;
    let details = details_of(context);
    if let Err(error) = details.validate() {
        outcome.1.push(format!("order {}: {error}", context.external_id));
        return Ok(());
    }
    for number in &parcel.numbers {
        let Ok(tracking_number) = TrackingNumber::parse(number) else {
            outcome.1.push(format!("{number}: not a tracking number"));
            continue;
        };
        let named = slug_named(parcel.carrier.as_deref());
        let new = |slug| NewTracking {
            slug,
            tracking_number: tracking_number.clone(),
            details: details.clone(),
            last_mile: None,
        };
        let source = TrackingSource::Connector(connector.id.clone());
        let mut created = create_tracking_from(deps, tenant, new(named.clone()), source.clone()).await;
        // A carrier named for a number that is not its own (`Other`, a reseller's name):
        // detect it from the number instead.
        if named.is_some() && matches!(created, Err(AppError::Invalid(_) | AppError::UnknownCourier(_))) {
            created = create_tracking_from(deps, tenant, new(None), source).await;
        }
        match created {
            Ok(shipment) => {
                outcome.0 += 1;
                tracing::info!(tenant_id = %tenant, shipment_id = %shipment.id, slug = %shipment.slug, "storefront tracking created");
            }
            Err(AppError::Duplicate(existing)) => {
                let result = update_tracking(deps, tenant, &existing, |shipment| {
                    if shipment.details.order_id.is_none() {
                        shipment.details.order_id = details.order_id.clone();
                        shipment.details.order_number = details.order_number.clone();
                    }
                    if shipment.details.customers.is_empty() {
                        shipment.details.customers = details.customers.clone();
                    }
                    Ok(())
                })
                .await;
                match result {
                    Ok(_) | Err(AppError::NotFound) => {}
                    Err(other) => return Err(other),
                }
            }
            Err(error) if error.is_retryable() => return Err(error),
            Err(error) => outcome.1.push(format!("{number}: {error}")),
        }
    }
    Ok(())
}
