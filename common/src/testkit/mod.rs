//! Test support shared by every backend: the store contract suite and a settable clock.
//!
//! Each `contract_*` function is one scenario of the contract the ports document. A backend's
//! tests call every one of them on fresh stores (see `adapters::sqlite`'s tests for the pattern).
//! Scenarios use random tenants, so they may share one store.

mod analytics;
mod connectors;
mod exceptions;
pub mod isolation;
mod messages;
mod orders;
pub mod privacy;
mod returns;
pub mod routes;
mod settings;
mod team;
mod webhooks;

use std::sync::Mutex;

use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::app::{Deps, Ports, SecretBox};
use crate::domain::{
    CheckpointInput, CheckpointSource, CountryCode, EventTime, Leg, LegSource, Shipment, ShipmentDetails, ShipmentId,
    Slug, Subtag, Tag, TenantId, TrackingNumber, TrackingSource,
};
use crate::ports::{
    ApiKeyRecord, ChangeEvent, ChangeFeed, ChangeKind, Clock, ConnectionStore, HttpClient, HttpError, HttpRequest,
    HttpResponse, ListOrder, ListQuery, PageStore, QueueName, ShipmentStore, StoreError, Tenant, TenantStore,
    WorkQueue,
};
use crate::settings::Settings;

pub use analytics::{analytics_contract_counts_events_once, analytics_contract_counts_once_by_row_and_isolates};
pub use connectors::connector_contract_round_trip_order_and_isolation;
pub use exceptions::exception_contract_versions_filters_and_isolation;
pub use messages::{
    KeptMessages, dispatched, ledger_contract_plans_once_leases_and_finishes,
    suppression_contract_lists_once_pages_and_isolates,
};
pub use orders::{order_contract_upserts_pages_finds_and_isolates, sample_order};
pub use returns::{
    blob_contract_keeps_reads_and_removes, return_contract_creates_versions_lists_and_isolates, sample_return,
};
pub use settings::{
    contract_lookups_by_number_and_order, page_contract_slugs_are_unique_and_move,
    settings_contract_versions_and_isolation,
};
pub use team::{sample_member, team_contract_members, team_contract_sessions_and_audit};
pub use webhooks::{
    webhook_contract_finds_a_subjects_events_and_deliveries, webhook_contract_keeps_events_and_deliveries,
};

/// A clock that stands still until moved.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    /// A clock showing `at`.
    pub fn at(at: DateTime<Utc>) -> Self {
        ManualClock(Mutex::new(at))
    }

    /// Moves the clock by `by`.
    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// An HTTP client for tests that must not reach a network: every request fails.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoNetwork;

#[async_trait::async_trait]
impl HttpClient for NoNetwork {
    async fn send(&self, _request: HttpRequest) -> Result<HttpResponse, HttpError> {
        Err(HttpError::Connection("no network in tests".into()))
    }
}

/// The key tests seal credentials with.
pub const TEST_SECRET_KEY: [u8; 32] = [7; 32];

/// Use cases over `store` (every store port, the queue too) and `clock`, with no network, the
/// test key and default settings: what a test changes, it sets on the result.
pub fn deps<S>(store: S, clock: std::sync::Arc<dyn Clock>) -> Deps
where
    S: TenantStore
        + ShipmentStore
        + WorkQueue
        + ConnectionStore
        + crate::ports::ConnectorStore
        + PageStore
        + crate::ports::SettingsStore
        + crate::ports::WebhookStore
        + crate::ports::SuppressionList
        + crate::ports::OrderStore
        + crate::ports::ReturnStore
        + crate::ports::AnalyticsStore
        + crate::ports::ImportStore
        + crate::ports::MessageLedger
        + crate::ports::ExceptionStore
        + crate::ports::TeamStore
        + Clone
        + 'static,
{
    let queue = std::sync::Arc::new(store.clone());
    let blobs = std::env::temp_dir().join(format!("porchlight-blobs-{}", uuid::Uuid::new_v4().simple()));
    let blobs = std::sync::Arc::new(crate::adapters::blobs::FolderBlobs::new(blobs));
    let network = std::sync::Arc::new(NoNetwork);
    let ports = Ports::of_store(store, queue, clock, network.clone(), network, blobs);
    Deps::new(ports, SecretBox::new(TEST_SECRET_KEY), &Settings::default())
}

/// All three store ports, as one backend provides them.
pub trait Backend: ShipmentBackend + ChangeFeed {}
impl<T: ShipmentBackend + ChangeFeed> Backend for T {}

/// A store of tenants and shipments, whose change feed is checked elsewhere (DynamoDB's is
/// its stream).
pub trait ShipmentBackend: TenantStore + ShipmentStore {}
impl<T: TenantStore + ShipmentStore> ShipmentBackend for T {}

