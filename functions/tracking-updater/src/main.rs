//! Lambda `tracking-updater`: the `carrier-updates` SQS consumer (partial batch responses).

use lambda_runtime::{Error, LambdaEvent, service_fn};
use porchlight_aws::{Config, Runtime, handlers};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let runtime = Runtime::connect(&config).await?;
    let runtime = &runtime;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<aws_lambda_events::sqs::SqsEvent>| async move {
        Ok::<_, Error>(handlers::update_trackings(runtime, event.payload).await)
    }))
    .await
}
