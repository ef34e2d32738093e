//! At most once, at scale, with crashes: 5,000 shipments' status changes, each delivered one to
//! three times in random order (as SQS may), consumed by planners that crash mid-plan and
//! dispatchers that crash between writing a message and recording it. Every message the rules
//! call for must reach the outbox exactly once; nothing else may.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::adapters::outbox::OutboxMessenger;
use crate::adapters::sqlite::SqliteStore;
use crate::app::{NewTracking, create_tenant, create_tracking};
use crate::domain::{Customer, ShipmentDetails, ShipmentId, Slug, Tag, TenantId, TrackingNumber};
use crate::ports::{ChangeKind, Clock, StatusSnapshot, StoreError};
use crate::testkit::ManualClock;

const SHIPMENTS: usize = 5_000;
/// One in this many plans, and sends, crashes.
const CRASH_ONE_IN: u64 = 25;

/// A small deterministic generator (xorshift64*): the run is the same every time.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The statuses a shipment goes through, after `Pending`.
const JOURNEYS: [&[Tag]; 4] = [
    &[Tag::InTransit, Tag::OutForDelivery, Tag::Delivered],
    &[Tag::InTransit, Tag::AttemptFail, Tag::OutForDelivery, Tag::Delivered],
    &[Tag::InTransit, Tag::Exception],
    // Out for delivery twice: one message.
    &[Tag::InfoReceived, Tag::InTransit, Tag::OutForDelivery, Tag::InTransit, Tag::OutForDelivery, Tag::Delivered],
];

/// A ledger that fails one plan in [`CRASH_ONE_IN`], as a planner crashing mid-change would
/// leave it: the entries before it planned, the rest not, the change not acknowledged.
struct CrashingLedger {
    inner: SqliteStore,
    calls: AtomicU64,
}

#[async_trait]
impl MessageLedger for CrashingLedger {
    async fn plan(&self, entry: &LedgerEntry) -> Result<bool, StoreError> {
        if self.calls.fetch_add(1, Ordering::Relaxed) % CRASH_ONE_IN == 7 {
            return Err(StoreError::Unavailable("the planner crashed".into()));
        }
        self.inner.plan(entry).await
    }
    async fn lease_due(&self, now: DateTime<Utc>, lease: Duration, max: usize) -> Result<Vec<LedgerEntry>, StoreError> {
        self.inner.lease_due(now, lease, max).await
    }
    async fn finish(
        &self,
        tenant: &TenantId,
        shipment: &ShipmentId,
        id: &str,
        state: MessageState,
        detail: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.inner.finish(tenant, shipment, id, state, detail, at).await
    }
    async fn reschedule(
        &self,
        tenant: &TenantId,
        shipment: &ShipmentId,
        id: &str,
        due_at: DateTime<Utc>,
        detail: Option<&str>,
    ) -> Result<(), StoreError> {
        self.inner.reschedule(tenant, shipment, id, due_at, detail).await
    }
    async fn shipment_messages(
        &self,
        tenant: &TenantId,
        shipment: &ShipmentId,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        self.inner.shipment_messages(tenant, shipment).await
    }
    async fn erase_recipient(&self, tenant: &TenantId, shipment: &ShipmentId, id: &str) -> Result<(), StoreError> {
        self.inner.erase_recipient(tenant, shipment, id).await
    }
}

/// The outbox, with a dispatcher that crashes right after one send in [`CRASH_ONE_IN`], before
/// the ledger records it (it says so on `crashed` and never returns: the round is dropped with
/// every send in flight, as a process dies). Counts the sends that found their message in the
/// outbox already (resends after a crash, which the outbox absorbs).
struct CrashingOutbox {
    outbox: OutboxMessenger,
    dir: PathBuf,
    sends: AtomicU64,
    absorbed: AtomicU64,
    crashed: tokio::sync::Notify,
}

#[async_trait]
impl Messenger for CrashingOutbox {
    async fn send(&self, message: &Outgoing) -> Result<Option<String>, SendError> {
        let existed = self.dir.join(format!("{}.eml", message.id)).exists();
        let sent = self.outbox.send(message).await;
        if sent.is_ok() && existed {
            self.absorbed.fetch_add(1, Ordering::Relaxed);
        }
        if self.sends.fetch_add(1, Ordering::Relaxed) % CRASH_ONE_IN == 11 {
            self.crashed.notify_one();
            std::future::pending::<()>().await;
        }
        sent
    }
}

