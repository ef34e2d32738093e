use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;

use super::*;
use crate::carriers::{mock, sign_base64};

const TRACK: &str = include_str!("../fixtures/fedex/track_response.json");
const PUSH: &str = include_str!("../fixtures/fedex/webhook_push.json");
const TOKEN: &str = include_str!("../fixtures/fedex/token.json");

fn credentials() -> Credentials {
    Credentials([("client_id".into(), "key".into()), ("client_secret".into(), "secret".into())].into())
}

fn targets(numbers: &[&str]) -> Vec<PollTarget> {
    numbers
        .iter()
        .map(|n| PollTarget {
            tracking_number: TrackingNumber::parse(n).expect("number"),
            since: Utc::now(),
            destination_postal_code: None,
            ship_date: None,
        })
        .collect()
}

#[test]
fn track_response_fixture_parses_and_skips_unknown_numbers() {
    let updates = parse_track_response(TRACK.as_bytes()).expect("parses");
    assert_eq!(updates.len(), 1, "the not-found number yields no update");
    let events = &updates[0].events;
    let codes: Vec<_> = events.iter().map(|e| e.subtag.code()).collect();
    assert_eq!(
        codes,
        [
            "Delivered_003",
            "OutForDelivery_001",
            "AttemptFail_002",
            "OutForDelivery_001",
            "InTransit_005",
            "InTransit_003",
            "InTransit_007",
            "InTransit_002",
            "InfoReceived_001"
        ]
    );
    assert_eq!(events[0].signed_by.as_deref(), Some("J.SMITH"));
    assert_eq!(events[0].country_region.map(|c| c.to_string()), Some("CAN".into()));
    assert_eq!(events[2].raw_tag.as_deref(), Some("DE/08"));
    assert_eq!(events[2].message, "Delivery exception: Customer not available or business closed");
    assert_eq!(events[6].checkpoint_time.as_str(), "2026-03-03T19:05:00-06:00");
    assert!(events.iter().all(|e| !e.unmapped));
    assert_eq!(map_event("QQ", "Scanned", ""), None, "a type no rule knows");
    assert_eq!(updates[0].scheduled_delivery, None, "the fixture gives no estimate");

    // An ESTIMATED_DELIVERY date, else the estimated window's end, is the scheduled date.
    let with = |fields: &str| {
        TRACK.replacen(r#""trackingNumberInfo": {"#, &format!(r#"{fields}, "trackingNumberInfo": {{"#), 1)
    };
    let dated = with(
        r#""dateAndTimes": [{"type": "ACTUAL_PICKUP", "dateTime": "2026-03-02T10:00:00-06:00"}, {"type": "ESTIMATED_DELIVERY", "dateTime": "2026-03-05T00:00:00-06:00"}]"#,
    );
    let updates = parse_track_response(dated.as_bytes()).expect("parses");
    assert_eq!(updates[0].scheduled_delivery, chrono::NaiveDate::from_ymd_opt(2026, 3, 5));
    let windowed = with(
        r#""estimatedDeliveryTimeWindow": {"window": {"begins": "2026-03-05T08:00:00-06:00", "ends": "2026-03-06T20:00:00-06:00"}}"#,
    );
    let updates = parse_track_response(windowed.as_bytes()).expect("parses");
    assert_eq!(updates[0].scheduled_delivery, chrono::NaiveDate::from_ymd_opt(2026, 3, 6));
}

#[test]
fn webhook_pushes_are_signed_with_fdx_signature_and_parse_like_polls() {
    let fedex = FedexCarrier::new(PRODUCTION);
    let auth = fedex.webhook_auth().expect("pushes");
    let signature = sign_base64("security-token", PUSH.as_bytes());
    assert!(auth.verify(
        "security-token",
        |h: &str| (h == "fdx-signature").then(|| signature.clone()),
        PUSH.as_bytes()
    ));
    assert!(!auth.verify("other-token", |h: &str| (h == "fdx-signature").then(|| signature.clone()), PUSH.as_bytes()));
    let updates = fedex.parse_webhook(PUSH.as_bytes()).expect("parses");
    assert_eq!(updates[0].events[0].subtag.code(), "OutForDelivery_001");
    assert!(matches!(fedex.parse_webhook(b"{\"output\": 3}"), Err(CarrierError::Malformed(_))));
}

#[derive(Default)]
struct Seen {
    tokens: AtomicUsize,
    bodies: std::sync::Mutex<Vec<serde_json::Value>>,
}

async fn fedex_mock(seen: Arc<Seen>, status: StatusCode, body: &'static str) -> String {
    async fn token(State((seen, ..)): State<(Arc<Seen>, StatusCode, &'static str)>, form: String) -> impl IntoResponse {
        seen.tokens.fetch_add(1, Ordering::SeqCst);
        if form.contains("client_id=key") && form.contains("client_secret=secret") {
            (StatusCode::OK, TOKEN)
        } else {
            (StatusCode::UNAUTHORIZED, r#"{"errors":[{"code":"NOT.AUTHORIZED.ERROR"}]}"#)
        }
    }
    async fn track(
        State((seen, status, body)): State<(Arc<Seen>, StatusCode, &'static str)>,
        headers: HeaderMap,
        request: String,
    ) -> axum::response::Response {
        if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer fedex-test-token") {
            return (StatusCode::UNAUTHORIZED, "{}").into_response();
        }
        seen.bodies.lock().expect("lock").push(serde_json::from_str(&request).unwrap_or_default());
        if status == StatusCode::GATEWAY_TIMEOUT {
            tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        }
        (status, [("retry-after", "30")], body).into_response()
    }
    let routes = Router::new()
        .route("/oauth/token", post(token))
        .route("/track/v1/trackingnumbers", post(track))
        .with_state((seen, status, body));
    mock::serve(routes).await
}

#[tokio::test]
async fn polls_batch_numbers_in_one_request_with_a_cached_token() {
    let seen = Arc::new(Seen::default());
    let base = fedex_mock(Arc::clone(&seen), StatusCode::OK, TRACK).await;
    let fedex = FedexCarrier::new(&base);
    let http = mock::client();
    let updates = fedex.poll(&http, &credentials(), &targets(&["449044304137821", "123456789012"]), Utc::now()).await;
    assert_eq!(updates.expect("polled").len(), 1);
    fedex.poll(&http, &credentials(), &targets(&["449044304137821"]), Utc::now()).await.expect("polled");
    assert_eq!(seen.tokens.load(Ordering::SeqCst), 1);
    let bodies = seen.bodies.lock().expect("lock");
    assert_eq!(bodies[0]["trackingInfo"].as_array().map(Vec::len), Some(2));
    assert_eq!(bodies[0]["trackingInfo"][1]["trackingNumberInfo"]["trackingNumber"], "123456789012");
    assert_eq!(bodies[0]["includeDetailedScans"], true);
    assert_eq!(fedex.max_batch(), 30);
}

#[tokio::test]
async fn poll_failures_map_to_carrier_errors() {
    let http = mock::client();
    let cases: [(StatusCode, &'static str); 4] = [
        (StatusCode::TOO_MANY_REQUESTS, "{}"),
        (StatusCode::SERVICE_UNAVAILABLE, "down"),
        (StatusCode::OK, "<html>"),
        (StatusCode::GATEWAY_TIMEOUT, "{}"),
    ];
    let mut results = Vec::new();
    for (status, body) in cases {
        let base = fedex_mock(Arc::new(Seen::default()), status, body).await;
        results.push(
            FedexCarrier::new(&base).poll(&http, &credentials(), &targets(&["449044304137821"]), Utc::now()).await,
        );
    }
    assert_eq!(results[0], Err(CarrierError::RateLimited { retry_after_seconds: Some(30) }));
    assert!(matches!(results[1], Err(CarrierError::Unavailable(_))));
    assert!(matches!(results[2], Err(CarrierError::Malformed(_))));
    assert!(matches!(results[3], Err(CarrierError::Unavailable(ref m)) if m.contains("timed out")));
    let base = fedex_mock(Arc::new(Seen::default()), StatusCode::OK, TRACK).await;
    let wrong = Credentials([("client_id".into(), "key".into()), ("client_secret".into(), "nope".into())].into());
    assert_eq!(
        FedexCarrier::new(&base).poll(&http, &wrong, &targets(&["449044304137821"]), Utc::now()).await,
        Err(CarrierError::Unauthorized)
    );
}
