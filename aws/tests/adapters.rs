//! The AWS adapters (DynamoDB, its stream, SQS) against the moto emulator. `scripts/test.sh`
//! starts moto and sets `AWS_ENDPOINT_URL`; run alone with
//! `AWS_ENDPOINT_URL=http://127.0.0.1:PORT cargo test -p porchlight --features aws,testkit --test aws`.
//! Without an endpoint these tests fail: they never reach for real AWS.

use porchlight_aws::dynamodb::DynamoStore;

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
porchlight::connector_contract_tests!(store().await);
porchlight::team_contract_tests!(store().await);
porchlight::page_contract_tests!(store().await);
porchlight::settings_contract_tests!(store().await);
porchlight::ledger_contract_tests!(store().await);
porchlight::order_contract_tests!(store().await);
porchlight::analytics_contract_tests!(store().await);
porchlight::return_contract_tests!(store().await);
porchlight::webhook_contract_tests!(store().await);
porchlight::exception_contract_tests!(store().await);

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
async fn queues() -> porchlight_aws::sqs::SqsQueues {
    std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL must name the moto server (scripts/test.sh starts one)");
    let prefix = format!("porchlight-test-{}-", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let queues = porchlight_aws::sqs::SqsQueues::from_env(prefix).await;
    queues.create_queues().await.expect("queues created");
    queues
}

porchlight::queue_contract_tests!(queues().await);

/// Shoppers' photos in an S3 bucket of their own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blobs_are_kept_read_replaced_and_removed_in_s3() {
    std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL must name the moto server (scripts/test.sh starts one)");
    let sdk = aws_config::load_from_env().await;
    let bucket = format!("porchlight-test-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let blobs = porchlight_aws::s3::S3Blobs::new(&sdk, Some(bucket));
    blobs.create_bucket().await.expect("bucket created");
    porchlight::testkit::blob_contract_keeps_reads_and_removes(&blobs).await;
}

/// With a retention, a finished shipment and its leg items carry the TTL attribute (its last
/// change plus the retention); while it is active they carry none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finished_shipments_and_their_legs_expire_after_the_retention() {
    use porchlight::domain::{
        CheckpointInput, CheckpointSource, EventTime, Shipment, ShipmentDetails, Slug, Subtag, TrackingNumber,
    };
    use porchlight::ports::{ShipmentStore, Tenant, TenantStore};
    let store = store().await.with_retention(chrono::Duration::days(30));
    let now = chrono::Utc::now();
    let tenant = Tenant { id: porchlight::domain::TenantId::random(), name: "Acme".into(), created_at: now };
    store.create_tenant(&tenant).await.expect("tenant");
    let slug = Slug::parse("ups").expect("slug");
    let number = TrackingNumber::parse("1Z999AA10123456784").expect("number");
    let mut shipment = Shipment::new(tenant.id.clone(), slug.clone(), number.clone(), ShipmentDetails::default(), now);
    shipment.version = store.insert(&shipment).await.expect("inserted");
    let delivered = CheckpointInput::new(
        slug,
        number,
        EventTime::from_utc(now),
        Subtag::parse("Delivered_001").expect("subtag"),
        "Delivered",
        CheckpointSource::Carrier,
    );
    shipment.merge([delivered], now);
    shipment.updated_at = now;
    assert!(!shipment.active);
    store.update(&shipment).await.expect("updated");

    let expires = |item: &porchlight_aws::dynamodb::Item| {
        item.get("expires_at").and_then(|v| v.as_n().ok()).and_then(|n| n.parse::<i64>().ok())
    };
    let records = store.stream_records().await.expect("stream");
    let latest = |prefix: &str| {
        records
            .iter()
            .rev()
            .filter_map(|r| r.new.as_ref())
            .find(|item| item.get("SK").and_then(|v| v.as_s().ok()).is_some_and(|sk| sk.starts_with(prefix)))
            .cloned()
            .expect("an image")
    };
    let first = records.iter().find_map(|r| r.new.as_ref()).expect("the first write");
    assert_eq!(expires(first), None, "active: kept");
    let expected = Some((now + chrono::Duration::days(30)).timestamp());
    assert_eq!(expires(&latest("S#")), expected, "the shipment");
    assert_eq!(expires(&latest("NUM#")), expected, "its leg, kept as it was");
    assert_eq!(expires(&latest("LC#")), expected, "its list entry");
}

