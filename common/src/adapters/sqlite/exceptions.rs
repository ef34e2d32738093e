//! Exception cases: the case as JSON, its state and opening time as columns, versioned.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use super::{SqliteStore, corrupt, execute, micros, unavailable};
use crate::domain::TenantId;
use crate::ports::{CaseFilter, ExceptionCase, ExceptionStore, StoreError};

fn read(body: &str, version: i64) -> Result<ExceptionCase, StoreError> {
    let mut case: ExceptionCase = serde_json::from_str(body).map_err(|_| corrupt("exception case"))?;
    case.version = version as u64;
    Ok(case)
}

#[async_trait]
impl ExceptionStore for SqliteStore {
    async fn case(&self, tenant: &TenantId, id: &str) -> Result<Option<ExceptionCase>, StoreError> {
        let (tenant, id) = (tenant.clone(), id.to_owned());
        self.read(move |connection| {
            let row: Option<(String, i64)> = connection
                .prepare_cached("SELECT body, version FROM exception_cases WHERE tenant_id = ?1 AND id = ?2")
                .and_then(|mut statement| {
                    statement.query_row(params![tenant.as_str(), id], |row| Ok((row.get(0)?, row.get(1)?))).optional()
                })
                .map_err(unavailable)?;
            row.map(|(body, version)| read(&body, version)).transpose()
        })
        .await
    }

    async fn put_case(&self, case: &ExceptionCase) -> Result<u64, StoreError> {
        let case = case.clone();
        self.write(move |tx| {
            let body = serde_json::to_string(&case).expect("cases serialize");
            let next = case.version + 1;
            let changed = if case.version == 0 {
                execute(
                    tx,
                    "INSERT INTO exception_cases (tenant_id, id, version, state, opened_at, body)
                     VALUES (?1, ?2, 1, ?3, ?4, ?5) ON CONFLICT (tenant_id, id) DO NOTHING",
                    params![case.tenant_id.as_str(), case.id, case.state.as_str(), micros(case.opened_at), body],
                )
            } else {
                execute(
                    tx,
                    "UPDATE exception_cases SET version = ?3, state = ?4, opened_at = ?5, body = ?6
                     WHERE tenant_id = ?1 AND id = ?2 AND version = ?7",
                    params![
                        case.tenant_id.as_str(),
                        case.id,
                        next as i64,
                        case.state.as_str(),
                        micros(case.opened_at),
                        body,
                        case.version as i64
                    ],
                )
            }
            .map_err(unavailable)?;
            if changed == 1 { Ok(next) } else { Err(StoreError::Conflict) }
        })
        .await
    }

    async fn cases(
        &self,
        tenant: &TenantId,
        filter: &CaseFilter,
        limit: usize,
    ) -> Result<Vec<ExceptionCase>, StoreError> {
        let (tenant, filter) = (tenant.clone(), filter.clone());
        self.read(move |connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT body, version FROM exception_cases WHERE tenant_id = ?1 AND (?2 IS NULL OR state = ?2)
                     ORDER BY opened_at DESC, id DESC",
                )
                .map_err(unavailable)?;
            let rows = statement
                .query_map(params![tenant.as_str(), filter.state.map(|s| s.as_str())], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
                })
                .map_err(unavailable)?;
            let mut cases = Vec::new();
            for row in rows {
                let (body, version) = row.map_err(unavailable)?;
                let case = read(&body, version)?;
                if filter.matches(&case) {
                    cases.push(case);
                    if cases.len() >= limit {
                        break;
                    }
                }
            }
            Ok(cases)
        })
        .await
    }
}
