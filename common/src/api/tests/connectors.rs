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
        .get(&tenant, &crate::domain::ShipmentId::parse(tracking["id"].as_str().unwrap()).unwrap())
        .await
        .unwrap()
        .unwrap()
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
