//! When to poll a carrier next: the interval follows the status (hours in transit, faster near
//! delivery, never once finished), jittered so polls spread out, and backs off after failures.

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

    /// Records a poll of `shipment` at `now` and schedules the next one: tracking stops for an
    /// inactive shipment; failures back off exponentially (doubling, up to `max_backoff`, at
    /// least the carrier's Retry-After).
    pub fn record(&self, shipment: &mut Shipment, outcome: PollOutcome, now: DateTime<Utc>) {
        shipment.tracked_count = shipment.tracked_count.saturating_add(1);
        match outcome {
            PollOutcome::Answered => shipment.poll_failures = 0,
            PollOutcome::Failed { .. } => shipment.poll_failures = shipment.poll_failures.saturating_add(1),
        }
        if !shipment.active {
            shipment.next_poll_at = None;
            return;
        }
        let Some(base) = self.interval(&shipment.tenant_id, shipment.slug.as_str(), shipment.tag) else {
            shipment.next_poll_at = None;
            return;
        };
        let wait = match outcome {
            PollOutcome::Answered => base,
            PollOutcome::Failed { retry_after } => {
                let doubled = base * 2i32.pow(shipment.poll_failures.min(10));
                doubled.min(self.max_backoff).max(retry_after.unwrap_or_else(Duration::zero))
            }
        };
        shipment.next_poll_at = Some(now + self.jittered(wait, shipment));
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

    fn within(wait: Option<Duration>, hours: f64, jitter: f64) -> bool {
        let Some(wait) = wait else { return false };
        let hours_waited = wait.num_seconds() as f64 / 3600.0;
        (hours_waited - hours).abs() <= hours * jitter + 1e-9
    }

    #[test]
    fn the_interval_follows_the_status_and_stops_when_finished() {
        let policy = PollPolicy::default();
        let cases = [
            (None, Some(2.0)),
            (Some("InTransit_002"), Some(4.0)),
            (Some("OutForDelivery_001"), Some(1.0)),
            (Some("AttemptFail_001"), Some(2.0)),
            (Some("Delivered_001"), None),
        ];
        for (code, hours) in cases {
            let mut s = shipment_with(code);
            let wait = wait_after(&policy, &mut s, PollOutcome::Answered);
            match hours {
                Some(h) => assert!(within(wait, h, 0.1), "{code:?}: {wait:?}"),
                None => assert_eq!(wait, None, "{code:?}"),
            }
            assert_eq!(s.tracked_count, 1);
        }
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
        assert_eq!(wait_after(&policy, &mut s, PollOutcome::Answered), Some(Duration::hours(4)));
        assert_eq!(s.poll_failures, 0);
        let throttled = PollOutcome::Failed { retry_after: Some(Duration::hours(30)) };
        assert_eq!(wait_after(&policy, &mut s, throttled), Some(Duration::hours(30)));
    }

    #[test]
    fn jitter_spreads_shipments_but_is_deterministic() {
        let policy = PollPolicy::default();
        let waits: Vec<_> = (0..20)
            .map(|_| {
                let mut s = shipment_with(Some("InTransit_002"));
                wait_after(&policy, &mut s, PollOutcome::Answered).expect("scheduled")
            })
            .collect();
        assert!(waits.iter().all(|w| within(Some(*w), 4.0, 0.1)));
        assert!(waits.iter().any(|w| *w != waits[0]), "not all the same");
        let s = shipment_with(Some("InTransit_002"));
        assert_eq!(policy.jittered(Duration::hours(4), &s), policy.jittered(Duration::hours(4), &s));
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
