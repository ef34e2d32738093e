use crate::ports::HttpClient;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use async_trait::async_trait;
use chrono::TimeZone;

use super::consumer::*;
use super::intake::*;
use super::poller::*;
use super::*;
use crate::adapters::sqlite::SqliteStore;
use crate::app::{self, NewTracking};
use crate::carriers::sandbox::{SandboxEvent, SandboxPush};
use crate::carriers::{CarrierAdapter, CarrierError, PollTarget};
use crate::carriers::{
    CarrierRegistry, CredentialField, Credentials, RateLimit, WebhookAuth, WebhookSecrets, sign_base64,
};
use crate::domain::{Shipment, Slug, TenantId};
use crate::domain::{ShipmentDetails, Tag, TrackingNumber};
use crate::ports::Clock;
use crate::ports::QueueName;
use crate::testkit::ManualClock;
use chrono::{DateTime, Duration, Utc};
use std::sync::atomic::Ordering;

const SECRET: &str = "sandbox-secret";

struct Harness {
    deps: Deps,
    clock: Arc<ManualClock>,
    tenant: TenantId,
}

async fn harness() -> Harness {
    let clock = Arc::new(ManualClock::at(Utc.with_ymd_and_hms(2026, 5, 1, 8, 0, 0).single().expect("date")));
    let mut deps = crate::testkit::deps(SqliteStore::in_memory().expect("store"), clock.clone());
    deps.webhook_secrets = Arc::new(WebhookSecrets([("testing-courier".to_owned(), SECRET.to_owned())].into()));
    let (tenant, _) = app::create_tenant(&deps, "Acme").await.expect("tenant");
    Harness { deps, clock, tenant: tenant.id }
}

impl Harness {
    async fn track(&self, number: &str) -> Shipment {
        let new = NewTracking {
            slug: None,
            tracking_number: TrackingNumber::parse(number).expect("number"),
            details: ShipmentDetails::default(),
            last_mile: None,
        };
        app::create_tracking(&self.deps, &self.tenant, new).await.expect("created")
    }

    async fn read(&self, shipment: &Shipment) -> Shipment {
        self.deps.shipments.get(&self.tenant, &shipment.id).await.expect("read").expect("exists")
    }

    async fn push(&self, body: &[u8], signature: Option<String>) -> Result<u64, IntakeError> {
        let header = move |name: &str| (name == "x-testing-courier-signature").then(|| signature.clone()).flatten();
        accept_webhook(&self.deps, "testing-courier", header, body).await
    }
}

fn push_body(number: &str, code: &str, at: &str) -> Vec<u8> {
    let push = SandboxPush {
        tracking_number: number.into(),
        events: vec![SandboxEvent {
            occurred_at: at.into(),
            code: code.into(),
            description: format!("event {code}"),
            city: Some("Shenzhen".into()),
            country: Some("CHN".into()),
        }],
        last_mile: None,
    };
    serde_json::to_vec(&push).expect("serializes")
}

#[tokio::test]
async fn a_signed_webhook_is_stored_then_merged_behind_the_queue() {
    let h = harness().await;
    let shipment = h.track("TC-DELIVERED-5-W1").await;
    let body = push_body("TC-DELIVERED-5-W1", "PUP", "2026-05-01T09:00:00Z");
    h.push(&body, Some(sign_base64(SECRET, &body))).await.expect("accepted");
    assert!(h.read(&shipment).await.checkpoints.is_empty(), "nothing is parsed on the intake path");
    let report = process_carrier_updates(&h.deps, 10).await.expect("processed");
    assert_eq!(report, ProcessReport { handled: 1, ..ProcessReport::default() });
    let merged = h.read(&shipment).await;
    assert_eq!((merged.tag, merged.checkpoints.len()), (Tag::InTransit, 1));
    assert_eq!(merged.checkpoints[0].raw_tag.as_deref(), Some("PUP"));
    // The same push again changes nothing.
    h.push(&body, Some(sign_base64(SECRET, &body))).await.expect("accepted");
    process_carrier_updates(&h.deps, 10).await.expect("processed");
    assert_eq!(h.read(&shipment).await.checkpoints.len(), 1);
}

