//! The background work of `porchlight serve`: what Lambda triggers do on AWS, as tokio tasks.
//!
//! - the `carrier-updates` consumer, draining the queue as messages arrive;
//! - the poller, asking carriers about shipments that are due, every `poll_every`.
//!
//! Both stop when the `stopped` signal turns true, finishing the round in hand.

use std::time::Duration;

use porchlight::app::{self, CarrierLimiters, Deps};
use tokio::sync::watch;

/// Messages taken off the queue per round.
const CONSUME_BATCH: usize = 100;
/// Shipments polled per round (a run goes through every shipment due, round after round).
const POLL_BATCH: usize = 500;

/// Starts the workers; the returned future ends when both have stopped.
pub fn spawn(deps: Deps, poll_every: Duration, stopped: watch::Receiver<bool>) -> impl Future<Output = ()> {
    let consumer = tokio::spawn(consume(deps.clone(), stopped.clone()));
    let poller = tokio::spawn(poll(deps, poll_every, stopped));
    async move {
        let _ = consumer.await;
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
