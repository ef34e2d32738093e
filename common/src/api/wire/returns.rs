//! The Return as AfterShip Returns 2026-07 writes it (`components/schemas/Return` of its
//! published OpenAPI document), for the Returns API and the return webhooks. Fields Porchlight
//! does not keep (refunds, restocks, drop-offs, instant exchanges, item tags, bundles) are
//! present with their empty value; `policy_version`, each line's `return_reason_id` and
//! `resolution`, and `exchange.price_difference` are Porchlight extensions.

use serde_json::{Value, json};

use super::timestamp;
use crate::domain::{Money, Outcome, Resolution, Return, ReturnItem, ReturnMethod, ReturnShipment, ShippingStatus};

fn money(value: &Money) -> Value {
    json!({ "amount": value.amount, "currency": value.currency })
}

fn optional_money(value: Option<&Money>) -> Value {
    value.map_or(Value::Null, money)
}

fn at(value: Option<chrono::DateTime<chrono::Utc>>) -> Value {
    value.map_or(Value::Null, |t| Value::String(timestamp(t)))
}

/// The wire spelling of a return method.
pub fn method_code(method: ReturnMethod) -> &'static str {
    match method {
        ReturnMethod::RetailerLabel => "retailer_label",
        ReturnMethod::CustomerCourier => "customer_courier",
        ReturnMethod::DropOff => "carrier_dropoff",
        ReturnMethod::GreenReturn => "green_return",
    }
}

/// Reads [`method_code`]'s spelling.
pub fn parse_method(code: &str) -> Option<ReturnMethod> {
    [ReturnMethod::RetailerLabel, ReturnMethod::CustomerCourier, ReturnMethod::DropOff, ReturnMethod::GreenReturn]
        .into_iter()
        .find(|m| method_code(*m) == code)
}

/// The wire spelling of an outcome.
pub fn outcome_code(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Refund => "refund",
        Outcome::StoreCredit => "store_credit",
        Outcome::Exchange => "exchange",
    }
}

/// The wire spelling of a shipping status.
pub fn shipping_status_code(status: ShippingStatus) -> &'static str {
    match status {
        ShippingStatus::NoLabel => "no_label",
        ShippingStatus::Pending => "pending",
        ShippingStatus::InTransit => "in_transit",
        ShippingStatus::Delivered => "delivered",
        ShippingStatus::Received => "received",
    }
}

/// A unit's price as paid: price less discount plus tax, in minor units.
fn paid_per_unit(item: &ReturnItem) -> u64 {
    let minor = |m: &Option<Money>| m.as_ref().and_then(Money::minor_units).unwrap_or(0);
    (item.unit_price.minor_units().unwrap_or(0) + minor(&item.unit_tax)).saturating_sub(minor(&item.unit_discount))
}

/// A photo's URL: paths the portal keeps made whole with `public_url`, URLs as they are.
fn photo_url(photo: &str, public_url: Option<&str>) -> String {
    match public_url {
        Some(base) if photo.starts_with('/') => format!("{base}{photo}"),
        _ => photo.to_owned(),
    }
}

