//! Courier detection over the labelled corpus (411 numbers, valid and invalid, every format).
//!
//! Target (issue 3): at least 2 million numbers a second on one core.
//! Run: `cargo bench -p porchlight --bench detect`.

/// The allocator the shipped binaries use.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn numbers() -> Vec<String> {
    let corpus: serde_json::Value =
        serde_json::from_str(include_str!("../src/couriers/testdata/tracking-numbers.json")).expect("corpus");
    corpus.as_array().expect("array").iter().filter_map(|record| record["number"].as_str().map(str::to_owned)).collect()
}

fn detect(c: &mut Criterion) {
    let numbers = numbers();
    let mut group = c.benchmark_group("detect");
    group.throughput(Throughput::Elements(numbers.len() as u64));
    group.bench_function("corpus", |b| {
        b.iter(|| {
            let mut found = 0;
            for number in &numbers {
                found += porchlight::couriers::detect(std::hint::black_box(number)).len();
            }
            found
        })
    });
    group.finish();
}

criterion_group!(benches, detect);
criterion_main!(benches);
