use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use chrono::Duration;

use super::dispatch::{Dispatcher, Outcome, TRIP_AFTER};
use super::*;
use crate::adapters::http_client::ReqwestClient;
use crate::adapters::sqlite::SqliteStore;
use crate::app::{NewTracking, create_tenant, create_tracking};
use crate::domain::{ShipmentDetails, ShipmentId, Slug, Tag, TargetPolicy, TrackingNumber, sign_webhook};
use crate::ports::{Clock, MessageLedger, StatusSnapshot};
use crate::testkit::ManualClock;

use crate::carriers::mock::receiver;

struct World {
    deps: Deps,
    clock: Arc<ManualClock>,
    tenant: TenantId,
}

async fn world(timeout: std::time::Duration) -> World {
    let store = SqliteStore::in_memory().expect("store");
    let clock = Arc::new(ManualClock::at(chrono::Utc::now()));
    let mut deps = crate::testkit::deps(store, clock.clone());
    deps.webhook_targets = TargetPolicy::AllowPrivate;
    deps.webhook_http = Arc::new(ReqwestClient::for_webhooks(timeout, TargetPolicy::AllowPrivate));
    let tenant = create_tenant(&deps, "Acme").await.expect("tenant").0.id;
    World { deps, clock, tenant }
}

async fn register(w: &World, url: &str) -> (Endpoint, String) {
    let write = EndpointWrite { url: Some(url.to_owned()), events: None, pending_hours: None };
    create_endpoint(&w.deps, &w.tenant, write).await.expect("registered")
}

async fn shipment(w: &World, number: &str) -> ShipmentId {
    let new = NewTracking {
        slug: Some(Slug::parse("ups").expect("slug")),
        tracking_number: TrackingNumber::parse(number).expect("number"),
        details: ShipmentDetails::default(),
        last_mile: None,
    };
    create_tracking(&w.deps, &w.tenant, new).await.expect("created").id
}

fn moved(w: &World, shipment: &ShipmentId, version: u64, from: Tag, to: Tag) -> ChangeEvent {
    let snapshot = |tag: Tag| StatusSnapshot::bare(version, tag, tag.default_subtag(), true, 1);
    ChangeEvent {
        tenant_id: w.tenant.clone(),
        shipment_id: shipment.clone(),
        kind: ChangeKind::Updated,
        at: w.clock.now(),
        old: Some(StatusSnapshot { version: version - 1, ..snapshot(from) }),
        new: Some(snapshot(to)),
    }
}

/// Every pending delivery due now, sent, and waited for.
async fn dispatch_all(dispatcher: &Arc<Dispatcher>) -> usize {
    dispatcher.run_for(std::time::Duration::from_secs(30)).await.expect("dispatched")
}

#[tokio::test]
async fn endpoints_are_checked_limited_and_answer_their_secret_once() {
    let mut w = world(TIMEOUT).await;
    w.deps.webhook_targets = TargetPolicy::PublicOnly;
    let refused = create_endpoint(
        &w.deps,
        &w.tenant,
        EndpointWrite { url: Some("https://169.254.169.254/latest".into()), events: None, pending_hours: None },
    )
    .await;
    assert!(matches!(refused, Err(AppError::Invalid(ref e)) if e.field == "url"), "{refused:?}");
    let (first, secret) = register(&w, "https://hooks.example.com/a").await;
    assert!(first.id.starts_with("wh_") && secret.len() == 64);
    assert_eq!(first.events, [WebhookEvent::TrackingUpdate], "tracking updates unless told");
    let twice = create_endpoint(
        &w.deps,
        &w.tenant,
        EndpointWrite { url: Some("https://hooks.example.com/a".into()), events: None, pending_hours: None },
    )
    .await;
    assert!(matches!(twice, Err(AppError::Invalid(ref e)) if e.reason.contains("registered already")));
    for n in 1..MAX_ENDPOINTS {
        register(&w, &format!("https://hooks.example.com/{n}")).await;
    }
    let eleventh = create_endpoint(
        &w.deps,
        &w.tenant,
        EndpointWrite { url: Some("https://hooks.example.com/11".into()), events: None, pending_hours: None },
    )
    .await;
    assert!(matches!(eleventh, Err(AppError::Invalid(ref e)) if e.reason.contains("at most 10")));

    let listed = list_endpoints(&w.deps, &w.tenant).await.expect("listed");
    assert_eq!(listed.len(), MAX_ENDPOINTS);
    let stored = w.deps.settings.get_settings(&w.tenant, SettingsKind::WebhookEndpoints).await.expect("read");
    assert!(!stored.expect("stored").value.to_string().contains(&secret), "secrets are stored sealed");
    let (_, rotated) = rotate_secret(&w.deps, &w.tenant, &first.id).await.expect("rotated");
    assert_ne!(rotated, secret);
    assert_eq!(signing_endpoint(&w.deps, &w.tenant, &first.id).await.expect("there").secret, rotated);
    delete_endpoint(&w.deps, &w.tenant, &first.id).await.expect("deleted");
    assert!(matches!(delete_endpoint(&w.deps, &w.tenant, &first.id).await, Err(AppError::Missing(_))));
    let other = create_tenant(&w.deps, "Other").await.expect("tenant").0.id;
    assert!(list_endpoints(&w.deps, &other).await.expect("listed").is_empty(), "per tenant");
    assert!(matches!(rotate_secret(&w.deps, &other, &listed[1].id).await, Err(AppError::Missing(_))));
}

