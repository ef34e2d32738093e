//! One shipment's life through the real handler functions, against the moto emulator: created
//! through the `api` function, a carrier push through `webhook-intake`, the queued message
//! through `tracking-updater`, the table's stream records through `status-fanout`; then the
//! shipment as the API shows it and the status changes emitted.

use porchlight::adapters::dynamodb::{DynamoStore, StreamImages};
use porchlight::carriers::{WebhookSecrets, base64_encode};
use porchlight::domain::Tag;
use porchlight::ports::{ChangeEvent, ChangeKind, QueueName, WorkQueue};
use porchlight_aws::{Config, Runtime, handlers};
use serde_json::{Value, json};

const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fn sample(name: &str) -> Value {
    let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("sample event")).expect("json")
}

/// Runs `router` on an API Gateway v2 event, as `lambda_http::run` does.
async fn call(router: axum::Router, event: &Value) -> (u16, Value) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let request = lambda_http::request::from_str(&event.to_string()).expect("an API Gateway v2 event");
    let response = router.oneshot(request).await.expect("infallible");
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// The SQS event Lambda would deliver for `messages`.
fn sqs_event(messages: &[porchlight::ports::Received]) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            json!({
                "messageId": format!("msg-{}", m.id),
                "body": base64_encode(&m.body),
                "attributes": {"ApproximateReceiveCount": m.receive_count.to_string()},
                "messageAttributes": {
                    "porchlight-id": {"stringValue": m.id.to_string(), "dataType": "Number"},
                    "porchlight-enqueued-at": {"stringValue": m.enqueued_at.timestamp_micros().to_string(), "dataType": "Number"}
                },
                "eventSource": "aws:sqs"
            })
        })
        .collect();
    json!({ "Records": records })
}

/// The DynamoDB stream event Lambda would deliver for `records`.
fn stream_event(records: &[StreamImages]) -> Value {
    let image = |item: &Option<porchlight::adapters::dynamodb::Item>| {
        item.clone().map(|i| serde_json::to_value(serde_dynamo::Item::from(i)).expect("an image"))
    };
    let records: Vec<Value> = records
        .iter()
        .map(|r| {
            let mut change = json!({
                "ApproximateCreationDateTime": r.at.timestamp(),
                "Keys": {},
                "SequenceNumber": r.sequence_number,
                "SizeBytes": 1,
                "StreamViewType": "NEW_AND_OLD_IMAGES"
            });
            if let Some(new) = image(&r.new) {
                change["NewImage"] = new;
            }
            if let Some(old) = image(&r.old) {
                change["OldImage"] = old;
            }
            json!({"eventID": r.sequence_number, "eventName": r.operation, "eventSource": "aws:dynamodb",
                   "awsRegion": "us-east-1", "dynamodb": change})
        })
        .collect();
    json!({ "Records": records })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shipment_lives_through_every_handler() {
    use sha2::Digest;
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .expect("AWS_ENDPOINT_URL must name the moto server (scripts/test.sh starts one)");
    assert!(endpoint.starts_with("http://127.0.0.1:"), "tests only talk to a loopback emulator");
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let (table, prefix) = (format!("porchlight-life-{unique}"), format!("porchlight-life-{}-", &unique[..12]));
    let vars = [
        ("TABLE_NAME", table.as_str()),
        ("QUEUE_PREFIX", prefix.as_str()),
        ("PORCHLIGHT_SECRET_KEY", KEY),
        ("PORCHLIGHT_WEBHOOK_SECRETS", "testing-courier=sample-webhook-secret"),
    ];
    let config =
        Config::from_vars(|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())).expect("config");
    let runtime = Runtime::connect(&config).await.expect("connected");
    assert_eq!(
        *runtime.deps.webhook_secrets,
        WebhookSecrets([("testing-courier".into(), "sample-webhook-secret".into())].into())
    );
    let store = DynamoStore::from_env(&table).await;
    store.create_table().await.expect("table");
    runtime.queues.create_queues().await.expect("queues");

    // A merchant with the key the sample API event carries.
    let (tenant, _) = porchlight::app::create_tenant(&runtime.deps, "Acme").await.expect("tenant");
    let mut create = sample("api.json");
    let key = create["headers"]["as-api-key"].as_str().expect("key").to_owned();
    let record = porchlight::ports::ApiKeyRecord {
        key_id: "key_life".into(),
        tenant_id: tenant.id.clone(),
        created_at: chrono::Utc::now(),
        revoked_at: None,
    };
    runtime.deps.tenants.add_api_key(&record, &sha2::Sha256::digest(key.as_bytes()).into()).await.expect("key");

    // api: create the tracking.
    create["routeKey"] = "POST /tracking/{proxy+}".into();
    create["requestContext"]["http"]["method"] = "POST".into();
    create["body"] = json!({"tracking_number": "TC-DELIVERED-5-EVENT1", "order_number": "#1001"}).to_string().into();
    let (status, created) = call(porchlight::api::merchant_router(runtime.deps.clone()), &create).await;
    assert!((200..300).contains(&status), "{status}: {created}");
    let id = created["data"]["id"].as_str().expect("an id").to_owned();

    // webhook-intake: the carrier pushes a scan.
    let (status, body) =
        call(porchlight::api::webhook_router(runtime.deps.clone()), &sample("webhook-intake.json")).await;
    assert_eq!(status, 200, "{body}");

    // tracking-updater: Lambda hands it the queued message.
    let queued =
        runtime.queues.receive(QueueName::CarrierUpdates, 10, chrono::Duration::seconds(30)).await.expect("received");
    assert_eq!(queued.len(), 1);
    let response =
        handlers::update_trackings(&runtime, serde_json::from_value(sqs_event(&queued)).expect("sqs event")).await;
    assert!(response.batch_item_failures.is_empty());
    runtime.queues.ack(QueueName::CarrierUpdates, queued[0].id).await.expect("deleted, as the event source does");

    // status-fanout: Lambda hands it the table's stream records.
    let records = store.stream_records().await.expect("stream");
    let response =
        handlers::fan_out_status(&runtime, serde_json::from_value(stream_event(&records)).expect("stream event")).await;
    assert!(response.batch_item_failures.is_empty());

    // The shipment as the API shows it.
    let mut read = sample("api.json");
    read["rawPath"] = format!("/tracking/2026-07/trackings/{id}").into();
    read["requestContext"]["http"]["path"] = read["rawPath"].clone();
    let (status, shown) = call(porchlight::api::merchant_router(runtime.deps.clone()), &read).await;
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
