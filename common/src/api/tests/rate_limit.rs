//! Per-key rate limits with AfterShip's behaviour: every answer carries the limit's headers;
//! beyond it a 429 with meta code 429 (42900 in the Returns API's shape), keys counted apart,
//! a new second a new window; no limit and no headers when none is set.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

use super::Harness;

/// One GET of `path` with `key`: the status, the rate limit headers, the body.
async fn get(h: &Harness, key: &str, path: &str) -> (StatusCode, [Option<String>; 4], serde_json::Value) {
    let request = Request::builder().method(Method::GET).uri(path).header("as-api-key", key).body(Body::empty());
    let response = h.router.clone().oneshot(request.expect("request")).await.expect("response");
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let headers = [
        header("as-ratelimit-limit"),
        header("as-ratelimit-remaining"),
        header("as-ratelimit-reset"),
        header("retry-after"),
    ];
    let status = response.status();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    (status, headers, serde_json::from_slice(&bytes).unwrap_or_default())
}

#[tokio::test]
async fn a_key_over_its_rate_gets_afterships_429_until_the_next_second() {
    let mut h = Harness::new().await;
    let (_, unlimited, _) = get(&h, &h.key, "/tracking/2026-07/trackings").await;
    assert_eq!(unlimited[0], None, "no limit, no headers, unless the operator sets one");
    h.deps.rate_limit = Some(2);
    h.router = crate::api::router(h.deps.clone());
    let reset = (Harness::today().timestamp() + 1).to_string();
    let (status, headers, _) = get(&h, &h.key, "/tracking/2026-07/trackings").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers, [Some("2".into()), Some("1".into()), Some(reset.clone()), None]);
    assert_eq!(get(&h, &h.key, "/tracking/2026-07/couriers").await.0, StatusCode::OK);
    let (status, headers, body) = get(&h, &h.key, "/tracking/2026-07/trackings").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(headers, [Some("2".into()), Some("0".into()), Some(reset), Some("1".into())]);
    assert_eq!((body["meta"]["code"].as_u64(), body["meta"]["type"].as_str()), (Some(429), Some("TooManyRequests")));
    let (status, _, returns) = get(&h, &h.key, "/returns/2026-07/returns").await;
    assert_eq!((status, returns["meta"]["code"].as_u64()), (StatusCode::TOO_MANY_REQUESTS, Some(42900)), "{returns}");

    let other = h.other_key().await;
    assert_eq!(get(&h, &other, "/tracking/2026-07/trackings").await.0, StatusCode::OK, "keys are counted apart");
    let (status, _, _) = get(&h, "plk_not_a_key", "/tracking/2026-07/trackings").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a bad key is refused before it is counted");
    h.clock.advance(chrono::Duration::seconds(1));
    let (status, headers, _) = get(&h, &h.key, "/tracking/2026-07/trackings").await;
    assert_eq!((status, headers[1].as_deref()), (StatusCode::OK, Some("1")), "a new second, a new window");
}

/// A PUT or GET of the admin API with the test's token: the status and the body.
async fn admin(h: &Harness, method: Method, path: &str, body: &str) -> (StatusCode, serde_json::Value) {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("x-porchlight-admin-token", "admin-token")
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()));
    let response = h.router.clone().oneshot(request.expect("request")).await.expect("response");
    let status = response.status();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or_default())
}

#[tokio::test]
async fn the_operator_limits_one_merchant_through_the_admin_api_and_lifts_it() {
    let mut h = Harness::new().await;
    h.deps.admin_token = Some(crate::settings::AdminToken::of("admin-token"));
    h.router = crate::api::router(h.deps.clone());
    let tenant = h.deps.tenants.list_tenants().await.expect("tenants")[0].id.clone();
    let path = format!("/admin/tenants/{tenant}/rate-limit");
    let (status, body) = admin(&h, Method::PUT, &path, r#"{"per_second": 1}"#).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["data"]["per_second"].as_u64(), body["data"]["default_per_second"].is_null()), (Some(1), true));
    assert_eq!(get(&h, &h.key, "/tracking/2026-07/trackings").await.0, StatusCode::OK);
    let (status, headers, _) = get(&h, &h.key, "/tracking/2026-07/trackings").await;
    assert_eq!(
        (status, headers[0].as_deref()),
        (StatusCode::TOO_MANY_REQUESTS, Some("1")),
        "its own limit, no default"
    );
    let other = h.other_key().await;
    let (status, headers, _) = get(&h, &other, "/tracking/2026-07/trackings").await;
    assert_eq!((status, headers[0].clone()), (StatusCode::OK, None), "other merchants are not limited");

    for (refused, why) in [(r#"{"per_second": 0}"#, "from 1"), (r#"{}"#, "per_second"), (r#"{"per": 2}"#, "per")] {
        let (status, body) = admin(&h, Method::PUT, &path, refused).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}: {body}");
        assert!(body["meta"]["message"].as_str().is_some_and(|m| m.contains(why)), "{refused}: {body}");
    }
    let missing =
        admin(&h, Method::PUT, "/admin/tenants/t_00000000000000000000000000000000/rate-limit", r#"{"per_second": 3}"#);
    assert_eq!(missing.await.0, StatusCode::NOT_FOUND);

    let (status, body) = admin(&h, Method::PUT, &path, r#"{"per_second": null}"#).await;
    assert_eq!((status, body["data"]["per_second"].is_null()), (StatusCode::OK, true));
    h.clock.advance(chrono::Duration::seconds(1));
    let (status, headers, _) = get(&h, &h.key, "/tracking/2026-07/trackings").await;
    assert_eq!((status, headers[0].clone()), (StatusCode::OK, None), "back to the default: none");
    let (_, read) = admin(&h, Method::GET, &path, "").await;
    assert!(read["data"]["per_second"].is_null(), "{read}");
}

#[tokio::test]
async fn webhook_senders_are_limited_per_address_before_their_body_is_read() {
    let mut h = Harness::new().await;
    h.deps.webhooks_per_minute = 2;
    h.router = crate::api::router(h.deps.clone());
    let post = |path: &'static str, from: &'static str| {
        let router = h.router.clone();
        async move {
            let mut request =
                Request::builder().method(Method::POST).uri(path).body(Body::from("{}")).expect("request");
            request.extensions_mut().insert(crate::web::ClientIp(from.parse().expect("ip")));
            let response = router.oneshot(request).await.expect("response");
            let retry = response.headers().get("retry-after").map(|v| v.to_str().expect("ascii").to_owned());
            let status = response.status();
            let bytes = response.into_body().collect().await.expect("body").to_bytes();
            (status, retry, serde_json::from_slice::<serde_json::Value>(&bytes).unwrap_or_default())
        }
    };
    let carrier = "/webhooks/carriers/ups";
    let store = "/connectors/shopify/con_0123456789abcdef0123456789abcdef";
    for path in [carrier, store] {
        let (status, _, _) = post(path, "192.0.2.10").await;
        assert_ne!(status, StatusCode::TOO_MANY_REQUESTS, "{path}: within the limit it is judged on its merits");
    }
    let (status, retry, body) = post(carrier, "192.0.2.10").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["meta"]["code"], 429, "{body}");
    assert_eq!(retry.as_deref(), Some("30"));
    assert_ne!(post(carrier, "192.0.2.11").await.0, StatusCode::TOO_MANY_REQUESTS, "other senders are unaffected");
    let api = get(&h, &h.key, "/tracking/2026-07/trackings").await.0;
    assert_eq!(api, StatusCode::OK, "the merchant API is limited by key, not by these");
}
