//! Trackings written out as the history CSV's columns (their Porchlight names, in the
//! documentation's order), so that an export imports back as it was: a merchant's way to take
//! its trackings to a spreadsheet, or to another Porchlight.

use super::{CSV_COLUMNS, Column};
use crate::domain::Shipment;

/// The tracking's columns (the order line's columns are an order's, not a tracking's).
fn tracking_columns() -> impl Iterator<Item = &'static (&'static [&'static str], Column)> {
    CSV_COLUMNS.iter().filter(|(_, column)| !matches!(column, Column::Item(_) | Column::Currency))
}

/// The header row: every tracking column by its Porchlight name.
pub fn csv_header() -> Vec<&'static str> {
    tracking_columns().map(|(names, _)| names[0]).collect()
}

/// `shipment`'s row, a cell per [`csv_header`] column (empty when it has no value). The buyer
/// is the first customer with the role `buyer`, else the first.
pub fn csv_row(shipment: &Shipment) -> Vec<String> {
    let details = &shipment.details;
    let buyer =
        details.customers.iter().find(|c| c.role.as_deref() == Some("buyer")).or_else(|| details.customers.first());
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    tracking_columns()
        .map(|(_, column)| match column {
            Column::Field(name) => match *name {
                "tracking_number" => shipment.tracking_number.to_string(),
                "slug" => shipment.slug.to_string(),
                "title" => text(&details.title),
                "order_id" => text(&details.order_id),
                "order_number" => text(&details.order_number),
                "order_date" => text(&details.order_date),
                "shipping_method" => text(&details.shipping_method),
                "shipment_type" => text(&details.shipment_type),
                "language" => text(&details.language),
                "note" => text(&details.note),
                "origin_state" => text(&details.origin_state),
                "origin_city" => text(&details.origin_city),
                "origin_postal_code" => text(&details.origin_postal_code),
                "destination_state" => text(&details.destination_state),
                "destination_city" => text(&details.destination_city),
                "destination_postal_code" => text(&details.destination_postal_code),
                other => unreachable!("the history CSV has no field column {other}"),
            },
            Column::Country("origin_country_region") => {
                details.origin_country_region.map(|c| c.to_string()).unwrap_or_default()
            }
            Column::Country(_) => details.destination_country_region.map(|c| c.to_string()).unwrap_or_default(),
            Column::Customer("name") => buyer.and_then(|c| c.name.clone()).unwrap_or_default(),
            Column::Customer("email") => buyer.and_then(|c| c.email.clone()).unwrap_or_default(),
            Column::Customer(_) => buyer.and_then(|c| c.phone_number.clone()).unwrap_or_default(),
            Column::Tags => details.shipment_tags.join(";"),
            Column::Promised => details
                .order_promised_delivery_date
                .as_ref()
                .and_then(|p| p.promised_delivery_date.clone())
                .unwrap_or_default(),
            Column::CreatedAt => shipment.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            Column::Item(_) | Column::Currency | Column::Ignored => String::new(),
        })
        .collect()
}