#[tokio::test]
async fn unauthenticated_webhooks_are_refused_and_counted() {
    let h = harness().await;
    let body = push_body("TC-DELIVERED-5-W2", "PUP", "2026-05-01T09:00:00Z");
    let cases =
        [None, Some("bm90IGEgc2lnbmF0dXJl".to_owned()), Some(sign_base64("wrong", &body)), Some("%%%".to_owned())];
    for signature in cases {
        assert!(matches!(h.push(&body, signature).await, Err(IntakeError::Unauthorized)));
    }
    assert_eq!(h.deps.stats.webhooks_unauthenticated.load(Ordering::Relaxed), 4);
    assert_eq!(h.deps.queue.depth(QueueName::CarrierUpdates).await.expect("depth"), 0, "nothing stored");
    let unknown = accept_webhook(&h.deps, "nope", |_: &str| None, &body).await;
    assert!(matches!(unknown, Err(IntakeError::UnknownCarrier(_))));
    // A carrier with no configured secret cannot be authenticated at all.
    let mut unconfigured = h.deps.clone();
    unconfigured.webhook_secrets = Arc::new(WebhookSecrets::default());
    let signature = sign_base64(SECRET, &body);
    let header = move |_: &str| Some(signature.clone());
    assert!(matches!(
        accept_webhook(&unconfigured, "testing-courier", header, &body).await,
        Err(IntakeError::Unauthorized)
    ));
}

#[tokio::test]
async fn unparseable_payloads_are_quarantined_without_blocking_the_queue_and_can_be_replayed() {
    let h = harness().await;
    let shipment = h.track("TC-DELIVERED-5-Q1").await;
    let garbage = br#"{"tracking_number": 42}"#.to_vec();
    h.push(&garbage, Some(sign_base64(SECRET, &garbage))).await.expect("accepted: parsing is later");
    let good = push_body("TC-DELIVERED-5-Q1", "PUP", "2026-05-01T09:00:00Z");
    h.push(&good, Some(sign_base64(SECRET, &good))).await.expect("accepted");
    let report = process_carrier_updates(&h.deps, 10).await.expect("processed");
    assert_eq!((report.handled, report.quarantined), (1, 1));
    assert_eq!(h.read(&shipment).await.checkpoints.len(), 1, "the good one behind it went through");
    let dead = h.deps.queue.dead_letters(QueueName::CarrierUpdates, 0, 10).await.expect("listed");
    assert_eq!(dead.len(), 1);
    assert!(dead[0].reason.contains("malformed carrier response"), "{}", dead[0].reason);
    let kept: CarrierMessage = serde_json::from_slice(&dead[0].body).expect("kept as received");
    assert!(matches!(kept, CarrierMessage::Webhook { ref body, .. } if body.as_bytes() == garbage));
    h.deps.queue.redrive(QueueName::CarrierUpdates, dead[0].id).await.expect("replayed");
    let again = process_carrier_updates(&h.deps, 10).await.expect("processed");
    assert_eq!(again.quarantined, 1, "still unparseable, set aside again");
}

#[tokio::test]
async fn updates_for_unknown_numbers_are_acknowledged_and_counted() {
    let h = harness().await;
    let body = push_body("TC-DELIVERED-5-NOBODY", "PUP", "2026-05-01T09:00:00Z");
    h.push(&body, Some(sign_base64(SECRET, &body))).await.expect("accepted");
    let report = process_carrier_updates(&h.deps, 10).await.expect("processed");
    assert_eq!((report.handled, report.unmatched), (1, 1));
    assert_eq!(h.deps.queue.depth(QueueName::CarrierUpdates).await.expect("depth"), 0);
}

