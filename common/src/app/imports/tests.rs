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
        order_line: None,
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

/// A Shopify-style order export: a row per line, the order's fields repeated, the header's
/// names as Shopify writes them; one row without a tracking number, one with a bad price.
const ORDER_EXPORT: &str = "\
Name,Email,Currency,Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku,Shipping Zip,Shipping Country,Tracking Number,Courier
#1001,ada@example.com,USD,2,Organic cotton tee,24.00,TEE-BLU-M,94105,US,1Z999AA10123456784,UPS
#1001,ada@example.com,USD,1,Wool cap,18.50,CAP-GRY,94105,US,1Z999AA10123456784,UPS
#1002,grace@example.com,USD,1,Compiler mug,12.00,MUG-1,22202,USA,,
#1003,mary@example.com,GBP,1,Star atlas,19.x9,ATLAS-1,SW3 4HS,GB,RR123456785GB,Royal Mail
";

#[tokio::test]
async fn a_csv_with_item_columns_makes_orders_once() {
    use crate::domain::Order;
    let store = SqliteStore::in_memory().expect("store");
    let deps = deps_on(store);
    let tenant = TenantId::random();
    for round in 0..2 {
        let mut tally = ImportTally::default();
        let read = crate::api::wire::history::history_lines(HistoryFormat::Csv, ORDER_EXPORT.as_bytes());
        import_all(&deps, &tenant, read, &mut tally, |_| {}).await.expect("imported");
        assert_eq!((tally.lines, tally.imported, tally.failed), (4, 2, 2), "{tally:?}");
        let errors: Vec<(u64, &str)> = tally.errors.iter().map(|e| (e.line, e.field.as_str())).collect();
        assert_eq!(errors, [(4, "tracking_number"), (5, "item_price.amount")], "{:?}", tally.errors);
        assert_eq!(tally.orders, if round == 0 { 1 } else { 0 }, "the same file again changes no order");
    }
    let order = deps.orders.order(&tenant, &Order::id_of(&tenant, "#1001")).await.expect("read").expect("made");
    let lines: Vec<(&str, u32, &str)> =
        order.items.iter().map(|i| (i.external_id.as_str(), i.quantity, i.unit_price.amount.as_str())).collect();
    assert_eq!(lines, [("sku:TEE-BLU-M", 2, "24.00"), ("sku:CAP-GRY", 1, "18.50")]);
    assert_eq!(order.customer.email.as_deref(), Some("ada@example.com"));
    assert_eq!(order.shipping_address.postal_code.as_deref(), Some("94105"));
    assert_eq!(order.currency.as_deref(), Some("USD"));
    let page = deps.shipments.list(&tenant, &ListQuery { limit: 10, ..ListQuery::default() }).await.expect("listed");
    assert_eq!(page.shipments.len(), 1, "two rows, one parcel");
    assert_eq!(page.shipments[0].details.order_number.as_deref(), Some("#1001"));
}
