//! Analytics rollups: each merchant's counters per period (day or month) and lane.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::TenantId;
use crate::domain::analytics::{Counters, Lane, Period};

/// Counters to add to one row (negative counts take away).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollupDelta {
    /// The merchant.
    pub tenant_id: TenantId,
    /// The day or month.
    pub period: Period,
    /// The lane.
    pub lane: Lane,
    /// What to add.
    pub counters: Counters,
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
    /// Adds every delta to its row (a row is created when absent and removed when its counters
    /// come to zero). With `mark`, saves that feed position in the same transaction, so that
    /// the changes up to it are counted exactly once; stores without a change feed of their
    /// own (DynamoDB) take `None`.
    async fn add_counters(&self, deltas: Vec<RollupDelta>, mark: Option<FeedMark>) -> Result<(), StoreError>;
    /// The tenant's rows of `periods`, every lane.
    async fn rollup_rows(&self, tenant: &TenantId, periods: Vec<Period>) -> Result<Vec<RollupRow>, StoreError>;
}
