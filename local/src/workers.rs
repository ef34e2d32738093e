//! The background work of `porchlight serve`: what Lambda triggers do on AWS, as tokio tasks.
//!
//! - the `carrier-updates` consumer, draining the queue as messages arrive;
//! - the poller, asking carriers about shipments that are due, every `poll_every`;
//! - the status fan-out, following the store's change feed onto `status-changes` (what
//!   `status-fanout` does with the table's stream on AWS), its position kept in the store.
//!
//! All stop when the `stopped` signal turns true, finishing the round in hand.

use std::sync::Arc;
use std::time::Duration;

use porchlight::app::{self, CarrierLimiters, Deps};
use porchlight::ports::ChangeFeed;
use tokio::sync::watch;

/// Messages taken off the queue per round.
const CONSUME_BATCH: usize = 100;
/// Shipments polled per round (a run goes through every shipment due, round after round).
const POLL_BATCH: usize = 500;
/// Changes read from the feed per fan-out round.
const FANOUT_BATCH: usize = 500;

/// Starts the workers; the returned future ends when all have stopped.
pub fn spawn(
    deps: Deps,
    feed: Arc<dyn ChangeFeed>,
    poll_every: Duration,
    stopped: watch::Receiver<bool>,
) -> impl Future<Output = ()> {
    let consumer = tokio::spawn(consume(deps.clone(), stopped.clone()));
    let fanout = tokio::spawn(fan_out(deps.clone(), feed, stopped.clone()));
    let poller = tokio::spawn(poll(deps, poll_every, stopped));
    async move {
        let _ = consumer.await;
        let _ = fanout.await;
        let _ = poller.await;
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

async fn consume(deps: Deps, mut stopped: watch::Receiver<bool>) {
    loop {
        match app::process_carrier_updates(&deps, CONSUME_BATCH).await {
            Ok(report) if report.handled + report.quarantined + report.retried > 0 => {
                tracing::debug!(
                    handled = report.handled,
                    quarantined = report.quarantined,
                    "carrier updates processed"
                );
                if *stopped.borrow() {
                    break;
                }
                continue;
            }
            Ok(_) => {}
            Err(error) => tracing::error!(error = %error, "carrier update consumer failed"),
        }
        if idle(&mut stopped, Duration::from_millis(100)).await {
            break;
        }
    }
    tracing::info!("carrier update consumer stopped");
}

async fn fan_out(deps: Deps, feed: Arc<dyn ChangeFeed>, mut stopped: watch::Receiver<bool>) {
    loop {
        match app::fanout::fan_out_feed(&deps, feed.as_ref(), FANOUT_BATCH).await {
            Ok(report) if report.read > 0 => {
                tracing::debug!(read = report.read, published = report.published, "status changes fanned out");
                if *stopped.borrow() {
                    break;
                }
                continue;
            }
            Ok(_) => {}
            Err(error) => tracing::error!(error = %error, "status fan-out failed"),
        }
        if idle(&mut stopped, Duration::from_millis(100)).await {
            break;
        }
    }
    tracing::info!("status fan-out stopped");
}

async fn poll(deps: Deps, every: Duration, mut stopped: watch::Receiver<bool>) {
    let limiters = CarrierLimiters::default();
    // Each run covers the time since the last one that succeeded; the first, one period.
    let mut covered = deps.clock.now() - chrono::Duration::from_std(every).unwrap_or_default();
    loop {
        let started = deps.clock.now();
        match app::poll_due(&deps, &limiters, covered, POLL_BATCH).await {
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
