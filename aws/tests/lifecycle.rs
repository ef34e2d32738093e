//! One sandbox shipment's whole journey through the real handler functions, against the moto
//! emulator: created through the `api` function, each carrier push (in transit, a failed
//! attempt, out for delivery, delivered) through `webhook-intake`, the queued message through
//! `tracking-updater`, the table's stream records through `status-fanout`, the status changes
//! through `notifier` (the shopper's emails read back from SES, the SMS from the requests SNS
//! took, once per trigger, in the shopper's language; an exception case for the failed attempt)
//! and `webhook-dispatcher` (the merchant's endpoint, on loopback, hears of each move once,
//! signed).

use porchlight::carriers::WebhookSecrets;
use porchlight::domain::Tag;
use porchlight::ports::{ChangeEvent, ChangeKind, MessageLedger};
use porchlight_aws::dynamodb::DynamoStore;
use porchlight_aws::{Runtime, handlers};
use serde_json::json;

#[path = "../examples/support/mod.rs"]
mod support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shipment_lives_through_every_handler() {
    support::emulator().expect("AWS_ENDPOINT_URL must name a loopback moto server (scripts/test.sh starts one)");
    let settings = support::settings();
    let config = support::config(&settings).expect("config");
    let mut runtime = Runtime::connect(&config).await;
    assert_eq!(
        *runtime.deps.webhook_secrets,
        WebhookSecrets([("testing-courier".into(), "sample-webhook-secret".into())].into())
    );
    support::create_resources(&runtime, &config).await.expect("table and queues");
    let store = DynamoStore::from_env(&config.table_name).await;

    // A merchant with the key the sample API event carries.
    let mut create = support::sample("api.json").expect("sample");
    let tenant = support::add_merchant(&runtime, &create).await.expect("merchant");
    support::verify_sender(&config).await;
    // The merchant's endpoint on loopback (allowed for this test only).
    let (url, signatures) = support::loopback_endpoint(&mut runtime, "aftership-hmac-sha256").await;
    let write = porchlight::app::webhooks::EndpointWrite { url: Some(url), events: None, pending_hours: None };
    let (_, secret) =
        porchlight::app::webhooks::create_endpoint(&runtime.deps, &tenant, write).await.expect("endpoint");

    // SMS too, for every trigger of the journey, beside the default emails.
    for trigger in ["in_transit", "failed_attempt", "out_for_delivery", "delivered"] {
        let write = serde_json::from_value(json!({"trigger": trigger, "channels": ["sms"]})).expect("a rule");
        porchlight::app::notification_rules::create_rule(&runtime.deps, &tenant, write).await.expect("rule");
    }

    // api: create the tracking.
    create["routeKey"] = "POST /tracking/{proxy+}".into();
    create["requestContext"]["http"]["method"] = "POST".into();
    create["body"] = json!({"tracking_number": "TC-DELIVERED-5-EVENT1", "order_number": "#1001",
        "customers": [{"email": "lee@example.com", "phone_number": PHONE, "language": "ja"}]})
    .to_string()
    .into();
    let (status, created) = support::call(porchlight_aws::api_router(runtime.deps.clone()), &create).await;
    assert!((200..300).contains(&status), "{status}: {created}");
    let id = created["data"]["id"].as_str().expect("an id").to_owned();
    let shipment_id = porchlight::domain::ShipmentId::parse(&id).expect("id");
    support::start_recording().await;

    // The carrier's first scan, through every function in turn.
    let mut journey = support::Journey { runtime: &runtime, store: &store, streamed: 0 };
    let sample_push = support::sample("webhook-intake.json").expect("sample");
    let emitted = journey.push(sample_push.clone()).await;

