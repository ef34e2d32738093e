//! `porchlight export`: a merchant's trackings written out as the history CSV's columns, so
//! that the file imports back as it was (`porchlight import trackings`).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use porchlight::app::Deps;
use porchlight::app::exports::write_trackings_csv;

use super::print_json;
use super::tenants::tenant_id;

#[derive(Subcommand)]
pub enum ExportCommand {
    /// Write every tracking of a tenant as CSV (the columns of docs/imports.md), newest first.
    Trackings {
        /// The tenant whose trackings to write.
        #[arg(long)]
        tenant: String,
        /// The file to write (standard output when absent; then nothing else is printed).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

pub async fn run(deps: &Deps, command: ExportCommand) -> anyhow::Result<()> {
    let ExportCommand::Trackings { tenant, out } = command;
    let tenant = tenant_id(&tenant)?;
    if deps.tenants.get_tenant(&tenant).await?.is_none() {
        anyhow::bail!("no tenant {tenant} (see `porchlight tenants list`)");
    }
    let sink: Box<dyn Write> = match &out {
        Some(path) => Box::new(std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut writer = csv::Writer::from_writer(std::io::BufWriter::new(sink));
    let (exported, _) = write_trackings_csv(deps, &tenant, &Default::default(), None, usize::MAX, &mut writer)
        .await
        .context("writing the trackings")?;
    writer.flush().context("writing the file")?;
    if let Some(path) = out {
        print_json(&serde_json::json!({ "exported": exported, "file": path }))?;
    }
    Ok(())
}
