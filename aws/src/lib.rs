//! The AWS runtime: configuration read once at cold start, the wiring of DynamoDB and SQS
//! into the application's [`Deps`], and the Lambda handlers. The binaries under `functions/`
//! only read the configuration, build a [`Runtime`] and hand events to a handler.

pub mod config;
pub mod handlers;

use std::sync::Arc;

use porchlight::adapters::dynamodb::DynamoStore;
use porchlight::adapters::sqs::SqsQueues;
use porchlight::app::Deps;
use porchlight::ports::SystemClock;

pub use config::{Config, ConfigError};

/// What every handler works with; built once per cold start.
#[derive(Clone)]
pub struct Runtime {
    /// The use cases' ports, on DynamoDB and SQS.
    pub deps: Deps,
    /// The queues, for what Lambda consumers do beyond the port (quarantining a record).
    pub queues: Arc<SqsQueues>,
}

impl Runtime {
    /// Connects to the table and queues `config` names, through the AWS SDK's own
    /// configuration chain (`AWS_ENDPOINT_URL` reaches an emulator).
    pub async fn connect(config: &Config) -> Runtime {
        let store = DynamoStore::from_env(&config.table_name).await;
        let queues = Arc::new(SqsQueues::from_env(&config.queue_prefix).await);
        let mut deps = Deps::from_stores(store, queues.clone(), Arc::new(SystemClock));
        deps.secrets = Arc::new(config.secret_box.clone());
        deps.webhook_secrets = Arc::new(config.webhook_secrets.clone());
        Runtime { deps, queues }
    }
}
