//! Tenants and API keys (stored as SHA-256 digests, never the key).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{SqliteStore, corrupt, execute, from_micros, is_unique_violation, micros, unavailable};
use crate::domain::TenantId;
use crate::ports::{ApiKeyRecord, StoreError, Tenant, TenantStore};

#[async_trait]
impl TenantStore for SqliteStore {
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let tenant = tenant.clone();
        self.write(move |tx| {
            execute(
                tx,
                "INSERT INTO tenants (id, name, created_at) VALUES (?1, ?2, ?3)",
                params![tenant.id.as_str(), tenant.name, micros(tenant.created_at)],
            )
            .map_err(|e| if is_unique_violation(&e, "tenants.id") { StoreError::Conflict } else { unavailable(e) })?;
            Ok(())
        })
        .await
    }

    async fn get_tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        let id = id.clone();
        self.read_by_key(move |connection| {
            connection
                .query_row("SELECT name, created_at FROM tenants WHERE id = ?1", params![id.as_str()], |row| {
                    Ok(Tenant { id: id.clone(), name: row.get(0)?, created_at: from_micros(row.get(1)?) })
                })
                .optional()
                .map_err(unavailable)
        })
        .await
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        self.read(|connection| {
            let mut statement = connection
                .prepare("SELECT id, name, created_at FROM tenants ORDER BY created_at, id")
                .map_err(unavailable)?;
            let rows = statement
                .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get::<_, i64>(2)?)))
                .map_err(unavailable)?;
            rows.map(|row| {
                let (id, name, created_at) = row.map_err(unavailable)?;
                Ok(Tenant {
                    id: TenantId::parse(&id).map_err(|_| corrupt("id"))?,
                    name,
                    created_at: from_micros(created_at),
                })
            })
            .collect()
        })
        .await
    }

    async fn add_api_key(&self, record: &ApiKeyRecord, digest: &[u8; 32]) -> Result<(), StoreError> {
        let (record, digest) = (record.clone(), *digest);
        self.write(move |tx| {
            let exists: bool = tx
                .query_row("SELECT 1 FROM tenants WHERE id = ?1", params![record.tenant_id.as_str()], |_| Ok(true))
                .optional()
                .map_err(unavailable)?
                .unwrap_or(false);
            if !exists {
                return Err(StoreError::NotFound);
            }
            execute(
                tx,
                "INSERT INTO api_keys (digest, key_id, tenant_id, created_at, revoked_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    &digest[..],
                    record.key_id,
                    record.tenant_id.as_str(),
                    micros(record.created_at),
                    record.revoked_at.map(micros)
                ],
            )
            .map_err(|e| if is_unique_violation(&e, "api_keys.") { StoreError::Conflict } else { unavailable(e) })?;
            Ok(())
        })
        .await
    }

    async fn tenant_for_key(&self, digest: &[u8; 32]) -> Result<Option<TenantId>, StoreError> {
        let digest = *digest;
        self.read_by_key(move |connection| {
            let mut statement = connection
                .prepare_cached("SELECT tenant_id FROM api_keys WHERE digest = ?1 AND revoked_at IS NULL")
                .map_err(unavailable)?;
            let tenant: Option<String> =
                statement.query_row(params![&digest[..]], |row| row.get(0)).optional().map_err(unavailable)?;
            tenant.map(|t| TenantId::parse(&t).map_err(|_| corrupt("tenant_id"))).transpose()
        })
        .await
    }

    async fn revoke_api_key(&self, tenant: &TenantId, key_id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        let (tenant, key_id) = (tenant.clone(), key_id.to_owned());
        self.write(move |tx| {
            let found = execute(
                tx,
                "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?3) WHERE tenant_id = ?1 AND key_id = ?2",
                params![tenant.as_str(), key_id, micros(at)],
            )
            .map_err(unavailable)?;
            if found == 0 { Err(StoreError::NotFound) } else { Ok(()) }
        })
        .await
    }

    async fn list_api_keys(&self, tenant: &TenantId) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let tenant = tenant.clone();
        self.read(move |connection| {
            let mut statement = connection
                .prepare("SELECT key_id, created_at, revoked_at FROM api_keys WHERE tenant_id = ?1 ORDER BY created_at, key_id")
                .map_err(unavailable)?;
            let rows = statement
                .query_map(params![tenant.as_str()], |row| {
                    Ok(ApiKeyRecord {
                        key_id: row.get(0)?,
                        tenant_id: tenant.clone(),
                        created_at: from_micros(row.get(1)?),
                        revoked_at: row.get::<_, Option<i64>>(2)?.map(from_micros),
                    })
                })
                .map_err(unavailable)?;
            rows.collect::<Result<_, _>>().map_err(unavailable)
        })
        .await
    }
}
