//! The table's stream: records (NEW_AND_OLD_IMAGES) read as the [`ChangeEvent`]s the embedded
//! change feed gives.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use porchlight::ports::{ChangeEvent, ChangeKind, StatusSnapshot, StoreError};

use super::keys::text;
use super::shipments::read_shipment;
use super::{DynamoStore, Item, corrupt, unavailable};

/// The change a record of the table's stream (NEW_AND_OLD_IMAGES) describes: `None` for items
/// that are not shipments (legs, tenants, keys, connections). A removal by the table's TTL is
/// [`ChangeKind::Expired`].
pub fn change_from_stream_record(record: &StreamImages) -> Result<Option<ChangeEvent>, StoreError> {
    let (old, new) = (record.old.as_ref(), record.new.as_ref());
    let Some(image) = new.or(old) else { return Ok(None) };
    if !text(image, "SK")?.starts_with("S#") {
        return Ok(None);
    }
    let kind = match record.operation.as_str() {
        "INSERT" => ChangeKind::Created,
        "MODIFY" => ChangeKind::Updated,
        "REMOVE" if record.by_ttl => ChangeKind::Expired,
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
        at: record.at,
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
    /// Whether the table's TTL made it (a `REMOVE` whose user identity is DynamoDB itself).
    pub by_ttl: bool,
    /// The item before.
    pub old: Option<Item>,
    /// The item after.
    pub new: Option<Item>,
}

/// The principal a TTL deletion's stream record names.
const TTL_PRINCIPAL: &str = "dynamodb.amazonaws.com";

impl StreamImages {
    /// A record as Lambda's DynamoDB event source delivers it.
    pub fn from_lambda(record: &aws_lambda_events::dynamodb::EventRecord) -> StreamImages {
        let image = |item: &serde_dynamo::Item| (!item.is_empty()).then(|| Item::from(item.clone()));
        StreamImages {
            operation: record.event_name.clone(),
            sequence_number: record.change.sequence_number.clone().unwrap_or_default(),
            at: record.change.approximate_creation_date_time,
            by_ttl: record.user_identity.as_ref().is_some_and(|who| who.principal_id == TTL_PRINCIPAL),
            old: image(&record.change.old_image),
            new: image(&record.change.new_image),
        }
    }
}

impl DynamoStore {
    /// Every shipment change on the table's stream so far, oldest first per shard.
    pub async fn stream_changes(&self) -> Result<Vec<ChangeEvent>, StoreError> {
        let mut changes = Vec::new();
        for record in self.stream_records().await? {
            changes.extend(change_from_stream_record(&record)?);
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
                    let by_ttl =
                        record.user_identity.as_ref().and_then(|who| who.principal_id()) == Some(TTL_PRINCIPAL);
                    let Some(data) = record.dynamodb else { continue };
                    let at = data
                        .approximate_creation_date_time
                        .and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
                        .unwrap_or_default();
                    records.push(StreamImages {
                        operation,
                        sequence_number: data.sequence_number.unwrap_or_default(),
                        at,
                        by_ttl,
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
