//! The [`HttpClient`] port over reqwest with rustls: connection pooling, HTTP/2 where the
//! server offers it, and a total timeout per request. Carriers are called with the default
//! client; merchants' webhooks with [`ReqwestClient::for_webhooks`], which follows no redirect,
//! ignores proxy variables and, for public-only targets, refuses to connect to any address
//! [`is_forbidden_address`] names, checked on the addresses DNS answered (so a name that
//! resolves to a private address, now or after registration, is never reached).

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::domain::{TargetPolicy, is_forbidden_address, validate_target};
use crate::ports::{HttpClient, HttpError, HttpRequest, HttpResponse};

/// HTTP over reqwest.
#[derive(Debug, Clone)]
pub struct ReqwestClient {
    timeout: Duration,
    /// `Some` for merchants' webhooks: which targets may be reached.
    webhook_targets: Option<TargetPolicy>,
    /// Built by the first request: setting up TLS reads the system's trust roots, which a
    /// process that never calls a carrier (most Lambda functions) should not pay for at start.
    client: Arc<OnceLock<Result<reqwest::Client, String>>>,
}

impl ReqwestClient {
    /// A client that gives up on a request after `timeout`.
    pub fn new(timeout: Duration) -> Self {
        ReqwestClient { timeout, webhook_targets: None, client: Arc::default() }
    }

    /// A client for merchants' webhooks: `timeout` per request, no redirects, no proxies, and
    /// with [`TargetPolicy::PublicOnly`] no connection to a forbidden address.
    pub fn for_webhooks(timeout: Duration, targets: TargetPolicy) -> Self {
        ReqwestClient { timeout, webhook_targets: Some(targets), client: Arc::default() }
    }

    fn client(&self) -> Result<&reqwest::Client, HttpError> {
        let built = self.client.get_or_init(|| {
            let mut builder = reqwest::Client::builder()
                .timeout(self.timeout)
                .connect_timeout(self.timeout.min(Duration::from_secs(10)))
                .user_agent(concat!("porchlight/", env!("CARGO_PKG_VERSION")));
            if let Some(targets) = self.webhook_targets {
                builder = builder.redirect(reqwest::redirect::Policy::none()).no_proxy().pool_max_idle_per_host(16);
                if targets == TargetPolicy::PublicOnly {
                    builder = builder.dns_resolver(Arc::new(PublicOnlyResolver));
                }
            }
            builder.build().map_err(|e| format!("http client unavailable: {e}"))
        });
        built.as_ref().map_err(|e| HttpError::Connection(e.clone()))
    }
}

#[async_trait]
impl HttpClient for ReqwestClient {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        if let Some(targets) = self.webhook_targets {
            // Addresses written in the URL are not resolved: they are judged here.
            validate_target(&request.url, targets)
                .map_err(|e| HttpError::Connection(format!("refused: {}", e.reason)))?;
        }
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

/// Resolves names with the system's resolver and refuses those that answer with any address
/// a webhook must not reach (one forbidden address refuses the name: DNS rebinding answers
/// mixing public and private addresses get nothing).
#[derive(Debug)]
struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addresses: Vec<SocketAddr> = tokio::task::spawn_blocking(move || (host.as_str(), 0).to_socket_addrs())
                .await
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?
                .collect();
            let forbidden = addresses.iter().map(SocketAddr::ip).find(|ip: &IpAddr| is_forbidden_address(*ip));
            if let Some(ip) = forbidden {
                return Err(format!("refused: the name resolves to a non-public address ({ip})").into());
            }
            Ok(Box::new(addresses.into_iter()) as Addrs)
        })
    }
}
