use chrono::{TimeZone, Utc};

use super::*;
use crate::domain::analytics::{Counters, counter};
use crate::domain::{
    CheckpointInput, CheckpointSource, CountryCode, ShipmentDetails, Slug, Subtag, TenantId, TrackingNumber,
};

fn model() -> EddModel {
    let lane = Lane {
        slug: Slug::parse("ups").expect("slug"),
        origin: CountryCode::parse("USA").ok(),
        destination: CountryCode::parse("USA").ok(),
        service: None,
        tag: None,
        events: false,
    };
    let mut counters = Counters::default();
    for (days, count) in [(2, 1_000), (3, 6_000), (4, 2_000), (5, 1_000)] {
        counters.add(&format!("{}{days}", counter::TRANSIT_DAYS), count);
    }
    EddModel::train([(&lane, &counters)])
}

fn date(raw: &str) -> NaiveDate {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").expect("date")
}

/// Ordered Friday 27 November 2026 at 19:00 UTC (after the cutoff), to a postal code.
fn shipment() -> Shipment {
    let details = ShipmentDetails {
        origin_country_region: CountryCode::parse("USA").ok(),
        destination_country_region: CountryCode::parse("USA").ok(),
        destination_postal_code: Some("92019".into()),
        order_date: Some("2026-11-27T19:00:00Z".into()),
        ..ShipmentDetails::default()
    };
    Shipment::new(
        TenantId::parse("acme").expect("tenant"),
        Slug::parse("ups").expect("slug"),
        TrackingNumber::parse("1Z999AA10123456784").expect("number"),
        details,
        Utc.with_ymd_and_hms(2026, 11, 27, 20, 0, 0).single().expect("time"),
    )
}

fn event(code: &str, day: u32) -> CheckpointInput {
    CheckpointInput::new(
        Slug::parse("ups").expect("slug"),
        TrackingNumber::parse("1Z999AA10123456784").expect("number"),
        EventTime::from_utc(Utc.with_ymd_and_hms(2026, 12, day, 10, 0, 0).single().expect("time")),
        Subtag::parse(code).expect("subtag"),
        code,
        CheckpointSource::Carrier,
    )
}

#[test]
fn before_pickup_the_estimate_counts_from_the_next_working_day_after_the_order() {
    let mut s = shipment();
    revise(&mut s, &model(), date("2026-11-28"));
    let edd = s.edd.clone().expect("estimated");
    // Picked up Monday 30 November: the lane's median is 3 days.
    assert_eq!(
        (edd.latest.date, edd.latest.earliest, edd.latest.latest),
        (date("2026-12-03"), date("2026-12-02"), date("2026-12-05"))
    );
    assert_eq!(edd.latest.source, EddSource::Predicted);
    assert_eq!(edd.latest.confidence_code, Some(10001));
    assert_eq!(edd.first, edd.latest);
}

#[test]
fn the_latest_estimate_follows_the_pickup_and_the_days_gone_and_the_first_stays() {
    let model = model();
    let mut s = shipment();
    revise(&mut s, &model, date("2026-11-28"));
    let first = s.edd.clone().expect("estimated").first;
    // Picked up Tuesday 1 December instead.
    let now = Utc.with_ymd_and_hms(2026, 12, 6, 0, 0, 0).single().expect("time");
    s.merge(vec![event("InTransit_002", 1)], now);
    revise(&mut s, &model, date("2026-12-01"));
    assert_eq!(s.edd.as_ref().map(|e| e.latest.date), Some(date("2026-12-04")));
    // Picked up, on a lane with history: 9 in 10 of its parcels arrive within 5 days (by day
    // 4 just under 90 %: the prior lends the lane a little of its later days).
    assert_eq!(first.lane_p90, None, "no p90 before pickup");
    assert_eq!(s.edd.as_ref().and_then(|e| e.latest.lane_p90), Some(date("2026-12-06")));
    // Four days on and not delivered: days 2 and 3 are past; 4 and 5 remain, 4 likelier.
    revise(&mut s, &model, date("2026-12-05"));
    let edd = s.edd.clone().expect("estimated");
    assert_eq!(
        (edd.latest.earliest, edd.latest.date, edd.latest.latest),
        (date("2026-12-05"), date("2026-12-05"), date("2026-12-06"))
    );
    assert_eq!(edd.first, first);
    let changed: Vec<_> = edd.changes.iter().map(|c| (c.on, c.date)).collect();
    assert_eq!(
        changed,
        [(date("2026-12-01"), date("2026-12-04")), (date("2026-12-05"), date("2026-12-05"))],
        "each revision of the date is kept, with its day"
    );

    // Delivered: the estimates stay as they were.
    s.merge(vec![event("Delivered_001", 5)], now);
    revise(&mut s, &model, date("2026-12-06"));
    assert_eq!(s.edd, Some(edd));
}

#[test]
fn a_destination_without_postal_code_or_city_is_imprecise() {
    let mut s = shipment();
    s.details.destination_postal_code = None;
    revise(&mut s, &model(), date("2026-11-28"));
    assert_eq!(s.edd.expect("estimated").latest.confidence_code, Some(30004));
}

#[test]
fn a_date_the_carrier_schedules_is_the_latest_estimate_until_it_passes() {
    let model = model();
    let mut s = shipment();
    revise(&mut s, &model, date("2026-11-28"));
    let now = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).single().expect("time");
    s.merge(vec![event("InTransit_002", 1)], now);
    s.carrier_edd = Some(date("2026-12-07"));
    revise(&mut s, &model, date("2026-12-01"));
    let edd = s.edd.clone().expect("estimated");
    assert_eq!(
        (edd.latest.source, edd.latest.date, edd.latest.latest),
        (EddSource::Carrier, date("2026-12-07"), date("2026-12-07"))
    );
    assert_eq!(edd.latest.confidence_code, None);
    let predicted = edd.predicted.expect("the prediction kept beside it");
    assert_eq!((predicted.source, predicted.date), (EddSource::Predicted, date("2026-12-04")));
    assert_eq!(edd.first.source, EddSource::Predicted, "the first estimate stays");

    // The carrier's day passed without a delivery: the prediction takes over.
    revise(&mut s, &model, date("2026-12-08"));
    let edd = s.edd.expect("estimated");
    assert_eq!((edd.latest.source, edd.predicted), (EddSource::Predicted, None));
    let sources: Vec<_> = edd.changes.iter().map(|c| (c.on, c.source)).collect();
    assert_eq!(
        sources,
        [(date("2026-12-01"), EddSource::Carrier), (date("2026-12-08"), EddSource::Predicted)],
        "{:?}",
        edd.changes
    );
}
