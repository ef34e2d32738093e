//! Merchants' webhook events and their deliveries: every event kept (for replays) with the exact
//! body endpoints are sent, and one delivery per endpoint and event, with its attempts, when it
//! is due, its lease while being sent, and its ending.
//!
//! Deliveries are at least once: planning one whose id exists does nothing, a dispatcher leases
//! what is due, and a dispatcher that crashes mid-attempt leaves the delivery to be leased again
//! when its lease runs out. Receivers deduplicate by `event_id`, as AfterShip asks them to.
//! The endpoints themselves are a settings document ([`super::SettingsKind::WebhookEndpoints`]).

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::StoreError;
use crate::domain::{TenantId, WebhookEvent};

/// Events a time range replay takes at most.
pub const MAX_REPLAY_EVENTS: usize = 10_000;

/// One event, as sent to every endpoint that takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEventRecord {
    /// The merchant.
    pub tenant_id: TenantId,
    /// The payload's `event_id` (UUID v4 form).
    pub event_id: String,
    /// The payload's `event`.
    pub event: WebhookEvent,
    /// The payload's `ts`.
    pub at: DateTime<Utc>,
    /// What it is about: the tracking's id, or the return's.
    pub subject: String,
    /// The JSON body exactly as sent and signed.
    pub body: Vec<u8>,
}

/// Where a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its next attempt, from `due_at`.
    Pending,
    /// An attempt was answered with a 2xx.
    Delivered,
    /// Every attempt failed, or its endpoint is gone: a dead letter the merchant can replay.
    Dead,
}

impl DeliveryState {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Dead => "dead",
        }
    }

    /// Reads [`DeliveryState::as_str`]'s spelling.
    pub fn parse(text: &str) -> Option<DeliveryState> {
        [DeliveryState::Pending, DeliveryState::Delivered, DeliveryState::Dead].into_iter().find(|s| s.as_str() == text)
    }
}

/// One attempt to deliver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// When it started.
    pub at: DateTime<Utc>,
    /// The answer's status code, if one came.
    pub status: Option<u16>,
    /// How long it took, in milliseconds.
    pub latency_ms: u32,
    /// Why it failed without an answer, or was not made (a refused address).
    pub error: Option<String>,
}

/// One event on its way to one endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// [`Delivery::delivery_id`].
    pub id: String,
    /// The merchant.
    pub tenant_id: TenantId,
    /// The endpoint.
    pub endpoint_id: String,
    /// The event.
    pub event_id: String,
    /// The event's code.
    pub event: WebhookEvent,
    /// When it was planned.
    pub created_at: DateTime<Utc>,
    /// When the next attempt may start.
    pub due_at: DateTime<Utc>,
    /// Where it is.
    pub state: DeliveryState,
    /// Every attempt, oldest first.
    pub attempts: Vec<Attempt>,
    /// How many of `attempts` came before the last replay: retries count from there.
    pub replayed_after: u32,
}

impl Delivery {
    /// The id of delivering `event_id` to `endpoint`, the `round`-th time (0 for the event's
    /// own delivery, a replay's id for replays): 32 hex characters of a SHA-256.
    pub fn delivery_id(tenant: &TenantId, endpoint: &str, event_id: &str, round: &str) -> String {
        let identity = [tenant.as_str(), endpoint, event_id, round].join("\u{1f}");
        hex::encode(&Sha256::digest(identity.as_bytes())[..16])
    }

    /// A delivery of `event` to `endpoint`, due at `at`.
    pub fn new(event: &WebhookEventRecord, endpoint: &str, round: &str, at: DateTime<Utc>) -> Self {
        Delivery {
            id: Delivery::delivery_id(&event.tenant_id, endpoint, &event.event_id, round),
            tenant_id: event.tenant_id.clone(),
            endpoint_id: endpoint.to_owned(),
            event_id: event.event_id.clone(),
            event: event.event,
            created_at: at,
            due_at: at,
            state: DeliveryState::Pending,
            attempts: Vec::new(),
            replayed_after: 0,
        }
    }

    /// Attempts made since it was planned or last replayed.
    pub fn attempts_this_round(&self) -> u32 {
        (self.attempts.len() as u32).saturating_sub(self.replayed_after)
    }
}

/// What follows an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterAttempt {
    /// Try again from `at`.
    RetryAt(DateTime<Utc>),
    /// Delivered.
    Delivered,
    /// Given up: a dead letter.
    Dead,
}

/// Events and deliveries, keyed by tenant.
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Keeps an event unless one with its id exists: `true` if it was kept now.
    async fn record_event(&self, event: &WebhookEventRecord) -> Result<bool, StoreError>;
    /// The tenant's event `event_id`.
    async fn event(&self, tenant: &TenantId, event_id: &str) -> Result<Option<WebhookEventRecord>, StoreError>;
    /// The tenant's events with `from <= at < to`, oldest first, at most `limit`.
    async fn events_between(
        &self,
        tenant: &TenantId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<WebhookEventRecord>, StoreError>;
    /// Records a delivery unless one with its id exists: `true` if it was planned now.
    async fn plan_delivery(&self, delivery: &Delivery) -> Result<bool, StoreError>;
    /// Leases up to `max` pending deliveries of any tenant that are due by `now` and not leased
    /// (or whose lease ran out), earliest due first, for `lease`.
    async fn lease_due_deliveries(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        max: usize,
    ) -> Result<Vec<Delivery>, StoreError>;
    /// Appends `attempt` to a pending delivery and moves it on as `next` says, its lease
    /// released. `NotFound` if the tenant has no such pending delivery.
    async fn record_attempt(
        &self,
        tenant: &TenantId,
        id: &str,
        attempt: &Attempt,
        next: AfterAttempt,
    ) -> Result<(), StoreError>;
    /// Moves a pending delivery's next attempt to `due_at` without counting one (its endpoint
    /// is resting after failures, or busy), its lease released. `NotFound` if the tenant has no
    /// such pending delivery.
    async fn postpone_delivery(&self, tenant: &TenantId, id: &str, due_at: DateTime<Utc>) -> Result<(), StoreError>;
    /// Puts a dead delivery back, due at `at`, its retries counted afresh. `NotFound` if the
    /// tenant has no such dead delivery.
    async fn replay_dead(&self, tenant: &TenantId, id: &str, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// The tenant's delivery `id`.
    async fn delivery(&self, tenant: &TenantId, id: &str) -> Result<Option<Delivery>, StoreError>;
    /// An endpoint's deliveries, newest first, created before `before` when given, only those
    /// in `state` when given, at most `limit`.
    async fn endpoint_deliveries(
        &self,
        tenant: &TenantId,
        endpoint: &str,
        state: Option<DeliveryState>,
        before: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError>;
    /// The tenant's events about `subject` (a tracking's or a return's id), newest first, at
    /// most `limit`.
    async fn subject_events(
        &self,
        tenant: &TenantId,
        subject: &str,
        limit: usize,
    ) -> Result<Vec<WebhookEventRecord>, StoreError>;
    /// The tenant's deliveries among `ids` (at most 100), those that exist, in no promised order.
    async fn deliveries(&self, tenant: &TenantId, ids: &[String]) -> Result<Vec<Delivery>, StoreError>;
    /// Replaces a recorded event's body (personal data redacted from it); deliveries still
    /// due send the new body. `NotFound` if the tenant has no such event.
    async fn replace_event_body(&self, tenant: &TenantId, event_id: &str, body: &[u8]) -> Result<(), StoreError>;
}
