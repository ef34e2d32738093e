//! Shipments: the whole `Shipment` as JSON in `body`, plus the columns that are filtered or
//! indexed.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use super::feed::record_change;
use super::{SqliteStore, corrupt, execute, is_unique_violation, micros, unavailable};
use crate::domain::{Shipment, ShipmentId, Slug, TenantId, TrackingNumber};
use crate::ports::{ChangeKind, ListPage, ListQuery, MAX_LOOKUP, ShipmentStore, StatusSnapshot, StoreError};

/// The row's columns for `shipment` stored at `version`, in the order of [`UPSERT_COLUMNS`],
/// and the snapshot the change feed records of it.
fn shipment_values(shipment: &Shipment, version: u64) -> Result<(Vec<Value>, StatusSnapshot), StoreError> {
    let mut stored = shipment.clone();
    stored.version = version;
    let body = serde_json::to_string(&stored).map_err(unavailable)?;
    let snapshot = StatusSnapshot::of(&stored);
    let details = &shipment.details;
    let text = |value: Option<&str>| value.map_or(Value::Null, |v| Value::Text(v.to_owned()));
    let values = vec![
        Value::Text(shipment.tenant_id.as_str().to_owned()),
        Value::Text(shipment.id.as_str().to_owned()),
        Value::Integer(version as i64),
        Value::Text(shipment.slug.as_str().to_owned()),
        Value::Text(shipment.tracking_number.compact().to_owned()),
        text(shipment.last_mile.as_ref().map(|leg| leg.slug.as_str())),
        shipment.last_mile.as_ref().map_or(Value::Null, |leg| Value::Text(leg.tracking_number.compact().to_owned())),
        Value::Integer(micros(shipment.created_at)),
        Value::Integer(micros(shipment.updated_at)),
        Value::Text(shipment.tag.as_str().to_owned()),
        Value::Text(shipment.subtag.code().to_owned()),
        Value::Integer(i64::from(shipment.active)),
        Value::Integer(shipment.checkpoints.len() as i64),
        text(details.origin_country_region.as_ref().map(|c| c.as_str())),
        text(details.destination_country_region.as_ref().map(|c| c.as_str())),
        text(shipment.courier_destination_country_region.as_ref().map(|c| c.as_str())),
        text(details.order_id.as_deref()),
        text(details.order_number.as_deref()),
        Value::Integer(i64::from(shipment.return_to_sender)),
        shipment.transit_time.map_or(Value::Null, |days| Value::Integer(i64::from(days))),
        Value::Text(serde_json::to_string(&details.shipment_tags).map_err(unavailable)?),
        Value::Text(shipment.search_text()),
        shipment.next_poll_at.map_or(Value::Null, |at| Value::Integer(micros(at))),
        shipment.poll_cadence.map_or(Value::Null, |cadence| Value::Integer(i64::from(cadence))),
        shipment.poll_cadence.map_or(Value::Null, |cadence| Value::Integer(i64::from(shipment.poll_phase(cadence)))),
        Value::Text(serde_json::to_string(&snapshot).map_err(unavailable)?),
        Value::Text(shipment.source.key()),
        Value::Text(body),
    ];
    Ok((values, snapshot))
}

const UPSERT_COLUMNS: &str = "tenant_id, id, version, slug, number_compact, last_mile_slug, last_mile_compact, \
     created_at, updated_at, tag, subtag, active, checkpoint_count, origin, destination, courier_destination, \
     order_id, order_number, return_to_sender, transit_time, shipment_tags, search_text, next_poll_at, poll_cadence, \
     poll_phase, snapshot, source, body";

fn parse_body(body: &str, version: i64) -> Result<Shipment, StoreError> {
    let mut shipment: Shipment = serde_json::from_str(body).map_err(|_| corrupt("shipment body"))?;
    shipment.version = version as u64;
    Ok(shipment)
}

