//! The consumer: `carrier-updates` messages parsed and merged into every shipment with that
//! leg; what will never succeed set aside with the reason, what may retried with back-off.

use std::sync::atomic::Ordering;

use chrono::{DateTime, Duration, Utc};
use futures_util::{StreamExt, TryStreamExt};
use tracing::Instrument;

use super::{CarrierMessage, LEASE_SECONDS, MAX_EVENTS_PER_MESSAGE, MAX_RECEIVES, skip_unreadable};
use crate::app::connectors::{self, SyncFailure};
use crate::app::{AppError, Deps, update_tracking};
use crate::carriers::TrackingUpdate;
use crate::domain::Shipment;
use crate::ports::QueueName;

/// What one round of the consumer did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcessReport {
    /// Messages handled and acknowledged.
    pub handled: usize,
    /// Of those, updates about numbers no shipment has.
    pub unmatched: usize,
    /// Messages set aside in quarantine.
    pub quarantined: usize,
    /// Messages put back for a later retry.
    pub retried: usize,
}

/// What became of one delivered carrier message.
#[derive(Debug)]
pub enum MessageOutcome {
    /// Merged (or about numbers nobody tracks): acknowledge it.
    Handled {
        /// How many of its updates reached no shipment.
        unmatched: usize,
    },
    /// Will never succeed: set it aside with the reason.
    Quarantine(String),
    /// May succeed later: deliver it again after `delay`.
    Retry {
        /// Why it failed this time.
        error: AppError,
        /// When to try again.
        delay: Duration,
    },
}

/// Handles one delivered `carrier-updates` message: parses it and merges its updates. A
/// message that keeps failing is quarantined after [`MAX_RECEIVES`] deliveries. Idempotent.
/// The caller acknowledges, quarantines or releases it as the outcome says (the embedded
/// consumer through the [`crate::ports::WorkQueue`], Lambda through its batch response).
pub async fn handle_carrier_message(deps: &Deps, message: &crate::ports::Received) -> MessageOutcome {
    let span = tracing::info_span!("carrier_message", message_id = message.id);
    match handle_message(deps, &message.body).instrument(span).await {
        Ok(unmatched) => MessageOutcome::Handled { unmatched },
        Err(Failure::Quarantine(reason)) => {
            tracing::warn!(message_id = message.id, reason = %reason, "carrier message quarantined");
            deps.stats.quarantined.fetch_add(1, Ordering::Relaxed);
            MessageOutcome::Quarantine(reason)
        }
        Err(Failure::Retry(error)) if message.receive_count >= MAX_RECEIVES => {
            tracing::error!(message_id = message.id, error = %error, "carrier message failed repeatedly");
            deps.stats.quarantined.fetch_add(1, Ordering::Relaxed);
            MessageOutcome::Quarantine(format!("gave up after {} attempts: {error}", message.receive_count))
        }
        Err(Failure::Retry(error)) => {
            tracing::warn!(message_id = message.id, error = %error, "carrier message will be retried");
            MessageOutcome::Retry { error, delay: Duration::seconds(2i64.pow(message.receive_count.min(8))) }
        }
    }
}

enum Failure {
    /// Will never succeed: set aside with the reason.
    Quarantine(String),
    /// May succeed later.
    Retry(AppError),
}

/// How many messages a round merges at once: each waits mostly on the store, whose writer
/// commits concurrent writes together.
const CONCURRENCY: usize = 32;

