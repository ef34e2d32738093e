//! Ports: the traits the use cases need from the outside world, with their contracts.
//!
//! Every implementation must pass [`crate::testkit`]'s contract suite. Every method that touches
//! merchant data takes the tenant, so no call can reach another tenant's records; the only
//! cross-tenant reads are [`ShipmentStore::find_legs`] and [`ShipmentStore::due_for_poll`], which
//! return ids for the carrier pipeline and never data.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{CountryCode, Shipment, ShipmentId, Slug, Subtag, Tag, TenantId, TrackingNumber};

/// An adapter's underlying error.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What a store can report. Only the variants callers act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record does not exist (for this tenant).
    #[error("not found")]
    NotFound,
    /// The record changed since it was read: re-read and retry.
    #[error("version conflict")]
    Conflict,
    /// A shipment with the same courier and tracking number already exists for the tenant.
    #[error("duplicate shipment {0}")]
    Duplicate(ShipmentId),
    /// The store failed; the operation may or may not have happened only if documented.
    #[error("store unavailable")]
    Unavailable(#[source] BoxError),
}

/// A merchant account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    /// Its id.
    pub id: TenantId,
    /// Its display name.
    pub name: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// An API key's record; the key itself is never stored, only its SHA-256 digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    /// A public handle for the key, for listing and revoking.
    pub key_id: String,
    /// The tenant the key acts for.
    pub tenant_id: TenantId,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Tenants and their API keys.
#[async_trait]
pub trait TenantStore: Send + Sync {
    /// Creates a tenant. `Conflict` if the id exists.
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError>;
    /// Reads a tenant.
    async fn get_tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError>;
    /// Every tenant, oldest first.
    async fn list_tenants(&self) -> Result<Vec<Tenant>, StoreError>;
    /// Stores a key's digest. `NotFound` if the tenant does not exist; `Conflict` if the digest
    /// or the key id exists.
    async fn add_api_key(&self, record: &ApiKeyRecord, digest: &[u8; 32]) -> Result<(), StoreError>;
    /// The tenant a key digest acts for; `None` for unknown or revoked keys.
    async fn tenant_for_key(&self, digest: &[u8; 32]) -> Result<Option<TenantId>, StoreError>;
    /// Revokes a key at `at`. `NotFound` if the tenant has no such key. Revoking twice keeps the
    /// first time.
    async fn revoke_api_key(&self, tenant: &TenantId, key_id: &str, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// A tenant's keys, oldest first.
    async fn list_api_keys(&self, tenant: &TenantId) -> Result<Vec<ApiKeyRecord>, StoreError>;
}

/// Where a listing resumes: the last shipment of the previous page, in (created_at, id)
/// descending order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The previous page's last `created_at`.
    pub created_at: DateTime<Utc>,
    /// The previous page's last id.
    pub id: ShipmentId,
}

impl Cursor {
    /// The opaque text handed to clients.
    pub fn encode(&self) -> String {
        let plain = format!("{}:{}", self.created_at.timestamp_micros(), self.id);
        plain.bytes().map(|b| format!("{b:02x}")).collect()
    }

    /// Reads text made by [`Cursor::encode`]; `None` for anything else.
    pub fn decode(text: &str) -> Option<Cursor> {
        if !text.len().is_multiple_of(2) || text.len() > 200 {
            return None;
        }
        let bytes: Option<Vec<u8>> =
            (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect();
        let plain = String::from_utf8(bytes?).ok()?;
        let (micros, id) = plain.split_once(':')?;
        Some(Cursor {
            created_at: DateTime::from_timestamp_micros(micros.parse().ok()?)?,
            id: ShipmentId::parse(id).ok()?,
        })
    }
}

/// A listing's filters and page. Empty lists and `None` mean "no filter"; values within one
/// filter are alternatives (OR), filters combine with AND.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListQuery {
    /// Page size, 1 to 200.
    pub limit: usize,
    /// Resume after this position.
    pub cursor: Option<Cursor>,
    /// Current status.
    pub tags: Vec<Tag>,
    /// Courier of the first leg.
    pub slugs: Vec<Slug>,
    /// Origin country.
    pub origins: Vec<CountryCode>,
    /// Destination country.
    pub destinations: Vec<CountryCode>,
    /// Destination country as the carrier reports it.
    pub courier_destinations: Vec<CountryCode>,
    /// Tracking numbers (compared in compact form).
    pub tracking_numbers: Vec<String>,
    /// The merchant's order id, exact.
    pub order_id: Option<String>,
    /// The merchant's order number, exact.
    pub order_number: Option<String>,
    /// Case-insensitive substring of tracking number, title, order id, order number or
    /// customer name.
    pub keyword: Option<String>,
    /// Shipment tags: any of them.
    pub shipment_tags: Vec<String>,
    /// Created at or after.
    pub created_at_min: Option<DateTime<Utc>>,
    /// Created at or before.
    pub created_at_max: Option<DateTime<Utc>>,
    /// Updated at or after.
    pub updated_at_min: Option<DateTime<Utc>>,
    /// Updated at or before.
    pub updated_at_max: Option<DateTime<Utc>>,
    /// Returning or returned to sender.
    pub return_to_sender: Option<bool>,
    /// Transit time in days, exact.
    pub transit_time: Option<u32>,
}

