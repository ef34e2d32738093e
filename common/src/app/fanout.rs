//! Status fan-out: committed shipment changes in, `status-changes` messages out.
//!
//! Both runtimes run it: on AWS `status-fanout` reads the table's stream and calls
//! [`publish_status_changes`]; in `serve` a worker follows the embedded [`ChangeFeed`] with
//! [`fan_out_feed`], keeping its position in the store. Delivery is at least once: a change is
//! published before its position is saved, so a crash in between publishes it again, and
//! consumers (notifications, merchant webhooks) are idempotent.

use super::{AppError, Deps};
use crate::ports::{ChangeEvent, ChangeFeed, ChangeKind, QueueName};

/// The fan-out's name as a [`ChangeFeed`] consumer.
pub const FEED_CONSUMER: &str = "status-fanout";

/// Whether a committed change is news for the `status-changes` queue: every creation and
/// deletion, and updates that moved the status or sub-status (not those that only added
/// detail). Removals by retention are housekeeping, and what a history import wrote is
/// history: neither is news.
pub fn is_status_change(change: &ChangeEvent) -> bool {
    match (change.kind, &change.old, &change.new) {
        (ChangeKind::Expired, ..) => false,
        (_, _, Some(new)) if new.imported => false,
        (_, Some(old), Some(new)) => (old.tag, old.subtag) != (new.tag, new.subtag),
        _ => true,
    }
}

/// Whether a committed update moved the latest estimated delivery date of a shipment that
/// had one (its first estimate is no revision), and is not history.
pub fn is_edd_revision(change: &ChangeEvent) -> bool {
    match (change.kind, &change.old, &change.new) {
        (ChangeKind::Updated, Some(old), Some(new)) => !new.imported && old.edd.is_some() && new.edd != old.edd,
        _ => false,
    }
}

/// Whether a committed change goes on the `status-changes` queue: a status change or an
/// estimated delivery date's revision.
pub fn is_news(change: &ChangeEvent) -> bool {
    is_status_change(change) || is_edd_revision(change)
}

/// Puts the status changes among `changes` on the `status-changes` queue, in order, as JSON
/// [`ChangeEvent`]s; returns how many. All or none: on an error nothing is taken as sent, and
/// the caller offers the same changes again.
pub async fn publish_status_changes(
    deps: &Deps,
    changes: impl IntoIterator<Item = ChangeEvent>,
) -> Result<usize, AppError> {
    let bodies = changes
        .into_iter()
        .filter(is_news)
        .map(|change| serde_json::to_vec(&change).expect("change events serialize"))
        .collect::<Vec<_>>();
    if !bodies.is_empty() {
        deps.queue.send_batch(QueueName::StatusChanges, &bodies).await?;
    }
    Ok(bodies.len())
}

/// What one round of [`fan_out_feed`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FanoutReport {
    /// Changes read from the feed.
    pub read: usize,
    /// Of those, status changes published.
    pub published: usize,
}

/// One round of the embedded fan-out: up to `max` changes after the saved position are
/// published, then the position moves past them. Nothing is skipped: a round that fails
/// leaves the position where it was.
pub async fn fan_out_feed(deps: &Deps, feed: &dyn ChangeFeed, max: usize) -> Result<FanoutReport, AppError> {
    let after = feed.position(FEED_CONSUMER).await?;
    let entries = feed.changes_after(after, max.max(1)).await?;
    let Some(last) = entries.last().map(|entry| entry.seq) else { return Ok(FanoutReport::default()) };
    let read = entries.len();
    let published = publish_status_changes(deps, entries.into_iter().map(|entry| entry.change)).await?;
    feed.save_position(FEED_CONSUMER, last).await?;
    Ok(FanoutReport { read, published })
}

#[cfg(test)]
mod tests;
