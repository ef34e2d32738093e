//! Use cases over the ports. Each function is one thing a merchant, an operator or the carrier
//! pipeline does; handlers parse input, call one of these and map the result.

pub mod analytics;
mod batching;
mod cache;
pub mod connections;
pub mod connectors;
pub(crate) mod documents;
pub mod edd;
pub mod evidence;
pub mod exceptions;
pub mod exports;
pub mod fanout;
pub mod imports;
pub mod notification_rules;
pub mod notifications;
pub mod operator;
pub mod orders;
pub mod pages;
pub mod pipeline;
pub mod privacy;
pub mod reports;
pub mod returns;
pub mod rotation;
pub mod scan;
pub mod subscriptions;
pub mod suppressions;
pub mod team;
mod tenants;
mod trackings;
pub mod webhooks;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use crate::secrets::SecretBox;
pub use batching::BatchingQueue;
pub use pipeline::{
    CarrierLimiters, CarrierMessage, IntakeError, MAX_RECEIVES, MessageOutcome, PipelineStats, PollReport,
    ProcessReport, accept_webhook, apply_tracking_update, carriers_tracked_live, handle_carrier_message, poll_due,
    process_carrier_updates,
};
pub use tenants::{ApiKey, authenticate, create_api_key, create_tenant, revoke_api_key};
pub use trackings::{
    NewTracking, courier_of, create_tracking, create_tracking_from, delete_tracking, get_tracking, import_tracking,
    list_trackings, mark_completed, retrack, update_tracking,
};

use crate::carriers::{CarrierRegistry, Credentials, WebhookSecrets};
use crate::domain::{DomainError, PollPolicy, ShipmentId, TargetPolicy};
use crate::ports::{
    AnalyticsStore, BlobStore, BoxError, Clock, ConnectionStore, ConnectorStore, ExceptionStore, HttpClient,
    ImportStore, MessageLedger, OrderStore, PageStore, ReturnStore, SettingsStore, ShipmentStore, StoreError,
    SuppressionList, TeamStore, TenantStore, WebhookStore, WorkQueue,
};
use crate::settings::{AdminToken, Settings};

/// The ports and settings a use case may use. Cloning is cheap.
#[derive(Clone)]
pub struct Deps {
    /// Tenants and API keys.
    pub tenants: Arc<dyn TenantStore>,
    /// Console members, sessions and the audit log.
    pub team: Arc<dyn TeamStore>,
    /// Shipments.
    pub shipments: Arc<dyn ShipmentStore>,
    /// Work queues.
    pub queue: Arc<dyn WorkQueue>,
    /// Merchants' courier connections (sealed credentials).
    pub connections: Arc<dyn ConnectionStore>,
    /// Merchants' storefront connectors (sealed secrets) and their webhooks' deliveries.
    pub connectors: Arc<dyn ConnectorStore>,
    /// Tracking page settings.
    pub pages: Arc<dyn PageStore>,
    /// Settings documents (notification rules, ...).
    pub settings: Arc<dyn SettingsStore>,
    /// Seals and opens stored secrets.
    pub secrets: Arc<SecretBox>,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// Carrier integrations, by slug.
    pub carriers: Arc<CarrierRegistry>,
    /// How carriers are called.
    pub http: Arc<dyn HttpClient>,
    /// Merchants' webhook events and deliveries.
    pub webhooks: Arc<dyn WebhookStore>,
    /// Exception cases.
    pub exceptions: Arc<dyn ExceptionStore>,
    /// Merchants' suppression lists.
    pub suppressions: Arc<dyn SuppressionList>,
    /// Merchants' orders.
    pub orders: Arc<dyn OrderStore>,
    /// Merchants' returns.
    pub returns: Arc<dyn ReturnStore>,
    /// Analytics rollups.
    pub analytics: Arc<dyn AnalyticsStore>,
    /// History import jobs.
    pub imports: Arc<dyn ImportStore>,
    /// Shoppers' photos of returned items.
    pub blobs: Arc<dyn BlobStore>,
    /// The message ledger (returns plan their shoppers' emails in it).
    pub ledger: Arc<dyn MessageLedger>,
    /// How merchants' webhooks are sent (see [`Ports::webhook_http`]).
    pub webhook_http: Arc<dyn HttpClient>,
    /// Which webhook targets merchants may register.
    pub webhook_targets: TargetPolicy,
    /// Secrets that carriers sign their webhooks with, by slug.
    pub webhook_secrets: Arc<WebhookSecrets>,
    /// The operator's own carrier accounts, by slug, for polling.
    pub carrier_credentials: Arc<BTreeMap<String, Credentials>>,
    /// When to poll next.
    pub poll_policy: Arc<PollPolicy>,
    /// Pipeline counters.
    pub stats: Arc<PipelineStats>,
    /// The operator's admin token; `None` disables the admin API.
    pub admin_token: Option<AdminToken>,
    /// Tracking page settings recently read.
    pub page_cache: Arc<pages::PageCache>,
    /// Merchants' estimated-delivery-date models recently trained.
    pub edd_models: Arc<edd::ModelCache>,
    /// Where shoppers reach the tracking pages (no trailing slash), for links in answers.
    pub public_url: Option<Arc<str>>,
    /// Tracking page lookups per client address and minute.
    pub page_lookups_per_minute: u32,
    /// Console sign-ins per client address and minute.
    pub console_sign_ins_per_minute: u32,
    /// Public page requests per client address and minute.
    pub page_views_per_minute: u32,
    /// Carrier and storefront webhook requests per sending address and minute.
    pub webhooks_per_minute: u32,
    /// Requests per second per API key on the merchant APIs, unless the merchant has its own
    /// (`operator::set_rate_limit`); `None` for no limit.
    pub rate_limit: Option<u32>,
    /// The keys' windows.
    pub rate_limiter: Arc<crate::api::rate_limit::KeyLimiter>,
    /// Merchants' own rate limits recently read.
    pub rate_limits: Arc<cache::TtlCache<crate::domain::TenantId, Option<u32>>>,
}

