//! Merging carrier events into a shipment and deriving its state.
//!
//! Target (issue 2): 50 checkpoints merged and the status derived in under 20 µs.
//! Run: `cargo bench -p porchlight --bench merge`.

use chrono::{Duration, TimeZone, Utc};
/// The allocator the shipped binaries use.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use porchlight::domain::{
    CheckpointInput, CheckpointSource, CountryCode, EventTime, Shipment, ShipmentDetails, Slug, Subtag, TenantId,
    TrackingNumber,
};

const CODES: [&str; 6] =
    ["InfoReceived_001", "InTransit_002", "InTransit_007", "InTransit_003", "InTransit_004", "InTransit_005"];

fn events(count: usize) -> Vec<CheckpointInput> {
    let start = Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).single().expect("date");
    (0..count)
        .map(|i| {
            let code = if i + 1 == count { "Delivered_001" } else { CODES[i % CODES.len()] };
            let mut input = CheckpointInput::new(
                Slug::parse("yunexpress").expect("slug"),
                TrackingNumber::parse("YT2412345678901234").expect("number"),
                EventTime::from_utc(start + Duration::hours(i as i64 * 3)),
                Subtag::parse(code).expect("subtag"),
                format!("Parcel processed at sorting centre {i}"),
                CheckpointSource::Carrier,
            );
            input.raw_tag = Some(format!("E{i:03}"));
            input.location = Some("Shenzhen, Guangdong".into());
            input.city = Some("Shenzhen".into());
            input.state = Some("Guangdong".into());
            input.postal_code = Some("518000".into());
            input.country_region = Some(CountryCode::parse("CHN").expect("country"));
            input
        })
        .collect()
}

fn shipment() -> Shipment {
    Shipment::new(
        TenantId::parse("bench").expect("tenant"),
        Slug::parse("yunexpress").expect("slug"),
        TrackingNumber::parse("YT2412345678901234").expect("number"),
        ShipmentDetails::default(),
        Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).single().expect("date"),
    )
}

fn merge(c: &mut Criterion) {
    let now = Utc.with_ymd_and_hms(2026, 3, 10, 0, 0, 0).single().expect("date");
    let fifty = events(50);
    // Arrival order is reversed so the merge has real sorting to do.
    let reversed: Vec<_> = fifty.iter().rev().cloned().collect();
    c.bench_function("merge 50 new checkpoints and derive", |b| {
        b.iter_batched(
            || (shipment(), reversed.clone()),
            |(mut s, events)| {
                s.merge(events, now);
                s
            },
            BatchSize::PerIteration,
        )
    });
    let mut full = shipment();
    full.merge(fifty.clone(), now);
    c.bench_function("replay 50 known checkpoints into a 50-checkpoint timeline", |b| {
        b.iter_batched(
            || (full.clone(), fifty.clone()),
            |(mut s, events)| {
                s.merge(events, now);
                s
            },
            BatchSize::PerIteration,
        )
    });
    c.bench_function("derive status of a 50-checkpoint timeline", |b| {
        b.iter_batched(|| full.clone(), |mut s| s.derive(now), BatchSize::PerIteration)
    });
}

criterion_group!(benches, merge);
criterion_main!(benches);
