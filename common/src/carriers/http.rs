//! The HTTP port carrier adapters call through; `adapters::http_client` implements it with
//! reqwest (rustls), tests with a local mock server.

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

/// Maps the statuses every carrier API shares onto [`super::CarrierError`]: 401/403
/// unauthorized, 429 rate limited (with Retry-After seconds), 5xx unavailable. Other statuses
/// are the adapter's to read.
pub fn common_failure(response: &HttpResponse) -> Option<super::CarrierError> {
    use super::CarrierError;
    match response.status {
        401 | 403 => Some(CarrierError::Unauthorized),
        429 => Some(CarrierError::RateLimited {
            retry_after_seconds: response.header("retry-after").and_then(|v| v.trim().parse().ok()),
        }),
        500..=599 => Some(CarrierError::Unavailable(format!("status {}", response.status))),
        _ => None,
    }
}

/// Reads the answer to a tracking request: the body on 200, `None` when the carrier does not
/// know the number yet (404), a [`common_failure`] or `Malformed` naming `what` otherwise.
pub fn tracking_body<'a>(response: &'a HttpResponse, what: &str) -> Result<Option<&'a [u8]>, super::CarrierError> {
    if let Some(failure) = common_failure(response) {
        return Err(failure);
    }
    match response.status {
        200 => Ok(Some(&response.body)),
        404 => Ok(None),
        other => Err(super::CarrierError::Malformed(format!("{what}: status {other}"))),
    }
}

impl From<HttpError> for super::CarrierError {
    fn from(error: HttpError) -> Self {
        super::CarrierError::Unavailable(error.to_string())
    }
}
