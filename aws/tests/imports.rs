//! History imports on the AWS adapters, against the moto emulator: `POST
//! /porchlight/v1/imports` through the `api` function's router keeps the file in S3 and the job
//! in DynamoDB; the `history-importer` handler carries the job on; the trackings are stored as
//! history, each line once however often the file is imported.

use porchlight::ports::ListQuery;
use porchlight_aws::handlers;
use serde_json::{Value, json};

#[path = "../examples/support/mod.rs"]
mod support;

/// Twenty generated shipments as the JSON lines `GET /trackings` pages give, and a bad line.
fn history() -> String {
    let mut file = support::generated_history(20, 10, 3);
    file.push_str("{\"tracking_number\": \"1Z999AA10123456784\", \"slug\": \"no-such-courier\"}\n");
    file
}

fn import_request(body: &str) -> Value {
    let mut event = support::api_event("POST", "/porchlight/v1/imports", None);
    event["headers"]["content-type"] = "application/x-ndjson".into();
    event["body"] = body.into();
    event
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_through_the_api_is_carried_on_by_the_history_importer() {
    support::emulator().expect("AWS_ENDPOINT_URL must name a loopback moto server (scripts/test.sh starts one)");
    let (runtime, _config) = support::runtime_with_bucket("porchlight-imports", &[]).await;
    let sample = support::sample("api.json").expect("sample");
    let tenant = support::add_merchant(&runtime, &sample).await.expect("merchant");
    let api = || porchlight_aws::api_router(runtime.deps.clone());

    let (status, started) = support::call(api(), &import_request(&history())).await;
    assert_eq!(status, 202, "{started}");
    let id = started["data"]["id"].as_str().expect("a job id").to_owned();
    assert_eq!(started["data"]["state"], "running");

    // The scheduled run carries it on; a second run finds nothing to do.
    let scheduled = support::sample("history-importer.json").expect("sample");
    handlers::run_imports(&runtime, scheduled.clone()).await.expect("ran");
    handlers::run_imports(&runtime, scheduled).await.expect("ran again");
    let (status, job) =
        support::call(api(), &support::api_event("GET", &format!("/porchlight/v1/imports/{id}"), None)).await;
    assert_eq!(status, 200, "{job}");
    let job = &job["data"];
    assert_eq!(
        (job["state"].as_str(), job["imported"].as_u64(), job["failed"].as_u64()),
        (Some("done"), Some(20), Some(1))
    );
    assert_eq!((job["errors"][0]["line"].as_u64(), job["errors"][0]["field"].as_str()), (Some(21), Some("slug")));
    let stored = |deps: &porchlight::app::Deps| {
        let deps = deps.clone();
        let tenant = tenant.clone();
        async move {
            deps.shipments
                .list(&tenant, &ListQuery { limit: 200, ..ListQuery::default() })
                .await
                .expect("listed")
                .shipments
        }
    };
    let shipments = stored(&runtime.deps).await;
    assert_eq!(shipments.len(), 20);
    assert!(shipments.iter().all(|s| s.imported_version == Some(s.version)), "history, never news");
    let checkpoints: usize = shipments.iter().map(|s| s.checkpoints.len()).sum();

    // The same file again: nothing doubled.
    let (status, again) = support::call(api(), &import_request(&history())).await;
    assert_eq!(status, 202, "{again}");
    handlers::run_imports(&runtime, json!({})).await.expect("ran");
    let shipments = stored(&runtime.deps).await;
    assert_eq!(shipments.len(), 20);
    assert_eq!(shipments.iter().map(|s| s.checkpoints.len()).sum::<usize>(), checkpoints);
}
