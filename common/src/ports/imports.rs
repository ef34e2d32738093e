//! Import jobs: history files being imported in the background.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::TenantId;
use crate::domain::imports::ImportJob;

/// Most running jobs [`ImportStore::running_imports`] names.
pub const MAX_RUNNING: usize = 100;

/// The jobs, keyed by tenant.
#[async_trait]
pub trait ImportStore: Send + Sync {
    /// Stores `job` as it is now (created or replaced).
    async fn save_import(&self, job: &ImportJob) -> Result<(), StoreError>;
    /// One of the tenant's jobs.
    async fn get_import(&self, tenant: &TenantId, id: &str) -> Result<Option<ImportJob>, StoreError>;
    /// The jobs still running, of any tenant, oldest first (at most [`MAX_RUNNING`]): for the
    /// worker that carries them on, which reads each with its tenant.
    async fn running_imports(&self) -> Result<Vec<(TenantId, String)>, StoreError>;
}