/// A fixed moment the contract suites start from.
pub fn base_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).single().expect("valid")
}

async fn new_tenant(store: &dyn TenantStore) -> TenantId {
    let id = TenantId::random();
    store
        .create_tenant(&Tenant { id: id.clone(), name: "Test shop".into(), created_at: base_time() })
        .await
        .expect("tenant created");
    id
}

fn shipment(tenant: &TenantId, slug: &str, number: &str, minutes: i64) -> Shipment {
    Shipment::new(
        tenant.clone(),
        Slug::parse(slug).expect("slug"),
        TrackingNumber::parse(number).expect("number"),
        ShipmentDetails::default(),
        base_time() + Duration::minutes(minutes),
    )
}

fn event(s: &Shipment, code: &str, hours: i64) -> CheckpointInput {
    CheckpointInput::new(
        s.slug.clone(),
        s.tracking_number.clone(),
        EventTime::from_utc(base_time() + Duration::hours(hours)),
        Subtag::parse(code).expect("subtag"),
        code,
        CheckpointSource::Carrier,
    )
}

async fn insert(store: &dyn ShipmentBackend, mut s: Shipment) -> Shipment {
    s.version = store.insert(&s).await.expect("inserted");
    s
}

/// A stored shipment reads back equal, at version 1.
pub async fn contract_insert_then_get_round_trips(store: &dyn ShipmentBackend) {
    let tenant = new_tenant(store).await;
    let mut s = shipment(&tenant, "ups", "1Z999AA10123456784", 0);
    s.details.title = Some("Blue mug".into());
    s.details.destination_country_region = Some(CountryCode::parse("USA").expect("code"));
    s.details.shipment_tags = vec!["vip".into()];
    s.merge([event(&s, "InTransit_002", 1)], base_time() + Duration::hours(2));
    let stored = insert(store, s).await;
    assert_eq!(stored.version, 1);
    let read = store.get(&tenant, &stored.id).await.expect("read").expect("exists");
    assert_eq!(read, stored);
}

/// No call of one tenant reads, lists, changes or deletes another tenant's shipment.
pub async fn contract_tenants_are_isolated(store: &dyn ShipmentBackend) {
    let (a, b) = (new_tenant(store).await, new_tenant(store).await);
    let mine = insert(store, shipment(&a, "fedex", "123456789012", 0)).await;
    assert_eq!(store.get(&b, &mine.id).await.expect("read"), None);
    let page = store.list(&b, &ListQuery { limit: 50, ..ListQuery::default() }).await.expect("list");
    assert_eq!((page.total, page.shipments.len()), (0, 0));
    let mut theirs = mine.clone();
    theirs.tenant_id = b.clone();
    assert!(matches!(store.update(&theirs).await, Err(StoreError::NotFound)));
    assert!(matches!(store.delete(&b, &mine.id).await, Err(StoreError::NotFound)));
    assert!(store.get(&a, &mine.id).await.expect("read").is_some());
    // The same number is another merchant's own shipment.
    insert(store, shipment(&b, "fedex", "123456789012", 1)).await;
}

/// A tenant cannot hold two shipments with the same slug and compact number.
pub async fn contract_duplicates_are_rejected(store: &dyn ShipmentBackend) {
    let tenant = new_tenant(store).await;
    let first = insert(store, shipment(&tenant, "china-post", "RR123456785CN", 0)).await;
    match store.insert(&shipment(&tenant, "china-post", "rr 123456785 cn", 1)).await {
        Err(StoreError::Duplicate(id)) => assert_eq!(id, first.id),
        other => panic!("expected a duplicate, got {other:?}"),
    }
    // Another courier with the same number is another shipment.
    insert(store, shipment(&tenant, "china-ems", "RR123456785CN", 2)).await;
    let mut same_id = shipment(&tenant, "ups", "1Z999AA10123456784", 3);
    same_id.id = first.id.clone();
    assert!(matches!(store.insert(&same_id).await, Err(StoreError::Conflict)));
}

/// Updates bump the version; a stale version conflicts; a missing shipment is not found.
pub async fn contract_updates_use_optimistic_concurrency(store: &dyn ShipmentBackend) {
    let tenant = new_tenant(store).await;
    let stored = insert(store, shipment(&tenant, "dhl", "1234567890", 0)).await;
    let mut first = stored.clone();
    first.merge([event(&first, "InTransit_002", 1)], base_time() + Duration::hours(1));
    first.version = store.update(&first).await.expect("updated");
    assert_eq!(first.version, 2);
    let mut stale = stored.clone();
    stale.details.note = Some("late writer".into());
    assert!(matches!(store.update(&stale).await, Err(StoreError::Conflict)));
    let read = store.get(&tenant, &stored.id).await.expect("read").expect("exists");
    assert_eq!(read, first);
    let ghost = shipment(&tenant, "dhl", "9999999999", 1);
    let mut ghost = ghost;
    ghost.version = 1;
    assert!(matches!(store.update(&ghost).await, Err(StoreError::NotFound)));
}

