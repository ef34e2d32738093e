//! A generated history with known truth: shipments on lanes whose transit times follow stated
//! log-normal distributions, written as AfterShip's `GET /trackings` writes trackings. For the
//! import benchmark, the analytics' and the EDD's accuracy checks, and a demo with numbers.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use serde::Serialize;

use crate::api::wire::TrackingView;
use crate::domain::{
    CheckpointInput, CheckpointSource, CountryCode, EventTime, PromisedDeliveryDate, Shipment, ShipmentDetails,
    ShipmentId, Slug, Subtag, TenantId, TrackingNumber,
};

/// A lane and the truth its shipments are drawn from.
#[derive(Debug, Clone, Serialize)]
pub struct LaneTruth {
    /// The courier.
    pub slug: &'static str,
    /// Origin, alpha-3.
    pub origin: &'static str,
    /// Destination, alpha-3.
    pub destination: &'static str,
    /// The carrier's service.
    pub service: &'static str,
    /// Share of all shipments on this lane (the shares sum to 1).
    pub share: f64,
    /// Median pickup-to-delivery time, in days.
    pub median_days: f64,
    /// The log-normal's sigma: the spread of transit times.
    pub sigma: f64,
    /// Share of shipments that meet a (resolved) delay exception on the way.
    pub exception_rate: f64,
    /// Days from the order the shop promises delivery by.
    pub promise_days: i64,
}

impl LaneTruth {
    /// The true `q`-quantile of pickup-to-delivery time, in days.
    pub fn transit_quantile(&self, q: f64) -> f64 {
        self.median_days * (self.sigma * standard_normal_quantile(q)).exp()
    }
}

