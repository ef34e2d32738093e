//! The trackings' CSV export through the router, in parts.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::json;
use tower::ServiceExt;

use super::Harness;

impl Harness {
    /// A GET answered with its status, `x-next-cursor` and body text.
    async fn get_text(&self, path: &str) -> (StatusCode, Option<String>, String) {
        let request = Request::builder().method(Method::GET).uri(path).header("as-api-key", &self.key);
        let response =
            self.router.clone().oneshot(request.body(Body::empty()).expect("request")).await.expect("answer");
        let status = response.status();
        let next = response.headers().get("x-next-cursor").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        (status, next, String::from_utf8_lossy(&bytes).into_owned())
    }
}

#[tokio::test]
async fn trackings_export_as_csv_in_parts_with_the_import_columns() {
    let h = Harness::new().await;
    for (number, order) in [("1Z999AA10123456784", "A-1"), ("1Z204W4R0308071865", "A-2"), ("1Z12345E0205271688", "A-3")]
    {
        h.create(json!({"tracking_number": number, "slug": "ups", "order_id": order,
            "customers": [{"role": "buyer", "email": "ada@example.com"}]}))
            .await;
        h.clock.advance(chrono::Duration::minutes(1));
    }
    let (status, next, first) = h.get_text("/porchlight/v1/exports/trackings?limit=2").await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let lines: Vec<&str> = first.lines().collect();
    assert!(lines[0].starts_with("tracking_number,slug,title,order_id,"), "{}", lines[0]);
    assert_eq!(lines.len(), 3, "the header and two rows");
    assert!(lines[1].starts_with("1Z12345E0205271688,ups,,A-3,"), "newest first: {}", lines[1]);
    let next = next.expect("more follow");
    let (status, last, rest) = h.get_text(&format!("/porchlight/v1/exports/trackings?cursor={next}")).await;
    assert_eq!((status, last), (StatusCode::OK, None));
    assert_eq!(rest.lines().count(), 2);
    assert!(rest.contains("ada@example.com"));
    for bad in ["limit=0", "limit=10001", "cursor=nope", "colour=red"] {
        let (status, _, answer) = h.get_text(&format!("/porchlight/v1/exports/trackings?{bad}")).await;
        assert!(status.is_client_error(), "{bad}: {status} {answer}");
    }
}
