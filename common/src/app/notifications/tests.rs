use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::Utc;

use super::*;
use crate::adapters::sqlite::SqliteStore;
use crate::app::notification_rules::{RuleWrite, create_rule};
use crate::app::{NewTracking, create_tenant, create_tracking};
use crate::domain::Contact;
use crate::domain::{Customer, Language, ShipmentDetails, ShipmentId, Slug, Tag, TenantId, TrackingNumber};
use crate::ports::{MessageState, StatusSnapshot};

struct World {
    deps: Deps,
    store: SqliteStore,
    tenant: TenantId,
}

async fn world() -> World {
    let store = SqliteStore::in_memory().expect("store");
    let deps = crate::testkit::deps(store.clone(), Arc::new(crate::ports::SystemClock));
    let tenant = create_tenant(&deps, "Acme").await.expect("tenant").0.id;
    World { deps, store, tenant }
}

async fn shipment(w: &World, number: &str, tags: &[&str]) -> ShipmentId {
    let details = ShipmentDetails {
        shipment_tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        customers: vec![Customer {
            email: Some("Ann@Example.com".into()),
            phone_number: Some("+4915112345678".into()),
            language: Some("de".into()),
            ..Customer::default()
        }],
        ..ShipmentDetails::default()
    };
    let slug = if number.starts_with("TC-") { crate::carriers::sandbox::SLUG } else { "ups" };
    let new = NewTracking {
        slug: Some(Slug::parse(slug).expect("slug")),
        tracking_number: TrackingNumber::parse(number).expect("number"),
        details,
        last_mile: None,
    };
    create_tracking(&w.deps, &w.tenant, new).await.expect("created").id
}

fn change(tenant: &TenantId, shipment: &ShipmentId, kind: ChangeKind, from: Option<Tag>, to: Tag) -> ChangeEvent {
    let snapshot = |tag: Tag| StatusSnapshot::bare(1, tag, tag.default_subtag(), true, 1);
    ChangeEvent {
        tenant_id: tenant.clone(),
        shipment_id: shipment.clone(),
        kind,
        at: Utc::now(),
        old: from.map(snapshot),
        new: Some(snapshot(to)),
    }
}

#[tokio::test]
async fn a_status_reached_plans_each_message_once_in_the_recipients_language() {
    let w = world().await;
    let id = shipment(&w, "1Z999AA10123456784", &["vip"]).await;
    let write: RuleWrite =
        serde_json::from_value(serde_json::json!({"trigger": "in_transit", "channels": ["sms"], "delay_minutes": 90,
            "scope": {"shipment_tags": ["vip"]}}))
        .expect("rule");
    create_rule(&w.deps, &w.tenant, write).await.expect("rule");

    let moved = change(&w.tenant, &id, ChangeKind::Updated, Some(Tag::Pending), Tag::InTransit);
    let report = plan_notifications(&w.deps, &w.store, &moved).await.expect("planned");
    assert_eq!(report, PlanReport { planned: 2, already_planned: 0 }, "the default email and the vip SMS");
    let again = plan_notifications(&w.deps, &w.store, &moved).await.expect("planned");
    assert_eq!(again, PlanReport { planned: 0, already_planned: 2 }, "a duplicate change plans nothing");
    let messages = w.store.shipment_messages(&w.tenant, &id).await.expect("read");
    let email = messages.iter().find(|m| m.channel == Channel::Email).expect("email");
    let sms = messages.iter().find(|m| m.channel == Channel::Sms).expect("sms");
    assert_eq!(
        (email.recipient.as_str(), email.language, email.state),
        ("ann@example.com", Language::De, MessageState::Planned)
    );
    assert_eq!(sms.recipient, "+4915112345678");
    assert_eq!(sms.due_at - sms.planned_at, Duration::minutes(90), "after the rule's delay");
    assert_eq!(email.due_at, email.planned_at, "the default rule sends at once");

    for quiet in [
        change(&w.tenant, &id, ChangeKind::Created, None, Tag::Delivered),
        change(&w.tenant, &id, ChangeKind::Updated, Some(Tag::InTransit), Tag::InTransit),
        change(&w.tenant, &id, ChangeKind::Updated, Some(Tag::InTransit), Tag::Pending),
    ] {
        assert_eq!(plan_notifications(&w.deps, &w.store, &quiet).await.expect("planned"), PlanReport::default());
    }
    let other = shipment(&w, "1Z12345E0205271688", &[]).await;
    let plain = change(&w.tenant, &other, ChangeKind::Updated, Some(Tag::Pending), Tag::InTransit);
    assert_eq!(
        plan_notifications(&w.deps, &w.store, &plain).await.expect("planned").planned,
        1,
        "out of the SMS's scope"
    );
}

