//! The Lambda handlers with the sample events under `events/`, against the moto emulator
//! (`scripts/test.sh` starts it and sets `AWS_ENDPOINT_URL`).

use porchlight::app::{self, NewTracking};
use porchlight::domain::{ShipmentDetails, Tag, TrackingNumber};
use porchlight::ports::{QueueName, WorkQueue};
use porchlight_aws::{Config, Runtime, handlers};

const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/// A runtime on a table and queues of its own.
async fn runtime() -> Runtime {
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .expect("AWS_ENDPOINT_URL must name the moto server (scripts/test.sh starts one)");
    assert!(endpoint.starts_with("http://127.0.0.1:"), "tests only talk to a loopback emulator, not {endpoint}");
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let table = format!("porchlight-test-{unique}");
    let prefix = format!("porchlight-test-{}-", &unique[..12]);
    let vars = [("TABLE_NAME", table.as_str()), ("QUEUE_PREFIX", prefix.as_str()), ("PORCHLIGHT_SECRET_KEY", KEY)];
    let config =
        Config::from_vars(|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())).expect("config");
    let runtime = Runtime::connect(&config).await;
    porchlight::adapters::dynamodb::DynamoStore::from_env(&config.table_name)
        .await
        .create_table()
        .await
        .expect("table");
    runtime.queues.create_queues().await.expect("queues");
    runtime
}

fn sample(name: &str) -> serde_json::Value {
    let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("sample event")).expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracking_updater_merges_updates_and_quarantines_what_cannot_be_parsed() {
    let runtime = runtime().await;
    let (tenant, _) = app::create_tenant(&runtime.deps, "Acme").await.expect("tenant");
    let new = NewTracking {
        slug: None,
        tracking_number: TrackingNumber::parse("TC-DELIVERED-5-EVENT1").expect("number"),
        details: ShipmentDetails::default(),
        last_mile: None,
    };
    let shipment = app::create_tracking(&runtime.deps, &tenant.id, new).await.expect("created");

    let event = serde_json::from_value(sample("tracking-updater.json")).expect("an SQS event");
    let response = handlers::update_trackings(&runtime, event).await;
    assert!(response.batch_item_failures.is_empty(), "{:?}", response.batch_item_failures);

    let stored = runtime.deps.shipments.get(&tenant.id, &shipment.id).await.expect("read").expect("exists");
    assert_eq!((stored.tag, stored.checkpoints.len()), (Tag::InTransit, 2));
    let dead = runtime.queues.dead_letters(QueueName::CarrierUpdates, 0, 10).await.expect("dead letters");
    assert_eq!(dead.iter().map(|d| d.id).collect::<Vec<_>>(), [1_763_721_660_000_000_002]);
    assert!(dead[0].reason.starts_with("malformed carrier response: sandbox push"), "{}", dead[0].reason);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracking_updater_reports_unreadable_records_for_another_delivery() {
    let runtime = runtime().await;
    let mut event = sample("tracking-updater.json");
    event["Records"][0]["messageAttributes"] = serde_json::json!({});
    let event = serde_json::from_value(event).expect("an SQS event");
    let response = handlers::update_trackings(&runtime, event).await;
    let failed: Vec<_> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    assert_eq!(failed, ["5f0c7a1e-4d1b-4f4e-9a57-1f6f1c0e0001"]);
}
