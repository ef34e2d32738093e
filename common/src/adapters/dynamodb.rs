//! DynamoDB single-table store (feature `aws`): the AWS runtime's tenants, API keys, courier
//! connections and shipments. The change feed is the table's stream (decoded elsewhere); the
//! queue is SQS. Both follow in issue 4: until then nothing deploys this.
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
//! | shipment | `T#<tenant>` | `S#<id>` | GSI2 (sparse, active only): with an explicit poll time `POLL#<shard>` / `<next poll µs>#<tenant>#<id>`, on a cadence `EVERY#<seconds>#<phase / 600>` / `<phase>#<tenant>#<id>` |
//! | first leg (unique per tenant) | `T#<tenant>` | `NUM#<slug>#<compact number>` | `LEG#<slug>#<compact>` / `<tenant>#<id>` |
//! | last-mile leg | `T#<tenant>` | `LM#<slug>#<compact>#<id>` | `LEG#<slug>#<compact>` / `<tenant>#<id>` |
//!
//! A shipment and its leg items change in one transaction (a conditional put when the legs
//! stay as they are); the shipment item's `version` condition gives optimistic concurrency.
//! Explicit poll times are spread over 16 GSI2 partitions (by the id's first hex digit) so that
//! no one partition takes every scheduler read; shipments on a cadence sit in the partition of
//! their cadence and ten-minute share of it, which changes only with their status, so a quiet poll writes
//! nothing (see [`crate::domain::PollPolicy`]).
//!
//! With a retention ([`DynamoStore::with_retention`]), a finished shipment's item and its leg
//! items carry `expires_at` (its last change plus the retention, in epoch seconds), and the
//! table's TTL deletes them some time after; a retracked shipment loses it again.
//!
//! Listing reads the tenant's shipment items and filters with [`ListQuery::matches`]: exact
//! and simple, but a listing costs a read of all the tenant's shipments (to count `total`).
//! Large tenants need a counted index; that is left for when it is measured.
//! The SDK's own configuration chain finds the region, credentials and endpoint
//! (`AWS_ENDPOINT_URL` reaches an emulator); this module has no local branches.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, Put, ScalarAttributeType, StreamSpecification, StreamViewType, TransactWriteItem, Update,
};
use chrono::{DateTime, Utc};

use crate::domain::{Shipment, ShipmentId, Slug, TenantId, TrackingNumber};
use crate::ports::{
    ApiKeyRecord, ChangeEvent, ChangeKind, ConnectionStore, Cursor, ListPage, ListQuery, ShipmentStore, StatusSnapshot,
    StoreError, StoredConnection, Tenant, TenantStore,
};

/// An item as the table API gives it (stream images convert into it).
pub type Item = HashMap<String, AttributeValue>;

/// The single-table store.
#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    config: aws_config::SdkConfig,
    table: String,
    retention: Option<chrono::Duration>,
}

impl DynamoStore {
    /// A store on `table`, configured from the environment by the AWS SDK's chain (read once).
    pub async fn from_env(table: impl Into<String>) -> Self {
        DynamoStore::new(&aws_config::load_from_env().await, table)
    }

    /// A store on `table` with an SDK configuration loaded already (one per process).
    pub fn new(config: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        DynamoStore { client: Client::new(config), config: config.clone(), table: table.into(), retention: None }
    }

    /// Keeps a finished (inactive) shipment and its leg items for `retention` after its last
    /// change, then lets the table's TTL (`expires_at`) delete them; without it they stay.
    pub fn with_retention(mut self, retention: chrono::Duration) -> Self {
        self.retention = Some(retention);
        self
    }

    /// When `shipment`'s items expire: only once it is finished, and only with a retention.
    fn expires_at(&self, shipment: &Shipment) -> Option<i64> {
        let retention = self.retention.filter(|_| !shipment.active)?;
        Some((shipment.updated_at + retention).timestamp())
    }

