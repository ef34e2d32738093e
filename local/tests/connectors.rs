//! Storefront connectors on a running `porchlight serve`: a Shopify fulfilment and a
//! WooCommerce order, signed as the platforms sign them, become orders and trackings; replays
//! and bad signatures change nothing.

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::{free_port, http, http_with, last_line, porchlight, start_server, temp_db};

const FULFILLMENT: &str = include_str!("../../common/src/storefronts/fixtures/shopify/fulfillment.json");
const WOO_ORDER: &str = include_str!("../../common/src/storefronts/fixtures/woocommerce/order.json");

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or(Value::Null)
}

/// The merchant's trackings of order `order_id`, once the workers have stored at least
/// `expected` of them (they run behind the queue).
fn trackings_of(port: u16, key: &str, order_id: &str, expected: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, body) = http(port, "GET", &format!("/tracking/2026-07/trackings?order_id={order_id}"), key, "");
        let trackings = json(&body)["data"]["trackings"].as_array().cloned().unwrap_or_default();
        if trackings.len() >= expected || Instant::now() > deadline {
            return trackings;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn connect(port: u16, key: &str, body: &str) -> String {
    let (status, answer) = http(port, "POST", "/porchlight/v1/connectors", key, body);
    assert_eq!(status, 201, "{answer}");
    json(&answer)["data"]["connector"]["webhook_path"].as_str().expect("a webhook path").to_owned()
}

#[test]
fn signed_storefront_webhooks_on_serve_make_orders_and_trackings_once() {
    let db = temp_db();
    let key = last_line(&porchlight(&db, &["tenants", "create", "Storefront shop"]));
    let port = free_port();
    let _server = start_server(&db, port, &[]);

    let secret = "shpss_serve_0123456789";
    let path = connect(
        port,
        &key,
        &format!(
            r#"{{"platform": "shopify", "shop_domain": "serve-shop.myshopify.com", "client_secret": "{secret}", "access_token": "shpat_serve_0123456789abcdef"}}"#
        ),
    );
    let signature = porchlight::carriers::sign_base64(secret, FULFILLMENT.as_bytes());
    let headers = [
        ("Content-Type", "application/json"),
        ("X-Shopify-Topic", "fulfillments/create"),
        ("X-Shopify-Hmac-Sha256", signature.as_str()),
        ("X-Shopify-Webhook-Id", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"),
        ("X-Shopify-Triggered-At", "2026-11-22T14:00:01.000000Z"),
    ];
    let forged = [headers[0], headers[1], ("X-Shopify-Hmac-Sha256", "bm9wZQ=="), headers[3]];
    let (status, answer) = http_with(port, &path, &forged, FULFILLMENT);
    assert_eq!(status, 401, "{answer}");

    let (status, answer) = http_with(port, &path, &headers, FULFILLMENT);
    assert_eq!(status, 200, "{answer}");
    let trackings = trackings_of(port, &key, "5801234567899", 1);
    assert_eq!(trackings.len(), 1, "the fulfilment's tracking");
    let tracking = &trackings[0];
    assert_eq!(
        (tracking["slug"].as_str(), tracking["tracking_number"].as_str()),
        (Some("ups"), Some("1Z204W4R0308071865"))
    );
    assert_eq!(tracking["order_number"], "#1002");
    assert_eq!(tracking["customers"][0]["email"], "grace@example.com");
    let (status, orders) = http(port, "GET", "/porchlight/v1/orders", &key, "");
    assert_eq!(status, 200);
    let orders = json(&orders)["data"]["orders"].as_array().cloned().unwrap_or_default();
    assert_eq!(orders.len(), 1, "the order");
    assert_eq!(orders[0]["external_id"], "5801234567899");

    // The replay (a retry of the same delivery) is accepted and changes nothing.
    let (status, _) = http_with(port, &path, &headers, FULFILLMENT);
    assert_eq!(status, 200);
    std::thread::sleep(Duration::from_millis(1500));
    let again = trackings_of(port, &key, "5801234567899", 1);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0]["updated_at"], tracking["updated_at"], "not rewritten");

    // WooCommerce: its ping, then a signed order with a Shipment Tracking item.
    let woo_secret = "wc-serve-secret";
    let woo = connect(
        port,
        &key,
        &format!(
            r#"{{"platform": "woocommerce", "site_url": "https://shop.example.org", "webhook_secret": "{woo_secret}", "consumer_key": "ck_serve", "consumer_secret": "cs_serve"}}"#
        ),
    );
    let (status, _) = http_with(port, &woo, &[("Content-Type", "application/x-www-form-urlencoded")], "webhook_id=9");
    assert_eq!(status, 200, "the ping");
    let signature = porchlight::carriers::sign_base64(woo_secret, WOO_ORDER.as_bytes());
    let (status, _) = http_with(
        port,
        &woo,
        &[("X-WC-Webhook-Topic", "order.created"), ("X-WC-Webhook-Signature", "bm9wZQ==")],
        WOO_ORDER,
    );
    assert_eq!(status, 401);
    let headers = [
        ("Content-Type", "application/json"),
        ("X-WC-Webhook-Topic", "order.created"),
        ("X-WC-Webhook-Signature", signature.as_str()),
        ("X-WC-Webhook-Delivery-ID", "5d8b6f0a"),
    ];
    let (status, answer) = http_with(port, &woo, &headers, WOO_ORDER);
    assert_eq!(status, 200, "{answer}");
    let trackings = trackings_of(port, &key, "727", 1);
    assert_eq!(trackings.len(), 1);
    assert_eq!(
        (trackings[0]["slug"].as_str(), trackings[0]["tracking_number"].as_str()),
        (Some("royal-mail"), Some("RR123456785GB"))
    );
}

