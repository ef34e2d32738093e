//! Migrations forward from databases that earlier releases made (`testdata/schema-N.db`):
//! each opens, migrates to the latest schema, and reads back as it was.

use std::path::PathBuf;

use super::SqliteStore;
use super::schema::latest_version;
use crate::domain::{TenantId, TrackingSource};
use crate::ports::{ExceptionStore, ListOrder, ListQuery, MessageLedger, ShipmentStore, TeamStore, TenantStore};

/// A copy of the fixture `name` in a fresh folder (the original stays as committed).
fn copy_of(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("porchlight-migrate-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("store.db");
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/adapters/sqlite/testdata").join(name);
    std::fs::copy(&fixture, &path).expect("the fixture is there");
    path
}

#[tokio::test]
async fn the_demo_database_of_schema_18_migrates_and_reads_back() {
    let path = copy_of("schema-18.db");
    let store = SqliteStore::open(&path).expect("opens and migrates");
    let version: i64 = rusqlite::Connection::open(&path)
        .and_then(|c| c.query_row("PRAGMA user_version", [], |row| row.get(0)))
        .expect("read");
    assert_eq!(version, i64::from(latest_version()));
    let tenants = store.list_tenants().await.expect("tenants");
    assert_eq!(tenants.len(), 1);
    let tenant: &TenantId = &tenants[0].id;
    let all = ListQuery { limit: 50, ..ListQuery::default() };
    let listed = store.list(tenant, &all).await.expect("listed");
    assert_eq!(listed.total, 14);
    for shipment in &listed.shipments {
        let read = store.get(tenant, &shipment.id).await.expect("read").expect("there");
        assert_eq!(read.source, TrackingSource::Api, "trackings from before sources were kept came through the API");
        assert!(!read.checkpoints.is_empty() || read.tag == crate::domain::Tag::Pending);
    }
    let by_channel = |source| ListQuery { limit: 50, sources: vec![source], ..ListQuery::default() };
    assert_eq!(store.list(tenant, &by_channel(TrackingSource::Api)).await.expect("listed").total, 14);
    assert_eq!(store.list(tenant, &by_channel(TrackingSource::Console)).await.expect("listed").total, 0);
    let quiet = ListQuery { limit: 50, order: ListOrder::LeastRecentlyUpdated, ..ListQuery::default() };
    let sorted = store.list(tenant, &quiet).await.expect("listed").shipments;
    assert!(sorted.windows(2).all(|w| w[0].updated_at <= w[1].updated_at), "the new index sorts old rows");

    let mut messages = 0;
    for shipment in &listed.shipments {
        let kept = store.shipment_messages(tenant, &shipment.id).await.expect("ledger");
        assert!(kept.iter().all(|m| !m.test), "messages from before test sends are none");
        messages += kept.len();
    }
    assert_eq!(messages, 4);
    let cases = store.cases(tenant, &crate::ports::CaseFilter::default(), 100).await.expect("cases");
    assert_eq!(cases.len(), 6);
    let owner = store.member_by_email("owner@demo.example").await.expect("read").expect("the owner");
    assert_eq!(&owner.tenant_id, tenant);
    let events = crate::ports::WebhookStore::subject_events(&store, tenant, listed.shipments[0].id.as_str(), 10);
    assert!(events.await.expect("the new index answers").is_empty());
    let _ = std::fs::remove_dir_all(path.parent().expect("dir"));
}

/// Schema 19 to the cadence index: the demo shop's active shipments are found by the poller
/// through the new indexes, each once, as the domain's own rule finds them.
#[tokio::test]
async fn the_demo_database_of_schema_19_migrates_and_polls_through_the_new_indexes() {
    let path = copy_of("schema-19.db");
    let store = SqliteStore::open(&path).expect("opens and migrates");
    let tenants = store.list_tenants().await.expect("tenants");
    let tenant: &TenantId = &tenants[0].id;
    let all = store.list(tenant, &ListQuery { limit: 50, ..ListQuery::default() }).await.expect("listed");
    assert_eq!(all.total, 14);
    let (after, until) = (chrono::Utc::now(), chrono::Utc::now() + chrono::Duration::days(2));
    let cadences = crate::domain::PollPolicy::default().cadences();
    let mut due = store.due_for_poll(after, until, &cadences).await.expect("due");
    let mut expected: Vec<_> = all
        .shipments
        .iter()
        .filter(|s| s.due_between(after, until))
        .map(|s| (s.tenant_id.clone(), s.id.clone()))
        .collect();
    assert!(!expected.is_empty(), "the demo shop has shipments in flight");
    due.sort();
    expected.sort();
    assert_eq!(due, expected);
    let _ = std::fs::remove_dir_all(path.parent().expect("dir"));
}

/// Schema 20 to the kept totals: an unfiltered list's total starts as the tenant's count and
/// follows insertions and deletions, equal to the counted total of a filter that takes all.
#[tokio::test]
async fn the_demo_database_of_schema_20_migrates_and_keeps_its_totals() {
    let path = copy_of("schema-20.db");
    let store = SqliteStore::open(&path).expect("opens and migrates");
    let tenants = store.list_tenants().await.expect("tenants");
    let tenant: &TenantId = &tenants[0].id;
    let kept = ListQuery { limit: 1, ..ListQuery::default() };
    let counted = ListQuery { limit: 1, sources: vec![TrackingSource::Api], ..ListQuery::default() };
    let totals = async |store: &SqliteStore| {
        let kept = store.list(tenant, &kept).await.expect("listed").total;
        (kept, store.list(tenant, &counted).await.expect("listed").total)
    };
    assert_eq!(totals(&store).await, (14, 14));

    let all = store.list(tenant, &ListQuery { limit: 50, ..ListQuery::default() }).await.expect("listed");
    for shipment in &all.shipments[..3] {
        store.delete(tenant, &shipment.id).await.expect("deleted");
    }
    let mut copy = all.shipments[3].clone();
    copy.id = crate::domain::ShipmentId::random();
    copy.tracking_number = crate::domain::TrackingNumber::parse("1Z999AA10123456784").expect("number");
    store.insert(&copy).await.expect("inserted");
    assert_eq!(totals(&store).await, (12, 12));
    let other = store.list(&TenantId::random(), &kept).await.expect("listed");
    assert_eq!(other.total, 0, "a tenant without shipments counts none");
    let _ = std::fs::remove_dir_all(path.parent().expect("dir"));
}
