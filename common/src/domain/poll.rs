//! When to poll a carrier: a cadence that follows the status (hours in transit, faster near
//! delivery, never once finished), and explicit times for the first poll, retracks and retries
//! after failures (backing off, jittered).
//!
//! A shipment on its cadence is polled at fixed seconds: those `t` (since the Unix epoch)
//! where `t % cadence` is its phase, drawn from its id so that polls spread evenly. A quiet poll
//! therefore changes nothing about the shipment and is not written; the stores index shipments
//! by cadence and phase, and a poll run asks for the seconds it covers.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use super::{Shipment, Tag, TenantId};

/// Poll intervals by status, with per-carrier and per-tenant overrides.
#[derive(Debug, Clone, PartialEq)]
pub struct PollPolicy {
    /// The base interval per status; statuses not listed are not polled.
    pub intervals: BTreeMap<Tag, Duration>,
    /// Overrides for one carrier (by slug), then for one tenant and carrier.
    pub carrier_overrides: BTreeMap<String, BTreeMap<Tag, Duration>>,
    /// Overrides for one tenant (optionally one carrier of it), the most specific winning.
    pub tenant_overrides: BTreeMap<(TenantId, Option<String>), BTreeMap<Tag, Duration>>,
    /// The longest wait after repeated failures.
    pub max_backoff: Duration,
    /// Spread: each interval is moved by up to this fraction, up or down.
    pub jitter: f64,
}

impl Default for PollPolicy {
    fn default() -> Self {
        let intervals = BTreeMap::from([
            (Tag::Pending, Duration::hours(2)),
            (Tag::InfoReceived, Duration::hours(6)),
            (Tag::InTransit, Duration::hours(4)),
            (Tag::Exception, Duration::hours(4)),
            (Tag::AttemptFail, Duration::hours(2)),
            (Tag::AvailableForPickup, Duration::hours(3)),
            (Tag::OutForDelivery, Duration::hours(1)),
        ]);
        PollPolicy {
            intervals,
            carrier_overrides: BTreeMap::new(),
            tenant_overrides: BTreeMap::new(),
            max_backoff: Duration::hours(24),
            jitter: 0.1,
        }
    }
}

/// How the last poll went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollOutcome {
    /// The carrier answered.
    Answered,
    /// It failed; `retry_after` is the carrier's own demand, if it made one.
    Failed {
        /// The carrier's Retry-After.
        retry_after: Option<Duration>,
    },
}

impl PollPolicy {
    /// The base interval for `tag` of `slug` for `tenant`; `None` when it is not polled.
    pub fn interval(&self, tenant: &TenantId, slug: &str, tag: Tag) -> Option<Duration> {
        let pick = |map: Option<&BTreeMap<Tag, Duration>>| map.and_then(|m| m.get(&tag)).copied();
        pick(self.tenant_overrides.get(&(tenant.clone(), Some(slug.to_owned()))))
            .or_else(|| pick(self.tenant_overrides.get(&(tenant.clone(), None))))
            .or_else(|| pick(self.carrier_overrides.get(slug)))
            .or_else(|| self.intervals.get(&tag).copied())
    }

    /// Sets `shipment`'s cadence from its status: `None` once it is inactive or its status is
    /// not polled. Every write of a shipment goes through here.
    pub fn schedule(&self, shipment: &mut Shipment) {
        shipment.poll_cadence = if shipment.active {
            self.interval(&shipment.tenant_id, shipment.slug.as_str(), shipment.tag)
                .map(|every| cadence_seconds(&every))
        } else {
            None
        };
    }

