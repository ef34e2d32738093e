//! Online backup and restore of a store's file with SQLite's backup API.
//!
//! A backup copies every page in one step, inside one read transaction of the source: in WAL
//! mode the server's writers go on meanwhile, and the copy is the database as of one commit.
//! It is written beside the target under a temporary name, checked (`integrity_check`), made
//! private (0600) and renamed into place, so a target that exists is always a whole backup.
//! A restore checks the backup the same way, refuses one made by a newer schema, copies it
//! over the store's file and migrates it forward.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use super::{create_private, schema, unavailable};
use crate::ports::StoreError;

/// What a backup or restore copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopyReport {
    /// Database pages copied.
    pub pages: u64,
    /// The copy's size in bytes.
    pub bytes: u64,
    /// The schema version (migrations applied) of what was copied.
    pub schema_version: u32,
}

/// Why a backup or restore did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// The target is there already (a backup never overwrites; a restore only when forced).
    #[error("{0} exists already")]
    TargetExists(PathBuf),
    /// The source file is missing.
    #[error("{0} does not exist")]
    SourceMissing(PathBuf),
    /// The backup fails SQLite's integrity check, or is not a Porchlight store.
    #[error("{path} is not a sound Porchlight database: {why}")]
    Unsound {
        /// The file checked.
        path: PathBuf,
        /// What the check found.
        why: String,
    },
    /// The backup was made by a newer Porchlight (a schema this one does not know).
    #[error("{path} has schema version {found}; this porchlight knows up to {known}")]
    NewerSchema {
        /// The backup.
        path: PathBuf,
        /// Its version.
        found: u32,
        /// The newest this build knows.
        known: u32,
    },
    /// SQLite or the file system failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Copies the store at `source` into a new file `target`, while the store may be in use.