/// Polls and processes in steps of `step` until `until`, recording each status seen.
async fn run(h: &Harness, shipment: &Shipment, step: Duration, until: Duration) -> Vec<Tag> {
    let limiters = CarrierLimiters::default();
    let end = h.clock.now() + until;
    let mut seen = vec![h.read(shipment).await.tag];
    while h.clock.now() < end {
        let after = h.clock.now();
        h.clock.advance(step);
        poll_due(&h.deps, &limiters, after, 100).await.expect("polled");
        process_carrier_updates(&h.deps, 100).await.expect("processed");
        let tag = h.read(shipment).await.tag;
        if seen.last() != Some(&tag) {
            seen.push(tag);
        }
    }
    seen
}

#[tokio::test]
async fn the_sandbox_drives_a_shipment_from_info_received_to_delivered_and_polling_stops() {
    let h = harness().await;
    // Five days puts six hours between out-for-delivery and delivery, more than the in-transit
    // poll interval plus jitter, so every stage is seen whatever the shipment's id.
    let shipment = h.track("TC-DELIVERED-5-P1").await;
    assert_eq!(shipment.slug.as_str(), "testing-courier", "detected from the number");
    let seen = run(&h, &shipment, Duration::minutes(30), Duration::days(6)).await;
    assert_eq!(seen, [Tag::Pending, Tag::InfoReceived, Tag::InTransit, Tag::OutForDelivery, Tag::Delivered]);
    let done = h.read(&shipment).await;
    assert_eq!(done.next_poll_at, None, "a delivered shipment is not polled again");
    assert!(done.tracked_count >= 1, "the first poll is recorded; quiet ones on the cadence are not");
    assert_eq!(done.poll_failures, 0);
    let polled = done.tracked_count;
    run(&h, &shipment, Duration::hours(6), Duration::days(2)).await;
    assert_eq!(h.read(&shipment).await.tracked_count, polled);
}

#[tokio::test]
async fn a_poll_answer_with_nothing_new_is_not_queued() {
    let h = harness().await;
    let shipment = h.track("TC-DELIVERED-30-N1").await;
    let limiters = CarrierLimiters::default();
    h.clock.advance(Duration::hours(13));
    let first_run = h.clock.now();
    poll_due(&h.deps, &limiters, first_run - Duration::minutes(1), 100).await.expect("polled");
    assert_eq!(h.deps.queue.depth(QueueName::CarrierUpdates).await.expect("depth"), 1, "the first events");
    process_carrier_updates(&h.deps, 100).await.expect("processed");
    let merged = h.read(&shipment).await;

    assert_eq!(merged.next_poll_at, None, "on its cadence");

    // The next poll on the cadence (six hours hold a tick of any), long before the journey's
    // next event: the same events again, neither queued nor written.
    h.clock.advance(Duration::hours(6));
    let report = poll_due(&h.deps, &limiters, first_run, 100).await.expect("polled");
    assert_eq!(report.shipments, 1);
    assert_eq!(h.deps.queue.depth(QueueName::CarrierUpdates).await.expect("depth"), 0);
    assert_eq!(h.read(&shipment).await, merged);
}

#[tokio::test]
async fn a_handover_becomes_the_last_mile_and_both_legs_merge_into_one_journey() {
    let h = harness().await;
    let shipment = h.track("TC-HANDOVER-4-H1").await;
    let seen = run(&h, &shipment, Duration::hours(1), Duration::days(5)).await;
    assert_eq!(seen.last(), Some(&Tag::Delivered));
    let done = h.read(&shipment).await;
    let leg = done.last_mile.as_ref().expect("last mile found in the carrier data");
    assert_eq!((leg.tracking_number.compact(), leg.source), ("TCLASTMILE4H1", crate::domain::LegSource::System));
    let legs: std::collections::BTreeSet<_> = done.checkpoints.iter().map(|c| c.tracking_number.compact()).collect();
    assert_eq!(legs.len(), 2, "events of both legs: {legs:?}");
    assert!(done.checkpoints.windows(2).all(|w| w[0].checkpoint_time.instant() <= w[1].checkpoint_time.instant()));
}

