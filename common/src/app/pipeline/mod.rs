//! The carrier pipeline: webhook intake, the `carrier-updates` consumer, and the poller.
//! Storefronts' webhooks share the queue and its consumer (`crate::app::connectors`).
//!
//! Intake authenticates and enqueues the raw payload (nothing is parsed on the hot path). The
//! consumer parses, merges into every shipment with that leg, and sets unparseable payloads
//! aside in quarantine with the reason, so one bad message never blocks the queue. The poller
//! asks carriers about shipments that are due, within each carrier's rate limit, and enqueues
//! what they answer.

//!
//! `intake.rs` takes pushes, `consumer.rs` merges what is queued, `poller.rs` asks carriers.

mod consumer;
mod intake;
mod poller;

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use consumer::{
    MessageOutcome, ProcessReport, apply_tracking_update, handle_carrier_message, process_carrier_updates,
};
pub use intake::{IntakeError, accept_webhook};
pub use poller::{CarrierLimiters, PollReport, carriers_tracked_live, poll_due};

use super::Deps;
use crate::carriers::TrackingUpdate;
use crate::domain::{ShipmentId, TenantId};

/// How long a consumer may hold a message before another may take it.
pub(super) const LEASE_SECONDS: i64 = 60;
/// Most events one carrier message (a push or a poll answer) may carry; a larger one is
/// quarantined rather than merged (a parcel's whole journey is tens of events).
pub const MAX_EVENTS_PER_MESSAGE: usize = 1000;
/// Deliveries of a message that keeps failing for a retryable reason before it is set aside.
pub const MAX_RECEIVES: u32 = 8;

/// A message on the `carrier-updates` queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CarrierMessage {
    /// A raw webhook body, as the carrier sent it.
    Webhook {
        /// The carrier.
        slug: String,
        /// When Porchlight accepted it.
        received_at: DateTime<Utc>,
        /// The body (invalid UTF-8 replaced; such a body is quarantined).
        body: String,
        /// Whether the body was valid UTF-8.
        #[serde(default = "yes")]
        utf8: bool,
    },
    /// A storefront's webhook, verified (see [`crate::app::connectors`]).
    Storefront(crate::app::connectors::StorefrontDelivery),
    /// One page of a storefront backfill.
    Backfill(crate::app::connectors::BackfillStep),
    /// Updates a poll parsed already.
    Updates {
        /// The carrier.
        slug: String,
        /// When the carrier answered.
        received_at: DateTime<Utc>,
        /// What it said.
        updates: Vec<TrackingUpdate>,
    },
}

fn yes() -> bool {
    true
}

/// Counters an operator watches.
#[derive(Debug, Default)]
pub struct PipelineStats {
    /// Webhooks accepted.
    pub webhooks_accepted: AtomicU64,
    /// Webhooks refused for a missing or wrong signature.
    pub webhooks_unauthenticated: AtomicU64,
    /// Messages set aside in quarantine.
    pub quarantined: AtomicU64,
    /// Times a shipment that does not read back was skipped (by a carrier update or a poll),
    /// so that it stops no other shipment; each is logged with its ids.
    pub unreadable_shipments: AtomicU64,
}

/// Logs and counts a shipment that does not read back, which the pipeline then skips.
pub(super) fn skip_unreadable(deps: &Deps, tenant: &TenantId, id: &ShipmentId, what: &str) {
    let total = deps.stats.unreadable_shipments.fetch_add(1, Ordering::Relaxed) + 1;
    tracing::error!(tenant_id = %tenant, shipment_id = %id, error = what, total, "unreadable shipment skipped");
}

#[cfg(test)]
mod tests;
