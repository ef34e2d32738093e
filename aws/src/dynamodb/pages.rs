//! Tracking page settings: one item in the tenant's partition, and one item per slug that
//! holds it for its tenant, changed together in a transaction.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use porchlight::domain::{TenantId, TrackingPage};
use porchlight::ports::{PageStore, PageWrite, StoreError};

use super::keys::{PAGE_SK, page_slug_pk, s, tenant_id, tenant_pk, text};
use super::{DynamoStore, cancellation_codes, corrupt, unavailable};

/// How often a write that raced another write of the same tenant's page is tried again.
const ATTEMPTS: usize = 5;

fn read_page(item: &super::Item) -> Result<TrackingPage, StoreError> {
    serde_json::from_str(text(item, "body")?).map_err(|_| corrupt("body"))
}

impl DynamoStore {
    /// One attempt at storing `page` over `old` (as read): claims the new slug, writes the
    /// settings on the condition that their slug is still the one read, frees the old slug.
    async fn try_put_page(
        &self,
        tenant: &TenantId,
        page: &TrackingPage,
        old: Option<&TrackingPage>,
    ) -> Result<Option<PageWrite>, StoreError> {
        let body = serde_json::to_string(page).map_err(unavailable)?;
        let claim = Put::builder()
            .table_name(&self.table)
            .item("PK", s(page_slug_pk(&page.slug)))
            .item("SK", s("PAGESLUG"))
            .item("tenant_id", s(tenant.as_str()))
            .condition_expression("attribute_not_exists(PK) OR tenant_id = :tenant")
            .expression_attribute_values(":tenant", s(tenant.as_str()))
            .build()
            .map_err(unavailable)?;
        let settings = Put::builder()
            .table_name(&self.table)
            .item("PK", s(tenant_pk(tenant)))
            .item("SK", s(PAGE_SK))
            .item("tenant_id", s(tenant.as_str()))
            .item("slug", s(&page.slug))
            .item("body", s(body));
        let settings = match old {
            Some(old) => settings.condition_expression("slug = :old").expression_attribute_values(":old", s(&old.slug)),
            None => settings.condition_expression("attribute_not_exists(PK)"),
        };
        let mut writes = vec![
            TransactWriteItem::builder().put(claim).build(),
            TransactWriteItem::builder().put(settings.build().map_err(unavailable)?).build(),
        ];
        if let Some(old) = old.filter(|old| old.slug != page.slug) {
            let release = Delete::builder()
                .table_name(&self.table)
                .key("PK", s(page_slug_pk(&old.slug)))
                .key("SK", s("PAGESLUG"))
                .condition_expression("tenant_id = :tenant")
                .expression_attribute_values(":tenant", s(tenant.as_str()))
                .build()
                .map_err(unavailable)?;
            writes.push(TransactWriteItem::builder().delete(release).build());
        }
        match self.client.transact_write_items().set_transact_items(Some(writes)).send().await {
            Ok(_) => Ok(Some(PageWrite::Stored)),
            Err(error) => match cancellation_codes(&error) {
                Some(codes) if codes.first().is_some_and(|c| c == "ConditionalCheckFailed") => {
                    Ok(Some(PageWrite::SlugTaken))
                }
                // The settings changed since they were read: read again.
                Some(codes) if codes.iter().any(|c| c == "ConditionalCheckFailed" || c == "TransactionConflict") => {
                    Ok(None)
                }
                _ => Err(unavailable(error)),
            },
        }
    }
}

#[async_trait]
impl PageStore for DynamoStore {
    async fn get_page(&self, tenant: &TenantId) -> Result<Option<TrackingPage>, StoreError> {
        self.get(tenant_pk(tenant), PAGE_SK).await?.map(|item| read_page(&item)).transpose()
    }

    async fn put_page(&self, tenant: &TenantId, page: &TrackingPage) -> Result<PageWrite, StoreError> {
        for _ in 0..ATTEMPTS {
            let old = self.get_page(tenant).await?;
            if let Some(outcome) = self.try_put_page(tenant, page, old.as_ref()).await? {
                return Ok(outcome);
            }
        }
        Err(StoreError::Conflict)
    }

    async fn page_tenant(&self, slug: &str) -> Result<Option<TenantId>, StoreError> {
        let item: Option<HashMap<String, AttributeValue>> =
            self.get_item(page_slug_pk(slug), "PAGESLUG", false).await?;
        item.map(|item| tenant_id(&item)).transpose()
    }
}
