//! `porchlight secrets rotate` and `reseal`: a new sealing key, and every stored credential
//! sealed again under it, while `serve` runs.
//!
//! With the key kept beside the database (`<db>.key`), `rotate` writes a new key first in the
//! file and keeps the old one after it (it still opens what it sealed, and links already sent),
//! then seals everything again. A running `serve` reads the file again at its next seal or
//! open, so nothing stops. With the key given by `--secret-key`, the operator sets the new key
//! there and the old one in `--previous-secret-keys`, restarts, then runs `reseal`.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use clap::Subcommand;
use porchlight::app::{Deps, SecretBox, rotation};

use super::print_json;
use crate::database;

/// Keys a rotated key file keeps after the current one: the last ones replaced.
const KEPT_PREVIOUS_KEYS: usize = 2;

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Make a new sealing key (the old one kept to open what it sealed) and seal every stored
    /// credential again under it; safe while serve runs.
    Rotate,
    /// Seal every stored credential again under the current key (after changing
    /// --secret-key, with the old key in --previous-secret-keys).
    Reseal,
}

/// Writes the rotated key file of `db`: a new key, then the old current one and the one
/// before it. Refuses when the key is given on the command line or in the environment.
pub fn rotate_key_file(db: &Path, key_given: bool) -> anyhow::Result<()> {
    if key_given {
        bail!(
            "the key is given by --secret-key (PORCHLIGHT_SECRET_KEY): set the new key there, the old one in \
             --previous-secret-keys (PORCHLIGHT_PREVIOUS_SECRET_KEYS), restart serve, then run `porchlight secrets reseal`"
        );
    }
    let path = database::key_path(db);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading the secret key from {}", path.display()))?;
    SecretBox::from_key_file(&text).with_context(|| format!("the secret key in {}", path.display()))?;
    let kept: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .take(KEPT_PREVIOUS_KEYS + 1)
        .collect();
    let mut rotated = format!("{}\n", SecretBox::generate_hex());
    for key in kept.iter().take(KEPT_PREVIOUS_KEYS) {
        rotated.push_str(key);
        rotated.push('\n');
    }
    // Written beside and renamed over: a reader sees the old file or the new one, never half.
    let partial = path.with_extension("key.partial");
    let _ = std::fs::remove_file(&partial);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&partial).with_context(|| format!("writing {}", partial.display()))?;
    file.write_all(rotated.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&partial, &path).with_context(|| format!("replacing {}", path.display()))?;
    eprintln!("new sealing key written to {} (the old one kept after it)", path.display());
    Ok(())
}

/// Seals everything again under `deps`' current key and prints the counts.
pub async fn reseal(deps: &Deps) -> anyhow::Result<()> {
    let tally = rotation::reseal_all(deps).await.context("sealing the stored credentials again")?;
    print_json(&serde_json::json!({ "reseal": tally }))?;
    if tally.unreadable > 0 {
        eprintln!("{} stored secrets open with none of the keys and were left as they are", tally.unreadable);
    }
    Ok(())
}