fn existing_with_number(tx: &Connection, shipment: &Shipment) -> Result<StoreError, StoreError> {
    let id: Option<String> = tx
        .query_row(
            "SELECT id FROM shipments WHERE tenant_id = ?1 AND slug = ?2 AND number_compact = ?3",
            params![shipment.tenant_id.as_str(), shipment.slug.as_str(), shipment.tracking_number.compact().to_owned()],
            |row| row.get(0),
        )
        .optional()
        .map_err(unavailable)?;
    Ok(match id.and_then(|id| ShipmentId::parse(&id).ok()) {
        Some(id) => StoreError::Duplicate(id),
        None => StoreError::Conflict,
    })
}

/// The snapshot recorded with the stored version; rows written before snapshots were kept
/// give that of their body.
fn old_snapshot(tx: &Connection, tenant: &TenantId, id: &ShipmentId) -> Result<Option<StatusSnapshot>, StoreError> {
    let mut statement = tx
        .prepare_cached(
            "SELECT version, snapshot, CASE WHEN snapshot IS NULL THEN body END FROM shipments
             WHERE tenant_id = ?1 AND id = ?2",
        )
        .map_err(unavailable)?;
    statement
        .query_row(params![tenant.as_str(), id.as_str()], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, Option<String>>(1)?, row.get::<_, Option<String>>(2)?))
        })
        .optional()
        .map_err(unavailable)?
        .map(|(version, snapshot, body)| match (snapshot, body) {
            (Some(json), _) => serde_json::from_str::<StatusSnapshot>(&json).map_err(|_| corrupt("snapshot")),
            (None, body) => Ok(StatusSnapshot::of(&parse_body(&body.unwrap_or_default(), version)?)),
        })
        .transpose()
}

#[async_trait]
impl ShipmentStore for SqliteStore {
    async fn insert(&self, shipment: &Shipment) -> Result<u64, StoreError> {
        // The row is made on the caller's thread: the one writer thread only runs SQL.
        let (values, stored) = shipment_values(shipment, 1)?;
        let shipment = shipment.clone();
        self.write(move |tx| {
            let placeholders = (1..=values.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
            let sql = format!("INSERT INTO shipments ({UPSERT_COLUMNS}) VALUES ({placeholders})");
            match execute(tx, &sql, params_from_iter(values)) {
                Ok(_) => {}
                Err(e) if is_unique_violation(&e, "number_compact") => {
                    return Err(existing_with_number(tx, &shipment)?);
                }
                Err(e) if is_unique_violation(&e, "shipments.id") => return Err(StoreError::Conflict),
                Err(e) => return Err(unavailable(e)),
            }
            record_change(tx, &shipment.tenant_id, &shipment.id, ChangeKind::Created, None, Some(&stored))?;
            Ok(1)
        })
        .await
    }

    async fn get(&self, tenant: &TenantId, id: &ShipmentId) -> Result<Option<Shipment>, StoreError> {
        let (tenant, id) = (tenant.clone(), id.clone());
        self.read_by_key(move |connection| {
            let mut statement = connection
                .prepare_cached("SELECT body, version FROM shipments WHERE tenant_id = ?1 AND id = ?2")
                .map_err(unavailable)?;
            let row = statement
                .query_row(params![tenant.as_str(), id.as_str()], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
                })
                .optional()
                .map_err(unavailable)?;
            row.map(|(body, version)| parse_body(&body, version)).transpose()
        })
        .await
    }

    async fn update(&self, shipment: &Shipment) -> Result<u64, StoreError> {
        let version = shipment.version + 1;
        let (values, new) = shipment_values(shipment, version)?;
        let shipment = shipment.clone();
        self.write(move |tx| {
            let old = old_snapshot(tx, &shipment.tenant_id, &shipment.id)?.ok_or(StoreError::NotFound)?;
            if old.version != shipment.version {
                return Err(StoreError::Conflict);
            }
            let assignments = UPSERT_COLUMNS
                .split(", ")
                .enumerate()
                .skip(2)
                .map(|(i, column)| format!("{column} = ?{}", i + 1))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!("UPDATE shipments SET {assignments} WHERE tenant_id = ?1 AND id = ?2");
            match execute(tx, &sql, params_from_iter(values)) {
                Ok(_) => {}
                Err(e) if is_unique_violation(&e, "number_compact") => {
                    return Err(existing_with_number(tx, &shipment)?);
                }
                Err(e) => return Err(unavailable(e)),
            }
            record_change(tx, &shipment.tenant_id, &shipment.id, ChangeKind::Updated, Some(&old), Some(&new))?;
            Ok(version)
        })
        .await
    }

