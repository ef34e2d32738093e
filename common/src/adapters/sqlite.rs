//! The embedded store: one SQLite file in WAL mode, migrated at open.
//!
//! One writer connection serializes writes (SQLite allows one writer at a time anyway); a small
//! pool of read-only connections serves reads concurrently. Calls run on tokio's blocking pool.
//! The `changes` table is the change feed: rows are appended in the transaction that changes a
//! shipment, so the feed's order is commit order.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, Transaction, params, params_from_iter};

use crate::domain::{Shipment, ShipmentId, Slug, TenantId, TrackingNumber};
use crate::ports::{
    ApiKeyRecord, ChangeEvent, ChangeFeed, ChangeKind, ConnectionStore, Cursor, DeadLetter, FeedEntry, ListPage,
    ListQuery, QueueName, Received, ShipmentStore, StatusSnapshot, StoreError, StoredConnection, Tenant, TenantStore,
    WorkQueue,
};

/// Schema versions, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE api_keys (
    digest BLOB PRIMARY KEY,
    key_id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id, created_at);
CREATE TABLE shipments (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    slug TEXT NOT NULL,
    number_compact TEXT NOT NULL,
    last_mile_slug TEXT,
    last_mile_compact TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    tag TEXT NOT NULL,
    subtag TEXT NOT NULL,
    active INTEGER NOT NULL,
    checkpoint_count INTEGER NOT NULL,
    origin TEXT,
    destination TEXT,
    courier_destination TEXT,
    order_id TEXT,
    order_number TEXT,
    return_to_sender INTEGER NOT NULL,
    transit_time INTEGER,
    shipment_tags TEXT NOT NULL,
    search_text TEXT NOT NULL,
    next_poll_at INTEGER,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX shipments_by_number ON shipments (tenant_id, slug, number_compact);
CREATE INDEX shipments_by_leg ON shipments (slug, number_compact);
CREATE INDEX shipments_by_last_mile ON shipments (last_mile_slug, last_mile_compact)
    WHERE last_mile_slug IS NOT NULL;
CREATE INDEX shipments_by_created ON shipments (tenant_id, created_at DESC, id DESC);
CREATE INDEX shipments_by_next_poll ON shipments (next_poll_at) WHERE next_poll_at IS NOT NULL;
CREATE TABLE changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL,
    shipment_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    at INTEGER NOT NULL,
    old TEXT,
    new TEXT
);
"#,
    r#"
CREATE TABLE queue_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    body BLOB NOT NULL,
    enqueued_at INTEGER NOT NULL,
    visible_at INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    dead_at INTEGER,
    dead_reason TEXT
);
CREATE INDEX queue_messages_ready ON queue_messages (queue, visible_at, id) WHERE dead_at IS NULL;
CREATE INDEX queue_messages_dead ON queue_messages (queue, id) WHERE dead_at IS NOT NULL;
"#,
    r#"
CREATE TABLE courier_connections (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    courier_slug TEXT NOT NULL,
    sealed_credentials BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX courier_connections_by_slug ON courier_connections (tenant_id, courier_slug, id);
"#,
    // Poll cadences: a shipment on its cadence is due at the seconds t with
    // t % poll_cadence = poll_phase. Existing shipments keep their explicit next_poll_at
    // until their next poll sets a cadence.
    r#"
ALTER TABLE shipments ADD COLUMN poll_cadence INTEGER;
ALTER TABLE shipments ADD COLUMN poll_phase INTEGER;
"#,
];

const READERS: usize = 4;

