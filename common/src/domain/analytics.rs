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

use super::{CheckpointSource, CountryCode, EventTime, Shipment, Slug, Subtag, Tag, written_date};

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
    /// A row of events rather than of shipments: a carrier's events as they arrive (carrier
    /// health, [`Lane::carrier_events`]) or the merchant's own (notifications, webhooks,
    /// returns: [`Lane::merchant_events`]). Lane queries never read these rows.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub events: bool,
}

/// The slug of the merchant's own events row: no courier's (couriers' slugs start with a
/// letter or digit).
const MERCHANT_EVENTS_SLUG: &str = "-";

/// Longest service name kept in a lane; longer ones are cut (they are labels, not keys).
const MAX_SERVICE: usize = 64;

/// Most of a shipment's tags counted (the first in alphabetical order): each adds rows to
/// every change, and a change's rows must fit one DynamoDB transaction.
pub const MAX_COUNTED_TAGS: usize = 5;

impl Lane {
    /// The row of the merchant's own events, which belong to no lane: notifications sent and
    /// how they ended, webhook deliveries, returns and their reasons.
    pub fn merchant_events() -> Lane {
        Lane::carrier_events(Slug::parse(MERCHANT_EVENTS_SLUG).expect("a valid slug"))
    }

    /// The row of a carrier's events as they arrive, for its health.
    pub fn carrier_events(slug: Slug) -> Lane {
        Lane { slug, origin: None, destination: None, service: None, tag: None, events: true }
    }

    /// Whether this is the merchant's own events row.
    pub fn is_merchant_events(&self) -> bool {
        self.events && self.slug.as_str() == MERCHANT_EVENTS_SLUG
    }

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
    /// The events its first carrier reported on its timeline.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub carrier_events: u32,
    /// Of those, the ones whose code no adapter rule knew.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unmapped_events: u32,
    /// The day (UTC) its newest checkpoint was stored: the day a change's new events count on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events_stored: Option<NaiveDate>,
}

fn is_zero(value: &u32) -> bool {
    *value == 0
}

/// Longest transit counted by days; longer ones count as this many.
pub const MAX_TRANSIT_DAYS: u32 = 365;

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
        let carrier_events =
            shipment.checkpoints.iter().filter(|c| c.source == CheckpointSource::Carrier && c.slug == shipment.slug);
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
                events: false,
            },
            tag: shipment.tag,
            subtag: shipment.subtag,
            on_time,
            exceptions,
            failed_attempts: shipment.failed_delivery_attempts,
            pickup_to_delivery: since(shipment.shipment_pickup_date.as_ref()),
            order_to_delivery: since(order_time.as_ref()),
            transit_days: transit_days(shipment.shipment_pickup_date.as_ref(), delivered_at),
            carrier_events: carrier_events.clone().count() as u32,
            unmapped_events: carrier_events.filter(|c| c.unmapped).count() as u32,
            events_stored: shipment.checkpoints.iter().map(|c| c.created_at).max().map(|at| at.date_naive()),
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

/// What moving a shipment from `old` facts to `new` ones adds to its carrier's health: the
/// carrier events that arrived with the change, on the day they were stored, in the
/// carrier's events row. Nothing is taken away (a shipment removed keeps its events counted).
pub fn health_rows(old: Option<&ShipmentFacts>, new: &ShipmentFacts) -> Vec<(Period, Lane, Counters)> {
    let arrived = |now: u32, before: Option<u32>| i64::from(now.saturating_sub(before.unwrap_or(0)));
    let events = arrived(new.carrier_events, old.map(|o| o.carrier_events));
    let unmapped = arrived(new.unmapped_events, old.map(|o| o.unmapped_events));
    let Some(day) = new.events_stored.filter(|_| events > 0 || unmapped > 0) else { return Vec::new() };
    let mut counters = Counters::default();
    counters.add(counter::CARRIER_EVENTS, events);
    counters.add(counter::UNMAPPED_EVENTS, unmapped);
    day_rows(day, &Lane::carrier_events(new.lane.slug.clone()), &counters)
}

