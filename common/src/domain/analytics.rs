//! Analytics: what one shipment contributes to its merchant's numbers ([`ShipmentFacts`]), and
//! those numbers kept per day and lane as additive counters ([`Counters`]).
//!
//! Every number is a sum of per-shipment contributions, so a change moves the totals by the
//! new contribution minus the old one: totals kept one change at a time equal totals computed
//! from scratch, in any order, and any range of days and any grouping of lanes is the sum of
//! its rows. Durations are counters too, one per bucket of a logarithmic [`sketch`].

pub mod sketch;

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{CountryCode, EventTime, Shipment, Slug, Subtag, Tag};

/// A carrier lane: the courier, where from, where to and, when the carrier names it, the
/// service (AfterShip's `shipment_type`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Lane {
    /// The courier of the first leg.
    pub slug: Slug,
    /// Origin country, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<CountryCode>,
    /// Destination country, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<CountryCode>,
    /// The carrier's service, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

/// Longest service name kept in a lane; longer ones are cut (they are labels, not keys).
const MAX_SERVICE: usize = 64;

/// What a shipment contributes to the numbers: a function of the shipment alone, taken at
/// every write and carried by the change feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentFacts {
    /// The day (UTC) it was created: the day its numbers belong to.
    pub day: NaiveDate,
    /// Its lane.
    pub lane: Lane,
    /// Its status now.
    pub tag: Tag,
    /// Its sub-status now.
    pub subtag: Subtag,
    /// Delivered on or before the promised date (`None` until delivered, and when nothing was
    /// promised).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_time: Option<bool>,
    /// The kinds of exception its timeline went through, each once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exceptions: Vec<Subtag>,
    /// Failed delivery attempts.
    #[serde(default)]
    pub failed_attempts: u32,
    /// Pickup to delivery, as a [`sketch`] bucket of hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pickup_to_delivery: Option<u32>,
    /// Order to delivery, as a [`sketch`] bucket of hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_to_delivery: Option<u32>,
}

/// The date part of a time as written (`2026-03-01T...` → 2026-03-01): the local date where
/// the carrier or merchant wrote it.
fn written_date(raw: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(raw.get(..10)?, "%Y-%m-%d").ok()
}

fn hours_between(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_seconds() as f64 / 3600.0
}

impl ShipmentFacts {
    /// The facts of `shipment` as it is stored (its derived fields as last derived).
    pub fn of(shipment: &Shipment) -> ShipmentFacts {
        let details = &shipment.details;
        let delivered_at = shipment.shipment_delivery_date.as_ref().filter(|_| shipment.tag == Tag::Delivered);
        let promised = details.order_promised_delivery_date.as_ref().and_then(|promise| {
            let latest = promise.promised_delivery_date_max.as_deref().or(promise.promised_delivery_date.as_deref());
            latest.and_then(written_date)
        });
        let on_time = delivered_at.and_then(|at| Some(written_date(at.as_str())? <= promised?));
        let mut exceptions: Vec<Subtag> =
            shipment.checkpoints.iter().filter(|c| c.tag == Tag::Exception).map(|c| c.subtag).collect();
        exceptions.sort_unstable();
        exceptions.dedup();
        let order_time = details.order_date.as_deref().and_then(|raw| EventTime::parse(raw).ok());
        let since = |start: Option<&EventTime>| {
            Some(sketch::bucket_of(hours_between(start?.instant(), delivered_at?.instant())))
        };
        ShipmentFacts {
            day: shipment.created_at.date_naive(),
            lane: Lane {
                slug: shipment.slug.clone(),
                origin: details.origin_country_region,
                destination: details.destination_country_region,
                service: details
                    .shipment_type
                    .as_deref()
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| s.chars().take(MAX_SERVICE).collect()),
            },
            tag: shipment.tag,
            subtag: shipment.subtag,
            on_time,
            exceptions,
            failed_attempts: shipment.failed_delivery_attempts,
            pickup_to_delivery: since(shipment.shipment_pickup_date.as_ref()),
            order_to_delivery: since(order_time.as_ref()),
        }
    }

    /// The counters this shipment adds to its day and lane.
    pub fn counters(&self) -> Counters {
        let mut counters = Counters::default();
        counters.add(counter::SHIPMENTS, 1);
        counters.add(&format!("{}{}", counter::TAG, self.tag.as_str()), 1);
        counters.add(&format!("{}{}", counter::SUBTAG, self.subtag.code()), 1);
        if self.tag == Tag::Delivered {
            counters.add(counter::DELIVERED, 1);
        }
        if let Some(on_time) = self.on_time {
            counters.add(counter::ON_TIME_KNOWN, 1);
            counters.add(counter::ON_TIME, i64::from(on_time));
        }
        if !self.exceptions.is_empty() {
            counters.add(counter::WITH_EXCEPTION, 1);
        }
        for kind in &self.exceptions {
            counters.add(&format!("{}{}", counter::EXCEPTION, kind.code()), 1);
        }
        if self.failed_attempts > 0 {
            counters.add(counter::WITH_FAILED_ATTEMPT, 1);
            counters.add(counter::FAILED_ATTEMPTS, i64::from(self.failed_attempts));
        }
        if let Some(bucket) = self.pickup_to_delivery {
            counters.add(&format!("{}{bucket}", counter::PICKUP_TO_DELIVERY), 1);
        }
        if let Some(bucket) = self.order_to_delivery {
            counters.add(&format!("{}{bucket}", counter::ORDER_TO_DELIVERY), 1);
        }
        counters
    }
}

