//! Exception cases: one item per case (`EXC#<id>`) under the tenant's partition, the case as
//! JSON, written with a condition on its version. Listing reads the tenant's cases and
//! filters them, like shipment listings (a merchant's open queue is small; a counted index is
//! for when it is measured).

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use porchlight::domain::TenantId;
use porchlight::ports::{CaseFilter, ExceptionCase, ExceptionStore, StoreError};

use super::keys::{s, tenant_pk, text};
use super::{DynamoStore, Item, corrupt, refused_as, unavailable};

fn case_sk(id: &str) -> String {
    format!("EXC#{id}")
}

fn read_case(item: &Item) -> Result<ExceptionCase, StoreError> {
    let mut case: ExceptionCase = serde_json::from_str(text(item, "body")?).map_err(|_| corrupt("body"))?;
    case.version = item
        .get("version")
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| corrupt("version"))?;
    Ok(case)
}

#[async_trait]
impl ExceptionStore for DynamoStore {
    async fn case(&self, tenant: &TenantId, id: &str) -> Result<Option<ExceptionCase>, StoreError> {
        self.get(tenant_pk(tenant), &case_sk(id)).await?.as_ref().map(read_case).transpose()
    }

    async fn put_case(&self, case: &ExceptionCase) -> Result<u64, StoreError> {
        let version = case.version + 1;
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("PK", s(tenant_pk(&case.tenant_id)))
            .item("SK", s(case_sk(&case.id)))
            .item("tenant_id", s(case.tenant_id.as_str()))
            .item("version", AttributeValue::N(version.to_string()))
            .item("body", s(serde_json::to_string(case).map_err(unavailable)?));
        let put = if case.version == 0 {
            put.condition_expression("attribute_not_exists(PK)")
        } else {
            put.condition_expression("version = :read")
                .expression_attribute_values(":read", AttributeValue::N(case.version.to_string()))
        };
        refused_as(put.send().await, StoreError::Conflict).map(|_| version)
    }

    async fn cases(
        &self,
        tenant: &TenantId,
        filter: &CaseFilter,
        limit: usize,
    ) -> Result<Vec<ExceptionCase>, StoreError> {
        let items = self.query_prefix(tenant_pk(tenant), "EXC#", None, usize::MAX).await?;
        let mut cases: Vec<ExceptionCase> = items
            .iter()
            .map(read_case)
            .filter(|c| c.as_ref().map_or(true, |c| filter.matches(c)))
            .collect::<Result<_, _>>()?;
        cases.sort_by(|a, b| (b.opened_at, &b.id).cmp(&(a.opened_at, &a.id)));
        cases.truncate(limit);
        Ok(cases)
    }
}
