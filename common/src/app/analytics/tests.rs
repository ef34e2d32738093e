use std::sync::Arc;

use chrono::{NaiveDate, TimeZone, Utc};

use super::*;
use crate::adapters::sqlite::SqliteStore;
use crate::api::wire::history::{HistoryFormat, HistoryReader};
use crate::app::imports::{ImportTally, import_all};
use crate::demo::history::{Generated, HistorySpec, default_lanes, generate};
use crate::domain::analytics::Period;
use crate::domain::{CountryCode, TenantId};
use crate::ports::{ListQuery, RollupRow};
use crate::testkit::ManualClock;

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).single().expect("time")
}

fn spec(shipments: usize, start: NaiveDate, days: u32) -> HistorySpec {
    HistorySpec { shipments, start, days, seed: 11, lanes: default_lanes() }
}

/// A store with the generated history imported and counted; the truth beside it.
async fn world(spec: HistorySpec) -> (SqliteStore, Deps, TenantId, Vec<Generated>) {
    let shipments = spec.shipments;
    let store = SqliteStore::in_memory().expect("store");
    let deps = crate::testkit::deps(store.clone(), Arc::new(ManualClock::at(now())));
    let tenant = TenantId::random();
    let mut truth = Vec::new();
    let mut text = String::new();
    generate(&spec, now(), |g| {
        text.push_str(&g.line);
        text.push('\n');
        truth.push(g);
    });
    let mut tally = ImportTally::default();
    let reader = HistoryReader::new(HistoryFormat::JsonLines, text.as_bytes());
    import_all(&deps, &tenant, reader, &mut tally, |_| {}).await.expect("import");
    assert_eq!((tally.created, tally.failed), (shipments as u64, 0));
    while count_feed(&deps, &store, 1000).await.expect("count") > 0 {}
    (store, deps, tenant, truth)
}

fn every_period() -> Vec<Period> {
    let first = NaiveDate::from_ymd_opt(2025, 12, 1).expect("date");
    let days: Vec<Period> = first.iter_days().take(250).map(Period::Day).collect();
    let mut all: Vec<Period> = Vec::new();
    for period in &days {
        if let Period::Day(day) = period {
            all.extend(Period::of_day(*day));
        }
    }
    all.sort();
    all.dedup();
    all
}

async fn rows(deps: &Deps, tenant: &TenantId) -> Vec<(String, String, Counters)> {
    let mut rows: Vec<_> = deps
        .analytics
        .rollup_rows(tenant, every_period())
        .await
        .expect("rows")
        .into_iter()
        .map(|RollupRow { period, lane, counters }| {
            (period.key(), serde_json::to_string(&lane).expect("lane"), counters)
        })
        .collect();
    rows.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    rows
}

#[tokio::test]
async fn counting_change_by_change_equals_counting_from_scratch() {
    // Created up to a few days ago: some still on the way.
    let (store, deps, tenant, _) = world(spec(400, NaiveDate::from_ymd_opt(2026, 4, 20).expect("date"), 40)).await;
    // Live changes after the import: a merchant moves some shipments to another destination,
    // deletes one, and a carrier delivers one.
    let page = deps.shipments.list(&tenant, &ListQuery { limit: 20, ..ListQuery::default() }).await.expect("list");
    for shipment in &page.shipments[..5] {
        crate::app::update_tracking(&deps, &tenant, &shipment.id, |s| {
            s.details.destination_country_region = CountryCode::parse("AUS").ok();
            s.details.shipment_type = None;
            Ok(())
        })
        .await
        .expect("moved");
    }
    crate::app::delete_tracking(&deps, &tenant, &page.shipments[5].id).await.expect("deleted");
    let undelivered =
        page.shipments.iter().find(|s| s.tag != crate::domain::Tag::Delivered).expect("an undelivered one");
    crate::app::mark_completed(&deps, &tenant, &undelivered.id, crate::domain::CompletionReason::Delivered, None)
        .await
        .expect("completed");
    while count_feed(&deps, &store, 7).await.expect("count") > 0 {}
    let incremental = rows(&deps, &tenant).await;
    assert!(incremental.iter().any(|(_, lane, _)| lane.contains("AUS")), "the moved shipments count on their new lane");

    let counted = store.rebuild_rollups(FEED_CONSUMER).await.expect("rebuild");
    assert_eq!(counted, 399);
    assert_eq!(rows(&deps, &tenant).await, incremental);
    assert_eq!(count_feed(&deps, &store, 100).await.expect("count"), 0, "the rebuild moved the position to the end");
}