impl ListQuery {
    /// Whether `shipment` passes every filter (cursor and page size aside): what the SQL of the
    /// SQLite store selects, for stores that filter in memory.
    pub fn matches(&self, shipment: &Shipment) -> bool {
        fn any_of<T: PartialEq>(wanted: &[T], value: Option<&T>) -> bool {
            wanted.is_empty() || value.is_some_and(|v| wanted.contains(v))
        }
        let details = &shipment.details;
        let within = |at: DateTime<Utc>, min: Option<DateTime<Utc>>, max: Option<DateTime<Utc>>| {
            min.is_none_or(|min| at >= min) && max.is_none_or(|max| at <= max)
        };
        any_of(&self.tags, Some(&shipment.tag))
            && any_of(&self.slugs, Some(&shipment.slug))
            && any_of(&self.origins, details.origin_country_region.as_ref())
            && any_of(&self.destinations, details.destination_country_region.as_ref())
            && any_of(&self.courier_destinations, shipment.courier_destination_country_region.as_ref())
            && (self.tracking_numbers.is_empty()
                || self
                    .tracking_numbers
                    .iter()
                    .any(|n| TrackingNumber::parse(n).is_ok_and(|n| n.compact() == shipment.tracking_number.compact())))
            && self.order_id.as_ref().is_none_or(|id| details.order_id.as_ref() == Some(id))
            && self.order_number.as_ref().is_none_or(|n| details.order_number.as_ref() == Some(n))
            && (self.shipment_tags.is_empty() || details.shipment_tags.iter().any(|t| self.shipment_tags.contains(t)))
            && self.keyword.as_ref().is_none_or(|k| shipment.search_text().contains(&k.to_lowercase()))
            && within(shipment.created_at, self.created_at_min, self.created_at_max)
            && within(shipment.updated_at, self.updated_at_min, self.updated_at_max)
            && self.return_to_sender.is_none_or(|flag| shipment.return_to_sender == flag)
            && self.transit_time.is_none_or(|days| shipment.transit_time == Some(days))
    }
}

/// One page of a listing.
#[derive(Debug, Clone)]
pub struct ListPage {
    /// The shipments, newest first.
    pub shipments: Vec<Shipment>,
    /// How many shipments match the filters in all.
    pub total: u64,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<Cursor>,
}

/// Shipments, keyed by tenant.
#[async_trait]
pub trait ShipmentStore: Send + Sync {
    /// Stores a new shipment (whose `version` is 0) as version 1, and records a `Created` change
    /// in the same transaction. `Duplicate` (naming the existing id) if the tenant already has a
    /// shipment with the same slug and compact tracking number; `Conflict` if the id exists.
    async fn insert(&self, shipment: &Shipment) -> Result<u64, StoreError>;
    /// Reads one shipment of the tenant.
    async fn get(&self, tenant: &TenantId, id: &ShipmentId) -> Result<Option<Shipment>, StoreError>;
    /// As [`ShipmentStore::get`], but may miss writes of the last moment, where that is cheaper
    /// (DynamoDB's eventually consistent reads cost half). For readers whose writes are
    /// versioned anyway, such as the poller.
    async fn get_eventually(&self, tenant: &TenantId, id: &ShipmentId) -> Result<Option<Shipment>, StoreError> {
        self.get(tenant, id).await
    }
    /// Replaces a shipment read at `shipment.version` and returns the new version
    /// (`shipment.version + 1`), recording an `Updated` change in the same transaction.
    /// `Conflict` if the stored version differs; `NotFound` if it is gone; `Duplicate` if a
    /// changed leg collides with another shipment.
    async fn update(&self, shipment: &Shipment) -> Result<u64, StoreError>;
    /// Deletes a shipment and returns it as it was, recording a `Deleted` change.
    /// `NotFound` if the tenant has no such shipment.
    async fn delete(&self, tenant: &TenantId, id: &ShipmentId) -> Result<Shipment, StoreError>;
    /// One page of the tenant's shipments matching `query`, newest first.
    async fn list(&self, tenant: &TenantId, query: &ListQuery) -> Result<ListPage, StoreError>;
    /// Every shipment, of any tenant, with a leg (`slug`, `tracking_number`), first or last mile,
    /// compared in compact form. For routing carrier events; returns ids only.
    async fn find_legs(
        &self,
        slug: &Slug,
        tracking_number: &TrackingNumber,
    ) -> Result<Vec<(TenantId, ShipmentId)>, StoreError>;
    /// The shipments a poll run covering (`after`, `until`] takes, each once (see
    /// [`Shipment::due_between`]): those whose `next_poll_at` has come, earliest first, then
    /// those whose cadence minute starts in the window. `cadences` are every cadence a shipment
    /// may have (the poll policy's).
    async fn due_for_poll(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
        cadences: &[u32],
    ) -> Result<Vec<(TenantId, ShipmentId)>, StoreError>;
}

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// A shipment was created.
    Created,
    /// A shipment was changed.
    Updated,
    /// A shipment was deleted.
    Deleted,
}

