use std::sync::Arc;

use async_trait::async_trait;
use chrono::{TimeZone, Utc};

use super::*;
use crate::adapters::sqlite::SqliteStore;
use crate::app::{self, NewTracking};
use crate::domain::{
    CheckpointInput, CheckpointSource, EventTime, Shipment, ShipmentDetails, ShipmentId, Subtag, Tag, TenantId,
    TrackingNumber,
};
use crate::ports::{DeadLetter, Received, StatusSnapshot, StoreError, WorkQueue};
use crate::testkit::ManualClock;

fn snapshot(code: &str, checkpoints: usize) -> StatusSnapshot {
    let subtag = Subtag::parse(code).expect("subtag");
    StatusSnapshot::bare(1, subtag.tag(), subtag, true, checkpoints)
}

fn change(kind: ChangeKind, old: Option<StatusSnapshot>, new: Option<StatusSnapshot>) -> ChangeEvent {
    ChangeEvent { tenant_id: TenantId::random(), shipment_id: ShipmentId::random(), kind, at: Utc::now(), old, new }
}

#[test]
fn creations_deletions_and_status_moves_are_news_detail_and_expiry_are_not() {
    let pending = || Some(snapshot("Pending_001", 0));
    let in_transit = |n| Some(snapshot("InTransit_001", n));
    let cases = [
        (change(ChangeKind::Created, None, pending()), true),
        (change(ChangeKind::Updated, pending(), in_transit(1)), true),
        (change(ChangeKind::Updated, in_transit(1), Some(snapshot("InTransit_003", 2))), true),
        (change(ChangeKind::Updated, in_transit(1), in_transit(2)), false),
        (change(ChangeKind::Deleted, in_transit(1), None), true),
        (change(ChangeKind::Expired, Some(snapshot("Delivered_001", 3)), None), false),
    ];
    for (change, expected) in cases {
        assert_eq!(is_status_change(&change), expected, "{change:?}");
    }
}

fn temp_db() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("porchlight-fanout-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join("store.db")
}

fn deps_on(store: SqliteStore) -> Deps {
    let clock = Arc::new(ManualClock::at(Utc.with_ymd_and_hms(2026, 5, 1, 8, 0, 0).single().expect("date")));
    crate::testkit::deps(store, clock)
}

async fn track(deps: &Deps, tenant: &TenantId, number: &str) -> Shipment {
    let new = NewTracking {
        slug: None,
        tracking_number: TrackingNumber::parse(number).expect("number"),
        details: ShipmentDetails::default(),
        last_mile: None,
    };
    app::create_tracking(deps, tenant, new).await.expect("created")
}

async fn scan(deps: &Deps, shipment: &Shipment, code: &str, message: &str) {
    let now = deps.clock.now();
    let event = CheckpointInput::new(
        shipment.slug.clone(),
        shipment.tracking_number.clone(),
        EventTime::from_utc(now),
        Subtag::parse(code).expect("subtag"),
        message,
        CheckpointSource::Carrier,
    );
    app::update_tracking(deps, &shipment.tenant_id, &shipment.id, |s| {
        s.merge([event.clone()], now);
        Ok(())
    })
    .await
    .expect("scanned");
}

async fn published(deps: &Deps) -> Vec<(ChangeKind, Option<Tag>)> {
    let messages = deps.queue.receive(QueueName::StatusChanges, 100, chrono::Duration::minutes(5)).await.expect("read");
    messages
        .iter()
        .map(|m| serde_json::from_slice::<ChangeEvent>(&m.body).expect("a change event"))
        .map(|c| (c.kind, c.new.map(|n| n.tag)))
        .collect()
}

