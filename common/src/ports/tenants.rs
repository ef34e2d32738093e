//! Merchants (tenants) and their API keys.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::domain::TenantId;

/// A merchant account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    /// Its id.
    pub id: TenantId,
    /// Its display name.
    pub name: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// An API key's record; the key itself is never stored, only its SHA-256 digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    /// A public handle for the key, for listing and revoking.
    pub key_id: String,
    /// The tenant the key acts for.
    pub tenant_id: TenantId,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Tenants and their API keys.
#[async_trait]
pub trait TenantStore: Send + Sync {
    /// Creates a tenant. `Conflict` if the id exists.
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError>;
    /// Reads a tenant.
    async fn get_tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError>;
    /// Every tenant, oldest first.
    async fn list_tenants(&self) -> Result<Vec<Tenant>, StoreError>;
    /// Stores a key's digest. `NotFound` if the tenant does not exist; `Conflict` if the digest
    /// or the key id exists.
    async fn add_api_key(&self, record: &ApiKeyRecord, digest: &[u8; 32]) -> Result<(), StoreError>;
    /// The tenant a key digest acts for; `None` for unknown or revoked keys.
    async fn tenant_for_key(&self, digest: &[u8; 32]) -> Result<Option<TenantId>, StoreError>;
    /// Revokes a key at `at`. `NotFound` if the tenant has no such key. Revoking twice keeps the
    /// first time.
    async fn revoke_api_key(&self, tenant: &TenantId, key_id: &str, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// A tenant's keys, oldest first.
    async fn list_api_keys(&self, tenant: &TenantId) -> Result<Vec<ApiKeyRecord>, StoreError>;
}
