//! Lambda `tracking-updater`: the `carrier-updates` SQS consumer (partial batch responses).

use aws_lambda_events::sqs::SqsEvent;
use porchlight_aws::{handlers, run_events};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    run_events(|runtime, event: SqsEvent| async move { Ok(handlers::update_trackings(&runtime, event).await) }).await
}