    /// Creates the table as the SAM template declares it (keys, GSI1, GSI2, stream, on-demand
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
        let gsi2 = GlobalSecondaryIndex::builder()
            .index_name("GSI2")
            .key_schema(key("GSI2PK", KeyType::Hash)?)
            .key_schema(key("GSI2SK", KeyType::Range)?)
            .projection(Projection::builder().projection_type(ProjectionType::KeysOnly).build())
            .build()
            .map_err(unavailable)?;
        self.client
            .create_table()
            .table_name(&self.table)
            .attribute_definitions(string("PK")?)
            .attribute_definitions(string("SK")?)
            .attribute_definitions(string("GSI1PK")?)
            .attribute_definitions(string("GSI1SK")?)
            .attribute_definitions(string("GSI2PK")?)
            .attribute_definitions(string("GSI2SK")?)
            .key_schema(key("PK", KeyType::Hash)?)
            .key_schema(key("SK", KeyType::Range)?)
            .global_secondary_indexes(gsi1)
            .global_secondary_indexes(gsi2)
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
        self.get_item(pk, sk, true).await
    }

    async fn get_item(&self, pk: String, sk: &str, consistent: bool) -> Result<Option<Item>, StoreError> {
        let answer = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("PK", s(pk))
            .key("SK", s(sk))
            .consistent_read(consistent)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(answer.item)
    }

    /// Every item of GSI1 partition `partition`, in GSI1SK order, page by page.
    async fn query_gsi1(&self, partition: String) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let answer = self
                .client
                .query()
                .table_name(&self.table)
                .index_name("GSI1")
                .key_condition_expression("GSI1PK = :partition")
                .expression_attribute_values(":partition", s(partition.as_str()))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(unavailable)?;
            items.extend(answer.items.unwrap_or_default());
            match answer.last_evaluated_key {
                Some(next) => start = Some(next),
                None => return Ok(items),
            }
        }
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

/// A single-item write's result, with DynamoDB refusing it because its condition failed
/// read as `refused`.
fn refused_as<T, E>(result: Result<T, SdkError<E>>, refused: StoreError) -> Result<T, StoreError>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Err(error) if error.as_service_error().and_then(|e| e.code()) == Some("ConditionalCheckFailedException") => {
            Err(refused)
        }
        other => other.map_err(unavailable),
    }
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
        refused_as(result, StoreError::Conflict).map(|_| ())
    }

    async fn get_tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        self.get(tenant_pk(id), "TENANT").await?.map(|item| read_tenant(&item)).transpose()
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        self.query_gsi1("TENANTS".to_owned()).await?.iter().map(read_tenant).collect()
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

/// How often `delete` re-reads a shipment that keeps changing under it before giving up.
const DELETE_ATTEMPTS: usize = 5;

/// Poll-index partitions: a shipment's is its id's first hex digit.
const POLL_SHARDS: &str = "0123456789abcdef";

/// Seconds of a cadence whose shipments share a GSI2 partition (ten minutes): a poll run every
/// minute reads one partition per cadence, and no partition holds more than this share of it.
const PHASE_BUCKET: u32 = 600;

/// The GSI2 partition of the shipments on `cadence` polled at second `phase` of it.
fn cadence_partition(cadence: u32, phase: u32) -> String {
    format!("EVERY#{cadence}#{}", phase / PHASE_BUCKET)
}

/// The tenant and shipment of a GSI2 sort key (`<time or phase>#<tenant>#<id>`).
fn poll_position_ids(position: &str) -> Result<(TenantId, ShipmentId), StoreError> {
    let mut parts = position.splitn(3, '#').skip(1);
    let (Some(tenant), Some(id)) = (parts.next(), parts.next()) else { return Err(corrupt("GSI2SK")) };
    let tenant = TenantId::parse(tenant).map_err(|_| corrupt("GSI2SK"))?;
    Ok((tenant, ShipmentId::parse(id).map_err(|_| corrupt("GSI2SK"))?))
}

