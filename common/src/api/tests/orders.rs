//! Orders through the router.

use axum::http::{Method, StatusCode};
use serde_json::json;

use super::Harness;

const PATH: &str = "/porchlight/v1/orders";

fn order(quantity: u32) -> serde_json::Value {
    json!({
        "external_id": "5001", "order_number": "#1001", "placed_at": "2026-11-01T10:00:00Z",
        "store": {"platform": "shopify", "external_id": "acme.myshopify.com"},
        "customer": {"email": "ann@example.com", "locale": "de-DE"},
        "shipping_address": {"country_region": "DEU", "city": "Berlin", "postal_code": "10115"},
        "currency": "EUR",
        "items": [{"external_id": "l1", "sku": "MUG-1", "title": "Mug", "quantity": quantity,
            "unit_price": {"amount": "12.50", "currency": "EUR"}, "tags": ["final-sale"]}]
    })
}

#[tokio::test]
async fn orders_are_upserted_by_external_id_read_listed_and_kept_per_merchant() {
    let h = Harness::new().await;
    let (status, created) = h.call(Method::POST, PATH, Some(order(1))).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["data"]["id"].as_str().expect("an id").to_owned();
    assert!(id.starts_with("ord_"));
    assert_eq!(created["data"]["items"][0]["unit_price"], json!({"amount": "12.50", "currency": "EUR"}));
    let (status, updated) = h.call(Method::POST, PATH, Some(order(2))).await;
    assert_eq!((status, updated["data"]["id"].as_str()), (StatusCode::OK, Some(id.as_str())), "the same order");
    let (status, read) = h.call(Method::GET, &format!("{PATH}/{id}"), None).await;
    assert_eq!((status, read["data"]["items"][0]["quantity"].as_u64()), (StatusCode::OK, Some(2)));
    assert_eq!(read["data"]["shipping_address"]["country_region"], "DEU");
    let line = &read["data"]["return_eligibility"][0];
    assert_eq!(
        (line["returnable_quantity"].as_u64(), line["refusal"]["code"].as_str()),
        (Some(0), Some("not_returnable"))
    );
    assert_eq!(line["refusal"]["info"], "this item was a final sale and cannot be returned");

    // The return policy: the defaults, then a change naming a bad field refused.
    let (status, policy) = h.call(Method::GET, "/porchlight/v1/return-policy", None).await;
    assert_eq!((status, policy["data"]["window_days"].as_u64()), (StatusCode::OK, Some(30)));
    let (status, changed) = h
        .call(Method::PUT, "/porchlight/v1/return-policy", Some(json!({"window_days": 45, "excluded_tags": []})))
        .await;
    assert_eq!((status, changed["data"]["version"].as_u64()), (StatusCode::OK, Some(2)), "{changed}");
    let (status, refused) =
        h.call(Method::PUT, "/porchlight/v1/return-policy", Some(json!({"window_days": 400}))).await;
    assert!(
        status.is_client_error() && refused["meta"]["message"].as_str().unwrap_or_default().contains("window_days")
    );
    let (_, read) = h.call(Method::GET, &format!("{PATH}/{id}"), None).await;
    assert_eq!(
        read["data"]["return_eligibility"][0]["refusal"]["code"], "not_yet_open",
        "no longer excluded, not delivered"
    );

    for (body, field) in [
        (json!({"items": order(1)["items"]}), "external_id"),
        (json!({"external_id": "x"}), "items"),
        (
            {
                let mut o = order(1);
                o["items"][0]["unit_price"]["amount"] = "1,5".into();
                o
            },
            "items[0].unit_price.amount",
        ),
        (
            {
                let mut o = order(1);
                o["customer"]["email"] = "nope".into();
                o
            },
            "customer.email",
        ),
        (
            {
                let mut o = order(1);
                o["shipping_address"]["country_region"] = "ZZZ".into();
                o
            },
            "country_region",
        ),
        (
            {
                let mut o = order(1);
                o["surprise"] = true.into();
                o
            },
            "surprise",
        ),
    ] {
        let (status, refused) = h.call(Method::POST, PATH, Some(body.clone())).await;
        let message = refused["meta"]["message"].as_str().unwrap_or_default();
        assert!(status.is_client_error() && message.contains(field), "{body}: {status} {refused}");
    }

    let (_, listed) = h.call(Method::GET, &format!("{PATH}?limit=10"), None).await;
    assert_eq!(listed["data"]["orders"].as_array().map(Vec::len), Some(1));
    let other = h.other_key().await;
    let (status, _) = h.call_as(Some(&other), Method::GET, &format!("{PATH}/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another merchant's order is not readable");
    let (_, theirs) = h.call_as(Some(&other), Method::GET, PATH, None).await;
    assert_eq!(theirs["data"]["orders"].as_array().map(Vec::len), Some(0));
}
