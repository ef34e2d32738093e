//! DynamoDB single-table store: the AWS runtime's tenants, API keys, courier connections and
//! shipments, one file per port (`keys.rs` holds the key layout). The change feed is the
//! table's stream (`stream.rs`); the queue is SQS (`crate::sqs`).
//!
//! Every item's partition key starts with what it belongs to; merchant data is always under
//! `T#<tenant>`:
//!
//! | item | PK | SK | GSI1PK / GSI1SK |
//! |---|---|---|---|
//! | tenant (`list_entries` once every shipment has its list entry) | `T#<tenant>` | `TENANT` | `TENANTS` / `<created µs, 20 digits>#<tenant>` |
//! | a tenant's API key | `T#<tenant>` | `APIKEY#<key id>` | |
//! | key lookup by digest | `KEY#<sha-256 hex>` | `KEY` | |
//! | courier connection | `T#<tenant>` | `CONN#<id>` | |
//! | storefront connector | `T#<tenant>` | `SFC#<id>` | |
//! | a connector's tenant (ids are unique) | `SFC#<id>` | `SFC` | |
//! | a connector's webhook delivery handled (TTL 7 days) | `T#<tenant>` | `SFD#<connector>#<delivery id>` | |
//! | the newest change of a store's order or fulfilment | `T#<tenant>` | `SFR#<connector>#<resource>` | |
//! | shipment | `T#<tenant>` | `S#<id>` | GSI2 (sparse, active only): with an explicit poll time `POLL#<shard>` / `<next poll µs>#<tenant>#<id>`, on a cadence `EVERY#<seconds>#<phase / 600>` / `<phase>#<tenant>#<id>` |
//! | first leg (unique per tenant) | `T#<tenant>` | `NUM#<slug>#<compact number>` | `LEG#<slug>#<compact>` / `<tenant>#<id>` |
//! | last-mile leg | `T#<tenant>` | `LM#<slug>#<compact>#<id>` | `LEG#<slug>#<compact>` / `<tenant>#<id>` |
//! | a shipment's list entry | `T#<tenant>` | `LC#<created µs, 20 digits>#<id>` | |
//! | tracking page settings | `T#<tenant>` | `PAGE` | |
//! | page slug (unique) | `PAGESLUG#<slug>` | `PAGESLUG` | |
//! | settings document (notification rules, ...) | `T#<tenant>` | `SET#<kind>` | |
//! | webhook event | `T#<tenant>` | `WEV#<event id>` | GSI3 `T#<tenant>#WEV` / `<at µs>#<event id>` |
//! | webhook delivery | `T#<tenant>` | `WDL#<id>` | GSI3 `T#<tenant>#WDL#<endpoint>` / `<created µs>#<id>`; GSI2 while pending: `WDUE#<id's first hex digit>` / `<due µs>#<tenant>#<id>` |
//! | exception case | `T#<tenant>` | `EXC#<case id>` | |
//! | suppressed address | `T#<tenant>` | `SUP#<suppression id>` | |
//! | order | `T#<tenant>` | `ORD#<order id>` | GSI3 with a number: `T#<tenant>#ORDN#<sha-256 of the number>` / `<updated µs>#<id>` |
//! | return | `T#<tenant>` | `RET#<id>` | GSI3 `T#<tenant>#RETO#<order id>` / `<created µs>#<id>`; GSI2 while waiting to expire: `RETDUE` / `<expires µs>#<tenant>#<id>` |
//! | a return's RMA number (unique per tenant) | `T#<tenant>` | `RMA#<rma>` | |
//! | an order's count of returns (one create at a time) | `T#<tenant>` | `ORDRET#<order id>` | |
//! | analytics rollup | `T#<tenant>#AN#<day or month>` | `<lane as JSON>` | |
//! | a shipment's last version counted into the rollups | `T#<tenant>` | `ANV#<shipment id>` | |
//! | history import job | `T#<tenant>` | `IMP#<id>` | GSI2 while running: `IMPRUN` / `<created µs>#<tenant>#<id>` |
//! | console member | `T#<tenant>` | `USR#<member id>` | |
//! | a member's email (unique across merchants) | `USREMAIL#<sha-256 of the email>` | `USREMAIL` | |
//! | console session (TTL at its end) | `SES#<sha-256 of its secret>` | `SES` | |
//! | audit log line (TTL 400 days) | `T#<tenant>` | `AUD#<µs, 20 digits>-<random>` | |
//! | message (the ledger) | `T#<tenant>` | `MSG#<shipment>#<message id>` | GSI2 while planned: `DUE#<id's first hex digit>` / `<due µs>#<tenant>#<shipment>#<id>` |
//!
//! GSI3 (keys only) answers shoppers' lookups within a tenant: each leg item carries
//! `T#<tenant>#N#<compact number>`, a shipment item with an order number
//! `T#<tenant>#O#<sha-256 of the order number>`, both sorted by `<created µs>#<id>`. A table
//! filled before GSI3 existed needs its shipments written again (their legs re-created) to be
//! found by shoppers.
//!
//! A shipment, its leg items and its list entry change in one transaction (a conditional put
//! when the legs and the entry stay as they are); the shipment item's `version` condition
//! gives optimistic concurrency.
//! Explicit poll times are spread over 16 GSI2 partitions (by the id's first hex digit) so that
//! no one partition takes every scheduler read; shipments on a cadence sit in the partition of
//! their cadence and ten-minute share of it, which changes only with their status, so a quiet poll writes
//! nothing (see [`porchlight::domain::PollPolicy`]).
//!
//! With a retention ([`DynamoStore::with_retention`]), a finished shipment's item, its leg
//! items and its list entry carry `expires_at` (its last change plus the retention, in epoch
//! seconds), and the table's TTL deletes them some time after; a retracked shipment loses it
//! again.
//!
//! Listing by creation (newest or oldest first, filtered at most by creation time: the API's and
//! the console's default, and the scans that page through every shipment) reads a page of the
//! tenant's list entries and the shipments they name, and counts `total` from the entries
//! (`listing.rs`). Any other filter or order reads the tenant's shipment items and filters
//! with [`ListQuery::matches`]: exact, but a read of all the tenant's shipments.
//!
//! The SDK's own configuration chain finds the region, credentials and endpoint
//! (`AWS_ENDPOINT_URL` reaches an emulator); this module has no local branches.

