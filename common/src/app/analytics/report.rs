//! The numbers read from the rollups: overview, carrier scorecards per lane, exceptions.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{DayRange, LaneFilter, lane_totals};
use crate::app::{AppError, Deps};
use crate::domain::analytics::{Counters, Lane, counter, sketch};
use crate::domain::{Subtag, Tag, TenantId};

/// A share with its 95 % interval (Wilson); absent when nothing was counted.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rate {
    /// The share, 0 to 1.
    pub value: f64,
    /// Its interval.
    pub interval: [f64; 2],
    /// Out of how many.
    pub n: i64,
}

pub(super) fn rate(hits: i64, n: i64) -> Option<Rate> {
    let (low, high) = sketch::share_interval(hits, n)?;
    Some(Rate { value: round(hits as f64 / n as f64, 4), interval: [round(low, 4), round(high, 4)], n })
}

fn round(value: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (value * scale).round() / scale
}

/// A duration distribution in days: median and 90th percentile, each with its interval.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Transit {
    /// The median.
    pub p50: Option<f64>,
    /// The 90th percentile.
    pub p90: Option<f64>,
    /// The median's 95 % interval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p50_interval: Option<[f64; 2]>,
    /// The 90th percentile's 95 % interval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p90_interval: Option<[f64; 2]>,
    /// How many durations.
    pub samples: i64,
}

fn transit(counters: &Counters, prefix: &str) -> Transit {
    let buckets = counters.buckets(prefix);
    let days = |hours: f64| round(hours / 24.0, 2);
    let interval = |q| sketch::quantile_interval(&buckets, q).map(|(low, high)| [days(low), days(high)]);
    Transit {
        p50: sketch::quantile(&buckets, 0.5).map(days),
        p90: sketch::quantile(&buckets, 0.9).map(days),
        p50_interval: interval(0.5),
        p90_interval: interval(0.9),
        samples: sketch::total(&buckets),
    }
}

/// Statuses counted as on the way.
const ON_THE_WAY: [Tag; 4] = [Tag::InfoReceived, Tag::InTransit, Tag::OutForDelivery, Tag::AvailableForPickup];

fn tag_count(counters: &Counters, tag: Tag) -> i64 {
    counters.get(&format!("{}{}", counter::TAG, tag.as_str()))
}

/// The whole picture over a range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overview {
    /// First day (shipments created on or after it, UTC).
    pub from: String,
    /// Last day, included.
    pub to: String,
    /// Shipments created.
    pub shipments: i64,
    /// Of those, delivered.
    pub delivered: i64,
    /// Of those, on the way (info received, in transit, out for delivery, at a pickup point).
    pub in_transit: i64,
    /// Shipments whose timeline had an exception, of all.
    pub exception_rate: Option<Rate>,
    /// Deliveries on or before the promised date, of those delivered with a promise.
    pub on_time_rate: Option<Rate>,
    /// Pickup to delivery.
    pub transit_days: Transit,
    /// Order to delivery.
    pub order_to_delivery_days: Transit,
    /// Shipments by current status.
    pub by_status: BTreeMap<&'static str, i64>,
}

fn overview_of(range: DayRange, counters: &Counters) -> Overview {
    let shipments = counters.get(counter::SHIPMENTS);
    Overview {
        from: range.from.to_string(),
        to: range.to.to_string(),
        shipments,
        delivered: counters.get(counter::DELIVERED),
        in_transit: ON_THE_WAY.iter().map(|tag| tag_count(counters, *tag)).sum(),
        exception_rate: rate(counters.get(counter::WITH_EXCEPTION), shipments),
        on_time_rate: rate(counters.get(counter::ON_TIME), counters.get(counter::ON_TIME_KNOWN)),
        transit_days: transit(counters, counter::PICKUP_TO_DELIVERY),
        order_to_delivery_days: transit(counters, counter::ORDER_TO_DELIVERY),
        by_status: Tag::ALL
            .iter()
            .map(|tag| (tag.as_str(), tag_count(counters, *tag)))
            .filter(|(_, n)| *n > 0)
            .collect(),
    }
}

fn sum<'a>(all: impl IntoIterator<Item = &'a Counters>) -> Counters {
    let mut total = Counters::default();
    for counters in all {
        total.merge(counters, 1);
    }
    total
}

/// The overview of the shipments created in `range` on the lanes `filter` admits.
pub async fn overview(
    deps: &Deps,
    tenant: &TenantId,
    range: DayRange,
    filter: &LaneFilter,
) -> Result<Overview, AppError> {
    let totals = lane_totals(deps, tenant, range, filter).await?;
    Ok(overview_of(range, &sum(totals.values())))
}

/// One lane of a carrier scorecard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LaneCard {
    /// The courier.
    pub slug: String,
    /// Origin (alpha-3), when known.
    pub origin_country_region: Option<String>,
    /// Destination (alpha-3), when known.
    pub destination_country_region: Option<String>,
    /// The carrier's service, when the scorecard is by service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_type: Option<String>,
    /// Shipments created.
    pub shipments: i64,
    /// Of those, delivered.
    pub delivered: i64,
    /// Pickup to delivery.
    pub transit_days: Transit,
    /// Delivered by the promised date, as a share (its interval in `on_time`).
    pub on_time_rate: Option<f64>,
    /// Exceptions met, as a share of shipments (its interval in `exceptions`).
    pub exception_rate: Option<f64>,
    /// The on-time share with its interval and count.
    pub on_time: Option<Rate>,
    /// The exception share with its interval and count.
    pub exceptions: Option<Rate>,
    /// Shipments with a failed delivery attempt, as a share.
    pub failed_attempt_rate: Option<f64>,
}

