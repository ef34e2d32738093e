//! The AWS adapters (DynamoDB, its stream, SQS) against the moto emulator. `scripts/test.sh`
//! starts moto and sets `AWS_ENDPOINT_URL`; run alone with
//! `AWS_ENDPOINT_URL=http://127.0.0.1:PORT cargo test -p porchlight --features aws,testkit --test aws`.
//! Without an endpoint these tests fail: they never reach for real AWS.

use porchlight::adapters::dynamodb::DynamoStore;

/// A store on a new table of its own, so that tests never see each other's items.
async fn store() -> DynamoStore {
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .expect("AWS_ENDPOINT_URL must name the moto server (scripts/test.sh starts one)");
    assert!(endpoint.starts_with("http://127.0.0.1:"), "tests only talk to a loopback emulator, not {endpoint}");
    let store = DynamoStore::from_env(format!("porchlight-test-{}", uuid::Uuid::new_v4().simple())).await;
    store.create_table().await.expect("table created");
    store
}

porchlight::shipment_contract_tests!(store().await);
porchlight::connection_contract_tests!(store().await);

/// The table's stream carries the same changes, in order, as the SQLite change feed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_records_decode_into_the_change_events_of_the_embedded_feed() {
    let store = store().await;
    let tenant = porchlight::testkit::create_update_delete(&store).await;
    let changes: Vec<_> =
        store.stream_changes().await.expect("stream read").into_iter().filter(|c| c.tenant_id == tenant).collect();
    porchlight::testkit::assert_created_updated_deleted(&changes);
}

/// Queues of their own, so that tests never see each other's messages.
async fn queues() -> porchlight::adapters::sqs::SqsQueues {
    std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL must name the moto server (scripts/test.sh starts one)");
    let prefix = format!("porchlight-test-{}-", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let queues = porchlight::adapters::sqs::SqsQueues::from_env(prefix).await;
    queues.create_queues().await.expect("queues created");
    queues
}

porchlight::queue_contract_tests!(queues().await);
