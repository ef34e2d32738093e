use chrono::TimeZone;

use super::*;
use crate::domain::{
    CheckpointInput, CheckpointSource, PromisedDeliveryDate, ShipmentDetails, TenantId, TrackingNumber,
};

fn date(raw: &str) -> NaiveDate {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").expect("date")
}

fn event(code: &str, day: u32, hour: u32) -> CheckpointInput {
    CheckpointInput::new(
        Slug::parse("ups").expect("slug"),
        TrackingNumber::parse("1Z999AA10123456784").expect("number"),
        EventTime::from_utc(Utc.with_ymd_and_hms(2026, 3, day, hour, 0, 0).single().expect("time")),
        Subtag::parse(code).expect("subtag"),
        code,
        CheckpointSource::Carrier,
    )
}

fn shipment(promised: Option<&str>) -> Shipment {
    let details = ShipmentDetails {
        origin_country_region: Some(CountryCode::parse("CHN").expect("country")),
        destination_country_region: Some(CountryCode::parse("USA").expect("country")),
        shipment_type: Some(" Ground ".to_owned()),
        order_date: Some("2026-02-28T12:00:00Z".to_owned()),
        order_promised_delivery_date: promised.map(|day| PromisedDeliveryDate {
            promised_delivery_date: Some(day.to_owned()),
            ..PromisedDeliveryDate::default()
        }),
        ..ShipmentDetails::default()
    };
    let created = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).single().expect("time");
    Shipment::new(
        TenantId::parse("acme").expect("tenant"),
        Slug::parse("ups").expect("slug"),
        TrackingNumber::parse("1Z999AA10123456784").expect("number"),
        details,
        created,
    )
}

fn delivered(promised: Option<&str>) -> Shipment {
    let mut s = shipment(promised);
    let now = Utc.with_ymd_and_hms(2026, 3, 20, 0, 0, 0).single().expect("time");
    s.merge(
        vec![
            event("InTransit_002", 2, 12),
            event("Exception_011", 3, 12),
            event("AttemptFail_001", 4, 12),
            event("Delivered_001", 5, 12),
        ],
        now,
    );
    s
}

#[test]
fn facts_name_the_lane_the_outcome_and_the_durations() {
    let facts = ShipmentFacts::of(&delivered(Some("2026-03-05")));
    assert_eq!(facts.day, date("2026-03-01"));
    assert_eq!(facts.lane.slug.as_str(), "ups");
    assert_eq!(facts.lane.service.as_deref(), Some("Ground"));
    assert_eq!((facts.tag, facts.on_time), (Tag::Delivered, Some(true)));
    assert_eq!(facts.exceptions.iter().map(|s| s.code()).collect::<Vec<_>>(), ["Exception_011"]);
    assert_eq!(facts.failed_attempts, 1);
    // Picked up on the 2nd at noon, delivered on the 5th at noon: 72 hours.
    let pickup = sketch::bucket_value(facts.pickup_to_delivery.expect("pickup to delivery"));
    assert!((pickup - 72.0).abs() < 0.8, "{pickup}");
    let order = sketch::bucket_value(facts.order_to_delivery.expect("order to delivery"));
    assert!((order - 120.0).abs() < 1.3, "{order}");

    assert_eq!(ShipmentFacts::of(&delivered(Some("2026-03-04"))).on_time, Some(false));
    assert_eq!(ShipmentFacts::of(&delivered(None)).on_time, None);
    let waiting = ShipmentFacts::of(&shipment(Some("2026-03-05")));
    assert_eq!((waiting.on_time, waiting.pickup_to_delivery), (None, None));
}

#[test]
fn a_change_moves_the_totals_by_new_minus_old() {
    let before = ShipmentFacts::of(&shipment(Some("2026-03-05"))).counters();
    let after = ShipmentFacts::of(&delivered(Some("2026-03-05"))).counters();
    let mut totals = Counters::default();
    totals.merge(&before, 1);
    totals.merge(&after, 1);
    totals.merge(&before, -1);
    assert_eq!(totals, after, "zero counts vanish, so the sums compare equal");
    assert_eq!(totals.get(counter::SHIPMENTS), 1);
    assert_eq!(totals.get("t:Pending"), 0);
    assert_eq!(totals.get("t:Delivered"), 1);
    assert_eq!(totals.buckets(counter::PICKUP_TO_DELIVERY).len(), 1);
    totals.merge(&after, -1);
    assert!(totals.is_empty());
}

fn days_of(period: &Period) -> Vec<NaiveDate> {
    match period {
        Period::Day(day) => vec![*day],
        Period::Third(first) => first
            .iter_days()
            .take_while(|d| d.month() == first.month() && (first.day() == 21 || d.day() < first.day() + 10))
            .collect(),
        Period::Month(first) => first.iter_days().take_while(|d| d.month() == first.month()).collect(),
    }
}

