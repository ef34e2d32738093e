use std::sync::Arc;

use chrono::Duration;

use super::*;
use crate::adapters::sqlite::SqliteStore;
use crate::app::{NewTracking, create_tenant, create_tracking};
use crate::domain::{
    CheckpointInput, CheckpointSource, Customer, EventTime, ShipmentDetails, ShipmentId, Slug, Subtag, TrackingNumber,
};
use crate::ports::{Clock, StatusSnapshot};
use crate::testkit::ManualClock;

struct World {
    deps: Deps,
    store: SqliteStore,
    clock: Arc<ManualClock>,
    tenant: TenantId,
}

async fn world() -> World {
    let store = SqliteStore::in_memory().expect("store");
    let clock = Arc::new(ManualClock::at(chrono::Utc::now()));
    let deps = crate::testkit::deps(store.clone(), clock.clone());
    let tenant = create_tenant(&deps, "Acme").await.expect("tenant").0.id;
    World { deps, store, clock, tenant }
}

async fn shipment(w: &World, number: &str) -> ShipmentId {
    let details = ShipmentDetails {
        customers: vec![Customer { email: Some("ann@example.com".into()), ..Customer::default() }],
        ..ShipmentDetails::default()
    };
    let new = NewTracking {
        slug: Some(Slug::parse("ups").expect("slug")),
        tracking_number: TrackingNumber::parse(number).expect("number"),
        details,
        last_mile: None,
    };
    create_tracking(&w.deps, &w.tenant, new).await.expect("created").id
}

/// Adds a carrier event with `code` to the shipment and answers the change it made.
async fn event(w: &World, id: &ShipmentId, code: &str) -> ChangeEvent {
    let mut s = w.deps.shipments.get(&w.tenant, id).await.expect("read").expect("there");
    let old = StatusSnapshot::of(&s);
    let at = w.clock.now();
    let input = CheckpointInput::new(
        s.slug.clone(),
        s.tracking_number.clone(),
        EventTime::from_utc(at - Duration::minutes(5)),
        Subtag::parse(code).expect("code"),
        format!("carrier says {code}"),
        CheckpointSource::Carrier,
    );
    s.merge([input], at);
    w.deps.shipments.update(&s).await.expect("updated");
    let s = w.deps.shipments.get(&w.tenant, id).await.expect("read").expect("there");
    ChangeEvent {
        tenant_id: w.tenant.clone(),
        shipment_id: id.clone(),
        kind: ChangeKind::Updated,
        at,
        old: Some(old),
        new: Some(StatusSnapshot::of(&s)),
    }
}

fn open_only() -> CaseFilter {
    CaseFilter { state: Some(CaseState::Open), ..CaseFilter::default() }
}

#[tokio::test]
async fn a_failed_attempt_opens_one_case_that_reopens_only_on_new_facts() {
    let w = world().await;
    // The team's endpoint hears of each opening; a tracking_update endpoint does not.
    let team = crate::app::webhooks::EndpointWrite {
        url: Some("https://team.example.com/hooks".into()),
        events: Some(vec![crate::domain::WebhookEvent::ExceptionCase]),
        pending_hours: None,
    };
    crate::app::webhooks::create_endpoint(&w.deps, &w.tenant, team).await.expect("registered");
    let team_events = || async {
        let (from, to) = (w.clock.now() - Duration::days(1), w.clock.now() + Duration::days(1));
        let kept = w.deps.webhooks.events_between(&w.tenant, from, to, 10).await.expect("events");
        kept.into_iter()
            .map(|e| serde_json::from_slice::<serde_json::Value>(&e.body).expect("json"))
            .collect::<Vec<_>>()
    };
    let id = shipment(&w, "1Z999AA10123456784").await;
    event(&w, &id, "InTransit_002").await;
    let failed = event(&w, &id, "AttemptFail_002").await;
    let report = evaluate_change(&w.deps, &w.store, &failed).await.expect("evaluated");
    assert_eq!(report, EvaluationReport { opened: 1, reopened: 0 });
    assert_eq!(evaluate_change(&w.deps, &w.store, &failed).await.expect("again"), EvaluationReport::default());
    let heard = team_events().await;
    assert_eq!(heard.len(), 1, "one event per opening: {heard:?}");
    assert_eq!(heard[0]["event"], "exception_case");
    assert_eq!(heard[0]["exception"]["rule_id"], "er_failed_attempt");
    assert_eq!(heard[0]["msg"]["id"], id.as_str(), "with the tracking as GET /trackings/{{id}} shows it");
    let cases = list_cases(&w.deps, &w.tenant, &open_only(), 10).await.expect("listed");
    assert_eq!(cases.len(), 1);
    let case = &cases[0];
    assert_eq!(
        (case.rule_id.as_str(), case.severity, case.shipment_id.clone()),
        ("er_failed_attempt", Severity::Medium, id.clone())
    );

    let write = CaseWrite {
        assignee: Some(Some("kim".into())),
        note: Some("called the depot".into()),
        author: Some("Kim".into()),
        state: Some(CaseState::Resolved),
    };
    let resolved = change_case(&w.deps, &w.tenant, &case.id, &write).await.expect("resolved");
    assert_eq!(
        (resolved.state, resolved.assignee.as_deref(), resolved.notes.len()),
        (CaseState::Resolved, Some("kim"), 1)
    );
    assert_eq!(evaluate_change(&w.deps, &w.store, &failed).await.expect("same facts"), EvaluationReport::default());
    assert!(list_cases(&w.deps, &w.tenant, &open_only(), 10).await.expect("listed").is_empty(), "stays resolved");

    w.clock.advance(Duration::hours(20));
    let second = event(&w, &id, "AttemptFail_003").await;
    let report = evaluate_change(&w.deps, &w.store, &second).await.expect("evaluated");
    assert_eq!(report, EvaluationReport { opened: 0, reopened: 1 }, "a second failed attempt is news");
    let reopened = get_case(&w.deps, &w.tenant, &case.id).await.expect("read");
    assert_eq!((reopened.state, reopened.reopened, reopened.notes.len()), (CaseState::Open, 1, 1));
    let heard = team_events().await;
    assert_eq!(heard.len(), 2, "the reopening is another event");
    assert_eq!(heard[1]["exception"]["reopened_count"], 1);

    let other = create_tenant(&w.deps, "Other").await.expect("tenant").0.id;
    assert!(matches!(get_case(&w.deps, &other, &case.id).await, Err(AppError::Missing(_))), "per merchant");
    assert!(matches!(change_case(&w.deps, &other, &case.id, &write).await, Err(AppError::Missing(_))));
    let blank = CaseWrite { note: Some("  ".into()), ..CaseWrite::default() };
    assert!(
        matches!(change_case(&w.deps, &w.tenant, &case.id, &blank).await, Err(AppError::Invalid(ref e)) if e.field == "note")
    );
}