fn snapshot(tag: Tag, version: u64) -> StatusSnapshot {
    StatusSnapshot::bare(version, tag, tag.default_subtag(), true, version as usize)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_shipments_with_duplicated_shuffled_changes_and_crashes_get_every_message_once() {
    let store = SqliteStore::in_memory().expect("store");
    let clock = Arc::new(ManualClock::at(Utc::now()));
    let mut deps = crate::testkit::deps(store.clone(), clock.clone());
    deps.public_url = Some(Arc::from("https://track.example.com"));
    let tenant = create_tenant(&deps, "Simulated shop").await.expect("tenant").0.id;
    let mut random = Random(0x5eed_1234_abcd_0001);

    // Shipments, their changes, and the messages the default rules call for.
    let mut deliveries: Vec<ChangeEvent> = Vec::new();
    let mut expected = BTreeSet::new();
    let mut shipments = Vec::with_capacity(SHIPMENTS);
    let emailed: Vec<Trigger> = crate::domain::NotificationRules::defaults()
        .rules
        .iter()
        .filter(|r| r.enabled && r.channels.contains(&Channel::Email))
        .map(|r| r.trigger)
        .collect();
    for n in 0..SHIPMENTS {
        let details = ShipmentDetails {
            customers: vec![Customer { email: Some(format!("shopper{n}@example.com")), ..Customer::default() }],
            ..ShipmentDetails::default()
        };
        let new = NewTracking {
            slug: Some(Slug::parse("ups").expect("slug")),
            tracking_number: TrackingNumber::parse(&format!("1Z999AA1{n:010}")).expect("number"),
            details,
            last_mile: None,
        };
        let id = create_tracking(&deps, &tenant, new).await.expect("created").id;
        shipments.push(id.clone());
        let journey = JOURNEYS[n % JOURNEYS.len()];
        let mut previous = Tag::Pending;
        for (step, tag) in journey.iter().enumerate() {
            let version = step as u64 + 2;
            let change = ChangeEvent {
                tenant_id: tenant.clone(),
                shipment_id: id.clone(),
                kind: ChangeKind::Updated,
                at: clock.now(),
                old: Some(snapshot(previous, version - 1)),
                new: Some(snapshot(*tag, version)),
            };
            if let Some(trigger) = trigger_of(&change).filter(|t| emailed.contains(t)) {
                let recipient = format!("shopper{n}@example.com");
                expected.insert(LedgerEntry::message_id(&tenant, &id, trigger, Channel::Email, &recipient));
            }
            for _ in 0..=random.below(3) {
                deliveries.push(change.clone());
            }
            previous = *tag;
        }
    }
    // Shuffled (Fisher-Yates): reordered across and within shipments.
    for i in (1..deliveries.len()).rev() {
        deliveries.swap(i, random.below(i as u64 + 1) as usize);
    }
    let delivered_changes = deliveries.len();

    let ledger = Arc::new(CrashingLedger { inner: store.clone(), calls: AtomicU64::new(0) });
    let dir = std::env::temp_dir().join(format!("porchlight-simulation-{}", uuid::Uuid::new_v4().simple()));
    let messenger = Arc::new(CrashingOutbox {
        outbox: OutboxMessenger::new(&dir, "notifications@example.com").expect("outbox"),
        dir: dir.clone(),
        sends: AtomicU64::new(0),
        absorbed: AtomicU64::new(0),
        crashed: tokio::sync::Notify::new(),
    });

    // Consume as SQS delivers: a change whose planning crashed comes back later.
    let (mut planner_crashes, mut dispatcher_crashes, mut rounds) = (0, 0, 0);
    let started = std::time::Instant::now();
    let mut queue: std::collections::VecDeque<ChangeEvent> = deliveries.into();
    while let Some(change) = queue.pop_front() {
        if plan_notifications(&deps, ledger.as_ref(), &change).await.is_err() {
            planner_crashes += 1;
            queue.push_back(change);
        }
    }
    // Dispatch until nothing is planned. A crash drops the round with the leases it holds,
    // which run out after five minutes.
    loop {
        tokio::select! {
            report = dispatch_due(&deps, ledger.as_ref(), messenger.as_ref(), 500) => {
                if report.expect("dispatched") == DispatchReport::default() {
                    break;
                }
            }
            () = messenger.crashed.notified() => {
                dispatcher_crashes += 1;
                clock.advance(Duration::minutes(6));
            }
        }
        rounds += 1;
        assert!(rounds < 10_000, "dispatch does not converge");
    }

    let written: BTreeSet<String> = std::fs::read_dir(&dir)
        .expect("outbox")
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".eml")).map(str::to_owned))
        .collect();
    let missing: Vec<&String> = expected.difference(&written).collect();
    let unexpected: Vec<&String> = written.difference(&expected).collect();
    let mut not_sent = 0;
    for id in shipments {
        let messages = store.shipment_messages(&tenant, &id).await.expect("ledger");
        not_sent += messages.iter().filter(|m| m.state != MessageState::Sent).count();
    }
    std::fs::remove_dir_all(&dir).ok();
    eprintln!(
        "simulation: {SHIPMENTS} shipments, {delivered_changes} change deliveries, {} messages expected, {} written, \
         {planner_crashes} planner crashes, {dispatcher_crashes} dispatcher crashes, {} resends absorbed by the outbox, \
         consumed in {:?}",
        expected.len(),
        written.len(),
        messenger.absorbed.load(Ordering::Relaxed),
        started.elapsed(),
    );
    assert!(missing.is_empty(), "{} messages never sent", missing.len());
    assert_eq!(not_sent, 0, "every message is recorded as sent");
    assert!(unexpected.is_empty(), "{} messages no rule called for", unexpected.len());
    assert_eq!(written.len(), expected.len(), "one file per message");
    assert!(planner_crashes > 0 && dispatcher_crashes > 0, "crashes were injected");
}
