//! The stored form of a shipment, locked: both stores keep a shipment's body as this JSON
//! (SQLite in `shipments.body`, DynamoDB deflated in the item's `body`). The golden file
//! `testdata/stored-shipment-v2.json` is what every field looks like stored; the tests below
//! fail when a change to the domain's types (a rename, a new field, another spelling of a
//! value) would change what is stored, so that such a change is made on purpose, with a
//! migration of what is stored already, and never silently.
//!
//! Versions: v1 (until issue 10) had no `subscriptions`; v2 adds them, absent when empty, so a
//! v1 body reads as a shipment without subscriptions (a test keeps that true) and needs no
//! migration.

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeZone, Utc};

    use crate::domain::{
        CheckpointInput, CheckpointSource, CountryCode, Customer, DeliveryType, EventTime, Leg, LegSource,
        PromisedDeliveryDate, Shipment, ShipmentDetails, ShipmentDirection, ShipmentId, Slug, Subscriptions, Subtag,
        TenantId, TrackingNumber,
    };

    const GOLDEN: &str = include_str!("testdata/stored-shipment-v2.json");
    const GOLDEN_V1: &str = include_str!("testdata/stored-shipment-v1.json");

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, day, hour, 0, 0).single().expect("a date")
    }

    /// A shipment with every field set.
    fn everything() -> Shipment {
        let text = |s: &str| Some(s.to_owned());
        let details = ShipmentDetails {
            title: text("Ceramic mug"),
            order_id: text("order-1"),
            order_id_path: text("/orders/1"),
            order_number: text("#1001"),
            order_date: text("2026-03-01"),
            custom_fields: serde_json::json!({"sku": "MUG-1", "gift": {"wrap": true}}).as_object().cloned(),
            language: text("en"),
            note: text("fragile"),
            pickup_location: text("Locker 4"),
            pickup_note: text("code 1234"),
            delivery_type: Some(DeliveryType::PickupAtCourier),
            tracking_account_number: text("ACC-1"),
            tracking_key: text("KEY-1"),
            tracking_ship_date: text("20260301"),
            origin_country_region: Some(CountryCode::parse("CHN").expect("country")),
            origin_state: text("Guangdong"),
            origin_city: text("Shenzhen"),
            origin_postal_code: text("518000"),
            origin_raw_location: text("Shenzhen, CN"),
            destination_country_region: Some(CountryCode::parse("USA").expect("country")),
            destination_state: text("NY"),
            destination_city: text("New York"),
            destination_postal_code: text("10001"),
            destination_raw_location: text("New York, US"),
            shipment_type: text("parcel"),
            shipment_tags: vec!["gift".into(), "vip".into()],
            courier_connection_id: text("0123456789abcdef0123456789abcdef"),
            location_id: text("loc-1"),
            shipping_method: text("express"),
            customers: vec![Customer {
                role: text("buyer"),
                name: text("Ann"),
                phone_number: text("+15555550100"),
                email: text("ann@example.com"),
                language: text("en"),
                id: text("c-1"),
            }],
            shipment_direction: ShipmentDirection::Forward,
            order_promised_delivery_date: Some(PromisedDeliveryDate {
                promised_delivery_date: text("2026-03-10"),
                promised_delivery_date_min: text("2026-03-09"),
                promised_delivery_date_max: text("2026-03-11"),
            }),
        };
        let slug = Slug::parse("yunexpress").expect("slug");
        let number = TrackingNumber::parse("YT2412345678901234").expect("number");
        let tenant = TenantId::parse("t_0123456789abcdef0123456789abcdef").expect("tenant");
        let mut shipment = Shipment::new(tenant, slug.clone(), number.clone(), details, at(1, 8));
        shipment.id = ShipmentId::parse("fedcba9876543210fedcba9876543210").expect("id");
        let usps = Slug::parse("usps").expect("slug");
        let last_mile = TrackingNumber::parse("9400111899223100000000").expect("number");
        shipment.last_mile =
            Some(Leg { slug: usps.clone(), tracking_number: last_mile.clone(), source: LegSource::User });
        let mut picked_up = CheckpointInput::new(
            slug,
            number,
            EventTime::from_utc(at(2, 9)),
            Subtag::parse("InTransit_002").expect("subtag"),
            "Picked up",
            CheckpointSource::Carrier,
        );
        picked_up.raw_tag = Some("PUP".into());
        picked_up.location = Some("Shenzhen, Guangdong, CN".into());
        picked_up.city = Some("Shenzhen".into());
        picked_up.state = Some("Guangdong".into());
        picked_up.postal_code = Some("518000".into());
        picked_up.country_region = Some(CountryCode::parse("CHN").expect("country"));
        let mut delivered = CheckpointInput::new(
            usps,
            last_mile,
            EventTime::parse("2026-03-09T14:30:00-05:00").expect("a time"),
            Subtag::parse("Delivered_001").expect("subtag"),
            "Delivered, front door",
            CheckpointSource::Carrier,
        );
        delivered.signed_by = Some("A. Buyer".into());
        shipment.merge([picked_up, delivered], at(10, 0));
        shipment.updated_at = at(10, 0);
        shipment.version = 3;
        shipment.subscriptions = Subscriptions {
            emails: vec!["bo@example.com".into()],
            smses: vec!["+442079460958".into()],
            unsubscribed: vec!["ann@example.com".into()],
        };
        shipment
    }

    #[test]
    fn a_shipment_is_stored_exactly_as_the_golden_file_says() {
        let stored = serde_json::to_value(everything()).expect("serializes");
        if std::env::var_os("PORCHLIGHT_WRITE_GOLDEN").is_some() {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/adapters/testdata/stored-shipment-v2.json");
            std::fs::write(path, serde_json::to_string_pretty(&stored).expect("json") + "\n").expect("written");
        }
        let golden: serde_json::Value = serde_json::from_str(GOLDEN).expect("the golden file is JSON");
        assert_eq!(stored, golden, "the stored form changed: migrate what is stored, then update the golden file");
    }

    #[test]
    fn the_golden_file_reads_back_as_the_same_shipment() {
        let read: Shipment = serde_json::from_str(GOLDEN).expect("the stored form reads back");
        assert_eq!(read, everything());
    }

    #[test]
    fn a_v1_body_reads_as_the_same_shipment_without_subscriptions() {
        let read: Shipment = serde_json::from_str(GOLDEN_V1).expect("a v1 body reads back");
        assert_eq!(read, Shipment { subscriptions: Subscriptions::default(), ..everything() });
        let mut rewritten = serde_json::to_value(&read).expect("serializes");
        let v1: serde_json::Value = serde_json::from_str(GOLDEN_V1).expect("json");
        assert_eq!(rewritten.as_object_mut().map(|o| o.remove("subscriptions")), Some(None), "none written when empty");
        assert_eq!(rewritten, v1, "a shipment without subscriptions is stored as in v1");
    }
}
