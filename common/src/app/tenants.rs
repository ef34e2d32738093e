//! Tenants and API keys: keys are random, shown once, stored as SHA-256 digests, revocable.

use std::fmt;

use sha2::{Digest, Sha256};

use super::{AppError, Deps};
use crate::domain::{DomainError, TenantId};
use crate::ports::{ApiKeyRecord, StoreError, Tenant};
use crate::secrets::random_bytes;

/// A freshly made API key. The secret exists only here: the store keeps its digest. `Debug`
/// hides the secret.
pub struct ApiKey {
    /// The public handle, for listing and revoking.
    pub key_id: String,
    /// The key to put in the `as-api-key` header.
    pub secret: String,
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKey").field("key_id", &self.key_id).field("secret", &"<redacted>").finish()
    }
}

fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Creates a tenant named `name` (1 to 200 characters) and its first API key.
pub async fn create_tenant(deps: &Deps, name: &str) -> Result<(Tenant, ApiKey), AppError> {
    if name.chars().count() > 200 {
        return Err(DomainError::invalid("name", "must be 1 to 200 characters").into());
    }
    if name.chars().any(char::is_control) {
        return Err(DomainError::invalid("name", "must not hold control characters").into());
    }
    let name = name.trim();
    if name.is_empty() {
        return Err(DomainError::invalid("name", "must hold more than spaces").into());
    }
    let tenant = Tenant { id: TenantId::random(), name: name.to_owned(), created_at: deps.clock.now() };
    deps.tenants.create_tenant(&tenant).await?;
    super::pages::create_default_page(deps, &tenant.id).await?;
    let key = create_api_key(deps, &tenant.id).await?;
    tracing::info!(tenant_id = %tenant.id, key_id = %key.key_id, "tenant created");
    Ok((tenant, key))
}

/// Makes another API key for an existing tenant. `NotFound` if there is no such tenant.
pub async fn create_api_key(deps: &Deps, tenant: &TenantId) -> Result<ApiKey, AppError> {
    // 192 random bits from the OS generator, 48 hex characters.
    let secret = format!("plk_{}", hex::encode(random_bytes::<24>()));
    let record = ApiKeyRecord {
        key_id: format!("key_{}", hex::encode(random_bytes::<6>())),
        tenant_id: tenant.clone(),
        created_at: deps.clock.now(),
        revoked_at: None,
    };
    deps.tenants.add_api_key(&record, &digest(&secret)).await?;
    Ok(ApiKey { key_id: record.key_id, secret })
}

/// Revokes a tenant's key; requests with it fail from then on.
pub async fn revoke_api_key(deps: &Deps, tenant: &TenantId, key_id: &str) -> Result<(), AppError> {
    deps.tenants.revoke_api_key(tenant, key_id, deps.clock.now()).await?;
    tracing::info!(tenant_id = %tenant, key_id, "api key revoked");
    Ok(())
}

/// The tenant an `as-api-key` value acts for. `Unauthorized` for a missing, unknown or revoked key.
pub async fn authenticate(deps: &Deps, secret: Option<&str>) -> Result<TenantId, AppError> {
    let secret = secret.map(str::trim).filter(|s| !s.is_empty()).ok_or(AppError::Unauthorized)?;
    match deps.tenants.tenant_for_key(&digest(secret)).await {
        Ok(Some(tenant)) => Ok(tenant),
        Ok(None) => Err(AppError::Unauthorized),
        Err(StoreError::NotFound) => Err(AppError::Unauthorized),
        Err(other) => Err(AppError::from(other)),
    }
}
