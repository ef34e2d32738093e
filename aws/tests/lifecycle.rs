//! One shipment's life through the real handler functions, against the moto emulator: created
//! through the `api` function, a carrier push through `webhook-intake`, the queued message
//! through `tracking-updater`, the table's stream records through `status-fanout`, the status
//! changes through `notifier` (the shopper's email read back from SES) and `webhook-dispatcher`
//! (the merchant's endpoint, on loopback, hears of the move once, signed).

use porchlight::carriers::WebhookSecrets;
use porchlight::domain::Tag;
use porchlight::ports::{ChangeEvent, ChangeKind, QueueName, WorkQueue};
use porchlight_aws::dynamodb::DynamoStore;
use porchlight_aws::{Runtime, handlers};
use serde_json::json;

#[path = "../examples/support/mod.rs"]
mod support;

/// What the merchant's endpoint was sent: each post's signature header and body.
type Posts = std::sync::Arc<std::sync::Mutex<Vec<(String, Vec<u8>)>>>;

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
    runtime.deps.webhook_targets = porchlight::domain::TargetPolicy::AllowPrivate;
    runtime.deps.webhook_http = std::sync::Arc::new(porchlight::adapters::http_client::ReqwestClient::for_webhooks(
        std::time::Duration::from_secs(5),
        porchlight::domain::TargetPolicy::AllowPrivate,
    ));
    runtime.webhook_dispatcher = porchlight::app::webhooks::dispatch::Dispatcher::new(runtime.deps.clone());
    let signatures: Posts = std::sync::Arc::default();
    let kept = signatures.clone();
    let receiver = axum::Router::new().fallback(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
        let kept = kept.clone();
        async move {
            let signature = headers.get("aftership-hmac-sha256").and_then(|v| v.to_str().ok()).unwrap_or_default();
            kept.lock().expect("lock").push((signature.to_owned(), body.to_vec()));
            axum::http::StatusCode::OK
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("port");
    let url = format!("http://{}/hooks", listener.local_addr().expect("bound"));
    tokio::spawn(async move { axum::serve(listener, receiver).await });
    let write = porchlight::app::webhooks::EndpointWrite { url: Some(url), events: None, pending_hours: None };
    let (_, secret) =
        porchlight::app::webhooks::create_endpoint(&runtime.deps, &tenant, write).await.expect("endpoint");

    // api: create the tracking.
    create["routeKey"] = "POST /tracking/{proxy+}".into();
    create["requestContext"]["http"]["method"] = "POST".into();
    create["body"] = json!({"tracking_number": "TC-DELIVERED-5-EVENT1", "order_number": "#1001",
        "customers": [{"email": "lee@example.com", "language": "ja"}]})
    .to_string()
    .into();
    let (status, created) = support::call(porchlight_aws::api_router(runtime.deps.clone()), &create).await;
    assert!((200..300).contains(&status), "{status}: {created}");
    let id = created["data"]["id"].as_str().expect("an id").to_owned();

    // webhook-intake: the carrier pushes a scan.
    let (status, body) = support::call(
        porchlight_aws::webhook_intake_router(runtime.deps.clone()),
        &support::sample("webhook-intake.json").expect("sample"),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // tracking-updater: Lambda hands it the queued message.
    let queued =
        runtime.queues.receive(QueueName::CarrierUpdates, 10, chrono::Duration::seconds(30)).await.expect("received");
    assert_eq!(queued.len(), 1);
    let response = handlers::update_trackings(&runtime, support::sqs_event(&queued)).await;
    assert!(response.batch_item_failures.is_empty());
    runtime.queues.ack(QueueName::CarrierUpdates, queued[0].id).await.expect("deleted, as the event source does");

    // status-fanout: Lambda hands it the table's stream records.
    let records = store.stream_records().await.expect("stream");
    let response = handlers::fan_out_status(&runtime, support::stream_event(&records)).await;
    assert!(response.batch_item_failures.is_empty());

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
    let emitted =
        runtime.queues.receive(QueueName::StatusChanges, 10, chrono::Duration::seconds(30)).await.expect("received");
    let mut changes: Vec<ChangeEvent> =
        emitted.iter().map(|m| serde_json::from_slice(&m.body).expect("a change event")).collect();
    changes.retain(|c| c.shipment_id.as_str() == id);
    let seen: Vec<_> = changes.iter().map(|c| (c.kind, c.new.as_ref().map(|s| s.tag))).collect();
    assert_eq!(seen, [(ChangeKind::Created, Some(Tag::Pending)), (ChangeKind::Updated, Some(Tag::InTransit))]);

    // notifier: Lambda hands it the status changes; the in-transit email goes out through SES.
    let response = handlers::notify(&runtime, handlers::NotifierEvent::Changes(support::sqs_event(&emitted)))
        .await
        .expect("handled");
    assert!(response.batch_item_failures.is_empty());
    let shipment_id = porchlight::domain::ShipmentId::parse(&id).expect("id");
    let messages = porchlight::ports::MessageLedger::shipment_messages(runtime.ledger.as_ref(), &tenant, &shipment_id)
        .await
        .expect("ledger");
    assert_eq!(messages.len(), 1, "the in-transit email: {messages:?}");
    assert_eq!(messages[0].state, porchlight::ports::MessageState::Sent);
    let data = support::moto_data().await;
    assert!(data.contains("lee@example.com") && data.contains("Content-Language: ja"), "SES holds the email");

    // webhook-dispatcher: woken by the new delivery, it posts the move, signed.
    handlers::dispatch_webhooks(&runtime, support::sample("webhook-dispatcher.json").expect("sample"))
        .await
        .expect("dispatched");
    let posted = signatures.lock().expect("lock").clone();
    assert_eq!(posted.len(), 1, "one status change, one post");
    assert_eq!(posted[0].0, porchlight::domain::sign_webhook(&secret, &posted[0].1));
    let body: serde_json::Value = serde_json::from_slice(&posted[0].1).expect("json");
    assert_eq!((body["event"].as_str(), body["msg"]["tag"].as_str()), (Some("tracking_update"), Some("InTransit")));
}
