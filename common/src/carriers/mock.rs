//! A local HTTP server standing in for a carrier's API in tests: each test mounts the routes it
//! needs, fed with payloads in the carrier's documented shape (see `fixtures/`).

use std::time::Duration;

use axum::Router;

use super::ReqwestClientForTests;

/// Serves `routes` on a free loopback port until the test's runtime ends; returns the base URL.
pub async fn serve(routes: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let address = listener.local_addr().expect("bound");
    tokio::spawn(async move {
        let _ = axum::serve(listener, routes).await;
    });
    format!("http://{address}")
}

/// What a [`receiver`] was sent: the headers and body of each request.
pub type Received = std::sync::Arc<std::sync::Mutex<Vec<(axum::http::HeaderMap, axum::body::Bytes)>>>;

/// A loopback endpoint answering `status` to every request and recording each (a merchant's
/// webhook receiver); its URL, ending in `/hooks`.
pub async fn receiver(status: axum::http::StatusCode) -> (String, Received) {
    let seen: Received = std::sync::Arc::default();
    let kept = seen.clone();
    let routes = Router::new().fallback(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
        let kept = kept.clone();
        async move {
            kept.lock().expect("lock").push((headers, body));
            status
        }
    });
    (format!("{}/hooks", serve(routes).await), seen)
}

/// The real HTTP client, with a short timeout so timeout cases run fast.
pub fn client() -> ReqwestClientForTests {
    crate::adapters::http_client::ReqwestClient::new(Duration::from_millis(500))
}

/// A carrier API that fails on demand: a request whose URL or body names one of the numbers
/// below gets that failure; any path with `token` in it gets a token. Every adapter runs
/// [`check_standard_failures`] against it.
pub async fn failing_carrier() -> String {
    use axum::body::Bytes;
    use axum::http::{StatusCode, Uri};
    use axum::response::IntoResponse;

    async fn answer(uri: Uri, body: Bytes) -> axum::response::Response {
        let seen = format!("{uri} {}", String::from_utf8_lossy(&body));
        // A number that reached the URL unescaped: its `/` made a path segment, its `?` a query.
        if uri.path().contains("/INJECTED") || uri.query().is_some_and(|q| q.contains("INJECTED=")) {
            return (StatusCode::IM_A_TEAPOT, "a tracking number broke out of its place in the url").into_response();
        }
        if uri.path().contains("token") {
            return (StatusCode::OK, r#"{"access_token":"t","token_type":"Bearer","expires_in":3600}"#).into_response();
        }
        if seen.contains("FAIL401") {
            (StatusCode::UNAUTHORIZED, "{}").into_response()
        } else if seen.contains("FAIL429") {
            (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "60")], "{}").into_response()
        } else if seen.contains("FAIL503") {
            (StatusCode::SERVICE_UNAVAILABLE, "down for maintenance").into_response()
        } else if seen.contains("FAILSLOW") {
            tokio::time::sleep(Duration::from_secs(3)).await;
            (StatusCode::OK, "{}").into_response()
        } else if seen.contains("FAILJUNK") {
            (StatusCode::OK, "<html>not the documented shape</html>").into_response()
        } else {
            (StatusCode::NOT_FOUND, r#"{"title":"not found","status":404}"#).into_response()
        }
    }
    serve(Router::new().fallback(answer)).await
}

/// Asserts that `adapter` (pointed at [`failing_carrier`]) maps 401, 404, 429 with
/// Retry-After, 5xx, timeouts and malformed bodies to the right outcome: 404 means "not known
/// yet" (no update, no error).
pub async fn check_standard_failures(adapter: &dyn super::CarrierAdapter, credentials: &super::Credentials) {
    use super::{CarrierError, PollTarget};
    use crate::domain::TrackingNumber;
    let http = client();
    let poll = |number: &str| {
        let target = PollTarget {
            tracking_number: TrackingNumber::parse(number).expect("number"),
            since: chrono::Utc::now(),
            destination_postal_code: None,
            ship_date: None,
        };
        let http = &http;
        async move { adapter.poll(http, credentials, &[target], chrono::Utc::now()).await }
    };
    assert_eq!(poll("FAIL401X").await, Err(CarrierError::Unauthorized), "401");
    assert_eq!(poll("NOTKNOWN1").await, Ok(vec![]), "404 is not an error");
    assert_eq!(poll("ESC/INJECTED?INJECTED=1&X=#").await, Ok(vec![]), "a number is escaped in the url");
    assert_eq!(poll("FAIL429X").await, Err(CarrierError::RateLimited { retry_after_seconds: Some(60) }), "429");
    assert!(matches!(poll("FAIL503X").await, Err(CarrierError::Unavailable(_))), "5xx");
    assert!(
        matches!(poll("FAILSLOWX").await, Err(CarrierError::Unavailable(ref m)) if m.contains("timed out")),
        "timeout"
    );
    assert!(matches!(poll("FAILJUNKX").await, Err(CarrierError::Malformed(_))), "malformed");
}
