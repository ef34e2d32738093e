//! Analytics: rollups kept from the change feed, and the numbers a team reads from them.
//!
//! Counting: each committed change moves its shipment's counters from its old facts to its
//! new ones ([`change_rows`]); `serve` follows its change feed with [`count_feed`] (counters and
//! feed position in one transaction, so each change counts once), AWS follows the table's
//! stream with [`count_changes`]. Removals by retention are not counted off: the numbers keep
//! the history that the shipments no longer hold. Reading: a range of days reads month rows
//! and at most a month of day rows per lane ([`periods_covering`]), never a shipment.

mod csv;
mod events;
mod health;
mod report;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use futures_util::future::join_all;

pub use csv::{carrier_health_csv, carriers_csv, exceptions_csv, notifications_csv, overview_csv, returns_csv};
pub use events::{
    CarrierHealth, CarrierHealthCard, ChannelReach, HealthDay, NotificationReach, ReasonCount, ReturnReasons,
    WebhookReach, carrier_days, carrier_health, count_message, count_return, count_webhook_attempt, notification_reach,
    return_reasons,
};
pub use health::{BASELINE_DAYS, CarrierWatch, MIN_EVENTS, platform_watch, tenant_watch, watch_carrier_health};
pub use report::{
    CarrierScorecard, ExceptionKind, ExceptionsBreakdown, LaneCard, Overview, Rate, Transit, carrier_scorecard,
    exceptions_breakdown, overview,
};

use super::{AppError, Deps};
use crate::domain::analytics::{Counters, Lane, change_rows, health_rows, periods_covering};
use crate::domain::{CountryCode, DomainError, Slug};
use crate::ports::{ChangeEvent, ChangeFeed, ChangeKind, CountedChange, FeedMark};

/// The analytics' name as a [`ChangeFeed`] consumer.
pub const FEED_CONSUMER: &str = "analytics";

/// How many parts a range's rows are read in, at once.
const READ_PARTS: usize = 4;

/// Longest range of days a query may cover.
pub const MAX_RANGE_DAYS: i64 = 731;

/// What one committed change adds to the rollups (its shipment's rows, and the carrier events
/// it brought to its carrier's events row, unless a history import wrote it); `None` for
/// removals by retention and for changes that move no counter.
pub fn counted(change: &ChangeEvent) -> Option<CountedChange> {
    let version = match (change.kind, &change.old, &change.new) {
        (ChangeKind::Expired, ..) => return None,
        (_, _, Some(new)) => new.version,
        (_, Some(old), None) => old.version + 1,
        (_, None, None) => return None,
    };
    let (old, new) = (change.old.as_ref(), change.new.as_ref());
    let (old_facts, new_facts) = (old.and_then(|s| s.facts.as_ref()), new.and_then(|s| s.facts.as_ref()));
    let mut rows = change_rows(old_facts, new_facts);
    if let Some(facts) = new_facts.filter(|_| new.is_some_and(|s| !s.imported)) {
        rows.extend(health_rows(old_facts, facts));
    }
    (!rows.is_empty()).then(|| CountedChange::shipment(change.tenant_id.clone(), &change.shipment_id, version, rows))
}

/// Counts `changes` into the rollups (AWS: a batch of the table's stream, each change once
/// however often it is delivered). Returns how many were counted.
pub async fn count_changes(deps: &Deps, changes: impl IntoIterator<Item = ChangeEvent>) -> Result<usize, AppError> {
    let counted: Vec<CountedChange> = changes.into_iter().filter_map(|change| counted(&change)).collect();
    if counted.is_empty() {
        return Ok(0);
    }
    Ok(deps.analytics.count_changes(counted, None).await?)
}

/// One round of counting the embedded change feed: up to `max` changes after the saved
/// position, counted with the new position in the same transaction. Returns how many changes
/// were read.
pub async fn count_feed(deps: &Deps, feed: &dyn ChangeFeed, max: usize) -> Result<usize, AppError> {
    let after = feed.position(FEED_CONSUMER).await?;
    let entries = feed.changes_after(after, max.max(1)).await?;
    let Some(last) = entries.last().map(|entry| entry.seq) else { return Ok(0) };
    let counted = entries.iter().filter_map(|entry| counted(&entry.change)).collect();
    deps.analytics.count_changes(counted, Some(FeedMark { consumer: FEED_CONSUMER.to_owned(), seq: last })).await?;
    Ok(entries.len())
}

