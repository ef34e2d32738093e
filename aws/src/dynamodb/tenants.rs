//! Tenants and API keys (a key is found by its digest's own item).

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use porchlight::domain::TenantId;
use porchlight::ports::{ApiKeyRecord, StoreError, Tenant, TenantStore};

use super::keys::{digest_pk, required_time, s, tenant_id, tenant_pk, text, time, time_value};
use super::{DynamoStore, Item, cancellation_codes, refused_as, unavailable};

#[async_trait]
impl TenantStore for DynamoStore {
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let listed = format!("{:020}#{}", tenant.created_at.timestamp_micros(), tenant.id);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("PK", s(tenant_pk(&tenant.id)))
            .item("SK", s("TENANT"))
            .item("GSI1PK", s("TENANTS"))
            .item("GSI1SK", s(listed))
            .item("tenant_id", s(tenant.id.as_str()))
            .item("name", s(&tenant.name))
            .item("created_at", time_value(tenant.created_at))
            // A new tenant has no shipments, so none without a list entry.
            .item(super::listing::LIST_ENTRIES, AttributeValue::Bool(true))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        refused_as(result, StoreError::Conflict).map(|_| ())
    }

    async fn get_tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        self.get(tenant_pk(id), "TENANT").await?.map(|item| read_tenant(&item)).transpose()
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        self.query_gsi1("TENANTS".to_owned()).await?.iter().map(read_tenant).collect()
    }

    async fn add_api_key(&self, record: &ApiKeyRecord, digest: &[u8; 32]) -> Result<(), StoreError> {
        let hex_digest = hex::encode(digest);
        let tenant_exists = aws_sdk_dynamodb::types::ConditionCheck::builder()
            .table_name(&self.table)
            .key("PK", s(tenant_pk(&record.tenant_id)))
            .key("SK", s("TENANT"))
            .condition_expression("attribute_exists(PK)")
            .build()
            .map_err(unavailable)?;
        let by_tenant = Put::builder()
            .table_name(&self.table)
            .item("PK", s(tenant_pk(&record.tenant_id)))
            .item("SK", s(format!("APIKEY#{}", record.key_id)))
            .item("tenant_id", s(record.tenant_id.as_str()))
            .item("key_id", s(&record.key_id))
            .item("digest", s(hex_digest))
            .item("created_at", time_value(record.created_at))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(unavailable)?;
        let by_digest = Put::builder()
            .table_name(&self.table)
            .item("PK", s(digest_pk(digest)))
            .item("SK", s("KEY"))
            .item("tenant_id", s(record.tenant_id.as_str()))
            .item("key_id", s(&record.key_id))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(unavailable)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().condition_check(tenant_exists).build())
            .transact_items(TransactWriteItem::builder().put(by_tenant).build())
            .transact_items(TransactWriteItem::builder().put(by_digest).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) => match cancellation_codes(&error) {
                Some(codes) if codes.first().is_some_and(|c| c == "ConditionalCheckFailed") => {
                    Err(StoreError::NotFound)
                }
                Some(codes) if codes.iter().any(|c| c == "ConditionalCheckFailed") => Err(StoreError::Conflict),
                _ => Err(unavailable(error)),
            },
        }
    }

    async fn tenant_for_key(&self, digest: &[u8; 32]) -> Result<Option<TenantId>, StoreError> {
        match self.get(digest_pk(digest), "KEY").await? {
            Some(item) if !item.contains_key("revoked_at") => Ok(Some(tenant_id(&item)?)),
            _ => Ok(None),
        }
    }

    async fn revoke_api_key(&self, tenant: &TenantId, key_id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        let sk = format!("APIKEY#{key_id}");
        let item = self.get(tenant_pk(tenant), &sk).await?.ok_or(StoreError::NotFound)?;
        if item.contains_key("revoked_at") {
            return Ok(()); // the first revocation stands
        }
        let digest = text(&item, "digest")?.to_owned();
        let revoke = |pk: String, sk: &str| {
            Update::builder()
                .table_name(&self.table)
                .key("PK", s(pk))
                .key("SK", s(sk))
                .update_expression("SET revoked_at = if_not_exists(revoked_at, :at)")
                .expression_attribute_values(":at", time_value(at))
                .condition_expression("attribute_exists(PK)")
                .build()
                .map_err(unavailable)
        };
        self.client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(revoke(tenant_pk(tenant), &sk)?).build())
            .transact_items(TransactWriteItem::builder().update(revoke(format!("KEY#{digest}"), "KEY")?).build())
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn list_api_keys(&self, tenant: &TenantId) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let items = self.query_prefix(tenant_pk(tenant), "APIKEY#", None, usize::MAX).await?;
        let mut keys = items
            .iter()
            .map(|item| {
                Ok(ApiKeyRecord {
                    key_id: text(item, "key_id")?.to_owned(),
                    tenant_id: tenant.clone(),
                    created_at: required_time(item, "created_at")?,
                    revoked_at: time(item, "revoked_at")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        keys.sort_by(|a, b| (a.created_at, &a.key_id).cmp(&(b.created_at, &b.key_id)));
        Ok(keys)
    }
}

fn read_tenant(item: &Item) -> Result<Tenant, StoreError> {
    Ok(Tenant {
        id: tenant_id(item)?,
        name: text(item, "name")?.to_owned(),
        created_at: required_time(item, "created_at")?,
    })
}
