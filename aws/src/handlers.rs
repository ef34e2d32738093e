//! The Lambda handlers, as functions of a [`Runtime`] and an event, so that tests call them
//! with the sample events under `events/`.

use crate::dynamodb::{StreamImages, change_from_stream_record};
use crate::sqs::received_from_record;
use aws_lambda_events::dynamodb::Event as StreamEvent;
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use chrono::{DateTime, Utc};
use porchlight::app::{self, MessageOutcome, PollReport, handle_carrier_message, poll_due};
use porchlight::ports::QueueName;

use crate::{FunctionError, Runtime};

/// `tracking-updater`: merges each `carrier-updates` record into shipments, the records of a
/// batch concurrently (each merge is idempotent and versioned, so their order does not
/// matter). Records that will never succeed are copied to the DLQ with the reason and reported
/// done; records that may succeed later (or cannot be read) are reported as failures, so SQS
/// delivers them again and, after the queue's receive limit, moves them to the DLQ itself.
pub async fn update_trackings(runtime: &Runtime, event: SqsEvent) -> SqsBatchResponse {
    let outcomes = futures_util::future::join_all(event.records.into_iter().map(|record| update_one(runtime, record)));
    let mut response = SqsBatchResponse::default();
    for failed in outcomes.await.into_iter().flatten() {
        let mut failure = BatchItemFailure::default();
        failure.item_identifier = failed;
        response.batch_item_failures.push(failure);
    }
    response
}

/// Handles one record; `Some(its id)` when SQS should deliver it again.
async fn update_one(runtime: &Runtime, record: SqsMessage) -> Option<String> {
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
    retry.then_some(record_id)
}

/// `status-fanout`: reads the table's stream and hands its shipment changes to
/// [`app::fanout::publish_status_changes`], which queues the status changes on
/// `status-changes`, then counts them into the analytics rollups
/// ([`app::analytics::count_changes`]). If either fails, the batch is reported failed from its
/// first record, and Lambda delivers it again (the queue's consumers are idempotent, and the
/// rollups count each change once).
pub async fn fan_out_status(runtime: &Runtime, event: StreamEvent) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    let records: Vec<StreamImages> = event.records.iter().map(StreamImages::from_lambda).collect();
    let changes: Vec<_> = match records.iter().map(change_from_stream_record).collect::<Result<Vec<_>, _>>() {
        Ok(changes) => changes.into_iter().flatten().collect(),
        Err(error) => {
            // A record this code cannot read will not read better later: log it and move on,
            // rather than block the shard.
            tracing::error!(error = %error, "stream batch unreadable");
            return response;
        }
    };
    let outcome = match app::fanout::publish_status_changes(&runtime.deps, changes.iter().cloned()).await {
        Ok(_) => app::analytics::count_changes(&runtime.deps, changes).await.map(drop).inspect_err(|error| {
            tracing::error!(error = %error, "changes not counted into the rollups");
        }),
        Err(error) => {
            tracing::error!(error = %error, "status changes not queued");
            Err(error)
        }
    };
    if outcome.is_err() {
        let mut failure = DynamoDbBatchItemFailure::default();
        failure.item_identifier = records.first().map(|r| r.sequence_number.clone());
        response.batch_item_failures.push(failure);
    }
    response
}