/// Delete returns the shipment, then it is gone and its number free again.
pub async fn contract_delete_removes_and_frees_the_number(store: &dyn ShipmentBackend) {
    let tenant = new_tenant(store).await;
    let stored = insert(store, shipment(&tenant, "usps", "9400111899223100000000", 0)).await;
    let deleted = store.delete(&tenant, &stored.id).await.expect("deleted");
    assert_eq!(deleted, stored);
    assert_eq!(store.get(&tenant, &stored.id).await.expect("read"), None);
    assert!(matches!(store.delete(&tenant, &stored.id).await, Err(StoreError::NotFound)));
    insert(store, shipment(&tenant, "usps", "9400111899223100000000", 1)).await;
}

/// Listing filters, counts and pages through every match exactly once, newest first.
pub async fn contract_list_filters_and_paginates(store: &dyn ShipmentBackend) {
    let tenant = new_tenant(store).await;
    let usa = CountryCode::parse("USA").expect("code");
    let gbr = CountryCode::parse("GBR").expect("code");
    let chn = CountryCode::parse("CHN").expect("code");
    let mut ids = Vec::new();
    for i in 0..7 {
        let slug = if i % 2 == 0 { "ups" } else { "yunexpress" };
        let mut s = shipment(&tenant, slug, &format!("NUM{i:04}"), i);
        s.details.origin_country_region = Some(chn);
        s.details.destination_country_region = Some(if i < 4 { usa } else { gbr });
        s.details.order_id = Some(format!("order-{i}"));
        s.details.title = Some(format!("Parcel for Order #{}", 1000 + i));
        s.details.shipment_tags = if i == 3 { vec!["fragile".into(), "vip".into()] } else { vec![] };
        if i == 5 {
            s.merge([event(&s, "Delivered_001", 1)], base_time() + Duration::hours(2));
        }
        ids.push(insert(store, s).await.id);
    }
    let _other = insert(store, shipment(&new_tenant(store).await, "ups", "NUM0000", 0)).await;
    let tenant_ref = &tenant;
    let list = move |query: ListQuery| async move {
        let page = store.list(tenant_ref, &ListQuery { limit: 50, ..query }).await.expect("list");
        (page.total, page.shipments.into_iter().map(|s| s.id).collect::<Vec<_>>())
    };
    let newest_first: Vec<ShipmentId> = ids.iter().rev().cloned().collect();
    assert_eq!(list(ListQuery::default()).await, (7, newest_first.clone()));
    let ups = list(ListQuery { slugs: vec![Slug::parse("ups").expect("slug")], ..ListQuery::default() }).await;
    assert_eq!(ups, (4, vec![ids[6].clone(), ids[4].clone(), ids[2].clone(), ids[0].clone()]));
    let delivered = list(ListQuery { tags: vec![Tag::Delivered], ..ListQuery::default() }).await;
    assert_eq!(delivered, (1, vec![ids[5].clone()]));
    let front_door = Subtag::parse("Delivered_001").expect("code");
    let by_subtag = list(ListQuery { subtags: vec![front_door], ..ListQuery::default() }).await;
    assert_eq!(by_subtag, (1, vec![ids[5].clone()]));
    let to_gbr = list(ListQuery { destinations: vec![gbr], ..ListQuery::default() }).await;
    assert_eq!(to_gbr.0, 3);
    let from_usa = list(ListQuery { origins: vec![usa], ..ListQuery::default() }).await;
    assert_eq!(from_usa.0, 0);
    let tagged = list(ListQuery { shipment_tags: vec!["vip".into(), "none".into()], ..ListQuery::default() }).await;
    assert_eq!(tagged, (1, vec![ids[3].clone()]));
    let keyword = list(ListQuery { keyword: Some("ORDER #1002".into()), ..ListQuery::default() }).await;
    assert_eq!(keyword, (1, vec![ids[2].clone()]));
    let by_order = list(ListQuery { order_id: Some("order-4".into()), ..ListQuery::default() }).await;
    assert_eq!(by_order, (1, vec![ids[4].clone()]));
    let by_number =
        list(ListQuery { tracking_numbers: vec!["num0001".into(), "NUM0002".into()], ..ListQuery::default() }).await;
    assert_eq!(by_number.0, 2);
    let only_invalid =
        list(ListQuery { tracking_numbers: vec!["!!".into(), " ".into()], ..ListQuery::default() }).await;
    assert_eq!(only_invalid, (0, vec![]), "asking for numbers that are none matches nothing");
    let window = list(ListQuery {
        created_at_min: Some(base_time() + Duration::minutes(2)),
        created_at_max: Some(base_time() + Duration::minutes(4)),
        ..ListQuery::default()
    })
    .await;
    assert_eq!(window, (3, vec![ids[4].clone(), ids[3].clone(), ids[2].clone()]));
    let combined = list(ListQuery {
        slugs: vec![Slug::parse("yunexpress").expect("slug")],
        destinations: vec![gbr],
        ..ListQuery::default()
    })
    .await;
    assert_eq!(combined, (1, vec![ids[5].clone()]));

    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.list(&tenant, &ListQuery { limit: 3, cursor, ..ListQuery::default() }).await.expect("page");
        assert_eq!(page.total, 7);
        assert!(page.shipments.len() <= 3);
        seen.extend(page.shipments.into_iter().map(|s| s.id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, newest_first);
}

/// Every order pages through all matches once, in order; sources and id sets filter.
pub async fn contract_list_sorts_and_filters_by_source_and_ids(store: &dyn ShipmentBackend) {
    let tenant = new_tenant(store).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let mut s = shipment(&tenant, "ups", &format!("SRT{i:04}"), i);
        s.source = match i {
            1 => TrackingSource::Console,
            2 | 3 => TrackingSource::Connector("conn_1".into()),
            _ => TrackingSource::Api,
        };
        if i == 1 {
            // Changed last of all: first by update.
            s.updated_at = base_time() + Duration::hours(3);
        }
        ids.push(insert(store, s).await.id);
    }
    let pages = |order: ListOrder, query: ListQuery| {
        let tenant = &tenant;
        async move {
            let (mut seen, mut cursor) = (Vec::new(), None);
            loop {
                let asked = ListQuery { limit: 2, cursor, order, ..query.clone() };
                let page = store.list(tenant, &asked).await.expect("page");
                seen.extend(page.shipments.into_iter().map(|s| s.id));
                match page.next_cursor {
                    Some(next) => cursor = Some(next),
                    None => break seen,
                }
            }
        }
    };
    let at = |order: &[usize]| order.iter().map(|i| ids[*i].clone()).collect::<Vec<_>>();
    assert_eq!(pages(ListOrder::NewestFirst, ListQuery::default()).await, at(&[4, 3, 2, 1, 0]));
    assert_eq!(pages(ListOrder::OldestFirst, ListQuery::default()).await, at(&[0, 1, 2, 3, 4]));
    assert_eq!(pages(ListOrder::RecentlyUpdated, ListQuery::default()).await, at(&[1, 4, 3, 2, 0]));
    assert_eq!(pages(ListOrder::LeastRecentlyUpdated, ListQuery::default()).await, at(&[0, 2, 3, 4, 1]));
    let connector = ListQuery { sources: vec![TrackingSource::Connector("conn_1".into())], ..ListQuery::default() };
    assert_eq!(pages(ListOrder::OldestFirst, connector).await, at(&[2, 3]));
    let by_hand_or_api =
        ListQuery { sources: vec![TrackingSource::Console, TrackingSource::Api], ..ListQuery::default() };
    assert_eq!(pages(ListOrder::NewestFirst, by_hand_or_api).await, at(&[4, 1, 0]));
    let chosen = ListQuery { ids: Some(vec![ids[0].clone(), ids[3].clone()]), ..ListQuery::default() };
    assert_eq!(pages(ListOrder::NewestFirst, chosen).await, at(&[3, 0]));
    let none = ListQuery { ids: Some(Vec::new()), ..ListQuery::default() };
    assert_eq!(store.list(&tenant, &ListQuery { limit: 10, ..none }).await.expect("list").total, 0);
    let stored = store.get(&tenant, &ids[2]).await.expect("read").expect("there");
    assert_eq!(stored.source, TrackingSource::Connector("conn_1".into()), "the source is kept");
}

