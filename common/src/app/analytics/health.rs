//! Watching carriers' health: when the share of a carrier's events whose code no adapter rule
//! knows jumps (carriers relabel their scans without notice, and a tracker then goes wrong
//! without a sound), the operator hears of it. Per merchant by the scan, whose error log line
//! an alarm watches on AWS; across merchants in the admin stats.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Timelike, Utc};
use serde::Serialize;

use super::{DayRange, totals};
use crate::app::{AppError, Deps};
use crate::domain::analytics::{Lane, counter};
use crate::domain::{Slug, TenantId};

/// Days before today that make a carrier's usual share.
pub const BASELINE_DAYS: i64 = 14;
/// Events a carrier needs today before its share is judged.
pub const MIN_EVENTS: i64 = 20;
/// The lowest share that counts as a jump.
const MIN_SHARE: f64 = 0.10;
/// How far above its usual share a jump is: at least this many times it...
const TIMES_USUAL: f64 = 3.0;
/// ...and at least this much more.
const ABOVE_USUAL: f64 = 0.05;

/// A carrier's events today against its usual.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CarrierWatch {
    /// The courier.
    pub slug: String,
    /// Events stored today (UTC).
    pub events: i64,
    /// Of those, unmapped.
    pub unmapped: i64,
    /// `unmapped` out of `events` (none without events).
    pub share: Option<f64>,
    /// Events over the [`BASELINE_DAYS`] before today.
    pub usual_events: i64,
    /// The unmapped share over those days (none without events).
    pub usual_share: Option<f64>,
    /// Whether today's share jumped: at least [`MIN_EVENTS`] events, a share of at least
    /// 10 %, three times the usual share and 5 points above it.
    pub jumped: bool,
}

fn share(unmapped: i64, events: i64) -> Option<f64> {
    (events > 0).then(|| (unmapped.min(events) as f64 / events as f64 * 10_000.0).round() / 10_000.0)
}

/// Per carrier: (today's events, unmapped), (the usual days' events, unmapped).
type Tally = BTreeMap<Slug, ((i64, i64), (i64, i64))>;

impl CarrierWatch {
    fn of(slug: &Slug, (today, usual): ((i64, i64), (i64, i64))) -> CarrierWatch {
        let (events, unmapped) = today;
        let now = share(unmapped, events);
        let before = share(usual.1, usual.0);
        let jumped = now.is_some_and(|now| {
            let before = before.unwrap_or(0.0);
            events >= MIN_EVENTS && now >= MIN_SHARE && now >= TIMES_USUAL * before && now - before >= ABOVE_USUAL
        });
        CarrierWatch {
            slug: slug.to_string(),
            events,
            unmapped,
            share: now,
            usual_events: usual.0,
            usual_share: before,
            jumped,
        }
    }
}

/// Adds `tenant`'s carrier events of today and of the usual days before it to `tally`.
async fn tally_tenant(deps: &Deps, tenant: &TenantId, now: DateTime<Utc>, tally: &mut Tally) -> Result<(), AppError> {
    let today = now.date_naive();
    let carriers = |lane: &Lane| lane.events && !lane.is_merchant_events();
    let usual = DayRange { from: today - Duration::days(BASELINE_DAYS), to: today - Duration::days(1) };
    for (is_today, range) in [(true, DayRange { from: today, to: today }), (false, usual)] {
        for (lane, counters) in totals(deps, tenant, range, carriers).await? {
            let entry = tally.entry(lane.slug).or_default();
            let slot = if is_today { &mut entry.0 } else { &mut entry.1 };
            slot.0 += counters.get(counter::CARRIER_EVENTS);
            slot.1 += counters.get(counter::UNMAPPED_EVENTS);
        }
    }
    Ok(())
}

/// `tenant`'s carriers today against their usual, by slug.
pub async fn tenant_watch(deps: &Deps, tenant: &TenantId, now: DateTime<Utc>) -> Result<Vec<CarrierWatch>, AppError> {
    let mut tally = Tally::new();
    tally_tenant(deps, tenant, now, &mut tally).await?;
    Ok(tally.iter().map(|(slug, counts)| CarrierWatch::of(slug, *counts)).collect())
}

/// Every merchant's carriers summed: today against the usual, by slug (the admin stats).
pub async fn platform_watch(deps: &Deps, now: DateTime<Utc>) -> Result<Vec<CarrierWatch>, AppError> {
    let mut tally = Tally::new();
    for tenant in deps.tenants.list_tenants().await? {
        tally_tenant(deps, &tenant.id, now, &mut tally).await?;
    }
    Ok(tally.iter().map(|(slug, counts)| CarrierWatch::of(slug, *counts)).collect())
}

/// The scan's look at carrier health, once an hour (on the scan that runs in an hour's first
/// quarter): an error log line per merchant and carrier whose share jumped, which the
/// operator's alarm watches. Returns how many jumped.
pub async fn watch_carrier_health(deps: &Deps, now: DateTime<Utc>) -> Result<usize, AppError> {
    if now.minute() >= 15 {
        return Ok(0);
    }
    let mut jumped = 0;
    for tenant in deps.tenants.list_tenants().await? {
        for watch in tenant_watch(deps, &tenant.id, now).await?.into_iter().filter(|w| w.jumped) {
            jumped += 1;
            tracing::error!(
                tenant_id = %tenant.id,
                slug = watch.slug,
                events = watch.events,
                unmapped = watch.unmapped,
                share = watch.share,
                usual_share = watch.usual_share,
                "carrier codes unmapped jumped"
            );
        }
    }
    Ok(jumped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn watch(today: (i64, i64), usual: (i64, i64)) -> bool {
        CarrierWatch::of(&Slug::parse("ups").expect("slug"), (today, usual)).jumped
    }

    #[test]
    fn a_jump_is_a_large_share_well_above_the_usual_with_enough_events() {
        assert!(watch((100, 30), (1_000, 10)), "30 % against 1 %");
        assert!(watch((100, 30), (0, 0)), "a new carrier already far off");
        assert!(!watch((100, 30), (1_000, 200)), "30 % against a usual 20 %: not three times");
        assert!(!watch((100, 8), (1_000, 0)), "under 10 %");
        assert!(!watch((19, 19), (1_000, 0)), "too few events to judge");
        assert!(!watch((0, 0), (1_000, 0)));
    }
}
