//! The AWS runtime: configuration read once at cold start, the wiring of DynamoDB and SQS
//! into the application's [`Deps`], and the Lambda handlers. The binaries under `functions/`
//! only read the configuration, build a [`Runtime`] and hand events to a handler.

pub mod config;
pub mod dynamodb;
pub mod feedback;
pub mod handlers;
pub mod messengers;
#[cfg(feature = "blobs")]
pub mod s3;
pub mod sqs;

use std::sync::Arc;

use crate::dynamodb::DynamoStore;
use crate::sqs::SqsQueues;
use porchlight::adapters::http_client::ReqwestClient;
use porchlight::app::{AppError, CarrierLimiters, Deps, Ports};
use porchlight::ports::SystemClock;

pub use config::Config;

/// What every handler works with; built once per cold start.
#[derive(Clone)]
pub struct Runtime {
    /// The use cases' ports, on DynamoDB and SQS.
    pub deps: Deps,
    /// The queues, for what Lambda consumers do beyond the port (quarantining a record).
    pub queues: Arc<SqsQueues>,
    /// Carriers' pacing, kept across the warm invocations of one instance.
    pub limiters: Arc<CarrierLimiters>,
    /// Shipments one round of a poll run takes at most.
    pub poll_batch: usize,
    /// How often the poll schedule runs.
    pub poll_every: chrono::Duration,
    /// How long finished shipments keep their shoppers' personal fields (`None`: as long as
    /// the shipment).
    pub personal_data_retention: Option<chrono::Duration>,
    /// The message ledger (on the table).
    pub ledger: Arc<DynamoStore>,
    /// Email and SMS senders.
    pub messenger: Arc<messengers::AwsMessenger>,
    /// Merchants' webhook sender, its endpoints' health kept across warm invocations.
    pub webhook_dispatcher: Arc<porchlight::app::webhooks::dispatch::Dispatcher>,
}

impl Runtime {
    /// Connects to the table and queues `config` names, through the AWS SDK's own
    /// configuration chain (`AWS_ENDPOINT_URL` reaches an emulator).
    pub async fn connect(config: &Config) -> Runtime {
        // The SDK's configuration chain runs once per cold start, for every client.
        Runtime::with_sdk(config, &aws_config::load_from_env().await)
    }

    /// As [`Runtime::connect`], with the AWS SDK configuration given (a benchmark points it
    /// at its own endpoint).
    pub fn with_sdk(config: &Config, sdk: &aws_config::SdkConfig) -> Runtime {
        let settings = &config.settings;
        let mut store = DynamoStore::new(sdk, &config.table_name);
        if let Some(retention) = settings.retention {
            store = store.with_retention(retention);
        }
        let queues = Arc::new(SqsQueues::new(sdk, &config.queue_prefix));
        let http = Arc::new(ReqwestClient::new(settings.carrier_timeout));
        let ledger = Arc::new(store.clone());
        let webhook_http =
            Arc::new(ReqwestClient::for_webhooks(porchlight::app::webhooks::TIMEOUT, settings.webhook_targets));
        #[cfg(feature = "blobs")]
        let blobs = Arc::new(s3::S3Blobs::new(sdk, config.blob_bucket.clone()));
        #[cfg(not(feature = "blobs"))]
        let blobs = Arc::new(NoBlobs);
        let ports = Ports::of_store(store, queues.clone(), Arc::new(SystemClock), http, webhook_http, blobs);
        let deps = Deps::new(ports, config.secret_box.clone(), settings);
        let limiters = Arc::new(CarrierLimiters::default());
        let messenger =
            Arc::new(messengers::AwsMessenger::new(sdk, &config.mail_from, config.ses_configuration_set.clone()));
        let webhook_dispatcher = porchlight::app::webhooks::dispatch::Dispatcher::new(deps.clone());
        Runtime {
            webhook_dispatcher,
            deps,
            queues,
            limiters,
            poll_batch: settings.poll_batch,
            poll_every: settings.poll_every,
            personal_data_retention: settings.personal_data_retention,
            ledger,
            messenger,
        }
    }
}

/// What the `api` function serves: the merchant API and the operator's.
pub fn api_router(deps: Deps) -> axum::Router {
    porchlight::api::app([porchlight::api::merchant_router(deps.clone()), porchlight::api::admin_router(deps)])
}

/// What the `tracking-page` function serves: the shopper's pages, with each request's client
/// address taken from CloudFront's `CloudFront-Viewer-Address` (the distribution forwards it)
/// or, reached directly, from API Gateway's request context.
pub fn tracking_page_router(deps: Deps) -> axum::Router {
    porchlight::api::app([porchlight::web::page_router(deps)]).layer(axum::middleware::map_request(with_client_ip))
}

/// What the `console` function serves: the merchant console, with each request's client
/// address taken as the tracking page's is (sign-ins are limited by it).
pub fn console_router(deps: Deps) -> axum::Router {
    porchlight::api::app([porchlight::console::console_router(deps)])
        .layer(axum::middleware::map_request(with_client_ip))
}

