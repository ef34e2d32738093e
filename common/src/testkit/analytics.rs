//! The analytics rollups' contract.

use chrono::NaiveDate;

use crate::domain::analytics::{Counters, Lane, Period};
use crate::domain::{CountryCode, ShipmentId, Slug, TenantId};
use crate::ports::{AnalyticsStore, CountedChange};

fn lane(slug: &str) -> Lane {
    Lane {
        slug: Slug::parse(slug).expect("slug"),
        origin: CountryCode::parse("CHN").ok(),
        destination: CountryCode::parse("USA").ok(),
        service: Some("Standard \"economy\" #1".into()),
        tag: None,
        events: false,
    }
}

fn counters(pairs: &[(&str, i64)]) -> Counters {
    pairs.iter().map(|(name, value)| ((*name).to_owned(), *value)).collect()
}

fn change(
    tenant: &TenantId,
    shipment: &ShipmentId,
    version: u64,
    rows: Vec<(Period, Lane, Counters)>,
) -> CountedChange {
    CountedChange::shipment(tenant.clone(), shipment, version, rows)
}

/// Counters add up per row; a change delivered twice, or an older one after a newer, counts
/// once; rows are read by period; another tenant's rows stay apart.
pub async fn analytics_contract_counts_once_by_row_and_isolates(store: &dyn AnalyticsStore) {
    let (tenant, other) = (TenantId::random(), TenantId::random());
    let day = Period::Day(NaiveDate::from_ymd_opt(2026, 3, 4).expect("date"));
    let month = Period::month_of(NaiveDate::from_ymd_opt(2026, 3, 4).expect("date"));
    let (a, b) = (ShipmentId::random(), ShipmentId::random());
    let created = |shipment: &ShipmentId, slug: &str| {
        change(
            &tenant,
            shipment,
            1,
            vec![
                (day, lane(slug), counters(&[("n", 1), ("t:InTransit", 1), ("p:12", 1)])),
                (month, lane(slug), counters(&[("n", 1), ("t:InTransit", 1), ("p:12", 1)])),
            ],
        )
    };
    let delivered =
        change(&tenant, &a, 2, vec![(day, lane("ups"), counters(&[("t:InTransit", -1), ("t:Delivered", 1)]))]);
    let counted = store
        .count_changes(vec![created(&a, "ups"), created(&b, "ups"), delivered.clone()], None)
        .await
        .expect("counted");
    assert_eq!(counted, 3);
    // The stream delivers the batch again, and an old change of `a` late.
    let again =
        store.count_changes(vec![created(&a, "ups"), delivered, created(&b, "ups")], None).await.expect("again");
    assert_eq!(again, 0, "nothing counts twice");

    let rows = store.rollup_rows(&tenant, vec![day]).await.expect("rows");
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].period, &rows[0].lane), (day, &lane("ups")));
    assert_eq!(rows[0].counters, counters(&[("n", 2), ("t:InTransit", 1), ("t:Delivered", 1), ("p:12", 2)]));
    let both = store
        .rollup_rows(&tenant, vec![day, month, Period::Day(NaiveDate::from_ymd_opt(2026, 3, 5).expect("date"))])
        .await
        .expect("rows");
    assert_eq!(both.len(), 2);
    let monthly = both.iter().find(|row| row.period == month).expect("the month's row");
    assert_eq!(monthly.counters.get("n"), 2);

    // A later change moves counters; another tenant sees none of it.
    let moved = change(
        &tenant,
        &b,
        3,
        vec![
            (day, lane("ups"), counters(&[("n", -1), ("t:InTransit", -1), ("p:12", -1)])),
            (day, lane("dhl"), counters(&[("n", 1)])),
        ],
    );
    assert_eq!(store.count_changes(vec![moved], None).await.expect("moved"), 1);
    let rows = store.rollup_rows(&tenant, vec![day]).await.expect("rows");
    let by_slug = |slug: &str| rows.iter().find(|row| row.lane.slug.as_str() == slug).map(|row| row.counters.get("n"));
    assert_eq!((by_slug("ups"), by_slug("dhl")), (Some(1), Some(1)));
    assert!(store.rollup_rows(&other, vec![day, month]).await.expect("rows").is_empty());
}

/// Events count once by their identity, in the merchant's and carriers' events rows; return
/// reasons, which merchants name, come back by their names.
pub async fn analytics_contract_counts_events_once(store: &dyn AnalyticsStore) {
    let tenant = TenantId::random();
    let day = Period::Day(NaiveDate::from_ymd_opt(2026, 3, 4).expect("date"));
    let returned = |id: &str| {
        CountedChange::event(
            tenant.clone(),
            "return",
            id,
            vec![(
                day,
                Lane::merchant_events(),
                counters(&[("ret", 1), ("ret.items", 3), ("r:damaged", 2), ("r:wrong_size", 1)]),
            )],
        )
    };
    let health = CountedChange::shipment(
        tenant.clone(),
        &ShipmentId::random(),
        2,
        vec![(
            day,
            Lane::carrier_events(Slug::parse("ups").expect("slug")),
            counters(&[("h:events", 4), ("h:unmapped", 1)]),
        )],
    );
    let sent = CountedChange::event(
        tenant.clone(),
        "message",
        "m1.sent",
        vec![(day, Lane::merchant_events(), counters(&[("m:email.sent", 1)]))],
    );
    let counted = store.count_changes(vec![returned("r1"), sent.clone(), health], None).await.expect("counted");
    assert_eq!(counted, 3);
    assert_eq!(store.count_changes(vec![returned("r1"), sent], None).await.expect("again"), 0, "each event once");
    assert_eq!(store.count_changes(vec![returned("r2")], None).await.expect("another"), 1);

    let rows = store.rollup_rows(&tenant, vec![day]).await.expect("rows");
    let merchant = rows.iter().find(|row| row.lane.is_merchant_events()).expect("the merchant's events row");
    assert_eq!(
        merchant.counters,
        counters(&[("ret", 2), ("ret.items", 6), ("r:damaged", 4), ("r:wrong_size", 2), ("m:email.sent", 1)])
    );
    let carrier = rows.iter().find(|row| row.lane.events && !row.lane.is_merchant_events()).expect("the carrier's row");
    assert_eq!((carrier.lane.slug.as_str(), carrier.counters.get("h:unmapped")), ("ups", 1));
}

/// Runs the analytics contract against the store `$make` builds.
#[macro_export]
macro_rules! analytics_contract_tests {
    ($make:expr) => {
        $crate::store_contract_tests!(@each $make;
            analytics_contract_counts_once_by_row_and_isolates,
            analytics_contract_counts_events_once,
        );
    };
}