/// A small deterministic generator, so the run is the same every time.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % n
    }
}

#[tokio::test]
async fn duplicated_and_reordered_changes_plan_exactly_the_messages_due() {
    let w = world().await;
    let journey = [
        Tag::Pending,
        Tag::InfoReceived,
        Tag::InTransit,
        Tag::OutForDelivery,
        Tag::AttemptFail,
        Tag::OutForDelivery,
        Tag::Delivered,
    ];
    let mut shipments = Vec::new();
    for i in 0..200 {
        shipments.push(shipment(&w, &format!("TC-DELIVERED-5-SIM{i:04}"), &[]).await);
    }
    let mut changes = Vec::new();
    let mut random = Lcg(42);
    for id in &shipments {
        for pair in journey.windows(2) {
            for _ in 0..=random.below(3) {
                changes.push(change(&w.tenant, id, ChangeKind::Updated, Some(pair[0]), pair[1]));
            }
        }
    }
    for i in (1..changes.len()).rev() {
        changes.swap(i, random.below(i + 1));
    }
    for change in &changes {
        plan_notifications(&w.deps, &w.store, change).await.expect("planned");
    }
    // The defaults email in transit, out for delivery, delivered, failed attempt (out for
    // delivery reached twice is one message): four per shipment, none twice.
    let mut seen = BTreeSet::new();
    for id in &shipments {
        let messages = w.store.shipment_messages(&w.tenant, id).await.expect("read");
        let triggers: BTreeSet<Trigger> = messages.iter().map(|m| m.trigger).collect();
        assert_eq!(
            triggers,
            [Trigger::InTransit, Trigger::OutForDelivery, Trigger::FailedAttempt, Trigger::Delivered]
                .into_iter()
                .collect()
        );
        assert_eq!(messages.len(), 4);
        seen.extend(messages.into_iter().map(|m| m.id));
    }
    assert_eq!(seen.len(), 800, "no message shared or doubled");
}

/// Fails the first `failures` sends of each message, as a channel that was down.
struct Flaky {
    outbox: crate::adapters::outbox::OutboxMessenger,
    failures: u32,
    seen: std::sync::Mutex<std::collections::HashMap<String, u32>>,
}

#[async_trait::async_trait]
impl Messenger for Flaky {
    async fn send(&self, message: &Outgoing) -> Result<Option<String>, SendError> {
        let tries = {
            let mut seen = self.seen.lock().expect("lock");
            let tries = seen.entry(message.id.clone()).or_default();
            *tries += 1;
            *tries
        };
        // Written, then "crashed" before answering: a retry must not write it twice.
        let sent = self.outbox.send(message).await?;
        if tries <= self.failures { Err(SendError::Transient("channel down".into())) } else { Ok(sent) }
    }
}

