//! Lambda `carrier-poller`: run by an EventBridge schedule; polls the shipments that are due.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use porchlight_aws::{handlers, run_events};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    run_events(
        |runtime, _: EventBridgeEvent<serde_json::Value>| async move { Ok(handlers::poll_carriers(&runtime).await?) },
    )
    .await
}
