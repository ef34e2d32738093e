//! The Lambda handlers with the sample events under `events/`, against the moto emulator
//! (`scripts/test.sh` starts it and sets `AWS_ENDPOINT_URL`).

use porchlight::app::{self, NewTracking};
use porchlight::domain::{ShipmentDetails, Tag, TrackingNumber};
use porchlight::ports::{QueueName, WorkQueue};
use porchlight_aws::{Runtime, handlers};

#[path = "../examples/support/mod.rs"]
mod support;

/// A runtime on a table and queues of its own.
async fn runtime() -> Runtime {
    support::emulator().expect("AWS_ENDPOINT_URL must name a loopback moto server (scripts/test.sh starts one)");
    let config = support::config(&support::settings()).expect("config");
    let runtime = Runtime::connect(&config).await;
    support::create_resources(&runtime, &config).await.expect("table and queues");
    runtime
}

fn sample(name: &str) -> serde_json::Value {
    support::sample(name).expect("a sample event")
}

/// Hands the notifier one move from pending to in transit (at `version`), delivered twice as
/// SQS may; every record must be handled.
/// The UPS sample parcel with `details`.
fn ups_tracking(details: ShipmentDetails) -> NewTracking {
    NewTracking {
        slug: Some(porchlight::domain::Slug::parse("ups").expect("slug")),
        tracking_number: TrackingNumber::parse("1Z999AA10123456784").expect("number"),
        details,
        last_mile: None,
    }
}