#[tokio::test]
async fn due_messages_are_sent_once_retried_when_the_channel_fails_and_dropped_when_unsubscribed() {
    let clock = Arc::new(crate::testkit::ManualClock::at(Utc::now()));
    let store = SqliteStore::in_memory().expect("store");
    let mut deps = crate::testkit::deps(store.clone(), clock.clone());
    deps.public_url = Some(Arc::from("https://track.example"));
    let tenant = create_tenant(&deps, "Acme").await.expect("tenant").0.id;
    let w = World { deps: deps.clone(), store: store.clone(), tenant: tenant.clone() };
    let id = shipment(&w, "1Z999AA10123456784", &[]).await;
    let dir = std::env::temp_dir().join(format!("porchlight-dispatch-{}", uuid::Uuid::new_v4().simple()));
    let outbox = crate::adapters::outbox::OutboxMessenger::new(&dir, "notifications@acme.example").expect("outbox");
    let flaky = Flaky { outbox, failures: 1, seen: Default::default() };

    for (from, to) in [(Tag::Pending, Tag::InTransit), (Tag::InTransit, Tag::OutForDelivery)] {
        plan_notifications(&deps, &store, &change(&tenant, &id, ChangeKind::Updated, Some(from), to))
            .await
            .expect("planned");
    }
    let first = dispatch_due(&deps, &store, &flaky, 10).await.expect("dispatched");
    assert_eq!(first, DispatchReport { retried: 2, ..DispatchReport::default() }, "the channel failed once each");
    assert_eq!(
        dispatch_due(&deps, &store, &flaky, 10).await.expect("dispatched"),
        DispatchReport::default(),
        "backing off"
    );
    clock.advance(Duration::minutes(3));
    let second = dispatch_due(&deps, &store, &flaky, 10).await.expect("dispatched");
    assert_eq!(second.sent, 2);
    let files: Vec<String> = std::fs::read_dir(&dir)
        .expect("outbox")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files.iter().filter(|f| f.ends_with(".eml")).count(), 2, "one file each, though sent twice: {files:?}");
    let eml =
        std::fs::read_to_string(dir.join(files.iter().find(|f| f.ends_with(".eml")).expect("an email"))).expect("read");
    assert!(eml.contains("Content-Language: de") && eml.contains("track.example/t/acme/1Z999AA10123456784"), "{eml}");
    assert!(eml.contains("List-Unsubscribe: <https://track.example/t/acme/unsubscribe/"), "{eml}");
    assert!(eml.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"), "{eml}");
    assert!(
        !eml.split("List-Unsubscribe:").nth(1).is_some_and(|h| h.lines().next().is_some_and(|l| l.contains("ann@")))
    );

    // Unsubscribed between planning and sending: not sent.
    plan_notifications(
        &deps,
        &store,
        &change(&tenant, &id, ChangeKind::Updated, Some(Tag::OutForDelivery), Tag::Delivered),
    )
    .await
    .expect("planned");
    let mut current = deps.shipments.get(&tenant, &id).await.expect("read").expect("there");
    current.unsubscribe(&Contact::email("ann@example.com").expect("email"));
    deps.shipments.update(&current).await.expect("updated");
    let third = dispatch_due(&deps, &store, &flaky, 10).await.expect("dispatched");
    assert_eq!(third, DispatchReport { suppressed: 1, ..DispatchReport::default() });
    let states: Vec<MessageState> =
        store.shipment_messages(&tenant, &id).await.expect("read").iter().map(|m| m.state).collect();
    assert_eq!(states, [MessageState::Sent, MessageState::Sent, MessageState::Suppressed]);

    // Reach counts each outcome once, a provider's bounce report too however often it comes.
    let sent = store.shipment_messages(&tenant, &id).await.expect("read")[0].id.clone();
    for _ in 0..2 {
        let report = crate::app::suppressions::Feedback {
            contact: Contact::email("ann@example.com").expect("email"),
            reason: crate::ports::SuppressionReason::Bounce,
            detail: None,
            shipment_id: Some(id.clone()),
            message_id: Some(sent.clone()),
        };
        crate::app::suppressions::record_report(&deps, &tenant, report).await.expect("recorded");
    }
    let today = deps.clock.now().date_naive();
    let range = crate::app::analytics::DayRange { from: today - Duration::days(1), to: today };
    let reach = crate::app::analytics::notification_reach(&deps, &tenant, range).await.expect("reach");
    let email = &reach.channels[0];
    assert_eq!(
        (email.channel, email.sent, email.delivered, email.bounced, email.suppressed, email.failed),
        ("email", 2, 1, 1, 1, 0)
    );
    assert_eq!(email.delivery_rate.map(|r| r.value), Some(0.5));
    std::fs::remove_dir_all(&dir).expect("cleaned");
}

