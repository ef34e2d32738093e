//! Demo data: a handful of cross-border shipments with realistic multi-carrier timelines, dated
//! relative to now, so a newcomer sees every status at once.
//!
//! The events are written here by hand in the normalized form; the carriers issue replaces them
//! with the sandbox carrier's scripted journeys.

pub mod history;

use chrono::{DateTime, Duration, Utc};

use crate::app::{AppError, Deps, NewTracking, import_tracking};
use crate::domain::{
    CheckpointInput, CheckpointSource, CountryCode, Customer, EventTime, Leg, LegSource, ShipmentDetails, Slug, Subtag,
    TenantId, TrackingNumber,
};

/// The name the demo tenant is created with.
pub const TENANT_NAME: &str = "Porchlight Demo Shop";

/// One scripted event: hours after the shipment was created, sub-status, message, place.
type Step = (i64, &'static str, &'static str, &'static str, &'static str);

struct Sample {
    slug: &'static str,
    number: &'static str,
    last_mile: Option<(&'static str, &'static str)>,
    created_days_ago: i64,
    order: &'static str,
    title: &'static str,
    from: &'static str,
    to: &'static str,
    buyer: &'static str,
    steps: &'static [Step],
}

const SAMPLES: &[Sample] = &[
    Sample {
        slug: "yunexpress",
        number: "YT2530512345678901",
        last_mile: Some(("usps", "9400111899223344556677")),
        created_days_ago: 12,
        order: "#1001",
        title: "Ceramic pour-over set",
        from: "CHN",
        to: "USA",
        buyer: "Avery Chen",
        steps: &[
            (2, "InfoReceived_001", "Shipment information received", "Shenzhen", "CHN"),
            (20, "InTransit_002", "Parcel collected by YunExpress", "Shenzhen", "CHN"),
            (30, "InTransit_007", "Departed from sorting center", "Shenzhen", "CHN"),
            (52, "InTransit_007", "Departed from airport of origin", "Hong Kong", "HKG"),
            (70, "InTransit_004", "Arrived at destination country", "Los Angeles, CA", "USA"),
            (90, "InTransit_005", "Import customs clearance completed", "Los Angeles, CA", "USA"),
            (100, "InTransit_002", "Handed over to USPS, tracking 9400111899223344556677", "Los Angeles, CA", "USA"),
            (150, "InTransit_003", "Arrived at USPS regional facility", "Denver, CO", "USA"),
            (190, "OutForDelivery_001", "Out for delivery", "Boulder, CO", "USA"),
            (196, "Delivered_001", "Delivered, in/at mailbox", "Boulder, CO", "USA"),
        ],
    },
    Sample {
        slug: "china-post",
        number: "RR123456785CN",
        last_mile: None,
        created_days_ago: 9,
        order: "#1002",
        title: "Silk scarf",
        from: "CHN",
        to: "GBR",
        buyer: "Morgan Hale",
        steps: &[
            (5, "InTransit_002", "Posting/collection", "Guangzhou", "CHN"),
            (30, "InTransit_007", "Departure from outward office of exchange", "Guangzhou", "CHN"),
            (120, "InTransit_004", "Arrival at inward office of exchange", "Heathrow", "GBR"),
            (150, "InTransit_006", "Held by import customs", "Heathrow", "GBR"),
            (170, "InTransit_005", "Released from import customs", "Heathrow", "GBR"),
        ],
    },
    Sample {
        slug: "ups",
        number: "1Z999AA10123456784",
        last_mile: None,
        created_days_ago: 3,
        order: "#1003",
        title: "Trail running shoes",
        from: "USA",
        to: "USA",
        buyer: "Jordan Reyes",
        steps: &[
            (
                1,
                "InfoReceived_001",
                "Shipper created a label, UPS has not received the package yet",
                "Louisville, KY",
                "USA",
            ),
            (10, "InTransit_002", "Origin Scan", "Louisville, KY", "USA"),
            (30, "InTransit_003", "Arrival Scan", "Chicago, IL", "USA"),
            (60, "OutForDelivery_001", "Out For Delivery Today", "Madison, WI", "USA"),
        ],
    },
    Sample {
        slug: "ups",
        number: "1Z12345E0205271688",
        last_mile: None,
        created_days_ago: 3,
        order: "#1003",
        title: "Merino running socks",
        from: "USA",
        to: "USA",
        buyer: "Jordan Reyes",
        steps: &[
            (1, "InfoReceived_001", "Shipper created a label", "Louisville, KY", "USA"),
            (12, "InTransit_002", "Origin Scan", "Louisville, KY", "USA"),
            (40, "InTransit_003", "Arrival Scan", "Madison, WI", "USA"),
            (62, "OutForDelivery_001", "Out For Delivery Today", "Madison, WI", "USA"),
            (66, "Delivered_001", "Delivered, front door", "Madison, WI", "USA"),
        ],
    },
    Sample {
        slug: "fedex",
        number: "449044304137821",
        last_mile: None,
        created_days_ago: 6,
        order: "#1004",
        title: "Espresso grinder",
        from: "USA",
        to: "CAN",
        buyer: "Sam Patel",
        steps: &[
            (4, "InTransit_002", "Picked up", "Memphis, TN", "USA"),
            (40, "InTransit_005", "International shipment release - Import", "Toronto, ON", "CAN"),
            (70, "OutForDelivery_001", "On FedEx vehicle for delivery", "Ottawa, ON", "CAN"),
            (78, "AttemptFail_002", "Customer not available or business closed", "Ottawa, ON", "CAN"),
            (100, "AvailableForPickup_001", "Ready for pickup at FedEx location", "Ottawa, ON", "CAN"),
        ],
    },
    Sample {
        slug: "dhl",
        number: "1234567890",
        last_mile: None,
        created_days_ago: 5,
        order: "#1005",
        title: "Leather notebook",
        from: "HKG",
        to: "DEU",
        buyer: "Kim Novak",
        steps: &[
            (3, "InTransit_002", "Shipment picked up", "Hong Kong", "HKG"),
            (20, "InTransit_007", "Departed Facility in Hong Kong", "Hong Kong", "HKG"),
            (40, "InTransit_004", "Arrived at Sort Facility LEIPZIG", "Leipzig", "DEU"),
            (55, "Exception_004", "Clearance delay - Import", "Leipzig", "DEU"),
        ],
    },
    Sample {
        slug: "4px",
        number: "4PX3000123456789CN",
        last_mile: None,
        created_days_ago: 25,
        order: "#1006",
        title: "Phone case",
        from: "CHN",
        to: "AUS",
        buyer: "Riley Brooks",
        steps: &[
            (6, "InTransit_002", "Parcel received at 4PX warehouse", "Dongguan", "CHN"),
            (40, "InTransit_004", "Arrived at destination country", "Sydney", "AUS"),
            (100, "AttemptFail_001", "Delivery attempted, addressee unknown", "Sydney", "AUS"),
            (130, "Exception_007", "Incorrect address", "Sydney", "AUS"),
            (200, "Exception_010", "Returning to sender", "Sydney", "AUS"),
            (500, "Exception_011", "Returned to sender", "Dongguan", "CHN"),
        ],
    },
    Sample {
        slug: "cainiao",
        number: "LP00123456789012",
        last_mile: None,
        created_days_ago: 1,
        order: "#1007",
        title: "Desk lamp",
        from: "CHN",
        to: "ESP",
        buyer: "Lucía Ortega",
        steps: &[(3, "InfoReceived_001", "Seller is preparing the package", "Yiwu", "CHN")],
    },
    Sample {
        slug: "usps",
        number: "9400111899223100000000",
        last_mile: None,
        created_days_ago: 0,
        order: "#1008",
        title: "Gift card holder",
        from: "USA",
        to: "USA",
        buyer: "Casey Kim",
        steps: &[],
    },
    Sample {
        slug: "yanwen",
        number: "UG123456789YP",
        last_mile: None,
        created_days_ago: 45,
        order: "#1009",
        title: "Keychain",
        from: "CHN",
        to: "FRA",
        buyer: "Noa Martin",
        steps: &[(8, "InTransit_002", "Accepted by Yanwen", "Yiwu", "CHN")],
    },
];