/// Every port a runtime provides, each required.
pub struct Ports {
    /// Tenants and API keys.
    pub tenants: Arc<dyn TenantStore>,
    /// Console members, sessions and the audit log.
    pub team: Arc<dyn TeamStore>,
    /// Shipments.
    pub shipments: Arc<dyn ShipmentStore>,
    /// Merchants' courier connections.
    pub connections: Arc<dyn ConnectionStore>,
    /// Merchants' storefront connectors.
    pub connectors: Arc<dyn ConnectorStore>,
    /// Tracking page settings.
    pub pages: Arc<dyn PageStore>,
    /// Settings documents.
    pub settings: Arc<dyn SettingsStore>,
    /// Work queues.
    pub queue: Arc<dyn WorkQueue>,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// How carriers are called.
    pub http: Arc<dyn HttpClient>,
    /// Merchants' webhook events and deliveries.
    pub webhooks: Arc<dyn WebhookStore>,
    /// Exception cases.
    pub exceptions: Arc<dyn ExceptionStore>,
    /// Merchants' suppression lists.
    pub suppressions: Arc<dyn SuppressionList>,
    /// Merchants' orders.
    pub orders: Arc<dyn OrderStore>,
    /// Merchants' returns.
    pub returns: Arc<dyn ReturnStore>,
    /// Analytics rollups.
    pub analytics: Arc<dyn AnalyticsStore>,
    /// History import jobs.
    pub imports: Arc<dyn ImportStore>,
    /// Shoppers' photos of returned items.
    pub blobs: Arc<dyn BlobStore>,
    /// The message ledger.
    pub ledger: Arc<dyn MessageLedger>,
    /// How merchants' webhooks are sent: no redirects followed, and (unless the operator
    /// allows private targets) no connection to a forbidden address after DNS resolution.
    pub webhook_http: Arc<dyn HttpClient>,
}

impl Ports {
    /// The store ports of one store that implements them all (SQLite), with `queue`, `clock`,
    /// the carriers' `http`, `webhook_http` and the `blobs` store.
    pub fn of_store<S>(
        store: S,
        queue: Arc<dyn WorkQueue>,
        clock: Arc<dyn Clock>,
        http: Arc<dyn HttpClient>,
        webhook_http: Arc<dyn HttpClient>,
        blobs: Arc<dyn BlobStore>,
    ) -> Self
    where
        S: TenantStore
            + TeamStore
            + ShipmentStore
            + ConnectionStore
            + ConnectorStore
            + PageStore
            + SettingsStore
            + WebhookStore
            + ExceptionStore
            + SuppressionList
            + OrderStore
            + ReturnStore
            + AnalyticsStore
            + ImportStore
            + MessageLedger
            + Clone
            + 'static,
    {
        Ports {
            tenants: Arc::new(store.clone()),
            team: Arc::new(store.clone()),
            shipments: Arc::new(store.clone()),
            connections: Arc::new(store.clone()),
            connectors: Arc::new(store.clone()),
            pages: Arc::new(store.clone()),
            settings: Arc::new(store.clone()),
            webhooks: Arc::new(store.clone()),
            exceptions: Arc::new(store.clone()),
            suppressions: Arc::new(store.clone()),
            orders: Arc::new(store.clone()),
            returns: Arc::new(store.clone()),
            analytics: Arc::new(store.clone()),
            imports: Arc::new(store.clone()),
            ledger: Arc::new(store),
            blobs,
            queue,
            clock,
            http,
            webhook_http,
        }
    }
}

