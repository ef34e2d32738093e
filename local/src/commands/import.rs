//! `porchlight import`: a merchant's history brought in from a file, with a progress bar.

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use porchlight::api::wire::history::{HistoryFormat, HistoryReader};
use porchlight::app::Deps;
use porchlight::app::imports::{ImportTally, import_all};

use super::print_json;
use super::tenants::tenant_id;

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    /// One tracking per line, as AfterShip's `GET /trackings` answers them.
    Ndjson,
    /// A CSV of tracking numbers with order fields (see docs/imports.md).
    Csv,
}

#[derive(Subcommand)]
pub enum ImportCommand {
    /// Import trackings with their checkpoints (history: nobody is notified). Prints what was
    /// done as JSON, with every failed line's number, field and reason.
    Trackings {
        /// The file: `.ndjson`/`.jsonl` or `.csv`.
        file: PathBuf,
        /// The tenant the trackings belong to.
        #[arg(long)]
        tenant: String,
        /// The file's format, when its name does not say.
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// Import a CSV of orders and their tracking numbers (a row per tracking number or order
    /// line: Shopify's order export, AfterShip's tracking export, or the documented columns).
    /// Trackings are made as history (nobody is notified of the past); item columns make the
    /// orders' lines. Prints what was done as JSON, with every failed row's number, column and
    /// reason.
    Orders {
        /// The CSV file.
        file: PathBuf,
        /// The tenant the orders belong to.
        #[arg(long)]
        tenant: String,
    },
}

pub async fn run(deps: &Deps, command: ImportCommand) -> anyhow::Result<()> {
    let (file, tenant, format) = match command {
        ImportCommand::Trackings { file, tenant, format } => (file, tenant, format),
        ImportCommand::Orders { file, tenant } => (file, tenant, Some(Format::Csv)),
    };
    let tenant = tenant_id(&tenant)?;
    if deps.tenants.get_tenant(&tenant).await?.is_none() {
        anyhow::bail!("no tenant {tenant} (see `porchlight tenants list`)");
    }
    let format = match format {
        Some(Format::Ndjson) => HistoryFormat::JsonLines,
        Some(Format::Csv) => HistoryFormat::Csv,
        None => file
            .to_str()
            .and_then(HistoryFormat::from_file_name)
            .with_context(|| format!("{}: name the format with --format (ndjson or csv)", file.display()))?,
    };
    let input = std::fs::File::open(&file).with_context(|| format!("opening {}", file.display()))?;
    let size = input.metadata().map(|m| m.len()).unwrap_or(0);
    let reader = HistoryReader::new(format, input);
    let bytes = reader.bytes_read();
    let bar = ProgressBar::new(size).with_style(
        ProgressStyle::with_template("{bar:40} {binary_bytes}/{binary_total_bytes} {per_sec:.dim} {msg}")
            .context("the progress bar's template")?,
    );
    let mut tally = ImportTally::default();
    let result = import_all(deps, &tenant, reader, &mut tally, |tally| {
        bar.set_position(bytes.load(Ordering::Relaxed));
        bar.set_message(format!("{} imported, {} failed, {} orders", tally.imported, tally.failed, tally.orders));
    })
    .await;
    bar.finish();
    print_json(&tally)?;
    result.with_context(|| format!("importing {} stopped after {} lines", file.display(), tally.lines))?;
    if tally.failed > 0 {
        eprintln!("{} of {} lines were not imported: see `errors` above", tally.failed, tally.lines);
    }
    Ok(())
}
