//! Analytics rollups: each merchant's counters per period (day or month) and lane.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::analytics::{Counters, Lane, Period};
use crate::domain::{ShipmentId, TenantId};

/// What one committed change adds to the rollups: counters per row (negative counts take
/// away), and the change's identity, so that a change delivered twice counts once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountedChange {
    /// The merchant.
    pub tenant_id: TenantId,
    /// The shipment changed.
    pub shipment_id: ShipmentId,
    /// The version the change made (a deletion: the version after the last one).
    pub version: u64,
    /// The rows it moves: period, lane and what to add.
    pub rows: Vec<(Period, Lane, Counters)>,
}

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
