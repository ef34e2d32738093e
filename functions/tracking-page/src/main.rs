//! Lambda `tracking-page`: the shopper's pages under `/t/{slug}`, the same router
//! `porchlight serve` runs, reading DynamoDB only.

use lambda_http::Error;
use porchlight_aws::{Config, Runtime};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = Config::without_secret_key(|name| std::env::var(name).ok())?;
    let runtime = Runtime::connect(&config).await;
    lambda_http::run(porchlight_aws::tracking_page_router(runtime.deps)).await
}
