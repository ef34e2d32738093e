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
    /// The merchant's shipment tag these counts are for: rows with a tag count again, per
    /// tag, the shipments of the lane that carry it (for filtering by tag); untagged rows
    /// count every shipment once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

/// Longest service name kept in a lane; longer ones are cut (they are labels, not keys).
const MAX_SERVICE: usize = 64;

/// Most of a shipment's tags counted (the first in alphabetical order): each adds rows to
/// every change, and a change's rows must fit one DynamoDB transaction.
pub const MAX_COUNTED_TAGS: usize = 5;

impl Lane {
    /// A service's name as lanes keep it: trimmed and cut to [`MAX_SERVICE`] characters;
    /// none when blank.
    pub fn service_name(raw: &str) -> Option<String> {
        let name = raw.trim();
        (!name.is_empty()).then(|| name.chars().take(MAX_SERVICE).collect())
    }
}

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
    /// The merchant's tags on it (at most [`MAX_COUNTED_TAGS`], sorted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Calendar days from the pickup's written date to the delivery's (what an estimated
    /// delivery date adds to a pickup date), at most [`MAX_TRANSIT_DAYS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transit_days: Option<u32>,
}

/// Longest transit counted by days; longer ones count as this many.
pub const MAX_TRANSIT_DAYS: u32 = 365;

/// The date part of a time as written (`2026-03-01T...` → 2026-03-01): the local date where
/// the carrier or merchant wrote it.
fn written_date(raw: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(raw.get(..10)?, "%Y-%m-%d").ok()
}

fn hours_between(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_seconds() as f64 / 3600.0
}

/// Calendar days between the written dates of a pickup and a delivery (none when either is
/// missing or the delivery is written before the pickup).
fn transit_days(pickup: Option<&EventTime>, delivery: Option<&EventTime>) -> Option<u32> {
    let days = (written_date(delivery?.as_str())? - written_date(pickup?.as_str())?).num_days();
    u32::try_from(days).ok().map(|days| days.min(MAX_TRANSIT_DAYS))
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
                service: details.shipment_type.as_deref().and_then(Lane::service_name),
                tag: None,
            },
            tag: shipment.tag,
            subtag: shipment.subtag,
            on_time,
            exceptions,
            failed_attempts: shipment.failed_delivery_attempts,
            pickup_to_delivery: since(shipment.shipment_pickup_date.as_ref()),
            order_to_delivery: since(order_time.as_ref()),
            transit_days: transit_days(shipment.shipment_pickup_date.as_ref(), delivered_at),
            tags: {
                let mut tags = details.shipment_tags.clone();
                tags.sort_unstable();
                tags.dedup();
                tags.truncate(MAX_COUNTED_TAGS);
                tags
            },
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
        if let Some(days) = self.transit_days {
            counters.add(&format!("{}{days}", counter::TRANSIT_DAYS), 1);
        }
        counters
    }
}

