//! Estimated delivery date predictions: a merchant's model over 300 lanes (courier × origin ×
//! destination × service, Zipf-weighted like real shops, 200,000 deliveries), asked about known
//! lanes, known lanes with an unknown service, and lanes it never saw.
//!
//! Target (issue 12): at least 100,000 predictions per second per core. `model` times the
//! prediction alone; `request` times what the API does per request besides HTTP: the JSON
//! read, checked, predicted, answered and written.
//! Run: `cargo bench -p porchlight --bench edd`.

/// The allocator the shipped binaries use.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::BTreeMap;
use std::hint::black_box;

use chrono::NaiveDate;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

use porchlight::api::wire::edd::EddWire;
use porchlight::domain::analytics::{Counters, Lane, counter};
use porchlight::domain::edd::{EddModel, LaneQuery};
use porchlight::domain::{CountryCode, Slug};

const SLUGS: [&str; 6] = ["ups", "usps", "fedex", "dhl", "yunexpress", "4px"];
const COUNTRIES: [&str; 10] = ["USA", "CAN", "GBR", "DEU", "FRA", "CHN", "JPN", "AUS", "MEX", "BRA"];
const SERVICES: [&str; 5] = ["Ground", "Express", "Standard", "Economy", "Priority"];
const QUERIES: usize = 1_000;

fn lanes(rng: &mut Xoshiro256PlusPlus) -> Vec<Lane> {
    let mut lanes = Vec::new();
    while lanes.len() < 300 {
        let lane = Lane {
            slug: Slug::parse(SLUGS[rng.random_range(0..SLUGS.len())]).expect("slug"),
            origin: CountryCode::parse(COUNTRIES[rng.random_range(0..COUNTRIES.len())]).ok(),
            destination: CountryCode::parse(COUNTRIES[rng.random_range(0..COUNTRIES.len())]).ok(),
            service: Some(SERVICES[rng.random_range(0..SERVICES.len())].to_owned()),
            tag: None,
            events: false,
        };
        if !lanes.contains(&lane) {
            lanes.push(lane);
        }
    }
    lanes
}

fn model(rng: &mut Xoshiro256PlusPlus, lanes: &[Lane]) -> EddModel {
    let mut totals: BTreeMap<Lane, Counters> = BTreeMap::new();
    for _ in 0..200_000 {
        // Zipf-like: lane i drawn with weight 1 / (i + 1).
        let index = ((lanes.len() as f64).powf(rng.random::<f64>()) as usize).saturating_sub(1).min(lanes.len() - 1);
        let median = 2.0 + (index % 13) as f64;
        let (u1, u2) = (rng.random::<f64>().max(1e-12), rng.random::<f64>());
        let normal = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        let days = (median * (0.35 * normal).exp()).round() as u32;
        totals.entry(lanes[index].clone()).or_default().add(&format!("{}{days}", counter::TRANSIT_DAYS), 1);
    }
    EddModel::train(totals.iter())
}

fn queries(rng: &mut Xoshiro256PlusPlus, lanes: &[Lane]) -> Vec<LaneQuery> {
    (0..QUERIES)
        .map(|n| {
            let mut query = LaneQuery::from(&lanes[rng.random_range(0..lanes.len())]);
            match n % 10 {
                // An unknown service: the lane answers.
                8 => query.service = Some("Next Day".into()),
                // A lane never seen: the carrier and destination, or the carrier.
                9 => query.origin = CountryCode::parse("KOR").ok(),
                _ => {}
            }
            query
        })
        .collect()
}

fn request_json(query: &LaneQuery) -> String {
    serde_json::json!({
        "slug": query.slug.as_str(),
        "service_type_name": query.service,
        "origin_address": {"country_region": query.origin.map(|c| c.as_str().to_owned()), "state": "WA", "postal_code": "98108"},
        "destination_address": {"country_region": query.destination.map(|c| c.as_str().to_owned()), "postal_code": "92019"},
        "weight": {"unit": "kg", "value": 1.2},
        "package_count": 1,
        "estimated_pickup": {"order_time": "2026-11-27 19:04:05", "order_processing_time": {"unit": "day", "value": 1}},
    })
    .to_string()
}

fn bench(c: &mut Criterion) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(12);
    let lanes = lanes(&mut rng);
    let model = model(&mut rng, &lanes);
    let queries = queries(&mut rng, &lanes);
    let pickup = NaiveDate::from_ymd_opt(2026, 11, 30).expect("date");
    let requests: Vec<String> = queries.iter().map(request_json).collect();

    let mut group = c.benchmark_group("edd");
    group.throughput(Throughput::Elements(QUERIES as u64));
    group.bench_function("model", |b| {
        b.iter(|| {
            for query in &queries {
                black_box(model.predict(black_box(query), pickup, true));
            }
        })
    });
    group.bench_function("request", |b| {
        b.iter(|| {
            for json in &requests {
                let mut wire: EddWire = serde_json::from_str(json).expect("a request");
                let request = wire.read("").expect("valid");
                let prediction = model.predict(&request.query, request.pickup.date(), request.precise_addresses);
                black_box(
                    serde_json::to_vec(&wire.answer(uuid::Uuid::new_v4().simple().to_string(), &prediction))
                        .expect("json"),
                );
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