/// A shipment's GSI2 sort key on its cadence: its phase first, for range reads.
fn cadence_position(phase: u32, tenant: &TenantId, id: &ShipmentId) -> String {
    format!("{phase:010}#{tenant}#{id}")
}

fn shipment_sk(id: &ShipmentId) -> String {
    format!("S#{id}")
}

fn first_leg_sk(shipment: &Shipment) -> String {
    format!("NUM#{}#{}", shipment.slug, shipment.tracking_number.compact())
}

fn last_mile_sk(shipment: &Shipment) -> Option<String> {
    shipment.last_mile.as_ref().map(|leg| format!("LM#{}#{}#{}", leg.slug, leg.tracking_number.compact(), shipment.id))
}

fn leg_index(slug: &Slug, number: &TrackingNumber) -> String {
    format!("LEG#{slug}#{}", number.compact())
}

/// The shipment item for `shipment` stored at `version`.
fn shipment_item(shipment: &Shipment, version: u64, expires_at: Option<i64>) -> Result<Item, StoreError> {
    let mut stored = shipment.clone();
    stored.version = version;
    let body = serde_json::to_vec(&stored).map_err(unavailable)?;
    let deflated = miniz_oxide::deflate::compress_to_vec(&body, BODY_COMPRESSION);
    let mut item = HashMap::from([
        ("PK".to_owned(), s(tenant_pk(&shipment.tenant_id))),
        ("SK".to_owned(), s(shipment_sk(&shipment.id))),
        ("tenant_id".to_owned(), s(shipment.tenant_id.as_str())),
        ("id".to_owned(), s(shipment.id.as_str())),
        ("version".to_owned(), AttributeValue::N(version.to_string())),
        ("body".to_owned(), AttributeValue::B(Blob::new(deflated))),
    ]);
    let poll = match (shipment.active, shipment.next_poll_at, shipment.poll_cadence) {
        (true, Some(at), _) => {
            let shard = shipment.id.as_str().chars().next().unwrap_or('0');
            let position = format!("{:020}#{}#{}", at.timestamp_micros().max(0), shipment.tenant_id, shipment.id);
            Some((format!("POLL#{shard}"), position))
        }
        (true, None, Some(cadence)) => {
            let phase = shipment.poll_phase(cadence);
            Some((cadence_partition(cadence, phase), cadence_position(phase, &shipment.tenant_id, &shipment.id)))
        }
        _ => None,
    };
    if let Some((partition, position)) = poll {
        item.insert("GSI2PK".to_owned(), s(partition));
        item.insert("GSI2SK".to_owned(), s(position));
    }
    if let Some(at) = expires_at {
        item.insert("expires_at".to_owned(), AttributeValue::N(at.to_string()));
    }
    Ok(item)
}

/// A leg item: routes carrier events for (`slug`, `number`) to the shipment.
fn leg_item(shipment: &Shipment, sk: String, slug: &Slug, number: &TrackingNumber, expires_at: Option<i64>) -> Item {
    let mut item = HashMap::from([
        ("PK".to_owned(), s(tenant_pk(&shipment.tenant_id))),
        ("SK".to_owned(), s(sk)),
        ("GSI1PK".to_owned(), s(leg_index(slug, number))),
        ("GSI1SK".to_owned(), s(format!("{}#{}", shipment.tenant_id, shipment.id))),
        ("tenant_id".to_owned(), s(shipment.tenant_id.as_str())),
        ("shipment_id".to_owned(), s(shipment.id.as_str())),
    ]);
    if let Some(at) = expires_at {
        item.insert("expires_at".to_owned(), AttributeValue::N(at.to_string()));
    }
    item
}

/// DEFLATE level for shipment bodies: JSON timelines shrink four- to sixfold, and items are
/// billed per started KB written and 4 KB read.
const BODY_COMPRESSION: u8 = 6;
/// The largest body inflated: DynamoDB items stop at 400 KB, their JSON well within this.
const MAX_BODY: usize = 16 << 20;

