//! Merchants' suppression lists: each entry as JSON under its tenant and id.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use super::{SqliteStore, corrupt, execute, unavailable};
use crate::domain::TenantId;
use crate::ports::{StoreError, Suppression, SuppressionList};

fn read(body: &str) -> Result<Suppression, StoreError> {
    serde_json::from_str(body).map_err(|_| corrupt("suppression"))
}

#[async_trait]
impl SuppressionList for SqliteStore {
    async fn suppress(&self, entry: &Suppression) -> Result<bool, StoreError> {
        let entry = entry.clone();
        self.write(move |tx| {
            let body = serde_json::to_string(&entry).expect("suppressions serialize");
            let added = execute(
                tx,
                "INSERT INTO suppressions (tenant_id, id, body) VALUES (?1, ?2, ?3)
                     ON CONFLICT (tenant_id, id) DO NOTHING",
                params![entry.tenant_id.as_str(), entry.id, body],
            )
            .map_err(unavailable)?;
            Ok(added == 1)
        })
        .await
    }

    async fn suppression(&self, tenant: &TenantId, id: &str) -> Result<Option<Suppression>, StoreError> {
        let (tenant, id) = (tenant.clone(), id.to_owned());
        self.read(move |connection| {
            let body: Option<String> = connection
                .prepare_cached("SELECT body FROM suppressions WHERE tenant_id = ?1 AND id = ?2")
                .and_then(|mut statement| {
                    statement.query_row(params![tenant.as_str(), id], |row| row.get(0)).optional()
                })
                .map_err(unavailable)?;
            body.map(|body| read(&body)).transpose()
        })
        .await
    }

    async fn suppressions(
        &self,
        tenant: &TenantId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Suppression>, StoreError> {
        let (tenant, after) = (tenant.clone(), after.unwrap_or_default().to_owned());
        self.read(move |connection| {
            let mut statement = connection
                .prepare_cached("SELECT body FROM suppressions WHERE tenant_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3")
                .map_err(unavailable)?;
            let rows = statement
                .query_map(params![tenant.as_str(), after, limit as i64], |row| row.get::<_, String>(0))
                .map_err(unavailable)?;
            rows.map(|row| read(&row.map_err(unavailable)?)).collect()
        })
        .await
    }

    async fn unsuppress(&self, tenant: &TenantId, id: &str) -> Result<bool, StoreError> {
        let (tenant, id) = (tenant.clone(), id.to_owned());
        self.write(move |tx| {
            let removed =
                execute(tx, "DELETE FROM suppressions WHERE tenant_id = ?1 AND id = ?2", params![tenant.as_str(), id])
                    .map_err(unavailable)?;
            Ok(removed == 1)
        })
        .await
    }
}
