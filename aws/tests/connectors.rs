//! Storefront connectors on the AWS adapters, against the moto emulator: the connector made
//! through the `api` function's router, a signed Shopify webhook through `webhook-intake`
//! (queued on SQS before the 200), stored by `tracking-updater` in DynamoDB; a replay, a bad
//! signature and WooCommerce's ping change nothing.

use porchlight::domain::{Order, TenantId};
use porchlight::ports::{ListQuery, QueueName, WorkQueue};
use porchlight_aws::{Runtime, handlers};
use serde_json::{Value, json};

#[path = "../examples/support/mod.rs"]
mod support;

const FULFILLMENT: &str = include_str!("../../common/src/storefronts/fixtures/shopify/fulfillment.json");
const ORDER: &str = include_str!("../../common/src/storefronts/fixtures/shopify/order.json");
const SECRET: &str = "shpss_moto_0123456789";

/// The sample intake event, posted to `path` with `headers` and `body`.
fn webhook(path: &str, headers: &[(&str, String)], body: &str) -> Value {
    let mut event = support::sample("webhook-intake.json").expect("sample");
    event["rawPath"] = path.into();
    event["requestContext"]["http"]["path"] = path.into();
    event["routeKey"] = "POST /connectors/{platform}/{connector_id}".into();
    event["requestContext"]["routeKey"] = event["routeKey"].clone();
    event["pathParameters"] = json!({});
    event["headers"] = json!({"content-type": "application/json"});
    for (name, value) in headers {
        event["headers"][*name] = value.clone().into();
    }
    event["body"] = body.into();
    event
}

fn shopify(path: &str, topic: &str, id: &str, body: &str) -> Value {
    let signature = porchlight::domain::sign_webhook(SECRET, body.as_bytes());
    let headers = [
        ("x-shopify-topic", topic.to_owned()),
        ("x-shopify-hmac-sha256", signature),
        ("x-shopify-webhook-id", id.to_owned()),
    ];
    webhook(path, &headers, body)
}

/// What `webhook-intake` queued, handed to `tracking-updater` as the event source would.
async fn update(runtime: &Runtime) -> usize {
    let queued =
        runtime.queues.receive(QueueName::CarrierUpdates, 10, chrono::Duration::seconds(30)).await.expect("received");
    if queued.is_empty() {
        return 0;
    }
    let response = handlers::update_trackings(runtime, support::sqs_event(&queued)).await;
    assert!(response.batch_item_failures.is_empty(), "{:?}", response.batch_item_failures);
    for message in &queued {
        runtime.queues.ack(QueueName::CarrierUpdates, message.id).await.expect("deleted, as the event source does");
    }
    let dead = runtime.queues.dead_letters(QueueName::CarrierUpdates, 0, 10).await.expect("read");
    assert!(dead.is_empty(), "{:?}", dead.first().map(|d| &d.reason));
    queued.len()
}