#[test]
fn a_range_is_its_days_read_from_months_thirds_and_a_few_days() {
    // (range, months, other rows at most)
    let cases = [
        ("2026-01-01", "2026-12-31", 12, 0),
        ("2026-01-02", "2026-12-30", 12, 4),
        ("2026-01-17", "2026-12-14", 10, 12),
        ("2026-01-20", "2026-03-10", 1, 6),
        ("2026-03-05", "2026-03-05", 0, 1),
        ("2026-02-01", "2026-02-28", 1, 0),
        ("2026-02-11", "2026-02-20", 0, 1),
    ];
    for (from, to, months, most_others) in cases {
        let periods = periods_covering(date(from), date(to));
        let count = |month: bool| periods.iter().filter(|(p, _)| matches!(p, Period::Month(_)) == month).count();
        assert_eq!(count(true), months, "{from}..{to}: {periods:?}");
        assert!(count(false) <= most_others, "{from}..{to}: {} other rows: {periods:?}", count(false));
        // Every day of the range counted once, every other day not at all.
        let mut per_day = BTreeMap::new();
        for (period, sign) in &periods {
            for day in days_of(period) {
                *per_day.entry(day).or_insert(0) += sign;
            }
        }
        per_day.retain(|_, count| *count != 0);
        let expected: Vec<NaiveDate> = date(from).iter_days().take_while(|d| *d <= date(to)).collect();
        assert_eq!(per_day.keys().copied().collect::<Vec<_>>(), expected, "{from}..{to}");
        assert!(per_day.values().all(|count| *count == 1));
    }
    // Every range of up to 70 days in a year, each day once.
    let start = date("2026-01-01");
    for offset in (0..300).step_by(7) {
        for length in [0, 1, 5, 9, 10, 11, 19, 20, 29, 30, 31, 45, 70] {
            let (from, to) = (start + chrono::Days::new(offset), start + chrono::Days::new(offset + length));
            let mut per_day = BTreeMap::new();
            for (period, sign) in periods_covering(from, to) {
                for day in days_of(&period) {
                    *per_day.entry(day).or_insert(0) += sign;
                }
            }
            per_day.retain(|_, count| *count != 0);
            assert_eq!(per_day.len() as u64, length + 1, "{from}..{to}");
            assert!(
                per_day.keys().all(|d| *d >= from && *d <= to) && per_day.values().all(|c| *c == 1),
                "{from}..{to}"
            );
        }
    }
}

#[test]
fn period_keys_round_trip() {
    for period in Period::of_day(date("2026-11-30")).into_iter().chain(Period::of_day(date("2026-02-05"))) {
        assert_eq!(Period::parse(&period.key()), Some(period));
    }
    assert_eq!(Period::month_of(date("2026-11-30")).key(), "2026-11");
    assert_eq!(Period::third_of(date("2026-11-30")).key(), "2026-11/3");
    assert_eq!(Period::third_of(date("2026-11-11")), Period::Third(date("2026-11-11")));
    assert_eq!(Period::parse("2026-1"), None);
}

#[test]
fn counters_are_written_by_name_and_read_back_the_same() {
    let facts = ShipmentFacts::of(&delivered(Some("2026-03-05")));
    let counters = facts.counters();
    let json = serde_json::to_string(&counters).expect("json");
    assert!(json.contains("\"t:Delivered\":1") && json.contains("\"e:Exception_011\":1"), "{json}");
    assert_eq!(serde_json::from_str::<Counters>(&json).expect("read"), counters);
    // Names of a later version are passed over.
    let later: Counters = serde_json::from_str(r#"{"n": 2, "zz:new": 5}"#).expect("read");
    assert_eq!((later.get("n"), later.iter().count()), (2, 1));
    let names: Vec<String> = counters.iter().map(|(name, _)| name).collect();
    assert_eq!(names.iter().cloned().map(|n| (n, 1)).collect::<Counters>().iter().count(), names.len());
}

#[test]
fn a_tagged_shipment_counts_again_under_each_of_its_first_tags() {
    let mut s = delivered(Some("2026-03-06"));
    s.details.shipment_tags = vec!["vip".into(), "gift".into(), "vip".into()];
    let facts = ShipmentFacts::of(&s);
    assert_eq!(facts.tags, ["gift", "vip"], "sorted, once each");
    let rows = change_rows(None, Some(&facts));
    let tags: std::collections::BTreeSet<Option<&str>> = rows.iter().map(|(_, lane, _)| lane.tag.as_deref()).collect();
    assert_eq!(tags, [None, Some("gift"), Some("vip")].into_iter().collect());
    assert_eq!(rows.len(), 9, "day, third and month for the lane and each tag");
    s.details.shipment_tags = (0..20).map(|i| format!("t{i:02}")).collect();
    assert_eq!(ShipmentFacts::of(&s).tags.len(), MAX_COUNTED_TAGS);
}

#[test]
fn a_change_adds_only_the_carrier_events_it_brought_on_the_day_they_were_stored() {
    let mut s = shipment(None);
    let unmapped = |day, hour| {
        let mut input = event("InTransit_001", day, hour);
        input.unmapped = true;
        input
    };
    s.merge(vec![event("InTransit_002", 2, 12), unmapped(2, 13)], Utc.with_ymd_and_hms(2026, 3, 2, 14, 0, 0).unwrap());
    let before = ShipmentFacts::of(&s);
    assert_eq!((before.carrier_events, before.unmapped_events), (2, 1));
    s.merge(vec![unmapped(3, 8), event("InTransit_003", 3, 9)], Utc.with_ymd_and_hms(2026, 3, 3, 10, 0, 0).unwrap());
    let after = ShipmentFacts::of(&s);

    let rows = health_rows(Some(&before), &after);
    let ups = Lane::carrier_events(Slug::parse("ups").expect("slug"));
    assert_eq!(rows.len(), 3, "the day, its third and its month");
    assert_eq!((rows[0].0, &rows[0].1), (Period::Day(date("2026-03-03")), &ups));
    assert_eq!((rows[0].2.get(counter::CARRIER_EVENTS), rows[0].2.get(counter::UNMAPPED_EVENTS)), (2, 1));
    assert!(health_rows(Some(&after), &after).is_empty(), "nothing new, nothing counted");
    assert_eq!(health_rows(None, &after)[0].2.get(counter::CARRIER_EVENTS), 4);
    assert!(change_rows(None, Some(&after)).iter().all(|(_, lane, _)| !lane.events), "shipment rows stay apart");
}
