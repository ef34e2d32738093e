//! Use cases over the ports. Each function is one thing a merchant, an operator or the carrier
//! pipeline does; handlers parse input, call one of these and map the result.

mod batching;
pub mod connections;
pub mod fanout;
pub mod pipeline;
mod tenants;
mod trackings;

use crate::ports::{HttpClient, HttpError, HttpRequest, HttpResponse};
use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
pub use batching::BatchingQueue;
pub use connections::{SecretBox, operator_accounts};
pub use pipeline::{
    CarrierLimiters, CarrierMessage, IntakeError, MAX_RECEIVES, MessageOutcome, PipelineStats, PollReport,
    ProcessReport, accept_webhook, apply_tracking_update, handle_carrier_message, poll_due, process_carrier_updates,
};
pub use tenants::{ApiKey, authenticate, create_api_key, create_tenant, revoke_api_key};
pub use trackings::{
    NewTracking, create_tracking, delete_tracking, get_tracking, list_trackings, mark_completed, retrack,
    update_tracking,
};

use crate::carriers::{CarrierRegistry, Credentials, WebhookSecrets};
use crate::domain::{DomainError, PollPolicy, ShipmentId};
use crate::ports::{Clock, ConnectionStore, ShipmentStore, StoreError, TenantStore, WorkQueue};

/// The ports and settings a use case may use. Cloning is cheap.
#[derive(Clone)]
pub struct Deps {
    /// Tenants and API keys.
    pub tenants: Arc<dyn TenantStore>,
    /// Shipments.
    pub shipments: Arc<dyn ShipmentStore>,
    /// Work queues.
    pub queue: Arc<dyn WorkQueue>,
    /// Merchants' courier connections (sealed credentials).
    pub connections: Arc<dyn ConnectionStore>,
    /// Seals and opens stored secrets.
    pub secrets: Arc<SecretBox>,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// Carrier integrations, by slug.
    pub carriers: Arc<CarrierRegistry>,
    /// How carriers are called.
    pub http: Arc<dyn HttpClient>,
    /// Secrets that carriers sign their webhooks with, by slug.
    pub webhook_secrets: Arc<WebhookSecrets>,
    /// The operator's own carrier accounts, by slug, for polling.
    pub carrier_credentials: Arc<BTreeMap<String, Credentials>>,
    /// When to poll next.
    pub poll_policy: Arc<PollPolicy>,
    /// Pipeline counters.
    pub stats: Arc<PipelineStats>,
    /// SHA-256 of the operator's admin token; `None` disables the admin API.
    pub admin_token_sha256: Option<[u8; 32]>,
}

impl Deps {
    /// Deps backed by one store that implements every store port, with the standard carriers,
    /// no network client (polls of HTTP carriers fail until one is set), no webhook secrets, the
    /// default poll policy and a random secret key (set a persistent one to keep sealed
    /// credentials readable across restarts).
    pub fn from_store<S>(store: S, clock: Arc<dyn Clock>) -> Self
    where
        S: TenantStore + ShipmentStore + WorkQueue + ConnectionStore + Clone + 'static,
    {
        let queue = Arc::new(store.clone());
        Deps::from_stores(store, queue, clock)
    }

    /// As [`Deps::from_store`], with the queue apart from the store (DynamoDB and SQS).
    pub fn from_stores<S>(store: S, queue: Arc<dyn WorkQueue>, clock: Arc<dyn Clock>) -> Self
    where
        S: TenantStore + ShipmentStore + ConnectionStore + Clone + 'static,
    {
        Deps {
            tenants: Arc::new(store.clone()),
            shipments: Arc::new(store.clone()),
            connections: Arc::new(store),
            secrets: Arc::new(SecretBox::from_hex(&SecretBox::generate_hex()).expect("a generated key is valid")),
            queue,
            clock,
            carriers: Arc::new(CarrierRegistry::standard()),
            http: Arc::new(NoNetwork),
            webhook_secrets: Arc::new(WebhookSecrets::default()),
            carrier_credentials: Arc::new(BTreeMap::new()),
            poll_policy: Arc::new(PollPolicy::default()),
            stats: Arc::new(PipelineStats::default()),
            admin_token_sha256: None,
        }
    }
}

/// An HTTP client for deployments without network access: every request fails.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoNetwork;

#[async_trait]
impl HttpClient for NoNetwork {
    async fn send(&self, _request: HttpRequest) -> Result<HttpResponse, HttpError> {
        Err(HttpError::Connection("no http client is configured".into()))
    }
}

/// Why a use case failed. Variants map one-to-one onto AfterShip's error codes at the edge.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A field is missing or malformed.
    #[error(transparent)]
    Invalid(#[from] DomainError),
    /// A required field is absent.
    #[error("{0} is required")]
    Required(&'static str),
    /// The slug names no courier Porchlight knows.
    #[error("slug {0:?} is not a supported courier")]
    UnknownCourier(String),
    /// No slug was given and none could be detected from the number.
    #[error("the courier could not be detected from the tracking number; give a slug")]
    CourierNotDetected,
    /// The tenant already tracks this courier and number.
    #[error("tracking already exists")]
    Duplicate(ShipmentId),
    /// No such tracking for this tenant.
    #[error("tracking does not exist")]
    NotFound,
    /// Retrack asked of a tracking that is finished.
    #[error("a delivered or completed tracking cannot be retracked")]
    RetrackNotAllowed,
    /// The API key is missing, unknown or revoked.
    #[error("invalid api key")]
    Unauthorized,
    /// No such courier connection for this tenant.
    #[error("courier connection does not exist")]
    ConnectionNotFound,
    /// Concurrent writers kept winning; the caller may retry.
    #[error("the tracking is being changed concurrently; retry")]
    Busy,
    /// The store failed.
    #[error("store failure")]
    Store(#[source] StoreError),
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => AppError::NotFound,
            StoreError::Duplicate(id) => AppError::Duplicate(id),
            other => AppError::Store(other),
        }
    }
}