/// Carrier routing finds first- and last-mile legs across tenants, by compact number.
pub async fn contract_find_legs_spans_tenants_and_legs(store: &dyn ShipmentBackend) {
    let (a, b) = (new_tenant(store).await, new_tenant(store).await);
    let number = format!("YT{}", &ShipmentId::random().as_str()[..16]).to_uppercase();
    let first_mile = insert(store, shipment(&a, "yunexpress", &number, 0)).await;
    let mut handed_over = shipment(&b, "4px", "4PX0012345", 0);
    handed_over.last_mile = Some(Leg {
        slug: Slug::parse("yunexpress").expect("slug"),
        tracking_number: TrackingNumber::parse(&number.to_lowercase()).expect("number"),
        source: LegSource::System,
    });
    let handed_over = insert(store, handed_over).await;
    let mut found = store
        .find_legs(&Slug::parse("yunexpress").expect("slug"), &TrackingNumber::parse(&number).expect("number"))
        .await
        .expect("found");
    found.sort();
    let mut expected = vec![(a, first_mile.id), (b, handed_over.id)];
    expected.sort();
    assert_eq!(found, expected);
    let none = store.find_legs(&Slug::parse("ups").expect("slug"), &TrackingNumber::parse(&number).expect("n")).await;
    assert_eq!(none.expect("ok"), vec![]);
}

