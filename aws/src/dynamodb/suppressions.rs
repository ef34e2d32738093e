//! Merchants' suppression lists: one item per entry (`SUP#<id>`) under the tenant's partition,
//! the entry as JSON, added with a condition so the first reason stays.

use async_trait::async_trait;
use porchlight::domain::TenantId;
use porchlight::ports::{StoreError, Suppression, SuppressionList};

use super::keys::{s, tenant_pk, text};
use super::{DynamoStore, Item, corrupt, refused_as, unavailable};

const PREFIX: &str = "SUP#";

fn suppression_sk(id: &str) -> String {
    format!("{PREFIX}{id}")
}

fn read_entry(item: &Item) -> Result<Suppression, StoreError> {
    serde_json::from_str(text(item, "body")?).map_err(|_| corrupt("body"))
}

#[async_trait]
impl SuppressionList for DynamoStore {
    async fn suppress(&self, entry: &Suppression) -> Result<bool, StoreError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("PK", s(tenant_pk(&entry.tenant_id)))
            .item("SK", s(suppression_sk(&entry.id)))
            .item("tenant_id", s(entry.tenant_id.as_str()))
            .item("body", s(serde_json::to_string(entry).map_err(unavailable)?))
            .condition_expression("attribute_not_exists(PK)");
        match refused_as(put.send().await, StoreError::Conflict) {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(other) => Err(other),
        }
    }

    async fn suppression(&self, tenant: &TenantId, id: &str) -> Result<Option<Suppression>, StoreError> {
        self.get(tenant_pk(tenant), &suppression_sk(id)).await?.as_ref().map(read_entry).transpose()
    }

    async fn suppressions(
        &self,
        tenant: &TenantId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Suppression>, StoreError> {
        let items = self.query_prefix(tenant_pk(tenant), PREFIX, after.map(suppression_sk), limit).await?;
        items.iter().take(limit).map(read_entry).collect()
    }

    async fn unsuppress(&self, tenant: &TenantId, id: &str) -> Result<bool, StoreError> {
        let answer = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("PK", s(tenant_pk(tenant)))
            .key("SK", s(suppression_sk(id)))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(answer.attributes.is_some_and(|old| !old.is_empty()))
    }
}