/// A WooCommerce REST API on loopback answering every request with one order per page, two
/// pages in all.
fn woocommerce_site() -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let address = listener.local_addr().expect("bound");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().expect("a stream"));
            let mut request_line = String::new();
            reader.read_line(&mut request_line).expect("a request");
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let page = if request_line.contains("page=2") { 2 } else { 1 };
            let mut order: Value = serde_json::from_str(WOO_ORDER).expect("json");
            order["id"] = (800 + page).into();
            let number = if page == 1 { "RR123456785GB" } else { "RB123456785GB" };
            order["meta_data"][1]["value"][0]["tracking_number"] = number.into();
            let body = serde_json::json!([order]).to_string();
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-WP-Total: 2\r\nX-WP-TotalPages: 2\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let mut stream = stream;
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    format!("http://{address}")
}

#[test]
fn a_backfill_from_the_command_line_reads_every_page() {
    let db = temp_db();
    let created = json(&support::stdout(&porchlight(&db, &["tenants", "create", "Backfill shop", "--json"])));
    let (tenant, key) = (created["tenant_id"].as_str().map(str::to_owned), created["api_key"].as_str().expect("a key"));
    let port = free_port();
    let server = start_server(&db, port, &["--allow-private-webhooks"]);
    let site = woocommerce_site();
    let (status, answer) = http(
        port,
        "POST",
        "/porchlight/v1/connectors",
        key,
        &format!(
            r#"{{"platform": "woocommerce", "site_url": "{site}", "webhook_secret": "s", "consumer_key": "ck", "consumer_secret": "cs"}}"#
        ),
    );
    assert_eq!(status, 201, "{answer}");
    drop(server);
    let id = json(&answer)["data"]["connector"]["id"].as_str().expect("an id").to_owned();
    let tenant = tenant.expect("the tenant's id");

    let refused = porchlight(&db, &["connectors", "backfill", &id, "--tenant", &tenant]);
    assert!(!refused.status.success(), "a loopback site without the operator's leave");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_porchlight"))
        .arg("--db")
        .arg(&db)
        .args(["connectors", "backfill", &id, "--tenant", &tenant, "--days", "60"])
        .env("PORCHLIGHT_ALLOW_PRIVATE_WEBHOOKS", "true")
        .output()
        .expect("runs");
    let stdout = support::stdout(&output);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    let backfill = json(&stdout);
    assert_eq!(
        (backfill["state"].as_str(), backfill["orders"].as_u64(), backfill["trackings"].as_u64()),
        (Some("done"), Some(2), Some(2)),
        "{stdout}"
    );
    let listed = support::stdout(&porchlight(&db, &["connectors", "list", "--tenant", &tenant]));
    assert!(listed.contains("\"state\":\"done\"") && listed.contains("****"), "{listed}");
}