#[tokio::test]
async fn retrack_makes_a_shipment_due_at_once() {
    let h = harness().await;
    let shipment = h.track("TC-DELIVERED-9-R1").await;
    run(&h, &shipment, Duration::minutes(10), Duration::minutes(10)).await;
    let polled = h.read(&shipment).await;
    assert!(polled.next_poll_at.is_none() && polled.poll_cadence.is_some(), "on its cadence");
    app::retrack(&h.deps, &h.tenant, &shipment.id).await.expect("retracked");
    let now = h.clock.now();
    let due = h.deps.shipments.due_for_poll(now, now, &h.deps.poll_policy.cadences()).await.expect("due");
    assert_eq!(due, vec![(h.tenant.clone(), shipment.id.clone())]);
}

/// A carrier that fails with a fixed error, counting calls and requests in flight.
struct FailingCarrier {
    error: CarrierError,
    calls: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

#[async_trait]
impl CarrierAdapter for FailingCarrier {
    fn slug(&self) -> &'static str {
        "testing-courier"
    }
    fn credential_fields(&self) -> &'static [CredentialField] {
        &[]
    }
    fn webhook_auth(&self) -> Option<WebhookAuth> {
        None
    }
    fn parse_webhook(&self, _body: &[u8]) -> Result<Vec<TrackingUpdate>, CarrierError> {
        Err(CarrierError::Malformed("no pushes".into()))
    }
    fn max_batch(&self) -> usize {
        1
    }
    fn rate_limit(&self) -> RateLimit {
        RateLimit { per_second: 20, concurrency: 2 }
    }
    async fn poll(
        &self,
        _http: &dyn HttpClient,
        _credentials: &Credentials,
        _targets: &[PollTarget],
        _now: DateTime<Utc>,
    ) -> Result<Vec<TrackingUpdate>, CarrierError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let now_in_flight = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now_in_flight, Ordering::SeqCst);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        Err(self.error.clone())
    }
}

fn failing(error: CarrierError) -> Arc<FailingCarrier> {
    Arc::new(FailingCarrier {
        error,
        calls: AtomicUsize::new(0),
        in_flight: AtomicUsize::new(0),
        max_in_flight: AtomicUsize::new(0),
    })
}

#[tokio::test]
async fn failed_polls_back_off_and_honour_retry_after() {
    let mut h = harness().await;
    let carrier = failing(CarrierError::RateLimited { retry_after_seconds: Some(7200) });
    let mut registry = CarrierRegistry::default();
    registry.register(carrier.clone());
    h.deps.carriers = Arc::new(registry);
    let shipment = h.track("TC-DELIVERED-3-F1").await;
    let start = h.clock.now();
    let report = poll_due(&h.deps, &CarrierLimiters::default(), start, 10).await.expect("polled");
    assert_eq!((report.requests, report.failed_requests), (1, 1));
    let after = h.read(&shipment).await;
    assert_eq!(after.poll_failures, 1);
    assert!(after.next_poll_at.expect("rescheduled") - h.clock.now() >= Duration::hours(2), "at least Retry-After");
    // Not due again before then.
    h.clock.advance(Duration::hours(1));
    poll_due(&h.deps, &CarrierLimiters::default(), start, 10).await.expect("polled");
    assert_eq!(carrier.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polls_keep_to_the_carriers_concurrency_and_pace() {
    let mut h = harness().await;
    let carrier = failing(CarrierError::Unavailable("status 503".into()));
    let mut registry = CarrierRegistry::default();
    registry.register(carrier.clone());
    h.deps.carriers = Arc::new(registry);
    for i in 0..6 {
        h.track(&format!("TC-DELIVERED-3-C{i}")).await;
    }
    let started = tokio::time::Instant::now();
    let report = poll_due(&h.deps, &CarrierLimiters::default(), h.clock.now(), 10).await.expect("polled");
    assert_eq!(report.requests, 6, "one number a request for this carrier");
    assert!(carrier.max_in_flight.load(Ordering::SeqCst) <= 2, "concurrency limit");
    // 20 requests a second: six starts are spread over at least 250 ms.
    assert!(started.elapsed() >= std::time::Duration::from_millis(250), "{:?}", started.elapsed());
}

/// A carrier that needs an account and records the credentials each poll used.
struct AccountCarrier {
    seen: std::sync::Mutex<Vec<Option<String>>>,
}

#[async_trait]
impl CarrierAdapter for AccountCarrier {
    fn slug(&self) -> &'static str {
        "testing-courier"
    }
    fn credential_fields(&self) -> &'static [CredentialField] {
        &[CredentialField { key: "api_key", name: "API key", secret: true }]
    }
    fn webhook_auth(&self) -> Option<WebhookAuth> {
        None
    }
    fn parse_webhook(&self, _body: &[u8]) -> Result<Vec<TrackingUpdate>, CarrierError> {
        Ok(vec![])
    }
    fn max_batch(&self) -> usize {
        10
    }
    fn rate_limit(&self) -> RateLimit {
        RateLimit { per_second: 100, concurrency: 4 }
    }
    async fn poll(
        &self,
        _http: &dyn HttpClient,
        credentials: &Credentials,
        targets: &[PollTarget],
        _now: DateTime<Utc>,
    ) -> Result<Vec<TrackingUpdate>, CarrierError> {
        let key = credentials.0.get("api_key").cloned();
        self.seen.lock().expect("lock").extend(targets.iter().map(|_| key.clone()));
        Ok(vec![])
    }
}