#[tokio::test]
async fn the_feed_worker_publishes_each_status_change_once_and_resumes_after_a_restart() {
    let path = temp_db();
    let store = SqliteStore::open(&path).expect("store");
    let deps = deps_on(store.clone());
    let (tenant, _) = app::create_tenant(&deps, "Acme").await.expect("tenant");
    let shipment = track(&deps, &tenant.id, "1Z999AA10123456784").await;
    scan(&deps, &shipment, "InTransit_001", "Departed").await;
    scan(&deps, &shipment, "InTransit_001", "Arrived at hub").await; // detail only
    app::delete_tracking(&deps, &tenant.id, &shipment.id).await.expect("deleted");

    let report = fan_out_feed(&deps, &store, 100).await.expect("round");
    assert_eq!(report, FanoutReport { read: 4, published: 3 });
    assert_eq!(fan_out_feed(&deps, &store, 100).await.expect("round"), FanoutReport::default(), "nothing repeated");
    drop((deps, store));

    // A restart: the position was kept in the database.
    let store = SqliteStore::open(&path).expect("reopened");
    let deps = deps_on(store.clone());
    track(&deps, &tenant.id, "1Z999AA10123456793").await;
    assert_eq!(fan_out_feed(&deps, &store, 100).await.expect("round"), FanoutReport { read: 1, published: 1 });
    assert_eq!(
        published(&deps).await,
        [
            (ChangeKind::Created, Some(Tag::Pending)),
            (ChangeKind::Updated, Some(Tag::InTransit)),
            (ChangeKind::Deleted, None),
            (ChangeKind::Created, Some(Tag::Pending)),
        ]
    );
}

/// A queue that refuses every send, over a store's queue for everything else.
struct RefusingQueue(SqliteStore);

#[async_trait]
impl WorkQueue for RefusingQueue {
    async fn send_batch(&self, _queue: QueueName, _bodies: &[Vec<u8>]) -> Result<Vec<u64>, StoreError> {
        Err(StoreError::Unavailable("queue down".into()))
    }
    async fn receive(&self, q: QueueName, max: usize, lease: chrono::Duration) -> Result<Vec<Received>, StoreError> {
        self.0.receive(q, max, lease).await
    }
    async fn ack(&self, queue: QueueName, id: u64) -> Result<(), StoreError> {
        self.0.ack(queue, id).await
    }
    async fn release(&self, queue: QueueName, id: u64, delay: chrono::Duration) -> Result<(), StoreError> {
        self.0.release(queue, id, delay).await
    }
    async fn dead_letter(&self, queue: QueueName, id: u64, reason: &str) -> Result<(), StoreError> {
        self.0.dead_letter(queue, id, reason).await
    }
    async fn dead_letters(&self, queue: QueueName, after: u64, limit: usize) -> Result<Vec<DeadLetter>, StoreError> {
        self.0.dead_letters(queue, after, limit).await
    }
    async fn redrive(&self, queue: QueueName, id: u64) -> Result<(), StoreError> {
        self.0.redrive(queue, id).await
    }
    async fn depth(&self, queue: QueueName) -> Result<u64, StoreError> {
        self.0.depth(queue).await
    }
}

#[tokio::test]
async fn a_round_that_cannot_publish_keeps_its_position_so_nothing_is_skipped() {
    let store = SqliteStore::in_memory().expect("store");
    let mut deps = deps_on(store.clone());
    let (tenant, _) = app::create_tenant(&deps, "Acme").await.expect("tenant");
    track(&deps, &tenant.id, "1Z999AA10123456784").await;
    let working = Arc::clone(&deps.queue);
    deps.queue = Arc::new(RefusingQueue(store.clone()));
    assert!(fan_out_feed(&deps, &store, 100).await.is_err());
    assert_eq!(store.position(FEED_CONSUMER).await.expect("position"), 0);
    deps.queue = working;
    assert_eq!(fan_out_feed(&deps, &store, 100).await.expect("round"), FanoutReport { read: 1, published: 1 });
    assert_eq!(published(&deps).await, [(ChangeKind::Created, Some(Tag::Pending))]);
}