/// A country's usual UTC offset in hours, so that demo events carry local times as carriers
/// write them (a demo's approximation: one zone per country, no daylight saving).
fn utc_offset_hours(country: &str) -> i32 {
    match country {
        "CHN" | "HKG" => 8,
        "AUS" => 10,
        "DEU" | "FRA" | "ESP" => 1,
        "GBR" => 0,
        "CAN" => -5,
        "USA" => -6,
        _ => 0,
    }
}

fn event(slug: &str, number: &str, created: DateTime<Utc>, step: &Step) -> Result<CheckpointInput, AppError> {
    let (hours, code, message, city, country) = *step;
    let offset = chrono::FixedOffset::east_opt(utc_offset_hours(country) * 3600).expect("offsets are within a day");
    let local = (created + Duration::hours(hours)).with_timezone(&offset);
    let mut input = CheckpointInput::new(
        Slug::parse(slug)?,
        TrackingNumber::parse(number)?,
        EventTime::parse(&local.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))?,
        Subtag::parse(code)?,
        message,
        CheckpointSource::Carrier,
    );
    input.raw_tag = Some(code.split('_').next().unwrap_or(code).to_uppercase());
    input.location = Some(city.to_owned());
    input.city = Some(city.to_owned());
    input.country_region = Some(CountryCode::parse(country)?);
    Ok(input)
}

