//! One shipment's life through the real handler functions, against the moto emulator: created
//! through the `api` function, a carrier push through `webhook-intake`, the queued message
//! through `tracking-updater`, the table's stream records through `status-fanout`; then the
//! shipment as the API shows it and the status changes emitted.

use porchlight::carriers::WebhookSecrets;
use porchlight::domain::Tag;
use porchlight::ports::{ChangeEvent, ChangeKind, QueueName, WorkQueue};
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
    let runtime = Runtime::connect(&config).await;
    assert_eq!(
        *runtime.deps.webhook_secrets,
        WebhookSecrets([("testing-courier".into(), "sample-webhook-secret".into())].into())
    );
    support::create_resources(&runtime, &config).await.expect("table and queues");
    let store = DynamoStore::from_env(&config.table_name).await;

    // A merchant with the key the sample API event carries.
    let mut create = support::sample("api.json").expect("sample");
    support::add_merchant(&runtime, &create).await.expect("merchant");

    // api: create the tracking.
    create["routeKey"] = "POST /tracking/{proxy+}".into();
    create["requestContext"]["http"]["method"] = "POST".into();
    create["body"] = json!({"tracking_number": "TC-DELIVERED-5-EVENT1", "order_number": "#1001"}).to_string().into();
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
}
