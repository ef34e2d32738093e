//! Lambda `carrier-poller`: run by an EventBridge schedule; polls the shipments that are due.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use porchlight_aws::{handlers, run_events};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    run_events(|runtime, event: EventBridgeEvent<serde_json::Value>| async move {
        handlers::poll_carriers(&runtime, event.time.unwrap_or_else(chrono::Utc::now)).await
    })
    .await
}
