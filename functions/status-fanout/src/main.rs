//! Lambda `status-fanout`: the table's stream consumer (partial batch responses).

use lambda_runtime::{Error, LambdaEvent, service_fn};
use porchlight_aws::{Config, Runtime, handlers};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let runtime = Runtime::connect(&config).await?;
    let runtime = &runtime;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<aws_lambda_events::dynamodb::Event>| async move {
        Ok::<_, Error>(handlers::fan_out_status(runtime, event.payload).await)
    }))
    .await
}