async fn with_client_ip(mut request: axum::extract::Request) -> axum::extract::Request {
    if let Some(ip) = client_ip(&request) {
        request.extensions_mut().insert(porchlight::web::ClientIp(ip));
    }
    request
}

/// The viewer's address: CloudFront's header (`198.51.100.7:46532`, an IPv6 address with its
/// port after the last colon), else API Gateway's `sourceIp`.
fn client_ip(request: &axum::extract::Request) -> Option<std::net::IpAddr> {
    let viewer = request
        .headers()
        .get("cloudfront-viewer-address")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit_once(':'))
        .and_then(|(ip, _port)| ip.trim_matches(['[', ']']).parse().ok());
    viewer.or_else(|| source_ip(request))
}

/// API Gateway's `sourceIp`: the connecting address, which a client cannot choose.
fn source_ip(request: &axum::extract::Request) -> Option<std::net::IpAddr> {
    match request.extensions().get::<lambda_http::request::RequestContext>()? {
        lambda_http::request::RequestContext::ApiGatewayV2(context) => context.http.source_ip.as_deref()?.parse().ok(),
        _ => None,
    }
}

/// What the `webhook-intake` function serves: carriers' and storefronts' webhooks, with the
/// same answers as in `porchlight serve`, limited per sender by API Gateway's `sourceIp` (the
/// function is not behind CloudFront, so a viewer header would be the sender's own claim).
pub fn webhook_intake_router(deps: Deps) -> axum::Router {
    porchlight::api::app([porchlight::api::webhook_router(deps)]).layer(axum::middleware::map_request(
        |mut request: axum::extract::Request| async move {
            if let Some(ip) = source_ip(&request) {
                request.extensions_mut().insert(porchlight::web::ClientIp(ip));
            }
            request
        },
    ))
}

/// A use case's failure as Lambda reports it: `error_type` tells whether the same event may
/// succeed when retried (`Retryable`: a dependency was unavailable) or never will
/// (`NonRetryable`), so alarms and retries can tell them apart.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct FunctionError(#[from] pub AppError);

impl From<FunctionError> for lambda_runtime::Diagnostic {
    fn from(error: FunctionError) -> Self {
        let error_type = if error.0.is_retryable() { "Retryable" } else { "NonRetryable" };
        lambda_runtime::Diagnostic { error_type: error_type.to_owned(), error_message: error.0.to_string() }
    }
}

/// A Lambda event function's whole `main`: JSON logs, the configuration read once, the
/// connections made once, then `handler` for every event until the runtime stops. A bad
/// setting fails the cold start with a message naming it.
pub async fn run_events<E, R, F, Fut>(handler: F) -> Result<(), lambda_runtime::Error>
where
    E: for<'de> serde::Deserialize<'de> + Send + 'static,
    R: serde::Serialize + Send + 'static,
    F: Fn(Arc<Runtime>, E) -> Fut,
    Fut: std::future::Future<Output = Result<R, FunctionError>> + Send,
{
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let runtime = Arc::new(Runtime::connect(&config).await);
    let handler = &handler;
    lambda_runtime::run(lambda_runtime::service_fn(move |event: lambda_runtime::LambdaEvent<E>| {
        handler(runtime.clone(), event.payload)
    }))
    .await
}

/// The blob store of a function built without `blobs` (all but `api`, the page functions,
/// `report-generator` and `history-importer`): it keeps no files, and says so if asked.
#[cfg(not(feature = "blobs"))]
struct NoBlobs;

#[cfg(not(feature = "blobs"))]
#[async_trait::async_trait]
impl porchlight::ports::BlobStore for NoBlobs {
    async fn put_blob(&self, _: &str, _: &str, _: Vec<u8>) -> Result<(), porchlight::ports::StoreError> {
        Err(porchlight::ports::StoreError::Unavailable("this function keeps no files".into()))
    }
    async fn get_blob(&self, _: &str) -> Result<Option<Vec<u8>>, porchlight::ports::StoreError> {
        Err(porchlight::ports::StoreError::Unavailable("this function keeps no files".into()))
    }
    async fn delete_blob(&self, _: &str) -> Result<(), porchlight::ports::StoreError> {
        Err(porchlight::ports::StoreError::Unavailable("this function keeps no files".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_hears_whether_a_failure_is_worth_retrying() {
        let diagnostic = |error: AppError| lambda_runtime::Diagnostic::from(FunctionError(error));
        let unavailable = diagnostic(AppError::Unavailable("queue down".into()));
        assert_eq!(
            (unavailable.error_type.as_str(), unavailable.error_message.as_str()),
            ("Retryable", "temporarily unavailable; retry")
        );
        assert_eq!(diagnostic(AppError::Busy).error_type, "Retryable");
        assert_eq!(diagnostic(AppError::Corrupt("body".into())).error_type, "NonRetryable");
        assert_eq!(diagnostic(AppError::NotFound).error_type, "NonRetryable");
    }
}
