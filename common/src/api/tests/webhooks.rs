//! Merchants' webhook endpoints through the router: registration and its checks, secrets shown
//! once, signed test events, the delivery log and replays, isolation between merchants.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Harness, meta_code};
use crate::domain::sign_webhook;

const WEBHOOKS: &str = "/porchlight/v1/webhooks";

type Seen = crate::carriers::mock::Received;

async fn receiver() -> (String, Seen) {
    crate::carriers::mock::receiver(StatusCode::OK).await
}

fn verifies(seen: &Seen, index: usize, secret: &str) -> bool {
    let seen = seen.lock().expect("lock");
    let (headers, body) = &seen[index];
    headers.get("aftership-hmac-sha256").and_then(|v| v.to_str().ok()) == Some(sign_webhook(secret, body).as_str())
}

#[tokio::test]
async fn targets_are_refused_with_the_field_named() {
    let h = Harness::new().await;
    for (body, field) in [
        (json!({"url": "https://10.0.0.8/hook"}), "url"),
        (json!({"url": "http://hooks.example.com/hook"}), "url"),
        (json!({"url": "https://hooks.example.com:22/hook"}), "url"),
        (json!({"events": ["tracking_update"]}), "url"),
        (json!({"url": "https://hooks.example.com/hook", "events": []}), "events"),
        (json!({"url": "https://hooks.example.com/hook", "events": ["shipment_lost"]}), "events"),
        (json!({"url": "https://hooks.example.com/hook", "secret": "mine"}), "secret"),
    ] {
        let (status, answer) = h.call(Method::POST, WEBHOOKS, Some(body.clone())).await;
        assert!(status.is_client_error(), "{body}: {status}");
        let message = answer["meta"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(field), "{body}: {message} names {field}");
    }
    let (status, listed) = h.call(Method::GET, WEBHOOKS, None).await;
    assert_eq!((status, listed["data"]["webhooks"].as_array().map(Vec::len)), (StatusCode::OK, Some(0)));
}

#[tokio::test]
async fn endpoints_answer_their_secret_once_and_sign_test_events_with_it() {
    let mut h = Harness::new().await;
    h.allow_private_webhooks();
    let (url, seen) = receiver().await;
    let (status, created) =
        h.call(Method::POST, WEBHOOKS, Some(json!({"url": url, "events": ["tracking_update"]}))).await;
    assert_eq!((status, meta_code(&created)), (StatusCode::CREATED, 201), "{created}");
    let id = created["data"]["id"].as_str().expect("id").to_owned();
    let secret = created["data"]["secret"].as_str().expect("secret shown once").to_owned();
    assert_eq!(created["data"]["events"], json!(["tracking_update"]));

    let (_, listed) = h.call(Method::GET, WEBHOOKS, None).await;
    assert_eq!(listed["data"]["webhooks"][0]["id"], id.as_str());
    assert!(!listed.to_string().contains(&secret), "listing never shows the secret");
    let (_, one) = h.call(Method::GET, &format!("{WEBHOOKS}/{id}"), None).await;
    assert!(one["data"].get("secret").is_none());

    let (status, tested) = h.call(Method::POST, &format!("{WEBHOOKS}/{id}/test"), None).await;
    assert_eq!(
        (status, &tested["data"]["delivered"], &tested["data"]["status"]),
        (StatusCode::OK, &json!(true), &json!(200))
    );
    assert!(verifies(&seen, 0, &secret));
    let body: Value = serde_json::from_slice(&seen.lock().expect("lock")[0].1).expect("json");
    assert_eq!(body["event"], "tracking_update");
    assert_eq!(body["msg"]["tracking_number"], "1Z999AA10123456784", "a sample parcel");

    let (_, rotated) = h.call(Method::POST, &format!("{WEBHOOKS}/{id}/rotate-secret"), None).await;
    let new_secret = rotated["data"]["secret"].as_str().expect("new secret").to_owned();
    assert_ne!(new_secret, secret);
    h.call(Method::POST, &format!("{WEBHOOKS}/{id}/test"), None).await;
    assert!(verifies(&seen, 1, &new_secret) && !verifies(&seen, 1, &secret));

    let (status, log) = h.call(Method::GET, &format!("{WEBHOOKS}/{id}/deliveries?state=dead"), None).await;
    assert_eq!((status, log["data"]["deliveries"].as_array().map(Vec::len)), (StatusCode::OK, Some(0)));
    let (status, bad) = h.call(Method::GET, &format!("{WEBHOOKS}/{id}/deliveries?state=lost"), None).await;
    assert!(status.is_client_error() && bad["meta"]["message"].as_str().unwrap_or_default().contains("state"));
    let (status, bad) = h.call(Method::POST, &format!("{WEBHOOKS}/{id}/replay"), Some(json!({}))).await;
    assert!(status.is_client_error() && bad["meta"]["message"].as_str().unwrap_or_default().contains("from"));
    let (status, replayed) =
        h.call(Method::POST, &format!("{WEBHOOKS}/{id}/replay"), Some(json!({"from": "2026-05-01T00:00:00Z"}))).await;
    assert_eq!((status, &replayed["data"]["planned"]), (StatusCode::ACCEPTED, &json!(0)));

    let other = h.other_key().await;
    for (method, path) in [
        (Method::GET, format!("{WEBHOOKS}/{id}")),
        (Method::POST, format!("{WEBHOOKS}/{id}/test")),
        (Method::POST, format!("{WEBHOOKS}/{id}/rotate-secret")),
        (Method::GET, format!("{WEBHOOKS}/{id}/deliveries")),
        (Method::DELETE, format!("{WEBHOOKS}/{id}")),
    ] {
        let (status, _) = h.call_as(Some(&other), method.clone(), &path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path} as another merchant");
    }
    assert_eq!(seen.lock().expect("lock").len(), 2, "another merchant's test reached nothing");

    let (status, _) = h.call(Method::DELETE, &format!("{WEBHOOKS}/{id}"), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = h.call(Method::GET, &format!("{WEBHOOKS}/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