    /// Records a poll of `shipment` at `now`: an answer clears any explicit time (the cadence
    /// takes over); a failure sets one, backing off exponentially (doubling, up to
    /// `max_backoff`, at least the carrier's Retry-After). A quiet answer on the cadence
    /// changes nothing.
    pub fn record(&self, shipment: &mut Shipment, outcome: PollOutcome, now: DateTime<Utc>) {
        self.schedule(shipment);
        match outcome {
            PollOutcome::Answered => {
                if shipment.next_poll_at.take().is_some() || shipment.poll_failures > 0 {
                    shipment.tracked_count = shipment.tracked_count.saturating_add(1);
                }
                shipment.poll_failures = 0;
            }
            PollOutcome::Failed { retry_after } => {
                shipment.tracked_count = shipment.tracked_count.saturating_add(1);
                shipment.poll_failures = shipment.poll_failures.saturating_add(1);
                let base = self.interval(&shipment.tenant_id, shipment.slug.as_str(), shipment.tag);
                let next = base.filter(|_| shipment.active).map(|base| {
                    let doubled = base * 2i32.pow(shipment.poll_failures.min(10));
                    let wait = doubled.min(self.max_backoff).max(retry_after.unwrap_or_else(Duration::zero));
                    now + self.jittered(wait, shipment)
                });
                shipment.next_poll_at = next;
            }
        }
    }

    /// Every cadence, in seconds, this policy gives some status: the stores' index partitions
    /// a poll run reads.
    pub fn cadences(&self) -> Vec<u32> {
        let overrides = self.carrier_overrides.values().chain(self.tenant_overrides.values());
        let mut cadences: Vec<u32> = std::iter::once(&self.intervals)
            .chain(overrides)
            .flat_map(|intervals| intervals.values())
            .map(cadence_seconds)
            .collect();
        cadences.sort_unstable();
        cadences.dedup();
        cadences
    }

    /// `wait` moved by a deterministic fraction of up to `jitter`, from the shipment's id and
    /// poll count: polls of many shipments spread out, and the same inputs give the same time.
    fn jittered(&self, wait: Duration, shipment: &Shipment) -> Duration {
        let digest = Sha256::new()
            .chain_update(shipment.id.as_str().as_bytes())
            .chain_update(shipment.tracked_count.to_le_bytes())
            .finalize();
        let unit = f64::from(u16::from_le_bytes([digest[0], digest[1]])) / f64::from(u16::MAX); // 0..=1
        let factor = 1.0 + self.jitter * (2.0 * unit - 1.0);
        Duration::milliseconds((wait.num_milliseconds() as f64 * factor) as i64)
    }
}

impl Shipment {
    /// The second of `cadence` (seconds) at which this shipment is polled: from its id, so
    /// the same on every run and spread evenly over many shipments.
    pub fn poll_phase(&self, cadence: u32) -> u32 {
        let digest = Sha256::digest(self.id.as_str().as_bytes());
        u32::from_le_bytes([digest[0], digest[1], digest[2], digest[3]]) % cadence.max(1)
    }

    /// When the carrier will next be asked about this shipment, as of `now`: its explicit time
    /// (or `now`, if that has passed), else its cadence's next second; `None` once tracking
    /// has stopped or when it is not polled (updates then come by webhook only).
    pub fn next_poll(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match (self.active, self.next_poll_at, self.poll_cadence) {
            (false, _, _) => None,
            (true, Some(at), _) => Some(at.max(now)),
            (true, None, Some(cadence)) => {
                let cadence = i64::from(cadence.max(1));
                let phase = i64::from(self.poll_phase(cadence as u32));
                let t = now.timestamp();
                let wait = (phase - t).rem_euclid(cadence);
                DateTime::from_timestamp(t + wait, 0)
            }
            (true, None, None) => None,
        }
    }

    /// Whether a poll run covering (`after`, `until`] polls this shipment: its explicit time
    /// has come, or, on its cadence, one of its seconds falls in that window.
    pub fn due_between(&self, after: DateTime<Utc>, until: DateTime<Utc>) -> bool {
        match (self.active, self.next_poll_at, self.poll_cadence) {
            (false, _, _) => false,
            (true, Some(at), _) => at <= until,
            (true, None, Some(cadence)) => ticks_between(cadence, self.poll_phase(cadence), after, until),
            (true, None, None) => false,
        }
    }
}

