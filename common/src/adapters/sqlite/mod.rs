//! The embedded store: one SQLite file in WAL mode, migrated at open, one file per port.
//!
//! One writer connection, owned by a thread that commits the writes waiting for it together
//! (`writer.rs`: group commit, each write in its own savepoint); a small pool of read-only
//! connections serves reads concurrently on tokio's blocking pool.
//! The `changes` table is the change feed: rows are appended in the transaction that changes a
//! shipment, so the feed's order is commit order. The schema and its migrations are in
//! `schema.rs`; only this module knows SQL and row shapes.

mod analytics;
pub mod backup;
mod connections;
mod connectors;
mod exceptions;
mod feed;
mod imports;
mod messages;
mod orders;
mod pages;
mod queue;
mod returns;
mod schema;
mod settings;
mod shipments;
mod suppressions;
mod team;
mod tenants;
mod webhooks;
mod writer;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, ErrorCode, OpenFlags};

use crate::ports::StoreError;

const READERS: usize = 4;
/// How much of the file each reader maps (the file beyond it is read with copies).
const READ_MAP_BYTES: u64 = 1 << 30;

struct Inner {
    writer: writer::Writer,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    /// One permit per reader: reads beyond them wait here, as tasks, rather than as blocking
    /// threads parked on a connection's lock (an import's thousands of reads had made the
    /// blocking pool grow to 512 threads and half a gigabyte, and stalled every other read).
    read_slots: tokio::sync::Semaphore,
}

/// The SQLite store; it implements [`TenantStore`], [`ShipmentStore`] and [`ChangeFeed`].
/// Cloning shares the connections.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

/// Creates an empty file at `path`, mode 0600, unless one exists.
fn create_private(path: &Path) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(unavailable(error)),
    }
}

/// Statements each connection keeps prepared: every statement the adapters run fits, so none
/// is parsed again under load.
const STATEMENT_CACHE: usize = 256;

/// Runs `sql` through the connection's statement cache (parsing a write anew costs more than
/// running it).
fn execute<P: rusqlite::Params>(connection: &Connection, sql: &str, params: P) -> rusqlite::Result<usize> {
    connection.prepare_cached(sql)?.execute(params)
}

fn unavailable(error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Unavailable(Box::new(error))
}

/// A row that does not read back as this code writes it: `what` names the column.
fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("sqlite row with an unreadable {what}"))
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
    /// Opens (creating if needed) the database file at `path` and migrates it. A new file is
    /// readable by its owner only (it holds shoppers' data); SQLite gives its WAL and shared
    /// memory files the same mode.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        create_private(path)?;
        let writer = Connection::open(path).map_err(unavailable)?;
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;
                 PRAGMA busy_timeout = 5000;",
            )
            .map_err(unavailable)?;
        schema::migrate(&writer)?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let reader = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
            )
            .map_err(unavailable)?;
            // Pages read through a memory map: a reader's own page cache starts over whenever
            // another connection has written, so under steady writes every read was a copy out
            // of the operating system's cache (a third of serve's time in the soak).
            reader
                .execute_batch(&format!("PRAGMA busy_timeout = 5000; PRAGMA mmap_size = {READ_MAP_BYTES};"))
                .map_err(unavailable)?;
            readers.push(Mutex::new(reader));
        }
        Self::from_connections(writer, readers)
    }

    /// A private in-memory database, for tests: one connection does everything.
    pub fn in_memory() -> Result<Self, StoreError> {
        let writer = Connection::open_in_memory().map_err(unavailable)?;
        writer.execute_batch("PRAGMA foreign_keys = ON;").map_err(unavailable)?;
        schema::migrate(&writer)?;
        Self::from_connections(writer, Vec::new())
    }

    fn from_connections(writer: Connection, readers: Vec<Mutex<Connection>>) -> Result<Self, StoreError> {
        writer.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        for reader in &readers {
            reader
                .lock()
                .map_err(|_| StoreError::Unavailable("a reader's lock is poisoned".into()))?
                .set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        }
        let writer = writer::Writer::start(writer)?;
        let read_slots = tokio::sync::Semaphore::new(readers.len());
        Ok(SqliteStore { inner: Arc::new(Inner { writer, readers, next_reader: AtomicUsize::new(0), read_slots }) })
    }

    /// Runs `work` as part of the next group-committed transaction; its result once that has
    /// committed. A `work` that fails changes nothing.
    async fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.inner.writer.write(work).await
    }

    /// As [`SqliteStore::read`], for reads by key that take microseconds: run in place on a
    /// free connection of the pool, sparing two thread switches per read (the cost that
    /// dominated a `GET` under load); handed to the blocking pool only when every connection
    /// is busy. Never for scans or listings, which would hold the runtime's thread.
    async fn read_by_key<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        if let Some(connection) = self.inner.readers.iter().find_map(|reader| reader.try_lock().ok()) {
            return work(&connection);
        }
        self.read(work).await
    }

    /// Runs `work` on a read-only connection of the pool (an in-memory store, which has none,
    /// reads through its writer).
    async fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        if self.inner.readers.is_empty() {
            return self.write(work).await;
        }
        let _slot = self.inner.read_slots.acquire().await.map_err(unavailable)?;
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let pool = &inner.readers;
            // A free connection if there is one (a read in place may hold one for microseconds).
            if let Some(connection) = pool.iter().find_map(|reader| reader.try_lock().ok()) {
                return work(&connection);
            }
            let connection = &pool[inner.next_reader.fetch_add(1, Ordering::Relaxed) % pool.len()];
            let connection = connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            work(&connection)
        })
        .await
        .map_err(unavailable)?
    }
}

#[cfg(test)]
mod migrations_tests;

