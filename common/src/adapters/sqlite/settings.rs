//! Settings documents: one row per tenant and kind, the document as JSON, its version.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use super::{SqliteStore, corrupt, execute, unavailable};
use crate::domain::TenantId;
use crate::ports::{SettingsKind, SettingsStore, StoreError, Versioned};

#[async_trait]
impl SettingsStore for SqliteStore {
    async fn get_settings(&self, tenant: &TenantId, kind: SettingsKind) -> Result<Option<Versioned>, StoreError> {
        let tenant = tenant.clone();
        let row: Option<(String, i64)> = self
            .read_by_key(move |connection| {
                connection
                    .prepare_cached("SELECT body, version FROM tenant_settings WHERE tenant_id = ?1 AND kind = ?2")
                    .and_then(|mut statement| {
                        statement
                            .query_row(params![tenant.as_str(), kind.as_str()], |row| Ok((row.get(0)?, row.get(1)?)))
                            .optional()
                    })
                    .map_err(unavailable)
            })
            .await?;
        row.map(|(body, version)| {
            let value = serde_json::from_str(&body).map_err(|_| corrupt("settings body"))?;
            Ok(Versioned { value, version: version as u64 })
        })
        .transpose()
    }

    async fn put_settings(
        &self,
        tenant: &TenantId,
        kind: SettingsKind,
        value: &serde_json::Value,
        read_version: u64,
    ) -> Result<u64, StoreError> {
        let (tenant, body) = (tenant.clone(), serde_json::to_string(value).map_err(unavailable)?);
        let version = read_version + 1;
        self.write(move |tx| {
            let written = if read_version == 0 {
                execute(
                    tx,
                    "INSERT INTO tenant_settings (tenant_id, kind, version, body) VALUES (?1, ?2, 1, ?3)
                     ON CONFLICT (tenant_id, kind) DO NOTHING",
                    params![tenant.as_str(), kind.as_str(), body],
                )
            } else {
                execute(
                    tx,
                    "UPDATE tenant_settings SET version = ?4, body = ?3
                     WHERE tenant_id = ?1 AND kind = ?2 AND version = ?5",
                    params![tenant.as_str(), kind.as_str(), body, version as i64, read_version as i64],
                )
            }
            .map_err(unavailable)?;
            if written == 1 { Ok(version) } else { Err(StoreError::Conflict) }
        })
        .await
    }
}