/// `carrier-poller` (an EventBridge schedule): polls the shipments due in the period that
/// ends at the run's `scheduled` time (the event's `time`, so a retried event covers the same
/// period), up to now, within each carrier's pace, and queues what carriers answer on
/// `carrier-updates`.
pub async fn poll_carriers(runtime: &Runtime, scheduled: DateTime<Utc>) -> Result<PollReport, FunctionError> {
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

/// What the `notifier` function is given: a batch of `status-changes` records, SES's bounce
/// and complaint reports (through SNS), or its schedule's tick (which sends what became due
/// meanwhile: delays and retries outlast SQS's 15-minute limit, so they wait in the ledger,
/// not in a sleeping Lambda).
#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
pub enum NotifierEvent {
    /// SES's reports, read before the others: an SNS record never reads as SQS's.
    Feedback(aws_lambda_events::sns::SnsEvent),
    /// Status changes to plan notifications for.
    Changes(SqsEvent),
    /// The schedule.
    Tick(serde_json::Value),
}

/// Messages a `notifier` invocation sends at most.
const DISPATCH_BATCH: usize = 100;

/// `notifier`: plans the notifications and merchants' webhook deliveries of each status change
/// (records that fail are reported for another delivery), then sends the messages that are due.
pub async fn notify(runtime: &Runtime, event: NotifierEvent) -> Result<SqsBatchResponse, FunctionError> {
    let mut response = SqsBatchResponse::default();
    if let NotifierEvent::Feedback(reports) = event {
        record_feedback(runtime, reports).await?;
        return Ok(response);
    }
    if let NotifierEvent::Changes(changes) = event {
        for record in changes.records {
            let record_id = record.message_id.clone().unwrap_or_default();
            let attribute = |name: &str| record.message_attributes.get(name).and_then(|a| a.string_value.clone());
            let planned = match received_from_record(record.body.as_deref().unwrap_or_default(), attribute, 1) {
                Err(error) => Err(error.to_string()),
                Ok(message) => match serde_json::from_slice(&message.body) {
                    Err(error) => Err(format!("not a status change: {error}")),
                    Ok(change) => app::notifications::plan_change(&runtime.deps, runtime.ledger.as_ref(), &change)
                        .await
                        .map_err(|e| e.to_string()),
                },
            };
            if let Err(error) = planned {
                tracing::error!(record_id = %record_id, error = %error, "status change not planned");
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = record_id;
                response.batch_item_failures.push(failure);
            }
        }
    }
    app::notifications::dispatch_due(
        &runtime.deps,
        runtime.ledger.as_ref(),
        runtime.messenger.as_ref(),
        DISPATCH_BATCH,
    )
    .await?;
    Ok(response)
}

/// Puts the addresses of SES's permanent bounces and complaints on their merchants' suppression
/// lists, and counts them in notification reach. A report that cannot be read is logged and dropped (SNS would deliver it the same
/// way again); a store that fails fails the invocation, which Lambda retries, then sends to the
/// function's dead-letter queue.
async fn record_feedback(runtime: &Runtime, reports: aws_lambda_events::sns::SnsEvent) -> Result<(), FunctionError> {
    for record in reports.records {
        match crate::feedback::read_report(&record.sns.message) {
            Err(error) => {
                tracing::error!(message_id = %record.sns.message_id, error = %error, "ses report not read");
            }
            Ok(crate::feedback::Report::Ignore(why)) => {
                tracing::info!(message_id = %record.sns.message_id, why, "ses report ignored");
            }
            Ok(crate::feedback::Report::Suppress(tenant, feedback)) => {
                for one in feedback {
                    app::suppressions::record_report(&runtime.deps, &tenant, one).await?;
                }
            }
        }
    }
    Ok(())
}

/// How long a `webhook-dispatcher` invocation starts deliveries (its timeout is 60 s; the
/// attempts it started may take [`app::webhooks::TIMEOUT`] more).
const DISPATCH_BUDGET: std::time::Duration = std::time::Duration::from_secs(40);

/// `webhook-dispatcher`: invoked when deliveries are planned (the table's stream, filtered to
/// new delivery items) and every minute (retries, postponements, replays); whatever the event,
/// it sends every delivery that is due, concurrently, until none is or its budget is spent.
/// The deliveries live in the table, so an invocation that fails loses nothing: the next one
/// finds them due.
pub async fn dispatch_webhooks(runtime: &Runtime, _event: serde_json::Value) -> Result<(), FunctionError> {
    let started = runtime.webhook_dispatcher.run_for(DISPATCH_BUDGET).await?;
    if started > 0 {
        tracing::info!(started, "webhook deliveries attempted");
    }
    Ok(())
}

/// `report-generator`: a scheduled event runs the weekly reports that came due; an event
/// naming `tenant_id`, `from` and `to` (`YYYY-MM-DD`) builds that merchant's report over
/// those days; `{"task": "expire_personal_data"}` (its daily schedule) runs the
/// personal-data retention, when one is set.
pub async fn generate_reports(runtime: &Runtime, event: serde_json::Value) -> Result<(), FunctionError> {
    let deps = &runtime.deps;
    let text = |field: &str| event.get(field).and_then(serde_json::Value::as_str).map(str::to_owned);
    if text("task").as_deref() == Some("expire_personal_data") {
        let Some(retention) = runtime.personal_data_retention else { return Ok(()) };
        let erased = app::privacy::expire_personal_data_everywhere(deps, deps.clock.now() - retention).await?;
        tracing::info!(
            trackings = erased.trackings,
            notifications = erased.notifications,
            "personal data retention ran"
        );
        return Ok(());
    }
    if let Some(tenant) = text("tenant_id") {
        let tenant = porchlight::domain::TenantId::parse(&tenant).map_err(app::AppError::from)?;
        let today = deps.clock.now().date_naive();
        let range = app::analytics::DayRange::parse(text("from").as_deref(), text("to").as_deref(), today)
            .map_err(app::AppError::from)?;
        let report = app::reports::run_report(deps, &tenant, range).await?;
        tracing::info!(tenant_id = %tenant, report = %report.id, "report built on demand");
        return Ok(());
    }
    let run = app::reports::run_weekly(deps, runtime.ledger.as_ref()).await?;
    tracing::info!(merchants = run.merchants, built = run.built, planned = run.planned, "weekly reports");
    Ok(())
}

/// `history-importer`: on its schedule, carries every running import job on from the line it
/// had reached (the file in S3, the tally saved after each round, so a run cut short by its
/// timeout loses nothing: the next one goes on), finishing it done or failed.
pub async fn run_imports(runtime: &Runtime, _event: serde_json::Value) -> Result<(), FunctionError> {
    let jobs = app::imports::run_running_imports(&runtime.deps, porchlight::api::wire::history::history_lines).await?;
    if jobs > 0 {
        tracing::info!(jobs, "import jobs carried on");
    }
    Ok(())
}

/// `exception-detector`: on its schedule, scans every merchant's active shipments for what only
/// time brings: time-based exception rules, `no_update` messages, `tracking_pending_time`
/// webhooks; and expires the approved returns whose items never shipped in time. First, it
/// gives tenants made before list entries existed theirs.
pub async fn detect_exceptions(runtime: &Runtime, _event: serde_json::Value) -> Result<(), FunctionError> {
    // Tenants made before list entries existed get theirs, once; their listings then read
    // pages instead of every shipment (this scan's included).
    for tenant in runtime.ledger.tenants_without_list_entries().await.map_err(app::AppError::from)? {
        let written = runtime.ledger.add_list_entries(&tenant).await.map_err(app::AppError::from)?;
        tracing::info!(tenant_id = %tenant, written, "list entries added");
    }
    let report = app::scan::scan_active(&runtime.deps, runtime.ledger.as_ref()).await?;
    tracing::info!(
        shipments = report.shipments,
        opened = report.cases.opened,
        messages = report.messages,
        webhooks = report.webhooks,
        "scan of active shipments"
    );
    let expired = app::returns::expire_due(&runtime.deps).await?;
    tracing::info!(expired, "returns expired");
    Ok(())
}
