//! Estimated delivery dates: transit-time distributions learnt from a merchant's delivered
//! history, per lane with fallbacks, and the window (earliest day, single date, latest day) they
//! give a shipment picked up on a given day.
//!
//! The model ([`EddModel`]) holds one distribution of calendar days from pickup to delivery
//! per node of a hierarchy: lane and service → lane → carrier and destination → carrier → the
//! merchant's whole history → a fixed prior. Each node's distribution is its own deliveries
//! plus [`PSEUDO_DELIVERIES`] drawn from its parent's (a Dirichlet prior): a lane with a
//! handful of deliveries leans on its carrier, a lane with thousands speaks for itself. A
//! prediction takes the most specific node that has deliveries of its own.

pub mod calendar;
mod tracking;

pub use tracking::{DeliveryEstimate, EddChange, EddSource, MAX_EDD_CHANGES, ShipmentEdd, predict_for, revise};

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};

use super::analytics::{Counters, Lane};
use super::{CountryCode, Slug};

/// Longest transit the distributions tell apart, in days; longer ones count as this many.
pub const MAX_DAYS: usize = 120;

/// How many deliveries' worth of weight a node's parent lends it.
pub const PSEUDO_DELIVERIES: f64 = 20.0;

/// Deliveries a node needs before a prediction from it is not "too little data" (30002).
pub const ENOUGH_DELIVERIES: u64 = 30;

/// The share of deliveries the range aims to hold: it runs from the 5th to the 95th
/// percentile of the distribution, so at least 90 % of it (more, since days are whole).
pub const RANGE_TARGET: f64 = 0.90;

/// The prior of a merchant with no history: log-normal, median 7 days, sigma 0.6 (a wide
/// guess for international e-commerce).
const PRIOR_MEDIAN_DAYS: f64 = 7.0;
const PRIOR_SIGMA: f64 = 0.6;

/// A distribution of whole calendar days from pickup to delivery, `0..=MAX_DAYS`.
#[derive(Debug, Clone, PartialEq)]
pub struct TransitDays {
    probabilities: Box<[f64]>,
}

/// What a distribution predicts for a shipment picked up `elapsed` days ago and not yet
/// delivered: day offsets from the pickup date.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// The first day of the range (about the 5th percentile).
    pub earliest: u32,
    /// The single date: the median day, as likely early as late (for the skewed transit
    /// times of parcels it comes after the likeliest day, and is late less often).
    pub single: u32,
    /// The last day of the range (about the 95th percentile).
    pub latest: u32,
    /// The share of deliveries expected on the single date.
    pub single_share: f64,
    /// The share of deliveries expected inside the range: its stated coverage.
    pub range_share: f64,
}

impl TransitDays {
    /// The distribution of `counts` (deliveries by days) blended with `parent`'s, which
    /// weighs as [`PSEUDO_DELIVERIES`] deliveries.
    pub fn blend(counts: &[f64], parent: &TransitDays) -> TransitDays {
        let own: f64 = counts.iter().sum();
        let total = own + PSEUDO_DELIVERIES;
        let probabilities = (0..=MAX_DAYS)
            .map(|day| {
                (counts.get(day).copied().unwrap_or(0.0) + PSEUDO_DELIVERIES * parent.probabilities[day]) / total
            })
            .collect();
        TransitDays { probabilities }
    }

    /// The prior of a merchant with no history (see [`PRIOR_MEDIAN_DAYS`]).
    pub fn prior() -> TransitDays {
        // The log-normal's mass on each day [d - 0.5, d + 0.5), by its normal CDF.
        let cdf = |days: f64| {
            if days <= 0.0 {
                return 0.0;
            }
            let z = (days / PRIOR_MEDIAN_DAYS).ln() / PRIOR_SIGMA;
            0.5 * (1.0 + erf(z / std::f64::consts::SQRT_2))
        };
        let mut probabilities: Vec<f64> =
            (0..=MAX_DAYS).map(|day| cdf(day as f64 + 0.5) - cdf(day as f64 - 0.5)).collect();
        let sum: f64 = probabilities.iter().sum();
        probabilities.iter_mut().for_each(|p| *p /= sum);
        TransitDays { probabilities: probabilities.into() }
    }

    /// The probability of delivery on day `day` after pickup.
    pub fn probability(&self, day: u32) -> f64 {
        self.probabilities.get(day as usize).copied().unwrap_or(0.0)
    }

