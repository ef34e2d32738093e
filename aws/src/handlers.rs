//! The Lambda handlers, as functions of a [`Runtime`] and an event, so that tests call them
//! with the sample events under `events/`.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use porchlight::adapters::sqs::received_from_record;
use porchlight::app::{MessageOutcome, handle_carrier_message};
use porchlight::ports::QueueName;

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