fn read_shipment(item: &Item) -> Result<Shipment, StoreError> {
    let body = match item.get("body") {
        // Deflated JSON; items written before bodies were compressed hold the text.
        Some(AttributeValue::B(deflated)) => {
            miniz_oxide::inflate::decompress_to_vec_with_limit(deflated.as_ref(), MAX_BODY)
                .map_err(|_| corrupt("body"))?
        }
        Some(AttributeValue::S(text)) => text.clone().into_bytes(),
        _ => return Err(corrupt("body")),
    };
    let mut shipment: Shipment = serde_json::from_slice(&body).map_err(unavailable)?;
    shipment.version = item
        .get("version")
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| corrupt("version"))?;
    Ok(shipment)
}

fn ids(item: &Item) -> Result<(TenantId, ShipmentId), StoreError> {
    let id = ShipmentId::parse(text(item, "shipment_id")?).map_err(|_| corrupt("shipment_id"))?;
    Ok((tenant_id(item)?, id))
}

impl DynamoStore {
    fn put(&self, item: Item, condition: Option<&str>) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned));
        Ok(TransactWriteItem::builder().put(put.build().map_err(unavailable)?).build())
    }

    /// Sets (or, with `None`, removes) an existing item's `expires_at`.
    fn set_expiry(&self, pk: String, sk: String, expires_at: Option<i64>) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .key("PK", s(pk))
            .key("SK", s(sk))
            .condition_expression("attribute_exists(PK)");
        let update = match expires_at {
            Some(at) => update
                .update_expression("SET expires_at = :at")
                .expression_attribute_values(":at", AttributeValue::N(at.to_string())),
            None => update.update_expression("REMOVE expires_at"),
        };
        Ok(TransactWriteItem::builder().update(update.build().map_err(unavailable)?).build())
    }

    fn delete_key(&self, pk: String, sk: String) -> Result<TransactWriteItem, StoreError> {
        let delete =
            aws_sdk_dynamodb::types::Delete::builder().table_name(&self.table).key("PK", s(pk)).key("SK", s(sk));
        Ok(TransactWriteItem::builder().delete(delete.build().map_err(unavailable)?).build())
    }

    /// The write of a shipment and of the leg items that change with it, as one transaction.
    /// `old` is the shipment as stored (`None` for a new one); the shipment item's condition
    /// is `condition`.
    fn shipment_writes(
        &self,
        shipment: &Shipment,
        old: Option<&Shipment>,
        version: u64,
        condition: (&str, Option<u64>),
    ) -> Result<(Vec<TransactWriteItem>, Option<usize>), StoreError> {
        let pk = tenant_pk(&shipment.tenant_id);
        let expires_at = self.expires_at(shipment);
        let mut put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(shipment_item(shipment, version, expires_at)?))
            .condition_expression(condition.0);
        if let Some(expected) = condition.1 {
            put = put.expression_attribute_values(":expected", AttributeValue::N(expected.to_string()));
        }
        let mut writes = vec![TransactWriteItem::builder().put(put.build().map_err(unavailable)?).build()];
        // The index of the write that claims the first leg: its failure means a duplicate.
        let mut claim = None;
        let first = first_leg_sk(shipment);
        // Legs kept as they are still expire with the shipment.
        let expiry_moved = old.is_some_and(|old| self.expires_at(old) != expires_at);
        let mut kept_legs = Vec::new();
        if old.is_none_or(|old| first_leg_sk(old) != first) {
            if let Some(old) = old {
                writes.push(self.delete_key(pk.clone(), first_leg_sk(old))?);
            }
            claim = Some(writes.len());
            let item = leg_item(shipment, first, &shipment.slug, &shipment.tracking_number, expires_at);
            writes.push(self.put(item, Some("attribute_not_exists(PK)"))?);
        } else {
            kept_legs.push(first);
        }
        let last = last_mile_sk(shipment);
        let old_last = old.and_then(last_mile_sk);
        if last != old_last {
            if let Some(old_last) = old_last {
                writes.push(self.delete_key(pk.clone(), old_last)?);
            }
            if let (Some(sk), Some(leg)) = (last, &shipment.last_mile) {
                writes.push(self.put(leg_item(shipment, sk, &leg.slug, &leg.tracking_number, expires_at), None)?);
            }
        } else {
            kept_legs.extend(last);
        }
        if expiry_moved {
            for sk in kept_legs {
                writes.push(self.set_expiry(pk.clone(), sk, expires_at)?);
            }
        }
        Ok((writes, claim))
    }

    /// The id of the tenant's shipment holding `shipment`'s first leg.
    async fn holder_of_first_leg(&self, shipment: &Shipment) -> Result<StoreError, StoreError> {
        let item = self.get(tenant_pk(&shipment.tenant_id), &first_leg_sk(shipment)).await?;
        match item {
            Some(item) => Ok(StoreError::Duplicate(ids(&item)?.1)),
            None => Ok(StoreError::Conflict), // released meanwhile: the caller retries
        }
    }

    /// Runs a shipment transaction, reading why it was refused: a duplicate first leg, or
    /// the shipment item's condition (`refused`). A write of the shipment item alone is a
    /// conditional put, at half a transaction's cost.
    async fn write_shipment(
        &self,
        shipment: &Shipment,
        (writes, claim): (Vec<TransactWriteItem>, Option<usize>),
        refused: StoreError,
    ) -> Result<(), StoreError> {
        if let [single] = writes.as_slice()
            && let Some(put) = single.put()
        {
            let result = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(put.item().clone()))
                .set_condition_expression(put.condition_expression().map(str::to_owned))
                .set_expression_attribute_values(put.expression_attribute_values().cloned())
                .send()
                .await;
            return refused_as(result, refused).map(|_| ());
        }
        match self.client.transact_write_items().set_transact_items(Some(writes)).send().await {
            Ok(_) => Ok(()),
            Err(error) => match cancellation_codes(&error) {
                Some(codes) if codes.first().is_some_and(|c| c == "ConditionalCheckFailed") => Err(refused),
                Some(codes) if claim.is_some_and(|i| codes.get(i).is_some_and(|c| c == "ConditionalCheckFailed")) => {
                    Err(self.holder_of_first_leg(shipment).await?)
                }
                Some(codes) if codes.iter().any(|c| c == "TransactionConflict") => Err(StoreError::Conflict),
                _ => Err(unavailable(error)),
            },
        }
    }
}