/// Where demo parcels to a country go: city, state, postal code.
fn destination(country: &str) -> (&'static str, Option<&'static str>, &'static str) {
    match country {
        "USA" => ("Boulder", Some("CO"), "80302"),
        "GBR" => ("London", None, "SW1A 1AA"),
        "CAN" => ("Ottawa", Some("ON"), "K1P 1J1"),
        "DEU" => ("Berlin", None, "10115"),
        "AUS" => ("Sydney", Some("NSW"), "2000"),
        "ESP" => ("Madrid", None, "28013"),
        "FRA" => ("Paris", None, "75001"),
        _ => ("Springfield", None, "00000"),
    }
}

/// Details every demo parcel shares: its order, the buyer (an `example.com` address), where
/// it goes.
fn sample_details(order: &str, title: &str, from: &str, to: &str, buyer: &str) -> Result<ShipmentDetails, AppError> {
    let (city, state, postal_code) = destination(to);
    Ok(ShipmentDetails {
        title: Some(title.to_owned()),
        order_number: Some(order.to_owned()),
        order_id: Some(format!("demo-{}", order.trim_start_matches('#'))),
        origin_country_region: Some(CountryCode::parse(from)?),
        destination_country_region: Some(CountryCode::parse(to)?),
        destination_city: Some(city.to_owned()),
        destination_state: state.map(str::to_owned),
        destination_postal_code: Some(postal_code.to_owned()),
        customers: vec![Customer {
            role: Some("buyer".into()),
            name: Some(buyer.to_owned()),
            email: Some(format!("{}@example.com", buyer.to_lowercase().replace(' ', "."))),
            ..Customer::default()
        }],
        shipment_tags: vec!["demo".into()],
        ..ShipmentDetails::default()
    })
}

