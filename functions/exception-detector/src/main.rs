//! Lambda `exception-detector`: on an EventBridge schedule, opens the exception cases that
//! only time passing brings (no update for N days, past the promised date) and expires the
//! approved returns whose items never shipped.

use porchlight_aws::handlers;
use porchlight_aws::run_events;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    run_events(|runtime, event: serde_json::Value| async move { handlers::detect_exceptions(&runtime, event).await })
        .await
}
