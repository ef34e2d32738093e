//! Lambda `page-forms`: the forms of the shopper's pages under `/t/{slug}` (parcel
//! subscriptions, unsubscribes, return requests with their photos), the same router
//! `porchlight serve` runs. It holds the key (unsubscribe links are sealed with it).

use lambda_http::Error;
use porchlight_aws::{Config, Runtime};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let runtime = Runtime::connect(&config).await;
    lambda_http::run(porchlight_aws::tracking_page_router(runtime.deps)).await
}
