//! History import into SQLite: generated trackings with ten checkpoints each, read from JSON
//! lines and stored (each with its change-feed row) in a fresh database file.
//!
//! Targets: at least 5,000 shipments with 10 checkpoints each per second (issue 12); a CSV of
//! 100,000 tracking numbers with order fields in under 20 s (issue 13).
//! Run: `cargo bench -p porchlight --bench import`.

/// The allocator the shipped binaries use.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;

use chrono::{NaiveDate, TimeZone, Utc};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use std::time::Duration;

use porchlight::adapters::blobs::FolderBlobs;
use porchlight::adapters::http_client::ReqwestClient;
use porchlight::adapters::sqlite::SqliteStore;
use porchlight::api::wire::history::{HistoryFormat, HistoryReader};
use porchlight::app::imports::{ImportTally, import_all};
use porchlight::app::{Deps, Ports, SecretBox};
use porchlight::demo::history::{HistorySpec, default_lanes, generate};
use porchlight::domain::TenantId;
use porchlight::ports::SystemClock;
use porchlight::settings::Settings;

const SHIPMENTS: usize = 5_000;
const CSV_ROWS: usize = 100_000;

/// A storefront's CSV: UPS numbers with an order's fields and its buyer, carriers by name.
fn orders_csv() -> Vec<u8> {
    let mut text = String::from(
        "Tracking Number,Courier,Order Number,Order ID,Email,Shipping Name,Shipping Country,Shipping Zip,Title,Tags\n",
    );
    for i in 0..CSV_ROWS {
        text.push_str(&format!(
            "1Z999AA1{i:010},United Parcel Service,#{i},gid-{i},buyer{i}@example.com,Ann {i},US,{zip:05},Mug,vip\n",
            zip = 10_000 + i % 80_000
        ));
    }
    text.into_bytes()
}

fn history() -> Vec<u8> {
    let spec = HistorySpec {
        shipments: SHIPMENTS,
        start: NaiveDate::from_ymd_opt(2026, 1, 1).expect("date"),
        days: 90,
        seed: 3,
        lanes: default_lanes(),
    };
    let now = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).single().expect("time");
    let mut text = Vec::new();
    generate(&spec, now, |generated| {
        text.extend_from_slice(generated.line.as_bytes());
        text.push(b'\n');
    });
    text
}

/// The use cases on a fresh database file in `dir`.
fn fresh_deps(dir: &std::path::Path, round: usize) -> Deps {
    let path = dir.join(format!("round-{round}.db"));
    let store = SqliteStore::open(&path).expect("store");
    let http = Arc::new(ReqwestClient::new(Duration::from_secs(5)));
    let blobs = Arc::new(FolderBlobs::new(dir.join("blobs")));
    let ports = Ports::of_store(store.clone(), Arc::new(store), Arc::new(SystemClock), http.clone(), http, blobs);
    Deps::new(ports, SecretBox::new([9; 32]), &Settings::default())
}

/// Times importing `file` (`format`, `lines` trackings, all created) into a fresh database
/// file per iteration.
fn bench_import(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    (runtime, dir, round): (&tokio::runtime::Runtime, &std::path::Path, &mut usize),
    (format, file, lines): (HistoryFormat, &[u8], usize),
) {
    group.throughput(Throughput::Elements(lines as u64));
    group.bench_function(name, |b| {
        b.iter_batched(
            || {
                *round += 1;
                fresh_deps(dir, *round)
            },
            |deps| {
                runtime.block_on(async {
                    let mut tally = ImportTally::default();
                    let reader = HistoryReader::new(format, file);
                    import_all(&deps, &TenantId::random(), reader, &mut tally, |_| {}).await.expect("import");
                    assert_eq!((tally.created, tally.failed), (lines as u64, 0));
                })
            },
            BatchSize::PerIteration,
        )
    });
}

fn import(c: &mut Criterion) {
    let text = history();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let dir = std::env::temp_dir().join(format!("porchlight-import-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let mut group = c.benchmark_group("import");
    group.sample_size(10);
    let mut round = 0;
    let json = (HistoryFormat::JsonLines, text.as_slice(), SHIPMENTS);
    bench_import(&mut group, "5000_shipments_x10_checkpoints_into_sqlite", (&runtime, &dir, &mut round), json);
    group.bench_function("5000_lines_read", |b| {
        b.iter(|| HistoryReader::new(HistoryFormat::JsonLines, text.as_slice()).filter(|(_, r)| r.is_ok()).count())
    });
    let csv = orders_csv();
    let csv = (HistoryFormat::Csv, csv.as_slice(), CSV_ROWS);
    bench_import(&mut group, "100000_csv_rows_into_sqlite", (&runtime, &dir, &mut round), csv);
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, import);
criterion_main!(benches);
