//! Merchants' tracking page settings, and the page slugs that route shoppers to them.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::{TenantId, TrackingPage};

/// What storing a page's settings did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageWrite {
    /// Stored; the slug now routes to this tenant (and its former slug, if it changed, to
    /// nobody).
    Stored,
    /// Nothing changed: another tenant's page has the slug.
    SlugTaken,
}

/// Tracking page settings, one per tenant; slugs unique across tenants.
#[async_trait]
pub trait PageStore: Send + Sync {
    /// The tenant's settings, if it has stored any.
    async fn get_page(&self, tenant: &TenantId) -> Result<Option<TrackingPage>, StoreError>;
    /// Stores the tenant's settings, replacing any, and moves its slug atomically: a reader
    /// never sees two tenants with one slug, nor the new settings under the old slug.
    async fn put_page(&self, tenant: &TenantId, page: &TrackingPage) -> Result<PageWrite, StoreError>;
    /// The tenant whose page has `slug`: the one cross-tenant read shoppers' pages make.
    async fn page_tenant(&self, slug: &str) -> Result<Option<TenantId>, StoreError>;
}
