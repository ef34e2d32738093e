//! Shoppers' data rights on any runtime (`app::privacy`): one shopper's data exported and
//! erased through the API, leaving other shoppers and other merchants alone, and the
//! personal-data retention of finished trackings.

use axum::http::{Method, StatusCode};
use chrono::Duration;
use serde_json::{Value, json};

use super::isolation::{Caller, id_in, made};
use crate::app::{self, Deps, NewTracking};
use crate::domain::{
    Channel, CheckpointInput, CheckpointSource, Customer, EventTime, Language, ShipmentDetails, ShipmentId, Slug,
    Subtag, TenantId, TrackingNumber, Trigger, WebhookEvent,
};
use crate::ports::{LedgerEntry, MessageState, WebhookEventRecord};

const ANN: &str = "Ann.Shopper@example.com";
const ANN_PHONE: &str = "+49 1555 0100 77";

fn tracking_for(number: &str, email: &str, name: &str) -> Value {
    json!({
        "tracking_number": number, "slug": "ups", "order_number": "#1001",
        "customers": [{"role": "buyer", "name": name, "email": email, "phone_number": ANN_PHONE}],
        "destination_country_region": "DEU", "destination_city": "Berlin",
        "destination_postal_code": "10115", "destination_raw_location": "Torstrasse 1, Berlin",
    })
}

/// A planned message and a recorded webhook event about the tracking, both naming Ann.
async fn traces(deps: &Deps, tenant: &TenantId, tracking: &str) -> (String, String) {
    let now = deps.clock.now();
    let shipment = ShipmentId::parse(tracking).expect("an id");
    let message = LedgerEntry::planned(
        tenant.clone(),
        shipment,
        Trigger::InTransit,
        Channel::Email,
        ANN.to_lowercase(),
        Language::En,
        now,
        now + Duration::hours(1),
    );
    assert!(deps.ledger.plan(&message).await.expect("planned"));
    let body = json!({"event": "tracking_update", "msg": {"id": tracking, "customers": [
        {"name": "Ann Shopper", "email": ANN, "phone_number": ANN_PHONE}], "destination_city": "Berlin",
        "tag": "InTransit"}});
    let event = WebhookEventRecord {
        tenant_id: tenant.clone(),
        event_id: uuid::Uuid::new_v4().to_string(),
        event: WebhookEvent::TrackingUpdate,
        at: now,
        subject: tracking.to_owned(),
        body: serde_json::to_vec(&body).expect("json"),
    };
    assert!(deps.webhooks.record_event(&event).await.expect("recorded"));
    (message.id, event.event_id)
}

async fn call_ok(caller: &impl Caller, key: &str, method: Method, path: &str, body: Option<Value>) -> Value {
    let (status, answer) = caller.call(key, method, path, body).await;
    assert_eq!(status, StatusCode::OK, "{path}: {answer}");
    answer
}

