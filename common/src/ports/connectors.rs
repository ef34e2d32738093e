//! Storefront connectors: a merchant's Shopify or WooCommerce store, its secrets sealed, and
//! what its webhooks have delivered (for deduplication and ordering).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::domain::TenantId;
use crate::storefronts::Platform;

/// Most connectors a merchant may have.
pub const MAX_CONNECTORS: usize = 50;
/// How long a webhook delivery's id is remembered (the platforms retry for up to 48 hours).
pub const DELIVERY_MEMORY_DAYS: i64 = 7;

/// A backfill's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackfillState {
    /// Pages are being read.
    Running,
    /// Every page was read.
    Done,
    /// The store refused or failed for good; `error` says why.
    Failed,
}

/// A backfill of a store's recent orders: where it is, and what it did so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backfill {
    /// Its id, named by the queued messages that carry it on (a newer backfill ends an older).
    pub id: String,
    /// Its state.
    pub state: BackfillState,
    /// Orders changed since this time are read.
    pub since: DateTime<Utc>,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// Pages read.
    pub pages: u32,
    /// Orders stored.
    pub orders: u64,
    /// Trackings created.
    pub trackings: u64,
    /// The store's total of matching orders, when it tells it.
    pub total: Option<u64>,
    /// Where the next page starts (the platform's cursor or page number).
    pub cursor: Option<String>,
    /// Why it failed, or the last number it could not track.
    pub error: Option<String>,
}

/// A connector's record, secrets apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorRecord {
    /// The platform.
    pub platform: Platform,
    /// The store: a Shopify shop domain (`example.myshopify.com`) or a WooCommerce site URL.
    pub shop: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
    /// When a webhook was last accepted.
    #[serde(default)]
    pub last_webhook_at: Option<DateTime<Utc>>,
    /// The latest backfill.
    #[serde(default)]
    pub backfill: Option<Backfill>,
}

/// A connector as stored: its record and its secrets, sealed by the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredConnector {
    /// The owner.
    pub tenant_id: TenantId,
    /// Its id (`con_` and 32 hex digits), unique across tenants: webhooks name it.
    pub id: String,
    /// The secrets: nonce and ciphertext.
    pub sealed_secrets: Vec<u8>,
    /// The rest.
    pub record: ConnectorRecord,
}

/// What a store's change did to the newest version Porchlight has of the thing it changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advance {
    /// It is as new as, or newer than, what was applied: apply it.
    Fresh,
    /// Something newer was applied already: drop it.
    Stale,
    /// The thing was deleted: drop it.
    Deleted,
}

/// The connectors, keyed by tenant, and their webhooks' deliveries.
#[async_trait]
pub trait ConnectorStore: Send + Sync {
    /// Stores a new connector. `Conflict` if the id exists.
    async fn insert_connector(&self, connector: &StoredConnector) -> Result<(), StoreError>;
    /// Replaces a connector's secrets and record. `NotFound` if the tenant has no such
    /// connector.
    async fn update_connector(&self, connector: &StoredConnector) -> Result<(), StoreError>;
    /// One of the tenant's connectors.
    async fn get_connector(&self, tenant: &TenantId, id: &str) -> Result<Option<StoredConnector>, StoreError>;
    /// The tenant's connectors, oldest first (at most [`MAX_CONNECTORS`]).
    async fn list_connectors(&self, tenant: &TenantId) -> Result<Vec<StoredConnector>, StoreError>;
    /// Deletes a connector, with what its deliveries left. `NotFound` if the tenant has none.
    async fn delete_connector(&self, tenant: &TenantId, id: &str) -> Result<(), StoreError>;
    /// The tenant a connector belongs to: the one cross-tenant read, for the platforms'
    /// webhooks, whose path names the connector only.
    async fn connector_tenant(&self, id: &str) -> Result<Option<TenantId>, StoreError>;
    /// Whether the connector's delivery `delivery_id` was handled within
    /// [`DELIVERY_MEMORY_DAYS`].
    async fn delivery_seen(&self, tenant: &TenantId, connector: &str, delivery_id: &str) -> Result<bool, StoreError>;
    /// Remembers that delivery `delivery_id` was handled at `at`.
    async fn remember_delivery(
        &self,
        tenant: &TenantId,
        connector: &str,
        delivery_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Records that the store changed `resource` (`order:<id>`, `fulfillment:<id>`) at
    /// `changed_at` (or deleted it), unless a later change, or its deletion, was recorded:
    /// atomically, so that of two racing changes the older never wins.
    async fn advance_resource(
        &self,
        tenant: &TenantId,
        connector: &str,
        resource: &str,
        changed_at: DateTime<Utc>,
        deleted: bool,
    ) -> Result<Advance, StoreError>;
    /// Whether `resource` was recorded deleted.
    async fn resource_deleted(&self, tenant: &TenantId, connector: &str, resource: &str) -> Result<bool, StoreError>;
}