/// The parts of a shipment that downstream consumers compare (status fan-out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusSnapshot {
    /// The version this snapshot is of.
    pub version: u64,
    /// The status.
    pub tag: Tag,
    /// The sub-status.
    pub subtag: Subtag,
    /// Whether tracking continues.
    pub active: bool,
    /// How many checkpoints the timeline has.
    pub checkpoint_count: usize,
}

impl StatusSnapshot {
    /// The snapshot of `shipment` as it is.
    pub fn of(shipment: &Shipment) -> Self {
        StatusSnapshot {
            version: shipment.version,
            tag: shipment.tag,
            subtag: shipment.subtag,
            active: shipment.active,
            checkpoint_count: shipment.checkpoints.len(),
        }
    }
}

/// One committed change, as DynamoDB Streams gives NEW_AND_OLD_IMAGES.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeEvent {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The shipment.
    pub shipment_id: ShipmentId,
    /// What happened.
    pub kind: ChangeKind,
    /// When it was committed.
    pub at: DateTime<Utc>,
    /// Before: `None` for `Created`.
    pub old: Option<StatusSnapshot>,
    /// After: `None` for `Deleted`.
    pub new: Option<StatusSnapshot>,
}

impl ChangeEvent {
    /// Whether the shipment's status or sub-status moved: every creation and deletion, and
    /// updates that changed `tag` or `subtag` (not those that only added detail).
    pub fn changes_status(&self) -> bool {
        match (&self.old, &self.new) {
            (Some(old), Some(new)) => (old.tag, old.subtag) != (new.tag, new.subtag),
            _ => true,
        }
    }
}

/// A change at its position in a [`ChangeFeed`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedEntry {
    /// Position in the feed, strictly increasing in commit order.
    pub seq: u64,
    /// The change.
    pub change: ChangeEvent,
}

/// The ordered feed of committed shipment changes of the embedded store. (On AWS the table's
/// stream carries the same [`ChangeEvent`]s, with the stream's own positions.)
#[async_trait]
pub trait ChangeFeed: Send + Sync {
    /// Up to `limit` changes with `seq > after`, in commit order. Reading does not consume:
    /// consumers keep their own position.
    async fn changes_after(&self, after: u64, limit: usize) -> Result<Vec<FeedEntry>, StoreError>;
}

/// A merchant's account with a carrier, its credentials sealed (encrypted and authenticated)
/// by the application before they reach the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredConnection {
    /// The owner.
    pub tenant_id: TenantId,
    /// The connection's id (32 hex characters).
    pub id: String,
    /// The carrier.
    pub courier_slug: Slug,
    /// The sealed credentials: nonce and ciphertext.
    pub sealed_credentials: Vec<u8>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When its credentials last changed.
    pub updated_at: DateTime<Utc>,
}

/// Merchants' courier connections, keyed by tenant.
#[async_trait]
pub trait ConnectionStore: Send + Sync {
    /// Stores a new connection. `Conflict` if the id exists.
    async fn insert_connection(&self, connection: &StoredConnection) -> Result<(), StoreError>;
    /// Reads one of the tenant's connections.
    async fn get_connection(&self, tenant: &TenantId, id: &str) -> Result<Option<StoredConnection>, StoreError>;
    /// Replaces a connection's sealed credentials and `updated_at`. `NotFound` if the tenant has
    /// no such connection.
    async fn update_connection(&self, connection: &StoredConnection) -> Result<(), StoreError>;
    /// Deletes and returns a connection. `NotFound` if the tenant has no such connection.
    async fn delete_connection(&self, tenant: &TenantId, id: &str) -> Result<StoredConnection, StoreError>;
    /// The tenant's connections (of one carrier, if given), oldest first, after `after_id`.
    async fn list_connections(
        &self,
        tenant: &TenantId,
        slug: Option<&Slug>,
        after_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StoredConnection>, StoreError>;
}

/// A named work queue: `carrier-updates` (webhook payloads and poll results) and, later, the
/// notification and fan-out queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum QueueName {
    /// Raw carrier webhooks and parsed poll results, waiting to be merged into shipments.
    CarrierUpdates,
    /// Shipments' status changes (JSON [`ChangeEvent`]s), for notifications and merchants'
    /// webhooks; the AWS `status-fanout` function fills it from the table's stream.
    StatusChanges,
}