    async fn delete(&self, tenant: &TenantId, id: &ShipmentId) -> Result<Shipment, StoreError> {
        let (tenant, id) = (tenant.clone(), id.clone());
        self.write(move |tx| {
            let row = tx
                .query_row(
                    "DELETE FROM shipments WHERE tenant_id = ?1 AND id = ?2 RETURNING body, version",
                    params![tenant.as_str(), id.as_str()],
                    |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)),
                )
                .optional()
                .map_err(unavailable)?;
            let (body, version) = row.ok_or(StoreError::NotFound)?;
            let shipment = parse_body(&body, version)?;
            record_change(tx, &tenant, &id, ChangeKind::Deleted, Some(&StatusSnapshot::of(&shipment)), None)?;
            Ok(shipment)
        })
        .await
    }

    async fn list(&self, tenant: &TenantId, query: &ListQuery) -> Result<ListPage, StoreError> {
        let (tenant, query) = (tenant.clone(), query.clone());
        self.read(move |connection| list_page(connection, &tenant, &query)).await
    }

    async fn find_by_number(&self, tenant: &TenantId, number: &TrackingNumber) -> Result<Vec<Shipment>, StoreError> {
        let (tenant, compact) = (tenant.as_str().to_owned(), number.compact().to_owned());
        self.read_by_key(move |connection| shipments_where(connection, BY_NUMBER, params![tenant, compact])).await
    }

    async fn find_by_order_number(&self, tenant: &TenantId, order_number: &str) -> Result<Vec<Shipment>, StoreError> {
        let (tenant, order_number) = (tenant.as_str().to_owned(), order_number.to_owned());
        self.read_by_key(move |connection| shipments_where(connection, BY_ORDER_NUMBER, params![tenant, order_number]))
            .await
    }

    async fn find_legs(
        &self,
        slug: &Slug,
        tracking_number: &TrackingNumber,
    ) -> Result<Vec<(TenantId, ShipmentId)>, StoreError> {
        let (slug, compact) = (slug.as_str().to_owned(), tracking_number.compact().to_owned());
        self.read(move |connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT tenant_id, id FROM shipments WHERE slug = ?1 AND number_compact = ?2
                     UNION SELECT tenant_id, id FROM shipments WHERE last_mile_slug = ?1 AND last_mile_compact = ?2
                     ORDER BY 1, 2",
                )
                .map_err(unavailable)?;
            let rows = statement
                .query_map(params![slug, compact], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))
                .map_err(unavailable)?;
            ids_from_rows(rows)
        })
        .await
    }

    async fn due_for_poll(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
        _cadences: &[u32],
    ) -> Result<Vec<(TenantId, ShipmentId)>, StoreError> {
        // Two reads, each of its covering index: the explicit times that have come, earliest
        // first; then, per cadence, the phases whose second falls in the window. The cadences
        // come from the index itself (a shipment may keep one the policy no longer lists).
        let seconds = crate::domain::seconds_between(after, until);
        self.read(move |connection| {
            let mut due = Vec::new();
            let mut explicit = connection
                .prepare_cached(
                    "SELECT tenant_id, id FROM shipments INDEXED BY shipments_polled_at
                     WHERE active = 1 AND next_poll_at IS NOT NULL AND next_poll_at <= ?1
                     ORDER BY next_poll_at, tenant_id, id",
                )
                .map_err(unavailable)?;
            let rows = explicit
                .query_map(params![micros(until)], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))
                .map_err(unavailable)?;
            due.extend(ids_from_rows(rows)?);
            let mut on_cadence = connection
                .prepare_cached(
                    "SELECT tenant_id, id FROM shipments INDEXED BY shipments_on_cadence
                     WHERE active = 1 AND next_poll_at IS NULL AND poll_cadence = ?1
                       AND poll_phase BETWEEN ?2 AND ?3",
                )
                .map_err(unavailable)?;
            let mut by_cadence = Vec::new();
            for cadence in stored_cadences(connection)? {
                for (low, high) in phase_ranges(cadence, &seconds) {
                    let rows = on_cadence
                        .query_map(params![cadence, low, high], |row| {
                            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
                        })
                        .map_err(unavailable)?;
                    by_cadence.extend(ids_from_rows(rows)?);
                }
            }
            by_cadence.sort();
            due.extend(by_cadence);
            Ok(due)
        })
        .await
    }
}