impl Deps {
    /// Wires the use cases: `ports`, the key sealing stored credentials, and the settings that
    /// shape behaviour (webhook secrets, operator accounts, poll policy, admin token), with the
    /// standard carriers.
    pub fn new(ports: Ports, secrets: SecretBox, settings: &Settings) -> Self {
        Deps {
            tenants: ports.tenants,
            team: ports.team,
            shipments: ports.shipments,
            queue: ports.queue,
            connections: ports.connections,
            connectors: ports.connectors,
            pages: ports.pages,
            settings: ports.settings,
            secrets: Arc::new(secrets),
            clock: ports.clock,
            carriers: Arc::new(CarrierRegistry::standard()),
            http: ports.http,
            webhooks: ports.webhooks,
            exceptions: ports.exceptions,
            suppressions: ports.suppressions,
            orders: ports.orders,
            returns: ports.returns,
            analytics: ports.analytics,
            imports: ports.imports,
            blobs: ports.blobs,
            ledger: ports.ledger,
            webhook_http: ports.webhook_http,
            webhook_targets: settings.webhook_targets,
            webhook_secrets: Arc::new(settings.webhook_secrets.clone()),
            carrier_credentials: Arc::new(settings.carrier_accounts.clone()),
            poll_policy: Arc::new(settings.poll_policy.clone()),
            stats: Arc::new(PipelineStats::default()),
            admin_token: settings.admin_token,
            page_cache: Arc::default(),
            edd_models: Arc::default(),
            public_url: settings.public_url.as_deref().map(Arc::from),
            page_lookups_per_minute: settings.page_lookups_per_minute,
            console_sign_ins_per_minute: settings.console_sign_ins_per_minute,
            page_views_per_minute: settings.page_views_per_minute,
            webhooks_per_minute: settings.webhooks_per_minute,
            rate_limit: settings.rate_limit,
            rate_limiter: Arc::default(),
            rate_limits: Arc::new(cache::TtlCache::new(operator::RATE_LIMIT_TTL, 10_000)),
        }
    }
}

/// The cursor of the page after `items` (a page of `limit` in id order): the last one's id,
/// when the page is full.
pub(crate) fn next_cursor<T>(items: &[T], limit: usize, id: impl Fn(&T) -> &str) -> Option<String> {
    (items.len() == limit).then(|| items.last().map(|last| id(last).to_owned())).flatten()
}

/// `rows` (the header first) as a CSV file.
pub(crate) fn csv_table(rows: impl IntoIterator<Item = Vec<String>>) -> Result<Vec<u8>, AppError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer.write_record(row).map_err(|e| AppError::Internal(format!("csv: {e}")))?;
    }
    writer.into_inner().map_err(|e| AppError::Internal(format!("csv: {e}")))
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
    /// The console member's role does not allow the action.
    #[error("your role does not allow this")]
    Forbidden,
    /// No such courier connection for this tenant.
    #[error("courier connection does not exist")]
    ConnectionNotFound,
    /// No such record (named) for this tenant.
    #[error("{0} does not exist")]
    Missing(&'static str),
    /// A return request the merchant's policy does not allow: every violation.
    #[error("the return request breaks the return policy")]
    ReturnRefused(Vec<crate::domain::Violation>),
    /// A move the return's approval status does not allow.
    #[error(transparent)]
    ReturnNotAllowed(#[from] crate::domain::NotAllowed),
    /// A receiving the return cannot take.
    #[error(transparent)]
    NotReceivable(#[from] crate::domain::ReceiveRefused),
    /// Another return of the same order is being created.
    #[error("another return request for the same order is in progress")]
    ReturnInProgress,
    /// A well-formed request that cannot be carried out (the message says why).
    #[error("{0}")]
    Unprocessable(String),
    /// Concurrent writers kept winning; the caller may retry.
    #[error("the tracking is being changed concurrently; retry")]
    Busy,
    /// A store, queue or other dependency is unavailable: retry later.
    #[error("temporarily unavailable; retry")]
    Unavailable(#[source] BoxError),
    /// Stored data does not read back: retrying will not help; an operator must look.
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    /// A fault in this code (a value that does not serialize, a task that panicked).
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// Whether the same call may succeed later: the store or queue was unavailable, or
    /// concurrent writers kept winning. Everything else fails the same way every time.
    pub fn is_retryable(&self) -> bool {
        matches!(self, AppError::Unavailable(_) | AppError::Busy)
    }
}

impl From<crate::carriers::CredentialsError> for AppError {
    fn from(error: crate::carriers::CredentialsError) -> Self {
        match error {
            crate::carriers::CredentialsError::UnknownCourier(slug) => AppError::UnknownCourier(slug),
            crate::carriers::CredentialsError::Invalid(invalid) => AppError::Invalid(invalid),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => AppError::NotFound,
            StoreError::Duplicate(id) => AppError::Duplicate(id),
            StoreError::Conflict => AppError::Busy,
            StoreError::Unavailable(source) => AppError::Unavailable(source),
            StoreError::Corrupt(what) => AppError::Corrupt(what),
        }
    }
}
