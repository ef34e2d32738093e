//! Outgoing HTTP: what carrier adapters (and later merchant webhooks) call through.
//! `adapters::http_client` implements it with reqwest (rustls); tests use a local mock server.

use async_trait::async_trait;

/// An outgoing request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET`, `POST`, ...
    pub method: &'static str,
    /// The full URL.
    pub url: String,
    /// Header names and values. Secrets may be among them: never log a request.
    pub headers: Vec<(String, String)>,
    /// The body, if any.
    pub body: Option<Vec<u8>>,
}

impl HttpRequest {
    /// A `GET` of `url`.
    pub fn get(url: impl Into<String>) -> Self {
        HttpRequest { method: "GET", url: url.into(), headers: Vec::new(), body: None }
    }

    /// A `POST` of `body` to `url`.
    pub fn post(url: impl Into<String>, body: Vec<u8>) -> Self {
        HttpRequest { method: "POST", url: url.into(), headers: Vec::new(), body: Some(body) }
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// A response, whatever its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Header names (lower case) and values.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Why no response came back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// No answer within the client's timeout.
    #[error("request timed out")]
    Timeout,
    /// Could not connect or the connection broke.
    #[error("connection failed: {0}")]
    Connection(String),
}

/// Sends HTTP requests. Implementations apply a total timeout per request.
#[async_trait]
pub trait HttpClient: Send + Sync {
    /// Sends `request` and returns the response, whatever its status.
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError>;
}