#[tokio::test]
async fn the_numbers_match_the_generated_truth() {
    let (_, deps, tenant, truth) = world(spec(3000, NaiveDate::from_ymd_opt(2026, 1, 10).expect("date"), 100)).await;
    let range = DayRange {
        from: NaiveDate::from_ymd_opt(2026, 1, 1).expect("date"),
        to: NaiveDate::from_ymd_opt(2026, 5, 31).expect("date"),
    };
    let card = carrier_scorecard(&deps, &tenant, range, &LaneFilter::default(), false).await.expect("scorecard");
    let lanes = default_lanes();
    assert_eq!(card.lanes.len(), lanes.len());
    for (index, lane) in lanes.iter().enumerate() {
        let mine: Vec<&Generated> = truth.iter().filter(|g| g.lane == index).collect();
        let scored = card
            .lanes
            .iter()
            .find(|c| c.slug == lane.slug && c.destination_country_region.as_deref() == Some(lane.destination))
            .expect("the lane is scored");
        // Counts are exact.
        assert_eq!(scored.shipments, mine.len() as i64, "{lane:?}");
        assert_eq!(scored.delivered, mine.iter().filter(|g| g.transit_hours.is_some()).count() as i64);
        let exceptions = mine.iter().filter(|g| g.exception).count() as f64 / mine.len() as f64;
        assert!((scored.exception_rate.expect("rate") - exceptions).abs() < 1e-3, "{lane:?}");
        let delivered: Vec<&&Generated> = mine.iter().filter(|g| g.on_time.is_some()).collect();
        let on_time = delivered.iter().filter(|g| g.on_time == Some(true)).count() as f64 / delivered.len() as f64;
        assert!((scored.on_time_rate.expect("rate") - on_time).abs() < 1e-3, "{lane:?}");
        // Quantiles are within their interval of the distribution's truth (the sketch's 1 %
        // and the interval's sampling error).
        let [low, high] = scored.transit_days.p50_interval.expect("interval");
        let true_median = lane.transit_quantile(0.5);
        assert!(low * 0.98 <= true_median && true_median <= high * 1.02, "{lane:?}: {low}..{high} vs {true_median}");
        let p90 = scored.transit_days.p90.expect("p90");
        assert!((p90 - lane.transit_quantile(0.9)).abs() / lane.transit_quantile(0.9) < 0.15, "{lane:?}: p90 {p90}");
    }
    let all = overview(&deps, &tenant, range, &LaneFilter::default()).await.expect("overview");
    assert_eq!(all.shipments, truth.len() as i64);
    let only_ups =
        LaneFilter { slugs: vec![crate::domain::Slug::parse("ups").expect("slug")], ..LaneFilter::default() };
    let ups = overview(&deps, &tenant, range, &only_ups).await.expect("overview");
    assert_eq!(ups.shipments, truth.iter().filter(|g| g.lane == 0).count() as i64);
    let exceptions = exceptions_breakdown(&deps, &tenant, range, &LaneFilter::default()).await.expect("exceptions");
    assert_eq!(exceptions.kinds.first().map(|k| k.subtag.as_str()), Some("Exception_004"));
    assert_eq!(exceptions.with_exception, truth.iter().filter(|g| g.exception).count() as i64);

    // A range is the sum of its days, whichever way the months are read.
    let march = DayRange {
        from: NaiveDate::from_ymd_opt(2026, 3, 1).expect("date"),
        to: NaiveDate::from_ymd_opt(2026, 3, 31).expect("date"),
    };
    let in_march = |from: u32, to: u32| {
        truth
            .iter()
            .filter(|g| {
                let day = g.created_at.date_naive();
                day >= NaiveDate::from_ymd_opt(2026, 3, from).expect("date")
                    && day <= NaiveDate::from_ymd_opt(2026, 3, to).expect("date")
            })
            .count() as i64
    };
    assert_eq!(
        overview(&deps, &tenant, march, &LaneFilter::default()).await.expect("march").shipments,
        in_march(1, 31)
    );
    let most = DayRange {
        from: NaiveDate::from_ymd_opt(2026, 3, 3).expect("date"),
        to: NaiveDate::from_ymd_opt(2026, 3, 29).expect("date"),
    };
    assert_eq!(overview(&deps, &tenant, most, &LaneFilter::default()).await.expect("most").shipments, in_march(3, 29));
}

#[test]
fn ranges_are_checked() {
    let today = NaiveDate::from_ymd_opt(2026, 6, 1).expect("date");
    let default = DayRange::parse(None, None, today).expect("default");
    assert_eq!((default.to - default.from).num_days(), 29);
    assert!(DayRange::parse(Some("2026-06-02"), Some("2026-06-01"), today).is_err());
    assert!(DayRange::parse(Some("2020-01-01"), Some("2026-06-01"), today).is_err());
    assert_eq!(DayRange::parse(Some("June"), None, today).expect_err("not a date").field, "from");
}
