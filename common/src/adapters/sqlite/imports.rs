//! Import jobs: the job as JSON beside its state, for the worker's look at the running ones.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use super::{SqliteStore, corrupt, execute, micros, unavailable};
use crate::domain::TenantId;
use crate::domain::imports::{ImportJob, ImportState};
use crate::ports::{ImportStore, MAX_RUNNING, StoreError};

fn state_text(state: ImportState) -> &'static str {
    match state {
        ImportState::Running => "running",
        ImportState::Done => "done",
        ImportState::Failed => "failed",
    }
}

#[async_trait]
impl ImportStore for SqliteStore {
    async fn save_import(&self, job: &ImportJob) -> Result<(), StoreError> {
        let body = serde_json::to_string(job).map_err(unavailable)?;
        let (tenant, id, created, state) =
            (job.tenant_id.as_str().to_owned(), job.id.clone(), micros(job.created_at), state_text(job.state));
        self.write(move |tx| {
            execute(
                tx,
                "INSERT INTO imports (tenant_id, id, created_at, state, body) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (tenant_id, id) DO UPDATE SET state = excluded.state, body = excluded.body",
                params![tenant, id, created, state, body],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn get_import(&self, tenant: &TenantId, id: &str) -> Result<Option<ImportJob>, StoreError> {
        let (tenant, id) = (tenant.as_str().to_owned(), id.to_owned());
        self.read_by_key(move |connection| {
            let body: Option<String> = connection
                .prepare_cached("SELECT body FROM imports WHERE tenant_id = ?1 AND id = ?2")
                .map_err(unavailable)?
                .query_row(params![tenant, id], |row| row.get(0))
                .optional()
                .map_err(unavailable)?;
            body.map(|b| serde_json::from_str(&b).map_err(|_| corrupt("import job"))).transpose()
        })
        .await
    }

    async fn running_imports(&self) -> Result<Vec<(TenantId, String)>, StoreError> {
        self.read(move |connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT tenant_id, id FROM imports WHERE state = 'running' ORDER BY created_at LIMIT ?1",
                )
                .map_err(unavailable)?;
            let rows = statement
                .query_map(params![MAX_RUNNING as i64], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))
                .map_err(unavailable)?;
            rows.map(|row| {
                let (tenant, id) = row.map_err(unavailable)?;
                Ok((TenantId::parse(&tenant).map_err(|_| corrupt("tenant_id"))?, id))
            })
            .collect()
        })
        .await
    }
}