#[async_trait]
impl ShipmentStore for DynamoStore {
    async fn insert(&self, shipment: &Shipment) -> Result<u64, StoreError> {
        let writes = self.shipment_writes(shipment, None, 1, ("attribute_not_exists(PK)", None))?;
        self.write_shipment(shipment, writes, StoreError::Conflict).await?;
        Ok(1)
    }

    async fn get(&self, tenant: &TenantId, id: &ShipmentId) -> Result<Option<Shipment>, StoreError> {
        DynamoStore::get(self, tenant_pk(tenant), &shipment_sk(id)).await?.map(|item| read_shipment(&item)).transpose()
    }

    async fn get_eventually(&self, tenant: &TenantId, id: &ShipmentId) -> Result<Option<Shipment>, StoreError> {
        let item = self.get_item(tenant_pk(tenant), &shipment_sk(id), false).await?;
        item.map(|item| read_shipment(&item)).transpose()
    }

    async fn update(&self, shipment: &Shipment) -> Result<u64, StoreError> {
        let stored = ShipmentStore::get(self, &shipment.tenant_id, &shipment.id).await?.ok_or(StoreError::NotFound)?;
        if stored.version != shipment.version {
            return Err(StoreError::Conflict);
        }
        let version = shipment.version + 1;
        let writes =
            self.shipment_writes(shipment, Some(&stored), version, ("version = :expected", Some(shipment.version)))?;
        // Refused on the version: changed since read, or deleted (both mean re-read).
        match self.write_shipment(shipment, writes, StoreError::Conflict).await {
            Err(StoreError::Conflict)
                if ShipmentStore::get(self, &shipment.tenant_id, &shipment.id).await?.is_none() =>
            {
                Err(StoreError::NotFound)
            }
            other => other.map(|()| version),
        }
    }

