use super::*;
use crate::domain::CountryCode;

const SHOPIFY_ORDER: &[u8] = include_bytes!("fixtures/shopify/order.json");
const SHOPIFY_FULFILLMENT: &[u8] = include_bytes!("fixtures/shopify/fulfillment.json");
const WOO_ORDER: &[u8] = include_bytes!("fixtures/woocommerce/order.json");

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).expect("as given").with_timezone(&Utc)
}

#[test]
fn a_shopify_order_reads_with_lines_buyer_destination_and_parcels() {
    let StorefrontEvent::Order(order) =
        Platform::Shopify.parse_webhook("orders/create", SHOPIFY_ORDER).expect("as given")
    else {
        panic!("an order")
    };
    assert_eq!(order.external_id, "5801234567890");
    assert_eq!(order.order_number.as_deref(), Some("#1001"));
    assert_eq!(order.updated_at, at("2026-11-21T14:30:00Z"));
    assert_eq!(order.buyer.name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(order.buyer.email.as_deref(), Some("ada@example.com"));
    assert_eq!(order.buyer.phone.as_deref(), Some("+14155550123"));
    assert_eq!(order.destination.country_region, CountryCode::from_alpha2("US"));
    assert_eq!(order.destination.state.as_deref(), Some("CA"));
    assert_eq!(order.destination.postal_code.as_deref(), Some("94105"));
    assert_eq!(order.destination.lines, ["12 Market Street", "Apt 4"]);
    assert_eq!(order.items.len(), 2);
    assert_eq!(order.items[0].unit_price.amount, "24.00");
    assert_eq!(order.items[0].discount.as_ref().map(|d| d.amount.as_str()), Some("4.00"));
    assert_eq!(order.items[1].discount, None);
    assert_eq!(order.parcels.len(), 1);
    assert_eq!(order.parcels[0].carrier.as_deref(), Some("UPS"));
    assert_eq!(order.parcels[0].numbers, ["1Z999AA10123456784"]);
}

#[test]
fn a_shopify_fulfillment_names_its_order_and_every_number_once() {
    let mut value: serde_json::Value = serde_json::from_slice(SHOPIFY_FULFILLMENT).expect("as given");
    value["tracking_numbers"] = serde_json::json!(["1Z204W4R0308071865", "1Z12345E0205271688"]);
    let body = serde_json::to_vec(&value).expect("as given");
    let StorefrontEvent::Fulfillment(fulfillment) =
        Platform::Shopify.parse_webhook("fulfillments/create", &body).expect("as given")
    else {
        panic!("a fulfillment")
    };
    assert_eq!(fulfillment.order_external_id, "5801234567899");
    assert_eq!(fulfillment.order_number.as_deref(), Some("#1002"));
    assert_eq!(fulfillment.buyer.email.as_deref(), Some("grace@example.com"));
    assert_eq!(fulfillment.destination.postal_code.as_deref(), Some("22202"));
    let parcel = fulfillment.parcel.expect("as given");
    assert_eq!(parcel.carrier.as_deref(), Some("United Parcel Service"));
    assert_eq!(parcel.numbers, ["1Z204W4R0308071865", "1Z12345E0205271688"]);

    value["status"] = serde_json::json!("cancelled");
    let body = serde_json::to_vec(&value).expect("as given");
    let StorefrontEvent::Fulfillment(cancelled) =
        Platform::Shopify.parse_webhook("fulfillments/update", &body).expect("as given")
    else {
        panic!("a fulfillment")
    };
    assert_eq!(cancelled.parcel, None);
}

#[test]
fn shopify_deletions_other_topics_and_bad_bodies() {
    assert_eq!(
        Platform::Shopify.parse_webhook("orders/delete", br#"{"id": 42}"#).expect("as given"),
        StorefrontEvent::OrderDeleted { external_id: "42".into() }
    );
    assert_eq!(Platform::Shopify.parse_webhook("products/update", b"{}").expect("as given"), StorefrontEvent::Ignored);
    let error = Platform::Shopify.parse_webhook("orders/updated", br#"{"id": 1}"#).expect_err("an error");
    assert!(error.to_string().starts_with("shopify orders/updated payload: missing field `updated_at`"), "{error}");
    let error = Platform::Shopify.parse_webhook("fulfillments/create", br#"{"id": 1}"#).expect_err("an error");
    assert!(error.to_string().contains("order_id"), "{error}");
}

#[test]
fn a_woocommerce_order_reads_its_shipment_tracking_items() {
    let StorefrontEvent::Order(order) =
        Platform::Woocommerce.parse_webhook("order.updated", WOO_ORDER).expect("as given")
    else {
        panic!("an order")
    };
    assert_eq!(order.external_id, "727");
    assert_eq!(order.order_number.as_deref(), Some("727"));
    assert_eq!(order.updated_at, at("2026-11-19T16:40:00Z"));
    assert_eq!(order.placed_at, Some(at("2026-11-18T10:05:00Z")));
    assert_eq!(order.buyer.name.as_deref(), Some("Mary Somerville"));
    assert_eq!(order.buyer.email.as_deref(), Some("mary@example.com"));
    assert_eq!(order.destination.country_region, CountryCode::from_alpha2("GB"));
    assert_eq!(order.currency.as_deref(), Some("GBP"));
    assert_eq!(order.items[0].unit_price.amount, "19.99");
    assert_eq!(order.items[0].quantity, 2);
    assert_eq!(order.parcels.len(), 1);
    assert_eq!(order.parcels[0].carrier.as_deref(), Some("royal-mail"));
    assert_eq!(order.parcels[0].numbers, ["RR123456785GB"]);
    assert_eq!(order.parcels[0].shipped_at, DateTime::from_timestamp(1_795_219_200, 0));
}

#[test]
fn a_woocommerce_custom_provider_wins_and_the_ping_is_recognised() {
    let mut value: serde_json::Value = serde_json::from_slice(WOO_ORDER).expect("as given");
    value["meta_data"][1]["value"][0]["tracking_provider"] = serde_json::json!("");
    value["meta_data"][1]["value"][0]["custom_tracking_provider"] = serde_json::json!("Royal Mail");
    let order = woocommerce::parse_order(value).expect("as given");
    assert_eq!(order.parcels[0].carrier.as_deref(), Some("Royal Mail"));
    assert_eq!(woocommerce::ping_webhook_id(b"webhook_id=17"), Some("17".into()));
    assert_eq!(woocommerce::ping_webhook_id(b"webhook_id=17&x=1"), None);
    assert_eq!(woocommerce::ping_webhook_id(WOO_ORDER), None);
}

#[test]
fn signatures_are_checked_against_the_raw_body() {
    let secret = "shpss_0123456789abcdef";
    let signature = crate::carriers::sign_base64(secret, SHOPIFY_ORDER);
    let header = |name: &str| (name == shopify::HMAC_HEADER).then(|| signature.clone());
    assert!(Platform::Shopify.webhook_auth().verify(secret, header, SHOPIFY_ORDER));
    assert!(!Platform::Shopify.webhook_auth().verify("another", header, SHOPIFY_ORDER));
    assert!(!Platform::Shopify.webhook_auth().verify(secret, header, b"{}"));
    let woo = |name: &str| (name == woocommerce::SIGNATURE_HEADER).then(|| signature.clone());
    assert!(Platform::Woocommerce.webhook_auth().verify(secret, woo, SHOPIFY_ORDER));
    assert!(!Platform::Woocommerce.webhook_auth().verify(secret, header, SHOPIFY_ORDER));
}

#[test]
fn a_graphql_backfill_page_reads_as_rest_orders_do() {
    let body = include_bytes!("fixtures/shopify/graphql-orders.json");
    let page = shopify::parse_orders_page(body).expect("as given");
    assert_eq!(page.next.as_deref(), Some("eyJsYXN0X2lkIjo1ODAxMjM0NTY3ODkxfQ=="));
    let order = &page.orders[0];
    assert_eq!((order.external_id.as_str(), order.order_number.as_deref()), ("5801234567891", Some("#1003")));
    assert_eq!(order.items[0].external_id, "13501234567892");
    assert_eq!(
        (order.items[0].unit_price.amount.as_str(), order.items[0].unit_price.currency.as_str()),
        ("35.0", "EUR")
    );
    assert_eq!(order.destination.country_region, CountryCode::from_alpha2("DE"));
    assert_eq!(order.parcels[0].numbers, ["1Z12345E0205271688"]);
    assert_eq!(order.parcels[0].carrier.as_deref(), Some("UPS"));
    let throttle = page.throttle.expect("as given");
    assert_eq!(throttle.wait(), std::time::Duration::ZERO, "plenty left");
    let low = shopify::Throttle { available: 52.0, ..throttle };
    assert_eq!(low.wait(), std::time::Duration::from_secs(2), "200 points short at 100 a second");

    let throttled = br#"{"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
        "extensions": {"cost": {"requestedQueryCost": 252, "actualQueryCost": null,
        "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 12, "restoreRate": 100.0}}}}"#;
    assert!(matches!(shopify::parse_orders_page(throttled), Err(shopify::PageError::Throttled(Some(_)))));
    let denied = br#"{"errors": [{"message": "Access denied for orders field."}]}"#;
    let error = shopify::parse_orders_page(denied).expect_err("an error");
    assert!(error.to_string().contains("Access denied"), "{error}");
    let request: serde_json::Value =
        serde_json::from_slice(&shopify::orders_request(at("2026-11-01T00:00:00Z"), Some("abc"))).expect("as given");
    assert_eq!(request["variables"]["query"], "updated_at:>='2026-11-01T00:00:00Z'");
    assert_eq!(request["variables"]["after"], "abc");
}

#[test]
fn a_woocommerce_backfill_page_is_an_array_of_orders() {
    let body = format!("[{}]", std::str::from_utf8(WOO_ORDER).expect("as given"));
    let orders = woocommerce::parse_orders(body.as_bytes()).expect("as given");
    assert_eq!(orders[0].parcels[0].numbers, ["RR123456785GB"]);
    let url = woocommerce::orders_url("https://shop.example.org/", at("2026-11-01T00:00:00Z"), 3);
    assert_eq!(
        url,
        "https://shop.example.org/wp-json/wc/v3/orders?per_page=50&page=3&modified_after=2026-11-01T00%3A00%3A00Z&dates_are_gmt=true&orderby=modified&order=asc"
    );
}
