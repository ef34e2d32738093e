//! The key layout (see the table in the module above): partition and sort keys, index keys,
//! and the readers of attributes every item shares.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use porchlight::domain::{Shipment, ShipmentId, Slug, TenantId, TrackingNumber};
use porchlight::ports::StoreError;

use super::{Item, corrupt};

pub(super) fn tenant_pk(tenant: &TenantId) -> String {
    format!("T#{tenant}")
}

pub(super) fn digest_pk(digest: &[u8; 32]) -> String {
    format!("KEY#{}", hex::encode(digest))
}

pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(super) fn time_value(at: DateTime<Utc>) -> AttributeValue {
    AttributeValue::N(at.timestamp_micros().to_string())
}

pub(super) fn text<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str).ok_or_else(|| corrupt(name))
}

pub(super) fn time(item: &Item, name: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    let Some(value) = item.get(name) else { return Ok(None) };
    let micros: i64 = value.as_n().ok().and_then(|n| n.parse().ok()).ok_or_else(|| corrupt(name))?;
    DateTime::from_timestamp_micros(micros).map(Some).ok_or_else(|| corrupt(name))
}

pub(super) fn required_time(item: &Item, name: &str) -> Result<DateTime<Utc>, StoreError> {
    time(item, name)?.ok_or_else(|| corrupt(name))
}

pub(super) fn tenant_id(item: &Item) -> Result<TenantId, StoreError> {
    TenantId::parse(text(item, "tenant_id")?).map_err(|_| corrupt("tenant_id"))
}

/// Poll-index partitions: a shipment's is its id's first hex digit.
pub(super) const POLL_SHARDS: &str = "0123456789abcdef";

/// Seconds of a cadence whose shipments share a GSI2 partition (ten minutes): a poll run every
/// minute reads one partition per cadence, and no partition holds more than this share of it.
pub(super) const PHASE_BUCKET: u32 = 600;

/// The GSI2 partition of the shipments on `cadence` polled at second `phase` of it.
pub(super) fn cadence_partition(cadence: u32, phase: u32) -> String {
    format!("EVERY#{cadence}#{}", phase / PHASE_BUCKET)
}

/// The tenant and shipment of a GSI2 sort key (`<time or phase>#<tenant>#<id>`).
pub(super) fn poll_position_ids(position: &str) -> Result<(TenantId, ShipmentId), StoreError> {
    let mut parts = position.splitn(3, '#').skip(1);
    let (Some(tenant), Some(id)) = (parts.next(), parts.next()) else { return Err(corrupt("GSI2SK")) };
    let tenant = TenantId::parse(tenant).map_err(|_| corrupt("GSI2SK"))?;
    Ok((tenant, ShipmentId::parse(id).map_err(|_| corrupt("GSI2SK"))?))
}

/// A shipment's GSI2 sort key on its cadence: its phase first, for range reads.
pub(super) fn cadence_position(phase: u32, tenant: &TenantId, id: &ShipmentId) -> String {
    format!("{phase:010}#{tenant}#{id}")
}

pub(super) fn shipment_sk(id: &ShipmentId) -> String {
    format!("S#{id}")
}

pub(super) fn first_leg_sk(shipment: &Shipment) -> String {
    format!("NUM#{}#{}", shipment.slug, shipment.tracking_number.compact())
}

pub(super) fn last_mile_sk(shipment: &Shipment) -> Option<String> {
    shipment.last_mile.as_ref().map(|leg| format!("LM#{}#{}#{}", leg.slug, leg.tracking_number.compact(), shipment.id))
}

pub(super) fn leg_index(slug: &Slug, number: &TrackingNumber) -> String {
    format!("LEG#{slug}#{}", number.compact())
}

/// Prefix of list entries: one small item per shipment in its tenant's partition, whose sort
/// key orders the tenant's shipments by creation.
pub(super) const LIST_ENTRY: &str = "LC#";

/// The sort key of the list entry of the shipment created at `at` with id `id`.
pub(super) fn list_entry_sk(at: DateTime<Utc>, id: &ShipmentId) -> String {
    format!("{LIST_ENTRY}{:020}#{id}", at.timestamp_micros().max(0))
}

/// The shipment id of a list entry's sort key.
pub(super) fn list_entry_id(sk: &str) -> Result<ShipmentId, StoreError> {
    let id = sk.rsplit_once('#').map(|(_, id)| id).ok_or_else(|| corrupt("SK"))?;
    ShipmentId::parse(id).map_err(|_| corrupt("SK"))
}

/// GSI3's sort key for a shipment's lookup entries: newest first when read backwards.
pub(super) fn lookup_position(shipment: &Shipment) -> String {
    format!("{:020}#{}", shipment.created_at.timestamp_micros().max(0), shipment.id)
}

/// The shipment id of a GSI3 sort key made by [`lookup_position`].
pub(super) fn lookup_position_id(position: &str) -> Result<ShipmentId, StoreError> {
    let id = position.split_once('#').map(|(_, id)| id).ok_or_else(|| corrupt("GSI3SK"))?;
    ShipmentId::parse(id).map_err(|_| corrupt("GSI3SK"))
}

/// GSI3's partition of the tenant's legs numbered `number` (any courier).
pub(super) fn number_lookup(tenant: &TenantId, number: &TrackingNumber) -> String {
    format!("T#{tenant}#N#{}", number.compact())
}

/// GSI3's partition of the tenant's shipments of order `order_number` (hashed: an order
/// number may be longer than a key may be).
pub(super) fn order_lookup(tenant: &TenantId, order_number: &str) -> String {
    use sha2::Digest;
    format!("T#{tenant}#O#{}", hex::encode(sha2::Sha256::digest(order_number.as_bytes())))
}

/// The tracking page settings' item: in the tenant's partition.
pub(super) const PAGE_SK: &str = "PAGE";

/// The item that holds a page slug for its tenant, and so keeps slugs unique.
pub(super) fn page_slug_pk(slug: &str) -> String {
    format!("PAGESLUG#{slug}")
}
