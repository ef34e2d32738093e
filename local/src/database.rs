//! The database file and what sits beside it: the key sealing carrier credentials
//! (`<db>.key`, mode 0600) and the lock a running server holds (`<db>.lock`).

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use porchlight::adapters::sqlite::SqliteStore;
use porchlight::app::SecretBox;

/// Whether a command may create the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Open {
    /// Create it (and its folder) when missing: commands that make things.
    OrCreate,
    /// Refuse when missing: commands that look things up, so that running one in the wrong
    /// folder says so instead of leaving an empty database there.
    Existing,
}

/// Opens the store at `path`.
pub fn open(path: &Path, mode: Open) -> anyhow::Result<SqliteStore> {
    if mode == Open::Existing && !path.exists() {
        bail!(
            "no database at {} (pass --db or set PORCHLIGHT_DB; `porchlight serve` or `porchlight tenants create` makes one)",
            path.display()
        );
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("creating folder {}", parent.display()))?;
    }
    SqliteStore::open(path).with_context(|| format!("opening database {}", path.display()))
}

/// `path` with `suffix` appended to its file name.
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Takes the server's lock on the database; it is held while the returned file stays open
/// (the operating system releases it when the process ends, however it ends). Refuses when
/// another server holds it.
pub fn lock_for_serving(db: &Path) -> anyhow::Result<File> {
    let path = beside(db, ".lock");
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("creating folder {}", parent.display()))?;
    }
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening the lock file {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => {
            bail!(
                "database {} is in use by another `porchlight serve`; stop it first or pass another --db",
                db.display()
            )
        }
        Err(std::fs::TryLockError::Error(error)) => Err(error).with_context(|| format!("locking {}", path.display())),
    }
}

/// Where the sealing key of the database at `db` is kept when none is given.
pub fn key_path(db: &Path) -> PathBuf {
    beside(db, ".key")
}

/// The key sealing stored credentials: `given` (`--secret-key`), or the ones kept beside the
/// database (the current key first, then previous ones), made on first use and read again
/// whenever `porchlight secrets rotate` rewrites them.
pub fn secret_box(db: &Path, given: Option<SecretBox>) -> anyhow::Result<SecretBox> {
    if let Some(given) = given {
        return Ok(given);
    }
    let path = key_path(db);
    if !path.exists() {
        let hex = SecretBox::generate_hex();
        write_private(&path, &format!("{hex}\n"))
            .with_context(|| format!("writing the secret key to {}", path.display()))?;
        tracing::info!(path = %path.display(), "secret key created");
    }
    SecretBox::watching(&path).with_context(|| format!("the secret key in {}", path.display()))
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents.as_bytes())
}
