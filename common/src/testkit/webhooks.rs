//! The contract of webhook events and deliveries.

use chrono::Duration;

use super::base_time;
use crate::domain::{ShipmentId, TenantId, WebhookEvent};
use crate::ports::{AfterAttempt, Attempt, Delivery, DeliveryState, StoreError, WebhookEventRecord, WebhookStore};

fn event(tenant: &TenantId, minutes: i64, n: u8) -> WebhookEventRecord {
    WebhookEventRecord {
        tenant_id: tenant.clone(),
        event_id: uuid::Uuid::new_v4().to_string(),
        event: WebhookEvent::TrackingUpdate,
        at: base_time() + Duration::minutes(minutes),
        subject: ShipmentId::random().to_string(),
        body: format!(r#"{{"n":{n},"msg":{{"title":"caf\u00e9"}}}}"#).into_bytes(),
    }
}

fn failed(at_minutes: i64, status: Option<u16>) -> Attempt {
    Attempt {
        at: base_time() + Duration::minutes(at_minutes),
        status,
        latency_ms: 12,
        error: status.is_none().then(|| "connection refused".to_owned()),
    }
}

/// Events are kept once and read back by id and time range; deliveries are planned once,
/// leased once per lease, earliest due first, carry their attempts, end as delivered or dead,
/// come back when replayed; everything stays within its tenant.
pub async fn webhook_contract_keeps_events_and_deliveries(store: &dyn WebhookStore) {
    let (tenant, other) = (TenantId::random(), TenantId::random());
    let events = [event(&tenant, 1, 1), event(&tenant, 2, 2), event(&tenant, 3, 3)];
    for e in &events {
        assert!(store.record_event(e).await.expect("kept"));
    }
    assert!(!store.record_event(&events[0]).await.expect("answered"), "an event is kept once");
    assert_eq!(store.event(&tenant, &events[1].event_id).await.expect("read").as_ref(), Some(&events[1]));
    assert_eq!(store.event(&other, &events[1].event_id).await.expect("read"), None, "per tenant");
    let range = store
        .events_between(&tenant, base_time() + Duration::minutes(2), base_time() + Duration::minutes(3), 10)
        .await
        .expect("range");
    assert_eq!(range, [events[1].clone()], "from inclusive, to exclusive");
    let all = store.events_between(&tenant, base_time(), base_time() + Duration::hours(1), 2).await.expect("range");
    assert_eq!(all.iter().map(|e| e.event_id.as_str()).collect::<Vec<_>>(), [&events[0].event_id, &events[1].event_id]);
    assert!(
        store.events_between(&other, base_time(), base_time() + Duration::hours(1), 10).await.expect("r").is_empty()
    );

    let now = base_time() + Duration::minutes(10);
    let first = Delivery::new(&events[0], "ep_a", "", base_time() + Duration::minutes(1));
    let second = Delivery::new(&events[1], "ep_a", "", base_time() + Duration::minutes(2));
    let elsewhere = Delivery::new(&events[1], "ep_b", "", base_time() + Duration::minutes(2));
    let later = Delivery::new(&events[2], "ep_a", "", base_time() + Duration::hours(3));
    assert_ne!(second.id, elsewhere.id, "another endpoint is another delivery");
    assert_ne!(Delivery::new(&events[0], "ep_a", "replay-1", now).id, first.id, "a replay is another delivery");
    for d in [&first, &second, &elsewhere, &later] {
        assert!(store.plan_delivery(d).await.expect("planned"));
    }
    assert!(!store.plan_delivery(&first).await.expect("answered"), "planned once");

    let lease = Duration::minutes(1);
    let leased = store.lease_due_deliveries(now, lease, 10).await.expect("leased");
    let mine: Vec<&Delivery> = leased.iter().filter(|d| d.tenant_id == tenant).collect();
    assert_eq!(mine.len(), 3, "the later one is not due");
    assert_eq!(mine[0].id, first.id, "earliest due first");
    let again = store.lease_due_deliveries(now, lease, 10).await.expect("leased");
    assert!(again.iter().all(|d| d.tenant_id != tenant), "nothing leased twice while its lease runs");

    store.record_attempt(&tenant, &first.id, &failed(10, Some(200)), AfterAttempt::Delivered).await.expect("ok");
    let retry_at = now + Duration::seconds(30);
    store
        .record_attempt(&tenant, &second.id, &failed(10, Some(503)), AfterAttempt::RetryAt(retry_at))
        .await
        .expect("ok");
    store.record_attempt(&tenant, &elsewhere.id, &failed(10, None), AfterAttempt::Dead).await.expect("ok");
    assert!(
        matches!(
            store.record_attempt(&tenant, &first.id, &failed(11, Some(200)), AfterAttempt::Delivered).await,
            Err(StoreError::NotFound)
        ),
        "a delivered delivery takes no more attempts"
    );
    assert!(matches!(
        store.record_attempt(&other, &second.id, &failed(11, Some(200)), AfterAttempt::Delivered).await,
        Err(StoreError::NotFound)
    ));
    let read = store.delivery(&tenant, &second.id).await.expect("read").expect("there");
    assert_eq!((read.state, read.due_at, read.attempts.len()), (DeliveryState::Pending, retry_at, 1));
    assert_eq!(read.attempts[0].status, Some(503));
    assert!(store.delivery(&other, &second.id).await.expect("read").is_none(), "per tenant");
    let retried = store.lease_due_deliveries(retry_at, lease, 10).await.expect("leased");
    assert!(retried.iter().any(|d| d.id == second.id), "a retry is leased when due, its lease released");
    let rested = retry_at + Duration::minutes(30);
    store.postpone_delivery(&tenant, &second.id, rested).await.expect("postponed");
    let read = store.delivery(&tenant, &second.id).await.expect("read").expect("there");
    assert_eq!((read.due_at, read.attempts.len()), (rested, 1), "postponing counts no attempt");
    assert!(store.lease_due_deliveries(rested, lease, 10).await.expect("leased").iter().any(|d| d.id == second.id));
    assert!(matches!(store.postpone_delivery(&tenant, &first.id, rested).await, Err(StoreError::NotFound)));
    assert!(matches!(store.postpone_delivery(&other, &second.id, rested).await, Err(StoreError::NotFound)));

    let log = store.endpoint_deliveries(&tenant, "ep_a", None, None, 10).await.expect("log");
    assert_eq!(
        log.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
        [&later.id, &second.id, &first.id],
        "newest first"
    );
    let older = store.endpoint_deliveries(&tenant, "ep_a", None, Some(second.created_at), 10).await.expect("log");
    assert_eq!(older.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(), [&first.id]);
    let dead = store.endpoint_deliveries(&tenant, "ep_b", Some(DeliveryState::Dead), None, 10).await.expect("dead");
    assert_eq!(dead.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(), [&elsewhere.id]);
    assert_eq!(dead[0].attempts[0].error.as_deref(), Some("connection refused"));
    assert!(store.endpoint_deliveries(&other, "ep_b", None, None, 10).await.expect("log").is_empty());

    assert!(matches!(store.replay_dead(&tenant, &first.id, now).await, Err(StoreError::NotFound)), "not dead");
    assert!(matches!(store.replay_dead(&other, &elsewhere.id, now).await, Err(StoreError::NotFound)));
    let replay_at = now + Duration::minutes(5);
    store.replay_dead(&tenant, &elsewhere.id, replay_at).await.expect("replayed");
    let replayed = store.delivery(&tenant, &elsewhere.id).await.expect("read").expect("there");
    assert_eq!((replayed.state, replayed.due_at, replayed.replayed_after), (DeliveryState::Pending, replay_at, 1));
    assert_eq!(replayed.attempts_this_round(), 0);
    let taken = store.lease_due_deliveries(replay_at, lease, 10).await.expect("leased");
    assert!(taken.iter().any(|d| d.id == elsewhere.id));
}

/// A subject's events come back newest first, and deliveries by id, within the tenant only.
pub async fn webhook_contract_finds_a_subjects_events_and_deliveries(store: &dyn WebhookStore) {
    let (tenant, other) = (TenantId::random(), TenantId::random());
    let subject = ShipmentId::random().to_string();
    let about = |minutes, n| WebhookEventRecord { subject: subject.clone(), ..event(&tenant, minutes, n) };
    let (older, newer, unrelated) = (about(1, 1), about(5, 2), event(&tenant, 3, 3));
    let theirs = WebhookEventRecord { subject: subject.clone(), ..event(&other, 2, 4) };
    for e in [&older, &newer, &unrelated, &theirs] {
        assert!(store.record_event(e).await.expect("kept"));
    }
    let found = store.subject_events(&tenant, &subject, 10).await.expect("found");
    assert_eq!(found, [newer.clone(), older.clone()], "newest first, the tenant's only");
    let latest = store.subject_events(&tenant, &subject, 1).await.expect("found");
    assert_eq!(latest.iter().map(|e| &e.event_id).collect::<Vec<_>>(), [&newer.event_id]);
    assert!(store.subject_events(&tenant, "nothing", 10).await.expect("found").is_empty());

    let planned = [
        Delivery::new(&older, "ep_a", "", older.at),
        Delivery::new(&newer, "ep_a", "", newer.at),
        Delivery::new(&theirs, "ep_a", "", theirs.at),
    ];
    for d in &planned {
        assert!(store.plan_delivery(d).await.expect("planned"));
    }
    let ids: Vec<String> = planned.iter().map(|d| d.id.clone()).chain(["missing".to_owned()]).collect();
    let mut got: Vec<String> = store.deliveries(&tenant, &ids).await.expect("read").into_iter().map(|d| d.id).collect();
    got.sort();
    let mut mine = vec![planned[0].id.clone(), planned[1].id.clone()];
    mine.sort();
    assert_eq!(got, mine, "another tenant's delivery and a missing id are left out");
    assert!(store.deliveries(&tenant, &[]).await.expect("read").is_empty());
}

/// Generates the webhook store contract test for a store built by `$make`.
#[macro_export]
macro_rules! webhook_contract_tests {
    ($make:expr) => {
        $crate::store_contract_tests!(@each $make;
            webhook_contract_keeps_events_and_deliveries,
            webhook_contract_finds_a_subjects_events_and_deliveries,
        );
    };
}