#[tokio::test]
async fn quiet_hours_hold_a_message_until_morning_at_its_destination() {
    use crate::domain::CountryCode;

    let at = chrono::DateTime::parse_from_rfc3339("2026-06-10T20:30:00Z").expect("time").with_timezone(&Utc);
    let clock = Arc::new(crate::testkit::ManualClock::at(at));
    let store = SqliteStore::in_memory().expect("store");
    let deps = crate::testkit::deps(store.clone(), clock);
    let tenant = create_tenant(&deps, "Acme").await.expect("tenant").0.id;
    let quiet: RuleWrite = serde_json::from_value(serde_json::json!({
        "trigger": "in_transit", "quiet_hours": {"start": "21:00", "end": "08:00"},
        "scope": {"destination_countries": ["DEU"]}
    }))
    .expect("rule");
    create_rule(&deps, &tenant, quiet).await.expect("rule");
    crate::app::notification_rules::delete_rule(&deps, &tenant, "nr_default_in_transit").await.expect("deleted");
    let details = ShipmentDetails {
        destination_country_region: Some(CountryCode::parse("DEU").expect("country")),
        customers: vec![Customer { email: Some("ann@example.com".into()), ..Customer::default() }],
        ..ShipmentDetails::default()
    };
    let new = NewTracking {
        slug: Some(Slug::parse("ups").expect("slug")),
        tracking_number: TrackingNumber::parse("1Z999AA10123456784").expect("number"),
        details,
        last_mile: None,
    };
    let id = create_tracking(&deps, &tenant, new).await.expect("created").id;
    plan_notifications(&deps, &store, &change(&tenant, &id, ChangeKind::Updated, Some(Tag::Pending), Tag::InTransit))
        .await
        .expect("planned");
    let messages = store.shipment_messages(&tenant, &id).await.expect("ledger");
    assert_eq!(messages.len(), 1);
    // 22:30 in Berlin (UTC+2 in June): held until 08:00 there.
    assert_eq!(messages[0].due_at.to_rfc3339(), "2026-06-11T06:00:00+00:00");
}

/// Refuses every email address for good, as a receiving server with no such mailbox.
struct NoSuchMailbox(std::sync::Mutex<u32>);

#[async_trait::async_trait]
impl Messenger for NoSuchMailbox {
    async fn send(&self, message: &Outgoing) -> Result<Option<String>, SendError> {
        *self.0.lock().expect("lock") += 1;
        match message.channel {
            Channel::Email => Err(SendError::Refused("550 5.1.1 mailbox unavailable".into())),
            Channel::Sms => Ok(Some("sms-1".into())),
        }
    }
}

#[tokio::test]
async fn a_hard_bounce_suppresses_the_address_for_the_merchants_later_messages_until_taken_off() {
    use crate::app::suppressions::{self, SuppressionWrite};
    use crate::ports::SuppressionReason;

    let mut w = world().await;
    w.deps.public_url = Some(Arc::from("https://track.example"));
    let (first, second) =
        (shipment(&w, "1Z999AA10123456784", &[]).await, shipment(&w, "1Z999AA10123456791", &[]).await);
    let messenger = NoSuchMailbox(std::sync::Mutex::new(0));
    let moved = |id: &ShipmentId, to: Tag| change(&w.tenant, id, ChangeKind::Updated, Some(Tag::Pending), to);

    plan_notifications(&w.deps, &w.store, &moved(&first, Tag::InTransit)).await.expect("planned");
    let report = dispatch_due(&w.deps, &w.store, &messenger, 10).await.expect("dispatched");
    assert_eq!(report, DispatchReport { failed: 1, ..DispatchReport::default() });
    let (listed, _) = suppressions::list(&w.deps, &w.tenant, None, 10).await.expect("listed");
    assert_eq!(listed.len(), 1, "the refused address is suppressed");
    assert_eq!(
        (listed[0].address.as_str(), listed[0].reason, listed[0].shipment_id.as_ref()),
        ("ann@example.com", SuppressionReason::Bounce, Some(&first))
    );

    // The next message to that address, about another shipment, is not even tried.
    plan_notifications(&w.deps, &w.store, &moved(&second, Tag::InTransit)).await.expect("planned");
    let report = dispatch_due(&w.deps, &w.store, &messenger, 10).await.expect("dispatched");
    assert_eq!(report, DispatchReport { suppressed: 1, ..DispatchReport::default() });
    assert_eq!(*messenger.0.lock().expect("lock"), 1, "the provider was asked once");
    let ledger = w.store.shipment_messages(&w.tenant, &second).await.expect("read");
    assert_eq!(ledger[0].detail.as_deref(), Some("suppressed address: it bounced"));

    // Taken off the list, the address gets messages again; added by hand, it does not.
    suppressions::remove(&w.deps, &w.tenant, &listed[0].id).await.expect("removed");
    plan_notifications(&w.deps, &w.store, &moved(&second, Tag::OutForDelivery)).await.expect("planned");
    dispatch_due(&w.deps, &w.store, &messenger, 10).await.expect("dispatched");
    assert_eq!(*messenger.0.lock().expect("lock"), 2, "tried again");
    let write = SuppressionWrite { channel: Some(Channel::Sms), address: Some("+49 151 12345678".into()) };
    let (entry, added) = suppressions::add(&w.deps, &w.tenant, write).await.expect("added");
    assert!(added && entry.address == "+4915112345678" && entry.reason == SuppressionReason::Manual);
    let sms: RuleWrite =
        serde_json::from_value(serde_json::json!({"trigger": "delivered", "channels": ["sms"]})).expect("rule");
    create_rule(&w.deps, &w.tenant, sms).await.expect("rule");
    plan_notifications(&w.deps, &w.store, &moved(&second, Tag::Delivered)).await.expect("planned");
    let report = dispatch_due(&w.deps, &w.store, &messenger, 10).await.expect("dispatched");
    assert_eq!(
        (report.suppressed, report.failed, report.sent),
        (2, 0, 0),
        "the SMS listed by hand, the email since it bounced again"
    );
    assert_eq!(suppressions::list(&w.deps, &w.tenant, None, 10).await.expect("listed").0.len(), 2);

    // Another merchant's list is its own.
    let other = create_tenant(&w.deps, "Other").await.expect("tenant").0.id;
    assert!(suppressions::list(&w.deps, &other, None, 10).await.expect("listed").0.is_empty());
    assert!(matches!(suppressions::get(&w.deps, &other, &entry.id).await, Err(AppError::Missing(_))));
}