/// Which lanes a query looks at: empty lists mean all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LaneFilter {
    /// Couriers.
    pub slugs: Vec<Slug>,
    /// Origin countries.
    pub origins: Vec<CountryCode>,
    /// Destination countries.
    pub destinations: Vec<CountryCode>,
    /// One merchant's shipment tag: only shipments carrying it (among their first
    /// [`crate::domain::analytics::MAX_COUNTED_TAGS`] tags, alphabetically).
    pub tag: Option<String>,
}

impl LaneFilter {
    fn admits(&self, lane: &Lane) -> bool {
        let any = |wanted: &[CountryCode], value: Option<CountryCode>| {
            wanted.is_empty() || value.is_some_and(|v| wanted.contains(&v))
        };
        // Tagged rows count their shipments again, once per tag: a query reads either the
        // untagged rows or one tag's. Events rows are no lane's.
        !lane.events
            && lane.tag == self.tag
            && (self.slugs.is_empty() || self.slugs.contains(&lane.slug))
            && any(&self.origins, lane.origin)
            && any(&self.destinations, lane.destination)
    }
}

/// A range of days, checked: `from` not after `to`, at most [`MAX_RANGE_DAYS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayRange {
    /// The first day.
    pub from: NaiveDate,
    /// The last day, included.
    pub to: NaiveDate,
}

impl DayRange {
    /// The range `from..=to`, each `YYYY-MM-DD` (UTC); `to` is `today` and `from` 29 days
    /// before `to` when absent.
    pub fn parse(from: Option<&str>, to: Option<&str>, today: NaiveDate) -> Result<DayRange, DomainError> {
        let day = |field: &str, raw: &str| {
            NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                .map_err(|_| DomainError::invalid(field, format!("{raw:?} is not a date (YYYY-MM-DD)")))
        };
        let to = to.map(|raw| day("to", raw)).transpose()?.unwrap_or(today);
        let from = from.map(|raw| day("from", raw)).transpose()?.unwrap_or(to - chrono::Days::new(29));
        if from > to {
            return Err(DomainError::invalid("from", "must not be after to"));
        }
        if (to - from).num_days() >= MAX_RANGE_DAYS {
            return Err(DomainError::invalid("from", format!("the range may cover at most {MAX_RANGE_DAYS} days")));
        }
        Ok(DayRange { from, to })
    }
}

/// The counters of every lane `filter` admits, summed over `range`.
pub async fn lane_totals(
    deps: &Deps,
    tenant: &crate::domain::TenantId,
    range: DayRange,
    filter: &LaneFilter,
) -> Result<BTreeMap<Lane, Counters>, AppError> {
    totals(deps, tenant, range, |lane| filter.admits(lane)).await
}

/// The counters of every row whose lane `admit` takes, summed over `range`.
async fn totals(
    deps: &Deps,
    tenant: &crate::domain::TenantId,
    range: DayRange,
    admit: impl Fn(&Lane) -> bool,
) -> Result<BTreeMap<Lane, Counters>, AppError> {
    let periods = periods_covering(range.from, range.to);
    let signs: BTreeMap<_, _> = periods.iter().copied().collect();
    // Read in parts at once: the store reads rows on several connections.
    let parts = periods.chunks(periods.len().div_ceil(READ_PARTS).max(1));
    let reads = parts.map(|part| deps.analytics.rollup_rows(tenant, part.iter().map(|(period, _)| *period).collect()));
    let mut totals: BTreeMap<Lane, Counters> = BTreeMap::new();
    for rows in join_all(reads).await {
        for row in rows?.into_iter().filter(|row| admit(&row.lane)) {
            let sign = signs.get(&row.period).copied().unwrap_or(0);
            totals.entry(row.lane).or_default().merge(&row.counters, sign);
        }
    }
    totals.retain(|_, counters| !counters.is_empty());
    Ok(totals)
}

#[cfg(test)]
mod tests;
