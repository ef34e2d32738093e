//! Merchants' own wording of messages through the router: checked when saved, used by the
//! preview (and so by every message), removed to fall back to the built-in texts.

use axum::http::{Method, StatusCode};
use serde_json::json;

use super::Harness;

const TEXTS: &str = "/porchlight/v1/notification-templates";

#[tokio::test]
async fn merchant_wording_is_checked_at_save_and_used_in_messages() {
    let h = Harness::new().await;
    let wording = json!({
        "subject": "{{ brand }}: Bestellung {{ order }} ist angekommen",
        "body": "Hallo{% if name %} {{ name }}{% endif %}, Ihr Paket ({{ tracking_number }}) ist da."
    });
    let (status, saved) = h.call(Method::PUT, &format!("{TEXTS}/delivered/de"), Some(wording)).await;
    assert_eq!(status, StatusCode::OK, "{saved}");

    let (_, preview) = h
        .call(
            Method::POST,
            "/porchlight/v1/notification-rules/preview",
            Some(json!({"trigger": "delivered", "language": "de"})),
        )
        .await;
    assert_eq!(preview["data"]["subject"], "Acme: Bestellung #1001 ist angekommen", "{preview}");
    assert!(
        preview["data"]["html"]
            .as_str()
            .unwrap_or_default()
            .contains("Hallo Alex, Ihr Paket (1Z999AA10123456784) ist da.")
    );
    let (_, english) = h
        .call(
            Method::POST,
            "/porchlight/v1/notification-rules/preview",
            Some(json!({"trigger": "delivered", "language": "en"})),
        )
        .await;
    assert!(
        !english["data"]["subject"].as_str().unwrap_or_default().contains("Bestellung"),
        "other languages keep theirs"
    );

    for (path, body, named) in [
        ("delivered/de", json!({"body": "Zeile eins\n{% if name %}Hallo"}), "line 2"),
        ("delivered/de", json!({"sms": "Ihr {{ colour }} Paket"}), "undefined"),
        ("delivered/de", json!({}), "at least one"),
        ("teleported/de", json!({"body": "x"}), "trigger"),
        ("delivered/xx", json!({"body": "x"}), "language"),
    ] {
        let (status, answer) = h.call(Method::PUT, &format!("{TEXTS}/{path}"), Some(body.clone())).await;
        assert!(status.is_client_error(), "{path} {body}: {status}");
        let message = answer["meta"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(named), "{path} {body}: {message}");
    }

    let (_, listed) = h.call(Method::GET, TEXTS, None).await;
    assert_eq!(listed["data"]["templates"].as_array().map(Vec::len), Some(1), "a refused save changed nothing");
    let (status, _) = h.call(Method::DELETE, &format!("{TEXTS}/delivered/de"), None).await;
    assert_eq!(status, StatusCode::OK);
    let (_, built_in) = h
        .call(
            Method::POST,
            "/porchlight/v1/notification-rules/preview",
            Some(json!({"trigger": "delivered", "language": "de"})),
        )
        .await;
    assert!(!built_in["data"]["subject"].as_str().unwrap_or_default().contains("angekommen"));
    let (status, _) = h.call(Method::DELETE, &format!("{TEXTS}/delivered/de"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
