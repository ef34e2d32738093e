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

#[test]
fn a_range_reads_months_and_at_most_half_a_month_of_days_at_each_end() {
    let cases = [
        ("2026-01-01", "2026-12-31", 12, 0),
        ("2026-01-02", "2026-12-30", 12, 2),
        ("2026-01-20", "2026-03-10", 1, 12 + 10),
        ("2026-03-05", "2026-03-05", 0, 1),
        ("2026-02-01", "2026-02-28", 1, 0),
    ];
    for (from, to, months, days) in cases {
        let periods = periods_covering(date(from), date(to));
        let count = |month: bool| periods.iter().filter(|(p, _)| matches!(p, Period::Month(_)) == month).count();
        assert_eq!((count(true), count(false)), (months, days), "{from}..{to}");
        // Every day of the range counted once, every other day not at all.
        let mut per_day = BTreeMap::new();
        for (period, sign) in &periods {
            match period {
                Period::Day(day) => *per_day.entry(*day).or_insert(0) += sign,
                Period::Month(first) => {
                    for day in days_of_month(*first) {
                        *per_day.entry(day).or_insert(0) += sign;
                    }
                }
            }
        }
        per_day.retain(|_, count| *count != 0);
        let expected: Vec<NaiveDate> = date(from).iter_days().take_while(|d| *d <= date(to)).collect();
        assert_eq!(per_day.keys().copied().collect::<Vec<_>>(), expected, "{from}..{to}");
        assert!(per_day.values().all(|count| *count == 1));
    }
}

fn days_of_month(first: NaiveDate) -> Vec<NaiveDate> {
    first.iter_days().take_while(|d| d.month() == first.month()).collect()
}

#[test]
fn period_keys_round_trip() {
    for period in [Period::Day(date("2026-11-30")), Period::month_of(date("2026-11-30"))] {
        assert_eq!(Period::parse(&period.key()), Some(period));
    }
    assert_eq!(Period::month_of(date("2026-11-30")).key(), "2026-11");
    assert_eq!(Period::parse("2026-1"), None);
}