/// Merchant A has two trackings and an order of Ann's and a tracking of Bob's; merchant B has
/// one of Ann's. A exports Ann (by email in any case, or by phone), erases her, and finds
/// nothing of hers left: not on the trackings (country and checkpoints kept), the order, the
/// ledger (the entry stays, blanked and no longer due) or the webhook events; Bob's tracking
/// and B's are as they were. Bad requests are refused naming the field.
pub async fn a_shoppers_data_is_exported_and_erased(deps: &Deps, caller: &impl Caller) {
    let (a, a_key) = app::create_tenant(deps, "Privacy A").await.expect("tenant A");
    let (_, b_key) = app::create_tenant(deps, "Privacy B").await.expect("tenant B");
    let (a_key, b_key) = (a_key.secret, b_key.secret);
    let trackings = "/tracking/2026-07/trackings";
    let first = id_in(&made(caller, &a_key, trackings, tracking_for("1Z999AA10123456784", ANN, "Ann Shopper")).await);
    let second = id_in(
        &made(caller, &a_key, trackings, tracking_for("1Z999AA10123456793", &ANN.to_uppercase(), "Ann Shopper")).await,
    );
    let mut bobs = tracking_for("1Z999AA10123456800", "bob@example.com", "Bob Other");
    bobs["customers"][0]["phone_number"] = json!("+4915550199");
    let bob = id_in(&made(caller, &a_key, trackings, bobs).await);
    let b_ann = id_in(&made(caller, &b_key, trackings, tracking_for("1Z999AA10123456784", ANN, "Ann Shopper")).await);
    made(
        caller,
        &a_key,
        "/porchlight/v1/orders",
        json!({"external_id": "5001", "order_number": "#1001", "customer": {"email": ANN, "phone": ANN_PHONE},
            "shipping_address": {"country_region": "DEU", "city": "Berlin", "postal_code": "10115",
                "lines": ["Torstrasse 1"]},
            "items": [{"external_id": "l1", "title": "Mug", "quantity": 1,
                "unit_price": {"amount": "12.50", "currency": "EUR"}}]}),
    )
    .await;
    let (message, event) = traces(deps, &a.id, &first).await;
    let photo = format!("{}.jpg", "ab".repeat(16));
    let photo_key = format!("returns/{}/{photo}", a.id);
    deps.blobs.put_blob(&photo_key, "image/jpeg", b"jpeg".to_vec()).await.expect("photo kept");
    let mut ret = super::returns::sample_return(&a.id, &crate::domain::Order::id_of(&a.id, "5001"), "RMA-ANN");
    ret.contact_email = Some(ANN.to_owned());
    ret.items[0].comment = Some("The handle broke, Ann".to_owned());
    ret.items[0].photos = vec![format!("/t/privacy-a/returns/photos/{photo}")];
    deps.returns.create_return(&ret, 0).await.expect("return filed");

    // Refusals.
    for (body, field) in [
        (json!({}), "email"),
        (json!({"email": ANN, "phone": ANN_PHONE}), "email"),
        (json!({"email": "not-an-address"}), "email"),
        (json!({"phone": "12"}), "phone"),
        (json!({"email": ANN, "name": "Ann"}), ""),
    ] {
        for path in ["/porchlight/v1/privacy/exports", "/porchlight/v1/privacy/erasures"] {
            let (status, answer) = caller.call(&a_key, Method::POST, path, Some(body.clone())).await;
            assert!(status.is_client_error(), "{path} {body}: {status} {answer}");
            assert!(answer["meta"]["message"].as_str().is_some_and(|m| m.contains(field)), "{answer}");
        }
    }

    // The export, by email and by phone.
    let exports = "/porchlight/v1/privacy/exports";
    let by_email = call_ok(caller, &a_key, Method::POST, exports, Some(json!({"email": ANN.to_lowercase()}))).await;
    let ids = |answer: &Value| {
        let mut ids: Vec<String> = answer["data"]["trackings"]
            .as_array()
            .expect("trackings")
            .iter()
            .map(|t| t["id"].as_str().expect("id").to_owned())
            .collect();
        ids.sort();
        ids
    };
    let mut anns = vec![first.clone(), second.clone()];
    anns.sort();
    assert_eq!(ids(&by_email), anns, "A's two trackings of Ann's, not Bob's, not B's");
    assert_eq!(by_email["data"]["orders"].as_array().map(Vec::len), Some(1), "{by_email}");
    assert_eq!(by_email["data"]["returns"][0]["rma_number"], json!("RMA-ANN"), "{by_email}");
    assert_eq!(by_email["data"]["notifications"][0]["id"], json!(message));
    assert_eq!(by_email["data"]["webhook_events"][0]["event_id"], json!(event));
    let by_phone = call_ok(caller, &a_key, Method::POST, exports, Some(json!({"phone": "+49155501007 7"}))).await;
    assert_eq!(ids(&by_phone), anns, "found by phone too");

    // The erasure.
    let erasures = "/porchlight/v1/privacy/erasures";
    let erased = call_ok(caller, &a_key, Method::POST, erasures, Some(json!({"email": ANN}))).await;
    let counts = &erased["data"]["erased"];
    assert_eq!(counts["trackings"], json!(2), "{erased}");
    assert_eq!(counts["orders"], json!(1), "{erased}");
    assert_eq!(counts["returns"], json!(1), "{erased}");
    assert_eq!(counts["notifications"], json!(1), "{erased}");
    assert_eq!(counts["webhook_events"], json!(1), "{erased}");
    for id in [&first, &second] {
        let answer = call_ok(caller, &a_key, Method::GET, &format!("{trackings}/{id}"), None).await;
        let tracking = &answer["data"];
        assert_eq!(tracking["customers"], json!([]), "{tracking}");
        assert_eq!(tracking["destination_city"], Value::Null);
        assert_eq!(tracking["destination_postal_code"], Value::Null);
        assert_eq!(tracking["destination_raw_location"], Value::Null);
        assert_eq!(tracking["destination_country_region"], json!("DEU"), "the facts analytics keep stay");
        assert_eq!(tracking["tracking_number"].as_str().map(|n| n.starts_with("1Z")), Some(true));
        assert!(!tracking.to_string().to_lowercase().contains("ann"), "{tracking}");
    }
    let order = call_ok(caller, &a_key, Method::GET, "/porchlight/v1/orders?limit=10", None).await;
    let order_text = order.to_string();
    assert!(!order_text.to_lowercase().contains("ann.shopper") && !order_text.contains("Torstrasse"), "{order}");
    assert!(order_text.contains("DEU"), "the order's country stays: {order}");
    let ret = deps.returns.return_by_id(&a.id, &ret.id).await.expect("read").expect("the return stays");
    assert_eq!((ret.contact_email, ret.items[0].comment.clone()), (None, None));
    assert!(ret.items[0].photos.is_empty());
    assert_eq!(deps.blobs.get_blob(&photo_key).await.expect("read"), None, "the photo is deleted");
    let ledger = deps.ledger.shipment_messages(&a.id, &ShipmentId::parse(&first).expect("id")).await.expect("ledger");
    assert_eq!(ledger.len(), 1, "the entry stays, so that it is never planned again");
    assert_eq!((ledger[0].recipient.as_str(), ledger[0].state), ("", MessageState::Suppressed));
    let kept = deps.webhooks.event(&a.id, &event).await.expect("read").expect("the event stays");
    let body = String::from_utf8(kept.body).expect("utf-8");
    assert!(!body.to_lowercase().contains("ann") && !body.contains("Berlin") && !body.contains("+49"), "{body}");
    assert!(body.contains("InTransit"), "the event's facts stay: {body}");
    let after = call_ok(caller, &a_key, Method::POST, exports, Some(json!({"email": ANN}))).await;
    assert_eq!(after["data"]["trackings"], json!([]), "{after}");
    assert_eq!(after["data"]["orders"], json!([]), "{after}");
    assert_eq!(after["data"]["notifications"], json!([]), "{after}");
    assert_eq!(after["data"]["returns"], json!([]), "{after}");

    // Others are untouched.
    let bob = call_ok(caller, &a_key, Method::GET, &format!("{trackings}/{bob}"), None).await;
    assert_eq!(bob["data"]["customers"][0]["email"], json!("bob@example.com"));
    assert_eq!(bob["data"]["destination_city"], json!("Berlin"));
    let b_ann = call_ok(caller, &b_key, Method::GET, &format!("{trackings}/{b_ann}"), None).await;
    assert_eq!(b_ann["data"]["customers"][0]["email"], json!(ANN), "merchant B's data is B's");
    let again = call_ok(caller, &a_key, Method::POST, erasures, Some(json!({"email": ANN}))).await;
    assert_eq!(again["data"]["erased"]["trackings"], json!(0), "erasing twice finds nothing: {again}");
}