/// Due-for-poll lists active shipments whose explicit time has come, earliest first, then
/// those on a cadence whose minute starts in the window; never others, never inactive ones.
pub async fn contract_due_for_poll_lists_only_due_active_shipments(store: &dyn ShipmentBackend) {
    let tenant = new_tenant(store).await;
    let mut early = shipment(&tenant, "ups", "DUE0001", 0);
    early.next_poll_at = Some(base_time() - Duration::days(3650));
    let early = insert(store, early).await;
    let mut later = shipment(&tenant, "ups", "DUE0002", 0);
    later.next_poll_at = Some(base_time() - Duration::days(3649));
    let later = insert(store, later).await;
    let mut future = shipment(&tenant, "ups", "DUE0003", 0);
    future.next_poll_at = Some(base_time() + Duration::days(3650));
    insert(store, future).await;
    let mut done = shipment(&tenant, "ups", "DUE0004", 0);
    done.merge([event(&done, "Delivered_001", 1)], base_time());
    insert(store, done).await;

    // A window of five minutes, ending just after the second one cadence shipment is polled.
    let mut ticking = shipment(&tenant, "ups", "DUE0005", 0);
    (ticking.next_poll_at, ticking.poll_cadence) = (None, Some(14_400));
    let phase = i64::from(ticking.poll_phase(14_400));
    let last = (base_time() - Duration::days(3000)).timestamp();
    let second = last - (last - phase).rem_euclid(14_400);
    let until = DateTime::from_timestamp(second + 30, 0).expect("a time");
    let after = until - Duration::minutes(5);
    assert!(ticking.due_between(after, until));
    let ticking = insert(store, ticking).await;
    let mut waiting = shipment(&tenant, "ups", "DUE0006", 0);
    (waiting.next_poll_at, waiting.poll_cadence) = (None, Some(14_400));
    while waiting.due_between(after, until) {
        waiting.id = crate::domain::ShipmentId::random(); // another phase
    }
    insert(store, waiting).await;

    let due = store.due_for_poll(after, until, &[3600, 14_400]).await.expect("due");
    assert_eq!(due, vec![(tenant.clone(), early.id), (tenant.clone(), later.id), (tenant, ticking.id)]);
}

/// Every write appears once in the change feed, in commit order, with old and new snapshots.
pub async fn contract_change_feed_records_every_write_in_order(store: &dyn Backend) {
    let start = store.changes_after(0, usize::MAX >> 1).await.expect("feed").last().map_or(0, |c| c.seq);
    let tenant = create_update_delete(store).await;
    let entries: Vec<_> = store
        .changes_after(start, 1000)
        .await
        .expect("feed")
        .into_iter()
        .filter(|e| e.change.tenant_id == tenant)
        .collect();
    assert!(entries.windows(2).all(|w| w[0].seq < w[1].seq));
    let mine: Vec<_> = entries.iter().map(|e| e.change.clone()).collect();
    assert_created_updated_deleted(&mine);
    // Reading does not consume.
    let again = store.changes_after(entries[0].seq - 1, 1).await.expect("feed");
    assert_eq!(again[0], entries[0]);
}

/// A consumer's position starts at 0, is kept as saved, never moves back, and is its own.
pub async fn contract_feed_positions_are_kept_and_only_move_forward(store: &dyn Backend) {
    let consumer = format!("test-{}", TenantId::random());
    assert_eq!(store.position(&consumer).await.expect("position"), 0);
    store.save_position(&consumer, 7).await.expect("saved");
    assert_eq!(store.position(&consumer).await.expect("position"), 7);
    store.save_position(&consumer, 3).await.expect("saved");
    assert_eq!(store.position(&consumer).await.expect("position"), 7, "never backwards");
    store.save_position(&consumer, 9).await.expect("saved");
    assert_eq!(store.position(&consumer).await.expect("position"), 9);
    assert_eq!(store.position(&format!("{consumer}-other")).await.expect("position"), 0);
}

