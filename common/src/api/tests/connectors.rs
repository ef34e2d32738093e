//! Storefront connectors through the router: connections, signed webhooks, replays, order of
//! changes, deletions, WooCommerce's ping.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::Harness;
use crate::app;
use crate::carriers::sign_base64;
use crate::domain::{Order, TenantId};
use crate::ports::ListQuery;

const SHOPIFY_ORDER: &[u8] = include_bytes!("../../storefronts/fixtures/shopify/order.json");
const SHOPIFY_FULFILLMENT: &[u8] = include_bytes!("../../storefronts/fixtures/shopify/fulfillment.json");
const WOO_ORDER: &[u8] = include_bytes!("../../storefronts/fixtures/woocommerce/order.json");
const SHOPIFY_SECRET: &str = "shpss_5f0c2b7d9e8a4c1b";
const WOO_SECRET: &str = "wc-webhook-secret-7d41";

impl Harness {
    async fn post_webhook(&self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (StatusCode, Value) {
        let mut request = Request::builder().method(Method::POST).uri(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = self
            .router
            .clone()
            .oneshot(request.body(Body::from(body.to_vec())).expect("request"))
            .await
            .expect("answer");
        let status = response.status();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn shopify(&self, path: &str, topic: &str, webhook_id: &str, body: &[u8]) -> StatusCode {
        let signature = sign_base64(SHOPIFY_SECRET, body);
        let headers = [
            ("x-shopify-topic", topic),
            ("x-shopify-hmac-sha256", signature.as_str()),
            ("x-shopify-webhook-id", webhook_id),
            ("x-shopify-triggered-at", "2026-11-21T14:30:01Z"),
        ];
        let (status, answer) = self.post_webhook(path, &headers, body).await;
        assert!(status != StatusCode::INTERNAL_SERVER_ERROR, "{answer}");
        status
    }

    async fn drain(&self) {
        while app::process_carrier_updates(&self.deps, 50).await.expect("processed").handled > 0 {}
        let dead = self.deps.queue.dead_letters(crate::ports::QueueName::CarrierUpdates, 0, 10).await.expect("read");
        assert!(dead.is_empty(), "nothing quarantined: {:?}", dead.first().map(|d| &d.reason));
    }

    async fn tenant(&self) -> TenantId {
        app::authenticate(&self.deps, Some(&self.key)).await.expect("a tenant")
    }
}

fn with(body: &[u8], change: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut value: Value = serde_json::from_slice(body).expect("json");
    change(&mut value);
    serde_json::to_vec(&value).expect("json")
}

#[tokio::test]
async fn a_shopify_store_brings_orders_and_trackings_once_in_order() {
    let h = Harness::new().await;
    let (status, created) = h
        .call(
            Method::POST,
            "/porchlight/v1/connectors",
            Some(json!({"platform": "shopify", "shop_domain": "Acme-Outdoor.myshopify.com",
                "client_secret": SHOPIFY_SECRET, "access_token": "shpat_0123456789abcdef0123"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let connector = &created["data"]["connector"];
    assert_eq!(connector["shop_domain"], "acme-outdoor.myshopify.com");
    assert_eq!(connector["client_secret"], "****4c1b", "masked");
    assert_eq!(connector["access_token"], "****0123", "masked");
    let path = connector["webhook_path"].as_str().expect("a path").to_owned();
    let id = connector["id"].as_str().expect("an id").to_owned();
    assert_eq!(path, format!("/connectors/shopify/{id}"));
    let (status, _) =
        h.call_as(Some(&h.other_key().await), Method::GET, &format!("/porchlight/v1/connectors/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another merchant's connector");

    // A bad signature: 401, nothing queued.
    let headers =
        [("x-shopify-topic", "orders/create"), ("x-shopify-hmac-sha256", "bm9wZQ=="), ("x-shopify-webhook-id", "w-0")];
    let (status, answer) = h.post_webhook(&path, &headers, SHOPIFY_ORDER).await;
    assert_eq!((status, answer["meta"]["code"].as_u64()), (StatusCode::UNAUTHORIZED, Some(401)), "{answer}");
    assert_eq!(h.deps.queue.depth(crate::ports::QueueName::CarrierUpdates).await.expect("depth"), 0);
    let unknown = format!("/connectors/shopify/con_{}", "0".repeat(32));
    assert_eq!(h.shopify(&unknown, "orders/create", "w-0", SHOPIFY_ORDER).await, StatusCode::NOT_FOUND);
    assert_eq!(
        h.shopify(&path.replace("shopify", "woocommerce"), "orders/create", "w-0", SHOPIFY_ORDER).await,
        StatusCode::NOT_FOUND
    );

    // The order, with its lines, buyer, destination and the fulfilment's tracking.
    assert_eq!(h.shopify(&path, "orders/create", "w-1", SHOPIFY_ORDER).await, StatusCode::OK);
    h.drain().await;
    let tenant = h.tenant().await;
    let order =
        h.deps.orders.order(&tenant, &Order::id_of(&tenant, "5801234567890")).await.expect("read").expect("stored");
    assert_eq!(order.order_number.as_deref(), Some("#1001"));
    assert_eq!(order.items.len(), 2);
    assert_eq!(order.customer.email.as_deref(), Some("ada@example.com"));
    assert_eq!(order.store.as_ref().map(|s| s.external_id.as_str()), Some("acme-outdoor.myshopify.com"));
    let (status, listed) = h.call(Method::GET, "/tracking/2026-07/trackings?order_id=5801234567890", None).await;
    assert_eq!(status, StatusCode::OK);
    let trackings = listed["data"]["trackings"].as_array().expect("trackings");
    assert_eq!(trackings.len(), 1, "{listed}");
    let tracking = &trackings[0];
    assert_eq!(
        (tracking["slug"].as_str(), tracking["tracking_number"].as_str()),
        (Some("ups"), Some("1Z999AA10123456784"))
    );
    assert_eq!(tracking["order_number"], "#1001");
    assert_eq!(tracking["destination_country_region"], "USA");
    assert_eq!(tracking["destination_postal_code"], "94105");
    assert_eq!(tracking["customers"][0]["role"], "buyer");
    assert_eq!(tracking["customers"][0]["email"], "ada@example.com");
    assert_eq!(tracking["customers"][0]["name"], "Ada Lovelace");

    // A replay of the same delivery changes nothing (the order was changed in between).
    let version_before = h
        .deps
        .shipments
        .get(&tenant, &crate::domain::ShipmentId::parse(tracking["id"].as_str().expect("as given")).expect("as given"))
        .await
        .expect("as given")
        .expect("as given")
        .version;
    let replayed = with(SHOPIFY_ORDER, |o| o["line_items"][0]["quantity"] = json!(9));
    assert_eq!(h.shopify(&path, "orders/create", "w-1", &replayed).await, StatusCode::OK);
    h.drain().await;
    let order = h.deps.orders.order(&tenant, &order.id).await.expect("read").expect("stored");
    assert_eq!(order.items[0].quantity, 2, "the replay was not applied");

    // A newer update applies; an older one arriving after it does not.
    let newer = with(SHOPIFY_ORDER, |o| {
        o["updated_at"] = json!("2026-11-22T08:00:00-05:00");
        o["line_items"][0]["quantity"] = json!(3);
    });
    let older = with(SHOPIFY_ORDER, |o| {
        o["updated_at"] = json!("2026-11-21T12:00:00-05:00");
        o["line_items"][0]["quantity"] = json!(5);
    });
    assert_eq!(h.shopify(&path, "orders/updated", "w-2", &newer).await, StatusCode::OK);
    h.drain().await;
    assert_eq!(h.shopify(&path, "orders/updated", "w-3", &older).await, StatusCode::OK);
    h.drain().await;
    let order = h.deps.orders.order(&tenant, &order.id).await.expect("read").expect("stored");
    assert_eq!(order.items[0].quantity, 3, "the older update did not win");
    let query = ListQuery { limit: 100, ..ListQuery::default() };
    let all = h.deps.shipments.list(&tenant, &query).await.expect("listed");
    assert_eq!(all.shipments.len(), 1, "no tracking was doubled");
    assert_eq!(all.shipments[0].version, version_before, "the tracking was not rewritten");

    // A fulfilment on its own: the carrier by Shopify's name, the order by the fulfilment's name.
    assert_eq!(h.shopify(&path, "fulfillments/create", "w-4", SHOPIFY_FULFILLMENT).await, StatusCode::OK);
    h.drain().await;
    let (_, listed) = h.call(Method::GET, "/tracking/2026-07/trackings?order_id=5801234567899", None).await;
    let tracking = &listed["data"]["trackings"][0];
    assert_eq!(
        (tracking["slug"].as_str(), tracking["order_number"].as_str()),
        (Some("ups"), Some("#1002")),
        "{listed}"
    );
    assert_eq!(tracking["customers"][0]["email"], "grace@example.com");
    assert_eq!(tracking["destination_state"], "VA");
    let made = h.deps.orders.order(&tenant, &Order::id_of(&tenant, "5801234567899")).await.expect("read");
    let made = made.expect("the fulfilment made its order");
    assert_eq!((made.order_number.as_deref(), made.items.len()), (Some("#1002"), 1));
    assert_eq!(made.items[0].unit_price.currency, "USD");

    // The order deleted: gone, and an update retried after the deletion does not bring it back.
    assert_eq!(h.shopify(&path, "orders/delete", "w-5", br#"{"id": 5801234567890}"#).await, StatusCode::OK);
    h.drain().await;
    assert!(h.deps.orders.order(&tenant, &order.id).await.expect("read").is_none(), "deleted");
    let later = with(SHOPIFY_ORDER, |o| o["updated_at"] = json!("2026-11-23T08:00:00-05:00"));
    assert_eq!(h.shopify(&path, "orders/updated", "w-6", &later).await, StatusCode::OK);
    h.drain().await;
    assert!(h.deps.orders.order(&tenant, &order.id).await.expect("read").is_none(), "stays deleted");

    let (status, read) = h.call(Method::GET, &format!("/porchlight/v1/connectors/{id}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(read["data"]["connector"]["last_webhook_at"].is_string(), "{read}");
    let (status, _) = h.call(Method::DELETE, &format!("/porchlight/v1/connectors/{id}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h.shopify(&path, "orders/create", "w-7", SHOPIFY_ORDER).await, StatusCode::NOT_FOUND, "disconnected");
}

#[tokio::test]
async fn a_woocommerce_store_pings_and_brings_shipment_tracking_items() {
    let h = Harness::new().await;
    let (status, created) = h
        .call(
            Method::POST,
            "/porchlight/v1/connectors",
            Some(json!({"platform": "woocommerce", "site_url": "https://shop.example.co.uk/",
                "webhook_secret": WOO_SECRET, "consumer_key": "ck_0123456789abcdef0123456789abcdef01234567",
                "consumer_secret": "cs_0123456789abcdef0123456789abcdef01234567"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let connector = &created["data"]["connector"];
    assert_eq!(connector["site_url"], "https://shop.example.co.uk");
    assert_eq!(connector["consumer_secret"], "****4567");
    let path = connector["webhook_path"].as_str().expect("a path").to_owned();

    let ping = [("content-type", "application/x-www-form-urlencoded")];
    let (status, answer) = h.post_webhook(&path, &ping, b"webhook_id=17").await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        h.deps.queue.depth(crate::ports::QueueName::CarrierUpdates).await.expect("depth"),
        0,
        "a ping stores nothing"
    );

    let bad = [("x-wc-webhook-topic", "order.updated"), ("x-wc-webhook-signature", "bm9wZQ==")];
    assert_eq!(h.post_webhook(&path, &bad, WOO_ORDER).await.0, StatusCode::UNAUTHORIZED);
    let signature = sign_base64(WOO_SECRET, WOO_ORDER);
    let good = [
        ("x-wc-webhook-topic", "order.updated"),
        ("x-wc-webhook-signature", signature.as_str()),
        ("x-wc-webhook-delivery-id", "d-1"),
    ];
    for _ in 0..2 {
        let (status, answer) = h.post_webhook(&path, &good, WOO_ORDER).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    h.drain().await;
    let tenant = h.tenant().await;
    let order = h.deps.orders.order(&tenant, &Order::id_of(&tenant, "727")).await.expect("read").expect("stored");
    assert_eq!((order.items[0].unit_price.amount.as_str(), order.currency.as_deref()), ("19.99", Some("GBP")));
    let (_, listed) = h.call(Method::GET, "/tracking/2026-07/trackings?order_id=727", None).await;
    let trackings = listed["data"]["trackings"].as_array().expect("trackings");
    assert_eq!(trackings.len(), 1, "{listed}");
    assert_eq!(
        (trackings[0]["slug"].as_str(), trackings[0]["tracking_number"].as_str()),
        (Some("royal-mail"), Some("RR123456785GB"))
    );
    assert_eq!(trackings[0]["customers"][0]["email"], "mary@example.com");
    assert_eq!(trackings[0]["destination_country_region"], "GBR");

    for (body, field) in [
        (json!({"platform": "magento"}), "platform"),
        (
            json!({"platform": "shopify", "shop_domain": "example.com", "client_secret": "x", "access_token": "y"}),
            "shop_domain",
        ),
        (
            json!({"platform": "woocommerce", "site_url": "http://10.0.0.1", "webhook_secret": "x", "consumer_key": "y", "consumer_secret": "z"}),
            "site_url",
        ),
        (json!({"platform": "shopify", "shop_domain": "a.myshopify.com", "client_secret": "x"}), "access_token"),
        (
            json!({"platform": "shopify", "shop_domain": "a.myshopify.com", "client_secret": "x", "access_token": "y", "password": "z"}),
            "password",
        ),
    ] {
        let (status, refused) = h.call(Method::POST, "/porchlight/v1/connectors", Some(body)).await;
        let message = refused["meta"]["message"].as_str().unwrap_or_default();
        assert!(status.is_client_error() && message.contains(field), "{field}: {status} {refused}");
    }
}

/// A Shopify Admin API standing in for a shop: two pages of orders, the first answer
/// throttled; what it was asked is kept.
async fn shopify_admin(asked: std::sync::Arc<std::sync::Mutex<Vec<Value>>>) -> String {
    use axum::routing::post;
    let first = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let routes = axum::Router::new().route(
        "/admin/api/2025-10/graphql.json",
        post(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let (asked, first) = (asked.clone(), first.clone());
            async move {
                assert_eq!(headers["x-shopify-access-token"], "shpat_0123456789abcdef0123");
                let request: Value = serde_json::from_slice(&body).expect("json");
                if first.swap(false, std::sync::atomic::Ordering::SeqCst) {
                    return axum::Json(
                        json!({"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                        "extensions": {"cost": {"requestedQueryCost": 252, "throttleStatus":
                            {"maximumAvailable": 2000.0, "currentlyAvailable": 250, "restoreRate": 100.0}}}}),
                    );
                }
                asked.lock().expect("lock").push(request.clone());
                let mut page: Value =
                    serde_json::from_slice(include_bytes!("../../storefronts/fixtures/shopify/graphql-orders.json"))
                        .expect("json");
                if request["variables"]["after"].is_string() {
                    // The second page: another order, and no more.
                    let orders = &mut page["data"]["orders"];
                    orders["pageInfo"] = json!({"hasNextPage": false, "endCursor": "end"});
                    orders["nodes"][0]["legacyResourceId"] = json!("5801234567892");
                    orders["nodes"][0]["name"] = json!("#1004");
                    orders["nodes"][0]["fulfillments"][0]["trackingInfo"][0]["number"] = json!("1Z999AA10123456784");
                }
                axum::Json(page)
            }
        }),
    );
    crate::carriers::mock::serve(routes).await
}

#[tokio::test]
async fn a_shopify_backfill_pages_through_the_admin_api_behind_the_queue() {
    let mut h = Harness::new().await;
    h.allow_private_webhooks();
    let asked = std::sync::Arc::default();
    let shop = shopify_admin(std::sync::Arc::clone(&asked)).await;
    let (status, created) = h
        .call(
            Method::POST,
            "/porchlight/v1/connectors",
            Some(json!({"platform": "shopify", "shop_domain": shop, "client_secret": SHOPIFY_SECRET,
                "access_token": "shpat_0123456789abcdef0123"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["data"]["connector"]["id"].as_str().expect("an id").to_owned();
    let path = format!("/porchlight/v1/connectors/{id}/backfills");
    let (status, refused) = h.call(Method::POST, &path, Some(json!({"days": 400}))).await;
    assert!(status.is_client_error() && refused["meta"]["message"].as_str().unwrap_or_default().contains("days"));
    let (status, started) = h.call(Method::POST, &path, Some(json!({"days": 30}))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    assert_eq!(started["data"]["connector"]["backfill"]["state"], "running");

    // The consumer takes the steps: the throttled one is retried, then two pages.
    for _ in 0..20 {
        app::process_carrier_updates(&h.deps, 10).await.expect("processed");
        h.clock.advance(chrono::Duration::seconds(30));
        let (_, read) = h.call(Method::GET, &format!("/porchlight/v1/connectors/{id}"), None).await;
        if read["data"]["connector"]["backfill"]["state"] != "running" {
            break;
        }
    }
    let (_, read) = h.call(Method::GET, &format!("/porchlight/v1/connectors/{id}"), None).await;
    let backfill = &read["data"]["connector"]["backfill"];
    assert_eq!(backfill["state"], "done", "{read}");
    assert_eq!(
        (backfill["pages"].as_u64(), backfill["orders"].as_u64(), backfill["trackings"].as_u64()),
        (Some(2), Some(2), Some(2))
    );
    let asked = asked.lock().expect("lock").clone();
    assert_eq!(asked.len(), 2, "each page asked once after the throttle");
    assert_eq!(
        asked[1]["variables"]["after"], "eyJsYXN0X2lkIjo1ODAxMjM0NTY3ODkxfQ==",
        "the second page from the first's cursor"
    );
    let since = (Harness::today() - chrono::Duration::days(30)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(asked[0]["variables"]["query"], format!("updated_at:>='{since}'"));
    let (_, listed) = h.call(Method::GET, "/tracking/2026-07/trackings?order_id=5801234567892", None).await;
    assert_eq!(listed["data"]["trackings"][0]["order_number"], "#1004", "{listed}");
    let tenant = h.tenant().await;
    let order = h.deps.orders.order(&tenant, &Order::id_of(&tenant, "5801234567891")).await.expect("read");
    assert_eq!(order.map(|o| o.items[0].unit_price.currency.clone()).as_deref(), Some("EUR"));
}

#[tokio::test]
async fn a_woocommerce_backfill_reads_rest_pages_and_a_refusal_fails_it() {
    use axum::extract::Query;
    use axum::routing::get;
    let mut h = Harness::new().await;
    h.allow_private_webhooks();
    let routes = axum::Router::new().route(
        "/wp-json/wc/v3/orders",
        get(|headers: axum::http::HeaderMap, Query(query): Query<std::collections::HashMap<String, String>>| async move {
            use axum::response::IntoResponse;
            if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Basic Y2tfZ29vZDpjc19nb29k") {
                return (StatusCode::UNAUTHORIZED, axum::Json(json!({"code": "woocommerce_rest_cannot_view"}))).into_response();
            }
            let page: u32 = query["page"].parse().expect("a page");
            let mut order: Value = serde_json::from_slice(WOO_ORDER).expect("json");
            order["id"] = json!(700 + page);
            order["number"] = json!(format!("{}", 700 + page));
            let number = if page == 1 { "RR123456785GB" } else { "RB123456785GB" };
            order["meta_data"][1]["value"][0]["tracking_number"] = json!(number);
            ([("x-wp-total", "2"), ("x-wp-totalpages", "2")], axum::Json(json!([order]))).into_response()
        }),
    );
    let site = crate::carriers::mock::serve(routes).await;
    let connect = |key: &str| {
        json!({"platform": "woocommerce", "site_url": site, "webhook_secret": WOO_SECRET,
            "consumer_key": format!("ck_{key}"), "consumer_secret": format!("cs_{key}")})
    };
    let (_, good) = h.call(Method::POST, "/porchlight/v1/connectors", Some(connect("good"))).await;
    let (_, bad) = h.call(Method::POST, "/porchlight/v1/connectors", Some(connect("bad"))).await;
    for connector in [&good, &bad] {
        let id = connector["data"]["connector"]["id"].as_str().expect("an id");
        let (status, _) = h.call(Method::POST, &format!("/porchlight/v1/connectors/{id}/backfills"), None).await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    for _ in 0..5 {
        app::process_carrier_updates(&h.deps, 10).await.expect("processed");
    }
    let h = &h;
    let read = |connector: &Value| {
        let id = connector["data"]["connector"]["id"].as_str().expect("an id").to_owned();
        async move { h.call(Method::GET, &format!("/porchlight/v1/connectors/{id}"), None).await.1 }
    };
    let good = read(&good).await;
    let backfill = &good["data"]["connector"]["backfill"];
    assert_eq!(
        (backfill["state"].as_str(), backfill["orders"].as_u64(), backfill["total"].as_u64()),
        (Some("done"), Some(2), Some(2)),
        "{good}"
    );
    let bad = read(&bad).await;
    let backfill = &bad["data"]["connector"]["backfill"];
    assert_eq!(backfill["state"], "failed");
    assert!(
        backfill["error"].as_str().unwrap_or_default().contains("refused the connector's credentials (401)"),
        "{bad}"
    );
    let (_, listed) = h.call(Method::GET, "/tracking/2026-07/trackings?order_id=702", None).await;
    assert_eq!(listed["data"]["trackings"][0]["tracking_number"], "RB123456785GB", "{listed}");
}
