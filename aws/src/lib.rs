//! The AWS runtime: configuration read once at cold start, the wiring of DynamoDB and SQS
//! into the application's [`Deps`], and the Lambda handlers. The binaries under `functions/`
//! only read the configuration, build a [`Runtime`] and hand events to a handler.

pub mod config;
pub mod dynamodb;
pub mod handlers;
pub mod sqs;

use std::sync::Arc;

use crate::dynamodb::DynamoStore;
use crate::sqs::SqsQueues;
use porchlight::adapters::http_client::ReqwestClient;
use porchlight::app::{CarrierLimiters, Deps, Ports};
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
        let ports = Ports {
            tenants: Arc::new(store.clone()),
            shipments: Arc::new(store.clone()),
            connections: Arc::new(store),
            queue: queues.clone(),
            clock: Arc::new(SystemClock),
            http: Arc::new(ReqwestClient::new(settings.carrier_timeout)),
        };
        let deps = Deps::new(ports, config.secret_box.clone(), settings);
        let limiters = Arc::new(CarrierLimiters::default());
        Runtime { deps, queues, limiters, poll_batch: settings.poll_batch, poll_every: settings.poll_every }
    }
}

/// What the `api` function serves: the merchant API and the operator's.
pub fn api_router(deps: Deps) -> axum::Router {
    porchlight::api::app([porchlight::api::merchant_router(deps.clone()), porchlight::api::admin_router(deps)])
}

/// What the `webhook-intake` function serves: carriers' webhooks, with the same answers as in
/// `porchlight serve`.
pub fn webhook_intake_router(deps: Deps) -> axum::Router {
    porchlight::api::app([porchlight::api::webhook_router(deps)])
}

/// A Lambda event function's whole `main`: JSON logs, the configuration read once, the
/// connections made once, then `handler` for every event until the runtime stops. A bad
/// setting fails the cold start with a message naming it.
pub async fn run_events<E, R, F, Fut>(handler: F) -> Result<(), lambda_runtime::Error>
where
    E: for<'de> serde::Deserialize<'de> + Send + 'static,
    R: serde::Serialize + Send + 'static,
    F: Fn(Arc<Runtime>, E) -> Fut,
    Fut: std::future::Future<Output = Result<R, lambda_runtime::Error>> + Send,
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