/// `counters` added to `lane` on `day`: the rows of the day, its third and its month.
pub fn day_rows(day: NaiveDate, lane: &Lane, counters: &Counters) -> Vec<(Period, Lane, Counters)> {
    Period::of_day(day).into_iter().map(|period| (period, lane.clone(), counters.clone())).collect()
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
    /// Carrier events stored (a carrier's events row).
    pub const CARRIER_EVENTS: &str = "h:events";
    /// Of those, events whose code no adapter rule knew.
    pub const UNMAPPED_EVENTS: &str = "h:unmapped";
    /// Webhook delivery attempts (the merchant's events row, as are the counters below).
    pub const WEBHOOK_ATTEMPTS: &str = "w:attempts";
    /// Webhook deliveries that ended answered with a 2xx.
    pub const WEBHOOK_DELIVERED: &str = "w:delivered";
    /// Webhook deliveries given up on (dead letters).
    pub const WEBHOOK_FAILED: &str = "w:failed";
    /// Returns requested.
    pub const RETURNS: &str = "ret";
    /// Items asked to be returned.
    pub const RETURN_ITEMS: &str = "ret.items";
    /// Prefix: items asked to be returned, by the policy's reason id (`r:damaged`).
    pub const RETURN_REASON: &str = "r:";
    /// Notifications by channel and outcome: `m:<channel>.<outcome>`, see
    /// [`super::MessageOutcome`].
    pub fn message(channel: crate::domain::Channel, outcome: super::MessageOutcome) -> String {
        format!("m:{}.{}", channel.as_str(), outcome.as_str())
    }
}

/// How a notification ended, as reach counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageOutcome {
    /// Handed to the channel.
    Sent,
    /// Given up on (the channel refused it, or it could not be written).
    Failed,
    /// Not sent on purpose (unsubscribed, suppressed, stale).
    Suppressed,
    /// Reported undeliverable after it was sent (a permanent bounce; for SMS, a refusal).
    Bounced,
    /// The recipient marked it as spam.
    Complained,
}

impl MessageOutcome {
    /// Every outcome, in the order reports show them.
    pub const ALL: [MessageOutcome; 5] = [
        MessageOutcome::Sent,
        MessageOutcome::Failed,
        MessageOutcome::Suppressed,
        MessageOutcome::Bounced,
        MessageOutcome::Complained,
    ];

    /// The name in counters and answers.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageOutcome::Sent => "sent",
            MessageOutcome::Failed => "failed",
            MessageOutcome::Suppressed => "suppressed",
            MessageOutcome::Bounced => "bounced",
            MessageOutcome::Complained => "complained",
        }
    }
}

/// Named counts that add up: one day and lane's numbers, or any sum of them. Zero counts are
/// not kept, so equal numbers compare equal however they were reached. Names are kept as
/// small numbers ([`key_of`]), so that rows read and add up fast; they are written as names.
/// Return reasons, which merchants name, are kept by their names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    keyed: BTreeMap<u32, i64>,
    named: BTreeMap<Box<str>, i64>,
}

/// The fixed counters, by key (new ones are added at the end: a key is its place).
const FIXED: [&str; 24] = [
    counter::SHIPMENTS,
    counter::DELIVERED,
    counter::ON_TIME_KNOWN,
    counter::ON_TIME,
    counter::WITH_EXCEPTION,
    counter::WITH_FAILED_ATTEMPT,
    counter::FAILED_ATTEMPTS,
    counter::CARRIER_EVENTS,
    counter::UNMAPPED_EVENTS,
    counter::WEBHOOK_ATTEMPTS,
    counter::WEBHOOK_DELIVERED,
    counter::WEBHOOK_FAILED,
    counter::RETURNS,
    counter::RETURN_ITEMS,
    "m:email.sent",
    "m:email.failed",
    "m:email.suppressed",
    "m:email.bounced",
    "m:email.complained",
    "m:sms.sent",
    "m:sms.failed",
    "m:sms.suppressed",
    "m:sms.bounced",
    "m:sms.complained",
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

/// The key of counter `name`; `None` for a name no keyed counter has.
fn key_of(name: &str) -> Option<u32> {
    let fixed = || FIXED.iter().position(|fixed| *fixed == name).map(|index| index as u32);
    let Some((prefix, rest)) = name.split_at_checked(2) else { return fixed() };
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
        _ => fixed(),
    }
}

