//! The suppression list through the router.

use axum::http::{Method, StatusCode};
use serde_json::json;

use super::Harness;

const PATH: &str = "/porchlight/v1/suppressions";

#[tokio::test]
async fn the_suppression_list_takes_addresses_pages_them_and_lets_them_go() {
    let h = Harness::new().await;
    let (status, created) =
        h.call(Method::POST, PATH, Some(json!({"channel": "email", "address": " Ann@Example.com "}))).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let entry = &created["data"];
    assert_eq!((entry["address"].as_str(), entry["reason"].as_str()), (Some("ann@example.com"), Some("manual")));
    let id = entry["id"].as_str().expect("an id").to_owned();
    assert!(id.starts_with("sup_") && !id.contains("ann"), "{id}");
    let (status, again) =
        h.call(Method::POST, PATH, Some(json!({"channel": "email", "address": "ANN@example.com"}))).await;
    assert_eq!((status, again["data"]["id"].as_str()), (StatusCode::OK, Some(id.as_str())), "listed once");

    for (body, field) in [
        (json!({"channel": "email", "address": "not an address"}), "address"),
        (json!({"channel": "sms", "address": "12345"}), "address"),
        (json!({"address": "bo@example.com"}), "channel"),
        (json!({"channel": "fax", "address": "bo@example.com"}), "channel"),
        (json!({"channel": "email", "address": "bo@example.com", "note": "x"}), "note"),
    ] {
        let (status, refused) = h.call(Method::POST, PATH, Some(body.clone())).await;
        let message = refused["meta"]["message"].as_str().unwrap_or_default();
        assert!(status.is_client_error() && message.contains(field), "{body}: {status} {refused}");
    }

    for phone in ["+14155550100", "+14155550101", "+14155550102"] {
        let (status, _) = h.call(Method::POST, PATH, Some(json!({"channel": "sms", "address": phone}))).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (_, first) = h.call(Method::GET, &format!("{PATH}?limit=3"), None).await;
    let cursor = first["data"]["next_cursor"].as_str().expect("a next page");
    let (_, rest) = h.call(Method::GET, &format!("{PATH}?limit=3&cursor={cursor}"), None).await;
    let listed = first["data"]["suppressions"].as_array().map(Vec::len).unwrap_or_default()
        + rest["data"]["suppressions"].as_array().map(Vec::len).unwrap_or_default();
    assert_eq!((listed, rest["data"]["next_cursor"].is_null()), (4, true));
    let (status, _) = h.call(Method::GET, &format!("{PATH}?limit=0"), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let other = h.other_key().await;
    let (status, _) = h.call_as(Some(&other), Method::GET, &format!("{PATH}/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another merchant's list is not readable");
    let (status, _) = h.call_as(Some(&other), Method::DELETE, &format!("{PATH}/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nor changeable");
    let (status, removed) = h.call(Method::DELETE, &format!("{PATH}/{id}"), None).await;
    assert_eq!((status, removed["data"]["id"].as_str()), (StatusCode::OK, Some(id.as_str())));
    let (status, _) = h.call(Method::GET, &format!("{PATH}/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = h.call_as(None, Method::GET, PATH, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