    /// The first day by which at least `share` of deliveries came (days from pickup).
    pub fn quantile(&self, share: f64) -> u32 {
        let mut cumulative = 0.0;
        for (day, p) in self.probabilities.iter().enumerate() {
            cumulative += p;
            if cumulative >= share - 1e-12 {
                return day as u32;
            }
        }
        MAX_DAYS as u32
    }

    /// The window for a shipment not delivered `elapsed` days after pickup: the distribution
    /// from `elapsed` on, scaled to one. Past the distribution's end, a day-wide window at
    /// `elapsed` (the history has nothing to say).
    pub fn window(&self, elapsed: u32) -> Window {
        let from = (elapsed as usize).min(MAX_DAYS);
        let rest = &self.probabilities[from..];
        let mass: f64 = rest.iter().sum();
        if mass <= 1e-9 || elapsed as usize > MAX_DAYS {
            return Window {
                earliest: elapsed,
                single: elapsed,
                latest: elapsed + 1,
                single_share: 0.0,
                range_share: 0.0,
            };
        }
        let tail = (1.0 - RANGE_TARGET) / 2.0;
        let (mut earliest, mut single, mut latest) = (None, None, None);
        let mut cumulative = 0.0;
        for (offset, p) in rest.iter().enumerate() {
            cumulative += p / mass;
            if earliest.is_none() && cumulative > tail {
                earliest = Some(offset);
            }
            if single.is_none() && cumulative >= 0.5 {
                single = Some(offset);
            }
            if latest.is_none() && cumulative >= 1.0 - tail - 1e-12 {
                latest = Some(offset);
                break;
            }
        }
        let latest = latest.unwrap_or(rest.len() - 1);
        let (earliest, single) = (earliest.unwrap_or(0), single.unwrap_or(latest));
        let range_share = rest[earliest..=latest].iter().sum::<f64>() / mass;
        let at = |offset: usize| (from + offset) as u32;
        Window {
            earliest: at(earliest),
            single: at(single),
            latest: at(latest),
            single_share: rest[single] / mass,
            range_share,
        }
    }
}

/// The error function (Abramowitz and Stegun 7.1.26, absolute error under 1.5e-7).
fn erf(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let poly =
        t * (0.254_829_592 + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let y = 1.0 - poly * (-x * x).exp();
    if x >= 0.0 { y } else { -y }
}

/// How specific the history behind a prediction is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// The lane, with the service asked for.
    LaneAndService,
    /// The lane (courier, origin, destination), any service.
    Lane,
    /// The courier's deliveries to the destination, from anywhere.
    CarrierAndDestination,
    /// The courier's deliveries.
    Carrier,
    /// Every delivery of the merchant.
    Merchant,
    /// No history: the fixed prior.
    Prior,
}

/// One node of the hierarchy: its distribution, its own deliveries, its window from pickup.
#[derive(Debug, Clone)]
struct Node {
    days: TransitDays,
    deliveries: u64,
    window: Window,
}

impl Node {
    fn new(counts: &[f64], parent: &TransitDays) -> Node {
        let days = TransitDays::blend(counts, parent);
        let window = days.window(0);
        Node { days, deliveries: counts.iter().sum::<f64>().round() as u64, window }
    }
}

type LaneKey = (Slug, Option<CountryCode>, Option<CountryCode>);

/// Transit distributions for every lane, service, carrier and destination of a merchant's
/// delivered history. Built once from rollups; predictions only read it.
#[derive(Debug, Clone)]
pub struct EddModel {
    lane_services: HashMap<Lane, Node>,
    lanes: HashMap<LaneKey, Node>,
    carrier_destinations: HashMap<(Slug, Option<CountryCode>), Node>,
    carriers: HashMap<Slug, Node>,
    merchant: Node,
    prior: Node,
}

/// What a prediction asks: the lane, and the service when it is named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaneQuery {
    /// The courier.
    pub slug: Slug,
    /// Where from.
    pub origin: Option<CountryCode>,
    /// Where to.
    pub destination: Option<CountryCode>,
    /// The carrier's service, as lanes record it.
    pub service: Option<String>,
}

impl From<&Lane> for LaneQuery {
    fn from(lane: &Lane) -> Self {
        LaneQuery {
            slug: lane.slug.clone(),
            origin: lane.origin,
            destination: lane.destination,
            service: lane.service.clone(),
        }
    }
}

