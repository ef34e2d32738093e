//! AfterShip's Returns API through the router: a return judged by the policy, moved through
//! its statuses by id and by RMA number, its shipment tracked, its webhooks signed.

use axum::http::{Method, StatusCode};
use chrono::{Duration, TimeZone, Utc};
use serde_json::{Value, json};

use super::{Harness, carrier_event};
use crate::app::{self, NewTracking};
use crate::domain::{ShipmentDetails, Slug, TrackingNumber, sign_webhook};
use crate::ports::{ChangeEvent, ChangeKind, Clock, StatusSnapshot};

const RETURNS: &str = "/returns/2026-07/returns";

/// A harness whose webhooks reach loopback receivers.
async fn harness() -> Harness {
    let mut h = Harness::new().await;
    h.allow_private_webhooks();
    h
}

fn order() -> Value {
    json!({
        "external_id": "5001", "order_number": "#1001", "placed_at": "2026-05-20T10:00:00Z",
        "store": {"platform": "shopify", "external_id": "acme.myshopify.com"},
        "customer": {"email": "ann@example.com", "locale": "de-DE"},
        "shipping_address": {"country_region": "DEU", "city": "Berlin", "postal_code": "10115"},
        "currency": "EUR",
        "items": [
            {"external_id": "l1", "sku": "SCARF", "title": "Scarf", "quantity": 1,
             "unit_price": {"amount": "30.00", "currency": "EUR"}, "tags": ["final-sale"]},
            {"external_id": "l2", "sku": "MUG", "title": "Mug", "quantity": 2,
             "unit_price": {"amount": "12.50", "currency": "EUR"}, "tax": {"amount": "5.00", "currency": "EUR"}}
        ]
    })
}

fn request(item: &str, reason: &str, photos: &[&str]) -> Value {
    json!({
        "order": {"external_id": "5001", "store": {"platform": "shopify", "external_id": "acme.myshopify.com"}},
        "return_items": [{"external_order_item_id": item, "intended_return_quantity": 1, "return_reason": reason,
            "return_reason_comment": "cracked", "shopper_uploaded_image_urls": photos, "resolution": "refund"}],
        "return_method": {"type": "retailer_label"},
        "refund_destination": "original_payment"
    })
}

/// The order's parcel, delivered on 2026-05-25.
async fn deliver_order(h: &Harness) {
    let tenant = app::authenticate(&h.deps, Some(&h.key)).await.expect("tenant");
    let new = NewTracking {
        slug: Some(Slug::parse("ups").expect("slug")),
        tracking_number: TrackingNumber::parse("1Z999AA10123456784").expect("number"),
        details: ShipmentDetails { order_id: Some("5001".into()), ..ShipmentDetails::default() },
        last_mile: None,
    };
    let start = Utc.with_ymd_and_hms(2026, 5, 21, 9, 0, 0).single().expect("date");
    let mut delivered = carrier_event("ups", "1Z999AA10123456784", "Delivered_001", 0);
    delivered.checkpoint_time = crate::domain::EventTime::from_utc(start + Duration::days(4));
    app::import_tracking(&h.deps, &tenant, new, start, vec![delivered]).await.expect("imported");
}

fn meta(body: &Value) -> (i64, &str) {
    (body["meta"]["code"].as_i64().unwrap_or_default(), body["meta"]["message"].as_str().unwrap_or_default())
}