/// The demo shop's tracking page: navigation, help, a banner, products and returns, all on
/// `example.com` (no images: the demo runs offline).
async fn brand(deps: &Deps, tenant: &TenantId) -> Result<(), AppError> {
    let update: crate::app::pages::PageUpdate = serde_json::from_value(serde_json::json!({
        "brand_name": TENANT_NAME,
        "primary_color": "#0f3d3e",
        "accent_color": "#b45309",
        "links": [
            {"label": "Shop", "url": "https://shop.example.com"},
            {"label": "Shipping & returns", "url": "https://shop.example.com/policies"}
        ],
        "support_email": "help@example.com",
        "support_url": "https://shop.example.com/help",
        "banner": {"text": "Free returns within 30 days of delivery.", "url": "https://shop.example.com/policies"},
        "recommendations": [
            {"title": "Ceramic travel mug", "price": {"amount": "24.00", "currency": "USD"}, "url": "https://shop.example.com/mug"},
            {"title": "Single-origin beans, 250 g", "price": {"amount": "16.50", "currency": "USD"}, "url": "https://shop.example.com/beans"},
            {"title": "Linen tea towel", "price": {"amount": "12.00", "currency": "USD"}, "url": "https://shop.example.com/towel"}
        ],
        "returns_enabled": true
    }))
    .map_err(|e| AppError::Internal(format!("demo page settings: {e}")))?;
    crate::app::pages::update_page_settings(deps, tenant, update).await?;
    Ok(())
}

/// Live sandbox journeys (see `carriers::sandbox`): they keep moving while `porchlight serve`
/// polls them. (number, days ago, order, title, buyer)
const LIVE: &[(&str, i64, &str, &str, &str)] = &[
    ("TC-DELIVERED-5-DEMO1", 2, "#1010", "Linen tote bag", "Priya Nair"),
    ("TC-HANDOVER-6-DEMO2", 3, "#1011", "Bamboo cutting board", "Tomás Silva"),
    ("TC-CUSTOMS-4-DEMO3", 3, "#1012", "Tea sampler", "Hana Kobayashi"),
    ("TC-ATTEMPT-3-DEMO4", 3, "#1013", "Wool beanie", "Ola Nordmann"),
];

/// The order behind the delivered two-leg parcel (#1001), with its lines, so the returns
/// portal has something to show: a final-sale line it refuses, and two it takes. Its number
/// and postal code open it, like the parcel's page.
async fn orders(deps: &Deps, tenant: &TenantId) -> Result<(), AppError> {
    let (city, state, postal_code) = destination("USA");
    let placed = deps.clock.now() - Duration::days(13);
    let order = serde_json::json!({
        "external_id": "demo-1001", "order_number": "#1001", "placed_at": placed,
        "store": {"platform": "shopify", "external_id": "porchlight-demo.myshopify.com"},
        "customer": {"email": "avery.chen@example.com", "locale": "en-US"},
        "shipping_address": {"country_region": "USA", "city": city, "state": state, "postal_code": postal_code},
        "currency": "USD",
        "items": [
            {"external_id": "demo-1001-1", "sku": "POUR-SET", "title": "Ceramic pour-over set", "variant_title": "Sand",
             "quantity": 1, "unit_price": {"amount": "48.00", "currency": "USD"}, "tax": {"amount": "3.84", "currency": "USD"}},
            {"external_id": "demo-1001-2", "sku": "MUG-TRAVEL", "title": "Ceramic travel mug", "variant_title": "Blue",
             "quantity": 2, "unit_price": {"amount": "24.00", "currency": "USD"}},
            {"external_id": "demo-1001-3", "sku": "BEANS-250", "title": "Single-origin beans, 250 g",
             "quantity": 1, "unit_price": {"amount": "16.50", "currency": "USD"}, "tags": ["final-sale"]}
        ]
    });
    let write = serde_json::from_value(order).map_err(|e| AppError::Internal(format!("demo order: {e}")))?;
    crate::app::orders::upsert_order(deps, tenant, write).await?;
    Ok(())
}