/// Creates a tenant with one shipment, moves it to InTransit, deletes it; returns the tenant.
/// Its changes, however a store publishes them, must pass [`assert_created_updated_deleted`].
pub async fn create_update_delete(store: &dyn ShipmentBackend) -> TenantId {
    let tenant = new_tenant(store).await;
    let mut s = insert(store, shipment(&tenant, "ups", "FEED0001", 0)).await;
    s.merge([event(&s, "InTransit_002", 1)], base_time() + Duration::hours(1));
    s.version = store.update(&s).await.expect("updated");
    store.delete(&tenant, &s.id).await.expect("deleted");
    tenant
}

/// The changes of [`create_update_delete`], in order, with old and new snapshots.
pub fn assert_created_updated_deleted(changes: &[ChangeEvent]) {
    let kinds: Vec<_> = changes.iter().map(|c| c.kind).collect();
    assert_eq!(kinds, vec![ChangeKind::Created, ChangeKind::Updated, ChangeKind::Deleted]);
    assert_eq!(changes[0].old, None);
    assert_eq!(changes[0].new.as_ref().map(|n| (n.tag, n.version)), Some((Tag::Pending, 1)));
    let update = &changes[1];
    assert_eq!(update.old.as_ref().map(|o| o.tag), Some(Tag::Pending));
    assert_eq!(update.new.as_ref().map(|n| (n.tag, n.version, n.checkpoint_count)), Some((Tag::InTransit, 2, 1)));
    assert_eq!(changes[2].new, None);
    assert_eq!(changes[2].old.as_ref().map(|o| (o.tag, o.version)), Some((Tag::InTransit, 2)));
}

/// Keys map to their tenant until revoked; unknown tenants and digests are refused.
pub async fn contract_api_keys_resolve_until_revoked(store: &dyn TenantStore) {
    let tenant = new_tenant(store).await;
    let digest = *uuid::Uuid::new_v4().as_bytes();
    let digest: [u8; 32] = [digest, *uuid::Uuid::new_v4().as_bytes()].concat().try_into().expect("32 bytes");
    let record = ApiKeyRecord {
        key_id: format!("key_{}", uuid::Uuid::new_v4().simple()),
        tenant_id: tenant.clone(),
        created_at: base_time(),
        revoked_at: None,
    };
    store.add_api_key(&record, &digest).await.expect("added");
    assert_eq!(store.tenant_for_key(&digest).await.expect("lookup"), Some(tenant.clone()));
    assert_eq!(store.tenant_for_key(&[7u8; 32]).await.expect("lookup"), None);
    assert!(matches!(store.add_api_key(&record, &digest).await, Err(StoreError::Conflict)));
    let orphan = ApiKeyRecord { tenant_id: TenantId::random(), key_id: "key_orphan".into(), ..record.clone() };
    assert!(matches!(store.add_api_key(&orphan, &[9u8; 32]).await, Err(StoreError::NotFound)));
    store.revoke_api_key(&tenant, &record.key_id, base_time() + Duration::hours(1)).await.expect("revoked");
    store.revoke_api_key(&tenant, &record.key_id, base_time() + Duration::hours(2)).await.expect("again");
    assert_eq!(store.tenant_for_key(&digest).await.expect("lookup"), None);
    let keys = store.list_api_keys(&tenant).await.expect("keys");
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].revoked_at, Some(base_time() + Duration::hours(1)));
    let other = new_tenant(store).await;
    assert!(matches!(store.revoke_api_key(&other, &record.key_id, base_time()).await, Err(StoreError::NotFound)));
    assert!(store.get_tenant(&tenant).await.expect("tenant").is_some());
    assert!(store.list_tenants().await.expect("tenants").iter().any(|t| t.id == tenant));
    let duplicate = Tenant { id: tenant, name: "again".into(), created_at: base_time() };
    assert!(matches!(store.create_tenant(&duplicate).await, Err(StoreError::Conflict)));
}

/// Generates one `#[tokio::test]` per contract scenario for a backend built by `$make`.
#[macro_export]
macro_rules! store_contract_tests {
    ($make:expr) => {
        $crate::shipment_contract_tests!($make);
        $crate::store_contract_tests!(@each $make;
            contract_change_feed_records_every_write_in_order,
            contract_feed_positions_are_kept_and_only_move_forward,
        );
    };
    (@each $make:expr; $($scenario:ident,)*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $scenario() {
                let store = $make;
                $crate::testkit::$scenario(&store).await;
            }
        )*
    };
}

