//! `porchlight edd`: how accurate a merchant's estimated delivery dates are, measured on its
//! own history (train on the earlier part, test on the later part).

use anyhow::{Context, bail};
use chrono::Days;
use clap::Subcommand;
use porchlight::app::Deps;
use porchlight::app::analytics::DayRange;
use porchlight::app::edd;

use super::print_json;
use super::tenants::tenant_id;

#[derive(Subcommand)]
pub enum EddCommand {
    /// Train on shipments created before --split, test on those created from it, and print
    /// the accuracy overall, per confidence code and per lane (JSON). Reads the rollups as
    /// `serve` keeps them (`porchlight analytics rebuild` recounts them).
    Evaluate {
        /// The tenant's id.
        tenant_id: String,
        /// First day of history (YYYY-MM-DD, UTC); 364 days before --to by default.
        #[arg(long)]
        from: Option<String>,
        /// Last day, included; today by default.
        #[arg(long)]
        to: Option<String>,
        /// First day of the test part; three quarters of the way from --from to --to by
        /// default.
        #[arg(long)]
        split: Option<String>,
    },
}

pub async fn run(deps: &Deps, command: EddCommand) -> anyhow::Result<()> {
    let EddCommand::Evaluate { tenant_id: tenant, from, to, split } = command;
    let tenant = tenant_id(&tenant)?;
    let today = deps.clock.now().date_naive();
    let to_day = to.as_deref().map(|raw| DayRange::parse(Some(raw), Some(raw), today)).transpose()?.map(|r| r.to);
    let default_from = (to_day.unwrap_or(today) - Days::new(364)).to_string();
    let whole = DayRange::parse(Some(from.as_deref().unwrap_or(&default_from)), to.as_deref(), today)?;
    let split = match split {
        Some(raw) => DayRange::parse(Some(&raw), Some(&raw), today).context("--split")?.from,
        None => whole.from + Days::new(((whole.to - whole.from).num_days() as u64 * 3) / 4),
    };
    if split <= whole.from || split > whole.to {
        bail!("--split must fall after --from and on or before --to");
    }
    let train = DayRange { from: whole.from, to: split - Days::new(1) };
    let test = DayRange { from: split, to: whole.to };
    let evaluation = edd::evaluate(deps, &tenant, train, test).await?;
    if evaluation.overall.deliveries == 0 {
        bail!("no deliveries to test from {} to {}: is the history imported and counted?", test.from, test.to);
    }
    print_json(&evaluation)
}
