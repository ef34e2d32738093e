//! Lambda `webhook-intake`: `POST /webhooks/carriers/{slug}`, authenticated per carrier and
//! stored on the `carrier-updates` queue before the answer; the same handler `porchlight serve`
//! runs.

use lambda_http::Error;
use porchlight_aws::{Config, Runtime};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let runtime = Runtime::connect(&config).await;
    lambda_http::run(porchlight_aws::webhook_intake_router(runtime.deps)).await
}
