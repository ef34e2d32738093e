//! `porchlight returns`: the team's numbers on a merchant's returns, as
//! `GET /porchlight/v1/returns/report` answers them.

use clap::{Subcommand, ValueEnum};
use porchlight::app::Deps;
use porchlight::app::returns::{self, ReportTable};

use super::print_json as print;
use super::tenants::tenant_id;

#[derive(Clone, Copy, ValueEnum)]
pub enum Table {
    /// Reasons and sub-reasons by product, SKU and month.
    Reasons,
    /// Each product's return rate.
    Products,
    /// The whole report as JSON (with refund totals and resolution times).
    Json,
}

#[derive(Subcommand)]
pub enum ReturnsCommand {
    /// Print the report of returns created in a period: a table as CSV, or all as JSON.
    Report {
        /// The tenant's id.
        tenant_id: String,
        /// First day (YYYY-MM-DD, UTC); 29 days before --to by default.
        #[arg(long)]
        from: Option<String>,
        /// Last day (YYYY-MM-DD, UTC), included; today by default.
        #[arg(long)]
        to: Option<String>,
        /// What to print.
        #[arg(long, value_enum, default_value = "reasons")]
        table: Table,
    },
}

pub async fn run(deps: &Deps, command: ReturnsCommand) -> anyhow::Result<()> {
    match command {
        ReturnsCommand::Report { tenant_id: raw, from, to, table } => {
            let tenant = tenant_id(&raw)?;
            let today = deps.clock.now().date_naive();
            let (from, to) = returns::period(from.as_deref(), to.as_deref(), today)?;
            let report = returns::returns_report(deps, &tenant, from, to).await?;
            let table = match table {
                Table::Json => return print(&report),
                Table::Reasons => ReportTable::Reasons,
                Table::Products => ReportTable::Products,
            };
            use std::io::Write;
            std::io::stdout().write_all(&returns::report_csv(&report, table)?)?;
            Ok(())
        }
    }
}
