//! `porchlight orders`: a merchant's orders, as `/porchlight/v1/orders` takes and shows them,
//! and a JSON-lines import (one order per line) for what a store exports.

use std::io::BufRead;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Subcommand;
use porchlight::app::orders::{self, OrderWrite};
use porchlight::app::{AppError, Deps};

use super::print_json as print;
use super::tenants::tenant_id;

#[derive(Subcommand)]
pub enum OrdersCommand {
    /// Store the orders of a JSON-lines file (or `-` for standard input), one order per line as
    /// `POST /porchlight/v1/orders` takes it: each is stored or replaced by its `external_id`;
    /// a line that is refused is named on standard error and the others are still stored.
    Import {
        /// The tenant's id.
        tenant_id: String,
        /// The JSON-lines file, or `-`.
        file: PathBuf,
    },
    /// Print one order as JSON.
    Get {
        /// The tenant's id.
        tenant_id: String,
        /// The order's id (`ord_...`).
        order_id: String,
    },
    /// Print a page of the tenant's orders as JSON, in id order.
    List {
        /// The tenant's id.
        tenant_id: String,
        /// Start after this order id.
        #[arg(long)]
        after: Option<String>,
        /// How many (1 to 200).
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
}

/// What an import did.
#[derive(Debug, Default, serde::Serialize)]
struct ImportReport {
    created: usize,
    updated: usize,
    refused: usize,
}

pub async fn run(deps: &Deps, command: OrdersCommand) -> anyhow::Result<()> {
    match command {
        OrdersCommand::Import { tenant_id: raw, file } => {
            let tenant = tenant_id(&raw)?;
            if deps.tenants.get_tenant(&tenant).await.context("reading the tenant")?.is_none() {
                bail!("no tenant {tenant}");
            }
            let reader: Box<dyn BufRead> = if file.as_os_str() == "-" {
                Box::new(std::io::stdin().lock())
            } else {
                let opened = std::fs::File::open(&file).with_context(|| format!("reading {}", file.display()))?;
                Box::new(std::io::BufReader::new(opened))
            };
            let mut report = ImportReport::default();
            for (index, line) in reader.lines().enumerate() {
                let line = line.with_context(|| format!("reading {}", file.display()))?;
                if line.trim().is_empty() {
                    continue;
                }
                let number = index + 1;
                let mut json = serde_json::Deserializer::from_str(&line);
                let outcome = match serde_path_to_error::deserialize::<_, OrderWrite>(&mut json) {
                    Err(error) => {
                        let path = error.path().to_string();
                        Err(format!("{path}: {}", error.into_inner()))
                    }
                    Ok(write) => orders::upsert_order(deps, &tenant, write).await.map_err(|error| match error {
                        AppError::Invalid(invalid) => invalid.to_string(),
                        other => other.to_string(),
                    }),
                };
                match outcome {
                    Ok((_, true)) => report.created += 1,
                    Ok((_, false)) => report.updated += 1,
                    Err(reason) => {
                        report.refused += 1;
                        eprintln!("{}: line {number}: {reason}", file.display());
                    }
                }
            }
            print(&report)?;
            if report.refused > 0 {
                bail!("{} of the lines were refused (the others are stored)", report.refused);
            }
            Ok(())
        }
        OrdersCommand::Get { tenant_id: raw, order_id } => {
            let tenant = tenant_id(&raw)?;
            match orders::get_order(deps, &tenant, &order_id).await {
                Ok(order) => print(&order),
                Err(AppError::Missing(_)) => bail!("no order {order_id}"),
                Err(other) => Err(anyhow::Error::new(other).context("reading the order")),
            }
        }
        OrdersCommand::List { tenant_id: raw, after, limit } => {
            let tenant = tenant_id(&raw)?;
            if !(1..=orders::MAX_PAGE).contains(&limit) {
                bail!("--limit must be from 1 to {}", orders::MAX_PAGE);
            }
            let (found, _) =
                orders::list_orders(deps, &tenant, after.as_deref(), limit).await.context("reading the orders")?;
            print(&found)
        }
    }
}