    async fn delete(&self, tenant: &TenantId, id: &ShipmentId) -> Result<Shipment, StoreError> {
        // A shipment changed between the read and the delete is read again, a few times.
        for _ in 0..DELETE_ATTEMPTS {
            let stored = ShipmentStore::get(self, tenant, id).await?.ok_or(StoreError::NotFound)?;
            let pk = tenant_pk(tenant);
            let shipment = aws_sdk_dynamodb::types::Delete::builder()
                .table_name(&self.table)
                .key("PK", s(&pk))
                .key("SK", s(shipment_sk(id)))
                .condition_expression("version = :expected")
                .expression_attribute_values(":expected", AttributeValue::N(stored.version.to_string()))
                .build()
                .map_err(unavailable)?;
            let mut writes = vec![TransactWriteItem::builder().delete(shipment).build()];
            writes.push(self.delete_key(pk.clone(), first_leg_sk(&stored))?);
            if let Some(sk) = last_mile_sk(&stored) {
                writes.push(self.delete_key(pk.clone(), sk)?);
            }
            match self.write_shipment(&stored, (writes, None), StoreError::Conflict).await {
                Ok(()) => return Ok(stored),
                Err(StoreError::Conflict) => continue,
                Err(other) => return Err(other),
            }
        }
        Err(StoreError::Conflict)
    }

    async fn list(&self, tenant: &TenantId, query: &ListQuery) -> Result<ListPage, StoreError> {
        let items = self.query_prefix(tenant_pk(tenant), "S#", None, usize::MAX).await?;
        let mut matching = Vec::new();
        for item in &items {
            let shipment = read_shipment(item)?;
            if query.matches(&shipment) {
                matching.push(shipment);
            }
        }
        matching.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
        let total = matching.len() as u64;
        let after_cursor =
            |s: &Shipment| query.cursor.as_ref().is_none_or(|c| (s.created_at, &s.id) < (c.created_at, &c.id));
        let limit = query.limit.clamp(1, 200);
        let mut shipments: Vec<Shipment> = matching.into_iter().filter(after_cursor).take(limit + 1).collect();
        let next_cursor = if shipments.len() > limit {
            shipments.truncate(limit);
            shipments.last().map(|s| Cursor { created_at: s.created_at, id: s.id.clone() })
        } else {
            None
        };
        Ok(ListPage { shipments, total, next_cursor })
    }

    async fn find_legs(
        &self,
        slug: &Slug,
        tracking_number: &TrackingNumber,
    ) -> Result<Vec<(TenantId, ShipmentId)>, StoreError> {
        let items = self.query_gsi1(leg_index(slug, tracking_number)).await?;
        let mut found = items.iter().map(ids).collect::<Result<Vec<_>, _>>()?;
        found.sort();
        found.dedup();
        Ok(found)
    }