fn item_view(item: &ReturnItem, green: bool, public_url: Option<&str>) -> Value {
    let discounted = Money::from_minor(paid_per_unit(item), &item.unit_price.currency);
    json!({
        "id": item.external_order_item_id,
        "external_order_item_id": item.external_order_item_id,
        "external_product_id": null,
        "external_variant_id": null,
        "sku": item.sku,
        "product_title": item.product_title,
        "variant_title": item.variant_title,
        "intended_return_quantity": item.intended_return_quantity,
        "return_reason": item.reason_label,
        "return_reason_id": item.reason,
        "return_reason_comment": item.comment,
        "return_subreason": item.subreason,
        "ordered_quantity": item.ordered_quantity,
        "refund_quantity": item.return_quantity(),
        "return_quantity": item.return_quantity(),
        "received_quantity": item.received_quantity,
        "restocked_quantity": 0,
        "removed_quantity": item.removed_quantity,
        "unit_display_price": money(&item.unit_price),
        "unit_discounted_price_including_tax": money(&discounted),
        "unit_discount": optional_money(item.unit_discount.as_ref()),
        "unit_tax": optional_money(item.unit_tax.as_ref()),
        "properties": [],
        "shopper_uploaded_image_urls": item.photos.iter().map(|p| photo_url(p, public_url)).collect::<Vec<_>>(),
        "product_image_urls": item.image_url.iter().collect::<Vec<_>>(),
        "product_categories": item.categories,
        "product_tags": item.tags,
        "item_tags": [],
        "merchant_uploaded_image_urls": [],
        "bundled_items": [],
        "exchange_variant": item.exchange_variant.as_ref().map(|v| json!({
            "external_product_id": null,
            "external_variant_id": null,
            "sku": v.sku,
            "product_title": item.product_title,
            "title": v.title,
            "unit_display_price": optional_money(v.unit_price.as_ref().or(Some(&item.unit_price))),
        })),
        "parent_item_id": null,
        "green_return": green,
        "resolution": match item.resolution {
            Resolution::Refund => "refund",
            Resolution::StoreCredit => "store_credit",
            Resolution::Exchange => "exchange",
        },
    })
}

fn shipment_view(shipment: &ReturnShipment, ret: &Return) -> Value {
    json!({
        "id": shipment.id,
        "tracking_number": shipment.tracking_number,
        "tracking_status": shipment.tracking_status.map(|t| t.as_str()),
        "slug": shipment.slug,
        "items": ret.items.iter().filter(|i| i.return_quantity() > 0).map(|i| json!({
            "external_order_item_id": i.external_order_item_id,
            "quantity": i.return_quantity(),
        })).collect::<Vec<_>>(),
        "label": {
            "url": shipment.label_url,
            "slug": shipment.slug,
            "total_charge": optional_money(shipment.total_charge.as_ref()),
            "qr_code_url": null,
        },
        "packing_slip_url": null,
        "shipping_documents_url": null,
        "shipping_documents_components": [],
        "conditional_shipping_document_urls": [],
        "source": "merchant_api",
        "created_at": timestamp(shipment.created_at),
        "tracking_status_updated_at": at(shipment.tracking_status_updated_at),
        "ship_from": null,
        "ship_to": null,
        "invoice_url": null,
    })
}

/// The exchange the return asks for, when lines are exchanged: the wanted variants and the
/// price difference (wanted less returned, in the order's currency; negative when the shopper
/// is owed it).
fn exchange_view(ret: &Return) -> Value {
    let exchanged: Vec<&ReturnItem> =
        ret.items.iter().filter(|i| i.exchange_variant.is_some() && i.return_quantity() > 0).collect();
    let Some(first) = exchanged.first() else { return Value::Null };
    let currency = &first.unit_price.currency;
    let difference = ret.exchange_difference_minor();
    let owed = Money::from_minor(u64::try_from(difference.unsigned_abs()).unwrap_or(u64::MAX), currency);
    let sign = if difference < 0 { "-" } else { "" };
    json!({
        "order": null,
        "items": exchanged.iter().map(|i| {
            let variant = i.exchange_variant.as_ref().expect("filtered");
            json!({
                "external_product_id": null,
                "external_variant_id": null,
                "sku": variant.sku,
                "title": i.product_title,
                "variant_to_replace": {
                    "external_id": i.external_order_item_id,
                    "external_product_id": null,
                    "title": i.variant_title,
                    "sku": i.sku,
                },
                "quantity": i.return_quantity(),
                "unit_display_price": money(variant.unit_price.as_ref().unwrap_or(&i.unit_price)),
                "product_title": i.product_title,
                "variant_title": variant.title,
                "product_image_urls": i.image_url.iter().collect::<Vec<_>>(),
            })
        }).collect::<Vec<_>>(),
        "tax_total": null,
        "bonus_credits": [],
        "bonus_credits_used_total": null,
        "exchange_total_including_tax": null,
        "charge_by": "other",
        "price_difference": { "amount": format!("{sign}{}", owed.amount), "currency": owed.currency },
    })
}

