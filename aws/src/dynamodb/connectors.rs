//! Storefront connectors: the record under the tenant's partition with an item per id that
//! names its tenant (for webhooks), written together; deliveries remembered with a TTL; the
//! newest change applied per store resource.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use porchlight::domain::TenantId;
use porchlight::ports::{Advance, ConnectorStore, DELIVERY_MEMORY_DAYS, MAX_CONNECTORS, StoreError, StoredConnector};

use super::keys::{s, tenant_id, tenant_pk, text, time_value};
use super::{DynamoStore, Item, cancellation_codes, corrupt, refused_as, unavailable};

fn connector_sk(id: &str) -> String {
    format!("SFC#{id}")
}

fn lookup_pk(id: &str) -> String {
    format!("SFC#{id}")
}

fn delivery_sk(connector: &str, delivery: &str) -> String {
    format!("SFD#{connector}#{delivery}")
}

fn resource_sk(connector: &str, resource: &str) -> String {
    format!("SFR#{connector}#{resource}")
}

fn connector_item(connector: &StoredConnector) -> Result<Item, StoreError> {
    Ok(HashMap::from([
        ("PK".to_owned(), s(tenant_pk(&connector.tenant_id))),
        ("SK".to_owned(), s(connector_sk(&connector.id))),
        ("tenant_id".to_owned(), s(connector.tenant_id.as_str())),
        ("id".to_owned(), s(&connector.id)),
        ("sealed_secrets".to_owned(), AttributeValue::B(Blob::new(connector.sealed_secrets.clone()))),
        ("body".to_owned(), s(serde_json::to_string(&connector.record).map_err(unavailable)?)),
    ]))
}

fn read_connector(item: &Item) -> Result<StoredConnector, StoreError> {
    let sealed = item.get("sealed_secrets").and_then(|v| v.as_b().ok()).ok_or_else(|| corrupt("sealed_secrets"))?;
    Ok(StoredConnector {
        tenant_id: tenant_id(item)?,
        id: text(item, "id")?.to_owned(),
        sealed_secrets: sealed.as_ref().to_vec(),
        record: serde_json::from_str(text(item, "body")?).map_err(|_| corrupt("body"))?,
    })
}

impl DynamoStore {
    /// Deletes every item of the tenant's partition whose sort key starts with `prefix`.
    async fn delete_prefix(&self, tenant: &TenantId, prefix: &str) -> Result<(), StoreError> {
        for item in self.query_prefix(tenant_pk(tenant), prefix, None, usize::MAX).await? {
            let sk = text(&item, "SK")?.to_owned();
            self.client
                .delete_item()
                .table_name(&self.table)
                .key("PK", s(tenant_pk(tenant)))
                .key("SK", s(sk))
                .send()
                .await
                .map_err(unavailable)?;
        }
        Ok(())
    }
}

#[async_trait]
impl ConnectorStore for DynamoStore {
    async fn insert_connector(&self, connector: &StoredConnector) -> Result<(), StoreError> {
        let record = Put::builder()
            .table_name(&self.table)
            .set_item(Some(connector_item(connector)?))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(unavailable)?;
        let lookup = Put::builder()
            .table_name(&self.table)
            .item("PK", s(lookup_pk(&connector.id)))
            .item("SK", s("SFC"))
            .item("tenant_id", s(connector.tenant_id.as_str()))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(unavailable)?;
        let writes =
            vec![TransactWriteItem::builder().put(record).build(), TransactWriteItem::builder().put(lookup).build()];
        match self.client.transact_write_items().set_transact_items(Some(writes)).send().await {
            Ok(_) => Ok(()),
            Err(error)
                if cancellation_codes(&error).is_some_and(|c| c.iter().any(|c| c == "ConditionalCheckFailed")) =>
            {
                Err(StoreError::Conflict)
            }
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn update_connector(&self, connector: &StoredConnector) -> Result<(), StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(connector_item(connector)?))
            .condition_expression("attribute_exists(PK)")
            .send()
            .await;
        refused_as(result, StoreError::NotFound).map(|_| ())
    }

    async fn get_connector(&self, tenant: &TenantId, id: &str) -> Result<Option<StoredConnector>, StoreError> {
        self.get(tenant_pk(tenant), &connector_sk(id)).await?.map(|item| read_connector(&item)).transpose()
    }

