//! Courier connections: sealed credentials per tenant.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use super::{SqliteStore, corrupt, execute, from_micros, is_unique_violation, micros, unavailable};
use crate::domain::{Slug, TenantId};
use crate::ports::{ConnectionStore, StoreError, StoredConnection};

fn connection_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(String, String, String, Vec<u8>, i64, i64)> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?))
}

fn connection_from_parts(parts: (String, String, String, Vec<u8>, i64, i64)) -> Result<StoredConnection, StoreError> {
    let (tenant, id, slug, sealed_credentials, created_at, updated_at) = parts;
    Ok(StoredConnection {
        tenant_id: TenantId::parse(&tenant).map_err(|_| corrupt("tenant_id"))?,
        id,
        courier_slug: Slug::parse(&slug).map_err(|_| corrupt("courier_slug"))?,
        sealed_credentials,
        created_at: from_micros(created_at),
        updated_at: from_micros(updated_at),
    })
}

const CONNECTION_COLUMNS: &str = "tenant_id, id, courier_slug, sealed_credentials, created_at, updated_at";

#[async_trait]
impl ConnectionStore for SqliteStore {
    async fn insert_connection(&self, connection: &StoredConnection) -> Result<(), StoreError> {
        let c = connection.clone();
        self.write(move |tx| {
            execute(
                tx,
                &format!("INSERT INTO courier_connections ({CONNECTION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
                params![
                    c.tenant_id.as_str(),
                    c.id,
                    c.courier_slug.as_str(),
                    c.sealed_credentials,
                    micros(c.created_at),
                    micros(c.updated_at)
                ],
            )
            .map_err(|e| {
                if is_unique_violation(&e, "courier_connections.") { StoreError::Conflict } else { unavailable(e) }
            })?;
            Ok(())
        })
        .await
    }

    async fn get_connection(&self, tenant: &TenantId, id: &str) -> Result<Option<StoredConnection>, StoreError> {
        let (tenant, id) = (tenant.clone(), id.to_owned());
        self.read_by_key(move |connection| {
            connection
                .query_row(
                    &format!("SELECT {CONNECTION_COLUMNS} FROM courier_connections WHERE tenant_id = ?1 AND id = ?2"),
                    params![tenant.as_str(), id],
                    connection_from_row,
                )
                .optional()
                .map_err(unavailable)?
                .map(connection_from_parts)
                .transpose()
        })
        .await
    }

    async fn update_connection(&self, connection: &StoredConnection) -> Result<(), StoreError> {
        let c = connection.clone();
        self.write(move |tx| {
            let changed = execute(tx,
                    "UPDATE courier_connections SET sealed_credentials = ?3, updated_at = ?4 WHERE tenant_id = ?1 AND id = ?2",
                    params![c.tenant_id.as_str(), c.id, c.sealed_credentials, micros(c.updated_at)],
                )
                .map_err(unavailable)?;
            if changed == 0 { Err(StoreError::NotFound) } else { Ok(()) }
        })
        .await
    }

    async fn delete_connection(&self, tenant: &TenantId, id: &str) -> Result<StoredConnection, StoreError> {
        let (tenant, id) = (tenant.clone(), id.to_owned());
        self.write(move |tx| {
            let parts = tx
                .query_row(
                    &format!("DELETE FROM courier_connections WHERE tenant_id = ?1 AND id = ?2 RETURNING {CONNECTION_COLUMNS}"),
                    params![tenant.as_str(), id],
                    connection_from_row,
                )
                .optional()
                .map_err(unavailable)?
                .ok_or(StoreError::NotFound)?;
            connection_from_parts(parts)
        })
        .await
    }

    async fn list_connections(
        &self,
        tenant: &TenantId,
        slug: Option<&Slug>,
        after_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StoredConnection>, StoreError> {
        let (tenant, slug, after) =
            (tenant.clone(), slug.map(|s| s.as_str().to_owned()), after_id.unwrap_or("").to_owned());
        self.read(move |connection| {
            let mut statement = connection
                .prepare_cached(&format!(
                    "SELECT {CONNECTION_COLUMNS} FROM courier_connections
                     WHERE tenant_id = ?1 AND (?2 IS NULL OR courier_slug = ?2) AND id > ?3 ORDER BY id LIMIT ?4"
                ))
                .map_err(unavailable)?;
            let rows = statement
                .query_map(params![tenant.as_str(), slug, after, limit as i64], connection_from_row)
                .map_err(unavailable)?;
            rows.map(|row| connection_from_parts(row.map_err(unavailable)?)).collect()
        })
        .await
    }
}
