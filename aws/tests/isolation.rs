//! The tenant isolation matrix (`porchlight::testkit::isolation`) on DynamoDB, against the moto
//! emulator, through the `api` function's router: merchant B's key on every merchant operation
//! with merchant A's ids answers 404 and changes nothing of A's.

use axum::http::{Method, StatusCode};
use porchlight::testkit::isolation::{Caller, RouterCaller, tenant_isolation_matrix};

#[path = "../examples/support/mod.rs"]
mod support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_merchants_key_reaches_nothing_of_a_merchants_on_dynamodb() {
    support::emulator().expect("AWS_ENDPOINT_URL must name a loopback moto server (scripts/test.sh starts one)");
    let (runtime, _) = support::runtime_with_bucket("porchlight-isolation", &[]).await;
    let api = RouterCaller(porchlight_aws::api_router(runtime.deps.clone()));
    let (status, document) = api.call("", Method::GET, "/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    tenant_isolation_matrix(&runtime.deps, &api, &document).await;
}
