//! Settings documents: one item per tenant and kind under the tenant's partition, written
//! with a condition on its version.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use porchlight::domain::TenantId;
use porchlight::ports::{SettingsKind, SettingsStore, StoreError, Versioned};

use super::keys::{s, tenant_pk, text};
use super::{DynamoStore, corrupt, refused_as, unavailable};

fn settings_sk(kind: SettingsKind) -> String {
    format!("SET#{}", kind.as_str())
}

#[async_trait]
impl SettingsStore for DynamoStore {
    async fn get_settings(&self, tenant: &TenantId, kind: SettingsKind) -> Result<Option<Versioned>, StoreError> {
        let Some(item) = self.get(tenant_pk(tenant), &settings_sk(kind)).await? else { return Ok(None) };
        let value = serde_json::from_str(text(&item, "body")?).map_err(|_| corrupt("body"))?;
        let version = item
            .get("version")
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| corrupt("version"))?;
        Ok(Some(Versioned { value, version }))
    }

    async fn put_settings(
        &self,
        tenant: &TenantId,
        kind: SettingsKind,
        value: &serde_json::Value,
        read_version: u64,
    ) -> Result<u64, StoreError> {
        let version = read_version + 1;
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("PK", s(tenant_pk(tenant)))
            .item("SK", s(settings_sk(kind)))
            .item("tenant_id", s(tenant.as_str()))
            .item("version", AttributeValue::N(version.to_string()))
            .item("body", s(serde_json::to_string(value).map_err(unavailable)?));
        let put = if read_version == 0 {
            put.condition_expression("attribute_not_exists(PK)")
        } else {
            put.condition_expression("version = :read")
                .expression_attribute_values(":read", AttributeValue::N(read_version.to_string()))
        };
        refused_as(put.send().await, StoreError::Conflict).map(|_| version)
    }
}
