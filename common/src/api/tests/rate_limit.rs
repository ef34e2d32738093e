//! Per-key rate limits with AfterShip's behaviour: every answer carries the limit's headers;
//! beyond it a 429 with meta code 429 (42900 in the Returns API's shape), keys counted apart,
//! a new second a new window; no limit and no headers when none is set.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

use super::Harness;
use crate::api::rate_limit::KeyLimiter;

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
    h.deps.rate_limiter = Some(std::sync::Arc::new(KeyLimiter::new(2)));
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