/// A listing by creation reads its page through the tenant's list entries, not every shipment,
/// and counts `total` from the entries; a tenant made before list entries existed is listed by
/// reading every shipment until `add_list_entries` has given its shipments theirs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listings_by_creation_read_their_page_through_list_entries() {
    use aws_sdk_dynamodb::types::AttributeValue;
    use porchlight::domain::{Shipment, ShipmentDetails, ShipmentId, Slug, TrackingNumber};
    use porchlight::ports::{ListOrder, ListQuery, ShipmentStore, Tenant, TenantStore};
    let store = store().await;
    let start = chrono::Utc::now() - chrono::Duration::hours(1);
    let tenant = Tenant { id: porchlight::domain::TenantId::random(), name: "Acme".into(), created_at: start };
    store.create_tenant(&tenant).await.expect("tenant");
    let ups = Slug::parse("ups").expect("slug");
    let mut ids = Vec::new();
    for i in 0..30 {
        let number = TrackingNumber::parse(&format!("1ZLIST{i:06}")).expect("number");
        let at = start + chrono::Duration::seconds(i);
        let shipment = Shipment::new(tenant.id.clone(), ups.clone(), number, ShipmentDetails::default(), at);
        store.insert(&shipment).await.expect("inserted");
        ids.push(shipment.id);
    }
    let (client, table, pk) = (store.client(), store.table(), format!("T#{}", tenant.id));
    let key = |sk: String| {
        std::collections::HashMap::from([
            ("PK".to_owned(), AttributeValue::S(pk.clone())),
            ("SK".to_owned(), AttributeValue::S(sk)),
        ])
    };
    let entry_sk = |i: usize| {
        let created = (start + chrono::Duration::seconds(i as i64)).timestamp_micros();
        format!("LC#{created:020}#{}", ids[i])
    };
    let listed = |page: &porchlight::ports::ListPage| page.shipments.iter().map(|s| s.id.clone()).collect::<Vec<_>>();
    let pages = |order: ListOrder| {
        let (store, tenant) = (&store, &tenant.id);
        async move {
            let (mut seen, mut cursor) = (Vec::new(), None);
            loop {
                let page = store.list(tenant, &ListQuery { limit: 7, cursor, order, ..ListQuery::default() }).await;
                let page = page.expect("page");
                seen.extend(page.shipments.iter().map(|s| s.id.clone()));
                match page.next_cursor {
                    Some(next) => cursor = Some(next),
                    None => break (page.total, seen),
                }
            }
        }
    };
    let newest_first = |skip: &[usize]| {
        (0..30).rev().filter(|i| !skip.contains(i)).map(|i| ids[i].clone()).collect::<Vec<ShipmentId>>()
    };

    // The oldest shipment's body is made unreadable: a page that read every shipment would fail.
    client
        .update_item()
        .table_name(table)
        .set_key(Some(key(format!("S#{}", ids[0]))))
        .update_expression("SET body = :body")
        .expression_attribute_values(":body", AttributeValue::S("not a shipment".into()))
        .send()
        .await
        .expect("spoiled");
    let page = store.list(&tenant.id, &ListQuery { limit: 5, ..ListQuery::default() }).await.expect("first page");
    assert_eq!((page.total, listed(&page)), (30, newest_first(&[])[..5].to_vec()));
    let window = ListQuery {
        created_at_min: Some(start + chrono::Duration::seconds(10)),
        created_at_max: Some(start + chrono::Duration::seconds(12)),
        order: ListOrder::OldestFirst,
        ..ListQuery::default()
    };
    let page = store.list(&tenant.id, &ListQuery { limit: 50, ..window }).await.expect("window");
    assert_eq!((page.total, listed(&page)), (3, ids[10..13].to_vec()), "a creation window is a range of entries");
    let filtered = ListQuery { limit: 5, slugs: vec![ups.clone()], ..ListQuery::default() };
    assert!(store.list(&tenant.id, &filtered).await.is_err(), "any other filter reads every shipment");
    for sk in [format!("S#{}", ids[0]), entry_sk(0), "NUM#ups#1ZLIST000000".to_owned()] {
        client.delete_item().table_name(table).set_key(Some(key(sk))).send().await.expect("removed");
    }
    assert_eq!(pages(ListOrder::NewestFirst).await, (29, newest_first(&[0])));

    // A tenant from before list entries: no mark, and ten shipments without an entry.
    client
        .update_item()
        .table_name(table)
        .set_key(Some(key("TENANT".to_owned())))
        .update_expression("REMOVE list_entries")
        .send()
        .await
        .expect("unmarked");
    for i in 10..20 {
        client.delete_item().table_name(table).set_key(Some(key(entry_sk(i)))).send().await.expect("removed");
    }
    assert!(store.tenants_without_list_entries().await.expect("tenants").contains(&tenant.id));
    assert_eq!(pages(ListOrder::NewestFirst).await, (29, newest_first(&[0])), "read the slow way, complete");
    assert_eq!(store.add_list_entries(&tenant.id).await.expect("added"), 10);
    assert!(!store.tenants_without_list_entries().await.expect("tenants").contains(&tenant.id));
    assert_eq!(store.add_list_entries(&tenant.id).await.expect("again"), 0, "safe to run again");
    assert_eq!(pages(ListOrder::NewestFirst).await, (29, newest_first(&[0])));
    let oldest_first: Vec<ShipmentId> = newest_first(&[0]).into_iter().rev().collect();
    assert_eq!(pages(ListOrder::OldestFirst).await, (29, oldest_first));

    // An entry whose shipment is gone (the TTL took the shipment first) is passed over.
    client.delete_item().table_name(table).set_key(Some(key(format!("S#{}", ids[29])))).send().await.expect("gone");
    let page = store.list(&tenant.id, &ListQuery { limit: 3, ..ListQuery::default() }).await.expect("page");
    assert_eq!(listed(&page), newest_first(&[0, 29])[..3].to_vec());
}
