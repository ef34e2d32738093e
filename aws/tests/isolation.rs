//! The tenant isolation matrix (`porchlight::testkit::isolation`) on DynamoDB, against the moto
//! emulator, through the `api` function's router: merchant B's key on every merchant operation
//! with merchant A's ids answers 404 and changes nothing of A's.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use porchlight::testkit::isolation::{Caller, tenant_isolation_matrix};
use serde_json::Value;
use tower::ServiceExt;

#[path = "../examples/support/mod.rs"]
mod support;

struct Api(axum::Router);

impl Caller for Api {
    fn call(
        &self,
        key: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> impl Future<Output = (StatusCode, Value)> + Send {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("as-api-key", key)
            .body(body.map_or(Body::empty(), |b| Body::from(b.to_string())))
            .expect("request");
        let router = self.0.clone();
        async move {
            let response = router.oneshot(request).await.expect("infallible");
            let status = response.status();
            let bytes = response.into_body().collect().await.expect("body").to_bytes();
            (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_merchants_key_reaches_nothing_of_a_merchants_on_dynamodb() {
    support::emulator().expect("AWS_ENDPOINT_URL must name a loopback moto server (scripts/test.sh starts one)");
    let (runtime, _) = support::runtime_with_bucket("porchlight-isolation", &[]).await;
    let api = Api(porchlight_aws::api_router(runtime.deps.clone()));
    let (status, document) = api.call("", Method::GET, "/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    tenant_isolation_matrix(&runtime.deps, &api, &document).await;
}