/// What moving a shipment from `old` facts to `new` ones does to the rows: its counters taken
/// from its old day, third of a month, month and lane (and the lane under each of its tags),
/// added to its new ones, netted per row (rows left with nothing to change are left out). `None` stands for "not there" (created, deleted).
pub fn change_rows(old: Option<&ShipmentFacts>, new: Option<&ShipmentFacts>) -> Vec<(Period, Lane, Counters)> {
    let mut rows: Vec<(Period, Lane, Counters)> = Vec::with_capacity(6);
    for (facts, sign) in [(old, -1), (new, 1)] {
        let Some(facts) = facts else { continue };
        let counters = facts.counters();
        let tagged = facts.tags.iter().map(|tag| Lane { tag: Some(tag.clone()), ..facts.lane.clone() });
        for lane in std::iter::once(facts.lane.clone()).chain(tagged) {
            for period in Period::of_day(facts.day) {
                match rows.iter_mut().find(|(p, l, _)| *p == period && *l == lane) {
                    Some((_, _, existing)) => existing.merge(&counters, sign),
                    None => {
                        let mut delta = Counters::default();
                        delta.merge(&counters, sign);
                        rows.push((period, lane.clone(), delta));
                    }
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
    /// Prefix: deliveries by calendar days from pickup (`D:4`).
    pub const TRANSIT_DAYS: &str = "D:";
}

/// Named counts that add up: one day and lane's numbers, or any sum of them. Zero counts are
/// not kept, so equal numbers compare equal however they were reached. Names are kept as
/// small numbers ([`key_of`]), so that rows read and add up fast; they are written as names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters(BTreeMap<u32, i64>);

/// The fixed counters, by key.
const FIXED: [&str; 7] = [
    counter::SHIPMENTS,
    counter::DELIVERED,
    counter::ON_TIME_KNOWN,
    counter::ON_TIME,
    counter::WITH_EXCEPTION,
    counter::WITH_FAILED_ATTEMPT,
    counter::FAILED_ATTEMPTS,
];
const TAG_KEYS: u32 = 100;
const SUBTAG_KEYS: u32 = 200;
const EXCEPTION_KEYS: u32 = 400;
const PICKUP_KEYS: u32 = 1_000;
const ORDER_KEYS: u32 = 10_000;
const TRANSIT_DAY_KEYS: u32 = 20_000;
/// Buckets kept apart per sketch (see [`sketch::bucket_of`]).
const BUCKETS: u32 = 9_000;

/// Every sub-status code, sorted: a sub-status's key is its place here.
fn subtag_codes() -> &'static [&'static str] {
    static CODES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    CODES.get_or_init(|| {
        let mut codes: Vec<&'static str> = crate::domain::SUBTAGS.iter().map(|info| info.code).collect();
        codes.sort_unstable();
        codes
    })
}

/// The key of counter `name`; `None` for a name no counter has.
fn key_of(name: &str) -> Option<u32> {
    if let Some(index) = FIXED.iter().position(|fixed| *fixed == name) {
        return Some(index as u32);
    }
    let (prefix, rest) = name.split_at_checked(2)?;
    let subtag = |base: u32| Some(base + subtag_codes().binary_search(&rest).ok()? as u32);
    let bucket = |base: u32| rest.parse::<u32>().ok().filter(|b| *b < BUCKETS).map(|b| base + b);
    match prefix {
        counter::TAG => Some(TAG_KEYS + Tag::ALL.iter().position(|tag| tag.as_str() == rest)? as u32),
        counter::SUBTAG => subtag(SUBTAG_KEYS),
        counter::EXCEPTION => subtag(EXCEPTION_KEYS),
        counter::PICKUP_TO_DELIVERY => bucket(PICKUP_KEYS),
        counter::ORDER_TO_DELIVERY => bucket(ORDER_KEYS),
        counter::TRANSIT_DAYS => {
            rest.parse::<u32>().ok().filter(|d| *d <= MAX_TRANSIT_DAYS).map(|d| TRANSIT_DAY_KEYS + d)
        }
        _ => None,
    }
}

/// The name of the counter of `key` (a key made by [`key_of`]).
fn name_of(key: u32) -> String {
    let subtag = |base: u32| subtag_codes().get((key - base) as usize).copied().unwrap_or_default();
    match key {
        k if (k as usize) < FIXED.len() => FIXED[k as usize].to_owned(),
        k if k >= TRANSIT_DAY_KEYS => format!("{}{}", counter::TRANSIT_DAYS, k - TRANSIT_DAY_KEYS),
        k if k >= ORDER_KEYS => format!("{}{}", counter::ORDER_TO_DELIVERY, k - ORDER_KEYS),
        k if k >= PICKUP_KEYS => format!("{}{}", counter::PICKUP_TO_DELIVERY, k - PICKUP_KEYS),
        k if k >= EXCEPTION_KEYS => format!("{}{}", counter::EXCEPTION, subtag(EXCEPTION_KEYS)),
        k if k >= SUBTAG_KEYS => format!("{}{}", counter::SUBTAG, subtag(SUBTAG_KEYS)),
        k => format!("{}{}", counter::TAG, Tag::ALL.get((k - TAG_KEYS) as usize).map_or("", |t| t.as_str())),
    }
}

impl Counters {
    fn add_key(&mut self, key: u32, delta: i64) {
        if delta == 0 {
            return;
        }
        match self.0.get_mut(&key) {
            Some(value) => {
                *value += delta;
                if *value == 0 {
                    self.0.remove(&key);
                }
            }
            None => {
                self.0.insert(key, delta);
            }
        }
    }

    /// Adds `delta` to the counter `name` (one of [`counter`]'s names, or a prefix and what
    /// it takes; other names are no counter and are ignored).
    pub fn add(&mut self, name: &str, delta: i64) {
        debug_assert!(key_of(name).is_some(), "no counter is named {name:?}");
        if let Some(key) = key_of(name) {
            self.add_key(key, delta);
        }
    }

    /// Adds every counter of `other`, times `sign` (1 to add, -1 to take away).
    pub fn merge(&mut self, other: &Counters, sign: i64) {
        for (key, value) in &other.0 {
            self.add_key(*key, value * sign);
        }
    }

    /// The counter `name` (0 when absent).
    pub fn get(&self, name: &str) -> i64 {
        key_of(name).and_then(|key| self.0.get(&key).copied()).unwrap_or(0)
    }

    /// Whether every counter is zero.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The counters whose names start with `prefix`, by the rest of their name.
    pub fn with_prefix(&self, prefix: &str) -> Vec<(String, i64)> {
        self.iter().filter_map(|(name, value)| Some((name.strip_prefix(prefix)?.to_owned(), value))).collect()
    }

    /// The sketch buckets under `prefix` ([`counter::PICKUP_TO_DELIVERY`] or
    /// [`counter::ORDER_TO_DELIVERY`]).
    pub fn buckets(&self, prefix: &str) -> Vec<(u32, i64)> {
        let base = match prefix {
            counter::PICKUP_TO_DELIVERY => PICKUP_KEYS,
            counter::ORDER_TO_DELIVERY => ORDER_KEYS,
            _ => return Vec::new(),
        };
        self.0.range(base..base + BUCKETS).map(|(key, value)| (key - base, *value)).collect()
    }

    /// Deliveries by calendar days from pickup ([`counter::TRANSIT_DAYS`]), as (days, count).
    pub fn transit_days(&self) -> impl Iterator<Item = (u32, i64)> + '_ {
        self.0
            .range(TRANSIT_DAY_KEYS..=TRANSIT_DAY_KEYS + MAX_TRANSIT_DAYS)
            .map(|(key, value)| (key - TRANSIT_DAY_KEYS, *value))
    }

    /// Every counter, by name.
    pub fn iter(&self) -> impl Iterator<Item = (String, i64)> + '_ {
        self.0.iter().map(|(key, value)| (name_of(*key), *value))
    }
}

impl Serialize for Counters {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(&name_of(*key), value)?;
        }
        map.end()
    }
}

