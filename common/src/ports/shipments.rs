//! Shipments: the store, its listings and their cursors.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::domain::{CountryCode, Shipment, ShipmentId, Slug, Subtag, Tag, TenantId, TrackingNumber, TrackingSource};

/// Where a listing resumes: the last shipment of the previous page, by the listing's
/// [`ListOrder`] (its time, then its id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The previous page's last time of the order's column (`created_at` or `updated_at`).
    pub at: DateTime<Utc>,
    /// The previous page's last id.
    pub id: ShipmentId,
}

impl Cursor {
    /// The opaque text handed to clients.
    pub fn encode(&self) -> String {
        hex::encode(format!("{}:{}", self.at.timestamp_micros(), self.id))
    }

    /// Reads text made by [`Cursor::encode`]; `None` for anything else.
    pub fn decode(text: &str) -> Option<Cursor> {
        if text.len() > 200 {
            return None;
        }
        let plain = String::from_utf8(hex::decode(text).ok()?).ok()?;
        let (micros, id) = plain.split_once(':')?;
        Some(Cursor { at: DateTime::from_timestamp_micros(micros.parse().ok()?)?, id: ShipmentId::parse(id).ok()? })
    }
}

/// The order of a listing; ties are broken by id in the same direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ListOrder {
    /// Newest first (by `created_at`): the API's order.
    #[default]
    NewestFirst,
    /// Oldest first.
    OldestFirst,
    /// Most recently changed first (by `updated_at`).
    RecentlyUpdated,
    /// Longest unchanged first: the parcels that have gone quiet.
    LeastRecentlyUpdated,
}

impl ListOrder {
    /// Every order, in the order a form offers them.
    pub const ALL: [ListOrder; 4] =
        [ListOrder::NewestFirst, ListOrder::OldestFirst, ListOrder::RecentlyUpdated, ListOrder::LeastRecentlyUpdated];

    /// Whether it sorts by `updated_at` (else `created_at`).
    pub fn by_update(self) -> bool {
        matches!(self, ListOrder::RecentlyUpdated | ListOrder::LeastRecentlyUpdated)
    }

    /// Whether it sorts in descending order.
    pub fn descending(self) -> bool {
        matches!(self, ListOrder::NewestFirst | ListOrder::RecentlyUpdated)
    }

    /// The time `shipment` is sorted by.
    pub fn time_of(self, shipment: &Shipment) -> DateTime<Utc> {
        if self.by_update() { shipment.updated_at } else { shipment.created_at }
    }

    /// The cursor that resumes after `shipment`.
    pub fn cursor_after(self, shipment: &Shipment) -> Cursor {
        Cursor { at: self.time_of(shipment), id: shipment.id.clone() }
    }

    /// Whether `shipment` comes after `cursor` in this order.
    pub fn is_after(self, shipment: &Shipment, cursor: &Cursor) -> bool {
        let key = (self.time_of(shipment), &shipment.id);
        if self.descending() { key < (cursor.at, &cursor.id) } else { key > (cursor.at, &cursor.id) }
    }

    /// Sorts `shipments` in this order.
    pub fn sort(self, shipments: &mut [Shipment]) {
        shipments.sort_by(|a, b| {
            let ordering = (self.time_of(a), &a.id).cmp(&(self.time_of(b), &b.id));
            if self.descending() { ordering.reverse() } else { ordering }
        });
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
    /// The order of the page.
    pub order: ListOrder,
    /// Current status.
    pub tags: Vec<Tag>,
    /// Current sub-status.
    pub subtags: Vec<Subtag>,
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
    /// How the tracking came: any of these.
    pub sources: Vec<TrackingSource>,
    /// Only these shipments (an empty list matches none); `None` for any.
    pub ids: Option<Vec<ShipmentId>>,
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
            && any_of(&self.subtags, Some(&shipment.subtag))
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
            && (self.sources.is_empty() || self.sources.contains(&shipment.source))
            && self.ids.as_ref().is_none_or(|ids| ids.contains(&shipment.id))
    }
}

/// One page of a listing.
#[derive(Debug, Clone)]
pub struct ListPage {
    /// The shipments, in the query's order.
    pub shipments: Vec<Shipment>,
    /// How many shipments match the filters in all.
    pub total: u64,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<Cursor>,
}

/// Most shipments a lookup by number or order number returns.
pub const MAX_LOOKUP: usize = 50;

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
    /// One page of the tenant's shipments matching `query`, in its order.
    async fn list(&self, tenant: &TenantId, query: &ListQuery) -> Result<ListPage, StoreError>;
    /// The tenant's shipments with a leg, first or last mile, numbered `number` by any courier
    /// (compared in compact form): at most [`MAX_LOOKUP`], newest first. For shoppers who
    /// know only their number.
    async fn find_by_number(&self, tenant: &TenantId, number: &TrackingNumber) -> Result<Vec<Shipment>, StoreError>;
    /// The tenant's shipments of order number `order_number` (exact): at most [`MAX_LOOKUP`],
    /// newest first. A split order has several.
    async fn find_by_order_number(&self, tenant: &TenantId, order_number: &str) -> Result<Vec<Shipment>, StoreError>;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let cursor = Cursor { at: Utc::now(), id: ShipmentId::random() };
        let text = cursor.encode();
        let back = Cursor::decode(&text).expect("decodes");
        assert_eq!(back.id, cursor.id);
        assert_eq!(back.at.timestamp_micros(), cursor.at.timestamp_micros());
        for garbage in ["", "zz", "abc", "3132", &"00".repeat(150)] {
            assert_eq!(Cursor::decode(garbage), None, "{garbage}");
        }
    }
}
