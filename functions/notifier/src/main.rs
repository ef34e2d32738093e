//! Lambda `notifier`: fed by the `status-changes` queue and by a schedule; plans each status
//! change's notifications and sends those due.

use porchlight_aws::handlers::{self, NotifierEvent};
use porchlight_aws::run_events;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    run_events(|runtime, event: NotifierEvent| async move { handlers::notify(&runtime, event).await }).await
}