/// `ret` as the Returns API answers it; photo paths made whole with `public_url` (where
/// shoppers reach the pages).
pub fn return_view(ret: &Return, public_url: Option<&str>) -> Value {
    let currency = &ret.refund_estimate.currency;
    let total: u64 = ret.items.iter().map(|i| paid_per_unit(i) * u64::from(i.return_quantity())).sum();
    let tax: u64 = ret
        .items
        .iter()
        .map(|i| i.unit_tax.as_ref().and_then(Money::minor_units).unwrap_or(0) * u64::from(i.return_quantity()))
        .sum();
    let green = ret.method == ReturnMethod::GreenReturn;
    let order_name = ret.order_number.clone();
    let mut view = json!({
        "id": ret.id,
        "organization": { "id": ret.tenant_id.as_str() },
        "rma_number": ret.rma_number,
        "contact_email": ret.contact_email,
        "filed_by": match ret.filed_by {
            crate::domain::FiledBy::Shopper => "shopper",
            crate::domain::FiledBy::Merchant => "merchant",
        },
        "approval_status": ret.approval_status.as_str(),
        "approved_at": at(ret.approved_at),
        "auto_approved": ret.auto_approved,
        "rejected_at": at(ret.rejected_at),
        "reject_reason": ret.reject_reason,
        "auto_rejected": ret.auto_rejected,
        "resolved_at": at(ret.resolved_at),
        "auto_resolved": false,
        "refunded_at": null,
        "auto_refunded": null,
        "auto_received": null,
        "expired_at": at(ret.expired_at),
        "shop_now": false,
        "merchant_note": ret.merchant_note,
        "return_total_including_tax": money(&Money::from_minor(total, currency)),
        "return_tax": money(&Money::from_minor(tax, currency)),
        "refund_destination": match ret.refund_destination {
            crate::domain::RefundDestination::OriginalPayment => "original_payment",
            crate::domain::RefundDestination::StoreCredit => "store_credit",
        },
        "refunded_total": null,
        "estimated_refund_total": money(&ret.refund_estimate),
        "checkout_total": null,
        "shipping_address": null,
    });
    let rest = json!({
        "order": {
            "id": ret.order_id,
            "external_id": ret.order_external_id,
            "order_number": order_name.as_deref().map(|n| n.trim_start_matches('#')),
            "order_name": order_name,
            "customer": {
                "emails": ret.contact_email.iter().collect::<Vec<_>>(),
                "locale": ret.locale,
            },
            "country_region": ret.country_region,
            "store": ret.store.as_ref().map(|s| json!({ "platform": s.platform, "external_id": s.external_id })),
            "placed_at": at(ret.order_placed_at),
        },
        "return_items": ret.items.iter().map(|i| item_view(i, green, public_url)).collect::<Vec<_>>(),
        "return_method": { "type": method_code(ret.method), "name": null, "zone": null, "rule": null },
        "exchange": exchange_view(ret),
        "instant_exchange": null,
        "receivings": ret.receivings,
        "is_gift_return": false,
        "shipments": ret.shipments.iter().map(|s| shipment_view(s, ret)).collect::<Vec<_>>(),
        "restocks": [],
        "cost_of_return": { "charged": null, "value": money(&ret.fee) },
        "refunds": [],
        "dropoffs": [],
        "outcomes": ret.outcomes().into_iter().map(outcome_code).collect::<Vec<_>>(),
        "created_at": timestamp(ret.created_at),
        "shipping_status": shipping_status_code(ret.shipping_status()),
        "exceptions": [],
        "policy_version": ret.policy_version,
    });
    if let (Some(view), Value::Object(rest)) = (view.as_object_mut(), rest) {
        view.extend(rest);
    }
    view
}