/// Every cadence a shipment on a cadence has (the policy's, and any a shipment scheduled
/// before the operator changed the intervals still has): one index seek per cadence, never a
/// walk over the shipments.
fn stored_cadences(connection: &rusqlite::Connection) -> Result<Vec<i64>, StoreError> {
    let mut next = connection
        .prepare_cached(
            "SELECT MIN(poll_cadence) FROM shipments INDEXED BY shipments_on_cadence
             WHERE active = 1 AND next_poll_at IS NULL AND poll_cadence IS NOT NULL AND poll_cadence > ?1",
        )
        .map_err(unavailable)?;
    let mut cadences = Vec::new();
    let mut after = i64::MIN;
    while let Some(cadence) = next.query_row(params![after], |row| row.get::<_, Option<i64>>(0)).map_err(unavailable)? {
        cadences.push(cadence);
        after = cadence;
    }
    Ok(cadences)
}

/// The phases (inclusive ranges) of `cadence` whose second falls in `seconds`: a shipment
/// with phase `p` is due when some second `t` of the window has `t % cadence == p`.
fn phase_ranges(cadence: i64, seconds: &std::ops::RangeInclusive<i64>) -> Vec<(i64, i64)> {
    let cadence = cadence.max(1);
    let (start, end) = (*seconds.start(), *seconds.end());
    if end < start {
        return Vec::new();
    }
    if end - start + 1 >= cadence {
        return vec![(0, cadence - 1)];
    }
    let (low, high) = (start.rem_euclid(cadence), end.rem_euclid(cadence));
    if low <= high { vec![(low, high)] } else { vec![(low, cadence - 1), (0, high)] }
}