#[tokio::test]
async fn polls_use_the_merchants_own_connection_else_the_operators_account() {
    let mut h = harness().await;
    let carrier = Arc::new(AccountCarrier { seen: std::sync::Mutex::new(Vec::new()) });
    let mut registry = CarrierRegistry::default();
    registry.register(carrier.clone());
    h.deps.carriers = Arc::new(registry);
    h.deps.carrier_credentials =
        Arc::new([("testing-courier".to_owned(), Credentials([("api_key".into(), "operator".into())].into()))].into());
    let credentials = std::collections::BTreeMap::from([("api_key".to_owned(), serde_json::json!("merchant-a"))]);
    crate::app::connections::create_connection(&h.deps, &h.tenant, "testing-courier", &credentials)
        .await
        .expect("connected");
    h.track("TC-DELIVERED-3-A").await;
    let (other, _) = app::create_tenant(&h.deps, "Other").await.expect("tenant");
    let new = NewTracking {
        slug: None,
        tracking_number: TrackingNumber::parse("TC-DELIVERED-3-B").expect("number"),
        details: ShipmentDetails::default(),
        last_mile: None,
    };
    app::create_tracking(&h.deps, &other.id, new).await.expect("created");
    poll_due(&h.deps, &CarrierLimiters::default(), h.clock.now(), 10).await.expect("polled");
    let mut seen = carrier.seen.lock().expect("lock").clone();
    seen.sort();
    assert_eq!(seen, [Some("merchant-a".to_owned()), Some("operator".to_owned())]);
}

/// A mock of the four polled carriers' APIs answering with their recorded fixtures.
async fn fixture_carriers() -> String {
    use axum::http::Uri;
    async fn answer(uri: Uri) -> (axum::http::StatusCode, &'static [u8]) {
        let path = uri.path();
        let body: &'static [u8] = if path.contains("token") {
            include_bytes!("../../carriers/fixtures/ups/token.json")
        } else if path.starts_with("/api/track/v1/details/") {
            include_bytes!("../../carriers/fixtures/ups/track_response.json")
        } else if path == "/track/v1/trackingnumbers" {
            include_bytes!("../../carriers/fixtures/fedex/track_response.json")
        } else if path.starts_with("/tracking/v3/tracking/") {
            include_bytes!("../../carriers/fixtures/usps/tracking.json")
        } else if path == "/track/shipments" {
            include_bytes!("../../carriers/fixtures/dhl/track_shipments.json")
        } else {
            return (axum::http::StatusCode::NOT_FOUND, b"{}");
        };
        (axum::http::StatusCode::OK, body)
    }
    crate::carriers::mock::serve(axum::Router::new().fallback(answer)).await
}