#[tokio::test]
async fn a_later_estimated_date_and_a_missed_one_each_tell_the_shopper_once_naming_the_date() {
    use chrono::{Days, NaiveDate};
    let w = world().await;
    let id = shipment(&w, "1Z999AA10123456784", &[]).await;
    for trigger in ["edd_revised", "edd_missed"] {
        let write: RuleWrite = serde_json::from_value(serde_json::json!({"trigger": trigger})).expect("rule");
        create_rule(&w.deps, &w.tenant, write).await.expect("rule");
    }
    let today = Utc::now().date_naive();
    let snapshot = |edd: NaiveDate| StatusSnapshot {
        edd: Some(edd),
        ..StatusSnapshot::bare(2, Tag::InTransit, Tag::InTransit.default_subtag(), true, 1)
    };
    let revised = |from: NaiveDate, to: NaiveDate| ChangeEvent {
        old: Some(StatusSnapshot { version: 1, ..snapshot(from) }),
        new: Some(snapshot(to)),
        ..change(&w.tenant, &id, ChangeKind::Updated, Some(Tag::InTransit), Tag::InTransit)
    };
    let sooner = revised(today + Days::new(5), today + Days::new(3));
    assert_eq!(plan_notifications(&w.deps, &w.store, &sooner).await.expect("planned"), PlanReport::default());
    let later = revised(today + Days::new(3), today + Days::new(5));
    assert_eq!(plan_notifications(&w.deps, &w.store, &later).await.expect("planned").planned, 1);
    let again = revised(today + Days::new(5), today + Days::new(7));
    assert_eq!(plan_notifications(&w.deps, &w.store, &again).await.expect("planned").planned, 0, "once per shipment");

    // The message names the new date, in the shopper's language.
    let mut s = w.deps.shipments.get(&w.tenant, &id).await.expect("read").expect("there");
    let edd = s.edd.clone().expect("a new tracking is estimated");
    let page = crate::app::pages::page_settings(&w.deps, &w.tenant).await.expect("page");
    let envelope = crate::notify::Envelope { tracking_url: "https://t/1", unsubscribe_url: None, recipient_name: None };
    let message = crate::notify::compose(Trigger::EddRevised, &s, &page, &envelope, Language::De, Utc::now(), None)
        .expect("written");
    let date = crate::web::Catalog::of(Language::De).date(edd.latest.date);
    assert!(message.text.contains(&date) && message.sms.contains(&date), "{date} in {}", message.text);

    // Past the range's last day, not delivered: missed, once.
    assert_eq!(plan_edd_missed(&w.deps, &w.store, &s).await.expect("planned"), 0, "not yet");
    let mut late = edd.clone();
    late.latest.latest = today - Days::new(2);
    s.edd = Some(late);
    w.deps.shipments.update(&s).await.expect("updated");
    assert_eq!(plan_edd_missed(&w.deps, &w.store, &s).await.expect("planned"), 1);
    assert_eq!(plan_edd_missed(&w.deps, &w.store, &s).await.expect("planned"), 0, "once per shipment");
    let triggers: BTreeSet<Trigger> =
        w.store.shipment_messages(&w.tenant, &id).await.expect("ledger").iter().map(|m| m.trigger).collect();
    assert_eq!(triggers, BTreeSet::from([Trigger::EddRevised, Trigger::EddMissed]));
}
