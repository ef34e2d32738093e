//! Lambda `console`: the merchant console under `/console` (sign-in, shipments, the team),
//! the same router `porchlight serve` runs. It holds the key (one-time links are sealed
//! with it).

use lambda_http::Error;
use porchlight_aws::{Config, Runtime};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let runtime = Runtime::connect(&config).await;
    lambda_http::run(porchlight_aws::console_router(runtime.deps)).await
}
