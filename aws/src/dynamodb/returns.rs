//! Returns: one item per return (`RET#<id>`) under the tenant's partition, the return as JSON,
//! written with a condition on its version; beside it its RMA number's item (`RMA#<rma>`,
//! unique per tenant) and its order's count of returns (`ORDRET#<order id>`), both written
//! in the creating transaction, so two creates for one order cannot both pass. A return's
//! GSI3 entry (`T#<tenant>#RETO#<order id>` / `<created µs>#<id>`) finds an order's returns;
//! while it waits to expire it sits in GSI2's `RETDUE` partition (`<expires µs>#<tenant>#<id>`).
//!
//! Listing reads the tenant's returns and filters them, like exception cases (a merchant's
//! returns of a year are few enough; a counted index is for when it is measured).

use async_trait::async_trait;
use aws_sdk_dynamodb::types::builders::PutBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use porchlight::domain::{Return, TenantId};
use porchlight::ports::{DueReturn, ReturnFilter, ReturnStore, StoreError};

use super::keys::{s, tenant_pk, text};
use super::{DynamoStore, Item, cancellation_codes, corrupt, refused_as, unavailable};

const PREFIX: &str = "RET#";
const DUE_PARTITION: &str = "RETDUE";

fn return_sk(id: &str) -> String {
    format!("{PREFIX}{id}")
}

fn order_partition(tenant: &TenantId, order_id: &str) -> String {
    format!("T#{tenant}#RETO#{order_id}")
}

fn due_position(at: DateTime<Utc>, tenant: &TenantId, id: &str) -> String {
    format!("{:020}#{tenant}#{id}", at.timestamp_micros().max(0))
}

fn read_return(item: &Item) -> Result<Return, StoreError> {
    let mut ret: Return = serde_json::from_str(text(item, "body")?).map_err(|_| corrupt("body"))?;
    ret.version = item
        .get("version")
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| corrupt("version"))?;
    Ok(ret)
}

impl DynamoStore {
    /// The put of `ret` as version `version`, with its index entries.
    fn return_put(&self, ret: &Return, version: u64) -> Result<PutBuilder, StoreError> {
        let mut put = Put::builder()
            .table_name(&self.table)
            .item("PK", s(tenant_pk(&ret.tenant_id)))
            .item("SK", s(return_sk(&ret.id)))
            .item("tenant_id", s(ret.tenant_id.as_str()))
            .item("version", AttributeValue::N(version.to_string()))
            .item("body", s(serde_json::to_string(ret).map_err(unavailable)?))
            .item("GSI3PK", s(order_partition(&ret.tenant_id, &ret.order_id)))
            .item("GSI3SK", s(format!("{:020}#{}", ret.created_at.timestamp_micros().max(0), ret.id)));
        if let Some(at) = ret.expires_at() {
            put = put.item("GSI2PK", s(DUE_PARTITION)).item("GSI2SK", s(due_position(at, &ret.tenant_id, &ret.id)));
        }
        Ok(put)
    }
}

#[async_trait]
impl ReturnStore for DynamoStore {
    async fn return_by_id(&self, tenant: &TenantId, id: &str) -> Result<Option<Return>, StoreError> {
        self.get(tenant_pk(tenant), &return_sk(id)).await?.as_ref().map(read_return).transpose()
    }

    async fn return_by_rma(&self, tenant: &TenantId, rma: &str) -> Result<Option<Return>, StoreError> {
        let Some(entry) = self.get(tenant_pk(tenant), &format!("RMA#{rma}")).await? else { return Ok(None) };
        self.return_by_id(tenant, text(&entry, "return_id")?).await
    }

    async fn returns_of_order(&self, tenant: &TenantId, order_id: &str) -> Result<Vec<Return>, StoreError> {
        let mut returns = Vec::new();
        for entry in self.gsi3_newest(order_partition(tenant, order_id), 1000).await? {
            // The index holds keys only: each return is read from its item.
            if let Some(item) = self.get(tenant_pk(tenant), text(&entry, "SK")?).await? {
                returns.push(read_return(&item)?);
            }
        }
        returns.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(returns)
    }