/// Takes up to `max` messages off `carrier-updates`, merges them into shipments concurrently
/// (each merge is versioned, so two messages about one shipment both land), and acknowledges,
/// retries or quarantines each. Idempotent: a message handled twice merges the same
/// checkpoints again, which changes nothing.
pub async fn process_carrier_updates(deps: &Deps, max: usize) -> Result<ProcessReport, AppError> {
    let queue = QueueName::CarrierUpdates;
    let messages = deps.queue.receive(queue, max, Duration::seconds(LEASE_SECONDS)).await?;
    let outcomes: Vec<MessageOutcome> = futures_util::stream::iter(messages)
        .map(|message| async move {
            let outcome = handle_carrier_message(deps, &message).await;
            match &outcome {
                MessageOutcome::Handled { .. } => deps.queue.ack(queue, message.id).await?,
                MessageOutcome::Quarantine(reason) => deps.queue.dead_letter(queue, message.id, reason).await?,
                MessageOutcome::Retry { delay, .. } => deps.queue.release(queue, message.id, *delay).await?,
            }
            Ok::<_, AppError>(outcome)
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    let mut report = ProcessReport::default();
    for outcome in outcomes {
        match outcome {
            MessageOutcome::Handled { unmatched } => {
                report.handled += 1;
                report.unmatched += unmatched;
            }
            MessageOutcome::Quarantine(_) => report.quarantined += 1,
            MessageOutcome::Retry { .. } => report.retried += 1,
        }
    }
    Ok(report)
}

async fn handle_message(deps: &Deps, body: &[u8]) -> Result<usize, Failure> {
    let message: CarrierMessage =
        serde_json::from_slice(body).map_err(|e| Failure::Quarantine(format!("not a carrier message: {e}")))?;
    let updates = match message {
        CarrierMessage::Storefront(delivery) => {
            return match connectors::handle_storefront_delivery(deps, &delivery).await {
                Ok(_) => Ok(0),
                Err(SyncFailure::Unreadable(error)) => Err(Failure::Quarantine(error.to_string())),
                Err(SyncFailure::App(error)) if error.is_retryable() => Err(Failure::Retry(error)),
                Err(SyncFailure::App(error)) => Err(Failure::Quarantine(error.to_string())),
            };
        }
        CarrierMessage::Backfill(step) => {
            return match connectors::run_backfill_step(deps, &step, true).await {
                Ok(_) => Ok(0),
                Err(error) if error.is_retryable() => Err(Failure::Retry(error)),
                Err(error) => Err(Failure::Quarantine(error.to_string())),
            };
        }
        CarrierMessage::Updates { updates, .. } => updates,
        CarrierMessage::Webhook { utf8: false, .. } => {
            return Err(Failure::Quarantine("webhook body is not UTF-8".into()));
        }
        CarrierMessage::Webhook { slug, body, .. } => {
            let adapter = deps
                .carriers
                .get(&slug)
                .ok_or_else(|| Failure::Quarantine(format!("no adapter for carrier {slug:?}")))?;
            adapter.parse_webhook(body.as_bytes()).map_err(|e| Failure::Quarantine(e.to_string()))?
        }
    };
    let events: usize = updates.iter().map(|update| update.events.len()).sum();
    if events > MAX_EVENTS_PER_MESSAGE {
        return Err(Failure::Quarantine(format!(
            "a carrier message of {events} events; at most {MAX_EVENTS_PER_MESSAGE} are taken"
        )));
    }
    let mut unmatched = 0;
    for update in &updates {
        match apply_tracking_update(deps, update).await {
            Ok(0) => unmatched += 1,
            Ok(_) => {}
            Err(error) if error.is_retryable() => return Err(Failure::Retry(error)),
            Err(other) => return Err(Failure::Quarantine(other.to_string())),
        }
    }
    Ok(unmatched)
}

/// Merges a carrier's update into every shipment, of any tenant, with that leg; a reported
/// handover becomes the shipment's last-mile leg (polled at once). Returns how many shipments
/// it reached. Idempotent.
pub async fn apply_tracking_update(deps: &Deps, update: &TrackingUpdate) -> Result<usize, AppError> {
    let legs = deps.shipments.find_legs(&update.slug, &update.tracking_number).await?;
    let mut reached = 0;
    for (tenant, id) in legs {
        let now = deps.clock.now();
        let result = update_tracking(deps, &tenant, &id, |shipment| {
            merge_update(shipment, update, now);
            Ok(())
        })
        .await;
        match result {
            Ok(shipment) => {
                tracing::info!(tenant_id = %tenant, shipment_id = %id, tag = %shipment.tag, "carrier update merged");
                reached += 1;
            }
            // Deleted between lookup and write.
            Err(AppError::NotFound) => {}
            // One merchant's unreadable shipment must not keep the update from the others.
            Err(AppError::Corrupt(what)) => skip_unreadable(deps, &tenant, &id, &what),
            Err(other) => return Err(other),
        }
    }
    Ok(reached)
}

/// Merges `update` into `shipment`: its events, a reported handover as the last-mile leg
/// (polled at once), and the carrier's scheduled delivery date.
pub(super) fn merge_update(shipment: &mut Shipment, update: &TrackingUpdate, now: DateTime<Utc>) {
    if let Some(scheduled) = update.scheduled_delivery {
        shipment.carrier_edd = Some(scheduled);
    }
    if let Some(leg) = &update.handover
        && shipment.last_mile.is_none()
        && !shipment.has_leg(&leg.slug, &leg.tracking_number)
    {
        shipment.last_mile = Some(leg.clone());
        shipment.next_poll_at = Some(now);
    }
    shipment.merge(update.events.iter().cloned(), now);
}
