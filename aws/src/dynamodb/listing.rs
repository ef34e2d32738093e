//! Listing a tenant's shipments by creation through their list entries (`LC#<created µs>#<id>`,
//! one small item per shipment, written in the shipment's transactions): a page reads its
//! entries in order and the shipments they name, and `total` counts entries (keys only, about
//! 100 bytes each) instead of reading every shipment.
//!
//! A tenant's entries are complete once its `TENANT` item says `list_entries`: tenants made
//! since entries exist say so from the start; for older ones, [`DynamoStore::add_list_entries`]
//! writes the missing entries, then says so. Until then, and for listings that filter on more
//! than the creation time or sort by update, listing reads every shipment of the tenant.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, Select, TransactWriteItem};
use porchlight::domain::{Shipment, ShipmentId, TenantId};
use porchlight::ports::{ListOrder, ListPage, ListQuery, StoreError};

use super::keys::{LIST_ENTRY, list_entry_id, list_entry_sk, s, shipment_sk, tenant_id, tenant_pk, text};
use super::shipments::read_shipment;
use super::{DynamoStore, Item, refused_as, unavailable};

/// The `TENANT` item's attribute saying every shipment of the tenant has its list entry.
pub(super) const LIST_ENTRIES: &str = "list_entries";

/// Whether list entries can answer `query`: sorted by creation, filtered at most by creation
/// time.
pub(super) fn entries_answer(query: &ListQuery) -> bool {
    let by_creation = matches!(query.order, ListOrder::NewestFirst | ListOrder::OldestFirst);
    let rest = ListQuery {
        limit: 0,
        cursor: None,
        order: ListOrder::default(),
        created_at_min: None,
        created_at_max: None,
        ..query.clone()
    };
    by_creation && rest == ListQuery { limit: 0, ..ListQuery::default() }
}

impl DynamoStore {
    /// Whether every shipment of `tenant` has its list entry.
    pub(super) async fn has_list_entries(&self, tenant: &TenantId) -> Result<bool, StoreError> {
        let item = self.get(tenant_pk(tenant), "TENANT").await?;
        Ok(item.is_some_and(|item| item.get(LIST_ENTRIES).is_some_and(|v| v.as_bool() == Ok(&true))))
    }

