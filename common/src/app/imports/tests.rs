use std::sync::Arc;

use chrono::{TimeZone, Utc};

use super::*;
use crate::adapters::sqlite::SqliteStore;
use crate::app::fanout::fan_out_feed;
use crate::domain::{CheckpointSource, EventTime, ShipmentDetails, Slug, Subtag, Tag, TrackingNumber};
use crate::ports::{ChangeFeed, ListQuery};
use crate::testkit::ManualClock;

fn deps_on(store: SqliteStore) -> Deps {
    let clock = Arc::new(ManualClock::at(Utc.with_ymd_and_hms(2026, 5, 1, 8, 0, 0).single().expect("date")));
    crate::testkit::deps(store, clock)
}

fn record(number: &str, codes: &[(&str, u32)]) -> HistoryRecord {
    let slug = Slug::parse("ups").expect("slug");
    let tracking_number = TrackingNumber::parse(number).expect("number");
    let events = codes
        .iter()
        .map(|(code, day)| {
            let at = Utc.with_ymd_and_hms(2026, 3, *day, 10, 0, 0).single().expect("time");
            CheckpointInput::new(
                slug.clone(),
                tracking_number.clone(),
                EventTime::from_utc(at),
                Subtag::parse(code).expect("subtag"),
                *code,
                CheckpointSource::Carrier,
            )
        })
        .collect();
    HistoryRecord {
        tracking: NewTracking {
            slug: Some(slug.clone()),
            tracking_number,
            details: ShipmentDetails::default(),
            last_mile: None,
        },
        created_at: Some(Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).single().expect("time")),
        events,
    }
}

fn lines(records: Vec<HistoryRecord>) -> Vec<(u64, Result<HistoryRecord, LineError>)> {
    (1..).zip(records.into_iter().map(Ok)).collect()
}

const DELIVERED: &[(&str, u32)] = &[("InTransit_002", 2), ("OutForDelivery_001", 4), ("Delivered_001", 4)];

#[tokio::test]
async fn history_is_stored_as_history_and_importing_it_again_doubles_nothing() {
    let store = SqliteStore::in_memory().expect("store");
    let deps = deps_on(store.clone());
    let tenant = TenantId::random();
    let mut first =
        lines(vec![record("1Z999AA10123456784", DELIVERED), record("1Z999AA10123456795", &[("InTransit_002", 2)])]);
    first.push((3, Err(LineError { line: 3, field: "tracking_number".into(), reason: "is required".into() })));
    let mut wrong_courier = record("1Z999AA10123456802", DELIVERED);
    wrong_courier.tracking.slug = Some(Slug::parse("no-such-courier").expect("slug"));
    first.push((4, Ok(wrong_courier)));

    let mut tally = ImportTally::default();
    import_lines(&deps, &tenant, first.clone(), &mut tally).await.expect("import");
    assert_eq!((tally.lines, tally.imported, tally.created, tally.failed), (4, 2, 2, 2));
    assert_eq!(
        tally.errors.iter().map(|e| (e.line, e.field.as_str())).collect::<Vec<_>>(),
        [(3, "tracking_number"), (4, "slug")]
    );

    let stored = deps.shipments.list(&tenant, &ListQuery { limit: 10, ..ListQuery::default() }).await.expect("list");
    let delivered = stored.shipments.iter().find(|s| s.tag == Tag::Delivered).expect("the delivered one");
    assert_eq!(delivered.checkpoints.len(), 3);
    assert_eq!(delivered.created_at, Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).single().expect("time"));
    assert_eq!(delivered.imported_version, Some(delivered.version));

    // What the import wrote is in the feed, marked, and none of it is news.
    let changes = store.changes_after(0, 100).await.expect("feed");
    assert_eq!(changes.len(), 2);
    assert!(changes.iter().all(|c| c.change.new.as_ref().is_some_and(|s| s.imported && s.facts.is_some())));
    let fanned = fan_out_feed(&deps, &store, 100).await.expect("fan-out");
    assert_eq!((fanned.read, fanned.published), (2, 0));

    // Again: nothing written.
    let mut again = ImportTally::default();
    import_lines(&deps, &tenant, first, &mut again).await.expect("import again");
    assert_eq!((again.imported, again.unchanged, again.created, again.failed), (2, 2, 0, 2));
    assert_eq!(store.changes_after(0, 100).await.expect("feed").len(), 2);

    // A later export with more checkpoints adds only those, still as history.
    let mut more = ImportTally::default();
    let longer = record("1Z999AA10123456795", &[("InTransit_002", 2), ("Delivered_001", 6)]);
    import_lines(&deps, &tenant, lines(vec![longer]), &mut more).await.expect("import more");
    assert_eq!((more.updated, more.imported), (1, 1));
    let changes = store.changes_after(0, 100).await.expect("feed");
    assert_eq!(changes.len(), 3);
    let last = changes.last().expect("a change");
    assert_eq!(last.change.new.as_ref().map(|s| (s.tag, s.imported)), Some((Tag::Delivered, true)));
    assert_eq!(fan_out_feed(&deps, &store, 100).await.expect("fan-out").published, 0);
}

#[tokio::test]
async fn live_news_after_an_import_is_news_again() {
    let store = SqliteStore::in_memory().expect("store");
    let deps = deps_on(store.clone());
    let tenant = TenantId::random();
    let mut tally = ImportTally::default();
    import_lines(&deps, &tenant, lines(vec![record("1Z999AA10123456784", &[("InTransit_002", 2)])]), &mut tally)
        .await
        .expect("import");
    let id =
        deps.shipments.list(&tenant, &ListQuery { limit: 1, ..ListQuery::default() }).await.expect("list").shipments[0]
            .id
            .clone();
    crate::app::update_tracking(&deps, &tenant, &id, |shipment| {
        let mut event = record("1Z999AA10123456784", &[("Delivered_001", 5)]).events;
        shipment.merge(std::mem::take(&mut event), Utc::now());
        Ok(())
    })
    .await
    .expect("live update");
    let fanned = fan_out_feed(&deps, &store, 100).await.expect("fan-out");
    assert_eq!((fanned.read, fanned.published), (2, 1), "the import is history, the delivery is news");
}