/// The distribution a query was answered from.
#[derive(Debug, Clone, Copy)]
pub struct Estimate<'a> {
    /// How specific it is.
    pub level: Level,
    /// Deliveries of its own (not lent by its parents).
    pub deliveries: u64,
    /// Whether a service was asked for and the history has none of it on the lane.
    pub unknown_service: bool,
    /// The distribution.
    pub days: &'a TransitDays,
    /// Its window from pickup (`days.window(0)`).
    pub window: Window,
}

/// Days-from-pickup counts of `counters`, as a dense vector over `0..=MAX_DAYS`.
fn day_counts(counters: &Counters) -> Option<Vec<f64>> {
    let mut counts = vec![0.0; MAX_DAYS + 1];
    let mut any = false;
    for (days, count) in counters.transit_days() {
        if count > 0 {
            counts[(days as usize).min(MAX_DAYS)] += count as f64;
            any = true;
        }
    }
    any.then_some(counts)
}

fn add_into(sums: &mut [f64], counts: &[f64]) {
    for (sum, count) in sums.iter_mut().zip(counts) {
        *sum += count;
    }
}

impl EddModel {
    /// The model of a merchant whose deliveries, summed per lane, are `lanes` (the rollups'
    /// transit-day counters; lanes without deliveries are passed over).
    pub fn train<'a>(lanes: impl IntoIterator<Item = (&'a Lane, &'a Counters)>) -> EddModel {
        let zeros = || vec![0.0; MAX_DAYS + 1];
        let mut by_service: HashMap<Lane, Vec<f64>> = HashMap::new();
        let mut by_lane: HashMap<LaneKey, Vec<f64>> = HashMap::new();
        let mut by_destination: HashMap<(Slug, Option<CountryCode>), Vec<f64>> = HashMap::new();
        let mut by_carrier: HashMap<Slug, Vec<f64>> = HashMap::new();
        let mut all = zeros();
        // Rows under a tag count their shipments again: only the untagged ones are learnt from.
        for (lane, counters) in lanes.into_iter().filter(|(lane, _)| lane.tag.is_none() && !lane.events) {
            let Some(counts) = day_counts(counters) else { continue };
            if lane.service.is_some() {
                add_into(by_service.entry(lane.clone()).or_insert_with(zeros), &counts);
            }
            add_into(by_lane.entry((lane.slug.clone(), lane.origin, lane.destination)).or_insert_with(zeros), &counts);
            add_into(by_destination.entry((lane.slug.clone(), lane.destination)).or_insert_with(zeros), &counts);
            add_into(by_carrier.entry(lane.slug.clone()).or_insert_with(zeros), &counts);
            add_into(&mut all, &counts);
        }
        let prior = Node::new(&[], &TransitDays::prior());
        let merchant = Node::new(&all, &prior.days);
        let carriers: HashMap<Slug, Node> =
            by_carrier.into_iter().map(|(slug, counts)| (slug, Node::new(&counts, &merchant.days))).collect();
        let carrier_destinations: HashMap<_, Node> = by_destination
            .into_iter()
            .map(|(key, counts)| {
                let node = Node::new(&counts, &carriers[&key.0].days);
                (key, node)
            })
            .collect();
        let lanes: HashMap<LaneKey, Node> = by_lane
            .into_iter()
            .map(|(key, counts)| {
                let node = Node::new(&counts, &carrier_destinations[&(key.0.clone(), key.2)].days);
                (key, node)
            })
            .collect();
        let lane_services = by_service
            .into_iter()
            .map(|(lane, counts)| {
                let node = Node::new(&counts, &lanes[&(lane.slug.clone(), lane.origin, lane.destination)].days);
                (lane, node)
            })
            .collect();
        EddModel { lane_services, lanes, carrier_destinations, carriers, merchant, prior }
    }

    /// Deliveries the model learnt from.
    pub fn deliveries(&self) -> u64 {
        self.merchant.deliveries
    }

    /// The most specific distribution with deliveries of its own for `query`.
    pub fn estimate(&self, query: &LaneQuery) -> Estimate<'_> {
        fn estimate(level: Level, node: &Node, unknown_service: bool) -> Estimate<'_> {
            Estimate { level, deliveries: node.deliveries, unknown_service, days: &node.days, window: node.window }
        }
        let lane_key = (query.slug.clone(), query.origin, query.destination);
        if let Some(service) = &query.service {
            let lane = Lane {
                slug: query.slug.clone(),
                origin: query.origin,
                destination: query.destination,
                service: Some(service.clone()),
                tag: None,
                events: false,
            };
            if let Some(node) = self.lane_services.get(&lane) {
                return estimate(Level::LaneAndService, node, false);
            }
        }
        let unknown_service = query.service.is_some();
        if let Some(node) = self.lanes.get(&lane_key) {
            return estimate(Level::Lane, node, unknown_service);
        }
        if let Some(node) = self.carrier_destinations.get(&(query.slug.clone(), query.destination)) {
            return estimate(Level::CarrierAndDestination, node, unknown_service);
        }
        if let Some(node) = self.carriers.get(&query.slug) {
            return estimate(Level::Carrier, node, unknown_service);
        }
        if self.merchant.deliveries > 0 {
            return estimate(Level::Merchant, &self.merchant, unknown_service);
        }
        estimate(Level::Prior, &self.prior, unknown_service)
    }
}