/// What moving a shipment from `old` facts to `new` ones does to the rows: its counters taken
/// from its old day, month and lane, added to its new ones, netted per row (rows left with
/// nothing to change are left out). `None` stands for "not there" (created, deleted).
pub fn change_rows(old: Option<&ShipmentFacts>, new: Option<&ShipmentFacts>) -> Vec<(Period, Lane, Counters)> {
    let mut rows: Vec<(Period, Lane, Counters)> = Vec::with_capacity(4);
    for (facts, sign) in [(old, -1), (new, 1)] {
        let Some(facts) = facts else { continue };
        let counters = facts.counters();
        for period in [Period::Day(facts.day), Period::month_of(facts.day)] {
            match rows.iter_mut().find(|(p, lane, _)| *p == period && *lane == facts.lane) {
                Some((_, _, existing)) => existing.merge(&counters, sign),
                None => {
                    let mut delta = Counters::default();
                    delta.merge(&counters, sign);
                    rows.push((period, facts.lane.clone(), delta));
                }
            }
        }
    }
    rows.retain(|(_, _, counters)| !counters.is_empty());
    rows
}

/// The names of [`Counters`]: fixed ones, and prefixes followed by a status, sub-status or
/// bucket.
pub mod counter {
    /// Shipments created.
    pub const SHIPMENTS: &str = "n";
    /// Of those, delivered.
    pub const DELIVERED: &str = "d";
    /// Delivered with a promised date.
    pub const ON_TIME_KNOWN: &str = "otk";
    /// Of those, on or before it.
    pub const ON_TIME: &str = "ot";
    /// Shipments whose timeline had an exception.
    pub const WITH_EXCEPTION: &str = "x";
    /// Shipments with at least one failed delivery attempt.
    pub const WITH_FAILED_ATTEMPT: &str = "fas";
    /// Failed delivery attempts in all.
    pub const FAILED_ATTEMPTS: &str = "fa";
    /// Prefix: shipments by current status (`t:InTransit`).
    pub const TAG: &str = "t:";
    /// Prefix: shipments by current sub-status (`s:InTransit_001`).
    pub const SUBTAG: &str = "s:";
    /// Prefix: shipments by kind of exception met (`e:Exception_011`).
    pub const EXCEPTION: &str = "e:";
    /// Prefix: pickup-to-delivery sketch buckets (`p:250`).
    pub const PICKUP_TO_DELIVERY: &str = "p:";
    /// Prefix: order-to-delivery sketch buckets (`o:260`).
    pub const ORDER_TO_DELIVERY: &str = "o:";
}

/// Named counts that add up: one day and lane's numbers, or any sum of them. Zero counts are
/// not kept, so equal numbers compare equal however they were reached.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Counters(BTreeMap<String, i64>);

impl Counters {
    /// Adds `delta` to the counter `name`.
    pub fn add(&mut self, name: &str, delta: i64) {
        if delta == 0 {
            return;
        }
        match self.0.get_mut(name) {
            Some(value) => {
                *value += delta;
                if *value == 0 {
                    self.0.remove(name);
                }
            }
            None => {
                self.0.insert(name.to_owned(), delta);
            }
        }
    }