    async fn create_return(&self, ret: &Return, seen: usize) -> Result<u64, StoreError> {
        let pk = tenant_pk(&ret.tenant_id);
        let item = self.return_put(ret, 1)?.condition_expression("attribute_not_exists(PK)");
        let rma = Put::builder()
            .table_name(&self.table)
            .item("PK", s(&pk))
            .item("SK", s(format!("RMA#{}", ret.rma_number)))
            .item("tenant_id", s(ret.tenant_id.as_str()))
            .item("return_id", s(&ret.id))
            .condition_expression("attribute_not_exists(PK)");
        let count = Update::builder()
            .table_name(&self.table)
            .key("PK", s(&pk))
            .key("SK", s(format!("ORDRET#{}", ret.order_id)))
            .update_expression("SET return_count = :next, tenant_id = :tenant")
            .condition_expression(if seen == 0 {
                "attribute_not_exists(return_count) OR return_count = :seen"
            } else {
                "return_count = :seen"
            })
            .expression_attribute_values(":next", AttributeValue::N((seen + 1).to_string()))
            .expression_attribute_values(":seen", AttributeValue::N(seen.to_string()))
            .expression_attribute_values(":tenant", s(ret.tenant_id.as_str()));
        let writes = vec![
            TransactWriteItem::builder().put(item.build().map_err(unavailable)?).build(),
            TransactWriteItem::builder().put(rma.build().map_err(unavailable)?).build(),
            TransactWriteItem::builder().update(count.build().map_err(unavailable)?).build(),
        ];
        match self.client.transact_write_items().set_transact_items(Some(writes)).send().await {
            Ok(_) => Ok(1),
            Err(error) => match cancellation_codes(&error) {
                Some(codes) if codes.iter().any(|c| c == "ConditionalCheckFailed" || c == "TransactionConflict") => {
                    Err(StoreError::Conflict)
                }
                _ => Err(unavailable(error)),
            },
        }
    }

    async fn put_return(&self, ret: &Return) -> Result<u64, StoreError> {
        let version = ret.version + 1;
        let item = self.return_put(ret, version)?.get_item().clone();
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(item)
            .condition_expression("version = :read")
            .expression_attribute_values(":read", AttributeValue::N(ret.version.to_string()));
        refused_as(request.send().await, StoreError::Conflict).map(|_| version)
    }

    async fn returns(
        &self,
        tenant: &TenantId,
        filter: &ReturnFilter,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<Return>, usize), StoreError> {
        let items = self.query_prefix(tenant_pk(tenant), PREFIX, None, usize::MAX).await?;
        let mut passing: Vec<Return> = items
            .iter()
            .map(read_return)
            .filter(|r| r.as_ref().map_or(true, |r| filter.matches(r)))
            .collect::<Result<_, _>>()?;
        passing.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
        let total = passing.len();
        Ok((passing.into_iter().skip(offset).take(limit).collect(), total))
    }

    async fn due_expiries(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<DueReturn>, StoreError> {
        let high = format!("{:020}#~", now.timestamp_micros().max(0));
        let entries = self.query_gsi2(DUE_PARTITION.to_owned(), None, &high).await?;
        entries
            .iter()
            .take(limit)
            .map(|entry| {
                let position = text(entry, "GSI2SK")?;
                let mut parts = position.splitn(3, '#').skip(1);
                let (Some(tenant), Some(id)) = (parts.next(), parts.next()) else { return Err(corrupt("GSI2SK")) };
                Ok(DueReturn { tenant_id: TenantId::parse(tenant).map_err(|_| corrupt("GSI2SK"))?, id: id.to_owned() })
            })
            .collect()
    }
}