impl SqliteStore {
    /// Overwrites a shipment's stored body with text that does not parse: for tests of what
    /// happens when stored data cannot be read back.
    #[cfg(any(test, feature = "testkit"))]
    pub async fn garble_for_tests(&self, tenant: &TenantId, id: &ShipmentId) -> Result<(), StoreError> {
        let (tenant, id) = (tenant.clone(), id.clone());
        self.write(move |tx| {
            execute(
                tx,
                "UPDATE shipments SET body = '{\"not\": \"a shipment\"' WHERE tenant_id = ?1 AND id = ?2",
                params![tenant.as_str(), id.as_str()],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    /// Deletes up to `limit` finished (inactive) shipments last changed before `before`, each
    /// recorded as an `Expired` change: the embedded store's retention (DynamoDB's TTL does the
    /// same on AWS). Returns how many went.
    pub async fn purge_finished(&self, before: DateTime<Utc>, limit: usize) -> Result<usize, StoreError> {
        self.write(move |tx| {
            let mut statement = tx
                .prepare_cached(
                    "DELETE FROM shipments WHERE rowid IN (
                         SELECT rowid FROM shipments WHERE active = 0 AND updated_at < ?1 LIMIT ?2)
                     RETURNING body, version",
                )
                .map_err(unavailable)?;
            let rows = statement
                .query_map(params![micros(before), limit as i64], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
                })
                .map_err(unavailable)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(unavailable)?;
            for (body, version) in &rows {
                let shipment = parse_body(body, *version)?;
                let old = StatusSnapshot::of(&shipment);
                record_change(tx, &shipment.tenant_id, &shipment.id, ChangeKind::Expired, Some(&old), None)?;
            }
            Ok(rows.len())
        })
        .await
    }
}

fn ids_from_rows(
    rows: impl Iterator<Item = rusqlite::Result<(String, String)>>,
) -> Result<Vec<(TenantId, ShipmentId)>, StoreError> {
    rows.map(|row| {
        let (tenant, id) = row.map_err(unavailable)?;
        Ok((
            TenantId::parse(&tenant).map_err(|_| corrupt("tenant_id"))?,
            ShipmentId::parse(&id).map_err(|_| corrupt("id"))?,
        ))
    })
    .collect()
}

/// The filter of a list that filters on nothing but its tenant.
const TENANT_ONLY: &str = "tenant_id = ?";

/// Builds the WHERE clause of a listing; the cursor is left to the caller.
fn list_filters(tenant: &TenantId, query: &ListQuery) -> (String, Vec<Value>) {
    let mut clauses = vec![TENANT_ONLY.to_owned()];
    let mut values = vec![Value::Text(tenant.as_str().to_owned())];
    let mut any_of = |column: &str, items: Vec<String>| {
        if !items.is_empty() {
            clauses.push(format!("{column} IN ({})", vec!["?"; items.len()].join(", ")));
            values.extend(items.into_iter().map(Value::Text));
        }
    };
    any_of("tag", query.tags.iter().map(|t| t.as_str().to_owned()).collect());
    any_of("subtag", query.subtags.iter().map(|t| t.code().to_owned()).collect());
    any_of("slug", query.slugs.iter().map(|s| s.as_str().to_owned()).collect());
    any_of("origin", query.origins.iter().map(|c| c.as_str().to_owned()).collect());
    any_of("destination", query.destinations.iter().map(|c| c.as_str().to_owned()).collect());
    any_of("courier_destination", query.courier_destinations.iter().map(|c| c.as_str().to_owned()).collect());
    let numbers: Vec<String> = query
        .tracking_numbers
        .iter()
        .filter_map(|n| TrackingNumber::parse(n).ok())
        .map(|n| n.compact().to_owned())
        .collect();
    // Numbers asked for, none of them a tracking number: nothing matches (no compact number
    // is empty).
    let numbers = if numbers.is_empty() && !query.tracking_numbers.is_empty() { vec![String::new()] } else { numbers };
    any_of("number_compact", numbers);
    any_of("order_id", query.order_id.iter().cloned().collect());
    any_of("order_number", query.order_number.iter().cloned().collect());
    any_of("source", query.sources.iter().map(|s| s.key()).collect());
    if !query.shipment_tags.is_empty() {
        clauses.push(format!(
            "EXISTS (SELECT 1 FROM json_each(shipments.shipment_tags) WHERE json_each.value IN ({}))",
            vec!["?"; query.shipment_tags.len()].join(", ")
        ));
        values.extend(query.shipment_tags.iter().cloned().map(Value::Text));
    }
    if let Some(keyword) = &query.keyword {
        clauses.push("instr(search_text, ?) > 0".to_owned());
        values.push(Value::Text(keyword.to_lowercase()));
    }
    let bounds = [
        ("created_at >= ?", query.created_at_min),
        ("created_at <= ?", query.created_at_max),
        ("updated_at >= ?", query.updated_at_min),
        ("updated_at <= ?", query.updated_at_max),
    ];
    for (clause, bound) in bounds {
        if let Some(at) = bound {
            clauses.push(clause.to_owned());
            values.push(Value::Integer(micros(at)));
        }
    }
    if let Some(flag) = query.return_to_sender {
        clauses.push("return_to_sender = ?".to_owned());
        values.push(Value::Integer(i64::from(flag)));
    }
    if let Some(days) = query.transit_time {
        clauses.push("transit_time = ?".to_owned());
        values.push(Value::Integer(i64::from(days)));
    }
    if let Some(ids) = &query.ids {
        // One JSON parameter, whatever the count: one statement to cache, no variable limit.
        let ids: Vec<&str> = ids.iter().map(|id| id.as_str()).collect();
        clauses.push("id IN (SELECT value FROM json_each(?))".to_owned());
        values.push(Value::Text(serde_json::to_string(&ids).unwrap_or_else(|_| "[]".to_owned())));
    }
    (clauses.join(" AND "), values)
}

/// A tenant's shipments with a tracking number (`?2`, compacted), as the carrier's or the last
/// mile's. Each arm names its index: left to itself, SQLite reads the tenant's creation index
/// to skip sorting, a scan of every shipment of the tenant (100 ms at 30,000).
pub(super) const BY_NUMBER: &str =
    "SELECT body, version, created_at, id FROM shipments INDEXED BY shipments_by_tenant_number
     WHERE tenant_id = ?1 AND number_compact = ?2
     UNION ALL SELECT body, version, created_at, id FROM shipments INDEXED BY shipments_by_tenant_last_mile
     WHERE tenant_id = ?1 AND last_mile_compact = ?2 AND number_compact <> ?2";

/// A tenant's shipments of an order (`?2`), through the order's index (as [`BY_NUMBER`]).
pub(super) const BY_ORDER_NUMBER: &str =
    "SELECT body, version, created_at, id FROM shipments INDEXED BY shipments_by_order_number
     WHERE tenant_id = ?1 AND order_number = ?2";

/// `select` (reading body, version, created_at and id in that order) ordered newest first and
/// cut at [`MAX_LOOKUP`].
pub(super) fn newest_first(select: &str) -> String {
    format!("{select} ORDER BY 3 DESC, 4 DESC LIMIT {MAX_LOOKUP}")
}

/// The shipments `select` finds, as [`newest_first`] orders and cuts them.
fn shipments_where(
    connection: &Connection,
    select: &str,
    values: impl rusqlite::Params,
) -> Result<Vec<Shipment>, StoreError> {
    let mut statement = connection.prepare_cached(&newest_first(select)).map_err(unavailable)?;
    let rows = statement
        .query_map(values, |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)))
        .map_err(unavailable)?;
    rows.map(|row| {
        let (body, version) = row.map_err(unavailable)?;
        parse_body(&body, version)
    })
    .collect()
}