async fn notify_twice(
    runtime: &Runtime,
    tenant: &porchlight::domain::TenantId,
    shipment: &porchlight::domain::ShipmentId,
    version: u64,
) {
    use porchlight::ports::{ChangeEvent, ChangeKind, Received, StatusSnapshot};
    let snapshot = |tag: Tag| StatusSnapshot::bare(version, tag, tag.default_subtag(), true, 1);
    let change = ChangeEvent {
        tenant_id: tenant.clone(),
        shipment_id: shipment.clone(),
        kind: ChangeKind::Updated,
        at: chrono::Utc::now(),
        old: Some(snapshot(Tag::Pending)),
        new: Some(snapshot(Tag::InTransit)),
    };
    let received = |id: u64| Received {
        id,
        body: serde_json::to_vec(&change).expect("json"),
        receive_count: 1,
        enqueued_at: chrono::Utc::now(),
    };
    let event = support::sqs_event(&[received(1), received(2)]);
    let answer = handlers::notify(runtime, handlers::NotifierEvent::Changes(event)).await.expect("handled");
    assert!(answer.batch_item_failures.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracking_updater_merges_updates_and_quarantines_what_cannot_be_parsed() {
    let runtime = runtime().await;
    let (tenant, _) = app::create_tenant(&runtime.deps, "Acme").await.expect("tenant");
    let new = NewTracking {
        slug: None,
        tracking_number: TrackingNumber::parse("TC-DELIVERED-5-EVENT1").expect("number"),
        details: ShipmentDetails::default(),
        last_mile: None,
    };
    let shipment = app::create_tracking(&runtime.deps, &tenant.id, new).await.expect("created");

    let event = serde_json::from_value(sample("tracking-updater.json")).expect("an SQS event");
    let response = handlers::update_trackings(&runtime, event).await;
    assert!(response.batch_item_failures.is_empty(), "{:?}", response.batch_item_failures);

    let stored = runtime.deps.shipments.get(&tenant.id, &shipment.id).await.expect("read").expect("exists");
    assert_eq!((stored.tag, stored.checkpoints.len()), (Tag::InTransit, 2));
    let dead = runtime.queues.dead_letters(QueueName::CarrierUpdates, 0, 10).await.expect("dead letters");
    assert_eq!(dead.iter().map(|d| d.id).collect::<Vec<_>>(), [1_763_721_660_000_000_002]);
    assert!(dead[0].reason.starts_with("malformed carrier response: sandbox push"), "{}", dead[0].reason);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracking_updater_reports_unreadable_records_for_another_delivery() {
    let runtime = runtime().await;
    let mut event = sample("tracking-updater.json");
    event["Records"][0]["messageAttributes"] = serde_json::json!({});
    let event = serde_json::from_value(event).expect("an SQS event");
    let response = handlers::update_trackings(&runtime, event).await;
    let failed: Vec<_> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    assert_eq!(failed, ["5f0c7a1e-4d1b-4f4e-9a57-1f6f1c0e0001"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_intake_queues_signed_pushes_and_refuses_others() {
    let runtime = runtime().await;
    let router = || porchlight_aws::webhook_intake_router(runtime.deps.clone());
    let event = sample("webhook-intake.json");
    let (status, body) = support::call(router(), &event).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(runtime.deps.queue.depth(QueueName::CarrierUpdates).await.expect("depth"), 1);

    let mut forged = event.clone();
    forged["headers"]["x-testing-courier-signature"] = "AAAA".into();
    assert_eq!(support::call(router(), &forged).await.0, 401);
    let mut merchant_path = event;
    merchant_path["rawPath"] = "/tracking/2026-07/trackings".into();
    merchant_path["requestContext"]["http"]["path"] = "/tracking/2026-07/trackings".into();
    assert_eq!(support::call(router(), &merchant_path).await.0, 404, "the intake function serves webhooks only");
    assert_eq!(
        runtime.deps.queue.depth(QueueName::CarrierUpdates).await.expect("depth"),
        1,
        "refused ones are not kept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_serves_the_merchant_api_from_dynamodb() {
    let runtime = runtime().await;
    let event = sample("api.json");
    let tenant = support::add_merchant(&runtime, &event).await.expect("merchant");
    let new = NewTracking {
        slug: None,
        tracking_number: TrackingNumber::parse("TC-DELIVERED-5-EVENT1").expect("number"),
        details: ShipmentDetails::default(),
        last_mile: None,
    };
    app::create_tracking(&runtime.deps, &tenant, new).await.expect("created");

    let router = || porchlight_aws::api_router(runtime.deps.clone());
    let (status, body) = support::call(router(), &event).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["trackings"][0]["tracking_number"], "TC-DELIVERED-5-EVENT1");
    let mut webhook = sample("webhook-intake.json");
    webhook["headers"]["as-api-key"] = event["headers"]["as-api-key"].clone();
    assert_eq!(support::call(router(), &webhook).await.0, 404, "the api function takes no webhooks");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_makes_merchants_and_keys_for_the_operator() {
    let runtime = runtime().await;
    let router = || porchlight_aws::api_router(runtime.deps.clone());
    let mut create = sample("api.json");
    create["routeKey"] = "ANY /admin/{proxy+}".into();
    create["rawPath"] = "/admin/tenants".into();
    create["requestContext"]["http"]["path"] = "/admin/tenants".into();
    create["requestContext"]["http"]["method"] = "POST".into();
    create["headers"]["x-porchlight-admin-token"] = support::ADMIN_TOKEN.into();
    create["body"] = serde_json::json!({"name": "Acme"}).to_string().into();
    let (status, created) = support::call(router(), &create).await;
    assert_eq!(status, 201, "{created}");
    let (status, listed) = support::call(router(), &{
        let mut list = create.clone();
        list["requestContext"]["http"]["method"] = "GET".into();
        list
    })
    .await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["data"]["tenants"][0]["name"], "Acme", "listed from GSI1");

    let mut merchant = sample("api.json");
    merchant["headers"]["as-api-key"] = created["data"]["api_key"]["key"].clone();
    let (status, body) = support::call(router(), &merchant).await;
    assert_eq!(status, 200, "the new key works: {body}");
    create["headers"]["x-porchlight-admin-token"] = "wrong".into();
    assert_eq!(support::call(router(), &create).await.0, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_fanout_queues_status_changes_and_skips_the_rest() {
    let runtime = runtime().await;
    let event = serde_json::from_value(sample("status-fanout.json")).expect("a DynamoDB stream event");
    let response = handlers::fan_out_status(&runtime, event).await;
    assert!(response.batch_item_failures.is_empty());
    let queued =
        runtime.queues.receive(QueueName::StatusChanges, 10, chrono::Duration::seconds(30)).await.expect("received");
    assert_eq!(queued.len(), 1, "the leg item, the update without a status move and the TTL removal are skipped");
    let change: porchlight::ports::ChangeEvent = serde_json::from_slice(&queued[0].body).expect("a change event");
    assert_eq!(change.kind, porchlight::ports::ChangeKind::Updated);
    assert_eq!(change.shipment_id.as_str(), "0123456789abcdef0123456789abcdef");
    assert_eq!(change.old.map(|s| (s.tag, s.version)), Some((Tag::InTransit, 2)));
    assert_eq!(change.new.map(|s| (s.tag, s.version)), Some((Tag::OutForDelivery, 3)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn carrier_poller_polls_due_shipments_and_queues_the_answers() {
    let runtime = runtime().await;
    let _: aws_lambda_events::eventbridge::EventBridgeEvent<serde_json::Value> =
        serde_json::from_value(sample("carrier-poller.json")).expect("an EventBridge scheduled event");
    let (tenant, _) = app::create_tenant(&runtime.deps, "Acme").await.expect("tenant");
    let new = NewTracking {
        slug: None,
        tracking_number: TrackingNumber::parse("TC-DELIVERED-1SEC-EVENT2").expect("number"),
        details: ShipmentDetails::default(),
        last_mile: None,
    };
    let shipment = app::create_tracking(&runtime.deps, &tenant.id, new).await.expect("created");
    // The one-second journey is over: the carrier has news.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let report = handlers::poll_carriers(&runtime, chrono::Utc::now()).await.expect("polled");
    assert_eq!((report.shipments, report.requests, report.failed_requests), (1, 1, 0));
    assert_eq!(runtime.deps.queue.depth(QueueName::CarrierUpdates).await.expect("depth"), 1);
    let polled = runtime.deps.shipments.get(&tenant.id, &shipment.id).await.expect("read").expect("exists");
    assert_eq!((polled.next_poll_at, polled.poll_cadence), (None, Some(7200)), "the first poll done, on its cadence");
    let again = handlers::poll_carriers(&runtime, chrono::Utc::now()).await.expect("polled");
    assert_eq!(again.shipments, 0, "nothing is due until then");
}

/// The status and body text of `router` on `event`.
async fn call_text(router: axum::Router, event: &serde_json::Value) -> (u16, String) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let request = lambda_http::request::from_str(&event.to_string()).expect("an API Gateway v2 event");
    let response = router.oneshot(request).await.expect("infallible");
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracking_page_serves_shoppers_from_dynamodb_and_limits_each_viewer() {
    let mut runtime = runtime().await;
    runtime.deps.page_lookups_per_minute = 2;
    let tenant = support::add_merchant(&runtime, &sample("api.json")).await.expect("merchant");
    let new = ups_tracking(ShipmentDetails { order_number: Some("#1001".into()), ..ShipmentDetails::default() });
    app::create_tracking(&runtime.deps, &tenant, new).await.expect("created");
    let page = app::pages::page_settings(&runtime.deps, &tenant).await.expect("page");
    assert_eq!(page.slug, "benchmark-shop", "the page the sample event asks for");

    let router = porchlight_aws::tracking_page_router(runtime.deps.clone());
    let event = sample("tracking-page.json");
    let (status, html) = call_text(router.clone(), &event).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("<html lang=\"de\">") && html.contains("Warten auf den Versanddienstleister"), "{html}");
    assert!(!html.contains("#1001"), "no order details on a lookup by number");
    assert_eq!(call_text(router.clone(), &event).await.0, 200);
    assert_eq!(call_text(router.clone(), &event).await.0, 429, "the viewer's third lookup in a minute");
    let mut other_viewer = event.clone();
    other_viewer["headers"]["cloudfront-viewer-address"] = "[2001:db8::7]:443".into();
    assert_eq!(call_text(router.clone(), &other_viewer).await.0, 200, "limits are per viewer, not per edge");
    let mut direct = event.clone();
    direct["headers"].as_object_mut().expect("headers").remove("cloudfront-viewer-address");
    assert_eq!(call_text(router.clone(), &direct).await.0, 200, "without CloudFront: API Gateway's source address");
    let mut unknown = event;
    unknown["rawPath"] = "/t/no-such-shop/1Z999AA10123456784".into();
    unknown["requestContext"]["http"]["path"] = "/t/no-such-shop/1Z999AA10123456784".into();
    assert_eq!(call_text(router, &unknown).await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifier_plans_a_status_change_once_and_sends_email_through_ses_and_sms_through_sns() {
    use porchlight::app::notification_rules::{RuleWrite, create_rule};
    use porchlight::ports::{MessageLedger, MessageState};

    let runtime = runtime().await;
    let config = support::config(&support::settings()).expect("config");
    support::verify_sender(&config).await;
    let tenant = support::add_merchant(&runtime, &sample("api.json")).await.expect("merchant");
    let details = ShipmentDetails {
        order_number: Some("#2001".into()),
        customers: vec![porchlight::domain::Customer {
            email: Some("ann@example.com".into()),
            phone_number: Some("+4915112345678".into()),
            language: Some("fr".into()),
            ..porchlight::domain::Customer::default()
        }],
        ..ShipmentDetails::default()
    };
    let new = ups_tracking(details);
    let shipment = app::create_tracking(&runtime.deps, &tenant, new).await.expect("created");
    let sms: RuleWrite =
        serde_json::from_value(serde_json::json!({"trigger": "in_transit", "channels": ["sms"]})).expect("rule");
    create_rule(&runtime.deps, &tenant, sms).await.expect("rule");

    // The same change delivered twice, as SQS may: planned and sent once.
    notify_twice(&runtime, &tenant, &shipment.id, 1).await;
    let messages = runtime.ledger.shipment_messages(&tenant, &shipment.id).await.expect("read");
    assert_eq!(messages.len(), 2, "the default email and the SMS rule: {messages:?}");
    assert!(messages.iter().all(|m| m.state == MessageState::Sent && m.detail.is_some()), "{messages:?}");
    let tick: handlers::NotifierEvent =
        serde_json::from_value(serde_json::json!({"source": "aws.events", "detail-type": "Scheduled Event"}))
            .expect("tick");
    handlers::notify(&runtime, tick).await.expect("nothing left to send");

    let data = support::moto_data().await;
    assert!(data.contains("ann@example.com"), "SES holds the email");
    assert!(data.contains("Content-Language: fr"), "in the shopper's language");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifier_puts_ses_bounces_and_sns_opt_outs_on_the_merchants_suppression_list() {
    use porchlight::ports::{MessageLedger, MessageState, SuppressionReason};

    let runtime = runtime().await;
    let config = support::config(&support::settings()).expect("config");
    support::verify_sender(&config).await;
    let tenant = support::add_merchant(&runtime, &sample("api.json")).await.expect("merchant");
    let other = app::create_tenant(&runtime.deps, "Other shop").await.expect("another merchant").0.id;

    // SES's report, as its configuration set publishes it through SNS, tagged with the merchant.
    let mut event = sample("ses-feedback.json");
    let message = event["Records"][0]["Sns"]["Message"].as_str().expect("a message").replace(
        "\"porchlight-tenant\": [\"00000000000000000000000000000000\"]",
        &format!("\"porchlight-tenant\": [\"{tenant}\"]"),
    );
    assert!(message.contains(tenant.as_str()), "the sample carries the tenant tag");
    event["Records"][0]["Sns"]["Message"] = message.into();
    let event: handlers::NotifierEvent = serde_json::from_value(event).expect("an SNS event");
    assert!(matches!(event, handlers::NotifierEvent::Feedback(_)));
    handlers::notify(&runtime, event).await.expect("handled");
    let (listed, _) = app::suppressions::list(&runtime.deps, &tenant, None, 10).await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].address.as_str(), listed[0].reason), ("lee@example.com", SuppressionReason::Bounce));
    assert!(app::suppressions::list(&runtime.deps, &other, None, 10).await.expect("list").0.is_empty());

    // The next email to that address is recorded as suppressed, not sent; the SMS to a number
    // SNS lists as opted out (moto: numbers ending in 99) is not published, and the number
    // joins the list.
    let sms = serde_json::from_value(serde_json::json!({"trigger": "in_transit", "channels": ["sms"]})).expect("rule");
    app::notification_rules::create_rule(&runtime.deps, &tenant, sms).await.expect("rule");
    let details = ShipmentDetails {
        customers: vec![porchlight::domain::Customer {
            email: Some("Lee@example.com".into()),
            phone_number: Some("+4915112345699".into()),
            ..porchlight::domain::Customer::default()
        }],
        ..ShipmentDetails::default()
    };
    let new = ups_tracking(details);
    let shipment = app::create_tracking(&runtime.deps, &tenant, new).await.expect("created");
    notify_twice(&runtime, &tenant, &shipment.id, 1).await;
    let messages = runtime.ledger.shipment_messages(&tenant, &shipment.id).await.expect("read");
    let state = |channel: porchlight::domain::Channel| messages.iter().find(|m| m.channel == channel).map(|m| m.state);
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert_eq!(state(porchlight::domain::Channel::Email), Some(MessageState::Suppressed));
    assert_eq!(state(porchlight::domain::Channel::Sms), Some(MessageState::Failed));
    let (listed, _) = app::suppressions::list(&runtime.deps, &tenant, None, 10).await.expect("list");
    let opted_out: Vec<_> = listed.iter().filter(|s| s.reason == SuppressionReason::OptedOut).collect();
    assert_eq!(opted_out.len(), 1);
    assert_eq!(opted_out[0].address, "+4915112345699");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_change_reaches_a_merchant_webhook_once_signed_through_the_notifier_and_dispatcher() {
    use std::sync::{Arc, Mutex};

    use axum::body::Bytes;
    use axum::http::HeaderMap;
    use porchlight::app::webhooks::{self, EndpointWrite};
    use porchlight::domain::{TargetPolicy, sign_webhook};
    use porchlight::ports::DeliveryState;

    let mut runtime = runtime().await;
    runtime.deps.webhook_targets = TargetPolicy::AllowPrivate;
    runtime.deps.webhook_http = Arc::new(porchlight::adapters::http_client::ReqwestClient::for_webhooks(
        std::time::Duration::from_secs(5),
        TargetPolicy::AllowPrivate,
    ));
    runtime.webhook_dispatcher = webhooks::dispatch::Dispatcher::new(runtime.deps.clone());
    let seen: Arc<Mutex<Vec<(HeaderMap, Bytes)>>> = Arc::default();
    let kept = seen.clone();
    let receiver = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
        let kept = kept.clone();
        async move {
            kept.lock().expect("lock").push((headers, body));
            axum::http::StatusCode::OK
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("port");
    let url = format!("http://{}/hooks", listener.local_addr().expect("bound"));
    tokio::spawn(async move { axum::serve(listener, receiver).await });

    let tenant = support::add_merchant(&runtime, &sample("api.json")).await.expect("merchant");
    let write = EndpointWrite { url: Some(url), events: None, pending_hours: None };
    let (endpoint, secret) = webhooks::create_endpoint(&runtime.deps, &tenant, write).await.expect("registered");
    let new = ups_tracking(ShipmentDetails::default());
    let shipment = app::create_tracking(&runtime.deps, &tenant, new).await.expect("created");
    notify_twice(&runtime, &tenant, &shipment.id, 2).await;

    handlers::dispatch_webhooks(&runtime, sample("webhook-dispatcher.json")).await.expect("dispatched");
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 1, "a change delivered twice is posted once");
    let (headers, body) = &seen[0];
    let signature = headers.get("aftership-hmac-sha256").and_then(|v| v.to_str().ok()).expect("signed");
    assert_eq!(signature, sign_webhook(&secret, body));
    let json: serde_json::Value = serde_json::from_slice(body).expect("json");
    assert_eq!(
        (json["event"].as_str(), json["msg"]["id"].as_str()),
        (Some("tracking_update"), Some(shipment.id.as_str()))
    );
    let log = webhooks::endpoint_deliveries(&runtime.deps, &tenant, &endpoint.id, None, None, 10).await.expect("log");
    assert_eq!(log.len(), 1);
    assert_eq!((log[0].state, log[0].attempts[0].status), (DeliveryState::Delivered, Some(200)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_delivery_opens_an_exception_case_through_the_notifier_and_the_detector_scans() {
    use porchlight::domain::{CaseState, CheckpointInput, CheckpointSource, EventTime, Subtag};
    use porchlight::ports::{CaseFilter, ChangeEvent, ChangeKind, Received, StatusSnapshot};

    let runtime = runtime().await;
    let tenant = support::add_merchant(&runtime, &sample("api.json")).await.expect("merchant");
    let new = ups_tracking(ShipmentDetails::default());
    let mut shipment = app::create_tracking(&runtime.deps, &tenant, new).await.expect("created");
    let old = StatusSnapshot::of(&shipment);
    let at = chrono::Utc::now();
    let failed = CheckpointInput::new(
        shipment.slug.clone(),
        shipment.tracking_number.clone(),
        EventTime::from_utc(at),
        Subtag::parse("AttemptFail_002").expect("code"),
        "Addressee not available",
        CheckpointSource::Carrier,
    );
    shipment.merge([failed], at);
    runtime.deps.shipments.update(&shipment).await.expect("updated");
    let shipment = runtime.deps.shipments.get(&tenant, &shipment.id).await.expect("read").expect("there");
    let change = ChangeEvent {
        tenant_id: tenant.clone(),
        shipment_id: shipment.id.clone(),
        kind: ChangeKind::Updated,
        at,
        old: Some(old),
        new: Some(StatusSnapshot::of(&shipment)),
    };
    let received =
        Received { id: 1, body: serde_json::to_vec(&change).expect("json"), receive_count: 1, enqueued_at: at };
    let event = support::sqs_event(&[received.clone(), Received { id: 2, ..received }]);
    let answer = handlers::notify(&runtime, handlers::NotifierEvent::Changes(event)).await.expect("handled");
    assert!(answer.batch_item_failures.is_empty());
    let open = CaseFilter { state: Some(CaseState::Open), ..CaseFilter::default() };
    let cases = app::exceptions::list_cases(&runtime.deps, &tenant, &open, 10).await.expect("queue");
    assert_eq!(cases.len(), 1, "one case for a change delivered twice: {cases:?}");
    assert_eq!((cases[0].rule_id.as_str(), cases[0].shipment_id.clone()), ("er_failed_attempt", shipment.id.clone()));

    handlers::detect_exceptions(&runtime, sample("exception-detector.json")).await.expect("scanned");
    let after = app::exceptions::list_cases(&runtime.deps, &tenant, &CaseFilter::default(), 10).await.expect("queue");
    assert_eq!(after.len(), 1, "nothing is a week old yet");
}