#[tokio::test]
async fn a_status_change_is_posted_once_signed_as_aftership_documents() {
    let w = world(TIMEOUT).await;
    let (url, seen) = receiver(StatusCode::NO_CONTENT).await;
    let (endpoint, secret) = register(&w, &url).await;
    let id = shipment(&w, "1Z999AA10123456784").await;
    let change = moved(&w, &id, 2, Tag::Pending, Tag::InTransit);
    assert_eq!(plan_webhooks(&w.deps, &change).await.expect("planned"), 1);
    assert_eq!(plan_webhooks(&w.deps, &change).await.expect("planned"), 0, "a duplicate change plans nothing");
    let created = ChangeEvent { kind: ChangeKind::Created, old: None, ..change.clone() };
    assert_eq!(plan_webhooks(&w.deps, &created).await.expect("planned"), 0, "creations are no event");

    let dispatcher = Dispatcher::new(w.deps.clone());
    assert_eq!(dispatch_all(&dispatcher).await, 1);
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 1);
    let (headers, body) = &seen[0];
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert_eq!(header("aftership-hmac-sha256"), sign_webhook(&secret, body), "verifies with the endpoint's secret");
    assert_eq!(header("as-webhook-version"), "2026-07");
    assert_eq!(header("content-type"), "application/json");
    let json: serde_json::Value = serde_json::from_slice(body).expect("json");
    assert_eq!(json["event"], "tracking_update");
    assert_eq!(json["ts"], change.at.timestamp());
    assert_eq!(json["is_tracking_first_tag"], true);
    let event_id = uuid::Uuid::parse_str(json["event_id"].as_str().expect("id")).expect("a uuid");
    assert_eq!(event_id.get_version_num(), 4);
    assert_eq!(json["msg"]["id"], id.as_str());
    assert_eq!(json["msg"]["tracking_number"], "1Z999AA10123456784");
    let shipment = w.deps.shipments.get(&w.tenant, &id).await.expect("read").expect("there");
    let expected = serde_json::to_value(crate::api::wire::TrackingView::from(&shipment).with_page(None)).expect("view");
    assert_eq!(json["msg"], expected, "msg is the tracking as the API answers it");

    let log = endpoint_deliveries(&w.deps, &w.tenant, &endpoint.id, None, None, 10).await.expect("log");
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].state, log[0].attempts.len(), log[0].attempts[0].status),
        (DeliveryState::Delivered, 1, Some(204))
    );
    assert_eq!(dispatch_all(&dispatcher).await, 0, "nothing is sent twice");
}