/// A counter's name read as its key, without keeping the text.
struct CounterKey(Option<u32>);

impl<'de> Deserialize<'de> for CounterKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = CounterKey;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a counter's name")
            }
            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<CounterKey, E> {
                Ok(CounterKey(key_of(name)))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

impl<'de> Deserialize<'de> for Counters {
    /// Reads counters written by [`Serialize`]; names no counter has (from a later version)
    /// are passed over.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Counters;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("counters by name")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Counters, A::Error> {
                let mut counters = Counters::default();
                while let Some((CounterKey(key), value)) = map.next_entry::<CounterKey, i64>()? {
                    if let Some(key) = key {
                        counters.add_key(key, value);
                    }
                }
                Ok(counters)
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

impl FromIterator<(String, i64)> for Counters {
    /// Counters by name; names no counter has (from a later version) are passed over.
    fn from_iter<I: IntoIterator<Item = (String, i64)>>(iter: I) -> Self {
        let mut counters = Counters::default();
        for (name, value) in iter {
            if let Some(key) = key_of(&name) {
                counters.add_key(key, value);
            }
        }
        counters
    }
}

/// The period a row of counters covers: a day, a third of a month (days 1-10, 11-20, 21 to
/// the end) or a whole month, all kept, so that long ranges read few rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Period {
    /// One day (UTC).
    Day(NaiveDate),
    /// A third of a month, by its first day (the 1st, 11th or 21st).
    Third(NaiveDate),
    /// One calendar month, by its first day.
    Month(NaiveDate),
}

impl Period {
    /// The month `day` is in.
    pub fn month_of(day: NaiveDate) -> Period {
        Period::Month(day.with_day(1).expect("every month has a first day"))
    }

    /// The third of a month `day` is in.
    pub fn third_of(day: NaiveDate) -> Period {
        let first = match day.day() {
            1..=10 => 1,
            11..=20 => 11,
            _ => 21,
        };
        Period::Third(day.with_day(first).expect("every month has a 21st"))
    }

    /// The periods a day's numbers are kept in: the day, its third and its month.
    pub fn of_day(day: NaiveDate) -> [Period; 3] {
        [Period::Day(day), Period::third_of(day), Period::month_of(day)]
    }

    /// The key text: `2026-11-30` for a day, `2026-11/3` for a third, `2026-11` for a month.
    pub fn key(&self) -> String {
        match self {
            Period::Day(day) => day.format("%Y-%m-%d").to_string(),
            Period::Third(first) => format!("{}/{}", first.format("%Y-%m"), first.day() / 10 + 1),
            Period::Month(first) => first.format("%Y-%m").to_string(),
        }
    }

    /// Reads a key made by [`Period::key`].
    pub fn parse(key: &str) -> Option<Period> {
        match key.len() {
            10 => NaiveDate::parse_from_str(key, "%Y-%m-%d").ok().map(Period::Day),
            9 => {
                let (month, third) = key.split_once('/')?;
                let first = match third {
                    "1" => "01",
                    "2" => "11",
                    "3" => "21",
                    _ => return None,
                };
                NaiveDate::parse_from_str(&format!("{month}-{first}"), "%Y-%m-%d").ok().map(Period::Third)
            }
            7 => NaiveDate::parse_from_str(&format!("{key}-01"), "%Y-%m-%d").ok().map(Period::Month),
            _ => None,
        }
    }
}

/// The rows that sum to the days `from..=to`, each with its sign: whole months as month
/// rows; in a partial month, whole thirds as third rows and the rest as days; and where a
/// month or a third is mostly inside the range, the whole minus what is outside. A range
/// reads its months and at most a few dozen other rows.
pub fn periods_covering(from: NaiveDate, to: NaiveDate) -> Vec<(Period, i64)> {
    let mut periods = Vec::new();
    let mut month_start = from.with_day(1).expect("first day");
    while month_start <= to {
        let next_month = month_start.checked_add_months(chrono::Months::new(1)).expect("date in range");
        let month_end = next_month.pred_opt().expect("date in range");
        let (start, end) = (from.max(month_start), to.min(month_end));
        if (start, end) == (month_start, month_end) {
            periods.push((Period::Month(month_start), 1));
        } else {
            let inside = within_month(start, end, 1);
            let mut outside = vec![(Period::Month(month_start), 1)];
            if start > month_start {
                outside.extend(within_month(month_start, start.pred_opt().expect("date"), -1));
            }
            if end < month_end {
                outside.extend(within_month(end.succ_opt().expect("date"), month_end, -1));
            }
            periods.extend(if outside.len() < inside.len() { outside } else { inside });
        }
        month_start = next_month;
    }
    periods
}

/// The rows that sum to `from..=to` (within one month) times `sign`: whole thirds as thirds,
/// a mostly covered third as the third minus its other days, the rest as days.
fn within_month(from: NaiveDate, to: NaiveDate, sign: i64) -> Vec<(Period, i64)> {
    let mut periods = Vec::new();
    for first in [1, 11, 21] {
        let Some(third_start) = from.with_day(first) else { continue };
        let third_end = match first {
            21 => {
                from.with_day(1).and_then(|d| d.checked_add_months(chrono::Months::new(1))).and_then(|d| d.pred_opt())
            }
            _ => from.with_day(first + 9),
        }
        .expect("a month's thirds exist");
        let (start, end) = (from.max(third_start), to.min(third_end));
        if start > end {
            continue;
        }
        let inside = (end - start).num_days() + 1;
        let outside = (third_end - third_start).num_days() + 1 - inside;
        if outside == 0 {
            periods.push((Period::Third(third_start), sign));
        } else if 1 + outside < inside {
            periods.push((Period::Third(third_start), sign));
            periods.extend(days(third_start, start.pred_opt().expect("date")).map(|d| (Period::Day(d), -sign)));
            periods.extend(days(end.succ_opt().expect("date"), third_end).map(|d| (Period::Day(d), -sign)));
        } else {
            periods.extend(days(start, end).map(|d| (Period::Day(d), sign)));
        }
    }
    periods
}

fn days(from: NaiveDate, to: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    from.iter_days().take_while(move |day| *day <= to)
}

#[cfg(test)]
mod tests;
