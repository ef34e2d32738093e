//! The console's shipments list: a signed-in member's `GET /console/shipments` (50 shipments
//! with ten checkpoints each, the page rendered), filtered, searched, and sorted by last change
//! within a channel, through the whole router (session and tenant read, list query, template)
//! on a SQLite file of 10,000 shipments.
//!
//! Target (issue 14): a list of 50 shipments under 100 ms of server time.
//! Run: `cargo bench -p porchlight --bench console`.

/// The allocator the shipped binaries use.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{NaiveDate, TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::BodyExt;
use tower::ServiceExt;

use porchlight::adapters::blobs::FolderBlobs;
use porchlight::adapters::http_client::ReqwestClient;
use porchlight::adapters::sqlite::SqliteStore;
use porchlight::api::wire::history::{HistoryFormat, HistoryReader};
use porchlight::app::imports::{ImportTally, import_all};
use porchlight::app::team::{self, Actor, NewMember};
use porchlight::app::{Deps, Ports, SecretBox};
use porchlight::demo::history::{HistorySpec, default_lanes, generate};
use porchlight::domain::Role;
use porchlight::ports::SystemClock;
use porchlight::settings::Settings;

const SHIPMENTS: usize = 10_000;
const PASSWORD: &str = "correct horse battery";

/// A database of `SHIPMENTS` generated trackings and a member signed in: the router and the
/// session cookie.
async fn world(dir: &std::path::Path) -> (axum::Router, String) {
    let store = SqliteStore::open(&dir.join("console.db")).expect("store");
    let http = Arc::new(ReqwestClient::new(Duration::from_secs(5)));
    let blobs = Arc::new(FolderBlobs::new(dir.join("blobs")));
    let ports = Ports::of_store(store.clone(), Arc::new(store), Arc::new(SystemClock), http.clone(), http, blobs);
    let deps = Deps::new(ports, SecretBox::new([9; 32]), &Settings::default());
    let (tenant, _) = porchlight::app::create_tenant(&deps, "Bench shop").await.expect("tenant");
    let spec = HistorySpec {
        shipments: SHIPMENTS,
        start: NaiveDate::from_ymd_opt(2026, 1, 1).expect("date"),
        days: 90,
        seed: 14,
        lanes: default_lanes(),
    };
    let now = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).single().expect("time");
    let mut text = Vec::new();
    generate(&spec, now, |generated| {
        text.extend_from_slice(generated.line.as_bytes());
        text.push(b'\n');
    });
    let mut tally = ImportTally::default();
    let reader = HistoryReader::new(HistoryFormat::JsonLines, text.as_slice());
    import_all(&deps, &tenant.id, reader, &mut tally, |_| {}).await.expect("import");
    assert_eq!(tally.created, SHIPMENTS as u64);
    let new = NewMember { email: "bench@example.com", name: "", role: Role::Agent, password: Some(PASSWORD) };
    team::add_member(&deps, &tenant.id, &Actor::Operator, new).await.expect("member");
    let signed = team::sign_in(&deps, deps.ledger.as_ref(), "bench@example.com", PASSWORD).await.expect("signed in");
    (porchlight::api::router(deps), format!("pl_console={}", signed.secret))
}

async fn get(router: &axum::Router, cookie: &str, path: &str) -> usize {
    let request = Request::get(path).header(header::COOKIE, cookie).body(Body::empty()).expect("request");
    let response = router.clone().oneshot(request).await.expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    response.into_body().collect().await.expect("body").to_bytes().len()
}

fn console(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let dir = std::env::temp_dir().join(format!("porchlight-console-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let (router, cookie) = runtime.block_on(world(&dir));
    let page = runtime.block_on(get(&router, &cookie, "/console/shipments"));
    assert!(page > 20_000, "a page of 50 rows ({page} bytes)");
    let mut group = c.benchmark_group("console");
    group.bench_function("shipments_list_50_of_10000", |b| {
        b.iter(|| runtime.block_on(get(&router, &cookie, "/console/shipments")))
    });
    group.bench_function("shipments_list_filtered_by_carrier_and_status", |b| {
        b.iter(|| runtime.block_on(get(&router, &cookie, "/console/shipments?slug=ups&tag=Delivered")))
    });
    group.bench_function("shipments_list_searched", |b| {
        b.iter(|| runtime.block_on(get(&router, &cookie, "/console/shipments?q=1Z")))
    });
    group.bench_function("shipments_list_longest_without_news_imported", |b| {
        b.iter(|| runtime.block_on(get(&router, &cookie, "/console/shipments?sort=quiet&channel=import")))
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, console);
criterion_main!(benches);
