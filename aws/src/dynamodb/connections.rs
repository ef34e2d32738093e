//! Courier connections: sealed credentials under the tenant's partition.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use porchlight::domain::{Slug, TenantId};
use porchlight::ports::{ConnectionStore, StoreError, StoredConnection};

use super::keys::{required_time, s, tenant_id, tenant_pk, text, time_value};
use super::{DynamoStore, Item, corrupt, refused_as};

fn connection_item(connection: &StoredConnection) -> Item {
    HashMap::from([
        ("PK".to_owned(), s(tenant_pk(&connection.tenant_id))),
        ("SK".to_owned(), s(format!("CONN#{}", connection.id))),
        ("tenant_id".to_owned(), s(connection.tenant_id.as_str())),
        ("id".to_owned(), s(&connection.id)),
        ("courier_slug".to_owned(), s(connection.courier_slug.as_str())),
        ("sealed_credentials".to_owned(), AttributeValue::B(Blob::new(connection.sealed_credentials.clone()))),
        ("created_at".to_owned(), time_value(connection.created_at)),
        ("updated_at".to_owned(), time_value(connection.updated_at)),
    ])
}

fn read_connection(item: &Item) -> Result<StoredConnection, StoreError> {
    let sealed =
        item.get("sealed_credentials").and_then(|v| v.as_b().ok()).ok_or_else(|| corrupt("sealed_credentials"))?;
    Ok(StoredConnection {
        tenant_id: tenant_id(item)?,
        id: text(item, "id")?.to_owned(),
        courier_slug: Slug::parse(text(item, "courier_slug")?).map_err(|_| corrupt("courier_slug"))?,
        sealed_credentials: sealed.as_ref().to_vec(),
        created_at: required_time(item, "created_at")?,
        updated_at: required_time(item, "updated_at")?,
    })
}

#[async_trait]
impl ConnectionStore for DynamoStore {
    async fn insert_connection(&self, connection: &StoredConnection) -> Result<(), StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(connection_item(connection)))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        refused_as(result, StoreError::Conflict).map(|_| ())
    }

    async fn get_connection(&self, tenant: &TenantId, id: &str) -> Result<Option<StoredConnection>, StoreError> {
        self.get(tenant_pk(tenant), &format!("CONN#{id}")).await?.map(|item| read_connection(&item)).transpose()
    }

    async fn update_connection(&self, connection: &StoredConnection) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(tenant_pk(&connection.tenant_id)))
            .key("SK", s(format!("CONN#{}", connection.id)))
            .update_expression("SET sealed_credentials = :sealed, updated_at = :updated")
            .expression_attribute_values(":sealed", AttributeValue::B(Blob::new(connection.sealed_credentials.clone())))
            .expression_attribute_values(":updated", time_value(connection.updated_at))
            .condition_expression("attribute_exists(PK)")
            .send()
            .await;
        refused_as(result, StoreError::NotFound).map(|_| ())
    }

    async fn delete_connection(&self, tenant: &TenantId, id: &str) -> Result<StoredConnection, StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("PK", s(tenant_pk(tenant)))
            .key("SK", s(format!("CONN#{id}")))
            .condition_expression("attribute_exists(PK)")
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await;
        let answer = refused_as(result, StoreError::NotFound)?;
        read_connection(&answer.attributes.ok_or_else(|| corrupt("deleted connection"))?)
    }

    async fn list_connections(
        &self,
        tenant: &TenantId,
        slug: Option<&Slug>,
        after_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StoredConnection>, StoreError> {
        // A tenant has a handful of connections: read them in id order and filter here.
        let after = after_id.map(|id| format!("CONN#{id}"));
        let items = self.query_prefix(tenant_pk(tenant), "CONN#", after, usize::MAX).await?;
        let mut connections = Vec::new();
        for item in &items {
            let connection = read_connection(item)?;
            if slug.is_none_or(|wanted| *wanted == connection.courier_slug) {
                connections.push(connection);
            }
            if connections.len() == limit {
                break;
            }
        }
        Ok(connections)
    }
}
