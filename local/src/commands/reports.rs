//! `porchlight reports`: a merchant's report over a range of days, written where `serve`
//! serves it from (and, if asked, into a folder).

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use porchlight::app::Deps;
use porchlight::app::analytics::DayRange;
use porchlight::app::reports;

use super::print_json;
use super::tenants::tenant_id;

#[derive(Subcommand)]
pub enum ReportsCommand {
    /// Build a report (HTML with charts, and CSVs) over a range of days; last week (Monday to
    /// Sunday) by default.
    Run {
        /// The tenant's id.
        tenant_id: String,
        /// First day (YYYY-MM-DD, UTC).
        #[arg(long, requires = "to")]
        from: Option<String>,
        /// Last day, included.
        #[arg(long, requires = "from")]
        to: Option<String>,
        /// Also write the files into this folder.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

pub async fn run(deps: &Deps, command: ReportsCommand) -> anyhow::Result<()> {
    let ReportsCommand::Run { tenant_id: tenant, from, to, out } = command;
    let tenant = tenant_id(&tenant)?;
    let today = deps.clock.now().date_naive();
    let range = match (from, to) {
        (Some(from), Some(to)) => DayRange::parse(Some(&from), Some(&to), today)?,
        _ => reports::last_week(today),
    };
    let report = reports::run_report(deps, &tenant, range).await?;
    if let Some(dir) = &out {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        for (name, bytes) in &report.files {
            let path = dir.join(name);
            std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        }
    }
    let link = reports::link_path(deps, &tenant, &report.id);
    let public = deps.public_url.as_deref().map_or(link.clone(), |base| format!("{base}{link}"));
    print_json(&serde_json::json!({
        "id": report.id,
        "from": range.from.to_string(),
        "to": range.to.to_string(),
        "files": report.files.iter().map(|(name, _)| name).collect::<Vec<_>>(),
        "link": public,
        "out": out,
    }))
}