struct Inner {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

/// The SQLite store; it implements [`TenantStore`], [`ShipmentStore`] and [`ChangeFeed`].
/// Cloning shares the connections.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

fn unavailable(error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Unavailable(Box::new(error))
}

fn is_unique_violation(error: &rusqlite::Error, columns: &str) -> bool {
    matches!(error, rusqlite::Error::SqliteFailure(e, Some(message))
        if e.code == ErrorCode::ConstraintViolation && message.contains(columns))
}

fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

fn from_micros(value: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(value).unwrap_or_default()
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` and migrates it.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let writer = Connection::open(path).map_err(unavailable)?;
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;
                 PRAGMA busy_timeout = 5000;",
            )
            .map_err(unavailable)?;
        migrate(&writer)?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let reader = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
            )
            .map_err(unavailable)?;
            reader.execute_batch("PRAGMA busy_timeout = 5000;").map_err(unavailable)?;
            readers.push(Mutex::new(reader));
        }
        Ok(Self::from_connections(writer, readers))
    }

    /// A private in-memory database, for tests: one connection does everything.
    pub fn in_memory() -> Result<Self, StoreError> {
        let writer = Connection::open_in_memory().map_err(unavailable)?;
        writer.execute_batch("PRAGMA foreign_keys = ON;").map_err(unavailable)?;
        migrate(&writer)?;
        Ok(Self::from_connections(writer, Vec::new()))
    }

    fn from_connections(writer: Connection, readers: Vec<Mutex<Connection>>) -> Self {
        SqliteStore { inner: Arc::new(Inner { writer: Mutex::new(writer), readers, next_reader: AtomicUsize::new(0) }) }
    }

    /// Makes every leased queue message visible again. The embedded runtime is its queue's only
    /// consumer, so at start whatever is leased was leased by a process that died; waiting for
    /// those leases to run out would only delay recovery. Returns how many were released.
    pub async fn release_all_leases(&self) -> Result<usize, StoreError> {
        self.write(|tx| {
            let now = micros(Utc::now());
            tx.execute(
                "UPDATE queue_messages SET visible_at = ?1 WHERE dead_at IS NULL AND visible_at > ?1 AND receive_count > 0",
                params![now],
            )
            .map_err(unavailable)
        })
        .await
    }

    async fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let mut connection = inner.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let transaction = connection.transaction().map_err(unavailable)?;
            let value = work(&transaction)?;
            transaction.commit().map_err(unavailable)?;
            Ok(value)
        })
        .await
        .map_err(unavailable)?
    }

    async fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let pool = &inner.readers;
            let connection = if pool.is_empty() {
                &inner.writer
            } else {
                &pool[inner.next_reader.fetch_add(1, Ordering::Relaxed) % pool.len()]
            };
            let connection = connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            work(&connection)
        })
        .await
        .map_err(unavailable)?
    }
}

fn migrate(connection: &Connection) -> Result<(), StoreError> {
    let applied: i64 = connection.query_row("PRAGMA user_version", [], |row| row.get(0)).map_err(unavailable)?;
    let applied = usize::try_from(applied).unwrap_or(0);
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(applied) {
        connection
            .execute_batch(&format!("BEGIN; {migration}; PRAGMA user_version = {}; COMMIT;", index + 1))
            .map_err(unavailable)?;
        tracing::info!(version = index + 1, "database migrated");
    }
    Ok(())
}

fn snapshot_json(snapshot: Option<&StatusSnapshot>) -> Result<Option<String>, StoreError> {
    snapshot.map(|s| serde_json::to_string(s).map_err(unavailable)).transpose()
}

fn record_change(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    id: &ShipmentId,
    kind: ChangeKind,
    old: Option<&StatusSnapshot>,
    new: Option<&StatusSnapshot>,
) -> Result<(), StoreError> {
    let kind = match kind {
        ChangeKind::Created => "created",
        ChangeKind::Updated => "updated",
        ChangeKind::Deleted => "deleted",
    };
    tx.execute(
        "INSERT INTO changes (tenant_id, shipment_id, kind, at, old, new) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![tenant.as_str(), id.as_str(), kind, micros(Utc::now()), snapshot_json(old)?, snapshot_json(new)?],
    )
    .map_err(unavailable)?;
    Ok(())
}

/// The row's columns for `shipment` stored at `version`, in the order of [`UPSERT_COLUMNS`].
fn shipment_values(shipment: &Shipment, version: u64) -> Result<Vec<Value>, StoreError> {
    let mut stored = shipment.clone();
    stored.version = version;
    let body = serde_json::to_string(&stored).map_err(unavailable)?;
    let details = &shipment.details;
    let text = |value: Option<&str>| value.map_or(Value::Null, |v| Value::Text(v.to_owned()));
    Ok(vec![
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
        Value::Text(body),
    ])
}

const UPSERT_COLUMNS: &str = "tenant_id, id, version, slug, number_compact, last_mile_slug, last_mile_compact, \
     created_at, updated_at, tag, subtag, active, checkpoint_count, origin, destination, courier_destination, \
     order_id, order_number, return_to_sender, transit_time, shipment_tags, search_text, next_poll_at, poll_cadence, \
     poll_phase, body";

fn parse_body(body: &str, version: i64) -> Result<Shipment, StoreError> {
    let mut shipment: Shipment = serde_json::from_str(body).map_err(unavailable)?;
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

fn old_snapshot(tx: &Connection, tenant: &TenantId, id: &ShipmentId) -> Result<Option<StatusSnapshot>, StoreError> {
    tx.query_row(
        "SELECT version, tag, subtag, active, checkpoint_count FROM shipments WHERE tenant_id = ?1 AND id = ?2",
        params![tenant.as_str(), id.as_str()],
        |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, bool>(3)?,
                row.get::<_, i64>(4)?,
            ))
        },
    )
    .optional()
    .map_err(unavailable)?
    .map(|(version, tag, subtag, active, count)| {
        Ok(StatusSnapshot {
            version: version as u64,
            tag: crate::domain::Tag::parse(&tag).map_err(unavailable)?,
            subtag: crate::domain::Subtag::parse(&subtag).map_err(unavailable)?,
            active,
            checkpoint_count: count as usize,
        })
    })
    .transpose()
}

#[async_trait]
impl ShipmentStore for SqliteStore {
    async fn insert(&self, shipment: &Shipment) -> Result<u64, StoreError> {
        let shipment = shipment.clone();
        self.write(move |tx| {
            let values = shipment_values(&shipment, 1)?;
            let placeholders = (1..=values.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
            let sql = format!("INSERT INTO shipments ({UPSERT_COLUMNS}) VALUES ({placeholders})");
            match tx.execute(&sql, params_from_iter(values)) {
                Ok(_) => {}
                Err(e) if is_unique_violation(&e, "number_compact") => {
                    return Err(existing_with_number(tx, &shipment)?);
                }
                Err(e) if is_unique_violation(&e, "shipments.id") => return Err(StoreError::Conflict),
                Err(e) => return Err(unavailable(e)),
            }
            let mut stored = StatusSnapshot::of(&shipment);
            stored.version = 1;
            record_change(tx, &shipment.tenant_id, &shipment.id, ChangeKind::Created, None, Some(&stored))?;
            Ok(1)
        })
        .await
    }

    async fn get(&self, tenant: &TenantId, id: &ShipmentId) -> Result<Option<Shipment>, StoreError> {
        let (tenant, id) = (tenant.clone(), id.clone());
        self.read(move |connection| {
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
        let shipment = shipment.clone();
        self.write(move |tx| {
            let old = old_snapshot(tx, &shipment.tenant_id, &shipment.id)?.ok_or(StoreError::NotFound)?;
            if old.version != shipment.version {
                return Err(StoreError::Conflict);
            }
            let version = shipment.version + 1;
            let values = shipment_values(&shipment, version)?;
            let assignments = UPSERT_COLUMNS
                .split(", ")
                .enumerate()
                .skip(2)
                .map(|(i, column)| format!("{column} = ?{}", i + 1))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!("UPDATE shipments SET {assignments} WHERE tenant_id = ?1 AND id = ?2");
            match tx.execute(&sql, params_from_iter(values)) {
                Ok(_) => {}
                Err(e) if is_unique_violation(&e, "number_compact") => {
                    return Err(existing_with_number(tx, &shipment)?);
                }
                Err(e) => return Err(unavailable(e)),
            }
            let mut new = StatusSnapshot::of(&shipment);
            new.version = version;
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
        // The cadence part reads every active shipment on a cadence (its phase and cadence are
        // columns): fine for the embedded store's size.
        let seconds = crate::domain::seconds_between(after, until);
        self.read(move |connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT tenant_id, id FROM shipments WHERE active = 1 AND (
                         (next_poll_at IS NOT NULL AND next_poll_at <= ?1)
                         OR (next_poll_at IS NULL AND poll_cadence IS NOT NULL
                             AND (?3 - poll_phase) / poll_cadence > (?2 - 1 - poll_phase) / poll_cadence))
                     ORDER BY next_poll_at IS NULL, next_poll_at, tenant_id, id",
                )
                .map_err(unavailable)?;
            let rows = statement
                .query_map(params![micros(until), seconds.start(), seconds.end()], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
                })
                .map_err(unavailable)?;
            ids_from_rows(rows)
        })
        .await
    }
}

fn ids_from_rows(
    rows: impl Iterator<Item = rusqlite::Result<(String, String)>>,
) -> Result<Vec<(TenantId, ShipmentId)>, StoreError> {
    rows.map(|row| {
        let (tenant, id) = row.map_err(unavailable)?;
        Ok((TenantId::parse(&tenant).map_err(unavailable)?, ShipmentId::parse(&id).map_err(unavailable)?))
    })
    .collect()
}

/// Builds the WHERE clause of a listing; the cursor is left to the caller.
fn list_filters(tenant: &TenantId, query: &ListQuery) -> (String, Vec<Value>) {
    let mut clauses = vec!["tenant_id = ?".to_owned()];
    let mut values = vec![Value::Text(tenant.as_str().to_owned())];
    let mut any_of = |column: &str, items: Vec<String>| {
        if !items.is_empty() {
            clauses.push(format!("{column} IN ({})", vec!["?"; items.len()].join(", ")));
            values.extend(items.into_iter().map(Value::Text));
        }
    };
    any_of("tag", query.tags.iter().map(|t| t.as_str().to_owned()).collect());
    any_of("slug", query.slugs.iter().map(|s| s.as_str().to_owned()).collect());
    any_of("origin", query.origins.iter().map(|c| c.as_str().to_owned()).collect());
    any_of("destination", query.destinations.iter().map(|c| c.as_str().to_owned()).collect());
    any_of("courier_destination", query.courier_destinations.iter().map(|c| c.as_str().to_owned()).collect());
    any_of(
        "number_compact",
        query
            .tracking_numbers
            .iter()
            .filter_map(|n| TrackingNumber::parse(n).ok())
            .map(|n| n.compact().to_owned())
            .collect(),
    );
    any_of("order_id", query.order_id.iter().cloned().collect());
    any_of("order_number", query.order_number.iter().cloned().collect());
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
    (clauses.join(" AND "), values)
}

fn list_page(connection: &Connection, tenant: &TenantId, query: &ListQuery) -> Result<ListPage, StoreError> {
    let (filters, mut values) = list_filters(tenant, query);
    let total: i64 = connection
        .prepare_cached(&format!("SELECT COUNT(*) FROM shipments WHERE {filters}"))
        .and_then(|mut statement| statement.query_row(params_from_iter(values.iter()), |row| row.get(0)))
        .map_err(unavailable)?;
    let mut page_filters = filters;
    if let Some(cursor) = &query.cursor {
        page_filters.push_str(" AND (created_at < ? OR (created_at = ? AND id < ?))");
        values.push(Value::Integer(micros(cursor.created_at)));
        values.push(Value::Integer(micros(cursor.created_at)));
        values.push(Value::Text(cursor.id.as_str().to_owned()));
    }
    let limit = query.limit.clamp(1, 200);
    values.push(Value::Integer(limit as i64 + 1));
    let mut statement = connection
        .prepare_cached(&format!(
            "SELECT body, version FROM shipments WHERE {page_filters} ORDER BY created_at DESC, id DESC LIMIT ?"
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
        shipments.last().map(|last| Cursor { created_at: last.created_at, id: last.id.clone() })
    } else {
        None
    };
    Ok(ListPage { shipments, total: total as u64, next_cursor })
}

#[async_trait]
impl TenantStore for SqliteStore {
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let tenant = tenant.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO tenants (id, name, created_at) VALUES (?1, ?2, ?3)",
                params![tenant.id.as_str(), tenant.name, micros(tenant.created_at)],
            )
            .map_err(|e| if is_unique_violation(&e, "tenants.id") { StoreError::Conflict } else { unavailable(e) })?;
            Ok(())
        })
        .await
    }

    async fn get_tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        let id = id.clone();
        self.read(move |connection| {
            connection
                .query_row("SELECT name, created_at FROM tenants WHERE id = ?1", params![id.as_str()], |row| {
                    Ok(Tenant { id: id.clone(), name: row.get(0)?, created_at: from_micros(row.get(1)?) })
                })
                .optional()
                .map_err(unavailable)
        })
        .await
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        self.read(|connection| {
            let mut statement = connection
                .prepare("SELECT id, name, created_at FROM tenants ORDER BY created_at, id")
                .map_err(unavailable)?;
            let rows = statement
                .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get::<_, i64>(2)?)))
                .map_err(unavailable)?;
            rows.map(|row| {
                let (id, name, created_at) = row.map_err(unavailable)?;
                Ok(Tenant { id: TenantId::parse(&id).map_err(unavailable)?, name, created_at: from_micros(created_at) })
            })
            .collect()
        })
        .await
    }

    async fn add_api_key(&self, record: &ApiKeyRecord, digest: &[u8; 32]) -> Result<(), StoreError> {
        let (record, digest) = (record.clone(), *digest);
        self.write(move |tx| {
            let exists: bool = tx
                .query_row("SELECT 1 FROM tenants WHERE id = ?1", params![record.tenant_id.as_str()], |_| Ok(true))
                .optional()
                .map_err(unavailable)?
                .unwrap_or(false);
            if !exists {
                return Err(StoreError::NotFound);
            }
            tx.execute(
                "INSERT INTO api_keys (digest, key_id, tenant_id, created_at, revoked_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    &digest[..],
                    record.key_id,
                    record.tenant_id.as_str(),
                    micros(record.created_at),
                    record.revoked_at.map(micros)
                ],
            )
            .map_err(|e| if is_unique_violation(&e, "api_keys.") { StoreError::Conflict } else { unavailable(e) })?;
            Ok(())
        })
        .await
    }

    async fn tenant_for_key(&self, digest: &[u8; 32]) -> Result<Option<TenantId>, StoreError> {
        let digest = *digest;
        self.read(move |connection| {
            let mut statement = connection
                .prepare_cached("SELECT tenant_id FROM api_keys WHERE digest = ?1 AND revoked_at IS NULL")
                .map_err(unavailable)?;
            let tenant: Option<String> =
                statement.query_row(params![&digest[..]], |row| row.get(0)).optional().map_err(unavailable)?;
            tenant.map(|t| TenantId::parse(&t).map_err(unavailable)).transpose()
        })
        .await
    }

    async fn revoke_api_key(&self, tenant: &TenantId, key_id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        let (tenant, key_id) = (tenant.clone(), key_id.to_owned());
        self.write(move |tx| {
            let found = tx
                .execute(
                    "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?3) WHERE tenant_id = ?1 AND key_id = ?2",
                    params![tenant.as_str(), key_id, micros(at)],
                )
                .map_err(unavailable)?;
            if found == 0 { Err(StoreError::NotFound) } else { Ok(()) }
        })
        .await
    }

    async fn list_api_keys(&self, tenant: &TenantId) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let tenant = tenant.clone();
        self.read(move |connection| {
            let mut statement = connection
                .prepare("SELECT key_id, created_at, revoked_at FROM api_keys WHERE tenant_id = ?1 ORDER BY created_at, key_id")
                .map_err(unavailable)?;
            let rows = statement
                .query_map(params![tenant.as_str()], |row| {
                    Ok(ApiKeyRecord {
                        key_id: row.get(0)?,
                        tenant_id: tenant.clone(),
                        created_at: from_micros(row.get(1)?),
                        revoked_at: row.get::<_, Option<i64>>(2)?.map(from_micros),
                    })
                })
                .map_err(unavailable)?;
            rows.collect::<Result<_, _>>().map_err(unavailable)
        })
        .await
    }
}

#[async_trait]
impl ChangeFeed for SqliteStore {
    async fn changes_after(&self, after: u64, limit: usize) -> Result<Vec<FeedEntry>, StoreError> {
        self.read(move |connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT seq, tenant_id, shipment_id, kind, at, old, new FROM changes WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                )
                .map_err(unavailable)?;
            let rows = statement
                .query_map(params![after as i64, limit as i64], |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, String>(3)?,
                        row.get::<_, i64>(4)?,
                        row.get::<_, Option<String>>(5)?,
                        row.get::<_, Option<String>>(6)?,
                    ))
                })
                .map_err(unavailable)?;
            rows.map(|row| {
                let (seq, tenant, shipment, kind, at, old, new) = row.map_err(unavailable)?;
                let snapshot = |json: Option<String>| -> Result<Option<StatusSnapshot>, StoreError> {
                    json.map(|j| serde_json::from_str(&j).map_err(unavailable)).transpose()
                };
                let change = ChangeEvent {
                    tenant_id: TenantId::parse(&tenant).map_err(unavailable)?,
                    shipment_id: ShipmentId::parse(&shipment).map_err(unavailable)?,
                    kind: match kind.as_str() {
                        "created" => ChangeKind::Created,
                        "updated" => ChangeKind::Updated,
                        _ => ChangeKind::Deleted,
                    },
                    at: from_micros(at),
                    old: snapshot(old)?,
                    new: snapshot(new)?,
                };
                Ok(FeedEntry { seq: seq as u64, change })
            })
            .collect()
        })
        .await
    }
}

#[async_trait]
impl WorkQueue for SqliteStore {
    async fn send_batch(&self, queue: QueueName, bodies: &[Vec<u8>]) -> Result<Vec<u64>, StoreError> {
        let bodies = bodies.to_vec();
        self.write(move |tx| {
            let now = micros(Utc::now());
            let mut statement = tx
                .prepare_cached(
                    "INSERT INTO queue_messages (queue, body, enqueued_at, visible_at) VALUES (?1, ?2, ?3, ?3) RETURNING id",
                )
                .map_err(unavailable)?;
            bodies
                .iter()
                .map(|body| {
                    statement.query_row(params![queue.as_str(), body, now], |row| row.get::<_, i64>(0)).map(|id| id as u64)
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(unavailable)
        })
        .await
    }

    async fn receive(
        &self,
        queue: QueueName,
        max: usize,
        lease: chrono::Duration,
    ) -> Result<Vec<Received>, StoreError> {
        self.write(move |tx| {
            let now = Utc::now();
            let mut statement = tx
                .prepare_cached(
                    "UPDATE queue_messages SET visible_at = ?1, receive_count = receive_count + 1
                     WHERE id IN (SELECT id FROM queue_messages
                                  WHERE queue = ?2 AND dead_at IS NULL AND visible_at <= ?3
                                  ORDER BY visible_at, id LIMIT ?4)
                     RETURNING id, body, receive_count, enqueued_at",
                )
                .map_err(unavailable)?;
            let rows = statement
                .query_map(params![micros(now + lease), queue.as_str(), micros(now), max as i64], |row| {
                    Ok(Received {
                        id: row.get::<_, i64>(0)? as u64,
                        body: row.get(1)?,
                        receive_count: row.get::<_, i64>(2)? as u32,
                        enqueued_at: from_micros(row.get(3)?),
                    })
                })
                .map_err(unavailable)?;
            let mut received = rows.collect::<Result<Vec<_>, _>>().map_err(unavailable)?;
            received.sort_by_key(|r| r.id);
            Ok(received)
        })
        .await
    }

    async fn ack(&self, queue: QueueName, id: u64) -> Result<(), StoreError> {
        self.write(move |tx| {
            tx.execute(
                "DELETE FROM queue_messages WHERE id = ?1 AND queue = ?2 AND dead_at IS NULL",
                params![id as i64, queue.as_str()],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn release(&self, queue: QueueName, id: u64, delay: chrono::Duration) -> Result<(), StoreError> {
        self.write(move |tx| {
            tx.execute(
                "UPDATE queue_messages SET visible_at = ?1 WHERE id = ?2 AND queue = ?3 AND dead_at IS NULL",
                params![micros(Utc::now() + delay), id as i64, queue.as_str()],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn dead_letter(&self, queue: QueueName, id: u64, reason: &str) -> Result<(), StoreError> {
        let reason = reason.to_owned();
        self.write(move |tx| {
            tx.execute(
                "UPDATE queue_messages SET dead_at = ?1, dead_reason = ?2 WHERE id = ?3 AND queue = ?4 AND dead_at IS NULL",
                params![micros(Utc::now()), reason, id as i64, queue.as_str()],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn dead_letters(&self, queue: QueueName, after_id: u64, limit: usize) -> Result<Vec<DeadLetter>, StoreError> {
        self.read(move |connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT id, body, dead_reason, receive_count, enqueued_at, dead_at FROM queue_messages
                     WHERE queue = ?1 AND dead_at IS NOT NULL AND id > ?2 ORDER BY id LIMIT ?3",
                )
                .map_err(unavailable)?;
            let rows = statement
                .query_map(params![queue.as_str(), after_id as i64, limit as i64], |row| {
                    Ok(DeadLetter {
                        id: row.get::<_, i64>(0)? as u64,
                        body: row.get(1)?,
                        reason: row.get::<_, Option<String>>(2)?.unwrap_or_default(),
                        receive_count: row.get::<_, i64>(3)? as u32,
                        enqueued_at: from_micros(row.get(4)?),
                        dead_at: from_micros(row.get(5)?),
                    })
                })
                .map_err(unavailable)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(unavailable)
        })
        .await
    }

    async fn redrive(&self, queue: QueueName, id: u64) -> Result<(), StoreError> {
        self.write(move |tx| {
            let changed = tx
                .execute(
                    "UPDATE queue_messages SET dead_at = NULL, dead_reason = NULL, receive_count = 0, visible_at = ?1
                     WHERE id = ?2 AND queue = ?3 AND dead_at IS NOT NULL",
                    params![micros(Utc::now()), id as i64, queue.as_str()],
                )
                .map_err(unavailable)?;
            if changed == 0 { Err(StoreError::NotFound) } else { Ok(()) }
        })
        .await
    }

    async fn depth(&self, queue: QueueName) -> Result<u64, StoreError> {
        self.read(move |connection| {
            connection
                .query_row(
                    "SELECT COUNT(*) FROM queue_messages WHERE queue = ?1 AND dead_at IS NULL",
                    params![queue.as_str()],
                    |row| row.get::<_, i64>(0),
                )
                .map(|n| n as u64)
                .map_err(unavailable)
        })
        .await
    }
}

fn connection_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(String, String, String, Vec<u8>, i64, i64)> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?))
}

fn connection_from_parts(parts: (String, String, String, Vec<u8>, i64, i64)) -> Result<StoredConnection, StoreError> {
    let (tenant, id, slug, sealed_credentials, created_at, updated_at) = parts;
    Ok(StoredConnection {
        tenant_id: TenantId::parse(&tenant).map_err(unavailable)?,
        id,
        courier_slug: Slug::parse(&slug).map_err(unavailable)?,
        sealed_credentials,
        created_at: from_micros(created_at),
        updated_at: from_micros(updated_at),
    })
}

const CONNECTION_COLUMNS: &str = "tenant_id, id, courier_slug, sealed_credentials, created_at, updated_at";

#[async_trait]
impl ConnectionStore for SqliteStore {
    async fn insert_connection(&self, connection: &StoredConnection) -> Result<(), StoreError> {
        let c = connection.clone();
        self.write(move |tx| {
            tx.execute(
                &format!("INSERT INTO courier_connections ({CONNECTION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
                params![
                    c.tenant_id.as_str(),
                    c.id,
                    c.courier_slug.as_str(),
                    c.sealed_credentials,
                    micros(c.created_at),
                    micros(c.updated_at)
                ],
            )
            .map_err(|e| {
                if is_unique_violation(&e, "courier_connections.") { StoreError::Conflict } else { unavailable(e) }
            })?;
            Ok(())
        })
        .await
    }

    async fn get_connection(&self, tenant: &TenantId, id: &str) -> Result<Option<StoredConnection>, StoreError> {
        let (tenant, id) = (tenant.clone(), id.to_owned());
        self.read(move |connection| {
            connection
                .query_row(
                    &format!("SELECT {CONNECTION_COLUMNS} FROM courier_connections WHERE tenant_id = ?1 AND id = ?2"),
                    params![tenant.as_str(), id],
                    connection_from_row,
                )
                .optional()
                .map_err(unavailable)?
                .map(connection_from_parts)
                .transpose()
        })
        .await
    }

    async fn update_connection(&self, connection: &StoredConnection) -> Result<(), StoreError> {
        let c = connection.clone();
        self.write(move |tx| {
            let changed = tx
                .execute(
                    "UPDATE courier_connections SET sealed_credentials = ?3, updated_at = ?4 WHERE tenant_id = ?1 AND id = ?2",
                    params![c.tenant_id.as_str(), c.id, c.sealed_credentials, micros(c.updated_at)],
                )
                .map_err(unavailable)?;
            if changed == 0 { Err(StoreError::NotFound) } else { Ok(()) }
        })
        .await
    }

    async fn delete_connection(&self, tenant: &TenantId, id: &str) -> Result<StoredConnection, StoreError> {
        let (tenant, id) = (tenant.clone(), id.to_owned());
        self.write(move |tx| {
            let parts = tx
                .query_row(
                    &format!("DELETE FROM courier_connections WHERE tenant_id = ?1 AND id = ?2 RETURNING {CONNECTION_COLUMNS}"),
                    params![tenant.as_str(), id],
                    connection_from_row,
                )
                .optional()
                .map_err(unavailable)?
                .ok_or(StoreError::NotFound)?;
            connection_from_parts(parts)
        })
        .await
    }

    async fn list_connections(
        &self,
        tenant: &TenantId,
        slug: Option<&Slug>,
        after_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StoredConnection>, StoreError> {
        let (tenant, slug, after) =
            (tenant.clone(), slug.map(|s| s.as_str().to_owned()), after_id.unwrap_or("").to_owned());
        self.read(move |connection| {
            let mut statement = connection
                .prepare_cached(&format!(
                    "SELECT {CONNECTION_COLUMNS} FROM courier_connections
                     WHERE tenant_id = ?1 AND (?2 IS NULL OR courier_slug = ?2) AND id > ?3 ORDER BY id LIMIT ?4"
                ))
                .map_err(unavailable)?;
            let rows = statement
                .query_map(params![tenant.as_str(), slug, after, limit as i64], connection_from_row)
                .map_err(unavailable)?;
            rows.map(|row| connection_from_parts(row.map_err(unavailable)?)).collect()
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::SqliteStore;

    mod in_memory {
        use super::*;
        crate::store_contract_tests!(SqliteStore::in_memory().expect("in-memory store"));
        crate::queue_contract_tests!(SqliteStore::in_memory().expect("in-memory store"));
        crate::connection_contract_tests!(SqliteStore::in_memory().expect("in-memory store"));
    }

    /// The file-backed store, with its pool of read connections over WAL.
    mod on_disk {
        use super::*;
        crate::store_contract_tests!({
            let dir = std::env::temp_dir().join(format!("porchlight-test-{}", uuid::Uuid::new_v4().simple()));
            std::fs::create_dir_all(&dir).expect("temp dir");
            SqliteStore::open(&dir.join("store.db")).expect("file store")
        });
    }

    #[test]
    fn reopening_a_database_keeps_its_data_and_schema() {
        let dir = std::env::temp_dir().join(format!("porchlight-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("store.db");
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async {
            use crate::ports::{Tenant, TenantStore};
            let store = SqliteStore::open(&path).expect("open");
            let tenant =
                Tenant { id: crate::domain::TenantId::random(), name: "Shop".into(), created_at: chrono::Utc::now() };
            store.create_tenant(&tenant).await.expect("created");
            drop(store);
            let reopened = SqliteStore::open(&path).expect("reopen");
            assert!(reopened.get_tenant(&tenant.id).await.expect("read").is_some());
        });
    }
}

#[cfg(test)]
mod recovery_tests {
    use super::SqliteStore;
    use crate::ports::{QueueName, WorkQueue};

    #[tokio::test]
    async fn leases_of_a_dead_consumer_are_released_at_start() {
        let store = SqliteStore::in_memory().expect("store");
        store.send_batch(QueueName::CarrierUpdates, &[b"a".to_vec(), b"b".to_vec()]).await.expect("sent");
        let leased = store.receive(QueueName::CarrierUpdates, 1, chrono::Duration::hours(1)).await.expect("leased");
        assert_eq!(leased.len(), 1);
        assert_eq!(store.release_all_leases().await.expect("released"), 1);
        let all = store.receive(QueueName::CarrierUpdates, 10, chrono::Duration::hours(1)).await.expect("received");
        assert_eq!(all.len(), 2, "the leased one is back");
    }
}
