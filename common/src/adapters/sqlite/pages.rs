//! Tracking page settings: the whole `TrackingPage` as JSON, the slug in a unique column.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use super::{SqliteStore, corrupt, execute, is_unique_violation, unavailable};
use crate::domain::{TenantId, TrackingPage};
use crate::ports::{PageStore, PageWrite, StoreError};

#[async_trait]
impl PageStore for SqliteStore {
    async fn get_page(&self, tenant: &TenantId) -> Result<Option<TrackingPage>, StoreError> {
        let tenant = tenant.clone();
        let body: Option<String> = self
            .read_by_key(move |connection| {
                connection
                    .prepare_cached("SELECT body FROM tracking_pages WHERE tenant_id = ?1")
                    .and_then(|mut statement| {
                        statement.query_row(params![tenant.as_str()], |row| row.get(0)).optional()
                    })
                    .map_err(unavailable)
            })
            .await?;
        body.map(|body| serde_json::from_str(&body).map_err(|_| corrupt("tracking page body"))).transpose()
    }

    async fn put_page(&self, tenant: &TenantId, page: &TrackingPage) -> Result<PageWrite, StoreError> {
        let (tenant, slug) = (tenant.clone(), page.slug.clone());
        let body = serde_json::to_string(page).map_err(unavailable)?;
        self.write(move |tx| {
            let written = execute(
                tx,
                "INSERT INTO tracking_pages (tenant_id, slug, body) VALUES (?1, ?2, ?3)
                 ON CONFLICT (tenant_id) DO UPDATE SET slug = excluded.slug, body = excluded.body",
                params![tenant.as_str(), slug, body],
            );
            match written {
                Ok(_) => Ok(PageWrite::Stored),
                Err(error) if is_unique_violation(&error, "tracking_pages.slug") => Ok(PageWrite::SlugTaken),
                Err(error) => Err(unavailable(error)),
            }
        })
        .await
    }

    async fn page_tenant(&self, slug: &str) -> Result<Option<TenantId>, StoreError> {
        let slug = slug.to_owned();
        let tenant: Option<String> = self
            .read_by_key(move |connection| {
                connection
                    .prepare_cached("SELECT tenant_id FROM tracking_pages WHERE slug = ?1")
                    .and_then(|mut statement| statement.query_row(params![slug], |row| row.get(0)).optional())
                    .map_err(unavailable)
            })
            .await?;
        tenant.map(|id| TenantId::parse(&id).map_err(|_| corrupt("tracking page tenant_id"))).transpose()
    }
}
