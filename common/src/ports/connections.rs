//! Merchants' courier connections (their own carrier accounts, credentials sealed).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::domain::{Slug, TenantId};

/// A merchant's account with a carrier, its credentials sealed (encrypted and authenticated)
/// by the application before they reach the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredConnection {
    /// The owner.
    pub tenant_id: TenantId,
    /// The connection's id (32 hex characters).
    pub id: String,
    /// The carrier.
    pub courier_slug: Slug,
    /// The sealed credentials: nonce and ciphertext.
    pub sealed_credentials: Vec<u8>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When its credentials last changed.
    pub updated_at: DateTime<Utc>,
}

/// Merchants' courier connections, keyed by tenant.
#[async_trait]
pub trait ConnectionStore: Send + Sync {
    /// Stores a new connection. `Conflict` if the id exists.
    async fn insert_connection(&self, connection: &StoredConnection) -> Result<(), StoreError>;
    /// Reads one of the tenant's connections.
    async fn get_connection(&self, tenant: &TenantId, id: &str) -> Result<Option<StoredConnection>, StoreError>;
    /// Replaces a connection's sealed credentials and `updated_at`. `NotFound` if the tenant has
    /// no such connection.
    async fn update_connection(&self, connection: &StoredConnection) -> Result<(), StoreError>;
    /// Deletes and returns a connection. `NotFound` if the tenant has no such connection.
    async fn delete_connection(&self, tenant: &TenantId, id: &str) -> Result<StoredConnection, StoreError>;
    /// The tenant's connections (of one carrier, if given), oldest first, after `after_id`.
    async fn list_connections(
        &self,
        tenant: &TenantId,
        slug: Option<&Slug>,
        after_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StoredConnection>, StoreError>;
}
