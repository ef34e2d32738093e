use super::*;
use crate::domain::analytics::counter;

fn lane(slug: &str, origin: &str, destination: &str, service: Option<&str>) -> Lane {
    Lane {
        slug: Slug::parse(slug).expect("slug"),
        origin: Some(CountryCode::parse(origin).expect("country")),
        destination: Some(CountryCode::parse(destination).expect("country")),
        service: service.map(str::to_owned),
        tag: None,
        events: false,
    }
}

fn deliveries(by_days: &[(u32, i64)]) -> Counters {
    let mut counters = Counters::default();
    for (days, count) in by_days {
        counters.add(&format!("{}{days}", counter::TRANSIT_DAYS), *count);
    }
    counters
}

fn query(lane: &Lane) -> LaneQuery {
    LaneQuery::from(lane)
}

#[test]
fn the_prior_is_a_distribution_around_a_week() {
    let prior = TransitDays::prior();
    let total: f64 = (0..=MAX_DAYS as u32).map(|d| prior.probability(d)).sum();
    assert!((total - 1.0).abs() < 1e-9);
    let window = prior.window(0);
    assert_eq!(window.single, 7, "{window:?}");
    assert!(window.earliest >= 2 && window.latest <= 20, "{window:?}");
    assert!(window.range_share >= RANGE_TARGET);
}

#[test]
fn a_lane_with_much_history_speaks_for_itself() {
    let ups = lane("ups", "USA", "USA", None);
    let counters = deliveries(&[(2, 10_000), (3, 60_000), (4, 20_000), (5, 10_000)]);
    let model = EddModel::train([(&ups, &counters)]);
    let estimate = model.estimate(&query(&ups));
    assert_eq!(estimate.level, Level::Lane);
    assert_eq!(estimate.deliveries, 100_000);
    let window = estimate.window;
    assert_eq!((window.earliest, window.single, window.latest), (2, 3, 5));
    assert!((window.single_share - 0.6).abs() < 1e-3);
    assert!(window.range_share > 0.999);
    // Two days on and still not delivered: days 2 and 3 are behind it.
    let later = estimate.days.window(4);
    assert_eq!((later.earliest, later.single, later.latest), (4, 4, 5));
    assert!((later.single_share - 2.0 / 3.0).abs() < 1e-3);
}

#[test]
fn the_range_starts_past_the_fifth_percentile_and_ends_at_the_ninety_fifth() {
    let lane = lane("dhl", "DEU", "USA", None);
    // 4 % on day 1, 90 % on days 2-6 evenly, 6 % on day 9.
    let counters =
        deliveries(&[(1, 4_000), (2, 18_000), (3, 18_000), (4, 18_000), (5, 18_000), (6, 18_000), (9, 6_000)]);
    let window = EddModel::train([(&lane, &counters)]).estimate(&query(&lane)).window;
    assert_eq!((window.earliest, window.latest), (2, 9));
    assert!((window.range_share - 0.96).abs() < 2e-3, "{window:?}");
}

#[test]
fn a_thin_lane_leans_on_its_carrier_and_predictions_fall_back_level_by_level() {
    let busy = lane("yunexpress", "CHN", "USA", Some("Standard"));
    let thin = lane("yunexpress", "CHN", "GBR", Some("Standard"));
    let busy_counts = deliveries(&[(8, 3_000), (9, 4_000), (10, 3_000)]);
    let thin_counts = deliveries(&[(20, 2)]);
    let model = EddModel::train([(&busy, &busy_counts), (&thin, &thin_counts)]);

    // Two deliveries on day 20 against twenty lent around days 8-10: the single date stays
    // with the carrier, and the code says there is too little data.
    let estimate = model.estimate(&query(&thin));
    assert_eq!((estimate.level, estimate.deliveries), (Level::LaneAndService, 2));
    assert_eq!(estimate.window.single, 9);
    assert!(estimate.days.probability(20) > 0.08);
    assert_eq!(ConfidenceCode::of(&estimate, &estimate.window, true), ConfidenceCode::TooLittleData);

    // A service the lane never had: the lane, with 30003.
    let other_service = LaneQuery { service: Some("Express".into()), ..query(&busy) };
    let estimate = model.estimate(&other_service);
    assert_eq!(estimate.level, Level::Lane);
    assert_eq!(ConfidenceCode::of(&estimate, &estimate.window, true), ConfidenceCode::ImpreciseService);

    // No service asked: the lane.
    let estimate = model.estimate(&LaneQuery { service: None, ..query(&busy) });
    assert_eq!((estimate.level, estimate.unknown_service), (Level::Lane, false));

    // Another origin to a known destination; another destination; another carrier.
    let from_elsewhere = LaneQuery { origin: CountryCode::parse("HKG").ok(), ..query(&busy) };
    assert_eq!(model.estimate(&from_elsewhere).level, Level::CarrierAndDestination);
    let elsewhere = LaneQuery { destination: CountryCode::parse("FRA").ok(), ..query(&busy) };
    assert_eq!(model.estimate(&elsewhere).level, Level::Carrier);
    let other_carrier = LaneQuery { slug: Slug::parse("ups").expect("slug"), ..query(&busy) };
    let estimate = model.estimate(&other_carrier);
    assert_eq!((estimate.level, estimate.deliveries), (Level::Merchant, 10_002));
    assert_eq!(ConfidenceCode::of(&estimate, &estimate.window, true), ConfidenceCode::TooLittleData);

    // A merchant with no history: the prior.
    let empty = EddModel::train([]);
    assert_eq!(empty.estimate(&query(&busy)).level, Level::Prior);
    assert_eq!(empty.deliveries(), 0);
}

#[test]
fn codes_grade_the_single_date_and_flag_volatile_lanes_and_vague_addresses() {
    let sharp = lane("usps", "USA", "USA", None);
    let spread = lane("usps", "USA", "CAN", None);
    let wide = lane("usps", "USA", "MEX", None);
    let sharp_counts = deliveries(&[(2, 900), (3, 100)]);
    let spread_counts = deliveries(&[(2, 300), (3, 400), (4, 300)]);
    let wide_counts = deliveries(&[(2, 100), (5, 400), (9, 500)]);
    let model = EddModel::train([(&sharp, &sharp_counts), (&spread, &spread_counts), (&wide, &wide_counts)]);
    let code = |lane: &Lane, precise| {
        let estimate = model.estimate(&query(lane));
        ConfidenceCode::of(&estimate, &estimate.window, precise).code()
    };
    assert_eq!(code(&sharp, true), 10000);
    assert_eq!(code(&spread, true), 20001);
    assert_eq!(code(&wide, true), 30001);
    assert_eq!(code(&sharp, false), 30004);
    let mostly = lane("usps", "USA", "PRI", None);
    let mostly_counts = deliveries(&[(3, 600), (4, 400)]);
    let model = EddModel::train([(&mostly, &mostly_counts)]);
    let estimate = model.estimate(&query(&mostly));
    assert_eq!(ConfidenceCode::of(&estimate, &estimate.window, true).code(), 10001);
}

#[test]
fn a_shipment_overdue_past_the_history_gets_a_day_wide_window() {
    let lane = lane("ups", "USA", "USA", None);
    let counters = deliveries(&[(3, 1000)]);
    let model = EddModel::train([(&lane, &counters)]);
    let window = model.estimate(&query(&lane)).days.window(MAX_DAYS as u32 + 5);
    assert_eq!((window.earliest, window.latest), (MAX_DAYS as u32 + 5, MAX_DAYS as u32 + 6));
}
