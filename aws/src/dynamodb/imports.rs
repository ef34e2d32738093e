//! Import jobs: an item per job (`T#<tenant>` / `IMP#<id>`), the job as JSON; while it runs it
//! sits in GSI2's `IMPRUN` partition (`<created µs>#<tenant>#<id>`) for the worker.

use async_trait::async_trait;
use porchlight::domain::TenantId;
use porchlight::domain::imports::{ImportJob, ImportState};
use porchlight::ports::{ImportStore, MAX_RUNNING, StoreError};

use super::keys::{s, tenant_pk, text};
use super::{DynamoStore, corrupt, unavailable};

const PREFIX: &str = "IMP#";
const RUNNING_PARTITION: &str = "IMPRUN";

#[async_trait]
impl ImportStore for DynamoStore {
    async fn save_import(&self, job: &ImportJob) -> Result<(), StoreError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("PK", s(tenant_pk(&job.tenant_id)))
            .item("SK", s(format!("{PREFIX}{}", job.id)))
            .item("tenant_id", s(job.tenant_id.as_str()))
            .item("body", s(serde_json::to_string(job).map_err(unavailable)?));
        if job.state == ImportState::Running {
            let position = format!("{:020}#{}#{}", job.created_at.timestamp_micros().max(0), job.tenant_id, job.id);
            put = put.item("GSI2PK", s(RUNNING_PARTITION)).item("GSI2SK", s(position));
        }
        put.send().await.map_err(unavailable)?;
        Ok(())
    }

    async fn get_import(&self, tenant: &TenantId, id: &str) -> Result<Option<ImportJob>, StoreError> {
        let item = self.get(tenant_pk(tenant), &format!("{PREFIX}{id}")).await?;
        item.map(|item| serde_json::from_str(text(&item, "body")?).map_err(|_| corrupt("import job"))).transpose()
    }

    async fn running_imports(&self) -> Result<Vec<(TenantId, String)>, StoreError> {
        let items = self.query_gsi2(RUNNING_PARTITION.to_owned(), None, "~").await?;
        items
            .iter()
            .take(MAX_RUNNING)
            .map(|item| {
                let position = text(item, "GSI2SK")?;
                let mut parts = position.splitn(3, '#').skip(1);
                let tenant = parts.next().and_then(|t| TenantId::parse(t).ok()).ok_or_else(|| corrupt("GSI2SK"))?;
                let id = parts.next().ok_or_else(|| corrupt("GSI2SK"))?;
                Ok((tenant, id.to_owned()))
            })
            .collect()
    }
}
