//! Orders: one item per order (`ORD#<id>`) under the tenant's partition, the order as JSON; an
//! order with a number has a GSI3 entry (`T#<tenant>#ORDN#<sha-256 of the number>`, sorted by
//! `<updated µs>#<id>`) for the returns portal's lookup.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;
use porchlight::domain::{Order, TenantId};
use porchlight::ports::{MAX_LOOKUP, OrderStore, StoreError};
use sha2::Digest;

use super::keys::{s, tenant_pk, text};
use super::{DynamoStore, Item, corrupt, unavailable};

const PREFIX: &str = "ORD#";

fn order_sk(id: &str) -> String {
    format!("{PREFIX}{id}")
}

/// GSI3's partition of the tenant's orders numbered `number`.
fn number_partition(tenant: &TenantId, number: &str) -> String {
    format!("T#{tenant}#ORDN#{}", hex::encode(sha2::Sha256::digest(number.as_bytes())))
}

fn read_order(item: &Item) -> Result<Order, StoreError> {
    serde_json::from_str(text(item, "body")?).map_err(|_| corrupt("body"))
}

#[async_trait]
impl OrderStore for DynamoStore {
    async fn put_order(&self, order: &Order) -> Result<bool, StoreError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("PK", s(tenant_pk(&order.tenant_id)))
            .item("SK", s(order_sk(&order.id)))
            .item("tenant_id", s(order.tenant_id.as_str()))
            .item("body", s(serde_json::to_string(order).map_err(unavailable)?))
            .return_values(ReturnValue::AllOld);
        if let Some(number) = &order.order_number {
            put = put
                .item("GSI3PK", s(number_partition(&order.tenant_id, number)))
                .item("GSI3SK", s(format!("{:020}#{}", order.updated_at.timestamp_micros().max(0), order.id)));
        }
        let answer = put.send().await.map_err(unavailable)?;
        Ok(answer.attributes.is_none_or(|old| old.is_empty()))
    }

    async fn delete_order(&self, tenant: &TenantId, id: &str) -> Result<bool, StoreError> {
        let answer = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("PK", s(tenant_pk(tenant)))
            .key("SK", s(order_sk(id)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(answer.attributes.is_some_and(|old| !old.is_empty()))
    }

    async fn order(&self, tenant: &TenantId, id: &str) -> Result<Option<Order>, StoreError> {
        self.get(tenant_pk(tenant), &order_sk(id)).await?.as_ref().map(read_order).transpose()
    }

    async fn orders(&self, tenant: &TenantId, after: Option<&str>, limit: usize) -> Result<Vec<Order>, StoreError> {
        let items = self.query_prefix(tenant_pk(tenant), PREFIX, after.map(order_sk), limit).await?;
        items.iter().take(limit).map(read_order).collect()
    }

    async fn orders_by_number(&self, tenant: &TenantId, order_number: &str) -> Result<Vec<Order>, StoreError> {
        let mut orders = Vec::new();
        for entry in self.gsi3_newest(number_partition(tenant, order_number), MAX_LOOKUP).await? {
            // The index holds keys only: each order is read from its item (which a newer write
            // may have renumbered since).
            if let Some(item) = self.get(tenant_pk(tenant), text(&entry, "SK")?).await?
                && let Ok(order) = read_order(&item)
                && order.order_number.as_deref() == Some(order_number)
            {
                orders.push(order);
            }
        }
        Ok(orders)
    }
}
