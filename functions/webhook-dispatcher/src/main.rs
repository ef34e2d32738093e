//! Lambda `webhook-dispatcher`: woken by new deliveries on the table's stream and by a
//! schedule; sends merchants' due webhook deliveries.

use porchlight_aws::handlers;
use porchlight_aws::run_events;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    run_events(|runtime, event: serde_json::Value| async move { handlers::dispatch_webhooks(&runtime, event).await })
        .await
}