/// The quantile of the standard normal distribution (Acklam's rational approximation,
/// relative error under 1.2e-9).
pub fn standard_normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.383_577_518_672_69e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] =
        [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// The lanes of the generated history: domestic, cross-border express and cross-border
/// economy, with different speeds, spreads and exception rates.
pub fn default_lanes() -> Vec<LaneTruth> {
    let lane = |slug, origin, destination, service, share, median_days, sigma, exception_rate, promise_days| {
        LaneTruth { slug, origin, destination, service, share, median_days, sigma, exception_rate, promise_days }
    };
    vec![
        lane("ups", "USA", "USA", "UPS Ground", 0.20, 3.0, 0.30, 0.02, 6),
        lane("usps", "USA", "USA", "Priority Mail", 0.20, 2.5, 0.35, 0.03, 5),
        lane("fedex", "USA", "CAN", "International Economy", 0.10, 5.0, 0.30, 0.05, 9),
        lane("dhl", "DEU", "USA", "Express Worldwide", 0.10, 3.5, 0.25, 0.04, 6),
        lane("yunexpress", "CHN", "USA", "Standard", 0.20, 9.0, 0.35, 0.08, 15),
        lane("yunexpress", "CHN", "GBR", "Standard", 0.10, 11.0, 0.40, 0.10, 18),
        lane("yunexpress", "CHN", "DEU", "Standard", 0.10, 12.0, 0.45, 0.12, 20),
    ]
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct HistorySpec {
    /// How many shipments.
    pub shipments: usize,
    /// The first day shipments are created on.
    pub start: NaiveDate,
    /// Over how many days they are created, evenly.
    pub days: u32,
    /// The seed: the same seed gives the same history.
    pub seed: u64,
    /// The lanes.
    pub lanes: Vec<LaneTruth>,
}

/// One generated tracking: its line, and the truth behind it.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The tracking as `GET /trackings/{id}` answers it, on one line.
    pub line: String,
    /// Its lane (an index into the spec's lanes).
    pub lane: usize,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Pickup to delivery, in hours, when it is delivered by `now`.
    pub transit_hours: Option<f64>,
    /// Whether it met an exception.
    pub exception: bool,
    /// Whether it was delivered on or before the promised date.
    pub on_time: Option<bool>,
}

fn number_for(slug: &str, n: u64) -> String {
    match slug {
        "ups" => format!("1Z999AA1{:010}", n % 10_000_000_000),
        "usps" => format!("9400{:018}", n),
        "fedex" => format!("4490{:011}", n % 100_000_000_000),
        "dhl" => format!("{:010}", 1_000_000_000 + n % 9_000_000_000),
        _ => format!("YT{:016}", n),
    }
}

/// Generates `spec`'s shipments as of `now`, each passed to `emit` as it is made (so any
/// number fits in memory). Each delivered shipment has ten checkpoints.
pub fn generate(spec: &HistorySpec, now: DateTime<Utc>, mut emit: impl FnMut(Generated)) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(spec.seed);
    let tenant = TenantId::parse("generated").expect("a valid tenant id");
    let start = spec.start.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    let span_seconds = i64::from(spec.days.max(1)) * 86_400;
    let cumulative: Vec<f64> = spec
        .lanes
        .iter()
        .scan(0.0, |sum, lane| {
            *sum += lane.share;
            Some(*sum)
        })
        .collect();
    let total_share = cumulative.last().copied().unwrap_or(1.0);
    for n in 0..spec.shipments {
        let pick = rng.random::<f64>() * total_share;
        let lane_index = cumulative.iter().position(|c| pick < *c).unwrap_or(spec.lanes.len() - 1);
        let lane = &spec.lanes[lane_index];
        let created_at = start + Duration::seconds(rng.random_range(0..span_seconds));
        let order_at = created_at - Duration::seconds(rng.random_range(600..86_400));
        let pickup_at = created_at + Duration::seconds(rng.random_range(7_200..108_000));
        // Box-Muller: a standard normal draw from two uniform ones.
        let (u1, u2) = (rng.random::<f64>().max(1e-12), rng.random::<f64>());
        let normal = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        let transit_hours = lane.median_days * 24.0 * (lane.sigma * normal).exp();
        let delivered_at = pickup_at + Duration::seconds((transit_hours * 3600.0) as i64);
        let exception = rng.random::<f64>() < lane.exception_rate;
        let promised = (order_at + Duration::days(lane.promise_days)).date_naive();

        let slug = Slug::parse(lane.slug).expect("a valid slug");
        let number = TrackingNumber::parse(&number_for(lane.slug, n as u64 + spec.seed * 1_000_000_000))
            .expect("a valid number");
        let details = ShipmentDetails {
            order_id: Some(format!("G{n}")),
            order_number: Some(format!("#G{n}")),
            order_date: Some(EventTime::from_utc(order_at).as_str().to_owned()),
            origin_country_region: CountryCode::parse(lane.origin).ok(),
            destination_country_region: CountryCode::parse(lane.destination).ok(),
            shipment_type: Some(lane.service.to_owned()),
            order_promised_delivery_date: Some(PromisedDeliveryDate {
                promised_delivery_date: Some(promised.format("%Y-%m-%d").to_string()),
                ..PromisedDeliveryDate::default()
            }),
            ..ShipmentDetails::default()
        };
        let mut shipment = Shipment::new(tenant.clone(), slug.clone(), number.clone(), details, created_at);
        shipment.id = ShipmentId::parse(&format!("{:032x}", rng.random::<u128>())).expect("32 hex digits");
        let at = |fraction: f64| {
            pickup_at + Duration::seconds(((delivered_at - pickup_at).num_seconds() as f64 * fraction) as i64)
        };
        let mut steps: Vec<(DateTime<Utc>, &str)> = vec![
            (created_at + Duration::minutes(30), "InfoReceived_001"),
            (pickup_at, "InTransit_002"),
            (at(0.15), "InTransit_007"),
            (at(0.35), "InTransit_003"),
            (at(0.55), "InTransit_001"),
            (at(0.75), "InTransit_004"),
            (at(0.9), "InTransit_003"),
        ];
        if exception {
            steps.push((at(0.6), "Exception_004"));
            steps.push((at(0.62), "InTransit_008"));
        } else {
            steps.push((at(0.6), "InTransit_001"));
        }
        steps.push((delivered_at - Duration::hours(4).min((delivered_at - pickup_at) / 4), "OutForDelivery_001"));
        steps.push((delivered_at, "Delivered_001"));
        let events: Vec<CheckpointInput> = steps
            .into_iter()
            .filter(|(when, _)| *when <= now)
            .map(|(when, code)| {
                let subtag = Subtag::parse(code).expect("a known sub-status");
                let mut input = CheckpointInput::new(
                    slug.clone(),
                    number.clone(),
                    EventTime::from_utc(when),
                    subtag,
                    subtag.message(),
                    CheckpointSource::Carrier,
                );
                input.raw_tag = Some(code.to_ascii_uppercase());
                input
            })
            .collect();
        shipment.merge(events, now);
        let delivered = delivered_at <= now;
        emit(Generated {
            line: serde_json::to_string(&TrackingView::from(&shipment)).expect("a tracking serializes"),
            lane: lane_index,
            created_at,
            transit_hours: delivered.then_some(transit_hours),
            exception,
            on_time: delivered.then(|| delivered_at.date_naive() <= promised),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_normal_quantile_is_right_where_it_is_known() {
        assert!(standard_normal_quantile(0.5).abs() < 1e-9);
        assert!((standard_normal_quantile(0.9) - 1.281_551_565_5).abs() < 1e-6);
        assert!((standard_normal_quantile(0.025) + 1.959_963_985).abs() < 1e-6);
    }

    #[test]
    fn the_same_seed_gives_the_same_history_and_lanes_keep_their_medians() {
        let spec = HistorySpec {
            shipments: 2000,
            start: NaiveDate::from_ymd_opt(2026, 1, 1).expect("date"),
            days: 60,
            seed: 7,
            lanes: default_lanes(),
        };
        let now = DateTime::parse_from_rfc3339("2026-06-01T00:00:00Z").expect("time").with_timezone(&Utc);
        let mut first = Vec::new();
        generate(&spec, now, |g| first.push(g));
        let mut second = Vec::new();
        generate(&spec, now, |g| second.push(g.line));
        assert!(first.iter().map(|g| &g.line).eq(second.iter()));
        // The fastest lane's median transit is near its truth.
        let mut ups: Vec<f64> = first.iter().filter(|g| g.lane == 0).filter_map(|g| g.transit_hours).collect();
        ups.sort_by(f64::total_cmp);
        let median_days = ups[ups.len() / 2] / 24.0;
        assert!((median_days - 3.0).abs() < 0.15, "{median_days}");
        let line: serde_json::Value = serde_json::from_str(&first[0].line).expect("json");
        assert_eq!(line["checkpoints"].as_array().map(Vec::len), Some(10));
    }
}
