//! Orders: each as JSON under its tenant and id, its number beside it for the portal's lookup.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use super::{SqliteStore, corrupt, execute, micros, unavailable};
use crate::domain::{Order, TenantId};
use crate::ports::{MAX_LOOKUP, OrderStore, StoreError};

fn read(body: &str) -> Result<Order, StoreError> {
    serde_json::from_str(body).map_err(|_| corrupt("order"))
}

fn read_all(statement: &mut rusqlite::Statement<'_>, values: impl rusqlite::Params) -> Result<Vec<Order>, StoreError> {
    let rows = statement.query_map(values, |row| row.get::<_, String>(0)).map_err(unavailable)?;
    rows.map(|row| read(&row.map_err(unavailable)?)).collect()
}

#[async_trait]
impl OrderStore for SqliteStore {
    async fn put_order(&self, order: &Order) -> Result<bool, StoreError> {
        let order = order.clone();
        self.write(move |tx| {
            let body = serde_json::to_string(&order).expect("orders serialize");
            let existed: Option<i64> = tx
                .prepare_cached("SELECT 1 FROM orders WHERE tenant_id = ?1 AND id = ?2")
                .and_then(|mut s| s.query_row(params![order.tenant_id.as_str(), order.id], |row| row.get(0)).optional())
                .map_err(unavailable)?;
            execute(
                tx,
                "INSERT INTO orders (tenant_id, id, order_number, updated_at, body) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (tenant_id, id) DO UPDATE SET order_number = ?3, updated_at = ?4, body = ?5",
                params![order.tenant_id.as_str(), order.id, order.order_number, micros(order.updated_at), body],
            )
            .map_err(unavailable)?;
            Ok(existed.is_none())
        })
        .await
    }

    async fn delete_order(&self, tenant: &TenantId, id: &str) -> Result<bool, StoreError> {
        let (tenant, id) = (tenant.clone(), id.to_owned());
        self.write(move |tx| {
            let deleted =
                execute(tx, "DELETE FROM orders WHERE tenant_id = ?1 AND id = ?2", params![tenant.as_str(), id])
                    .map_err(unavailable)?;
            Ok(deleted > 0)
        })
        .await
    }

    async fn order(&self, tenant: &TenantId, id: &str) -> Result<Option<Order>, StoreError> {
        let (tenant, id) = (tenant.clone(), id.to_owned());
        self.read(move |connection| {
            let body: Option<String> = connection
                .prepare_cached("SELECT body FROM orders WHERE tenant_id = ?1 AND id = ?2")
                .and_then(|mut s| s.query_row(params![tenant.as_str(), id], |row| row.get(0)).optional())
                .map_err(unavailable)?;
            body.map(|body| read(&body)).transpose()
        })
        .await
    }

    async fn orders(&self, tenant: &TenantId, after: Option<&str>, limit: usize) -> Result<Vec<Order>, StoreError> {
        let (tenant, after) = (tenant.clone(), after.unwrap_or_default().to_owned());
        self.read(move |connection| {
            let mut statement = connection
                .prepare_cached("SELECT body FROM orders WHERE tenant_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3")
                .map_err(unavailable)?;
            read_all(&mut statement, params![tenant.as_str(), after, limit as i64])
        })
        .await
    }

    async fn orders_by_number(&self, tenant: &TenantId, order_number: &str) -> Result<Vec<Order>, StoreError> {
        let (tenant, number) = (tenant.clone(), order_number.to_owned());
        self.read(move |connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT body FROM orders WHERE tenant_id = ?1 AND order_number = ?2 ORDER BY updated_at DESC LIMIT ?3",
                )
                .map_err(unavailable)?;
            read_all(&mut statement, params![tenant.as_str(), number, MAX_LOOKUP as i64])
        })
        .await
    }
}