#[tokio::test]
async fn a_rule_tags_the_shipment_and_writes_to_the_shopper_within_its_scope() {
    let w = world().await;
    let write: ExceptionRuleWrite = serde_json::from_value(serde_json::json!({
        "name": "Customs", "condition": {"type": "customs_hold"}, "severity": "high",
        "reason": "held in customs", "scope": {"slugs": ["ups"]},
        "actions": {"add_tag": "customs", "notify_shopper": true}
    }))
    .expect("rule");
    let rule = create_rule(&w.deps, &w.tenant, write).await.expect("created");
    assert!(rule.id.starts_with("er_"));
    let id = shipment(&w, "1Z999AA10123456784").await;
    let held = event(&w, &id, "Exception_019").await;
    let report = evaluate_change(&w.deps, &w.store, &held).await.expect("evaluated");
    assert_eq!(report.opened, 2, "the carrier exception default and the customs rule");
    let tagged = w.deps.shipments.get(&w.tenant, &id).await.expect("read").expect("there");
    assert_eq!(tagged.details.shipment_tags, ["customs"]);
    let messages = w.store.shipment_messages(&w.tenant, &id).await.expect("ledger");
    assert!(
        messages.iter().any(|m| m.trigger == Trigger::Exception && m.recipient == "ann@example.com"),
        "{messages:?}"
    );
    let high = CaseFilter { severity: Some(Severity::High), rule_id: Some(rule.id.clone()), ..CaseFilter::default() };
    assert_eq!(list_cases(&w.deps, &w.tenant, &high, 10).await.expect("listed").len(), 1);

    let out_of_scope: ExceptionRuleWrite =
        serde_json::from_value(serde_json::json!({"scope": {"slugs": ["fedex"]}})).expect("write");
    update_rule(&w.deps, &w.tenant, &rule.id, out_of_scope).await.expect("changed");
    let other = shipment(&w, "1Z999AA10123456785").await;
    let held = event(&w, &other, "Exception_019").await;
    assert_eq!(evaluate_change(&w.deps, &w.store, &held).await.expect("evaluated").opened, 1, "only the default");

    let bad: ExceptionRuleWrite =
        serde_json::from_value(serde_json::json!({"condition": {"type": "failed_attempts", "at_least": 0}}))
            .expect("w");
    let refused = update_rule(&w.deps, &w.tenant, &rule.id, bad).await;
    assert!(matches!(refused, Err(AppError::Invalid(ref e)) if e.field == "condition.at_least"), "{refused:?}");
    assert!(matches!(
        create_rule(&w.deps, &w.tenant, ExceptionRuleWrite::default()).await,
        Err(AppError::Required("name"))
    ));
    delete_rule(&w.deps, &w.tenant, &rule.id).await.expect("deleted");
    assert!(matches!(get_rule(&w.deps, &w.tenant, &rule.id).await, Err(AppError::Missing(_))));
}