/// Brands the tenant's tracking page and loads the samples into `tenant`; samples it already
/// has are skipped. Returns how many were added.
pub async fn load(deps: &Deps, tenant: &TenantId) -> Result<usize, AppError> {
    brand(deps, tenant).await?;
    orders(deps, tenant).await?;
    let now = deps.clock.now();
    let mut added = 0;
    for sample in SAMPLES {
        let created = now - Duration::days(sample.created_days_ago);
        let details = sample_details(sample.order, sample.title, sample.from, sample.to, sample.buyer)?;
        let last_mile = match sample.last_mile {
            Some((slug, number)) => Some(Leg {
                slug: Slug::parse(slug)?,
                tracking_number: TrackingNumber::parse(number)?,
                source: LegSource::System,
            }),
            None => None,
        };
        let mut events = Vec::with_capacity(sample.steps.len());
        for step in sample.steps {
            // Events after the handover belong to the last-mile leg.
            let on_last_mile = sample.last_mile.filter(|_| step.0 > 100);
            let (slug, number) = on_last_mile.unwrap_or((sample.slug, sample.number));
            events.push(event(slug, number, created, step)?);
        }
        let new = NewTracking {
            slug: Some(Slug::parse(sample.slug)?),
            tracking_number: TrackingNumber::parse(sample.number)?,
            details,
            last_mile,
        };
        match import_tracking(deps, tenant, new, created, events).await {
            Ok(_) => added += 1,
            Err(AppError::Duplicate(_)) => {}
            Err(other) => return Err(other),
        }
    }
    for (number, days_ago, order, title, buyer) in LIVE {
        let created = now - Duration::days(*days_ago);
        let mut details = sample_details(order, title, "CHN", "USA", buyer)?;
        details.shipment_tags.push("sandbox".into());
        let new = NewTracking {
            slug: Some(Slug::parse(crate::carriers::sandbox::SLUG)?),
            tracking_number: TrackingNumber::parse(number)?,
            details,
            last_mile: None,
        };
        let shipment = match import_tracking(deps, tenant, new, created, Vec::new()).await {
            Ok(shipment) => shipment,
            Err(AppError::Duplicate(_)) => continue,
            Err(other) => return Err(other),
        };
        added += 1;
        // What the sandbox would have reported so far; the poller carries on from here.
        if let Some(update) = crate::carriers::sandbox::journey(&shipment.tracking_number, created, now) {
            crate::app::apply_tracking_update(deps, &update).await?;
        }
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::adapters::sqlite::SqliteStore;
    use crate::domain::Tag;
    use crate::ports::{ListQuery, SystemClock};

    #[tokio::test]
    async fn demo_data_covers_every_status_a_newcomer_should_see_and_loads_once() {
        let deps = crate::testkit::deps(SqliteStore::in_memory().expect("store"), Arc::new(SystemClock));
        let (tenant, _) = crate::app::create_tenant(&deps, TENANT_NAME).await.expect("tenant");
        assert_eq!(load(&deps, &tenant.id).await.expect("loaded"), SAMPLES.len() + LIVE.len());
        assert_eq!(load(&deps, &tenant.id).await.expect("reloaded"), 0);
        let page =
            deps.shipments.list(&tenant.id, &ListQuery { limit: 50, ..ListQuery::default() }).await.expect("list");
        let mut tags: Vec<Tag> = page.shipments.iter().map(|s| s.tag).collect();
        tags.sort();
        tags.dedup();
        assert_eq!(tags, Tag::ALL, "every delivery status is represented");
        let sandbox: Vec<_> = page.shipments.iter().filter(|s| s.slug.as_str() == "testing-courier").collect();
        assert_eq!(sandbox.len(), LIVE.len());
        assert!(sandbox.iter().all(|s| !s.checkpoints.is_empty() && s.active), "live journeys under way");
        let two_legs = page.shipments.iter().find(|s| s.slug.as_str() == "yunexpress").expect("a two-leg journey");
        assert_eq!(two_legs.tag, Tag::Delivered);
        assert!(two_legs.checkpoints.iter().any(|c| c.slug.as_str() == "usps"));
        assert!(two_legs.checkpoints.iter().any(|c| c.slug.as_str() == "yunexpress"));
        // The returns portal's order: delivered, a final-sale line refused, the others open.
        let order = deps.orders.orders_by_number(&tenant.id, "#1001").await.expect("order").remove(0);
        let lines = crate::app::returns::order_eligibility(&deps, &order).await.expect("eligibility");
        let returnable: Vec<u32> = lines.iter().map(|l| l.returnable_quantity).collect();
        assert_eq!(returnable, [1, 2, 0], "{lines:?}");
    }
}
