//! Returns: the return as JSON under its tenant and id, versioned, beside its RMA number (unique
//! per tenant), its order, its creation time and, while it waits to expire, when it does.
//!
//! Listing reads the tenant's returns created in the filter's range and filters the rest in
//! code (`ReturnFilter::matches`), as the DynamoDB adapter does: exact, and fine for the
//! returns a merchant has in a year; a counted index is for when it is measured.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{SqliteStore, corrupt, execute, is_unique_violation, micros, unavailable};
use crate::domain::{Return, TenantId};
use crate::ports::{DueReturn, ReturnFilter, ReturnStore, StoreError};

fn read(body: &str, version: i64) -> Result<Return, StoreError> {
    let mut ret: Return = serde_json::from_str(body).map_err(|_| corrupt("return"))?;
    ret.version = version as u64;
    Ok(ret)
}

fn read_all(statement: &mut rusqlite::Statement<'_>, values: impl rusqlite::Params) -> Result<Vec<Return>, StoreError> {
    let rows = statement
        .query_map(values, |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)))
        .map_err(unavailable)?;
    rows.map(|row| {
        let (body, version) = row.map_err(unavailable)?;
        read(&body, version)
    })
    .collect()
}

fn one(
    connection: &rusqlite::Connection,
    sql: &str,
    values: impl rusqlite::Params,
) -> Result<Option<Return>, StoreError> {
    let row: Option<(String, i64)> = connection
        .prepare_cached(sql)
        .and_then(|mut s| s.query_row(values, |row| Ok((row.get(0)?, row.get(1)?))).optional())
        .map_err(unavailable)?;
    row.map(|(body, version)| read(&body, version)).transpose()
}

#[async_trait]
impl ReturnStore for SqliteStore {
    async fn return_by_id(&self, tenant: &TenantId, id: &str) -> Result<Option<Return>, StoreError> {
        let (tenant, id) = (tenant.clone(), id.to_owned());
        self.read(move |connection| {
            let sql = "SELECT body, version FROM returns WHERE tenant_id = ?1 AND id = ?2";
            one(connection, sql, params![tenant.as_str(), id])
        })
        .await
    }

    async fn return_by_rma(&self, tenant: &TenantId, rma: &str) -> Result<Option<Return>, StoreError> {
        let (tenant, rma) = (tenant.clone(), rma.to_owned());
        self.read(move |connection| {
            let sql = "SELECT body, version FROM returns WHERE tenant_id = ?1 AND rma_number = ?2";
            one(connection, sql, params![tenant.as_str(), rma])
        })
        .await
    }

    async fn returns_of_order(&self, tenant: &TenantId, order_id: &str) -> Result<Vec<Return>, StoreError> {
        let (tenant, order) = (tenant.clone(), order_id.to_owned());
        self.read(move |connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT body, version FROM returns WHERE tenant_id = ?1 AND order_id = ?2 ORDER BY created_at, id",
                )
                .map_err(unavailable)?;
            read_all(&mut statement, params![tenant.as_str(), order])
        })
        .await
    }

    async fn create_return(&self, ret: &Return, seen: usize) -> Result<u64, StoreError> {
        let ret = ret.clone();
        self.write(move |tx| {
            let count: i64 = tx
                .prepare_cached("SELECT count(*) FROM returns WHERE tenant_id = ?1 AND order_id = ?2")
                .and_then(|mut s| s.query_row(params![ret.tenant_id.as_str(), ret.order_id], |row| row.get(0)))
                .map_err(unavailable)?;
            if count as usize != seen {
                return Err(StoreError::Conflict);
            }
            let body = serde_json::to_string(&ret).expect("returns serialize");
            execute(
                tx,
                "INSERT INTO returns (tenant_id, id, rma_number, order_id, version, created_at, expires_at, body)
                 VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, ?7)",
                params![
                    ret.tenant_id.as_str(),
                    ret.id,
                    ret.rma_number,
                    ret.order_id,
                    micros(ret.created_at),
                    ret.expires_at().map(micros),
                    body
                ],
            )
            .map_err(|e| if is_unique_violation(&e, "returns.") { StoreError::Conflict } else { unavailable(e) })?;
            Ok(1)
        })
        .await
    }

    async fn put_return(&self, ret: &Return) -> Result<u64, StoreError> {
        let ret = ret.clone();
        self.write(move |tx| {
            let body = serde_json::to_string(&ret).expect("returns serialize");
            let next = ret.version + 1;
            let changed = execute(
                tx,
                "UPDATE returns SET version = ?3, expires_at = ?4, body = ?5
                 WHERE tenant_id = ?1 AND id = ?2 AND version = ?6",
                params![
                    ret.tenant_id.as_str(),
                    ret.id,
                    next as i64,
                    ret.expires_at().map(micros),
                    body,
                    ret.version as i64
                ],
            )
            .map_err(unavailable)?;
            if changed == 1 { Ok(next) } else { Err(StoreError::Conflict) }
        })
        .await
    }

    async fn returns(
        &self,
        tenant: &TenantId,
        filter: &ReturnFilter,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<Return>, usize), StoreError> {
        let (tenant, filter) = (tenant.clone(), filter.clone());
        self.read(move |connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT body, version FROM returns WHERE tenant_id = ?1 AND created_at BETWEEN ?2 AND ?3
                     ORDER BY created_at DESC, id DESC",
                )
                .map_err(unavailable)?;
            let from = filter.created_at_min.map_or(i64::MIN, micros);
            let to = filter.created_at_max.map_or(i64::MAX, micros);
            let mut passing = read_all(&mut statement, params![tenant.as_str(), from, to])?;
            passing.retain(|r| filter.matches(r));
            let total = passing.len();
            Ok((passing.into_iter().skip(offset).take(limit).collect(), total))
        })
        .await
    }

    async fn due_expiries(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<DueReturn>, StoreError> {
        self.read(move |connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT tenant_id, id FROM returns WHERE expires_at IS NOT NULL AND expires_at <= ?1
                     ORDER BY expires_at LIMIT ?2",
                )
                .map_err(unavailable)?;
            let rows = statement
                .query_map(params![micros(now), limit as i64], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
                })
                .map_err(unavailable)?;
            rows.map(|row| {
                let (tenant, id) = row.map_err(unavailable)?;
                Ok(DueReturn { tenant_id: TenantId::parse(&tenant).map_err(|_| corrupt("tenant_id"))?, id })
            })
            .collect()
        })
        .await
    }
}
