//! Storefront connectors: the record as JSON beside its sealed secrets; webhook deliveries
//! remembered for a week; the newest change applied per store resource.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{SqliteStore, corrupt, execute, is_unique_violation, micros, unavailable};
use crate::domain::TenantId;
use crate::ports::{Advance, ConnectorStore, MAX_CONNECTORS, StoreError, StoredConnector};

fn connector_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(String, String, Vec<u8>, String)> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
}

fn connector_from_parts(parts: (String, String, Vec<u8>, String)) -> Result<StoredConnector, StoreError> {
    let (tenant, id, sealed_secrets, body) = parts;
    Ok(StoredConnector {
        tenant_id: TenantId::parse(&tenant).map_err(|_| corrupt("tenant_id"))?,
        id,
        sealed_secrets,
        record: serde_json::from_str(&body).map_err(|_| corrupt("connector"))?,
    })
}

fn body_of(connector: &StoredConnector) -> Result<String, StoreError> {
    serde_json::to_string(&connector.record).map_err(unavailable)
}

impl SqliteStore {
    /// Forgets webhook deliveries handled before `before`, at most `limit` of them.
    pub async fn purge_connector_deliveries(&self, before: DateTime<Utc>, limit: usize) -> Result<usize, StoreError> {
        self.write(move |tx| {
            execute(
                tx,
                "DELETE FROM connector_deliveries WHERE rowid IN (
                     SELECT rowid FROM connector_deliveries WHERE handled_at < ?1 LIMIT ?2)",
                params![micros(before), limit as i64],
            )
            .map_err(unavailable)
        })
        .await
    }
}

#[async_trait]
impl ConnectorStore for SqliteStore {
    async fn insert_connector(&self, connector: &StoredConnector) -> Result<(), StoreError> {
        let (c, body) = (connector.clone(), body_of(connector)?);
        self.write(move |tx| {
            execute(
                tx,
                "INSERT INTO connectors (tenant_id, id, sealed_secrets, body) VALUES (?1, ?2, ?3, ?4)",
                params![c.tenant_id.as_str(), c.id, c.sealed_secrets, body],
            )
            .map_err(|e| if is_unique_violation(&e, "connectors.") { StoreError::Conflict } else { unavailable(e) })?;
            Ok(())
        })
        .await
    }

    async fn update_connector(&self, connector: &StoredConnector) -> Result<(), StoreError> {
        let (c, body) = (connector.clone(), body_of(connector)?);
        self.write(move |tx| {
            let changed = execute(
                tx,
                "UPDATE connectors SET sealed_secrets = ?3, body = ?4 WHERE tenant_id = ?1 AND id = ?2",
                params![c.tenant_id.as_str(), c.id, c.sealed_secrets, body],
            )
            .map_err(unavailable)?;
            if changed == 0 { Err(StoreError::NotFound) } else { Ok(()) }
        })
        .await
    }

    async fn get_connector(&self, tenant: &TenantId, id: &str) -> Result<Option<StoredConnector>, StoreError> {
        let (tenant, id) = (tenant.clone(), id.to_owned());
        self.read_by_key(move |connection| {
            connection
                .prepare_cached(
                    "SELECT tenant_id, id, sealed_secrets, body FROM connectors WHERE tenant_id = ?1 AND id = ?2",
                )
                .map_err(unavailable)?
                .query_row(params![tenant.as_str(), id], connector_from_row)
                .optional()
                .map_err(unavailable)?
                .map(connector_from_parts)
                .transpose()
        })
        .await
    }

