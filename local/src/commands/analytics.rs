//! `porchlight analytics`: a merchant's numbers, as `/porchlight/v1/analytics/...` answers
//! them, and the recount of the rollups from the stored shipments.

use std::io::Write;

use anyhow::Context;
use clap::{Args, Subcommand};
use porchlight::adapters::sqlite::SqliteStore;
use porchlight::app::Deps;
use porchlight::app::analytics::{self, DayRange, LaneFilter};

use super::print_json;
use super::tenants::tenant_id;

#[derive(Args)]
pub struct Range {
    /// The tenant's id.
    tenant_id: String,
    /// First day (YYYY-MM-DD, UTC); 29 days before --to by default.
    #[arg(long)]
    from: Option<String>,
    /// Last day (YYYY-MM-DD, UTC), included; today by default.
    #[arg(long)]
    to: Option<String>,
    /// Print CSV instead of JSON.
    #[arg(long)]
    csv: bool,
}

#[derive(Subcommand)]
pub enum AnalyticsCommand {
    /// Shipments, delivered, exception and on-time rates, transit times.
    Overview(Range),
    /// A scorecard per lane (courier, origin, destination).
    Carriers(Range),
    /// Exceptions by kind and courier.
    Exceptions(Range),
    /// Recount every merchant's rollups from the stored shipments (the change feed's counting
    /// goes on from there).
    Rebuild,
}

/// Which numbers to print.
enum Table {
    Overview,
    Carriers,
    Exceptions,
}

fn out(bytes: &[u8]) -> anyhow::Result<()> {
    std::io::stdout().write_all(bytes).context("writing to standard output")
}

pub async fn run(deps: &Deps, store: &SqliteStore, command: AnalyticsCommand) -> anyhow::Result<()> {
    let (range, command) = match command {
        AnalyticsCommand::Rebuild => {
            let counted = store.rebuild_rollups(analytics::FEED_CONSUMER).await.context("recounting the rollups")?;
            println!("counted {counted} shipments");
            return Ok(());
        }
        AnalyticsCommand::Overview(range) => (range, Table::Overview),
        AnalyticsCommand::Carriers(range) => (range, Table::Carriers),
        AnalyticsCommand::Exceptions(range) => (range, Table::Exceptions),
    };
    let tenant = tenant_id(&range.tenant_id)?;
    let days = DayRange::parse(range.from.as_deref(), range.to.as_deref(), deps.clock.now().date_naive())?;
    let all = LaneFilter::default();
    match command {
        Table::Overview => {
            let overview = analytics::overview(deps, &tenant, days, &all).await?;
            if range.csv { out(&analytics::overview_csv(&overview)?) } else { print_json(&overview) }
        }
        Table::Carriers => {
            let card = analytics::carrier_scorecard(deps, &tenant, days, &all, false).await?;
            if range.csv { out(&analytics::carriers_csv(&card)?) } else { print_json(&card) }
        }
        Table::Exceptions => {
            let breakdown = analytics::exceptions_breakdown(deps, &tenant, days, &all).await?;
            if range.csv { out(&analytics::exceptions_csv(&breakdown)?) } else { print_json(&breakdown) }
        }
    }
}