#[tokio::test]
async fn failures_retry_on_aftership_schedule_then_become_a_dead_letter_that_replays() {
    let w = world(TIMEOUT).await;
    let (url, seen) = receiver(StatusCode::SERVICE_UNAVAILABLE).await;
    let (endpoint, _) = register(&w, &url).await;
    let id = shipment(&w, "1Z999AA10123456784").await;
    plan_webhooks(&w.deps, &moved(&w, &id, 2, Tag::InTransit, Tag::OutForDelivery)).await.expect("planned");
    let mut waits = Vec::new();
    for attempt in 1..=crate::domain::MAX_WEBHOOK_ATTEMPTS {
        let before = w.clock.now();
        let leased = w.deps.webhooks.lease_due_deliveries(before, Duration::minutes(2), 10).await.expect("leased");
        assert_eq!(leased.len(), 1, "attempt {attempt} is due");
        // A fresh dispatcher per attempt: in life the retries spread over hours, long past any
        // rest the endpoint's failures in a row bring (tested on its own below).
        let outcome = Dispatcher::new(w.deps.clone()).deliver(&leased[0]).await.expect("attempted");
        let read = w.deps.webhooks.delivery(&w.tenant, &leased[0].id).await.expect("read").expect("there");
        if attempt < crate::domain::MAX_WEBHOOK_ATTEMPTS {
            assert_eq!(outcome, Outcome::Retrying);
            waits.push((read.due_at - before).num_seconds());
            w.clock.advance(read.due_at - before);
        } else {
            assert_eq!((outcome, read.state), (Outcome::Dead, DeliveryState::Dead));
        }
    }
    for (n, wait) in waits.iter().enumerate() {
        let nominal = 30i64 << n;
        assert!((nominal * 9 / 10..=nominal * 11 / 10).contains(wait), "retry {n}: {wait} s, not about {nominal} s");
    }
    assert_eq!(seen.lock().expect("lock").len(), 14);
    let dead = endpoint_deliveries(&w.deps, &w.tenant, &endpoint.id, Some(DeliveryState::Dead), None, 10)
        .await
        .expect("dead letters");
    assert_eq!(dead.len(), 1);
    assert!(dead[0].attempts.iter().all(|a| a.status == Some(503)));
    let today = w.clock.now().date_naive();
    let range = crate::app::analytics::DayRange { from: today - Duration::days(30), to: today };
    let reach = crate::app::analytics::notification_reach(&w.deps, &w.tenant, range).await.expect("reach");
    let webhooks = &reach.webhooks;
    assert_eq!((webhooks.attempts, webhooks.delivered, webhooks.failed), (14, 0, 1), "every attempt, one dead letter");
    assert_eq!(webhooks.success_rate.map(|r| r.value), Some(0.0));

    let replayed = replay_dead(&w.deps, &w.tenant, &dead[0].id).await.expect("replayed");
    assert_eq!((replayed.state, replayed.attempts_this_round()), (DeliveryState::Pending, 0));
    assert!(matches!(replay_dead(&w.deps, &w.tenant, &dead[0].id).await, Err(AppError::Missing(_))), "not dead now");
}

