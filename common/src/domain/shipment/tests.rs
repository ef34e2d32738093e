use chrono::TimeZone;
use proptest::prelude::*;

use super::*;

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, hour, 0, 0).single().expect("valid date")
}

fn slug(raw: &str) -> Slug {
    Slug::parse(raw).expect("slug")
}

fn number(raw: &str) -> TrackingNumber {
    TrackingNumber::parse(raw).expect("number")
}

fn shipment() -> Shipment {
    Shipment::new(
        TenantId::parse("acme").expect("tenant"),
        slug("yunexpress"),
        number("YT2412345678901234"),
        ShipmentDetails::default(),
        at(1, 0),
    )
}

fn event(code: &str, day: u32, hour: u32) -> CheckpointInput {
    event_on("yunexpress", "YT2412345678901234", code, day, hour)
}

fn event_on(courier: &str, tracking: &str, code: &str, day: u32, hour: u32) -> CheckpointInput {
    let mut input = CheckpointInput::new(
        slug(courier),
        number(tracking),
        EventTime::from_utc(at(day, hour)),
        Subtag::parse(code).expect("subtag"),
        format!("{code} at {day}/{hour}"),
        CheckpointSource::Carrier,
    );
    input.raw_tag = Some(code.to_lowercase());
    input
}

#[test]
fn new_shipment_is_pending_active_and_due_for_a_poll() {
    let s = shipment();
    assert_eq!((s.tag, s.subtag.code()), (Tag::Pending, "Pending_001"));
    assert!(s.active);
    assert_eq!(s.next_poll_at, Some(at(1, 0)));
}

#[test]
fn status_follows_the_latest_event_by_time_not_by_arrival() {
    // (events in arrival order, expected tag, expected subtag)
    type Case = (&'static [(&'static str, u32)], Tag, &'static str);
    let cases: &[Case] = &[
        (&[("InfoReceived_001", 1)], Tag::InfoReceived, "InfoReceived_001"),
        (&[("InTransit_002", 2), ("InfoReceived_001", 1)], Tag::InTransit, "InTransit_002"),
        (&[("OutForDelivery_001", 5), ("InTransit_004", 4)], Tag::OutForDelivery, "OutForDelivery_001"),
        (&[("AttemptFail_002", 6), ("OutForDelivery_001", 5)], Tag::AttemptFail, "AttemptFail_002"),
        (&[("Exception_004", 6), ("InTransit_006", 5)], Tag::Exception, "Exception_004"),
        (&[("InTransit_005", 7), ("Exception_004", 6)], Tag::InTransit, "InTransit_005"),
        (&[("AvailableForPickup_001", 8), ("AttemptFail_001", 7)], Tag::AvailableForPickup, "AvailableForPickup_001"),
    ];
    for (events, tag, subtag) in cases {
        let mut s = shipment();
        s.merge(events.iter().map(|(code, day)| event(code, *day, 9)), at(10, 0));
        assert_eq!((s.tag, s.subtag.code()), (*tag, *subtag), "events {events:?}");
    }
}

#[test]
fn a_late_older_event_never_moves_a_delivered_shipment_back() {
    let mut s = shipment();
    s.merge([event("InTransit_002", 2, 9), event("Delivered_003", 5, 9)], at(6, 0));
    assert_eq!(s.tag, Tag::Delivered);
    let outcome = s.merge([event("InTransit_007", 3, 9)], at(6, 1));
    assert_eq!((s.tag, s.subtag.code()), (Tag::Delivered, "Delivered_003"));
    assert!(!outcome.status_changed);
    assert_eq!(outcome.added, 1);
    // Even carrier noise dated after the delivery does not reopen it.
    s.merge([event("InTransit_001", 7, 9)], at(8, 0));
    assert_eq!(s.tag, Tag::Delivered);
    assert!(!s.active);
    assert_eq!(s.next_poll_at, None);
}

#[test]
fn the_same_event_is_stored_once_however_often_it_arrives() {
    let mut s = shipment();
    let first = s.merge([event("InTransit_002", 2, 9), event("InTransit_002", 2, 9)], at(3, 0));
    assert_eq!((first.added, first.ignored), (1, 1));
    let again = s.merge([event("InTransit_002", 2, 9)], at(4, 0));
    assert_eq!((again.added, again.ignored, again.status_changed), (0, 1, false));
    assert_eq!(s.checkpoints.len(), 1);
    assert_eq!(s.checkpoints[0].created_at, at(3, 0));
}

#[test]
fn events_of_other_parcels_are_ignored() {
    let mut s = shipment();
    let outcome = s.merge([event_on("usps", "9400111899223100000000", "Delivered_001", 2, 9)], at(3, 0));
    assert_eq!((outcome.added, outcome.ignored), (0, 1));
    assert_eq!(s.tag, Tag::Pending);
}

