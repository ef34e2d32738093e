//! Lambda `carrier-poller`: run by an EventBridge schedule; polls the shipments that are due.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use porchlight_aws::{Config, Runtime, handlers};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let runtime = Runtime::connect(&config).await?;
    let runtime = &runtime;
    lambda_runtime::run(service_fn(move |_: LambdaEvent<EventBridgeEvent<serde_json::Value>>| async move {
        handlers::poll_carriers(runtime).await.map_err(Error::from)
    }))
    .await
}