fn list_page(connection: &Connection, tenant: &TenantId, query: &ListQuery) -> Result<ListPage, StoreError> {
    let (filters, mut values) = list_filters(tenant, query);
    // Unfiltered, the total is the tenant's kept count (migration 21); filtered, it is counted.
    let count = if filters == TENANT_ONLY {
        "SELECT COALESCE((SELECT shipments FROM shipment_totals WHERE tenant_id = ?), 0)".to_owned()
    } else {
        format!("SELECT COUNT(*) FROM shipments WHERE {filters}")
    };
    let total: i64 = connection
        .prepare_cached(&count)
        .and_then(|mut statement| statement.query_row(params_from_iter(values.iter()), |row| row.get(0)))
        .map_err(unavailable)?;
    let order = query.order;
    let column = if order.by_update() { "updated_at" } else { "created_at" };
    let (direction, beyond) = if order.descending() { ("DESC", "<") } else { ("ASC", ">") };
    let mut page_filters = filters;
    if let Some(cursor) = &query.cursor {
        page_filters.push_str(&format!(" AND ({column} {beyond} ? OR ({column} = ? AND id {beyond} ?))"));
        values.push(Value::Integer(micros(cursor.at)));
        values.push(Value::Integer(micros(cursor.at)));
        values.push(Value::Text(cursor.id.as_str().to_owned()));
    }
    let limit = query.limit.clamp(1, 200);
    values.push(Value::Integer(limit as i64 + 1));
    let mut statement = connection
        .prepare_cached(&format!(
            "SELECT body, version FROM shipments WHERE {page_filters}
             ORDER BY {column} {direction}, id {direction} LIMIT ?"
        ))
        .map_err(unavailable)?;
    let rows = statement
        .query_map(params_from_iter(values.iter()), |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)))
        .map_err(unavailable)?;
    let mut shipments = rows
        .map(|row| {
            let (body, version) = row.map_err(unavailable)?;
            parse_body(&body, version)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let next_cursor = if shipments.len() > limit {
        shipments.truncate(limit);
        shipments.last().map(|last| order.cursor_after(last))
    } else {
        None
    };
    Ok(ListPage { shipments, total: total as u64, next_cursor })
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::domain::{CheckpointInput, CheckpointSource, EventTime, ShipmentDetails, Subtag};
    use crate::ports::{ChangeFeed, Tenant, TenantStore};

    #[test]
    fn phase_ranges_take_exactly_the_phases_the_domain_finds_due() {
        let base = Utc::now().timestamp();
        for cadence in [1_u32, 7, 60, 300, 3_600] {
            for (offset, length) in [(0, 0), (0, 1), (13, 59), (59, 2), (3_599, 3), (5, 3_600), (17, 10_000)] {
                let after = DateTime::from_timestamp(base + offset, 0).expect("time");
                let until = after + Duration::seconds(length);
                let ranges = phase_ranges(i64::from(cadence), &crate::domain::seconds_between(after, until));
                for phase in 0..cadence {
                    let taken = ranges.iter().any(|(low, high)| (*low..=*high).contains(&i64::from(phase)));
                    let due = crate::domain::ticks_between(cadence, phase, after, until);
                    assert_eq!(taken, due, "cadence {cadence}, window +{offset}s for {length}s, phase {phase}");
                }
            }
        }
    }

    #[tokio::test]
    async fn retention_purges_finished_shipments_only_and_records_their_expiry() {
        let store = SqliteStore::in_memory().expect("store");
        let now = Utc::now();
        let tenant = Tenant { id: TenantId::random(), name: "Shop".into(), created_at: now };
        store.create_tenant(&tenant).await.expect("tenant");
        let slug = Slug::parse("ups").expect("slug");
        let new = |number: &str, days_ago: i64| {
            let number = TrackingNumber::parse(number).expect("number");
            Shipment::new(
                tenant.id.clone(),
                slug.clone(),
                number,
                ShipmentDetails::default(),
                now - Duration::days(days_ago),
            )
        };
        let mut delivered = new("1Z999AA10123456784", 100);
        let at = delivered.created_at;
        let event = CheckpointInput::new(
            slug.clone(),
            delivered.tracking_number.clone(),
            EventTime::from_utc(at),
            Subtag::parse("Delivered_001").expect("subtag"),
            "Delivered",
            CheckpointSource::Carrier,
        );
        delivered.merge([event], at);
        delivered.updated_at = at;
        assert!(!delivered.active);
        let active = new("1Z999AA10123456793", 100);
        let recent = {
            let mut recent = delivered.clone();
            recent.id = ShipmentId::random();
            recent.tracking_number = TrackingNumber::parse("1Z999AA10123456800").expect("number");
            recent.updated_at = now;
            recent
        };
        for shipment in [&delivered, &active, &recent] {
            store.insert(shipment).await.expect("inserted");
        }
        let start = store.changes_after(0, 100).await.expect("feed").last().map_or(0, |e| e.seq);

        assert_eq!(store.purge_finished(now - Duration::days(90), 100).await.expect("purged"), 1);
        assert!(store.get(&tenant.id, &delivered.id).await.expect("read").is_none());
        assert!(store.get(&tenant.id, &active.id).await.expect("read").is_some(), "active: kept");
        assert!(store.get(&tenant.id, &recent.id).await.expect("read").is_some(), "within retention: kept");
        let changes = store.changes_after(start, 100).await.expect("feed");
        assert_eq!(changes.len(), 1);
        assert_eq!(
            (changes[0].change.kind, changes[0].change.shipment_id.clone()),
            (ChangeKind::Expired, delivered.id)
        );
        assert_eq!(store.purge_finished(now - Duration::days(90), 100).await.expect("purged"), 0);
    }
}
