//! The background work of `porchlight serve`: what Lambda triggers and DynamoDB do on AWS, as
//! tokio tasks.
//!
//! - the `carrier-updates` consumer, draining the queue as messages arrive (`tracking-updater`);
//! - the poller, asking carriers about shipments that are due, every `poll_every`
//!   (`carrier-poller` on its schedule);
//! - the status fan-out, following the store's change feed onto `status-changes`
//!   (`status-fanout` on the table's stream), its position kept in the store;
//! - the analytics counter, following the same feed into the rollups, its position saved with
//!   the counters (`status-fanout` too on AWS); on a database it never counted, it first
//!   counts every stored shipment;
//! - the importer, carrying out history imports sent to the API (from the line a job had
//!   reached, after a restart);
//! - the notifier, planning the messages and merchants' webhook deliveries of each status
//!   change and sending the messages due to the outbox (`notifier` on AWS);
//! - the webhook dispatcher, sending due deliveries concurrently, each endpoint apart
//!   (`webhook-dispatcher` on AWS);
//! - the scan of active shipments, every 15 minutes, for what only time brings (exception rules
//!   on silence or lateness, `no_update` messages, `tracking_pending_time` webhooks) and the
//!   expiry of approved returns whose items never shipped (`exception-detector` on its
//!   schedule);
//! - the hourly purge of webhook history past 30 days and, with a retention, of finished
//!   shipments past it (the table's TTL on AWS), and with a personal-data retention, of
//!   finished shipments' shoppers' fields (`report-generator`'s daily run on AWS).
//!
//! All stop when the `stopped` signal turns true, finishing the round in hand.

use std::sync::Arc;
use std::time::Duration;

use porchlight::adapters::sqlite::SqliteStore;
use porchlight::app::{self, CarrierLimiters, Deps};
use porchlight::ports::Messenger;
use porchlight::settings::Settings;
use tokio::sync::watch;

/// Messages taken off the queue per round.
const CONSUME_BATCH: usize = 100;
/// Changes read from the feed per fan-out round.
const FANOUT_BATCH: usize = 500;
/// Status changes planned, and due messages sent, per notifier round.
const NOTIFY_BATCH: usize = 100;
/// Shipments removed per purge transaction.
const PURGE_BATCH: usize = 500;
/// How often the exception scan runs (`exception-detector`'s schedule on AWS).
const EXCEPTION_SCAN_EVERY: Duration = Duration::from_secs(15 * 60);
/// How often the retention purge runs.
const PURGE_EVERY: Duration = Duration::from_secs(3600);
/// How long a worker with nothing to do waits before looking again.
const IDLE: Duration = Duration::from_millis(100);

/// Starts the workers; the returned future ends when all have stopped.
pub fn spawn(
    deps: Deps,
    store: SqliteStore,
    settings: &Settings,
    messenger: Arc<dyn Messenger>,
    stopped: watch::Receiver<bool>,
) -> impl Future<Output = ()> {
    let poll_every = settings.poll_every.to_std().unwrap_or(Duration::from_secs(60));
    let mut tasks = vec![
        tokio::spawn(consume(deps.clone(), stopped.clone())),
        tokio::spawn(fan_out(deps.clone(), store.clone(), stopped.clone())),
        tokio::spawn(count_analytics(deps.clone(), store.clone(), stopped.clone())),
        tokio::spawn(run_imports(deps.clone(), stopped.clone())),
        tokio::spawn(notify(deps.clone(), store.clone(), messenger, stopped.clone())),
        tokio::spawn(send_webhooks(deps.clone(), stopped.clone())),
        tokio::spawn(scan_exceptions(deps.clone(), store.clone(), stopped.clone())),
        tokio::spawn(poll(deps.clone(), poll_every, settings.poll_batch, stopped.clone())),
    ];
    tasks.push(tokio::spawn(purge(deps, store, settings.retention, settings.personal_data_retention, stopped)));
    async move {
        for task in tasks {
            let _ = task.await;
        }
    }
}

/// Waits `wait`, or less if told to stop; true when it is time to stop.
async fn idle(stopped: &mut watch::Receiver<bool>, wait: Duration) -> bool {
    tokio::select! {
        _ = stopped.wait_for(|stop| *stop) => {}
        () = tokio::time::sleep(wait) => {}
    }
    *stopped.borrow()
}