#[cfg(test)]
mod tests {
    use super::SqliteStore;

    mod in_memory {
        use super::*;
        crate::store_contract_tests!(SqliteStore::in_memory().expect("in-memory store"));
        crate::queue_contract_tests!(SqliteStore::in_memory().expect("in-memory store"));
        crate::connection_contract_tests!(SqliteStore::in_memory().expect("in-memory store"));
        crate::connector_contract_tests!(SqliteStore::in_memory().expect("in-memory store"));
        crate::page_contract_tests!(SqliteStore::in_memory().expect("in-memory store"));
        crate::settings_contract_tests!(SqliteStore::in_memory().expect("in-memory store"));
        crate::ledger_contract_tests!(SqliteStore::in_memory().expect("in-memory store"));
        crate::webhook_contract_tests!(SqliteStore::in_memory().expect("in-memory store"));
        crate::exception_contract_tests!(SqliteStore::in_memory().expect("in-memory store"));
        crate::order_contract_tests!(SqliteStore::in_memory().expect("in-memory store"));
        crate::analytics_contract_tests!(SqliteStore::in_memory().expect("in-memory store"));
        crate::return_contract_tests!(SqliteStore::in_memory().expect("in-memory store"));
        crate::team_contract_tests!(SqliteStore::in_memory().expect("in-memory store"));
    }

    /// Lookups that name their index search it. Left to itself, SQLite reads a tenant's time
    /// index to skip a sort, which scans every row of the tenant.
    #[test]
    fn pinned_lookups_search_their_indexes() {
        let connection = rusqlite::Connection::open_in_memory().expect("connection");
        super::schema::migrate(&connection).expect("migrated");
        let lookups = [
            super::shipments::newest_first(super::shipments::BY_NUMBER),
            super::shipments::newest_first(super::shipments::BY_ORDER_NUMBER),
            super::webhooks::subject_events_sql(),
        ];
        for sql in lookups {
            let mut statement = connection.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).expect("planned");
            let mut rows = statement.raw_query();
            let mut steps = Vec::new();
            while let Some(row) = rows.next().expect("step") {
                steps.push(row.get::<_, String>(3).expect("detail"));
            }
            let named: Vec<&str> =
                sql.split("INDEXED BY ").skip(1).filter_map(|rest| rest.split_whitespace().next()).collect();
            assert!(!named.is_empty(), "{sql}");
            for index in named {
                let seek = format!("USING INDEX {index} (tenant_id=? AND ");
                assert!(steps.iter().any(|step| step.contains(&seek)), "{sql}: {steps:?}");
            }
            assert!(!steps.iter().any(|step| step.starts_with("SCAN")), "{sql}: {steps:?}");
        }
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

    #[cfg(unix)]
    #[tokio::test]
    async fn a_new_database_and_its_wal_are_readable_by_their_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("porchlight-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("store.db");
        let store = SqliteStore::open(&path).expect("open");
        let tenant = crate::ports::Tenant {
            id: crate::domain::TenantId::random(),
            name: "Shop".into(),
            created_at: chrono::Utc::now(),
        };
        crate::ports::TenantStore::create_tenant(&store, &tenant).await.expect("created");
        for file in ["store.db", "store.db-wal", "store.db-shm"] {
            let mode = std::fs::metadata(dir.join(file)).expect(file).permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{file}");
        }
    }

    /// The hourly purge keeps 30 days of webhook history, and never what a pending delivery
    /// still needs.
    #[tokio::test]
    async fn webhook_history_past_its_age_goes_unless_a_delivery_is_pending() {
        use crate::domain::{ShipmentId, TenantId, WebhookEvent};
        use crate::ports::{AfterAttempt, Attempt, Delivery, WebhookEventRecord, WebhookStore};
        let store = SqliteStore::in_memory().expect("store");
        let tenant = TenantId::random();
        let now = chrono::Utc::now();
        let old = now - chrono::Duration::days(40);
        let event = |id: &str, at| WebhookEventRecord {
            tenant_id: tenant.clone(),
            event_id: id.to_owned(),
            event: WebhookEvent::TrackingUpdate,
            at,
            subject: ShipmentId::random().to_string(),
            body: b"{}".to_vec(),
        };
        let (done, waiting, recent) = (event("done", old), event("waiting", old), event("recent", now));
        for record in [&done, &waiting, &recent] {
            store.record_event(record).await.expect("kept");
        }
        let delivered = Delivery::new(&done, "wh_1", "", old);
        let pending = Delivery::new(&waiting, "wh_1", "", old);
        let fresh = Delivery::new(&recent, "wh_1", "", now);
        for delivery in [&delivered, &pending, &fresh] {
            store.plan_delivery(delivery).await.expect("planned");
        }
        let attempt = Attempt { at: old, status: Some(200), latency_ms: 5, error: None };
        store.record_attempt(&tenant, &delivered.id, &attempt, AfterAttempt::Delivered).await.expect("recorded");

        let purged = store.purge_webhook_history(now - chrono::Duration::days(30), 100).await.expect("purged");
        assert_eq!(purged, 2, "the delivered delivery and its event");
        assert!(store.event(&tenant, "done").await.expect("read").is_none());
        assert!(store.delivery(&tenant, &delivered.id).await.expect("read").is_none());
        assert!(store.event(&tenant, "waiting").await.expect("read").is_some(), "a pending delivery needs it");
        assert!(store.delivery(&tenant, &pending.id).await.expect("read").is_some());
        assert!(store.event(&tenant, "recent").await.expect("read").is_some());
        assert_eq!(store.purge_webhook_history(now - chrono::Duration::days(30), 100).await.expect("again"), 0);
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