/// A prediction asked for: the lane, the local pickup time, whether the addresses are
/// precise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EddRequest {
    /// The lane asked about.
    pub query: LaneQuery,
    /// When the carrier picks the parcel up (the origin's local time).
    pub pickup: NaiveDateTime,
    /// Whether both addresses place the parcel finer than a country.
    pub precise_addresses: bool,
}

/// A prediction for a parcel picked up on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prediction {
    /// The single delivery date (the median).
    pub date: NaiveDate,
    /// The range's first day.
    pub earliest: NaiveDate,
    /// The range's last day.
    pub latest: NaiveDate,
    /// How sure it is.
    pub confidence: ConfidenceCode,
}

impl EddModel {
    /// The delivery dates of a parcel on `query`'s lane picked up on `pickup` (the local
    /// date), with addresses as precise as `precise_addresses` says.
    pub fn predict(&self, query: &LaneQuery, pickup: NaiveDate, precise_addresses: bool) -> Prediction {
        let estimate = self.estimate(query);
        let window = estimate.window;
        let day = |offset: u32| pickup + chrono::Days::new(u64::from(offset));
        Prediction {
            date: day(window.single),
            earliest: day(window.earliest),
            latest: day(window.latest),
            confidence: ConfidenceCode::of(&estimate, &window, precise_addresses),
        }
    }
}

/// AfterShip's confidence codes for a prediction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConfidenceCode {
    /// 10000: the single date is about as sure as the range.
    Highest,
    /// 10001: both are reliable; the range more so.
    High,
    /// 20001: the range is reliable, the single date less so.
    RangeHigh,
    /// 30001: the carrier's transit times on this lane vary widely.
    Volatile,
    /// 30002: too little history for this lane.
    TooLittleData,
    /// 30003: the service asked for is not in the history of this lane.
    ImpreciseService,
    /// 30004: an address is not precise enough.
    ImpreciseAddress,
}

/// Single-date share from which the single date counts as sure as the range (10000).
const SINGLE_AS_SURE: f64 = 0.8;
/// Single-date share from which the single date counts as reliable (10001).
const SINGLE_RELIABLE: f64 = 0.5;
/// Ratio of the range's end to its start (both counted from day one) from which a lane counts
/// as volatile (30001): a 95th percentile three times the 5th.
const VOLATILE_RATIO: u32 = 3;

impl ConfidenceCode {
    /// AfterShip's number for the code.
    pub fn code(self) -> u32 {
        match self {
            ConfidenceCode::Highest => 10000,
            ConfidenceCode::High => 10001,
            ConfidenceCode::RangeHigh => 20001,
            ConfidenceCode::Volatile => 30001,
            ConfidenceCode::TooLittleData => 30002,
            ConfidenceCode::ImpreciseService => 30003,
            ConfidenceCode::ImpreciseAddress => 30004,
        }
    }

    /// The code of a prediction from `estimate`, whose window is `window`, for addresses as
    /// precise as `precise_addresses` says. Reasons for doubt come first, the worst first.
    pub fn of(estimate: &Estimate<'_>, window: &Window, precise_addresses: bool) -> ConfidenceCode {
        if !precise_addresses {
            ConfidenceCode::ImpreciseAddress
        } else if estimate.level > Level::Lane || estimate.deliveries < ENOUGH_DELIVERIES {
            ConfidenceCode::TooLittleData
        } else if estimate.unknown_service {
            ConfidenceCode::ImpreciseService
        } else if window.latest + 1 >= VOLATILE_RATIO * (window.earliest + 1) {
            ConfidenceCode::Volatile
        } else if window.single_share >= SINGLE_AS_SURE {
            ConfidenceCode::Highest
        } else if window.single_share >= SINGLE_RELIABLE {
            ConfidenceCode::High
        } else {
            ConfidenceCode::RangeHigh
        }
    }
}

#[cfg(test)]
mod tests;
