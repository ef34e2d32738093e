//! The status fan-out on both runtimes: the same shipment changes, committed to SQLite and
//! followed by `serve`'s feed worker, and committed to DynamoDB and followed through the
//! table's stream by `status-fanout`, put the same messages on `status-changes`.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use porchlight::adapters::sqlite::SqliteStore;
use porchlight::app;
use porchlight::domain::{
    CheckpointInput, CheckpointSource, EventTime, Shipment, ShipmentDetails, Slug, Subtag, TenantId, TrackingNumber,
};
use porchlight::ports::{ChangeEvent, QueueName, ShipmentStore, SystemClock, Tenant, TenantStore, WorkQueue};
use porchlight_aws::dynamodb::DynamoStore;
use porchlight_aws::{Runtime, handlers};

#[path = "../examples/support/mod.rs"]
mod support;

/// One life: created, moved to InTransit, a detail added without a status move, then out for
/// delivery (see [`travel`]), then deleted.
async fn live(store: &(impl TenantStore + ShipmentStore), tenant: &Tenant, first: &Shipment) {
    let shipment = travel(store, tenant, first).await;
    store.delete(&tenant.id, &shipment.id).await.expect("deleted");
}

/// The same life up to out for delivery, kept.
async fn travel(store: &(impl TenantStore + ShipmentStore), tenant: &Tenant, first: &Shipment) -> Shipment {
    store.create_tenant(tenant).await.expect("tenant");
    let mut shipment = first.clone();
    shipment.version = store.insert(&shipment).await.expect("inserted");
    for (hours, code, message) in
        [(1, "InTransit_001", "Departed"), (2, "InTransit_001", "Arrived"), (3, "OutForDelivery_001", "Out")]
    {
        let at = shipment.created_at + chrono::Duration::hours(hours);
        let event = CheckpointInput::new(
            shipment.slug.clone(),
            shipment.tracking_number.clone(),
            EventTime::from_utc(at),
            Subtag::parse(code).expect("subtag"),
            message,
            CheckpointSource::Carrier,
        );
        shipment.merge([event], at);
        shipment.version = store.update(&shipment).await.expect("updated");
    }
    shipment
}

/// The messages on a `status-changes` queue, their commit times aside (SQLite keeps
/// microseconds, the stream whole seconds).
async fn messages(queue: &dyn WorkQueue) -> Vec<ChangeEvent> {
    let received = queue.receive(QueueName::StatusChanges, 10, chrono::Duration::seconds(30)).await.expect("received");
    received
        .iter()
        .map(|m| serde_json::from_slice::<ChangeEvent>(&m.body).expect("a change event"))
        .map(|change| ChangeEvent { at: DateTime::<Utc>::UNIX_EPOCH, ..change })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_changes_give_the_same_status_messages_on_both_runtimes() {
    support::emulator().expect("AWS_ENDPOINT_URL must name a loopback moto server (scripts/test.sh starts one)");
    let tenant = Tenant { id: TenantId::random(), name: "Acme".into(), created_at: Utc::now() };
    let shipment = Shipment::new(
        tenant.id.clone(),
        Slug::parse("ups").expect("slug"),
        TrackingNumber::parse("1Z999AA10123456784").expect("number"),
        ShipmentDetails::default(),
        Utc::now(),
    );

    // serve: the SQLite change feed, followed by the fan-out worker's rounds.
    let sqlite = SqliteStore::in_memory().expect("store");
    let local = porchlight::testkit::deps(sqlite.clone(), Arc::new(SystemClock));
    live(&sqlite, &tenant, &shipment).await;
    let report = app::fanout::fan_out_feed(&local, &sqlite, 100).await.expect("fanned out");
    assert_eq!((report.read, report.published), (5, 4));

    // AWS: the table's stream, handed to status-fanout as Lambda's event source would.
    let settings = support::settings();
    let config = support::config(&settings).expect("config");
    let runtime = Runtime::connect(&config).await;
    support::create_resources(&runtime, &config).await.expect("table and queues");
    let dynamo = DynamoStore::from_env(&config.table_name).await;
    live(&dynamo, &tenant, &shipment).await;
    let records = dynamo.stream_records().await.expect("stream");
    let response = handlers::fan_out_status(&runtime, support::stream_event(&records)).await;
    assert!(response.batch_item_failures.is_empty());

    let embedded = messages(local.queue.as_ref()).await;
    assert_eq!(embedded.len(), 4, "created, in transit, out for delivery, deleted: {embedded:?}");
    assert_eq!(messages(runtime.deps.queue.as_ref()).await, embedded);
}

/// The same changes, counted from SQLite's feed by `serve` and from the table's stream by
/// `status-fanout` (the batch delivered twice), give the same rollups.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_changes_give_the_same_rollups_on_both_runtimes() {
    use porchlight::domain::analytics::Period;
    support::emulator().expect("AWS_ENDPOINT_URL must name a loopback moto server (scripts/test.sh starts one)");
    let tenant = Tenant { id: TenantId::random(), name: "Acme".into(), created_at: Utc::now() };
    let details = ShipmentDetails {
        destination_country_region: porchlight::domain::CountryCode::parse("USA").ok(),
        ..ShipmentDetails::default()
    };
    // Created yesterday at 06:00, so that its three events (an hour apart) fall on its day
    // whatever the time the test runs.
    let created_at =
        (Utc::now() - chrono::Duration::days(1)).date_naive().and_hms_opt(6, 0, 0).expect("a time").and_utc();
    let shipment = Shipment::new(
        tenant.id.clone(),
        Slug::parse("ups").expect("slug"),
        TrackingNumber::parse("1Z999AA10123456795").expect("number"),
        details,
        created_at,
    );
    let periods = Period::of_day(shipment.created_at.date_naive()).to_vec();

    let sqlite = SqliteStore::in_memory().expect("store");
    let local = porchlight::testkit::deps(sqlite.clone(), Arc::new(SystemClock));
    travel(&sqlite, &tenant, &shipment).await;
    while app::analytics::count_feed(&local, &sqlite, 2).await.expect("counted") > 0 {}
    let mut embedded = local.analytics.rollup_rows(&tenant.id, periods.clone()).await.expect("rows");

    let settings = support::settings();
    let config = support::config(&settings).expect("config");
    let runtime = Runtime::connect(&config).await;
    support::create_resources(&runtime, &config).await.expect("table and queues");
    let dynamo = DynamoStore::from_env(&config.table_name).await;
    travel(&dynamo, &tenant, &shipment).await;
    let records = dynamo.stream_records().await.expect("stream");
    for _ in 0..2 {
        let response = handlers::fan_out_status(&runtime, support::stream_event(&records)).await;
        assert!(response.batch_item_failures.is_empty());
    }
    let mut on_aws = runtime.deps.analytics.rollup_rows(&tenant.id, periods).await.expect("rows");

    let order = |rows: &mut Vec<porchlight::ports::RollupRow>| rows.sort_by_key(|row| (row.period, row.lane.events));
    order(&mut embedded);
    order(&mut on_aws);
    // The lane's row and the carrier's events row, each for a day, a third and a month.
    assert_eq!(embedded.len(), 6, "a day, a third and a month: {embedded:?}");
    assert_eq!(embedded[0].counters.get("t:OutForDelivery"), 1);
    assert_eq!(embedded[0].counters.get("n"), 1);
    assert_eq!((embedded[1].lane.events, embedded[1].counters.get("h:events")), (true, 3), "the carrier's 3 events");
    assert_eq!(on_aws, embedded);
}