#[test]
fn derived_dates_counts_and_flags_come_from_the_timeline() {
    let mut s = shipment();
    let mut delivered = event("Delivered_003", 9, 15);
    delivered.signed_by = Some("J DOE".into());
    s.merge(
        [
            event("InfoReceived_001", 1, 8),
            event("InTransit_002", 2, 10),
            event("OutForDelivery_001", 7, 7),
            event("AttemptFail_002", 7, 18),
            event("AttemptFail_001", 8, 18),
            delivered,
        ],
        at(10, 0),
    );
    assert_eq!(s.shipment_pickup_date.as_ref().map(EventTime::instant), Some(at(2, 10)));
    assert_eq!(s.shipment_delivery_date.as_ref().map(EventTime::instant), Some(at(9, 15)));
    assert_eq!(s.first_attempted_at.as_ref().map(EventTime::instant), Some(at(7, 18)));
    assert_eq!(s.failed_delivery_attempts, 2);
    assert_eq!(s.transit_time, Some(8)); // 7 days 5 hours, rounded up
    assert_eq!(s.signed_by.as_deref(), Some("J DOE"));
    assert!(!s.return_to_sender);
    assert!(!s.active);
}

#[test]
fn transit_time_runs_to_now_while_undelivered() {
    let mut s = shipment();
    s.merge([event("InTransit_002", 2, 0)], at(5, 0));
    assert_eq!(s.transit_time, Some(3));
    assert_eq!(s.shipment_delivery_date, None);
}

#[test]
fn returns_to_sender_are_flagged_and_returned_stops_tracking() {
    let mut s = shipment();
    s.merge([event("InTransit_002", 2, 0), event("Exception_010", 4, 0)], at(5, 0));
    assert!(s.return_to_sender);
    assert!(s.active, "returning is still moving");
    s.merge([event("Exception_011", 9, 0)], at(10, 0));
    assert_eq!(s.subtag.code(), "Exception_011");
    assert!(!s.active);
}

#[test]
fn shipments_expire_after_thirty_days_without_information() {
    let mut s = shipment();
    s.derive(at(1, 0) + Duration::days(EXPIRY_DAYS));
    assert_eq!(s.tag, Tag::Pending, "exactly 30 days is not yet expired");
    s.derive(at(1, 1) + Duration::days(EXPIRY_DAYS));
    assert_eq!((s.tag, s.subtag.code(), s.active), (Tag::Expired, "Expired_001", false));

    let mut moving = shipment();
    moving.merge([event("InTransit_002", 2, 0)], at(3, 0));
    moving.derive(at(2, 1) + Duration::days(EXPIRY_DAYS));
    assert_eq!(moving.tag, Tag::Expired);
    // News after expiry brings it back.
    moving.merge([event("InTransit_004", 28, 0)], at(28, 1) + Duration::days(10));
    assert_eq!((moving.tag, moving.active), (Tag::InTransit, true));

    let mut delivered = shipment();
    delivered.merge([event("Delivered_001", 2, 0)], at(3, 0));
    delivered.derive(at(3, 0) + Duration::days(90));
    assert_eq!(delivered.tag, Tag::Delivered, "a delivered parcel never expires");
}

#[test]
fn two_legs_merge_into_one_timeline() {
    let mut s = shipment();
    s.last_mile =
        Some(Leg { slug: slug("usps"), tracking_number: number("9400111899223100000000"), source: LegSource::User });
    s.merge(
        [
            event("InTransit_002", 1, 10),
            event("InTransit_007", 3, 10),
            event_on("usps", "9400 1118 9922 3100 0000 00", "InTransit_004", 6, 10),
            event_on("usps", "9400111899223100000000", "Delivered_001", 9, 10),
        ],
        at(10, 0),
    );
    assert_eq!(s.checkpoints.len(), 4);
    assert_eq!(s.tag, Tag::Delivered);
    assert_eq!(s.leg_transit_time(&slug("yunexpress"), &number("YT2412345678901234")), Some(2));
    assert_eq!(s.leg_transit_time(&slug("usps"), &number("9400111899223100000000")), Some(3));
    assert_eq!(s.transit_time, Some(8));
}