pub fn backup(source: &Path, target: &Path) -> Result<CopyReport, CopyError> {
    if !source.exists() {
        return Err(CopyError::SourceMissing(source.to_owned()));
    }
    if target.exists() {
        return Err(CopyError::TargetExists(target.to_owned()));
    }
    let from = Connection::open_with_flags(source, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(unavailable)?;
    from.execute_batch("PRAGMA busy_timeout = 5000;").map_err(unavailable)?;
    let partial = partial_name(target);
    let _ = std::fs::remove_file(&partial);
    create_private(&partial)?;
    let copied = (|| {
        let mut to = Connection::open(&partial).map_err(unavailable)?;
        let pages = copy_all(&from, &mut to)?;
        // One file, no journal beside it: a backup is read as it is.
        to.execute_batch("PRAGMA journal_mode = DELETE;").map_err(unavailable)?;
        let schema_version = check(&to, target)?;
        Ok::<_, CopyError>((pages, schema_version))
    })();
    let (pages, schema_version) = match copied {
        Ok(copied) => copied,
        Err(error) => {
            let _ = std::fs::remove_file(&partial);
            return Err(error);
        }
    };
    std::fs::rename(&partial, target).map_err(unavailable)?;
    let bytes = std::fs::metadata(target).map_err(unavailable)?.len();
    tracing::info!(pages, bytes, schema_version, "database backed up");
    Ok(CopyReport { pages, bytes, schema_version })
}

/// Puts the backup `source` in place of the store at `target` and migrates it to this
/// build's schema. `target` must not exist unless `force`: a restore replaces everything.
/// The server must not be running on `target`.
pub fn restore(source: &Path, target: &Path, force: bool) -> Result<CopyReport, CopyError> {
    if !source.exists() {
        return Err(CopyError::SourceMissing(source.to_owned()));
    }
    if target.exists() && !force {
        return Err(CopyError::TargetExists(target.to_owned()));
    }
    let from = Connection::open_with_flags(source, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(unavailable)?;
    let schema_version = check(&from, source)?;
    let known = schema::latest_version();
    if schema_version > known {
        return Err(CopyError::NewerSchema { path: source.to_owned(), found: schema_version, known });
    }
    create_private(target)?;
    let mut to = Connection::open(target).map_err(unavailable)?;
    to.execute_batch("PRAGMA busy_timeout = 5000;").map_err(unavailable)?;
    let pages = copy_all(&from, &mut to)?;
    to.execute_batch("PRAGMA journal_mode = WAL;").map_err(unavailable)?;
    schema::migrate(&to)?;
    drop(to);
    let bytes = std::fs::metadata(target).map_err(unavailable)?.len();
    tracing::info!(pages, bytes, schema_version, "database restored");
    Ok(CopyReport { pages, bytes, schema_version })
}

/// Copies every page of `from` over `to` in one step (one read transaction of `from`).
fn copy_all(from: &Connection, to: &mut Connection) -> Result<u64, StoreError> {
    let copy = rusqlite::backup::Backup::new(from, to).map_err(unavailable)?;
    copy.step(-1).map_err(unavailable)?;
    let progress = copy.progress();
    Ok(u64::try_from(progress.pagecount).unwrap_or(0))
}

/// The schema version of the database on `connection` (named `path` in errors), once it
/// passes SQLite's integrity check and has the store's tables.
fn check(connection: &Connection, path: &Path) -> Result<u32, CopyError> {
    let unsound = |why: String| CopyError::Unsound { path: path.to_owned(), why };
    let verdict: String =
        connection.query_row("PRAGMA integrity_check", [], |row| row.get(0)).map_err(|e| unsound(e.to_string()))?;
    if verdict != "ok" {
        return Err(unsound(verdict));
    }
    let has_store: bool = connection
        .query_row("SELECT count(*) > 0 FROM sqlite_schema WHERE type = 'table' AND name = 'shipments'", [], |row| {
            row.get(0)
        })
        .map_err(|e| unsound(e.to_string()))?;
    if !has_store {
        return Err(unsound("it has no shipments table".into()));
    }
    let version: i64 =
        connection.query_row("PRAGMA user_version", [], |row| row.get(0)).map_err(|e| unsound(e.to_string()))?;
    u32::try_from(version).map_err(|_| unsound(format!("schema version {version}")))
}

/// `target` with `.partial` added to its name.
fn partial_name(target: &Path) -> PathBuf {
    let mut name = target.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".partial");
    target.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::sqlite::SqliteStore;
    use crate::ports::{ShipmentStore, Tenant, TenantStore};

    fn dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("porchlight-backup-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("dir");
        dir
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_backup_taken_while_writing_restores_to_one_consistent_moment() {
        let dir = dir();
        let live = dir.join("live.db");
        let store = SqliteStore::open(&live).expect("store");
        let tenant =
            Tenant { id: crate::domain::TenantId::random(), name: "Shop".into(), created_at: chrono::Utc::now() };
        store.create_tenant(&tenant).await.expect("tenant");
        let writing = {
            let (store, tenant) = (store.clone(), tenant.id.clone());
            tokio::spawn(async move {
                for i in 0..300 {
                    let shipment = crate::domain::Shipment::new(
                        tenant.clone(),
                        crate::domain::Slug::parse("ups").expect("slug"),
                        crate::domain::TrackingNumber::parse(&format!("BK{i:08}")).expect("number"),
                        crate::domain::ShipmentDetails::default(),
                        chrono::Utc::now(),
                    );
                    store.insert(&shipment).await.expect("inserted");
                }
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let copy = dir.join("copy.db");
        let report = tokio::task::spawn_blocking({
            let (live, copy) = (live.clone(), copy.clone());
            move || backup(&live, &copy)
        })
        .await
        .expect("joined")
        .expect("backed up");
        writing.await.expect("written");
        assert_eq!(report.schema_version, schema::latest_version());
        assert!(report.pages > 0 && report.bytes > 0);
        assert!(matches!(backup(&live, &copy), Err(CopyError::TargetExists(_))), "never overwritten");

        let restored = dir.join("restored.db");
        restore(&copy, &restored, false).expect("restored");
        let back = SqliteStore::open(&restored).expect("opens");
        let query = crate::ports::ListQuery { limit: 1, ..Default::default() };
        let in_copy = back.list(&tenant.id, &query).await.expect("listed").total;
        let now = store.list(&tenant.id, &query).await.expect("listed").total;
        assert!(in_copy <= now && now == 300, "the copy is a moment of the store ({in_copy} of {now})");
        assert!(back.get_tenant(&tenant.id).await.expect("read").is_some());
        assert!(matches!(restore(&copy, &restored, false), Err(CopyError::TargetExists(_))));

        std::fs::write(dir.join("junk.db"), b"not a database at all, just some bytes").expect("written");
        let junk = restore(&dir.join("junk.db"), &dir.join("other.db"), false);
        assert!(matches!(junk, Err(CopyError::Unsound { .. })), "{junk:?}");
        assert!(!dir.join("other.db").exists(), "nothing made of a bad backup");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_backup_from_a_newer_schema_is_refused() {
        let dir = dir();
        let newer = dir.join("newer.db");
        {
            let connection = Connection::open(&newer).expect("open");
            schema::migrate(&connection).expect("migrated");
            connection.execute_batch(&format!("PRAGMA user_version = {};", schema::latest_version() + 1)).expect("set");
        }
        let refused = restore(&newer, &dir.join("target.db"), false);
        assert!(matches!(refused, Err(CopyError::NewerSchema { .. })), "{refused:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
