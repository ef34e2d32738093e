//! Lambda `history-importer`: on a one-minute EventBridge schedule, carries every running
//! history import job on (`POST /porchlight/v1/imports` keeps the file in S3 and the job in the
//! table; this function reads the file and stores its trackings as history).

use porchlight_aws::handlers;
use porchlight_aws::run_events;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    run_events(|runtime, event: serde_json::Value| async move { handlers::run_imports(&runtime, event).await }).await
}