    async fn list_connectors(&self, tenant: &TenantId) -> Result<Vec<StoredConnector>, StoreError> {
        let items = self.query_prefix(tenant_pk(tenant), "SFC#", None, MAX_CONNECTORS).await?;
        let mut connectors = items.iter().map(read_connector).collect::<Result<Vec<_>, _>>()?;
        connectors.sort_by(|a, b| (a.record.created_at, &a.id).cmp(&(b.record.created_at, &b.id)));
        Ok(connectors)
    }

    async fn delete_connector(&self, tenant: &TenantId, id: &str) -> Result<(), StoreError> {
        let record = Delete::builder()
            .table_name(&self.table)
            .key("PK", s(tenant_pk(tenant)))
            .key("SK", s(connector_sk(id)))
            .condition_expression("attribute_exists(PK)")
            .build()
            .map_err(unavailable)?;
        let lookup = Delete::builder()
            .table_name(&self.table)
            .key("PK", s(lookup_pk(id)))
            .key("SK", s("SFC"))
            .condition_expression("tenant_id = :tenant")
            .expression_attribute_values(":tenant", s(tenant.as_str()))
            .build()
            .map_err(unavailable)?;
        let writes = vec![
            TransactWriteItem::builder().delete(record).build(),
            TransactWriteItem::builder().delete(lookup).build(),
        ];
        match self.client.transact_write_items().set_transact_items(Some(writes)).send().await {
            Ok(_) => {}
            Err(error)
                if cancellation_codes(&error).is_some_and(|c| c.iter().any(|c| c == "ConditionalCheckFailed")) =>
            {
                return Err(StoreError::NotFound);
            }
            Err(error) => return Err(unavailable(error)),
        }
        self.delete_prefix(tenant, &format!("SFD#{id}#")).await?;
        self.delete_prefix(tenant, &format!("SFR#{id}#")).await
    }

    async fn connector_tenant(&self, id: &str) -> Result<Option<TenantId>, StoreError> {
        self.get(lookup_pk(id), "SFC").await?.map(|item| tenant_id(&item)).transpose()
    }

    async fn delivery_seen(&self, tenant: &TenantId, connector: &str, delivery_id: &str) -> Result<bool, StoreError> {
        Ok(self.get(tenant_pk(tenant), &delivery_sk(connector, delivery_id)).await?.is_some())
    }

    async fn remember_delivery(
        &self,
        tenant: &TenantId,
        connector: &str,
        delivery_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let expires = (at + chrono::Duration::days(DELIVERY_MEMORY_DAYS)).timestamp();
        self.client
            .put_item()
            .table_name(&self.table)
            .item("PK", s(tenant_pk(tenant)))
            .item("SK", s(delivery_sk(connector, delivery_id)))
            .item("tenant_id", s(tenant.as_str()))
            .item("handled_at", time_value(at))
            .item("expires_at", AttributeValue::N(expires.to_string()))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn advance_resource(
        &self,
        tenant: &TenantId,
        connector: &str,
        resource: &str,
        changed_at: DateTime<Utc>,
        deleted: bool,
    ) -> Result<Advance, StoreError> {
        let condition = if deleted {
            "attribute_not_exists(PK) OR deleted = :no"
        } else {
            "attribute_not_exists(PK) OR (deleted = :no AND changed_at <= :at)"
        };
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(tenant_pk(tenant)))
            .key("SK", s(resource_sk(connector, resource)))
            .update_expression("SET tenant_id = :tenant, changed_at = :at, deleted = :deleted")
            .condition_expression(condition)
            .expression_attribute_values(":tenant", s(tenant.as_str()))
            .expression_attribute_values(":at", time_value(changed_at))
            .expression_attribute_values(":deleted", AttributeValue::Bool(deleted))
            .expression_attribute_values(":no", AttributeValue::Bool(false))
            .send()
            .await;
        match refused_as(result, StoreError::Conflict) {
            Ok(_) => Ok(Advance::Fresh),
            Err(StoreError::Conflict) => {
                let deleted = self.resource_deleted(tenant, connector, resource).await?;
                Ok(if deleted { Advance::Deleted } else { Advance::Stale })
            }
            Err(other) => Err(other),
        }
    }

    async fn resource_deleted(&self, tenant: &TenantId, connector: &str, resource: &str) -> Result<bool, StoreError> {
        let Some(item) = self.get(tenant_pk(tenant), &resource_sk(connector, resource)).await? else {
            return Ok(false);
        };
        Ok(item.get("deleted").and_then(|v| v.as_bool().ok()).copied().unwrap_or(false))
    }
}
