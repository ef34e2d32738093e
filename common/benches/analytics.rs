//! Analytics over a year of a one-million-shipment merchant, on SQLite.
//!
//! The data: 1,000,000 shipments created evenly over 365 days on 300 lanes (6 couriers, 2
//! origins, 25 destinations; the busiest lanes take most shipments, Zipf-like), each with a
//! status, an on-time outcome, an exception one time in twenty and a log-normal transit time,
//! counted into the rollups as the change feed would count their creation. The queries never
//! read shipments, so the bench stores none: only the rollups they read.
//!
//! Target (issue 12): under 100 ms a query. Run: `cargo bench -p porchlight --bench analytics`.

/// The allocator the shipped binaries use.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use criterion::{Criterion, criterion_group, criterion_main};
use porchlight::adapters::blobs::FolderBlobs;
use porchlight::adapters::http_client::ReqwestClient;
use porchlight::adapters::sqlite::SqliteStore;
use porchlight::app::analytics::{DayRange, LaneFilter, carrier_scorecard, overview};
use porchlight::app::{Deps, Ports, SecretBox};
use porchlight::domain::analytics::{Lane, ShipmentFacts, change_rows, sketch};
use porchlight::domain::{CountryCode, ShipmentId, Slug, Subtag, Tag, TenantId};
use porchlight::ports::{AnalyticsStore, CountedChange, FeedMark, SystemClock};
use porchlight::settings::Settings;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

const SHIPMENTS: usize = 1_000_000;

fn lanes() -> Vec<Lane> {
    let slugs = ["ups", "usps", "fedex", "dhl", "yunexpress", "4px"];
    let origins = ["CHN", "USA"];
    let destinations = [
        "USA", "CAN", "GBR", "DEU", "FRA", "ITA", "ESP", "NLD", "BEL", "SWE", "NOR", "DNK", "FIN", "POL", "AUT", "CHE",
        "IRL", "PRT", "AUS", "NZL", "JPN", "KOR", "SGP", "MEX", "BRA",
    ];
    let mut lanes = Vec::new();
    for slug in slugs {
        for origin in origins {
            for destination in destinations {
                lanes.push(Lane {
                    slug: Slug::parse(slug).expect("slug"),
                    origin: CountryCode::parse(origin).ok(),
                    destination: CountryCode::parse(destination).ok(),
                    service: None,
                    tag: None,
                    events: false,
                });
            }
        }
    }
    lanes
}

async fn merchant(store: &SqliteStore, tenant: &TenantId) {
    let lanes = lanes();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(12);
    let start = NaiveDate::from_ymd_opt(2025, 1, 1).expect("date");
    let delivered = Subtag::parse("Delivered_001").expect("subtag");
    let in_transit = Subtag::parse("InTransit_001").expect("subtag");
    let exception = Subtag::parse("Exception_004").expect("subtag");
    let mut batch = Vec::with_capacity(20_000);
    for n in 0..SHIPMENTS {
        // Zipf-like: lane i drawn with weight 1 / (i + 1).
        let lane =
            &lanes[((lanes.len() as f64).powf(rng.random::<f64>()) as usize).saturating_sub(1).min(lanes.len() - 1)];
        let day = start + chrono::Days::new(rng.random_range(0..365));
        let is_delivered = rng.random::<f64>() < 0.9;
        let (u1, u2) = (rng.random::<f64>().max(1e-12), rng.random::<f64>());
        let normal = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        let hours = 24.0 * 6.0 * (0.4 * normal).exp();
        let facts = ShipmentFacts {
            day,
            lane: lane.clone(),
            tag: if is_delivered { Tag::Delivered } else { Tag::InTransit },
            subtag: if is_delivered { delivered } else { in_transit },
            on_time: is_delivered.then(|| rng.random::<f64>() < 0.85),
            exceptions: if rng.random::<f64>() < 0.05 { vec![exception] } else { Vec::new() },
            failed_attempts: u32::from(rng.random::<f64>() < 0.03),
            pickup_to_delivery: is_delivered.then(|| sketch::bucket_of(hours)),
            order_to_delivery: is_delivered.then(|| sketch::bucket_of(hours + 30.0)),
            transit_days: is_delivered.then(|| (hours / 24.0).round() as u32),
            tags: Vec::new(),
            carrier_events: 0,
            unmapped_events: 0,
            events_stored: None,
        };
        batch.push(CountedChange::shipment(tenant.clone(), &ShipmentId::random(), 1, change_rows(None, Some(&facts))));
        if batch.len() == batch.capacity() || n + 1 == SHIPMENTS {
            let mark = FeedMark { consumer: "bench".into(), seq: n as u64 };
            store.count_changes(std::mem::take(&mut batch), Some(mark)).await.expect("counted");
        }
    }
}

fn queries(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let dir = std::env::temp_dir().join(format!("porchlight-analytics-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let store = SqliteStore::open(&dir.join("analytics.db")).expect("store");
    let tenant = TenantId::random();
    runtime.block_on(merchant(&store, &tenant));
    let http = Arc::new(ReqwestClient::new(Duration::from_secs(5)));
    let blobs = Arc::new(FolderBlobs::new(dir.join("blobs")));
    let ports =
        Ports::of_store(store.clone(), Arc::new(store.clone()), Arc::new(SystemClock), http.clone(), http, blobs);
    let deps = Deps::new(ports, SecretBox::new([9; 32]), &Settings::default());
    let year = DayRange {
        from: NaiveDate::from_ymd_opt(2025, 1, 1).expect("date"),
        to: NaiveDate::from_ymd_opt(2025, 12, 31).expect("date"),
    };
    let ragged = DayRange {
        from: NaiveDate::from_ymd_opt(2025, 1, 17).expect("date"),
        to: NaiveDate::from_ymd_opt(2025, 12, 14).expect("date"),
    };
    let all = LaneFilter::default();
    let card = runtime.block_on(carrier_scorecard(&deps, &tenant, year, &all, false)).expect("scorecard");
    assert_eq!(card.lanes.iter().map(|l| l.shipments).sum::<i64>(), SHIPMENTS as i64);
    let mut group = c.benchmark_group("analytics_1m_shipments");
    group.sample_size(20);
    group.bench_function("carriers_a_calendar_year", |b| {
        b.iter(|| runtime.block_on(carrier_scorecard(&deps, &tenant, year, &all, false)).expect("scorecard"))
    });
    group.bench_function("carriers_jan17_to_dec14", |b| {
        b.iter(|| runtime.block_on(carrier_scorecard(&deps, &tenant, ragged, &all, false)).expect("scorecard"))
    });
    group.bench_function("overview_jan17_to_dec14", |b| {
        b.iter(|| runtime.block_on(overview(&deps, &tenant, ragged, &all)).expect("overview"))
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, queries);
criterion_main!(benches);
