//! Lambda `status-fanout`: the table's stream consumer (partial batch responses).

use aws_lambda_events::dynamodb::Event;
use porchlight_aws::{handlers, run_events};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    run_events(|runtime, event: Event| async move { Ok(handlers::fan_out_status(&runtime, event).await) }).await
}