    /// One page of `query` (which [`entries_answer`]) read through the tenant's list entries.
    pub(super) async fn list_by_entries(&self, tenant: &TenantId, query: &ListQuery) -> Result<ListPage, StoreError> {
        let pk = tenant_pk(tenant);
        let low =
            query.created_at_min.map_or_else(|| LIST_ENTRY.to_owned(), |at| format!("{LIST_ENTRY}{:020}#", micros(at)));
        let high = query
            .created_at_max
            .map_or_else(|| format!("{LIST_ENTRY}~"), |at| format!("{LIST_ENTRY}{:020}#~", micros(at)));
        let total = self.count_between(&pk, &low, &high).await?;
        let descending = query.order.descending();
        // The cursor's own entry bounds the range (inclusive, so it is skipped when read).
        let after = query.cursor.as_ref().map(|cursor| list_entry_sk(cursor.at, &cursor.id));
        let (low, high) = match &after {
            Some(after) if descending => (low, high.min(after.clone())),
            Some(after) => (low.max(after.clone()), high),
            None => (low, high),
        };
        let limit = query.limit.clamp(1, 200);
        let mut shipments: Vec<Shipment> = Vec::with_capacity(limit + 1);
        let mut start: Option<Item> = None;
        loop {
            let wanted = limit + 1 - shipments.len();
            let answer = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND SK BETWEEN :low AND :high")
                .expression_attribute_values(":pk", s(&pk))
                .expression_attribute_values(":low", s(&low))
                .expression_attribute_values(":high", s(&high))
                .scan_index_forward(!descending)
                .consistent_read(true)
                .limit(i32::try_from(wanted + 1).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(unavailable)?;
            let items = answer.items.unwrap_or_default();
            let read_any = !items.is_empty();
            let mut ids = Vec::new();
            for item in items {
                let sk = text(&item, "SK")?;
                if after.as_deref() != Some(sk) {
                    ids.push(list_entry_id(sk)?);
                }
            }
            // An entry whose shipment is gone (expired, its entry not yet) is passed over.
            let found = self.get_shipments(tenant, &ids, true).await?;
            shipments.extend(found.into_iter().filter(|s| query.matches(s)));
            // Without a filter expression a page that goes on holds entries; an empty one
            // ends the walk rather than loop.
            match answer.last_evaluated_key {
                Some(next) if read_any && shipments.len() <= limit => start = Some(next),
                _ => break,
            }
        }
        Ok(page_of(shipments, limit, query.order, total))
    }

    /// How many items of partition `pk` have a sort key within [`low`, `high`]: counted by
    /// DynamoDB, page by page, without returning them.
    async fn count_between(&self, pk: &str, low: &str, high: &str) -> Result<u64, StoreError> {
        let mut total = 0u64;
        let mut start: Option<Item> = None;
        loop {
            let answer = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND SK BETWEEN :low AND :high")
                .expression_attribute_values(":pk", s(pk))
                .expression_attribute_values(":low", s(low))
                .expression_attribute_values(":high", s(high))
                .select(Select::Count)
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(unavailable)?;
            total += u64::try_from(answer.count).unwrap_or(0);
            match answer.last_evaluated_key {
                Some(next) => start = Some(next),
                None => return Ok(total),
            }
        }
    }

    /// The tenant's shipments among `ids`, in that order; ids with no shipment are left out.
    /// `consistent` reads cost twice an eventually consistent one.
    pub(super) async fn get_shipments(
        &self,
        tenant: &TenantId,
        ids: &[ShipmentId],
        consistent: bool,
    ) -> Result<Vec<Shipment>, StoreError> {
        let sks: Vec<String> = ids.iter().map(shipment_sk).collect();
        self.get_many(tenant, &sks, consistent).await?.iter().map(read_shipment).collect()
    }

    /// Gives every shipment of `tenant` that has none its list entry, then marks the tenant's
    /// entries complete; returns how many entries it wrote. Each entry is written only while
    /// its shipment exists (a shipment deleted meanwhile leaves none behind). For tenants made
    /// before list entries existed; safe to run again.
    pub async fn add_list_entries(&self, tenant: &TenantId) -> Result<usize, StoreError> {
        let pk = tenant_pk(tenant);
        let entries: std::collections::HashSet<ShipmentId> = self
            .query_prefix(pk.clone(), LIST_ENTRY, None, usize::MAX)
            .await?
            .iter()
            .map(|item| list_entry_id(text(item, "SK")?))
            .collect::<Result<_, _>>()?;
        let mut written = 0;
        for item in self.query_prefix(pk.clone(), "S#", None, usize::MAX).await? {
            let shipment = read_shipment(&item)?;
            if entries.contains(&shipment.id) {
                continue;
            }
            let exists = ConditionCheck::builder()
                .table_name(&self.table)
                .key("PK", s(&pk))
                .key("SK", s(shipment_sk(&shipment.id)))
                .condition_expression("attribute_exists(PK)")
                .build()
                .map_err(unavailable)?;
            let expires_at = item.get("expires_at").and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok());
            let entry = list_entry_item(&shipment, expires_at);
            let put = Put::builder().table_name(&self.table).set_item(Some(entry)).build().map_err(unavailable)?;
            let result = self
                .client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().condition_check(exists).build())
                .transact_items(TransactWriteItem::builder().put(put).build())
                .send()
                .await;
            match result {
                Ok(_) => written += 1,
                // Deleted since it was read: no entry is owed.
                Err(error)
                    if super::cancellation_codes(&error)
                        .is_some_and(|codes| codes.first().is_some_and(|c| c == "ConditionalCheckFailed")) => {}
                Err(error) => return Err(unavailable(error)),
            }
        }
        let marked = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(&pk))
            .key("SK", s("TENANT"))
            .update_expression("SET #entries = :yes")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_names("#entries", LIST_ENTRIES)
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .send()
            .await;
        refused_as(marked, StoreError::NotFound)?;
        Ok(written)
    }

    /// The tenants whose list entries are not yet complete.
    pub async fn tenants_without_list_entries(&self) -> Result<Vec<TenantId>, StoreError> {
        let mut tenants = Vec::new();
        for item in self.query_gsi1("TENANTS".to_owned()).await? {
            if item.get(LIST_ENTRIES).is_none_or(|v| v.as_bool() != Ok(&true)) {
                tenants.push(tenant_id(&item)?);
            }
        }
        Ok(tenants)
    }
}

/// A shipment's list entry: its place in its tenant's listing by creation, expiring with it.
pub(super) fn list_entry_item(shipment: &Shipment, expires_at: Option<i64>) -> Item {
    let mut item = HashMap::from([
        ("PK".to_owned(), s(tenant_pk(&shipment.tenant_id))),
        ("SK".to_owned(), s(list_entry_sk(shipment.created_at, &shipment.id))),
        ("tenant_id".to_owned(), s(shipment.tenant_id.as_str())),
        ("shipment_id".to_owned(), s(shipment.id.as_str())),
    ]);
    if let Some(at) = expires_at {
        item.insert("expires_at".to_owned(), AttributeValue::N(at.to_string()));
    }
    item
}

/// The page of `limit` shipments from `shipments`, read in `order` with one more than the
/// page (which, when there, means a next page after the page's last).
pub(super) fn page_of(mut shipments: Vec<Shipment>, limit: usize, order: ListOrder, total: u64) -> ListPage {
    let next_cursor = if shipments.len() > limit {
        shipments.truncate(limit);
        shipments.last().map(|s| order.cursor_after(s))
    } else {
        None
    };
    ListPage { shipments, total, next_cursor }
}

fn micros(at: chrono::DateTime<chrono::Utc>) -> i64 {
    at.timestamp_micros().max(0)
}
