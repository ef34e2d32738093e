//! What every store port reports when it fails.

use crate::domain::ShipmentId;

/// An adapter's underlying error.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What a store can report. Only the variants callers act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record does not exist (for this tenant).
    #[error("not found")]
    NotFound,
    /// The record changed since it was read: re-read and retry.
    #[error("version conflict")]
    Conflict,
    /// A shipment with the same courier and tracking number already exists for the tenant.
    #[error("duplicate shipment {0}")]
    Duplicate(ShipmentId),
    /// The store could not be reached or failed; the operation may succeed if retried. Whether
    /// it happened is unknown unless the method documents otherwise.
    #[error("store unavailable")]
    Unavailable(#[source] BoxError),
    /// A stored record does not read back as what this code writes (or nests deeper than it
    /// reads): retrying will not help. Names what is wrong, never the record's content.
    #[error("stored record unreadable: {0}")]
    Corrupt(String),
}