#[tokio::test]
async fn every_adapters_fixtures_flow_through_poll_or_webhook_into_a_timeline() {
    use crate::carriers::{dhl, fedex, ups, upu, usps};
    let mut h = harness().await;
    let base = fixture_carriers().await;
    let mut registry = CarrierRegistry::default();
    registry.register(Arc::new(ups::UpsCarrier::new(&base)));
    registry.register(Arc::new(fedex::FedexCarrier::new(&base)));
    registry.register(Arc::new(usps::UspsCarrier::new(&base)));
    registry.register(Arc::new(dhl::DhlCarrier::new(&base)));
    registry.register(Arc::new(upu::UpuCarrier::new("china-post")));
    h.deps.carriers = Arc::new(registry);
    h.deps.http = Arc::new(crate::carriers::mock::client());
    let oauth = || Credentials([("client_id".into(), "id".into()), ("client_secret".into(), "secret".into())].into());
    h.deps.carrier_credentials = Arc::new(
        [
            ("ups".to_owned(), oauth()),
            ("fedex".to_owned(), oauth()),
            ("usps".to_owned(), oauth()),
            ("dhl".to_owned(), Credentials([("api_key".into(), "key".into())].into())),
        ]
        .into(),
    );
    h.deps.webhook_secrets = Arc::new(WebhookSecrets(
        ["ups", "fedex", "china-post"].map(|slug| (slug.to_owned(), SECRET.to_owned())).into(),
    ));
    let track = |slug: &'static str, number: &'static str| {
        let new = NewTracking {
            slug: Some(Slug::parse(slug).expect("slug")),
            tracking_number: TrackingNumber::parse(number).expect("number"),
            details: ShipmentDetails::default(),
            last_mile: None,
        };
        app::create_tracking(&h.deps, &h.tenant, new)
    };
    let polled = [
        track("ups", "1Z204W4R0308071865").await.expect("created"),
        track("fedex", "449044304137821").await.expect("created"),
        track("usps", "9400111899223344556677").await.expect("created"),
        track("dhl", "1234567890").await.expect("created"),
    ];
    let pushed_to = track("china-post", "RR123456785CN").await.expect("created");

    poll_due(&h.deps, &CarrierLimiters::default(), h.clock.now(), 10).await.expect("polled");
    let upu_push: &[u8] = include_bytes!("../../carriers/fixtures/upu/emsevt_push.json");
    let signature = sign_base64(SECRET, upu_push);
    let header = |name: &str| (name == "x-upu-signature").then(|| signature.clone());
    accept_webhook(&h.deps, "china-post", header, upu_push).await.expect("accepted");
    let fedex_push: &[u8] = include_bytes!("../../carriers/fixtures/fedex/webhook_push.json");
    let signature = sign_base64(SECRET, fedex_push);
    let header = |name: &str| (name == "fdx-signature").then(|| signature.clone());
    accept_webhook(&h.deps, "fedex", header, fedex_push).await.expect("accepted");
    let ups_push: &[u8] = include_bytes!("../../carriers/fixtures/ups/alert_delivered.json");
    let header = |name: &str| (name == "credential").then(|| SECRET.to_owned());
    accept_webhook(&h.deps, "ups", header, ups_push).await.expect("accepted");
    process_carrier_updates(&h.deps, 100).await.expect("processed");
    assert_eq!(h.deps.queue.depth(QueueName::CarrierUpdates).await.expect("depth"), 0, "nothing quarantined");

    let mut seen = Vec::new();
    for shipment in polled.iter().chain([&pushed_to]) {
        let shipment = h.read(shipment).await;
        assert!(
            shipment.checkpoints.iter().all(|c| c.raw_tag.is_some() && !c.message.is_empty()),
            "{}: raw codes and messages kept",
            shipment.slug
        );
        seen.push((shipment.slug.to_string(), shipment.checkpoints.len(), shipment.tag, shipment.subtag.code()));
    }
    let expected = [
        // UPS: eight activities polled, plus the Track Alert's delivery (a different scan).
        ("ups", 9, Tag::Delivered, "Delivered_003"),
        // FedEx: nine scans polled; the pushed one is one of them, stored once.
        ("fedex", 9, Tag::Delivered, "Delivered_003"),
        ("usps", 7, Tag::Delivered, "Delivered_001"),
        ("dhl", 8, Tag::Delivered, "Delivered_003"),
        ("china-post", 10, Tag::Delivered, "Delivered_003"),
    ];
    let expected: Vec<_> = expected.iter().map(|&(slug, n, tag, subtag)| (slug.to_owned(), n, tag, subtag)).collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn one_unreadable_shipment_stops_neither_other_merchants_updates_nor_the_poll_round() {
    let store = SqliteStore::in_memory().expect("store");
    let clock = Arc::new(ManualClock::at(Utc.with_ymd_and_hms(2026, 5, 1, 8, 0, 0).single().expect("date")));
    let mut deps = crate::testkit::deps(store.clone(), clock.clone());
    deps.webhook_secrets = Arc::new(WebhookSecrets([("testing-courier".to_owned(), SECRET.to_owned())].into()));
    let harness = |name: &'static str| {
        let deps = deps.clone();
        let clock = clock.clone();
        async move {
            let (tenant, _) = app::create_tenant(&deps, name).await.expect("tenant");
            Harness { deps, clock, tenant: tenant.id }
        }
    };
    let (a, b) = (harness("A").await, harness("B").await);
    let broken = a.track("TC-DELIVERED-5-SHARED").await;
    let fine = b.track("TC-DELIVERED-5-SHARED").await;
    store.garble_for_tests(&a.tenant, &broken.id).await.expect("garbled");

    let body = push_body("TC-DELIVERED-5-SHARED", "PUP", "2026-05-01T09:00:00Z");
    b.push(&body, Some(sign_base64(SECRET, &body))).await.expect("accepted");
    let report = process_carrier_updates(&deps, 10).await.expect("processed");
    assert_eq!(report, ProcessReport { handled: 1, ..ProcessReport::default() }, "neither retried nor quarantined");
    assert_eq!(b.read(&fine).await.checkpoints.len(), 1, "the other merchant's shipment got the update");
    assert_eq!(deps.stats.unreadable_shipments.load(Ordering::Relaxed), 1);

    // Both are due for their first poll: the round polls the readable one and goes on.
    let after = clock.now() - Duration::minutes(1);
    let polled = poll_due(&deps, &CarrierLimiters::default(), after, 100).await.expect("the round completes");
    assert_eq!(polled.shipments, 1);
    assert_eq!(deps.stats.unreadable_shipments.load(Ordering::Relaxed), 2);
    assert!(b.read(&fine).await.poll_cadence.is_some(), "the readable one was polled and put on its cadence");
}