    async fn due_for_poll(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
        cadences: &[u32],
    ) -> Result<Vec<(TenantId, ShipmentId)>, StoreError> {
        // Explicit times: every shard's entries up to `until`, merged earliest first.
        let upto = format!("{:020}#~", until.timestamp_micros().max(0));
        let mut explicit: Vec<(String, (TenantId, ShipmentId))> = Vec::new();
        for shard in POLL_SHARDS.chars() {
            for item in self.query_gsi2(format!("POLL#{shard}"), None, &upto).await? {
                let position = text(&item, "GSI2SK")?.to_owned();
                let ids = poll_position_ids(&position)?;
                explicit.push((position, ids));
            }
        }
        explicit.sort_by(|a, b| a.0.cmp(&b.0));
        let mut due: Vec<(TenantId, ShipmentId)> = explicit.into_iter().map(|(_, ids)| ids).collect();
        // Cadences: the window's seconds of each cycle (at most all of them), read as one phase
        // range per partition. The range of a partition spans the window's phases in it, which
        // are consecutive except for cadences shorter than a partition's share (then a few
        // shipments are polled a little early).
        let seconds = crate::domain::seconds_between(after, until);
        for &cadence in cadences {
            let cycle = i64::from(cadence.max(1));
            let mut ranges: BTreeMap<String, (u32, u32)> = BTreeMap::new();
            for second in seconds.clone().take(cycle as usize) {
                let phase = u32::try_from(second.rem_euclid(cycle)).unwrap_or(0);
                let range = ranges.entry(cadence_partition(cadence, phase)).or_insert((phase, phase));
                *range = (range.0.min(phase), range.1.max(phase));
            }
            for (partition, (low, high)) in ranges {
                let (low, high) = (format!("{low:010}#"), format!("{high:010}#~"));
                for item in self.query_gsi2(partition, Some(&low), &high).await? {
                    due.push(poll_position_ids(text(&item, "GSI2SK")?)?);
                }
            }
        }
        Ok(due)
    }
}

impl DynamoStore {
    /// Every GSI2 entry of `partition` whose sort key is at most `high` (and at least `low`),
    /// page by page.
    async fn query_gsi2(&self, partition: String, low: Option<&str>, high: &str) -> Result<Vec<Item>, StoreError> {
        let condition = match low {
            Some(_) => "GSI2PK = :partition AND GSI2SK BETWEEN :low AND :high",
            None => "GSI2PK = :partition AND GSI2SK <= :high",
        };
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .index_name("GSI2")
                .key_condition_expression(condition)
                .expression_attribute_values(":partition", s(partition.as_str()))
                .expression_attribute_values(":high", s(high))
                .set_exclusive_start_key(start.take());
            if let Some(low) = low {
                query = query.expression_attribute_values(":low", s(low));
            }
            let answer = query.send().await.map_err(unavailable)?;
            items.extend(answer.items.unwrap_or_default());
            match answer.last_evaluated_key {
                Some(next) => start = Some(next),
                None => return Ok(items),
            }
        }
    }
}

/// The change a record of the table's stream (NEW_AND_OLD_IMAGES) describes: `None` for items
/// that are not shipments (legs, tenants, keys, connections). `operation` is the record's
/// `INSERT`, `MODIFY` or `REMOVE`; `at` its approximate creation time.
pub fn change_from_stream_record(
    operation: &str,
    at: DateTime<Utc>,
    old: Option<&Item>,
    new: Option<&Item>,
) -> Result<Option<ChangeEvent>, StoreError> {
    let Some(image) = new.or(old) else { return Ok(None) };
    if !text(image, "SK")?.starts_with("S#") {
        return Ok(None);
    }
    let kind = match operation {
        "INSERT" => ChangeKind::Created,
        "MODIFY" => ChangeKind::Updated,
        "REMOVE" => ChangeKind::Deleted,
        _ => return Err(corrupt("stream operation")),
    };
    let snapshot =
        |item: Option<&Item>| item.map(read_shipment).transpose().map(|s| s.as_ref().map(StatusSnapshot::of));
    let shipment = read_shipment(image)?;
    Ok(Some(ChangeEvent {
        tenant_id: shipment.tenant_id,
        shipment_id: shipment.id,
        kind,
        at,
        old: snapshot(old)?,
        new: snapshot(new)?,
    }))
}

/// One record of the table's stream, with its images in the table API's terms.
#[derive(Debug, Clone)]
pub struct StreamImages {
    /// `INSERT`, `MODIFY` or `REMOVE`.
    pub operation: String,
    /// The record's sequence number.
    pub sequence_number: String,
    /// When the change was made (approximately, to the second).
    pub at: DateTime<Utc>,
    /// The item before.
    pub old: Option<Item>,
    /// The item after.
    pub new: Option<Item>,
}

