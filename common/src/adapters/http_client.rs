//! The [`HttpClient`] port over reqwest with rustls: connection pooling, HTTP/2 where the
//! carrier offers it, and a total timeout per request.

use crate::ports::{HttpClient, HttpError, HttpRequest, HttpResponse};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;

/// Carrier HTTP over reqwest.
#[derive(Debug, Clone)]
pub struct ReqwestClient {
    timeout: Duration,
    /// Built by the first request: setting up TLS reads the system's trust roots, which a
    /// process that never calls a carrier (most Lambda functions) should not pay for at start.
    client: Arc<OnceLock<Result<reqwest::Client, String>>>,
}

impl ReqwestClient {
    /// A client that gives up on a request after `timeout`.
    pub fn new(timeout: Duration) -> Self {
        ReqwestClient { timeout, client: Arc::default() }
    }

    fn client(&self) -> Result<&reqwest::Client, HttpError> {
        let built = self.client.get_or_init(|| {
            reqwest::Client::builder()
                .timeout(self.timeout)
                .connect_timeout(self.timeout.min(Duration::from_secs(10)))
                .user_agent(concat!("porchlight/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| format!("http client unavailable: {e}"))
        });
        built.as_ref().map_err(|e| HttpError::Connection(e.clone()))
    }
}

#[async_trait]
impl HttpClient for ReqwestClient {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|e| HttpError::Connection(format!("bad method: {e}")))?;
        let mut builder = self.client()?.request(method, &request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        if let Some(body) = request.body {
            builder = builder.body(body);
        }
        let classify = |e: reqwest::Error| {
            if e.is_timeout() { HttpError::Timeout } else { HttpError::Connection(e.without_url().to_string()) }
        };
        let response = builder.send().await.map_err(classify)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(n, v)| v.to_str().ok().map(|v| (n.as_str().to_owned(), v.to_owned())))
            .collect();
        let body = response.bytes().await.map_err(classify)?.to_vec();
        Ok(HttpResponse { status, headers, body })
    }
}