mod analytics;
mod connections;
mod connectors;
mod exceptions;
mod imports;
mod keys;
mod listing;
mod messages;
mod orders;
mod pages;
mod returns;
mod settings;
mod shipments;
mod stream;
mod suppressions;
mod team;
mod tenants;
mod webhooks;

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    KeysAndAttributes, Projection, ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
};
use porchlight::domain::{Shipment, TenantId};
use porchlight::ports::StoreError;

use keys::s;
pub use stream::{StreamImages, change_from_stream_record};

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

    /// The SDK client, for operators' tools and tests that read or change raw items.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Creates the table as the SAM template declares it (keys, GSI1 to GSI3, stream, on-demand
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
        let gsi3 = GlobalSecondaryIndex::builder()
            .index_name("GSI3")
            .key_schema(key("GSI3PK", KeyType::Hash)?)
            .key_schema(key("GSI3SK", KeyType::Range)?)
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
            .attribute_definitions(string("GSI3PK")?)
            .attribute_definitions(string("GSI3SK")?)
            .key_schema(key("PK", KeyType::Hash)?)
            .key_schema(key("SK", KeyType::Range)?)
            .global_secondary_indexes(gsi1)
            .global_secondary_indexes(gsi2)
            .global_secondary_indexes(gsi3)
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

    /// The tenant's items with sort keys `sks`, in that order (missing ones left out), read in
    /// batches of 100 (the most one `BatchGetItem` takes); `consistent` reads cost twice an
    /// eventually consistent one.
    pub(super) async fn get_many(
        &self,
        tenant: &TenantId,
        sks: &[String],
        consistent: bool,
    ) -> Result<Vec<Item>, StoreError> {
        let pk = keys::tenant_pk(tenant);
        let mut found: HashMap<String, Item> = HashMap::new();
        for chunk in sks.chunks(100) {
            let keys =
                chunk.iter().map(|sk| HashMap::from([("PK".to_owned(), s(&pk)), ("SK".to_owned(), s(sk))])).collect();
            let mut request = KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(consistent)
                .build()
                .map_err(unavailable)?;
            loop {
                let answer = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(unavailable)?;
                for item in answer.responses.and_then(|mut r| r.remove(&self.table)).unwrap_or_default() {
                    found.insert(keys::text(&item, "SK")?.to_owned(), item);
                }
                match answer.unprocessed_keys.and_then(|mut keys| keys.remove(&self.table)) {
                    Some(rest) if !rest.keys.is_empty() => request = rest,
                    _ => break,
                }
            }
        }
        Ok(sks.iter().filter_map(|sk| found.remove(sk)).collect())
    }

    /// The keys of up to `limit` entries of GSI3 partition `partition` (the index holds keys
    /// only), newest (highest GSI3SK) first.
    async fn gsi3_newest(&self, partition: String, limit: usize) -> Result<Vec<Item>, StoreError> {
        let answer = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("GSI3")
            .key_condition_expression("GSI3PK = :partition")
            .expression_attribute_values(":partition", s(partition))
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(answer.items.unwrap_or_default())
    }

    /// Every item `query` finds, page by page.
    pub(super) async fn every_page(
        &self,
        query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let answer = query.clone().set_exclusive_start_key(start.take()).send().await.map_err(unavailable)?;
            items.extend(answer.items.unwrap_or_default());
            match answer.last_evaluated_key {
                Some(next) => start = Some(next),
                None => return Ok(items),
            }
        }
    }

    /// Every item of GSI1 partition `partition`, in GSI1SK order, page by page.
    async fn query_gsi1(&self, partition: String) -> Result<Vec<Item>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("GSI1")
            .key_condition_expression("GSI1PK = :partition")
            .expression_attribute_values(":partition", s(partition));
        self.every_page(query).await
    }

    /// Every item of partition `pk`, in sort-key order, page by page (consistent reads).
    async fn query_partition(&self, pk: String) -> Result<Vec<Item>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", s(pk))
            .consistent_read(true);
        self.every_page(query).await
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

fn unavailable(error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Unavailable(Box::new(error))
}

/// A stored item that does not read back: the table holds something this code did not write.
fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("dynamodb item without a valid {what}"))
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