    /// Adds every counter of `other`, times `sign` (1 to add, -1 to take away).
    pub fn merge(&mut self, other: &Counters, sign: i64) {
        for (name, value) in &other.0 {
            self.add(name, value * sign);
        }
    }

    /// The counter `name` (0 when absent).
    pub fn get(&self, name: &str) -> i64 {
        self.0.get(name).copied().unwrap_or(0)
    }

    /// Whether every counter is zero.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The counters whose names start with `prefix`, by the rest of their name.
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, i64)> + 'a {
        self.0.range(prefix.to_owned()..).map_while(move |(name, value)| Some((name.strip_prefix(prefix)?, *value)))
    }

    /// The sketch buckets under `prefix` ([`counter::PICKUP_TO_DELIVERY`] or
    /// [`counter::ORDER_TO_DELIVERY`]).
    pub fn buckets(&self, prefix: &str) -> Vec<(u32, i64)> {
        self.with_prefix(prefix).filter_map(|(bucket, count)| Some((bucket.parse().ok()?, count))).collect()
    }

    /// Every counter, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, i64)> {
        self.0.iter().map(|(name, value)| (name.as_str(), *value))
    }
}

impl FromIterator<(String, i64)> for Counters {
    fn from_iter<I: IntoIterator<Item = (String, i64)>>(iter: I) -> Self {
        let mut counters = Counters::default();
        for (name, value) in iter {
            counters.add(&name, value);
        }
        counters
    }
}

/// The period a row of counters covers: a day, or a whole month (kept beside the days so that
/// long ranges read a row per month).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Period {
    /// One day (UTC).
    Day(NaiveDate),
    /// One calendar month, by its first day.
    Month(NaiveDate),
}

impl Period {
    /// The month `day` is in.
    pub fn month_of(day: NaiveDate) -> Period {
        Period::Month(day.with_day(1).expect("every month has a first day"))
    }

    /// The key text: `2026-11-30` for a day, `2026-11` for a month.
    pub fn key(&self) -> String {
        match self {
            Period::Day(day) => day.format("%Y-%m-%d").to_string(),
            Period::Month(first) => first.format("%Y-%m").to_string(),
        }
    }

    /// Reads a key made by [`Period::key`].
    pub fn parse(key: &str) -> Option<Period> {
        match key.len() {
            10 => NaiveDate::parse_from_str(key, "%Y-%m-%d").ok().map(Period::Day),
            7 => NaiveDate::parse_from_str(&format!("{key}-01"), "%Y-%m-%d").ok().map(Period::Month),
            _ => None,
        }
    }
}

/// The periods whose rows sum to the days `from..=to`: whole months as month rows, the days
/// of partial months as day rows. Each period comes with its sign: a month that is mostly
/// inside the range is read as the month minus its days outside it (at most 15 days), so a
/// range never reads more than about 30 day rows besides its months.
pub fn periods_covering(from: NaiveDate, to: NaiveDate) -> Vec<(Period, i64)> {
    let mut periods = Vec::new();
    let mut month_start = from.with_day(1).expect("first day");
    while month_start <= to {
        let next_month = month_start.checked_add_months(chrono::Months::new(1)).expect("date in range");
        let month_end = next_month.pred_opt().expect("date in range");
        let (start, end) = (from.max(month_start), to.min(month_end));
        let inside = (end - start).num_days() + 1;
        let length = (month_end - month_start).num_days() + 1;
        if inside == length {
            periods.push((Period::Month(month_start), 1));
        } else if length - inside < inside {
            periods.push((Period::Month(month_start), 1));
            periods.extend(days(month_start, start.pred_opt().expect("date")).map(|d| (Period::Day(d), -1)));
            periods.extend(days(end.succ_opt().expect("date"), month_end).map(|d| (Period::Day(d), -1)));
        } else {
            periods.extend(days(start, end).map(|d| (Period::Day(d), 1)));
        }
        month_start = next_month;
    }
    periods
}

fn days(from: NaiveDate, to: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    from.iter_days().take_while(move |day| *day <= to)
}

#[cfg(test)]
mod tests;
