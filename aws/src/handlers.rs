//! The Lambda handlers, as functions of a [`Runtime`] and an event, so that tests call them
//! with the sample events under `events/`.

use crate::dynamodb::{Item, change_from_stream_record};
use crate::sqs::received_from_record;
use aws_lambda_events::dynamodb::{Event as StreamEvent, EventRecord};
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use chrono::{DateTime, Utc};
use porchlight::app::{AppError, MessageOutcome, PollReport, handle_carrier_message, poll_due};
use porchlight::ports::QueueName;
use porchlight::ports::{ChangeEvent, StoreError, WorkQueue};

use crate::Runtime;

/// `tracking-updater`: merges each `carrier-updates` record into shipments. Records that
/// will never succeed are copied to the DLQ with the reason and reported done; records that
/// may succeed later (or cannot be read) are reported as failures, so SQS delivers them again
/// and, after the queue's receive limit, moves them to the DLQ itself.
pub async fn update_trackings(runtime: &Runtime, event: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for record in event.records {
        let record_id = record.message_id.clone().unwrap_or_default();
        let receive_count = record.attributes.get("ApproximateReceiveCount").and_then(|v| v.parse().ok()).unwrap_or(1);
        let attribute = |name: &str| record.message_attributes.get(name).and_then(|a| a.string_value.clone());
        let retry = match received_from_record(record.body.as_deref().unwrap_or_default(), attribute, receive_count) {
            Err(error) => {
                tracing::error!(record_id = %record_id, error = %error, "sqs record unreadable");
                true
            }
            Ok(message) => match handle_carrier_message(&runtime.deps, &message).await {
                MessageOutcome::Handled { .. } => false,
                MessageOutcome::Retry { .. } => true,
                MessageOutcome::Quarantine(reason) => {
                    let kept = runtime.queues.quarantine(QueueName::CarrierUpdates, &message, &reason).await;
                    if let Err(error) = &kept {
                        tracing::error!(message_id = message.id, error = %error, "quarantine failed");
                    }
                    kept.is_err()
                }
            },
        };
        if retry {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = record_id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}

/// `status-fanout`: reads the table's stream and puts every shipment status change, as a JSON
/// [`ChangeEvent`], on the `status-changes` queue. Records of other items, updates that did
/// not move the status and TTL deletions are skipped. If the queue refuses, the batch is reported failed
/// from its first record, and Lambda delivers it again (consumers are idempotent).
pub async fn fan_out_status(runtime: &Runtime, event: StreamEvent) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    let first = event.records.first().and_then(|r| r.change.sequence_number.clone());
    match status_changes(&event.records).and_then(|changes| bodies(&changes)) {
        Ok(bodies) if bodies.is_empty() => {}
        Ok(bodies) => {
            if let Err(error) = runtime.queues.send_batch(QueueName::StatusChanges, &bodies).await {
                tracing::error!(error = %error, "status changes not queued");
                let mut failure = DynamoDbBatchItemFailure::default();
                failure.item_identifier = first;
                response.batch_item_failures.push(failure);
            }
        }
        Err(error) => {
            // A record this code cannot read will not read better later: log it and move on,
            // rather than block the shard.
            tracing::error!(error = %error, "stream batch unreadable");
        }
    }
    response
}

/// The status changes among `records`, in order.
fn status_changes(records: &[EventRecord]) -> Result<Vec<ChangeEvent>, StoreError> {
    let image = |item: &serde_dynamo::Item| (!item.is_empty()).then(|| Item::from(item.clone()));
    let mut changes = Vec::new();
    for record in records {
        // The table's TTL removing a finished shipment after its retention is housekeeping,
        // not a change to tell anyone about.
        if record.user_identity.as_ref().is_some_and(|who| who.principal_id == "dynamodb.amazonaws.com") {
            continue;
        }
        let (old, new) = (image(&record.change.old_image), image(&record.change.new_image));
        let at = record.change.approximate_creation_date_time;
        if let Some(change) = change_from_stream_record(&record.event_name, at, old.as_ref(), new.as_ref())?
            && change.changes_status()
        {
            changes.push(change);
        }
    }
    Ok(changes)
}

fn bodies(changes: &[ChangeEvent]) -> Result<Vec<Vec<u8>>, StoreError> {
    changes.iter().map(|c| serde_json::to_vec(c).map_err(|e| StoreError::Unavailable(Box::new(e)))).collect()
}

/// `carrier-poller` (an EventBridge schedule): polls the shipments due in the period that
/// ends at the run's `scheduled` time (the event's `time`, so a retried event covers the same
/// period), up to now, within each carrier's pace, and queues what carriers answer on
/// `carrier-updates`.
pub async fn poll_carriers(runtime: &Runtime, scheduled: DateTime<Utc>) -> Result<PollReport, AppError> {
    let after = scheduled - runtime.poll_every;
    let report = poll_due(&runtime.deps, &runtime.limiters, after, runtime.poll_batch).await?;
    tracing::info!(
        shipments = report.shipments,
        requests = report.requests,
        failed = report.failed_requests,
        "poll run"
    );
    Ok(report)
}