/// Generates one test per shipment and tenant scenario (everything but the change feed).
#[macro_export]
macro_rules! shipment_contract_tests {
    ($make:expr) => {
        $crate::store_contract_tests!(@each $make;
            contract_insert_then_get_round_trips,
            contract_tenants_are_isolated,
            contract_duplicates_are_rejected,
            contract_updates_use_optimistic_concurrency,
            contract_delete_removes_and_frees_the_number,
            contract_list_filters_and_paginates,
            contract_list_sorts_and_filters_by_source_and_ids,
            contract_find_legs_spans_tenants_and_legs,
            contract_due_for_poll_lists_only_due_active_shipments,
            contract_api_keys_resolve_until_revoked,
            contract_lookups_by_number_and_order,
        );
    };
}

/// A queue with nothing else in it: each scenario sends its own messages and reads them back.
async fn drain(queue: &dyn WorkQueue, name: QueueName) {
    while let Ok(batch) = queue.receive(name, 100, chrono::Duration::minutes(10)).await {
        if batch.is_empty() {
            break;
        }
        for message in batch {
            queue.ack(name, message.id).await.expect("ack");
        }
    }
}

/// Sent messages come back (in no promised order), leased, and are gone once acknowledged.
pub async fn queue_contract_send_receive_ack(queue: &dyn WorkQueue) {
    let name = QueueName::CarrierUpdates;
    drain(queue, name).await;
    let ids = queue.send_batch(name, &[b"one".to_vec(), b"two".to_vec(), b"three".to_vec()]).await.expect("sent");
    assert_eq!(ids.len(), 3);
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(queue.depth(name).await.expect("depth"), 3);
    let first = queue.receive(name, 2, chrono::Duration::minutes(5)).await.expect("received");
    assert_eq!(first.len(), 2);
    assert!(first.iter().all(|m| m.receive_count == 1));
    let rest = queue.receive(name, 10, chrono::Duration::minutes(5)).await.expect("received");
    assert_eq!(rest.len(), 1, "leased messages are not handed out twice");
    let mut bodies: Vec<_> = first.iter().chain(&rest).map(|m| m.body.as_slice()).collect();
    bodies.sort();
    assert_eq!(bodies, [&b"one"[..], b"three", b"two"]);
    for message in first.iter().chain(&rest) {
        queue.ack(name, message.id).await.expect("acked");
    }
    queue.ack(name, ids[0]).await.expect("acknowledging twice is fine");
    assert_eq!(queue.depth(name).await.expect("depth"), 0);
    assert!(queue.receive(name, 10, chrono::Duration::minutes(5)).await.expect("received").is_empty());
}

/// An unacknowledged message comes back when its lease ends; a released one after its delay.
pub async fn queue_contract_leases_expire_and_releases_delay(queue: &dyn WorkQueue) {
    let name = QueueName::CarrierUpdates;
    drain(queue, name).await;
    // Leases as short as the queue honours: milliseconds in SQLite, whole seconds in SQS.
    let tick = queue.shortest_lease().max(chrono::Duration::milliseconds(50));
    let wait = (tick + tick / 2).to_std().expect("positive");
    queue.send_batch(name, &[b"lease".to_vec()]).await.expect("sent");
    let taken = queue.receive(name, 1, tick).await.expect("received");
    assert_eq!(taken.len(), 1);
    tokio::time::sleep(wait).await;
    let again = queue.receive(name, 1, chrono::Duration::minutes(5)).await.expect("received");
    assert_eq!(again.first().map(|m| (m.id, m.receive_count)), Some((taken[0].id, 2)));
    queue.release(name, again[0].id, tick).await.expect("released");
    assert!(queue.receive(name, 1, chrono::Duration::minutes(5)).await.expect("received").is_empty(), "delayed");
    tokio::time::sleep(wait).await;
    let third = queue.receive(name, 1, chrono::Duration::minutes(5)).await.expect("received");
    assert_eq!(third.first().map(|m| m.receive_count), Some(3));
    queue.ack(name, third[0].id).await.expect("acked");
}