impl QueueName {
    /// Every queue.
    pub const ALL: [QueueName; 2] = [QueueName::CarrierUpdates, QueueName::StatusChanges];

    /// The queue's name, as stored and as the SQS queue is named.
    pub fn as_str(self) -> &'static str {
        match self {
            QueueName::CarrierUpdates => "carrier-updates",
            QueueName::StatusChanges => "status-changes",
        }
    }
}

/// A message taken from a queue, hidden from other consumers until acknowledged, released, or
/// its lease runs out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The message's id, stable across deliveries.
    pub id: u64,
    /// The body as sent.
    pub body: Vec<u8>,
    /// How many times it has been handed out, this delivery included.
    pub receive_count: u32,
    /// When it was first sent.
    pub enqueued_at: DateTime<Utc>,
}

/// A message that failed for good, kept with the reason (the dead-letter queue, or quarantine).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The message's id.
    pub id: u64,
    /// The body as sent.
    pub body: Vec<u8>,
    /// Why it was set aside.
    pub reason: String,
    /// How many times it was handed out.
    pub receive_count: u32,
    /// When it was first sent.
    pub enqueued_at: DateTime<Utc>,
    /// When it was set aside.
    pub dead_at: DateTime<Utc>,
}

/// Durable work queues with at-least-once delivery, leases and a dead-letter side.
///
/// Messages of one queue are handed out roughly in send order; consumers must be idempotent.
#[async_trait]
pub trait WorkQueue: Send + Sync {
    /// Stores every body, durably, before returning their ids in order. All or none.
    async fn send_batch(&self, queue: QueueName, bodies: &[Vec<u8>]) -> Result<Vec<u64>, StoreError>;
    /// Leases up to `max` visible messages for `lease`; each comes back unless acknowledged or
    /// released before the lease ends.
    async fn receive(&self, queue: QueueName, max: usize, lease: chrono::Duration)
    -> Result<Vec<Received>, StoreError>;
    /// Deletes a handled message. Acknowledging an unknown or already deleted id is not an error.
    async fn ack(&self, queue: QueueName, id: u64) -> Result<(), StoreError>;
    /// Makes a leased message visible again after `delay` (a retry with back-off).
    async fn release(&self, queue: QueueName, id: u64, delay: chrono::Duration) -> Result<(), StoreError>;
    /// Moves a message to the dead-letter side with `reason`; it is never handed out again
    /// unless redriven.
    async fn dead_letter(&self, queue: QueueName, id: u64, reason: &str) -> Result<(), StoreError>;
    /// Dead letters, oldest first, after `after_id`.
    async fn dead_letters(&self, queue: QueueName, after_id: u64, limit: usize) -> Result<Vec<DeadLetter>, StoreError>;
    /// Puts a dead letter back on the queue, visible now, with its receive count reset.
    /// `NotFound` if there is no such dead letter.
    async fn redrive(&self, queue: QueueName, id: u64) -> Result<(), StoreError>;
    /// Messages waiting (visible or leased), not counting dead letters.
    async fn depth(&self, queue: QueueName) -> Result<u64, StoreError>;
    /// The shortest lease or release delay the queue keeps to; shorter ones are rounded up
    /// (SQS counts whole seconds).
    fn shortest_lease(&self) -> chrono::Duration {
        chrono::Duration::milliseconds(1)
    }
}

/// The time. Tests use a settable one.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let cursor = Cursor { created_at: Utc::now(), id: ShipmentId::random() };
        let text = cursor.encode();
        let back = Cursor::decode(&text).expect("decodes");
        assert_eq!(back.id, cursor.id);
        assert_eq!(back.created_at.timestamp_micros(), cursor.created_at.timestamp_micros());
        for garbage in ["", "zz", "abc", "3132", &"00".repeat(150)] {
            assert_eq!(Cursor::decode(garbage), None, "{garbage}");
        }
    }
}