/// A cadence in whole seconds, at least one.
fn cadence_seconds(every: &Duration) -> u32 {
    u32::try_from(every.num_seconds().max(1)).unwrap_or(u32::MAX)
}

/// The seconds since the Unix epoch in (`after`, `until`], as a range.
pub fn seconds_between(after: DateTime<Utc>, until: DateTime<Utc>) -> std::ops::RangeInclusive<i64> {
    after.timestamp() + 1..=until.timestamp()
}

/// Whether a second `t` with `t % cadence == phase` falls in (`after`, `until`].
pub fn ticks_between(cadence: u32, phase: u32, after: DateTime<Utc>, until: DateTime<Utc>) -> bool {
    let seconds = seconds_between(after, until);
    let (cadence, phase) = (i64::from(cadence.max(1)), i64::from(phase));
    (seconds.end() - phase).div_euclid(cadence) > (seconds.start() - 1 - phase).div_euclid(cadence)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::domain::{CheckpointInput, CheckpointSource, EventTime, ShipmentDetails, Slug, Subtag, TrackingNumber};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 1, 0, 0, 0).single().expect("date")
    }

    fn shipment_with(code: Option<&str>) -> Shipment {
        let mut s = Shipment::new(
            TenantId::parse("acme").expect("tenant"),
            Slug::parse("ups").expect("slug"),
            TrackingNumber::parse("1Z999AA10123456784").expect("number"),
            ShipmentDetails::default(),
            now(),
        );
        if let Some(code) = code {
            let event = CheckpointInput::new(
                s.slug.clone(),
                s.tracking_number.clone(),
                EventTime::from_utc(now()),
                Subtag::parse(code).expect("subtag"),
                "event",
                CheckpointSource::Carrier,
            );
            s.merge([event], now());
        }
        s
    }

    fn wait_after(policy: &PollPolicy, s: &mut Shipment, outcome: PollOutcome) -> Option<Duration> {
        policy.record(s, outcome, now());
        s.next_poll_at.map(|at| at - now())
    }

    #[test]
    fn the_cadence_follows_the_status_and_stops_when_finished() {
        let policy = PollPolicy::default();
        let cases = [
            (None, Some(7200)),
            (Some("InTransit_002"), Some(14_400)),
            (Some("OutForDelivery_001"), Some(3600)),
            (Some("AttemptFail_001"), Some(7200)),
            (Some("Delivered_001"), None),
        ];
        for (code, seconds) in cases {
            let mut s = shipment_with(code);
            assert_eq!(wait_after(&policy, &mut s, PollOutcome::Answered), None, "{code:?}: the cadence takes over");
            assert_eq!(s.poll_cadence, seconds, "{code:?}");
            assert_eq!(s.tracked_count, u32::from(seconds.is_some()), "{code:?}: the first poll is recorded");
        }
    }

    #[test]
    fn a_quiet_poll_on_the_cadence_changes_nothing() {
        let policy = PollPolicy::default();
        let mut s = shipment_with(Some("InTransit_002"));
        policy.record(&mut s, PollOutcome::Answered, now());
        let after_first = s.clone();
        policy.record(&mut s, PollOutcome::Answered, now() + Duration::hours(4));
        assert_eq!(s, after_first);
    }

    #[test]
    fn failures_back_off_exponentially_up_to_the_cap_and_respect_retry_after() {
        let policy = PollPolicy { jitter: 0.0, ..PollPolicy::default() };
        let mut s = shipment_with(Some("InTransit_002"));
        let failed = PollOutcome::Failed { retry_after: None };
        assert_eq!(wait_after(&policy, &mut s, failed), Some(Duration::hours(8)));
        assert_eq!(wait_after(&policy, &mut s, failed), Some(Duration::hours(16)));
        assert_eq!(wait_after(&policy, &mut s, failed), Some(Duration::hours(24)));
        assert_eq!(wait_after(&policy, &mut s, failed), Some(Duration::hours(24)));
        assert_eq!(s.poll_failures, 4);
        assert_eq!(wait_after(&policy, &mut s, PollOutcome::Answered), None);
        assert_eq!((s.poll_failures, s.poll_cadence), (0, Some(14_400)));
        let throttled = PollOutcome::Failed { retry_after: Some(Duration::hours(30)) };
        assert_eq!(wait_after(&policy, &mut s, throttled), Some(Duration::hours(30)));
    }

    #[test]
    fn phases_spread_shipments_and_each_is_due_once_per_cadence() {
        let policy = PollPolicy::default();
        let shipments: Vec<Shipment> = (0..50)
            .map(|_| {
                let mut s = shipment_with(Some("InTransit_002"));
                policy.record(&mut s, PollOutcome::Answered, now());
                s
            })
            .collect();
        let phases: std::collections::BTreeSet<u32> = shipments.iter().map(|s| s.poll_phase(14_400)).collect();
        assert!(phases.len() > 45, "spread: {phases:?}");
        assert!(phases.iter().all(|p| *p < 14_400));
        // Runs every minute for a day, some late, some covering several minutes: each
        // shipment is due exactly once per four hours.
        let mut after = now();
        let mut due = vec![0; shipments.len()];
        for run in 1..=24 * 60 / 3 {
            // The last run ends at the day's end exactly: a phase in the seconds past it
            // would be a seventh poll of the next period.
            let until =
                (now() + Duration::minutes(run * 3) + Duration::seconds(run % 50)).min(now() + Duration::days(1));
            for (count, s) in due.iter_mut().zip(&shipments) {
                *count += usize::from(s.due_between(after, until));
            }
            after = until;
        }
        assert!(due.iter().all(|n| *n == 6), "{due:?}");
        assert_eq!(policy.cadences(), [3600, 7200, 10_800, 14_400, 21_600]);
    }

    #[test]
    fn an_explicit_time_comes_before_the_cadence() {
        let policy = PollPolicy::default();
        let mut s = shipment_with(Some("InTransit_002"));
        policy.schedule(&mut s);
        s.next_poll_at = Some(now() + Duration::days(1));
        assert!(!s.due_between(now(), now() + Duration::hours(23)), "backing off, the cadence waits");
        assert!(s.due_between(now() + Duration::hours(23), now() + Duration::hours(25)));
    }

    #[test]
    fn overrides_apply_per_carrier_then_per_tenant() {
        let mut policy = PollPolicy { jitter: 0.0, ..PollPolicy::default() };
        let tenant = TenantId::parse("acme").expect("tenant");
        policy.carrier_overrides.insert("ups".into(), BTreeMap::from([(Tag::InTransit, Duration::hours(8))]));
        assert_eq!(policy.interval(&tenant, "ups", Tag::InTransit), Some(Duration::hours(8)));
        assert_eq!(policy.interval(&tenant, "fedex", Tag::InTransit), Some(Duration::hours(4)));
        policy.tenant_overrides.insert((tenant.clone(), None), BTreeMap::from([(Tag::InTransit, Duration::hours(12))]));
        assert_eq!(policy.interval(&tenant, "ups", Tag::InTransit), Some(Duration::hours(12)));
        policy
            .tenant_overrides
            .insert((tenant.clone(), Some("ups".into())), BTreeMap::from([(Tag::InTransit, Duration::minutes(30))]));
        assert_eq!(policy.interval(&tenant, "ups", Tag::InTransit), Some(Duration::minutes(30)));
        assert_eq!(
            policy.interval(&TenantId::parse("other").expect("t"), "ups", Tag::InTransit),
            Some(Duration::hours(8))
        );
    }
}