    // The shipment as the API shows it.
    let mut read = support::sample("api.json").expect("sample");
    read["rawPath"] = format!("/tracking/2026-07/trackings/{id}").into();
    read["requestContext"]["http"]["path"] = read["rawPath"].clone();
    let (status, shown) = support::call(porchlight_aws::api_router(runtime.deps.clone()), &read).await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["data"]["tag"], "InTransit");
    assert_eq!(shown["data"]["checkpoints"].as_array().map(Vec::len), Some(1));
    assert_eq!(shown["data"]["checkpoints"][0]["message"], "Arrived at the delivery facility");

    // The status changes emitted: created as Pending, then moved to InTransit.
    let mut changes: Vec<ChangeEvent> =
        emitted.iter().map(|m| serde_json::from_slice(&m.body).expect("a change event")).collect();
    changes.retain(|c| c.shipment_id.as_str() == id);
    let seen: Vec<_> = changes.iter().map(|c| (c.kind, c.new.as_ref().map(|s| s.tag))).collect();
    assert_eq!(seen, [(ChangeKind::Created, Some(Tag::Pending)), (ChangeKind::Updated, Some(Tag::InTransit))]);

    // notifier: Lambda hands it the status changes (the first batch twice, as SQS may).
    journey.notify(&emitted).await;
    journey.notify(&emitted).await;
    let messages = runtime.ledger.shipment_messages(&tenant, &shipment_id).await.expect("ledger");
    assert_eq!(messages.len(), 2, "the in-transit email and SMS: {messages:?}");

    // The rest of the journey: a failed attempt, out for delivery again, delivered.
    for (code, description, at) in [
        ("ATT", "Delivery attempted, recipient not available", "2026-11-23T10:00:00-06:00"),
        ("OFD", "Out for delivery, second attempt", "2026-11-24T08:00:00-06:00"),
        ("DLV", "Delivered, left at front door", "2026-11-24T13:30:00-06:00"),
    ] {
        let push = json!({"tracking_number": "TC-DELIVERED-5-EVENT1", "events": [{"occurred_at": at,
            "code": code, "description": description, "city": "Chicago, IL", "country": "USA"}]});
        let emitted = journey.push(support::signed_push(&sample_push, &push.to_string())).await;
        journey.notify(&emitted).await;
    }

    // Every message once, each trigger by email and SMS, in the shopper's language.
    let messages = runtime.ledger.shipment_messages(&tenant, &shipment_id).await.expect("ledger");
    let sent: std::collections::BTreeSet<_> =
        messages.iter().map(|m| (m.trigger.as_str(), m.channel.as_str(), m.state.as_str())).collect();
    let expected: std::collections::BTreeSet<_> = ["in_transit", "failed_attempt", "out_for_delivery", "delivered"]
        .into_iter()
        .flat_map(|t| [(t, "email", "sent"), (t, "sms", "sent")])
        .collect();
    assert_eq!((messages.len(), sent), (8, expected), "{messages:?}");
    let data: serde_json::Value = serde_json::from_str(&support::moto_data().await).expect("moto's dump");
    let emails: Vec<String> = data
        .pointer("/ses/RawMessage")
        .and_then(serde_json::Value::as_array)
        .map(|all| all.iter().map(|m| m.to_string()).filter(|m| m.contains("lee@example.com")).collect())
        .unwrap_or_default();
    assert_eq!(emails.len(), 4, "SES holds one email per trigger");
    assert!(emails.iter().all(|m| m.contains("Content-Language: ja")), "in the shopper's language");
    let sms = support::recorded_sms(PHONE).await;
    assert_eq!(sms.len(), 4, "SNS was asked for one SMS per trigger: {sms:?}");
    assert!(sms.iter().all(|text| text.contains("https://track.example/")), "each links the page: {sms:?}");

    // An exception case for the failed attempt, in the merchant's queue.
    let cases =
        porchlight::app::exceptions::list_cases(&runtime.deps, &tenant, &Default::default(), 10).await.expect("cases");
    assert_eq!(cases.len(), 1, "{cases:?}");
    assert_eq!(cases[0].shipment_id, shipment_id);

    // webhook-dispatcher: woken by the new deliveries, it posts each move once, signed.
    handlers::dispatch_webhooks(&runtime, support::sample("webhook-dispatcher.json").expect("sample"))
        .await
        .expect("dispatched");
    let posted = signatures.lock().expect("lock").clone();
    let tags: Vec<_> = posted
        .iter()
        .map(|(signature, body)| {
            assert_eq!(*signature, porchlight::domain::sign_webhook(&secret, body));
            let body: serde_json::Value = serde_json::from_slice(body).expect("json");
            assert_eq!(body["event"], "tracking_update");
            body["msg"]["tag"].as_str().expect("a tag").to_owned()
        })
        .collect();
    let mut sorted = tags.clone();
    sorted.sort();
    assert_eq!(sorted, ["AttemptFail", "Delivered", "InTransit", "OutForDelivery"], "one post per move");
}

/// The shopper's phone, in E.164.
const PHONE: &str = "+819012345678";