/// The retention: a finished tracking unchanged since the cutoff loses its customers,
/// subscriptions, street-level destination and its messages' recipients; an active one and a
/// newer finished one keep theirs; the finished one's `updated_at` and checkpoints stay.
pub async fn personal_fields_of_finished_trackings_expire(deps: &Deps) {
    let (tenant, _) = app::create_tenant(deps, "Retention").await.expect("tenant");
    let now = deps.clock.now();
    let customer = Customer {
        role: Some("buyer".into()),
        name: Some("Cem Shopper".into()),
        email: Some("cem@example.com".into()),
        phone_number: Some("+4915550123".into()),
        ..Customer::default()
    };
    let details = ShipmentDetails {
        customers: vec![customer],
        destination_city: Some("Hamburg".into()),
        destination_country_region: Some(crate::domain::CountryCode::parse("DEU").expect("country")),
        ..ShipmentDetails::default()
    };
    let delivered = |number: &str, days_ago: i64| {
        CheckpointInput::new(
            Slug::parse("fedex").expect("slug"),
            TrackingNumber::parse(number).expect("number"),
            EventTime::from_utc(now - Duration::days(days_ago)),
            Subtag::parse("Delivered_001").expect("subtag"),
            "Delivered".to_owned(),
            CheckpointSource::Carrier,
        )
    };
    let mut ids = Vec::new();
    for (number, delivered_days_ago) in [("794698765432", Some(40)), ("794698765443", None)] {
        let new = NewTracking {
            slug: Some(Slug::parse("fedex").expect("slug")),
            tracking_number: TrackingNumber::parse(number).expect("number"),
            details: details.clone(),
            last_mile: None,
        };
        let checkpoints = delivered_days_ago.map(|days| vec![delivered(number, days)]).unwrap_or_default();
        let shipment =
            app::import_tracking(deps, &tenant.id, new, now - Duration::days(45), checkpoints).await.expect("imported");
        ids.push(shipment.id);
    }
    let (finished, active) = (&ids[0], &ids[1]);
    let (message, _) = traces(deps, &tenant.id, finished.as_str()).await;
    let before = deps.shipments.get(&tenant.id, finished).await.expect("read").expect("there");
    assert!(!before.active, "delivered is finished");

    // Not yet: the cutoff is before its last change.
    let early =
        app::privacy::expire_personal_data(deps, &tenant.id, before.updated_at - Duration::days(1)).await.expect("ran");
    assert_eq!(early.trackings, 0);

    let expired = app::privacy::expire_personal_data(deps, &tenant.id, now + Duration::days(1)).await.expect("ran");
    assert_eq!(expired.trackings, 1, "{expired:?}");
    let after = deps.shipments.get(&tenant.id, finished).await.expect("read").expect("kept");
    assert!(after.details.customers.is_empty());
    assert_eq!(after.details.destination_city, None);
    assert_eq!(after.details.destination_country_region, before.details.destination_country_region);
    assert_eq!((after.updated_at, after.checkpoints.len()), (before.updated_at, before.checkpoints.len()));
    let ledger = deps.ledger.shipment_messages(&tenant.id, finished).await.expect("ledger");
    assert_eq!((ledger[0].id.as_str(), ledger[0].recipient.as_str()), (message.as_str(), ""));
    let still = deps.shipments.get(&tenant.id, active).await.expect("read").expect("there");
    assert_eq!(still.details.customers.len(), 1, "an active tracking keeps its shopper");

    let again = app::privacy::expire_personal_data(deps, &tenant.id, now + Duration::days(1)).await.expect("ran");
    assert_eq!(again.trackings, 0, "nothing left to take");
}
