//! Analytics rollups: each merchant's counters per period (day or month) and lane.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::analytics::{Counters, Lane, Period};
use crate::domain::{ShipmentId, TenantId};

/// What one committed change, or one event, adds to the rollups: counters per row (negative
/// counts take away), and its identity, so that a change or event delivered twice counts once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountedChange {
    /// The merchant.
    pub tenant_id: TenantId,
    /// What changed: a shipment's id, whose changes count in the order of their versions;
    /// or an event's own id ([`CountedChange::event`]: it contains a `:`), counted once.
    pub source: String,
    /// The version the change made (a deletion: the version after the last one); 1 for
    /// events.
    pub version: u64,
    /// The rows it moves: period, lane and what to add.
    pub rows: Vec<(Period, Lane, Counters)>,
}

impl CountedChange {
    /// A change of `shipment` to `version`.
    pub fn shipment(
        tenant_id: TenantId,
        shipment: &ShipmentId,
        version: u64,
        rows: Vec<(Period, Lane, Counters)>,
    ) -> Self {
        CountedChange { tenant_id, source: shipment.as_str().to_owned(), version, rows }
    }

    /// An event that counts once: `kind` and `id` name it (`message`, the ledger id and
    /// outcome). Stores may forget an event's identity after [`EVENT_GUARD_DAYS`].
    pub fn event(tenant_id: TenantId, kind: &str, id: &str, rows: Vec<(Period, Lane, Counters)>) -> Self {
        CountedChange { tenant_id, source: format!("{kind}:{id}"), version: 1, rows }
    }

    /// Whether this counts an event rather than a shipment's change.
    pub fn is_event(&self) -> bool {
        self.source.contains(':')
    }
}

/// How long stores keep an event's identity to count it once (events come back within
/// minutes when they come back at all: a retried batch, a redelivered queue message).
pub const EVENT_GUARD_DAYS: i64 = 35;

/// One stored row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollupRow {
    /// The day or month.
    pub period: Period,
    /// The lane.
    pub lane: Lane,
    /// Its counters.
    pub counters: Counters,
}

/// Where a consumer of the change feed has got to, saved with the counters it added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedMark {
    /// The consumer's name.
    pub consumer: String,
    /// The last change it counted.
    pub seq: u64,
}

/// The rollups. Every read and write names its tenant.
#[async_trait]
pub trait AnalyticsStore: Send + Sync {
    /// Adds each change's rows (a row is created when absent; rows whose counters come to zero
    /// may be removed). Each change counts once: with `mark`, the store saves that feed
    /// position in the same transaction (the embedded store, whose feed is its own); without,
    /// a change of a shipment already counted at its version or later is passed over (the
    /// DynamoDB stream, which may deliver a record twice but keeps an item's changes in order).
    /// Returns how many changes were counted.
    async fn count_changes(&self, changes: Vec<CountedChange>, mark: Option<FeedMark>) -> Result<usize, StoreError>;
    /// The tenant's rows of `periods`, every lane.
    async fn rollup_rows(&self, tenant: &TenantId, periods: Vec<Period>) -> Result<Vec<RollupRow>, StoreError>;
}