/// Runs `round` until told to stop: at once again while it finds work (`Ok(true)`), after
/// [`IDLE`] when it finds none or fails (the failure logged as `worker` failing).
async fn drain<F, Fut>(worker: &'static str, mut round: F, mut stopped: watch::Receiver<bool>)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<bool, app::AppError>>,
{
    loop {
        match round().await {
            Ok(true) if !*stopped.borrow() => continue,
            Ok(true) => break,
            Ok(false) => {}
            Err(error) => tracing::error!(worker, error = %error, "worker round failed"),
        }
        if idle(&mut stopped, IDLE).await {
            break;
        }
    }
    tracing::info!(worker, "worker stopped");
}

async fn consume(deps: Deps, stopped: watch::Receiver<bool>) {
    let round = || async {
        let report = app::process_carrier_updates(&deps, CONSUME_BATCH).await?;
        let busy = report.handled + report.quarantined + report.retried > 0;
        if busy {
            tracing::debug!(handled = report.handled, quarantined = report.quarantined, "carrier updates processed");
        }
        Ok(busy)
    };
    drain("carrier-updates consumer", round, stopped).await;
}

async fn fan_out(deps: Deps, feed: SqliteStore, stopped: watch::Receiver<bool>) {
    let round = || async {
        let report = app::fanout::fan_out_feed(&deps, &feed, FANOUT_BATCH).await?;
        if report.read > 0 {
            tracing::debug!(read = report.read, published = report.published, "status changes fanned out");
        }
        Ok(report.read > 0)
    };
    drain("status fan-out", round, stopped).await;
}

async fn count_analytics(deps: Deps, store: SqliteStore, stopped: watch::Receiver<bool>) {
    use porchlight::ports::ChangeFeed;
    // A database whose feed was never counted (new, or from before analytics) is counted from
    // its shipments first, in one transaction with the feed position.
    match store.position(app::analytics::FEED_CONSUMER).await {
        Ok(0) => match store.rebuild_rollups(app::analytics::FEED_CONSUMER).await {
            Ok(counted) => tracing::info!(shipments = counted, "analytics counted from the stored shipments"),
            Err(error) => tracing::error!(error = %error, "analytics recount failed"),
        },
        Ok(_) => {}
        Err(error) => tracing::error!(error = %error, "analytics position unreadable"),
    }
    let round = || async { Ok(app::analytics::count_feed(&deps, &store, FANOUT_BATCH).await? > 0) };
    drain("analytics", round, stopped).await;
}

async fn run_imports(deps: Deps, stopped: watch::Receiver<bool>) {
    let round = || async {
        let ran = app::imports::run_running_imports(&deps, porchlight::api::wire::history::history_lines).await?;
        Ok(ran > 0)
    };
    drain("imports", round, stopped).await;
}

async fn notify(deps: Deps, ledger: SqliteStore, messenger: Arc<dyn Messenger>, stopped: watch::Receiver<bool>) {
    let round = || app::notifications::notify_round(&deps, &ledger, messenger.as_ref(), NOTIFY_BATCH);
    drain("notifier", round, stopped).await;
}

async fn send_webhooks(deps: Deps, mut stopped: watch::Receiver<bool>) {
    let dispatcher = app::webhooks::dispatch::Dispatcher::new(deps);
    loop {
        match dispatcher.start_due().await {
            Ok(started) if started > 0 && !*stopped.borrow() => continue,
            Ok(_) => {}
            Err(error) => tracing::error!(error = %error, "webhook dispatch round failed"),
        }
        if idle(&mut stopped, IDLE).await {
            break;
        }
    }
    dispatcher.wait_idle().await;
    tracing::info!("webhook dispatcher stopped");
}

async fn scan_exceptions(deps: Deps, ledger: SqliteStore, mut stopped: watch::Receiver<bool>) {
    loop {
        if let Err(error) = app::scan::scan_active(&deps, &ledger).await {
            tracing::error!(error = %error, "exception scan failed");
        }
        match app::returns::expire_due(&deps).await {
            Ok(0) => {}
            Ok(expired) => tracing::info!(expired, "returns expired"),
            Err(error) => tracing::error!(error = %error, "return expiry failed"),
        }
        // The weekly reports ride on the same schedule: each week's is built and emailed once.
        if let Err(error) = app::reports::run_weekly(&deps, &ledger).await {
            tracing::error!(error = %error, "weekly reports failed");
        }
        if idle(&mut stopped, EXCEPTION_SCAN_EVERY).await {
            break;
        }
    }
    tracing::info!("exception scan stopped");
}

async fn poll(deps: Deps, every: Duration, batch: usize, mut stopped: watch::Receiver<bool>) {
    let limiters = CarrierLimiters::default();
    // Each run covers the time since the last one that succeeded; the first, one period.
    let mut covered = deps.clock.now() - chrono::Duration::from_std(every).unwrap_or_default();
    loop {
        let started = deps.clock.now();
        match app::poll_due(&deps, &limiters, covered, batch).await {
            Ok(report) => {
                covered = started;
                if report.shipments > 0 {
                    tracing::info!(
                        shipments = report.shipments,
                        requests = report.requests,
                        failed = report.failed_requests,
                        "carriers polled"
                    );
                }
            }
            Err(error) => tracing::error!(error = %error, "carrier poll round failed"),
        }
        if idle(&mut stopped, every).await {
            break;
        }
    }
    tracing::info!("poller stopped");
}

/// How long webhook events and finished deliveries are kept (the TTL of their items on AWS).
const WEBHOOK_HISTORY: chrono::Duration = chrono::Duration::days(30);

/// Removes, batch by batch, whatever `purge_batch` finds before `before`, logging `what`.
async fn purge_all<F, Fut>(what: &'static str, mut purge_batch: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<usize, porchlight::ports::StoreError>>,
{
    loop {
        match purge_batch().await {
            Ok(0) => break,
            Ok(purged) => tracing::info!(purged, what, "purged"),
            Err(error) => {
                tracing::error!(error = %error, what, "purge failed");
                break;
            }
        }
    }
}

async fn purge(
    deps: Deps,
    store: SqliteStore,
    retention: Option<chrono::Duration>,
    personal_data_retention: Option<chrono::Duration>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let now = deps.clock.now();
        purge_all("webhook history", || store.purge_webhook_history(now - WEBHOOK_HISTORY, PURGE_BATCH)).await;
        let delivery_memory = chrono::Duration::days(porchlight::ports::DELIVERY_MEMORY_DAYS);
        purge_all("storefront deliveries", || store.purge_connector_deliveries(now - delivery_memory, PURGE_BATCH))
            .await;
        if let Some(retention) = retention {
            purge_all("finished shipments", || store.purge_finished(now - retention, PURGE_BATCH)).await;
        }
        if let Some(personal) = personal_data_retention
            && let Err(error) = porchlight::app::privacy::expire_personal_data_everywhere(&deps, now - personal).await
        {
            tracing::warn!(error = %error, "personal data retention failed; the next run tries again");
        }
        if idle(&mut stopped, PURGE_EVERY).await {
            break;
        }
    }
    tracing::info!("purge stopped");
}