impl DynamoStore {
    /// Every shipment change on the table's stream so far, oldest first per shard.
    pub async fn stream_changes(&self) -> Result<Vec<ChangeEvent>, StoreError> {
        let mut changes = Vec::new();
        for record in self.stream_records().await? {
            let change =
                change_from_stream_record(&record.operation, record.at, record.old.as_ref(), record.new.as_ref())?;
            changes.extend(change);
        }
        Ok(changes)
    }

    /// Every record on the table's stream so far, shard by shard from the oldest: what Lambda
    /// hands the `status-fanout` function, read through the Streams API (for tests and
    /// operators).
    pub async fn stream_records(&self) -> Result<Vec<StreamImages>, StoreError> {
        use aws_sdk_dynamodbstreams::types::ShardIteratorType;
        let table = self.client.describe_table().table_name(&self.table).send().await.map_err(unavailable)?;
        let arn = table.table.and_then(|t| t.latest_stream_arn).ok_or_else(|| corrupt("stream"))?;
        let streams = aws_sdk_dynamodbstreams::Client::new(&self.config);
        let description = streams.describe_stream().stream_arn(&arn).send().await.map_err(unavailable)?;
        let shards = description.stream_description.map(|d| d.shards.unwrap_or_default()).unwrap_or_default();
        let mut records = Vec::new();
        for shard in shards {
            let Some(shard_id) = shard.shard_id else { continue };
            let iterator = streams
                .get_shard_iterator()
                .stream_arn(&arn)
                .shard_id(shard_id)
                .shard_iterator_type(ShardIteratorType::TrimHorizon)
                .send()
                .await
                .map_err(unavailable)?;
            let mut next = iterator.shard_iterator;
            while let Some(position) = next.take() {
                let page = streams.get_records().shard_iterator(position).send().await.map_err(unavailable)?;
                let page_records = page.records.unwrap_or_default();
                if page_records.is_empty() {
                    break; // caught up with an open shard
                }
                for record in page_records {
                    let operation = record.event_name.as_ref().map(|o| o.as_str().to_owned()).unwrap_or_default();
                    let Some(data) = record.dynamodb else { continue };
                    let at = data
                        .approximate_creation_date_time
                        .and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
                        .unwrap_or_default();
                    records.push(StreamImages {
                        operation,
                        sequence_number: data.sequence_number.unwrap_or_default(),
                        at,
                        old: data.old_image.map(from_stream_item),
                        new: data.new_image.map(from_stream_item),
                    });
                }
                next = page.next_shard_iterator;
            }
        }
        Ok(records)
    }
}

/// A stream image in the table API's terms (the two SDK crates have twin types).
fn from_stream_item(item: HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>) -> Item {
    item.into_iter().map(|(name, value)| (name, from_stream_value(value))).collect()
}

fn from_stream_value(value: aws_sdk_dynamodbstreams::types::AttributeValue) -> AttributeValue {
    use aws_sdk_dynamodbstreams::types::AttributeValue as Stream;
    match value {
        Stream::S(v) => AttributeValue::S(v),
        Stream::N(v) => AttributeValue::N(v),
        Stream::B(v) => AttributeValue::B(v),
        Stream::Bool(v) => AttributeValue::Bool(v),
        Stream::Null(v) => AttributeValue::Null(v),
        Stream::Ss(v) => AttributeValue::Ss(v),
        Stream::Ns(v) => AttributeValue::Ns(v),
        Stream::Bs(v) => AttributeValue::Bs(v),
        Stream::L(v) => AttributeValue::L(v.into_iter().map(from_stream_value).collect()),
        Stream::M(v) => AttributeValue::M(from_stream_item(v)),
        _ => AttributeValue::Null(true), // a type newer than this code: not one it writes
    }
}