#[test]
fn completion_sets_the_status_and_stops_tracking() {
    let cases = [
        (CompletionReason::Delivered, Tag::Delivered, "Delivered_001"),
        (CompletionReason::Lost, Tag::Exception, "Exception_013"),
        (CompletionReason::ReturnedToSender, Tag::Exception, "Exception_011"),
    ];
    for (reason, tag, code) in cases {
        let mut s = shipment();
        s.merge([event("InTransit_002", 2, 0)], at(3, 0));
        s.complete(reason, EventTime::from_utc(at(4, 0)), at(4, 0));
        assert_eq!((s.tag, s.subtag.code(), s.active), (tag, code, false), "{reason:?}");
        assert_eq!(s.checkpoints.last().map(|c| c.source), Some(CheckpointSource::User));
        // A later carrier event does not reopen a completed tracking.
        s.merge([event("InTransit_003", 5, 0)], at(5, 0));
        assert_eq!((s.tag, s.active), (tag, false));
        assert_eq!(s.next_poll_at, None);
    }
}

#[test]
fn customer_contact_details_are_checked_and_never_printed() {
    let customer = Customer {
        email: Some("shopper@example.com".into()),
        phone_number: Some("+1 (555) 010-9999".into()),
        name: Some("Ann Shopper".into()),
        ..Customer::default()
    };
    assert!(customer.validate(0).is_ok());
    let printed = format!("{customer:?}");
    assert!(!printed.contains("shopper@") && !printed.contains("555") && !printed.contains("Ann"), "{printed}");
    let bad_email = Customer { email: Some("not-an-email".into()), ..Customer::default() };
    assert_eq!(bad_email.validate(2).map_err(|e| e.field), Err("customers[2].email".into()));
    let bad_phone = Customer { phone_number: Some("call me".into()), ..Customer::default() };
    assert!(bad_phone.validate(0).is_err());
}

const CODES: &[&str] = &[
    "InfoReceived_001",
    "InTransit_002",
    "InTransit_004",
    "OutForDelivery_001",
    "AttemptFail_001",
    "AvailableForPickup_001",
    "Exception_004",
    "Exception_010",
    "Delivered_001",
];

fn any_event() -> impl Strategy<Value = CheckpointInput> {
    (0..CODES.len(), 1u32..28, 0u32..24, 0u8..3).prop_map(|(code, day, hour, leg)| {
        let mut input = event(CODES[code], day, hour);
        if leg == 2 {
            input.slug = slug("usps");
            input.tracking_number = number("9400111899223100000000");
        }
        input
    })
}

fn two_leg_shipment() -> Shipment {
    let mut s = shipment();
    s.last_mile =
        Some(Leg { slug: slug("usps"), tracking_number: number("9400111899223100000000"), source: LegSource::User });
    s
}

proptest! {
    #[test]
    fn merging_is_order_independent(events in prop::collection::vec(any_event(), 0..40), seed in any::<u64>()) {
        let mut shuffled = events.clone();
        // A deterministic shuffle from the seed.
        let mut state = seed | 1;
        for i in (1..shuffled.len()).rev() {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            shuffled.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let now = at(28, 0);
        let base = two_leg_shipment();
        let mut in_order = base.clone();
        in_order.merge(events, now);
        let mut one_by_one = base;
        for event in shuffled {
            one_by_one.merge([event], now);
        }
        prop_assert_eq!(in_order, one_by_one);
    }

    #[test]
    fn merging_is_idempotent(events in prop::collection::vec(any_event(), 0..40)) {
        let now = at(28, 0);
        let mut once = two_leg_shipment();
        once.merge(events.clone(), now);
        let mut twice = once.clone();
        let outcome = twice.merge(events, now);
        prop_assert_eq!(outcome.added, 0);
        prop_assert!(!outcome.status_changed);
        prop_assert_eq!(once, twice);
    }

    #[test]
    fn delivered_is_never_undone_by_merging_more(events in prop::collection::vec(any_event(), 0..20), later in prop::collection::vec(any_event(), 0..20)) {
        let now = at(28, 0);
        let mut s = two_leg_shipment();
        s.merge(events, now);
        let was_delivered = s.tag == Tag::Delivered;
        s.merge(later, now);
        prop_assert!(!was_delivered || s.tag == Tag::Delivered);
    }
}

#[test]
fn a_timeline_keeps_its_newest_checkpoints_up_to_the_limit() {
    let mut s = shipment();
    let start = at(1, 0);
    let many: Vec<CheckpointInput> = (0..MAX_CHECKPOINTS + 50)
        .map(|i| {
            let mut input = event("InTransit_001", 1, 0);
            input.checkpoint_time = EventTime::from_utc(start + chrono::Duration::minutes(i as i64));
            input.message = format!("scan {i}");
            input
        })
        .collect();
    s.merge(many, at(20, 0));
    assert_eq!(s.checkpoints.len(), MAX_CHECKPOINTS);
    assert_eq!(s.checkpoints[0].message, "scan 50", "the oldest went");
    s.merge([event("Delivered_001", 19, 0)], at(20, 0));
    assert_eq!((s.checkpoints.len(), s.tag), (MAX_CHECKPOINTS, Tag::Delivered), "the newest decides");
}