fn lane_card(lane: &Lane, counters: &Counters) -> LaneCard {
    let shipments = counters.get(counter::SHIPMENTS);
    let on_time = rate(counters.get(counter::ON_TIME), counters.get(counter::ON_TIME_KNOWN));
    let exceptions = rate(counters.get(counter::WITH_EXCEPTION), shipments);
    LaneCard {
        slug: lane.slug.as_str().to_owned(),
        origin_country_region: lane.origin.map(|c| c.as_str().to_owned()),
        destination_country_region: lane.destination.map(|c| c.as_str().to_owned()),
        service_type: lane.service.clone(),
        shipments,
        delivered: counters.get(counter::DELIVERED),
        transit_days: transit(counters, counter::PICKUP_TO_DELIVERY),
        on_time_rate: on_time.map(|r| r.value),
        exception_rate: exceptions.map(|r| r.value),
        on_time,
        exceptions,
        failed_attempt_rate: rate(counters.get(counter::WITH_FAILED_ATTEMPT), shipments).map(|r| r.value),
    }
}

/// Carrier scorecards: a card per lane, busiest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CarrierScorecard {
    /// First day.
    pub from: String,
    /// Last day, included.
    pub to: String,
    /// The lanes.
    pub lanes: Vec<LaneCard>,
}

/// The scorecards of the lanes `filter` admits over `range`; lanes are carrier, origin and
/// destination, and also the service when `by_service`.
pub async fn carrier_scorecard(
    deps: &Deps,
    tenant: &TenantId,
    range: DayRange,
    filter: &LaneFilter,
    by_service: bool,
) -> Result<CarrierScorecard, AppError> {
    let totals = lane_totals(deps, tenant, range, filter).await?;
    let mut grouped: BTreeMap<Lane, Counters> = BTreeMap::new();
    for (mut lane, counters) in totals {
        if !by_service {
            lane.service = None;
        }
        grouped.entry(lane).or_default().merge(&counters, 1);
    }
    let mut lanes: Vec<LaneCard> = grouped.iter().map(|(lane, counters)| lane_card(lane, counters)).collect();
    lanes.sort_by(|a, b| b.shipments.cmp(&a.shipments).then_with(|| a.slug.cmp(&b.slug)));
    Ok(CarrierScorecard { from: range.from.to_string(), to: range.to.to_string(), lanes })
}

/// One kind of exception.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExceptionKind {
    /// The sub-status, e.g. `Exception_004`.
    pub subtag: String,
    /// AfterShip's words for it.
    pub subtag_message: String,
    /// Shipments that met it.
    pub shipments: i64,
    /// As a share of all shipments.
    pub rate: Option<f64>,
}

/// Exceptions by kind and by carrier.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExceptionsBreakdown {
    /// First day.
    pub from: String,
    /// Last day, included.
    pub to: String,
    /// Shipments created.
    pub shipments: i64,
    /// Of those, with an exception.
    pub with_exception: i64,
    /// The share, with its interval.
    pub exception_rate: Option<Rate>,
    /// Shipments with a failed delivery attempt.
    pub with_failed_attempt: i64,
    /// Failed delivery attempts in all.
    pub failed_attempts: i64,
    /// By kind, most frequent first.
    pub kinds: Vec<ExceptionKind>,
    /// By courier: slug to the share of its shipments with an exception.
    pub by_carrier: BTreeMap<String, Option<Rate>>,
}

/// The exceptions of the shipments created in `range` on the lanes `filter` admits.
pub async fn exceptions_breakdown(
    deps: &Deps,
    tenant: &TenantId,
    range: DayRange,
    filter: &LaneFilter,
) -> Result<ExceptionsBreakdown, AppError> {
    let totals = lane_totals(deps, tenant, range, filter).await?;
    let all = sum(totals.values());
    let shipments = all.get(counter::SHIPMENTS);
    let mut kinds: Vec<ExceptionKind> = all
        .with_prefix(counter::EXCEPTION)
        .into_iter()
        .filter_map(|(code, count)| {
            let subtag = Subtag::parse(&code).ok()?;
            Some(ExceptionKind {
                subtag: code,
                subtag_message: subtag.message().to_owned(),
                shipments: count,
                rate: rate(count, shipments).map(|r| r.value),
            })
        })
        .collect();
    kinds.sort_by(|a, b| b.shipments.cmp(&a.shipments).then_with(|| a.subtag.cmp(&b.subtag)));
    let mut per_carrier: BTreeMap<String, Counters> = BTreeMap::new();
    for (lane, counters) in &totals {
        per_carrier.entry(lane.slug.as_str().to_owned()).or_default().merge(counters, 1);
    }
    Ok(ExceptionsBreakdown {
        from: range.from.to_string(),
        to: range.to.to_string(),
        shipments,
        with_exception: all.get(counter::WITH_EXCEPTION),
        exception_rate: rate(all.get(counter::WITH_EXCEPTION), shipments),
        with_failed_attempt: all.get(counter::WITH_FAILED_ATTEMPT),
        failed_attempts: all.get(counter::FAILED_ATTEMPTS),
        kinds,
        by_carrier: per_carrier
            .into_iter()
            .map(|(slug, c)| (slug, rate(c.get(counter::WITH_EXCEPTION), c.get(counter::SHIPMENTS))))
            .collect(),
    })
}