#[tokio::test]
async fn an_endpoint_that_never_answers_does_not_hold_up_the_others() {
    let w = world(std::time::Duration::from_secs(3)).await;
    // Accepts connections and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("port");
    let silent_url = format!("http://{}/never", silent.local_addr().expect("bound"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    register(&w, &silent_url).await;
    let (url, seen) = receiver(StatusCode::OK).await;
    register(&w, &url).await;
    for n in 0..20 {
        let id = shipment(&w, &format!("1Z999AA1012345{n:04}")).await;
        plan_webhooks(&w.deps, &moved(&w, &id, 2, Tag::Pending, Tag::InTransit)).await.expect("planned");
    }
    let dispatcher = Dispatcher::new(w.deps.clone());
    let mut started = 0;
    let waited = std::time::Instant::now();
    while seen.lock().expect("lock").len() < 20 {
        started += dispatcher.start_due().await.expect("started");
        assert!(
            waited.elapsed() < std::time::Duration::from_millis(2500),
            "the live endpoint waited on the silent one: {} of 20 after {started} started",
            seen.lock().expect("lock").len()
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(started, 40);
    assert!(dispatcher.in_flight() > 0, "the silent endpoint's deliveries are still waiting for an answer");
    dispatcher.wait_idle().await;
}

#[tokio::test]
async fn a_failing_endpoint_rests_and_its_deliveries_wait_without_spending_attempts() {
    let w = world(TIMEOUT).await;
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("port");
    let url = format!("http://{}/gone", closed.local_addr().expect("bound"));
    drop(closed);
    register(&w, &url).await;
    for n in 0..(TRIP_AFTER + 1) {
        let id = shipment(&w, &format!("1Z999AA1012345{n:04}")).await;
        plan_webhooks(&w.deps, &moved(&w, &id, 2, Tag::Pending, Tag::InTransit)).await.expect("planned");
    }
    let dispatcher = Dispatcher::new(w.deps.clone());
    let leased = w.deps.webhooks.lease_due_deliveries(w.clock.now(), Duration::minutes(2), 100).await.expect("leased");
    let mut outcomes = Vec::new();
    for delivery in &leased {
        outcomes.push(dispatcher.deliver(delivery).await.expect("attempted"));
    }
    let expected: Vec<Outcome> = (0..TRIP_AFTER).map(|_| Outcome::Retrying).chain([Outcome::Postponed]).collect();
    assert_eq!(outcomes, expected);
    let last = w.deps.webhooks.delivery(&w.tenant, &leased[5].id).await.expect("read").expect("there");
    assert!(last.attempts.is_empty() && last.due_at >= w.clock.now() + Duration::seconds(30));
    let first = w.deps.webhooks.delivery(&w.tenant, &leased[0].id).await.expect("read").expect("there");
    assert!(first.attempts[0].error.as_deref().is_some_and(|e| e.contains("connection")), "{:?}", first.attempts);
}

#[tokio::test]
async fn a_time_range_replays_to_an_endpoint_registered_later_and_deleted_endpoints_end_their_deliveries() {
    let w = world(TIMEOUT).await;
    let (old_url, _) = receiver(StatusCode::OK).await;
    let (old, _) = register(&w, &old_url).await;
    let start = w.clock.now();
    let mut shipments = Vec::new();
    for n in 0..3 {
        let id = shipment(&w, &format!("1Z999AA1012345{n:04}")).await;
        plan_webhooks(&w.deps, &moved(&w, &id, 2, Tag::Pending, Tag::InTransit)).await.expect("planned");
        shipments.push(id);
        w.clock.advance(Duration::minutes(1));
    }
    delete_endpoint(&w.deps, &w.tenant, &old.id).await.expect("deleted");
    let dispatcher = Dispatcher::new(w.deps.clone());
    dispatch_all(&dispatcher).await;
    let ended = w.deps.webhooks.endpoint_deliveries(&w.tenant, &old.id, None, None, 10).await.expect("log");
    assert!(ended.iter().all(|d| d.state == DeliveryState::Dead), "a deleted endpoint's deliveries end");

    let (url, seen) = receiver(StatusCode::OK).await;
    let (new, _) = register(&w, &url).await;
    let planned =
        replay_range(&w.deps, &w.tenant, &new.id, start, start + Duration::seconds(90)).await.expect("replayed");
    assert_eq!(planned, 2, "the events of the first 90 seconds");
    dispatch_all(&dispatcher).await;
    let bodies: Vec<serde_json::Value> =
        seen.lock().expect("lock").iter().map(|(_, b)| serde_json::from_slice(b).expect("json")).collect();
    let mut ids: Vec<&str> = bodies.iter().map(|b| b["msg"]["id"].as_str().expect("id")).collect();
    ids.sort_unstable();
    let mut expected = [shipments[0].as_str(), shipments[1].as_str()];
    expected.sort_unstable();
    assert_eq!(ids, expected);
    let again = replay_range(&w.deps, &w.tenant, &new.id, start, start + Duration::seconds(90)).await.expect("again");
    assert_eq!(again, 2, "each replay sends again");
    assert!(matches!(
        replay_range(&w.deps, &w.tenant, &new.id, start, start).await,
        Err(AppError::Invalid(ref e)) if e.field == "from"
    ));
    assert!(matches!(
        replay_range(&w.deps, &w.tenant, "wh_none", start, w.clock.now()).await,
        Err(AppError::Missing(_))
    ));
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let w = world(TIMEOUT).await;
    let (target, seen) = receiver(StatusCode::OK).await;
    let routes = Router::new().fallback(move || {
        let target = target.clone();
        async move { (StatusCode::TEMPORARY_REDIRECT, [("location", target)]) }
    });
    let redirecting = format!("{}/hook", crate::carriers::mock::serve(routes).await);
    register(&w, &redirecting).await;
    let id = shipment(&w, "1Z999AA10123456784").await;
    plan_webhooks(&w.deps, &moved(&w, &id, 2, Tag::Pending, Tag::InTransit)).await.expect("planned");
    let leased = w.deps.webhooks.lease_due_deliveries(w.clock.now(), Duration::minutes(2), 10).await.expect("leased");
    let outcome = Dispatcher::new(w.deps.clone()).deliver(&leased[0]).await.expect("attempted");
    assert_eq!(outcome, Outcome::Retrying, "a 307 is no 2xx");
    assert!(seen.lock().expect("lock").is_empty(), "the redirect's target was never called");
}

#[tokio::test]
async fn the_scan_sends_pending_time_once_per_quiet_spell_and_no_update_messages_once() {
    use crate::app::notification_rules::{RuleWrite, create_rule};

    let w = world(TIMEOUT).await;
    let (url, seen) = receiver(StatusCode::OK).await;
    let write = EndpointWrite {
        url: Some(url),
        events: Some(vec![WebhookEvent::TrackingPendingTime]),
        pending_hours: Some(24),
    };
    let (endpoint, _) = create_endpoint(&w.deps, &w.tenant, write).await.expect("registered");
    assert_eq!(endpoint.pending_hours, 24);
    let bad = EndpointWrite { url: Some("http://127.0.0.1:1/x".into()), events: None, pending_hours: Some(0) };
    assert!(
        matches!(create_endpoint(&w.deps, &w.tenant, bad).await, Err(AppError::Invalid(ref e)) if e.field == "pending_hours")
    );
    let rule: RuleWrite =
        serde_json::from_value(serde_json::json!({"trigger": "no_update", "no_update_days": 3})).expect("rule");
    create_rule(&w.deps, &w.tenant, rule).await.expect("rule");
    let id = shipment(&w, "1Z999AA10123456784").await;
    let details = ShipmentDetails {
        customers: vec![crate::domain::Customer { email: Some("ann@example.com".into()), ..Default::default() }],
        ..ShipmentDetails::default()
    };
    let new = NewTracking {
        slug: Some(Slug::parse("ups").expect("slug")),
        tracking_number: TrackingNumber::parse("1Z999AA10123456785").expect("number"),
        details,
        last_mile: None,
    };
    let written_to = create_tracking(&w.deps, &w.tenant, new).await.expect("created").id;
    let store = SqliteStore::in_memory().expect("a ledger of its own");
    let scan = || crate::app::scan::scan_active(&w.deps, &store);

    assert_eq!(scan().await.expect("scanned").webhooks, 0, "not quiet long enough");
    w.clock.advance(Duration::hours(25));
    assert_eq!(scan().await.expect("scanned").webhooks, 2, "both parcels are quiet");
    assert_eq!(scan().await.expect("again").webhooks, 0, "once per quiet spell");
    let dispatcher = Dispatcher::new(w.deps.clone());
    dispatch_all(&dispatcher).await;
    let bodies: Vec<serde_json::Value> =
        seen.lock().expect("lock").iter().map(|(_, b)| serde_json::from_slice(b).expect("json")).collect();
    assert!(bodies.iter().all(|b| b["event"] == "tracking_pending_time"));
    assert!(bodies.iter().any(|b| b["msg"]["id"] == id.as_str()));

    w.clock.advance(Duration::hours(48));
    let report = scan().await.expect("scanned");
    assert_eq!((report.messages, report.webhooks), (1, 0), "three days quiet: one no_update email; the same spell");
    assert_eq!(scan().await.expect("again").messages, 0, "once per shipment");
    let messages = store.shipment_messages(&w.tenant, &written_to).await.expect("ledger");
    assert_eq!(messages.iter().map(|m| m.trigger).collect::<Vec<_>>(), [crate::domain::Trigger::NoUpdate]);
    let mut s = w.deps.shipments.get(&w.tenant, &id).await.expect("read").expect("there");
    let input = crate::domain::CheckpointInput::new(
        s.slug.clone(),
        s.tracking_number.clone(),
        crate::domain::EventTime::from_utc(w.clock.now()),
        crate::domain::Subtag::parse("InTransit_002").expect("code"),
        "Departed",
        crate::domain::CheckpointSource::Carrier,
    );
    s.merge([input], w.clock.now());
    w.deps.shipments.update(&s).await.expect("updated");
    w.clock.advance(Duration::hours(25));
    assert_eq!(scan().await.expect("scanned").webhooks, 1, "news started another spell for the first parcel");
}

#[tokio::test]
async fn a_revised_estimated_delivery_date_is_an_edd_revise_for_the_endpoints_that_take_it() {
    use crate::domain::{CheckpointInput, CheckpointSource, EventTime, Subtag};
    let w = world(TIMEOUT).await;
    let (url, seen) = receiver(StatusCode::NO_CONTENT).await;
    let write = EndpointWrite { url: Some(url), events: Some(vec![WebhookEvent::EddRevise]), pending_hours: None };
    create_endpoint(&w.deps, &w.tenant, write).await.expect("registered");
    let id = shipment(&w, "1Z999AA10123456784").await;
    let created = w.deps.shipments.get(&w.tenant, &id).await.expect("read").expect("there");
    let first = created.edd.clone().expect("a new tracking is estimated").first;

    // Picked up twelve days ago and still on its way: the estimate moves on.
    let picked_up = EventTime::from_utc(w.clock.now() - Duration::days(12));
    let event = CheckpointInput::new(
        created.slug.clone(),
        created.tracking_number.clone(),
        picked_up,
        Subtag::parse("InTransit_001").expect("subtag"),
        "Departed",
        CheckpointSource::Carrier,
    );
    let updated = crate::app::update_tracking(&w.deps, &w.tenant, &id, |s| {
        s.merge(vec![event.clone()], w.clock.now());
        Ok(())
    })
    .await
    .expect("updated");
    let latest = updated.edd.clone().expect("estimated").latest;
    assert_ne!(latest.date, first.date);
    let change = ChangeEvent {
        tenant_id: w.tenant.clone(),
        shipment_id: id.clone(),
        kind: ChangeKind::Updated,
        at: w.clock.now(),
        old: Some(StatusSnapshot::of(&created)),
        new: Some(StatusSnapshot::of(&updated)),
    };
    assert!(crate::app::fanout::is_news(&change));
    assert_eq!(
        plan_webhooks(&w.deps, &change).await.expect("planned"),
        1,
        "edd_revise only: the endpoint takes no more"
    );
    let first_estimate =
        ChangeEvent { old: Some(StatusSnapshot { edd: None, ..StatusSnapshot::of(&created) }), ..change };
    assert!(!crate::app::fanout::is_edd_revision(&first_estimate), "a first estimate is no revision");

    let dispatcher = Dispatcher::new(w.deps.clone());
    assert_eq!(dispatch_all(&dispatcher).await, 1);
    let seen = seen.lock().expect("lock").clone();
    let json: serde_json::Value = serde_json::from_slice(&seen[0].1).expect("json");
    assert_eq!(json["event"], "edd_revise");
    let msg = &json["msg"];
    assert_eq!(msg["latest_estimated_delivery"]["datetime"], latest.date.format("%Y-%m-%d").to_string());
    assert_eq!(msg["first_estimated_delivery"]["datetime"], first.date.format("%Y-%m-%d").to_string());
    assert_eq!(msg["latest_estimated_delivery"]["source"], "AfterShip EDD");
    assert_eq!(msg["aftership_estimated_delivery_date"]["confidence_code"], 30004, "no destination address");
}
