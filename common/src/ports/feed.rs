//! The change feed: every committed shipment change, in commit order.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::domain::analytics::ShipmentFacts;
use crate::domain::{Shipment, ShipmentId, Subtag, Tag, TenantId};

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// A shipment was created.
    Created,
    /// A shipment was changed.
    Updated,
    /// A shipment was deleted.
    Deleted,
    /// A finished shipment was removed by retention (DynamoDB's TTL on AWS, the retention
    /// purge of `serve`): housekeeping, not news.
    Expired,
}

/// The parts of a shipment that downstream consumers compare (status fan-out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusSnapshot {
    /// The version this snapshot is of.
    pub version: u64,
    /// The status.
    pub tag: Tag,
    /// The sub-status.
    pub subtag: Subtag,
    /// Whether tracking continues.
    pub active: bool,
    /// How many checkpoints the timeline has.
    pub checkpoint_count: usize,
    /// Whether a history import wrote this version: history, never news (no notification, no
    /// webhook), though analytics count it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub imported: bool,
    /// What the shipment contributes to analytics at this version; absent in changes recorded
    /// before analytics existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facts: Option<ShipmentFacts>,
    /// The latest estimated delivery date (its single date), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edd: Option<chrono::NaiveDate>,
}

impl StatusSnapshot {
    /// The snapshot of `shipment` as it is.
    pub fn of(shipment: &Shipment) -> Self {
        StatusSnapshot {
            version: shipment.version,
            tag: shipment.tag,
            subtag: shipment.subtag,
            active: shipment.active,
            checkpoint_count: shipment.checkpoints.len(),
            imported: shipment.imported_version == Some(shipment.version),
            facts: Some(ShipmentFacts::of(shipment)),
            edd: shipment.edd.as_ref().map(|edd| edd.latest.date),
        }
    }

    /// A snapshot of the status alone (no facts, not imported): for changes made up in tests
    /// and benchmarks.
    pub fn bare(version: u64, tag: Tag, subtag: Subtag, active: bool, checkpoint_count: usize) -> Self {
        StatusSnapshot { version, tag, subtag, active, checkpoint_count, imported: false, facts: None, edd: None }
    }
}

/// One committed change, as DynamoDB Streams gives NEW_AND_OLD_IMAGES.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeEvent {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The shipment.
    pub shipment_id: ShipmentId,
    /// What happened.
    pub kind: ChangeKind,
    /// When it was committed.
    pub at: DateTime<Utc>,
    /// Before: `None` for `Created`.
    pub old: Option<StatusSnapshot>,
    /// After: `None` for `Deleted` and `Expired`.
    pub new: Option<StatusSnapshot>,
}

/// A change at its position in a [`ChangeFeed`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedEntry {
    /// Position in the feed, strictly increasing in commit order.
    pub seq: u64,
    /// The change.
    pub change: ChangeEvent,
}

/// The ordered feed of committed shipment changes of the embedded store. (On AWS the table's
/// stream carries the same [`ChangeEvent`]s, with the stream's own positions.)
#[async_trait]
pub trait ChangeFeed: Send + Sync {
    /// Up to `limit` changes with `seq > after`, in commit order. Reading does not consume:
    /// consumers keep their own position.
    async fn changes_after(&self, after: u64, limit: usize) -> Result<Vec<FeedEntry>, StoreError>;
    /// Where `consumer` stopped: the last `seq` it saved, 0 if it never saved one.
    async fn position(&self, consumer: &str) -> Result<u64, StoreError>;
    /// Records durably that `consumer` has handled every change up to `seq`. Positions only
    /// move forward: saving one behind the stored position changes nothing.
    async fn save_position(&self, consumer: &str, seq: u64) -> Result<(), StoreError>;
}
