//! A return's whole life through the real handler functions, against the moto emulator: a
//! shopper asks on the portal (`page-forms`, a multipart request with a photo kept in S3) for
//! a line of a delivered order, a final-sale line being refused; the merchant approves it
//! through the Returns API (`api`), attaches a sandbox return shipment whose delivery (pushed
//! through `webhook-intake`, `tracking-updater`, `status-fanout`, `notifier`) moves the
//! return's shipping status; receives and resolves it; the shopper's confirmation and approval
//! reach SES; every step reaches the merchant's endpoint through `webhook-dispatcher`, signed
//! in as-signature-hmac-sha256; a return outside the window is refused.

use base64::Engine;
use porchlight::ports::MessageLedger;
use porchlight_aws::dynamodb::DynamoStore;
use porchlight_aws::handlers;
use serde_json::{Value, json};

#[path = "../examples/support/mod.rs"]
mod support;

const BOUNDARY: &str = "porchlight-moto-boundary";
/// The first bytes of a PNG file (what the portal checks).
const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, b'I', b'H', b'D', b'R'];

/// The portal's request as CloudFront hands it to `page-forms`: multipart, base64.
fn portal_post(fields: &[(&str, &str)], photo: Option<(&str, &[u8])>) -> Value {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").bytes(),
        );
    }
    if let Some((name, bytes)) = photo {
        body.extend(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"p.png\"\r\nContent-Type: image/png\r\n\r\n")
                .bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{BOUNDARY}--\r\n").bytes());
    let mut event = support::sample("tracking-page.json").expect("sample");
    event["routeKey"] = "POST /t/{proxy+}".into();
    event["rawPath"] = "/t/returns-shop/returns".into();
    event["rawQueryString"] = "".into();
    event["queryStringParameters"] = json!({});
    event["requestContext"]["http"]["method"] = "POST".into();
    event["requestContext"]["http"]["path"] = "/t/returns-shop/returns".into();
    event["headers"]["content-type"] = format!("multipart/form-data; boundary={BOUNDARY}").into();
    event["body"] = base64::engine::general_purpose::STANDARD.encode(&body).into();
    event["isBase64Encoded"] = true.into();
    event
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_return_lives_through_every_handler() {
    support::emulator().expect("AWS_ENDPOINT_URL must name a loopback moto server (scripts/test.sh starts one)");
    let (mut runtime, config) = support::runtime_with_bucket("porchlight-photos", &[]).await;
    let store = DynamoStore::from_env(&config.table_name).await;
    let tenant =
        support::add_merchant(&runtime, &support::sample("api.json").expect("sample")).await.expect("merchant");
    support::verify_sender(&config).await;

    // The merchant's endpoint on loopback, taking every return event.
    let (url, posts) = support::loopback_endpoint(&mut runtime, "as-signature-hmac-sha256").await;
    let events = [
        "return.submitted",
        "return.approved",
        "return.shipment.updated",
        "return.receiving.created",
        "return.resolved",
    ];
    let write = serde_json::from_value(json!({"url": url, "events": events})).expect("endpoint");
    let (_, secret) =
        porchlight::app::webhooks::create_endpoint(&runtime.deps, &tenant, write).await.expect("endpoint");

    // The shop: returns on its page, order #2001 (a final-sale scarf, two mugs) delivered.
    let page = serde_json::from_value(json!({"slug": "returns-shop", "returns_enabled": true})).expect("page");
    porchlight::app::pages::update_page_settings(&runtime.deps, &tenant, page).await.expect("page");
    let order = json!({
        "external_id": "7001", "order_number": "#2001", "placed_at": chrono::Utc::now() - chrono::Duration::days(6),
        "store": {"platform": "woocommerce", "external_id": "shop.example"},
        "customer": {"email": "kim@example.com", "locale": "fr-FR"},
        "shipping_address": {"country_region": "FRA", "postal_code": "75001"},
        "currency": "EUR",
        "items": [
            {"external_id": "s1", "title": "Foulard", "quantity": 1, "tags": ["final-sale"], "unit_price": {"amount": "30.00", "currency": "EUR"}},
            {"external_id": "m1", "title": "Tasse", "quantity": 2, "unit_price": {"amount": "12.50", "currency": "EUR"}}
        ]
    });
    porchlight::app::orders::upsert_order(&runtime.deps, &tenant, serde_json::from_value(order).expect("order"))
        .await
        .expect("order");
    let delivered_at = chrono::Utc::now() - chrono::Duration::days(2);
    let new = porchlight::app::NewTracking {
        slug: Some(porchlight::domain::Slug::parse("testing-courier").expect("slug")),
        tracking_number: porchlight::domain::TrackingNumber::parse("TC-DELIVERED-1SEC-ORDER7001").expect("number"),
        details: porchlight::domain::ShipmentDetails { order_id: Some("7001".into()), ..Default::default() },
        last_mile: None,
    };
    let journey = porchlight::carriers::sandbox::journey(
        &new.tracking_number,
        delivered_at - chrono::Duration::days(1),
        delivered_at,
    )
    .expect("a sandbox journey");
    porchlight::app::import_tracking(
        &runtime.deps,
        &tenant,
        new,
        delivered_at - chrono::Duration::days(1),
        journey.events,
    )
    .await
    .expect("delivered");
    support::start_recording().await;

    // page-forms: the final-sale line is refused with its reason; the mug, with a photo, is taken.
    let forms = || porchlight_aws::tracking_page_router(runtime.deps.clone());
    let proof = [("order_number", "2001"), ("postal_code", "75 001"), ("email", ""), ("lang", "fr")];
    let (status, page) = support::call_text(
        forms(),
        &portal_post(
            &[&proof[..], &[("qty_0", "1"), ("reason_0", "changed_mind"), ("method", "customer_courier")]].concat(),
            None,
        ),
    )
    .await;
    assert_eq!(status, 422, "the final-sale line is refused: {page}");
    assert!(page.contains("Cet article était une vente finale et ne peut pas être retourné."), "{page}");
    let mut lines = support::api_event("GET", "/t/returns-shop/returns", None);
    lines["rawQueryString"] = "order_number=2001&postal_code=75001&lang=fr".into();
    let (status, page) = support::call_text(forms(), &lines).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Cet article était une vente finale et ne peut pas être retourné."), "{page}");
    let ask = [
        &proof[..],
        &[
            ("qty_1", "1"),
            ("reason_1", "damaged"),
            ("comment_1", "anse cassée"),
            ("resolution_1", "refund"),
            ("method", "customer_courier"),
        ],
    ]
    .concat();
    let (status, page) = support::call_text(forms(), &portal_post(&ask, Some(("photos_1", PNG)))).await;
    assert_eq!(status, 200, "{page}");
    let rma = page.split("(RMA) est ").nth(1).map(|rest| rest[..8].to_owned()).expect("an RMA number");

    // The photo is in S3, served by the pages.
    let (status, shown) = support::call(
        porchlight_aws::api_router(runtime.deps.clone()),
        &support::api_event("GET", &format!("/returns/2026-07/returns/rma/{rma}"), None),
    )
    .await;
    assert_eq!(status, 200, "{shown}");
    let id = shown["data"]["id"].as_str().expect("id").to_owned();
    let photo_url =
        shown["data"]["return_items"][0]["shopper_uploaded_image_urls"][0].as_str().expect("a photo").to_owned();
    assert!(photo_url.starts_with("https://track.example/t/returns-shop/returns/photos/"), "{photo_url}");
    let path = photo_url.trim_start_matches("https://track.example");
    let (status, bytes) = support::call_text(forms(), &support::api_event("GET", path, None)).await;
    assert!(status == 200 && bytes.contains("PNG\r\n"), "the photo as sent, from S3");

    // api: approve (telling the shopper), attach the return shipment.
    let api = || porchlight_aws::api_router(runtime.deps.clone());
    let (status, approved) = support::call(
        api(),
        &support::api_event(
            "POST",
            &format!("/returns/2026-07/returns/rma/{rma}/approve"),
            Some(&json!({"notify_customer": true})),
        ),
    )
    .await;
    assert_eq!((status, approved["meta"]["code"].as_i64()), (202, Some(20200)), "{approved}");
    let attach = json!({"shipments": [{"tracking_number": "TC-DELIVERED-1SEC-RET7001", "slug": "testing-courier", "label": {"url": "https://labels.example.com/r.pdf"}}]});
    let (status, attached) = support::call(
        api(),
        &support::api_event("POST", &format!("/returns/2026-07/returns/{id}/attach-shipments"), Some(&attach)),
    )
    .await;
    assert_eq!(status, 200, "{attached}");
    assert_eq!(attached["data"]["shipping_status"], "pending");

    // The return shipment's delivery, through every function: the return follows.
    let mut journey = support::Journey {
        runtime: &runtime,
        store: &store,
        streamed: store.stream_records().await.expect("stream").len(),
    };
    let push = json!({"tracking_number": "TC-DELIVERED-1SEC-RET7001", "events": [{"occurred_at": "2026-11-29T10:00:00+01:00",
        "code": "DLV", "description": "Delivered to the warehouse", "city": "Paris", "country": "FRA"}]});
    let emitted = journey
        .push(support::signed_push(&support::sample("webhook-intake.json").expect("sample"), &push.to_string()))
        .await;
    journey.notify(&emitted).await;
    let (_, moved) =
        support::call(api(), &support::api_event("GET", &format!("/returns/2026-07/returns/{id}"), None)).await;
    assert_eq!(moved["data"]["shipping_status"], "delivered", "{moved}");

    // api: receive and resolve.
    let receive = json!({"items": [{"external_id": "m1", "quantity": 1}]});
    let (status, received) = support::call(
        api(),
        &support::api_event("POST", &format!("/returns/2026-07/returns/{id}/receive-items"), Some(&receive)),
    )
    .await;
    assert_eq!((status, received["data"]["shipping_status"].as_str()), (200, Some("received")), "{received}");
    let (status, resolved) = support::call(
        api(),
        &support::api_event("POST", &format!("/returns/2026-07/returns/rma/{rma}/resolve"), Some(&json!({}))),
    )
    .await;
    assert_eq!((status, resolved["data"]["approval_status"].as_str()), (200, Some("done")), "{resolved}");

    // notifier (its schedule): the confirmation and the approval reach SES, in French.
    handlers::notify(&runtime, handlers::NotifierEvent::Tick(support::sample("notifier.json").expect("sample")))
        .await
        .expect("sent");
    let subject = porchlight::domain::ShipmentId::parse(&id).expect("32 hex");
    let messages = runtime.ledger.shipment_messages(&tenant, &subject).await.expect("ledger");
    let sent: Vec<_> = messages.iter().map(|m| (m.trigger.as_str(), m.state.as_str())).collect();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(sent.iter().all(|(_, state)| *state == "sent"), "{sent:?}");
    let data: Value = serde_json::from_str(&support::moto_data().await).expect("moto's dump");
    let emails: Vec<String> = data
        .pointer("/ses/RawMessage")
        .and_then(Value::as_array)
        .map(|all| all.iter().map(|m| m.to_string()).filter(|m| m.contains("kim@example.com")).collect())
        .unwrap_or_default();
    assert_eq!(emails.len(), 2, "the confirmation and the approval");
    assert!(emails.iter().all(|m| m.contains("Content-Language: fr") && m.contains(&rma)), "{emails:?}");

    // webhook-dispatcher: every step, signed as AfterShip Returns signs.
    handlers::dispatch_webhooks(&runtime, support::sample("webhook-dispatcher.json").expect("sample"))
        .await
        .expect("dispatched");
    let posted = posts.lock().expect("lock").clone();
    let mut seen: Vec<String> = posted
        .iter()
        .map(|(signature, body)| {
            assert_eq!(*signature, porchlight::domain::sign_webhook(&secret, body));
            let body: Value = serde_json::from_slice(body).expect("json");
            assert_eq!(body["data"]["id"], id.as_str());
            body["event"].as_str().expect("event").to_owned()
        })
        .collect();
    seen.sort();
    seen.dedup();
    let mut wanted: Vec<String> = events.iter().map(|e| (*e).to_owned()).collect();
    wanted.sort();
    assert_eq!(seen, wanted);

    // A return outside the window is refused.
    let policy = serde_json::from_value(json!({"window_days": 1})).expect("policy");
    porchlight::app::returns::update_return_policy(&runtime.deps, &tenant, policy).await.expect("policy");
    let late = json!({"order": {"external_id": "7001", "store": {"platform": "woocommerce", "external_id": "shop.example"}},
        "return_items": [{"external_order_item_id": "m1", "intended_return_quantity": 1, "return_reason": "changed_mind", "resolution": "refund"}],
        "return_method": {"type": "customer_courier"}, "refund_destination": "original_payment"});
    let (status, refused) =
        support::call(api(), &support::api_event("POST", "/returns/2026-07/returns", Some(&late))).await;
    assert_eq!((status, refused["meta"]["code"].as_i64()), (422, Some(42200)), "{refused}");
    assert!(
        refused["meta"]["errors"][0]["info"]
            .as_str()
            .is_some_and(|i| i.starts_with("the return window for this item closed on"))
    );
}