/// Whether `name` is a return reason's counter: [`counter::RETURN_REASON`] and a reason id
/// (1 to 50 of `a-z`, `0-9`, `_`, as policies keep them).
fn is_reason_counter(name: &str) -> bool {
    name.strip_prefix(counter::RETURN_REASON).is_some_and(|id| {
        (1..=50).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    })
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

/// Adds `delta` to `map`'s entry for `key`, removing it when it comes to zero.
fn add_to<K: Ord>(map: &mut BTreeMap<K, i64>, key: K, delta: i64) {
    if delta == 0 {
        return;
    }
    match map.entry(key) {
        std::collections::btree_map::Entry::Occupied(mut entry) => {
            *entry.get_mut() += delta;
            if *entry.get() == 0 {
                entry.remove();
            }
        }
        std::collections::btree_map::Entry::Vacant(entry) => {
            entry.insert(delta);
        }
    }
}

impl Counters {
    /// Adds `delta` to the counter `name` (one of [`counter`]'s names, or a prefix and what
    /// it takes; other names are no counter and are ignored).
    pub fn add(&mut self, name: &str, delta: i64) {
        let name = StoredName::of(name);
        debug_assert!(!matches!(name, StoredName::Unknown), "no counter has this name");
        self.add_name(name, delta);
    }

    /// Adds every counter of `other`, times `sign` (1 to add, -1 to take away).
    pub fn merge(&mut self, other: &Counters, sign: i64) {
        for (key, value) in &other.keyed {
            add_to(&mut self.keyed, *key, value * sign);
        }
        for (name, value) in &other.named {
            add_to(&mut self.named, name.clone(), value * sign);
        }
    }

    /// The counter `name` (0 when absent).
    pub fn get(&self, name: &str) -> i64 {
        match key_of(name) {
            Some(key) => self.keyed.get(&key).copied(),
            None => self.named.get(name).copied(),
        }
        .unwrap_or(0)
    }

    /// Whether every counter is zero.
    pub fn is_empty(&self) -> bool {
        self.keyed.is_empty() && self.named.is_empty()
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
        self.keyed.range(base..base + BUCKETS).map(|(key, value)| (key - base, *value)).collect()
    }

    /// Deliveries by calendar days from pickup ([`counter::TRANSIT_DAYS`]), as (days, count).
    pub fn transit_days(&self) -> impl Iterator<Item = (u32, i64)> + '_ {
        self.keyed
            .range(TRANSIT_DAY_KEYS..=TRANSIT_DAY_KEYS + MAX_TRANSIT_DAYS)
            .map(|(key, value)| (key - TRANSIT_DAY_KEYS, *value))
    }

    /// Every counter, by name.
    pub fn iter(&self) -> impl Iterator<Item = (String, i64)> + '_ {
        let keyed = self.keyed.iter().map(|(key, value)| (name_of(*key), *value));
        keyed.chain(self.named.iter().map(|(name, value)| (name.to_string(), *value)))
    }
}

impl Serialize for Counters {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.keyed.len() + self.named.len()))?;
        for (key, value) in &self.keyed {
            map.serialize_entry(&name_of(*key), value)?;
        }
        for (name, value) in &self.named {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// A counter's name as read from storage, without keeping the text of keyed ones.
enum StoredName {
    Keyed(u32),
    Named(Box<str>),
    Unknown,
}

impl StoredName {
    fn of(name: &str) -> StoredName {
        match key_of(name) {
            Some(key) => StoredName::Keyed(key),
            None if is_reason_counter(name) => StoredName::Named(name.into()),
            None => StoredName::Unknown,
        }
    }
}

impl<'de> Deserialize<'de> for StoredName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = StoredName;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a counter's name")
            }
            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<StoredName, E> {
                Ok(StoredName::of(name))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

impl Counters {
    fn add_name(&mut self, name: StoredName, value: i64) {
        match name {
            StoredName::Keyed(key) => add_to(&mut self.keyed, key, value),
            StoredName::Named(name) => add_to(&mut self.named, name, value),
            StoredName::Unknown => {}
        }
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
                while let Some((name, value)) = map.next_entry::<StoredName, i64>()? {
                    counters.add_name(name, value);
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
            counters.add_name(StoredName::of(&name), value);
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