#[tokio::test]
async fn a_push_with_more_events_than_a_journey_has_is_quarantined_whole() {
    let h = harness().await;
    let shipment = h.track("TC-DELIVERED-5-FLOOD").await;
    let events: Vec<SandboxEvent> = (0..MAX_EVENTS_PER_MESSAGE + 1)
        .map(|i| SandboxEvent {
            occurred_at: format!("2026-05-01T{:02}:{:02}:00Z", (i / 60) % 24, i % 60),
            code: "PUP".into(),
            description: format!("scan {i}"),
            city: None,
            country: None,
        })
        .collect();
    let push = SandboxPush { tracking_number: "TC-DELIVERED-5-FLOOD".into(), events, last_mile: None };
    let body = serde_json::to_vec(&push).expect("serializes");
    h.push(&body, Some(sign_base64(SECRET, &body))).await.expect("accepted: checked behind the queue");
    let report = process_carrier_updates(&h.deps, 10).await.expect("processed");
    assert_eq!(report.quarantined, 1);
    assert!(h.read(&shipment).await.checkpoints.is_empty());
    let dead = h.deps.queue.dead_letters(QueueName::CarrierUpdates, 0, 10).await.expect("listed");
    assert!(dead[0].reason.contains("at most 1000"), "{}", dead[0].reason);
}
