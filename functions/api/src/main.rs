//! Lambda `api`: the merchant and admin API, the same axum router `porchlight serve` runs.

use lambda_http::Error;
use porchlight_aws::{Config, Runtime};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let runtime = Runtime::connect(&config).await;
    lambda_http::run(porchlight_aws::api_router(runtime.deps)).await
}