async fn trackings(runtime: &Runtime, tenant: &TenantId) -> Vec<porchlight::domain::Shipment> {
    let query = ListQuery { limit: 100, ..ListQuery::default() };
    runtime.deps.shipments.list(tenant, &query).await.expect("listed").shipments
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_shopify_webhook_goes_through_webhook_intake_and_tracking_updater() {
    support::emulator().expect("AWS_ENDPOINT_URL must name a loopback moto server (scripts/test.sh starts one)");
    let (runtime, _config) = support::runtime_with_bucket("porchlight-connectors", &[]).await;
    let sample = support::sample("api.json").expect("sample");
    let tenant = support::add_merchant(&runtime, &sample).await.expect("merchant");
    let api = || porchlight_aws::api_router(runtime.deps.clone());
    let intake = || porchlight_aws::webhook_intake_router(runtime.deps.clone());

    let body = json!({"platform": "shopify", "shop_domain": "moto-shop.myshopify.com",
        "client_secret": SECRET, "access_token": "shpat_moto_0123456789abcdef"});
    let (status, created) =
        support::call(api(), &support::api_event("POST", "/porchlight/v1/connectors", Some(&body))).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["data"]["connector"]["client_secret"], "****6789");
    let path = created["data"]["connector"]["webhook_path"].as_str().expect("a path").to_owned();

    // A bad signature: 401, nothing queued.
    let mut forged = shopify(&path, "fulfillments/create", "w-1", FULFILLMENT);
    forged["headers"]["x-shopify-hmac-sha256"] = "bm9wZQ==".into();
    assert_eq!(support::call(intake(), &forged).await.0, 401);
    assert_eq!(runtime.deps.queue.depth(QueueName::CarrierUpdates).await.expect("depth"), 0);

    // The fulfilment: queued before the 200, then a tracking with the order's fields.
    let (status, answer) = support::call(intake(), &shopify(&path, "fulfillments/create", "w-1", FULFILLMENT)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(update(&runtime).await, 1);
    let stored = trackings(&runtime, &tenant).await;
    assert_eq!(stored.len(), 1);
    let tracking = &stored[0];
    assert_eq!((tracking.slug.as_str(), tracking.tracking_number.as_str()), ("ups", "1Z204W4R0308071865"));
    assert_eq!(tracking.details.order_id.as_deref(), Some("5801234567899"));
    assert_eq!(tracking.details.order_number.as_deref(), Some("#1002"));
    assert_eq!(tracking.details.customers[0].email.as_deref(), Some("grace@example.com"));
    let made = runtime.deps.orders.order(&tenant, &Order::id_of(&tenant, "5801234567899")).await.expect("read");
    assert_eq!(made.map(|o| o.items.len()), Some(1), "the fulfilment made its order");

    // The same delivery again: nothing changes.
    let (status, _) = support::call(intake(), &shopify(&path, "fulfillments/create", "w-1", FULFILLMENT)).await;
    assert_eq!(status, 200);
    assert_eq!(update(&runtime).await, 1);
    let again = trackings(&runtime, &tenant).await;
    assert_eq!((again.len(), again[0].version), (1, tracking.version));

    // An order: its lines in DynamoDB, and its own tracking.
    let (status, _) = support::call(intake(), &shopify(&path, "orders/create", "w-2", ORDER)).await;
    assert_eq!(status, 200);
    update(&runtime).await;
    let order = runtime.deps.orders.order(&tenant, &Order::id_of(&tenant, "5801234567890")).await.expect("read");
    assert_eq!(order.map(|o| o.items.len()), Some(2));
    assert_eq!(trackings(&runtime, &tenant).await.len(), 2);
    let (status, _) =
        support::call(intake(), &shopify(&path, "orders/delete", "w-3", r#"{"id": 5801234567890}"#)).await;
    assert_eq!(status, 200);
    update(&runtime).await;
    let order = runtime.deps.orders.order(&tenant, &Order::id_of(&tenant, "5801234567890")).await.expect("read");
    assert!(order.is_none(), "deleted");

    // WooCommerce's ping through the same function: 200, nothing queued.
    let body = json!({"platform": "woocommerce", "site_url": "https://shop.example.org", "webhook_secret": "wc-secret",
        "consumer_key": "ck_moto", "consumer_secret": "cs_moto"});
    let (status, created) =
        support::call(api(), &support::api_event("POST", "/porchlight/v1/connectors", Some(&body))).await;
    assert_eq!(status, 201, "{created}");
    let woo = created["data"]["connector"]["webhook_path"].as_str().expect("a path").to_owned();
    let ping = webhook(&woo, &[("content-type", "application/x-www-form-urlencoded".into())], "webhook_id=3");
    assert_eq!(support::call(intake(), &ping).await.0, 200);
    assert_eq!(runtime.deps.queue.depth(QueueName::CarrierUpdates).await.expect("depth"), 0);
}

/// A WooCommerce REST API on loopback: one order per page, two pages.
async fn woocommerce_site() -> String {
    use axum::extract::Query;
    let routes = axum::Router::new().route(
        "/wp-json/wc/v3/orders",
        axum::routing::get(|Query(query): Query<std::collections::HashMap<String, String>>| async move {
            let page: u32 = query.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
            let mut order: Value =
                serde_json::from_str(include_str!("../../common/src/storefronts/fixtures/woocommerce/order.json"))
                    .expect("json");
            order["id"] = (900 + page).into();
            let number = if page == 1 { "RR123456785GB" } else { "RB123456785GB" };
            order["meta_data"][1]["value"][0]["tracking_number"] = number.into();
            ([("x-wp-total", "2"), ("x-wp-totalpages", "2")], axum::Json(json!([order])))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let address = listener.local_addr().expect("bound");
    tokio::spawn(async move {
        let _ = axum::serve(listener, routes).await;
    });
    format!("http://{address}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_runs_as_queued_steps_through_tracking_updater() {
    support::emulator().expect("AWS_ENDPOINT_URL must name a loopback moto server (scripts/test.sh starts one)");
    let (runtime, _config) =
        support::runtime_with_bucket("porchlight-backfill", &[("PORCHLIGHT_ALLOW_PRIVATE_WEBHOOKS", "true")]).await;
    let sample = support::sample("api.json").expect("sample");
    let tenant = support::add_merchant(&runtime, &sample).await.expect("merchant");
    let api = || porchlight_aws::api_router(runtime.deps.clone());
    let site = woocommerce_site().await;
    let body = json!({"platform": "woocommerce", "site_url": site, "webhook_secret": "wc-secret",
        "consumer_key": "ck_moto", "consumer_secret": "cs_moto"});
    let (status, created) =
        support::call(api(), &support::api_event("POST", "/porchlight/v1/connectors", Some(&body))).await;
    assert_eq!(status, 201, "{created}");
    let id = created["data"]["connector"]["id"].as_str().expect("an id").to_owned();
    let path = format!("/porchlight/v1/connectors/{id}/backfills");
    let (status, started) = support::call(api(), &support::api_event("POST", &path, Some(&json!({"days": 90})))).await;
    assert_eq!(status, 202, "{started}");

    // Each step reads a page and queues the next; the last one ends the backfill.
    let mut steps = 0;
    while update(&runtime).await > 0 {
        steps += 1;
        assert!(steps < 10, "the backfill ends");
    }
    assert_eq!(steps, 2, "a step per page");
    let (_, read) =
        support::call(api(), &support::api_event("GET", &format!("/porchlight/v1/connectors/{id}"), None)).await;
    let backfill = &read["data"]["connector"]["backfill"];
    assert_eq!(
        (backfill["state"].as_str(), backfill["orders"].as_u64(), backfill["total"].as_u64()),
        (Some("done"), Some(2), Some(2)),
        "{read}"
    );
    let stored = trackings(&runtime, &tenant).await;
    let mut numbers: Vec<&str> = stored.iter().map(|s| s.tracking_number.as_str()).collect();
    numbers.sort_unstable();
    assert_eq!(numbers, ["RB123456785GB", "RR123456785GB"]);
}
