//! `porchlight backup PATH` and `porchlight restore PATH`: the database copied while serving,
//! and put back (with the server stopped), migrated forward.

use std::path::Path;

use anyhow::Context;
use porchlight::adapters::sqlite::backup::{self, CopyReport};

use crate::database;

/// Copies the database at `db` into the new file `path`; serve may be running.
pub fn backup(db: &Path, path: &Path) -> anyhow::Result<()> {
    let report =
        backup::backup(db, path).with_context(|| format!("backing up {} to {}", db.display(), path.display()))?;
    print(&report, &format!("backed up {} to {}", db.display(), path.display()));
    println!(
        "keep the sealing key with it, apart: {} or PORCHLIGHT_SECRET_KEY opens the credentials it holds",
        database::key_path(db).display()
    );
    Ok(())
}

/// Puts the backup `path` in place of the database at `db` (which must not exist unless
/// `force`), migrated to this version's schema; refused while serve runs on `db`.
pub fn restore(db: &Path, path: &Path, force: bool) -> anyhow::Result<()> {
    let _lock = database::lock_for_serving(db)?;
    let report = backup::restore(path, db, force)
        .with_context(|| format!("restoring {} from {}", db.display(), path.display()))?;
    print(&report, &format!("restored {} from {}", db.display(), path.display()));
    Ok(())
}

fn print(report: &CopyReport, what: &str) {
    println!("{what}: {} pages, {} bytes, schema version {}", report.pages, report.bytes, report.schema_version);
}