#[tokio::test]
async fn a_return_is_judged_moved_by_id_and_rma_tracked_and_signed() {
    let h = harness().await;
    let (url, received) = crate::carriers::mock::receiver(StatusCode::OK).await;
    let events = json!([
        "return.submitted",
        "return.approved",
        "return.shipment.updated",
        "return.receiving.created",
        "return.resolved",
        "return.rejected"
    ]);
    let (status, endpoint) =
        h.call(Method::POST, "/porchlight/v1/webhooks", Some(json!({"url": url, "events": events}))).await;
    assert_eq!(status, StatusCode::CREATED, "{endpoint}");
    let secret = endpoint["data"]["secret"].as_str().expect("secret").to_owned();
    assert_eq!(h.call(Method::POST, "/porchlight/v1/orders", Some(order())).await.0, StatusCode::CREATED);

    // Not delivered yet: the window has not opened.
    let (status, refused) = h.call(Method::POST, RETURNS, Some(request("l2", "changed_mind", &[]))).await;
    assert_eq!((status, meta(&refused).0), (StatusCode::UNPROCESSABLE_ENTITY, 42200), "{refused}");
    assert_eq!(refused["meta"]["errors"][0]["info"], "this item can be returned once the order has been delivered");
    deliver_order(&h).await;

    // The final-sale line is refused with its reason; a damaged item needs a photo.
    let (status, refused) = h.call(Method::POST, RETURNS, Some(request("l1", "changed_mind", &[]))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused["meta"]["type"], "UnprocessableEntity");
    assert_eq!(
        refused["meta"]["errors"][0],
        json!({"path": "return_items[0].external_order_item_id", "info": "this item was a final sale and cannot be returned"})
    );
    assert_eq!(refused["data"], Value::Null);
    let (_, refused) = h.call(Method::POST, RETURNS, Some(request("l2", "It arrived damaged", &[]))).await;
    assert_eq!(refused["meta"]["errors"][0]["path"], "return_items[0].shopper_uploaded_image_urls", "{refused}");
    let (status, missing) = h.call(Method::POST, RETURNS, Some(json!({"order": {"external_id": "5001"}}))).await;
    assert_eq!(
        (status, missing["meta"]["errors"][0]["path"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("order.store"))
    );

    let photo = "https://cdn.example.com/mug.jpg";
    let (status, created) = h.call(Method::POST, RETURNS, Some(request("l2", "It arrived damaged", &[photo]))).await;
    assert_eq!((status, meta(&created).0), (StatusCode::CREATED, 20100), "{created}");
    let ret = &created["data"];
    let (id, rma) = (ret["id"].as_str().expect("id").to_owned(), ret["rma_number"].as_str().expect("rma").to_owned());
    assert_eq!((id.len(), rma.len()), (32, 8));
    assert_eq!(ret["approval_status"], "submitted");
    assert_eq!(ret["filed_by"], "merchant");
    assert_eq!(ret["return_items"][0]["return_reason"], "It arrived damaged");
    assert_eq!(ret["return_items"][0]["shopper_uploaded_image_urls"], json!([photo]));
    assert_eq!(
        ret["return_items"][0]["unit_discounted_price_including_tax"],
        json!({"amount": "15.00", "currency": "EUR"})
    );
    assert_eq!(ret["estimated_refund_total"], json!({"amount": "15.00", "currency": "EUR"}));
    assert_eq!((ret["shipping_status"].as_str(), ret["outcomes"].clone()), (Some("no_label"), json!(["refund"])));
    assert_eq!(ret["order"]["order_name"], "#1001");
    let (_, document) = h.call_as(None, Method::GET, "/openapi.json", None).await;
    let schema = &document["components"]["schemas"]["Return"]["properties"];
    for field in ret.as_object().expect("object").keys() {
        assert!(schema.get(field).is_some(), "{field} undocumented");
    }
    let item_schema = &schema["return_items"]["items"]["properties"];
    for field in ret["return_items"][0].as_object().expect("object").keys() {
        assert!(item_schema.get(field).is_some(), "return_items[].{field} undocumented");
    }

    // By id and by RMA number; another merchant's key finds nothing.
    let (status, by_rma) = h.call(Method::GET, &format!("{RETURNS}/rma/{}", rma.to_lowercase()), None).await;
    assert_eq!((status, by_rma["data"]["id"].as_str()), (StatusCode::OK, Some(id.as_str())));
    let other = h.other_key().await;
    for path in [format!("{RETURNS}/{id}"), format!("{RETURNS}/rma/{rma}")] {
        let (status, hidden) = h.call_as(Some(&other), Method::GET, &path, None).await;
        assert_eq!((status, meta(&hidden)), (StatusCode::NOT_FOUND, (40400, "Return not found")), "{path}");
    }
    let (status, hidden) = h.call_as(Some(&other), Method::POST, &format!("{RETURNS}/{id}/approve"), None).await;
    assert_eq!((status, meta(&hidden).0), (StatusCode::NOT_FOUND, 40400));
    let (status, _) = h.call_as(Some("nope"), Method::GET, RETURNS, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Moves the status does not allow are refused in AfterShip's words.
    let (status, conflict) = h.call(Method::POST, &format!("{RETURNS}/{id}/resolve"), None).await;
    assert_eq!(
        (status, meta(&conflict)),
        (StatusCode::CONFLICT, (40900, "Approval status can only be changed from approved to done"))
    );
    let (status, approved) =
        h.call(Method::POST, &format!("{RETURNS}/rma/{rma}/approve"), Some(json!({"notify_customer": false}))).await;
    assert_eq!((status, meta(&approved).0), (StatusCode::ACCEPTED, 20200), "{approved}");
    assert_eq!(approved["data"]["approval_status"], "approved");
    let (status, _) =
        h.call(Method::POST, &format!("{RETURNS}/{id}/reject"), Some(json!({"reject_reason": "no"}))).await;
    assert_eq!(status, StatusCode::CONFLICT);

    // The shipment back: at most one, then tracked; its delivery moves the return.
    let shipment = |number: &str| {
        json!({"tracking_number": number, "slug": "testing-courier",
        "label": {"url": "https://labels.example.com/1.pdf", "total_charge": {"amount": "4.20", "currency": "EUR"}}})
    };
    let (status, two) = h
        .call(
            Method::POST,
            &format!("{RETURNS}/{id}/attach-shipments"),
            Some(json!({"shipments": [shipment("TC-DELIVERED-2HR-R1"), shipment("TC-DELIVERED-2HR-R2")]})),
        )
        .await;
    assert_eq!(
        (status, two["meta"]["errors"][0]["info"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("shipments must contain at maximum 1 item"))
    );
    let (status, attached) = h
        .call(
            Method::POST,
            &format!("{RETURNS}/{id}/attach-shipments"),
            Some(json!({"shipments": [shipment("TC-DELIVERED-2HR-R1")]})),
        )
        .await;
    assert_eq!((status, meta(&attached).0), (StatusCode::OK, 20000), "{attached}");
    assert_eq!(attached["data"]["shipping_status"], "pending");
    assert_eq!(attached["data"]["shipments"][0]["label"]["total_charge"]["amount"], "4.20");
    let tracking_id = attached["data"]["shipments"][0]["id"].as_str().expect("tracking").to_owned();
    let (_, tracking) = h.call(Method::GET, &format!("/tracking/2026-07/trackings/{tracking_id}"), None).await;
    assert_eq!(tracking["data"]["shipment_direction"], "return", "{tracking}");
    assert_eq!(tracking["data"]["order_id"], "5001");

    let tenant = app::authenticate(&h.deps, Some(&h.key)).await.expect("tenant");
    let shipment_id = crate::domain::ShipmentId::parse(&tracking_id).expect("id");
    let snapshot =
        |tag| StatusSnapshot::bare(2, tag, crate::domain::Subtag::parse("Delivered_001").expect("subtag"), false, 3);
    let change = ChangeEvent {
        tenant_id: tenant.clone(),
        shipment_id,
        kind: ChangeKind::Updated,
        at: h.clock.now(),
        old: Some(StatusSnapshot { tag: crate::domain::Tag::InTransit, ..snapshot(crate::domain::Tag::InTransit) }),
        new: Some(snapshot(crate::domain::Tag::Delivered)),
    };
    app::returns::follow_shipment(&h.deps, &change).await.expect("followed");
    app::returns::follow_shipment(&h.deps, &change).await.expect("followed again: nothing new");
    let (_, moved) = h.call(Method::GET, &format!("{RETURNS}/{id}"), None).await;
    assert_eq!(moved["data"]["shipping_status"], "delivered");
    assert_eq!(moved["data"]["shipments"][0]["tracking_status"], "Delivered");

    // Receiving: not more than the return holds, then counted in; then resolved.
    let receive = |quantity: u32| json!({"items": [{"external_id": "l2", "quantity": quantity, "gradings": [{"grade": "b", "quantity": 1}]}]});
    let (status, refused) = h.call(Method::POST, &format!("{RETURNS}/{id}/receive-items"), Some(receive(2))).await;
    assert_eq!(
        (status, meta(&refused)),
        (StatusCode::UNPROCESSABLE_ENTITY, (42213, "Exceeds the acceptable return item quantity"))
    );
    let (status, received_items) =
        h.call(Method::POST, &format!("{RETURNS}/{id}/receive-items"), Some(receive(1))).await;
    assert_eq!(status, StatusCode::OK, "{received_items}");
    assert_eq!(
        (
            received_items["data"]["shipping_status"].as_str(),
            received_items["data"]["return_items"][0]["received_quantity"].as_u64()
        ),
        (Some("received"), Some(1))
    );
    let (status, resolved) = h.call(Method::POST, &format!("{RETURNS}/{id}/resolve"), None).await;
    assert_eq!(
        (status, meta(&resolved).0, resolved["data"]["approval_status"].as_str()),
        (StatusCode::OK, 20200, Some("done"))
    );

    // Listing with AfterShip's filters and pages.
    let (status, listed) = h
        .call(
            Method::GET,
            &format!("{RETURNS}?approval_status=done&order_name=%231001&customer_email=ANN@example.com"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed["data"]["pagination"], json!({"total": 1, "page": 1, "limit": 10, "has_next_page": false}));
    assert_eq!(listed["data"]["returns"][0]["id"], id.as_str());
    let (_, none) = h.call(Method::GET, &format!("{RETURNS}?approval_status=submitted"), None).await;
    assert_eq!(none["data"]["pagination"]["total"], 0);
    let (status, bad) = h.call(Method::GET, &format!("{RETURNS}?page=201"), None).await;
    assert_eq!((status, bad["meta"]["errors"][0]["path"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("page")));

    // The other unit, after the window: refused with the date it closed.
    h.clock.advance(Duration::days(40));
    let (_, late) = h.call(Method::POST, RETURNS, Some(request("l2", "changed_mind", &[]))).await;
    assert_eq!(late["meta"]["errors"][0]["info"], "the return window for this item closed on 2026-06-24", "{late}");

    // The team's numbers: the damaged mug by reason and month, the mug's return rate, the
    // refund resolved, the time to resolution; and as CSV.
    let (status, report) =
        h.call(Method::GET, "/porchlight/v1/returns/report?from=2026-05-01&to=2026-07-31", None).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let data = &report["data"];
    assert_eq!((data["returns"].as_u64(), data["by_status"]["done"].as_u64()), (Some(1), Some(1)));
    assert_eq!(
        data["reasons"][0],
        json!({"period": "2026-06", "reason": "damaged", "subreason": null, "sku": "MUG", "product": "Mug", "returns": 1, "units": 1})
    );
    let mug =
        data["products"].as_array().expect("products").iter().find(|p| p["sku"] == "MUG").expect("the mug").clone();
    assert_eq!(
        (mug["ordered_units"].as_u64(), mug["returned_units"].as_u64(), mug["return_rate"].as_f64()),
        (Some(2), Some(1), Some(0.5))
    );
    assert_eq!(data["refunds"][0]["resolved"], json!({"amount": "15.00", "currency": "EUR"}));
    assert_eq!(data["resolution"]["resolved"], 1);
    // The rollups count the same return by the reason its shopper gave (refused requests never).
    let (status, reasons) =
        h.call(Method::GET, "/porchlight/v1/analytics/returns?from=2026-05-01&to=2026-07-31", None).await;
    assert_eq!(status, StatusCode::OK, "{reasons}");
    assert_eq!((reasons["data"]["returns"].as_i64(), reasons["data"]["items"].as_i64()), (Some(1), Some(1)));
    assert_eq!(reasons["data"]["reasons"][0]["reason"], "damaged");
    assert_eq!(reasons["data"]["reasons"][0]["share"]["value"], 1.0);
    let (status, csv) = h
        .call(
            Method::GET,
            "/porchlight/v1/returns/report?from=2026-05-01&to=2026-07-31&format=csv&table=products",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let csv = csv.as_str().expect("text");
    assert!(
        csv.starts_with("sku,product,ordered_units,returned_units,return_rate\n") && csv.contains("MUG,Mug,2,1,0.5000"),
        "{csv}"
    );
    let (status, bad) = h.call(Method::GET, "/porchlight/v1/returns/report?from=2026-13-01", None).await;
    assert!(status == StatusCode::BAD_REQUEST && bad["meta"]["message"].as_str().is_some_and(|m| m.contains("from")));

    // Every step reached the endpoint, signed as AfterShip Returns signs.
    let dispatcher = app::webhooks::dispatch::Dispatcher::new(h.deps.clone());
    dispatcher.run_for(std::time::Duration::from_millis(500)).await.expect("dispatched");
    let received = received.lock().expect("lock").clone();
    let mut seen: Vec<String> = Vec::new();
    for (headers, body) in &received {
        let signature = headers.get("as-signature-hmac-sha256").and_then(|v| v.to_str().ok()).expect("signed");
        assert_eq!(signature, sign_webhook(&secret, body));
        assert!(headers.get("aftership-hmac-sha256").is_none());
        let payload: Value = serde_json::from_slice(body).expect("json");
        assert_eq!(payload["data"]["id"], id.as_str());
        assert!(payload["id"].as_str().is_some_and(|i| i.len() == 32) && payload["created_at"].is_string());
        seen.push(payload["event"].as_str().expect("event").to_owned());
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            "return.approved",
            "return.receiving.created",
            "return.resolved",
            "return.shipment.updated",
            "return.shipment.updated",
            "return.submitted"
        ]
    );
}
