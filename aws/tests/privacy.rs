//! Shoppers' data rights (`porchlight::testkit::privacy`) on DynamoDB, against the moto
//! emulator, through the `api` function's router: a shopper exported and erased, and the
//! personal-data retention of finished trackings.

use porchlight::testkit::isolation::RouterCaller;
use porchlight::testkit::privacy::{
    a_shoppers_data_is_exported_and_erased, personal_fields_of_finished_trackings_expire,
};

#[path = "../examples/support/mod.rs"]
mod support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shoppers_data_is_exported_and_erased_on_dynamodb() {
    support::emulator().expect("AWS_ENDPOINT_URL must name a loopback moto server (scripts/test.sh starts one)");
    let (runtime, _) = support::runtime_with_bucket("porchlight-privacy", &[]).await;
    let api = RouterCaller(porchlight_aws::api_router(runtime.deps.clone()));
    a_shoppers_data_is_exported_and_erased(&runtime.deps, &api).await;
    personal_fields_of_finished_trackings_expire(&runtime.deps).await;
}
