//! DynamoDB single-table store (feature `aws`): the AWS runtime's tenants, API keys and courier
//! connections. Shipments, the change feed (DynamoDB Streams) and the queue (SQS) follow in
//! issue 4; until then the AWS runtime is not complete and nothing deploys it.
//!
//! Every item's partition key starts with what it belongs to; merchant data is always under
//! `T#<tenant>`:
//!
//! | item | PK | SK | GSI1PK / GSI1SK |
//! |---|---|---|---|
//! | tenant | `T#<tenant>` | `TENANT` | `TENANTS` / `<created µs, 20 digits>#<tenant>` |
//! | a tenant's API key | `T#<tenant>` | `APIKEY#<key id>` | |
//! | key lookup by digest | `KEY#<sha-256 hex>` | `KEY` | |
//! | courier connection | `T#<tenant>` | `CONN#<id>` | |
//!
//! The SDK's own configuration chain finds the region, credentials and endpoint
//! (`AWS_ENDPOINT_URL` reaches an emulator); this module has no local branches.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, Put, ScalarAttributeType, StreamSpecification, StreamViewType, TransactWriteItem, Update,
};
use chrono::{DateTime, Utc};

use crate::domain::{Slug, TenantId};
use crate::ports::{ApiKeyRecord, ConnectionStore, StoreError, StoredConnection, Tenant, TenantStore};

type Item = HashMap<String, AttributeValue>;

/// The single-table store.
#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    /// A store on `table`, configured from the environment by the AWS SDK's chain (read once).
    pub async fn from_env(table: impl Into<String>) -> Self {
        let config = aws_config::load_from_env().await;
        DynamoStore { client: Client::new(&config), table: table.into() }
    }

    /// Creates the table as the SAM template declares it (keys, GSI1, stream, on-demand
    /// billing): for emulators and tests; deployments get it from the template.
    pub async fn create_table(&self) -> Result<(), StoreError> {
        let string = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(unavailable)
        };
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder().attribute_name(name).key_type(kind).build().map_err(unavailable)
        };
        let gsi1 = GlobalSecondaryIndex::builder()
            .index_name("GSI1")
            .key_schema(key("GSI1PK", KeyType::Hash)?)
            .key_schema(key("GSI1SK", KeyType::Range)?)
            .projection(Projection::builder().projection_type(ProjectionType::All).build())
            .build()
            .map_err(unavailable)?;
        self.client
            .create_table()
            .table_name(&self.table)
            .attribute_definitions(string("PK")?)
            .attribute_definitions(string("SK")?)
            .attribute_definitions(string("GSI1PK")?)
            .attribute_definitions(string("GSI1SK")?)
            .key_schema(key("PK", KeyType::Hash)?)
            .key_schema(key("SK", KeyType::Range)?)
            .global_secondary_indexes(gsi1)
            .billing_mode(BillingMode::PayPerRequest)
            .stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::NewAndOldImages)
                    .build()
                    .map_err(unavailable)?,
            )
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn get(&self, pk: String, sk: &str) -> Result<Option<Item>, StoreError> {
        let answer = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("PK", s(pk))
            .key("SK", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(answer.item)
    }

    /// Every item of partition `pk` whose sort key starts with `prefix` and comes after
    /// `after` (a whole sort key), in sort-key order, up to `limit`.
    async fn query_prefix(
        &self,
        pk: String,
        prefix: &str,
        after: Option<String>,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start: Option<Item> =
            after.map(|sk| HashMap::from([("PK".to_owned(), s(&pk)), ("SK".to_owned(), s(sk))]));
        loop {
            let answer = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
                .expression_attribute_values(":pk", s(&pk))
                .expression_attribute_values(":prefix", s(prefix))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(unavailable)?;
            items.extend(answer.items.unwrap_or_default());
            match answer.last_evaluated_key {
                Some(next) if items.len() < limit => start = Some(next),
                _ => break,
            }
        }
        items.truncate(limit);
        Ok(items)
    }
}

fn tenant_pk(tenant: &TenantId) -> String {
    format!("T#{tenant}")
}

fn digest_pk(digest: &[u8; 32]) -> String {
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("KEY#{hex}")
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn time_value(at: DateTime<Utc>) -> AttributeValue {
    AttributeValue::N(at.timestamp_micros().to_string())
}

fn unavailable(error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Unavailable(Box::new(error))
}

/// A stored item that does not read back: the table holds something this code did not write.
fn corrupt(what: &str) -> StoreError {
    StoreError::Unavailable(format!("dynamodb item without a valid {what}").into())
}

fn text<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str).ok_or_else(|| corrupt(name))
}

fn time(item: &Item, name: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    let Some(value) = item.get(name) else { return Ok(None) };
    let micros: i64 = value.as_n().ok().and_then(|n| n.parse().ok()).ok_or_else(|| corrupt(name))?;
    DateTime::from_timestamp_micros(micros).map(Some).ok_or_else(|| corrupt(name))
}

fn required_time(item: &Item, name: &str) -> Result<DateTime<Utc>, StoreError> {
    time(item, name)?.ok_or_else(|| corrupt(name))
}

fn tenant_id(item: &Item) -> Result<TenantId, StoreError> {
    TenantId::parse(text(item, "tenant_id")?).map_err(|_| corrupt("tenant_id"))
}

/// Whether `error` is DynamoDB refusing a write because its condition failed.
fn condition_failed<E>(error: &SdkError<E>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    error.as_service_error().and_then(|e| e.code()) == Some("ConditionalCheckFailedException")
}

/// The cancellation reason codes of a failed transaction, one per item (`None` when it
/// failed for another reason).
fn cancellation_codes(
    error: &SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError>,
) -> Option<Vec<String>> {
    match error.as_service_error()? {
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(
            cancelled,
        ) => Some(cancelled.cancellation_reasons().iter().map(|r| r.code().unwrap_or("None").to_owned()).collect()),
        _ => None,
    }
}

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
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) if condition_failed(&error) => Err(StoreError::Conflict),
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn get_tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        self.get(tenant_pk(id), "TENANT").await?.map(|item| read_tenant(&item)).transpose()
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        let mut tenants = Vec::new();
        let mut start = None;
        loop {
            let answer = self
                .client
                .query()
                .table_name(&self.table)
                .index_name("GSI1")
                .key_condition_expression("GSI1PK = :all")
                .expression_attribute_values(":all", s("TENANTS"))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(unavailable)?;
            for item in answer.items.unwrap_or_default() {
                tenants.push(read_tenant(&item)?);
            }
            match answer.last_evaluated_key {
                Some(next) => start = Some(next),
                None => break,
            }
        }
        Ok(tenants)
    }

    async fn add_api_key(&self, record: &ApiKeyRecord, digest: &[u8; 32]) -> Result<(), StoreError> {
        let hex_digest = digest.iter().map(|b| format!("{b:02x}")).collect::<String>();
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
        match result {
            Ok(_) => Ok(()),
            Err(error) if condition_failed(&error) => Err(StoreError::Conflict),
            Err(error) => Err(unavailable(error)),
        }
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
        match result {
            Ok(_) => Ok(()),
            Err(error) if condition_failed(&error) => Err(StoreError::NotFound),
            Err(error) => Err(unavailable(error)),
        }
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
        match result {
            Ok(answer) => read_connection(&answer.attributes.ok_or_else(|| corrupt("deleted connection"))?),
            Err(error) if condition_failed(&error) => Err(StoreError::NotFound),
            Err(error) => Err(unavailable(error)),
        }
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
