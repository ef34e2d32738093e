//! Lambda `report-generator`: on an hourly EventBridge schedule, every merchant's weekly
//! report that has come due (built once, its link emailed once through the message ledger);
//! invoked with `{"tenant_id", "from", "to"}`, that merchant's report over those days.

use porchlight_aws::handlers;
use porchlight_aws::run_events;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    run_events(|runtime, event: serde_json::Value| async move { handlers::generate_reports(&runtime, event).await })
        .await
}
