//! Shipments: the item (body deflated), its leg items, the poll index; optimistic writes.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use porchlight::domain::{Shipment, ShipmentId, Slug, TenantId, TrackingNumber};
use porchlight::ports::{ListPage, ListQuery, MAX_LOOKUP, ShipmentStore, StoreError};

use super::keys::{
    POLL_SHARDS, cadence_partition, cadence_position, first_leg_sk, last_mile_sk, leg_index, list_entry_sk,
    lookup_position, lookup_position_id, number_lookup, order_lookup, poll_position_ids, s, shipment_sk, tenant_id,
    tenant_pk, text,
};
use super::{DynamoStore, Item, cancellation_codes, corrupt, refused_as, unavailable};

/// How often `delete` re-reads a shipment that keeps changing under it before giving up.
const DELETE_ATTEMPTS: usize = 5;

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
    if let Some(order_number) = &shipment.details.order_number {
        item.insert("GSI3PK".to_owned(), s(order_lookup(&shipment.tenant_id, order_number)));
        item.insert("GSI3SK".to_owned(), s(lookup_position(shipment)));
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
        ("GSI3PK".to_owned(), s(number_lookup(&shipment.tenant_id, number))),
        ("GSI3SK".to_owned(), s(lookup_position(shipment))),
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

pub(super) fn read_shipment(item: &Item) -> Result<Shipment, StoreError> {
    let body = match item.get("body") {
        // Deflated JSON; items written before bodies were compressed hold the text.
        Some(AttributeValue::B(deflated)) => {
            miniz_oxide::inflate::decompress_to_vec_with_limit(deflated.as_ref(), MAX_BODY)
                .map_err(|_| corrupt("body"))?
        }
        Some(AttributeValue::S(text)) => text.clone().into_bytes(),
        _ => return Err(corrupt("body")),
    };
    let mut shipment: Shipment = serde_json::from_slice(&body).map_err(|_| corrupt("body"))?;
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
        // The list entry is made with the shipment and moves only with `created_at`. It is put
        // whole when its expiry moves, which also gives one to a shipment stored before list
        // entries existed.
        let entry = list_entry_sk(shipment.created_at, &shipment.id);
        let old_entry = old.map(|old| list_entry_sk(old.created_at, &old.id));
        if old_entry.as_ref() != Some(&entry) || expiry_moved {
            if let Some(old_entry) = old_entry.filter(|old_entry| *old_entry != entry) {
                writes.push(self.delete_key(pk.clone(), old_entry)?);
            }
            writes.push(self.put(super::listing::list_entry_item(shipment, expires_at), None)?);
        }
        if expiry_moved {
            for sk in kept_legs {
                writes.push(self.set_expiry(pk.clone(), sk, expires_at)?);
            }
        }
        Ok((writes, claim))
    }

    /// The tenant's shipments with an entry in GSI3 partition `partition`, newest first, at
    /// most [`MAX_LOOKUP`]: the index holds keys only, the shipments are read in one batch
    /// (eventually consistent, as the index is).
    async fn lookup(&self, tenant: &TenantId, partition: String) -> Result<Vec<Shipment>, StoreError> {
        let mut ids = Vec::new();
        for item in self.gsi3_newest(partition, MAX_LOOKUP).await? {
            let id = lookup_position_id(text(&item, "GSI3SK")?)?;
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        let mut shipments = self.get_shipments(tenant, &ids, false).await?;
        // Lookup entries are written with their shipment; one whose shipment is gone (a
        // delete the index has not caught up with) is skipped.
        shipments.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
        Ok(shipments)
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
            writes.push(self.delete_key(pk.clone(), list_entry_sk(stored.created_at, &stored.id))?);
            match self.write_shipment(&stored, (writes, None), StoreError::Conflict).await {
                Ok(()) => return Ok(stored),
                Err(StoreError::Conflict) => continue,
                Err(other) => return Err(other),
            }
        }
        Err(StoreError::Conflict)
    }

    async fn list(&self, tenant: &TenantId, query: &ListQuery) -> Result<ListPage, StoreError> {
        if super::listing::entries_answer(query) && self.has_list_entries(tenant).await? {
            return self.list_by_entries(tenant, query).await;
        }
        // Any other filter or order: every shipment of the tenant, filtered and sorted here.
        let items = self.query_prefix(tenant_pk(tenant), "S#", None, usize::MAX).await?;
        let mut matching = Vec::new();
        for item in &items {
            let shipment = read_shipment(item)?;
            if query.matches(&shipment) {
                matching.push(shipment);
            }
        }
        query.order.sort(&mut matching);
        let total = matching.len() as u64;
        let after_cursor = |s: &Shipment| query.cursor.as_ref().is_none_or(|c| query.order.is_after(s, c));
        let limit = query.limit.clamp(1, 200);
        let shipments: Vec<Shipment> = matching.into_iter().filter(after_cursor).take(limit + 1).collect();
        Ok(super::listing::page_of(shipments, limit, query.order, total))
    }

    async fn find_by_number(&self, tenant: &TenantId, number: &TrackingNumber) -> Result<Vec<Shipment>, StoreError> {
        self.lookup(tenant, number_lookup(tenant, number)).await
    }

    async fn find_by_order_number(&self, tenant: &TenantId, order_number: &str) -> Result<Vec<Shipment>, StoreError> {
        let mut found = self.lookup(tenant, order_lookup(tenant, order_number)).await?;
        // The index may lag an order number's change; the shipment itself decides.
        found.retain(|shipment| shipment.details.order_number.as_deref() == Some(order_number));
        Ok(found)
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
        let seconds = porchlight::domain::seconds_between(after, until);
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
    /// The GSI2 sort keys due by `now` in the 16 partitions `<prefix><hex digit>` (the
    /// message ledger's and webhook deliveries' due indexes), earliest first.
    pub(super) async fn due_positions(
        &self,
        prefix: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<String>, StoreError> {
        let high = format!("{:020}~", now.timestamp_micros().max(0));
        let mut due = Vec::new();
        for shard in super::keys::POLL_SHARDS.chars() {
            for item in self.query_gsi2(format!("{prefix}{shard}"), None, &high).await? {
                due.push(super::keys::text(&item, "GSI2SK")?.to_owned());
            }
        }
        due.sort();
        Ok(due)
    }

    /// Every GSI2 entry of `partition` whose sort key is at most `high` (and at least `low`),
    /// page by page.
    pub(super) async fn query_gsi2(
        &self,
        partition: String,
        low: Option<&str>,
        high: &str,
    ) -> Result<Vec<Item>, StoreError> {
        let condition = match low {
            Some(_) => "GSI2PK = :partition AND GSI2SK BETWEEN :low AND :high",
            None => "GSI2PK = :partition AND GSI2SK <= :high",
        };
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("GSI2")
            .key_condition_expression(condition)
            .expression_attribute_values(":partition", s(partition))
            .expression_attribute_values(":high", s(high));
        if let Some(low) = low {
            query = query.expression_attribute_values(":low", s(low));
        }
        self.every_page(query).await
    }
}