#[tokio::test]
async fn the_scan_finds_parcels_without_news_for_a_week_in_transit() {
    let w = world().await;
    let quiet = shipment(&w, "1Z999AA10123456784").await;
    event(&w, &quiet, "InTransit_002").await;
    let delivered = shipment(&w, "1Z999AA10123456785").await;
    event(&w, &delivered, "Delivered_001").await;
    assert_eq!(
        crate::app::scan::scan_active(&w.deps, &w.store).await.expect("scanned").cases,
        EvaluationReport::default(),
        "too early"
    );
    w.clock.advance(Duration::days(8));
    let report = crate::app::scan::scan_active(&w.deps, &w.store).await.expect("scanned");
    assert_eq!(report.cases.opened, 1);
    let cases = list_cases(&w.deps, &w.tenant, &CaseFilter::default(), 10).await.expect("listed");
    assert_eq!((cases.len(), cases[0].rule_id.as_str(), &cases[0].shipment_id), (1, "er_no_update_7_days", &quiet));
    assert_eq!(
        crate::app::scan::scan_active(&w.deps, &w.store).await.expect("again").cases,
        EvaluationReport::default(),
        "once"
    );
    let older = CaseFilter { opened_before: Some(w.clock.now() - Duration::hours(1)), ..CaseFilter::default() };
    assert!(list_cases(&w.deps, &w.tenant, &older, 10).await.expect("listed").is_empty(), "opened just now");
}

#[tokio::test]
async fn the_team_gets_one_email_per_opening_even_for_a_parcel_created_in_trouble() {
    use crate::app::notifications::{DispatchReport, dispatch_due};
    let mut w = world().await;
    w.deps.public_url = Some(Arc::from("https://track.example"));
    let write: ExceptionRuleWrite = serde_json::from_value(serde_json::json!({
        "name": "Customs", "condition": {"type": "customs_hold"}, "severity": "high",
        "reason": "held in customs", "actions": {"notify_team": ["Ops@Shop.example", "lead@shop.example"]}
    }))
    .expect("rule");
    create_rule(&w.deps, &w.tenant, write).await.expect("created");
    let bad: ExceptionRuleWrite =
        serde_json::from_value(serde_json::json!({"name": "x", "reason": "y", "condition": {"type": "customs_hold"},
            "actions": {"notify_team": ["not an address"]}}))
        .expect("write");
    let refused = create_rule(&w.deps, &w.tenant, bad).await;
    assert!(matches!(refused, Err(AppError::Invalid(ref e)) if e.field == "actions.notify_team"), "{refused:?}");

    let id = shipment(&w, "1Z999AA10123456784").await;
    let held = event(&w, &id, "Exception_019").await;
    let created_in_trouble = ChangeEvent { kind: ChangeKind::Created, ..held.clone() };
    evaluate_change(&w.deps, &w.store, &created_in_trouble).await.expect("evaluated");
    evaluate_change(&w.deps, &w.store, &held).await.expect("again: nothing new");
    let team: Vec<_> = w
        .store
        .shipment_messages(&w.tenant, &id)
        .await
        .expect("ledger")
        .into_iter()
        .filter(|m| m.trigger == Trigger::TeamAlert)
        .collect();
    let mut recipients: Vec<&str> = team.iter().map(|m| m.recipient.as_str()).collect();
    recipients.sort_unstable();
    assert_eq!(recipients, ["lead@shop.example", "ops@shop.example"], "one per address, though evaluated twice");

    let dir = std::env::temp_dir().join(format!("porchlight-team-{}", uuid::Uuid::new_v4().simple()));
    let outbox = crate::adapters::outbox::OutboxMessenger::new(&dir, "notifications@acme.example").expect("outbox");
    let report = dispatch_due(&w.deps, &w.store, &outbox, 10).await.expect("dispatched");
    assert_eq!(report, DispatchReport { sent: 2, ..DispatchReport::default() }, "no shopper email: created in trouble");
    let emails: Vec<String> = std::fs::read_dir(&dir)
        .expect("outbox")
        .map(|e| std::fs::read_to_string(e.expect("entry").path()).expect("read"))
        .collect();
    // The carrier-exception default opened a case too: the email reports every open case.
    let subject = "Subject: 2 exceptions: Carrier exception and more (1Z999AA10123456784)";
    assert!(emails.iter().all(|eml| eml.contains(subject)), "{emails:?}");
    assert!(emails.iter().all(|eml| eml.contains("Customs (high): held in customs") && !eml.contains("Unsubscribe")));

    // Resolved, then held again with new facts: reopened, the team hears again.
    let cases = list_cases(&w.deps, &w.tenant, &open_only(), 10).await.expect("listed");
    let customs = cases.iter().find(|c| c.rule_name == "Customs").expect("the customs case");
    let resolve = CaseWrite { state: Some(CaseState::Resolved), ..CaseWrite::default() };
    change_case(&w.deps, &w.tenant, &customs.id, &resolve).await.expect("resolved");
    w.clock.advance(Duration::hours(3));
    let again = event(&w, &id, "Exception_004").await;
    evaluate_change(&w.deps, &w.store, &again).await.expect("evaluated");
    let report = dispatch_due(&w.deps, &w.store, &outbox, 10).await.expect("dispatched");
    assert_eq!(report.sent, 2, "{report:?}");
    std::fs::remove_dir_all(&dir).ok();
}