    async fn list_connectors(&self, tenant: &TenantId) -> Result<Vec<StoredConnector>, StoreError> {
        let tenant = tenant.clone();
        self.read(move |connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT tenant_id, id, sealed_secrets, body FROM connectors WHERE tenant_id = ?1
                     ORDER BY rowid LIMIT ?2",
                )
                .map_err(unavailable)?;
            let rows = statement
                .query_map(params![tenant.as_str(), MAX_CONNECTORS as i64], connector_from_row)
                .map_err(unavailable)?;
            rows.map(|row| connector_from_parts(row.map_err(unavailable)?)).collect()
        })
        .await
    }

    async fn delete_connector(&self, tenant: &TenantId, id: &str) -> Result<(), StoreError> {
        let (tenant, id) = (tenant.clone(), id.to_owned());
        self.write(move |tx| {
            let deleted =
                execute(tx, "DELETE FROM connectors WHERE tenant_id = ?1 AND id = ?2", params![tenant.as_str(), id])
                    .map_err(unavailable)?;
            if deleted == 0 {
                return Err(StoreError::NotFound);
            }
            for table in ["connector_deliveries", "connector_resources"] {
                execute(
                    tx,
                    &format!("DELETE FROM {table} WHERE tenant_id = ?1 AND connector_id = ?2"),
                    params![tenant.as_str(), id],
                )
                .map_err(unavailable)?;
            }
            Ok(())
        })
        .await
    }

    async fn connector_tenant(&self, id: &str) -> Result<Option<TenantId>, StoreError> {
        let id = id.to_owned();
        self.read_by_key(move |connection| {
            let tenant: Option<String> = connection
                .prepare_cached("SELECT tenant_id FROM connectors WHERE id = ?1")
                .map_err(unavailable)?
                .query_row(params![id], |row| row.get(0))
                .optional()
                .map_err(unavailable)?;
            tenant.map(|t| TenantId::parse(&t).map_err(|_| corrupt("tenant_id"))).transpose()
        })
        .await
    }

    async fn delivery_seen(&self, tenant: &TenantId, connector: &str, delivery_id: &str) -> Result<bool, StoreError> {
        let (tenant, connector, delivery) = (tenant.clone(), connector.to_owned(), delivery_id.to_owned());
        self.read_by_key(move |connection| {
            connection
                .prepare_cached(
                    "SELECT 1 FROM connector_deliveries WHERE tenant_id = ?1 AND connector_id = ?2 AND delivery_id = ?3",
                )
                .map_err(unavailable)?
                .query_row(params![tenant.as_str(), connector, delivery], |_| Ok(()))
                .optional()
                .map(|found| found.is_some())
                .map_err(unavailable)
        })
        .await
    }

    async fn remember_delivery(
        &self,
        tenant: &TenantId,
        connector: &str,
        delivery_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (tenant, connector, delivery) = (tenant.clone(), connector.to_owned(), delivery_id.to_owned());
        self.write(move |tx| {
            execute(
                tx,
                "INSERT INTO connector_deliveries (tenant_id, connector_id, delivery_id, handled_at)
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                params![tenant.as_str(), connector, delivery, micros(at)],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn advance_resource(
        &self,
        tenant: &TenantId,
        connector: &str,
        resource: &str,
        changed_at: DateTime<Utc>,
        deleted: bool,
    ) -> Result<Advance, StoreError> {
        let (tenant, connector, resource) = (tenant.clone(), connector.to_owned(), resource.to_owned());
        self.write(move |tx| {
            let known: Option<(i64, bool)> = tx
                .query_row(
                    "SELECT changed_at, deleted FROM connector_resources
                     WHERE tenant_id = ?1 AND connector_id = ?2 AND resource = ?3",
                    params![tenant.as_str(), connector, resource],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()
                .map_err(unavailable)?;
            let at = micros(changed_at);
            match known {
                Some((_, true)) => return Ok(Advance::Deleted),
                Some((known_at, false)) if known_at > at && !deleted => return Ok(Advance::Stale),
                _ => {}
            }
            execute(
                tx,
                "INSERT INTO connector_resources (tenant_id, connector_id, resource, changed_at, deleted)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (tenant_id, connector_id, resource)
                 DO UPDATE SET changed_at = max(changed_at, excluded.changed_at), deleted = excluded.deleted",
                params![tenant.as_str(), connector, resource, at, deleted],
            )
            .map_err(unavailable)?;
            Ok(Advance::Fresh)
        })
        .await
    }

    async fn resource_deleted(&self, tenant: &TenantId, connector: &str, resource: &str) -> Result<bool, StoreError> {
        let (tenant, connector, resource) = (tenant.clone(), connector.to_owned(), resource.to_owned());
        self.read_by_key(move |connection| {
            let deleted: Option<bool> = connection
                .prepare_cached(
                    "SELECT deleted FROM connector_resources WHERE tenant_id = ?1 AND connector_id = ?2 AND resource = ?3",
                )
                .map_err(unavailable)?
                .query_row(params![tenant.as_str(), connector, resource], |row| row.get(0))
                .optional()
                .map_err(unavailable)?;
            Ok(deleted.unwrap_or(false))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone, Utc};

    use crate::adapters::sqlite::SqliteStore;
    use crate::domain::TenantId;
    use crate::ports::ConnectorStore;

    /// Deliveries are forgotten after the week the platforms may retry them in.
    #[tokio::test]
    async fn the_purge_forgets_deliveries_older_than_the_cutoff() {
        let store = SqliteStore::in_memory().expect("store");
        let tenant = TenantId::random();
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).single().expect("time");
        store.remember_delivery(&tenant, "con_a", "old", now - Duration::days(8)).await.expect("remembered");
        store.remember_delivery(&tenant, "con_a", "new", now - Duration::days(1)).await.expect("remembered");
        assert_eq!(store.purge_connector_deliveries(now - Duration::days(7), 100).await.expect("purged"), 1);
        assert!(!store.delivery_seen(&tenant, "con_a", "old").await.expect("read"));
        assert!(store.delivery_seen(&tenant, "con_a", "new").await.expect("read"));
    }
}