/// Dead letters keep their body and reason, leave the queue, and redrive puts them back.
pub async fn queue_contract_dead_letters_are_kept_and_redriven(queue: &dyn WorkQueue) {
    let name = QueueName::CarrierUpdates;
    drain(queue, name).await;
    let ids = queue.send_batch(name, &[b"{broken".to_vec(), b"fine".to_vec()]).await.expect("sent");
    let taken = queue.receive(name, 2, chrono::Duration::minutes(5)).await.expect("received");
    queue.dead_letter(name, taken[0].id, "unparseable: expected a JSON object").await.expect("dead");
    queue.ack(name, taken[1].id).await.expect("acked");
    assert_eq!(queue.depth(name).await.expect("depth"), 0);
    let dead = queue.dead_letters(name, 0, 10).await.expect("listed");
    let mine = dead.iter().find(|d| d.id == ids[0]).expect("kept");
    assert_eq!((mine.body.as_slice(), mine.reason.as_str()), (&b"{broken"[..], "unparseable: expected a JSON object"));
    assert!(queue.receive(name, 10, chrono::Duration::minutes(5)).await.expect("received").is_empty());
    queue.redrive(name, ids[0]).await.expect("redriven");
    assert!(matches!(queue.redrive(name, ids[0]).await, Err(StoreError::NotFound)));
    let back = queue.receive(name, 10, chrono::Duration::minutes(5)).await.expect("received");
    assert_eq!(back.iter().map(|m| (m.id, m.receive_count)).collect::<Vec<_>>(), [(ids[0], 1)]);
    queue.ack(name, ids[0]).await.expect("acked");
    assert!(queue.dead_letters(name, 0, 10).await.expect("listed").iter().all(|d| d.id != ids[0]));
}

/// Generates one `#[tokio::test]` per queue contract scenario for a queue built by `$make`.
#[macro_export]
macro_rules! queue_contract_tests {
    ($make:expr) => {
        $crate::store_contract_tests!(@each $make;
            queue_contract_send_receive_ack,
            queue_contract_leases_expire_and_releases_delay,
            queue_contract_dead_letters_are_kept_and_redriven,
        );
    };
}

fn connection(tenant: &TenantId, slug: &str, sealed: &[u8]) -> crate::ports::StoredConnection {
    crate::ports::StoredConnection {
        tenant_id: tenant.clone(),
        id: uuid::Uuid::new_v4().simple().to_string(),
        courier_slug: Slug::parse(slug).expect("slug"),
        sealed_credentials: sealed.to_vec(),
        created_at: base_time(),
        updated_at: base_time(),
    }
}

/// Connections round-trip, update, list per carrier in id order, delete, and stay per tenant.
pub async fn connection_contract_round_trip_and_isolation(store: &dyn crate::ports::ConnectionStore) {
    let (a, b) = (TenantId::random(), TenantId::random());
    let ups = connection(&a, "ups", b"sealed-1");
    let fedex = connection(&a, "fedex", b"sealed-2");
    store.insert_connection(&ups).await.expect("inserted");
    store.insert_connection(&fedex).await.expect("inserted");
    assert!(matches!(store.insert_connection(&ups).await, Err(StoreError::Conflict)));
    assert_eq!(store.get_connection(&a, &ups.id).await.expect("read"), Some(ups.clone()));
    assert_eq!(store.get_connection(&b, &ups.id).await.expect("read"), None, "another tenant sees nothing");
    let mut changed = ups.clone();
    changed.sealed_credentials = b"sealed-3".to_vec();
    changed.updated_at = base_time() + Duration::hours(1);
    store.update_connection(&changed).await.expect("updated");
    assert_eq!(store.get_connection(&a, &ups.id).await.expect("read"), Some(changed.clone()));
    let mut foreign = changed.clone();
    foreign.tenant_id = b.clone();
    assert!(matches!(store.update_connection(&foreign).await, Err(StoreError::NotFound)));
    let all = store.list_connections(&a, None, None, 10).await.expect("listed");
    let mut ids = vec![ups.id.clone(), fedex.id.clone()];
    ids.sort();
    assert_eq!(all.iter().map(|c| c.id.clone()).collect::<Vec<_>>(), ids);
    let only_ups =
        store.list_connections(&a, Some(&Slug::parse("ups").expect("slug")), None, 10).await.expect("listed");
    assert_eq!(only_ups, vec![changed.clone()]);
    let after_first = store.list_connections(&a, None, Some(&ids[0]), 10).await.expect("listed");
    assert_eq!(after_first.len(), 1);
    assert!(store.list_connections(&b, None, None, 10).await.expect("listed").is_empty());
    assert!(matches!(store.delete_connection(&b, &ups.id).await, Err(StoreError::NotFound)));
    assert_eq!(store.delete_connection(&a, &ups.id).await.expect("deleted"), changed);
    assert_eq!(store.get_connection(&a, &ups.id).await.expect("read"), None);
}

/// Generates the connection contract test for a store built by `$make`.
#[macro_export]
macro_rules! connection_contract_tests {
    ($make:expr) => {
        $crate::store_contract_tests!(@each $make; connection_contract_round_trip_and_isolation,);
    };
}
