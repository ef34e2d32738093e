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

/// The real HTTP client, with a short timeout so timeout cases run fast.
pub fn client() -> ReqwestClientForTests {
    crate::adapters::http_client::ReqwestClient::new(Duration::from_millis(500)).expect("client")
}
