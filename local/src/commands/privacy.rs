//! `porchlight privacy`: one shopper's data, exported or erased (the CLI of
//! `POST /porchlight/v1/privacy/exports` and `/erasures`), and the personal-data retention
//! run by hand.

use anyhow::Context;
use clap::{Args, Subcommand};
use porchlight::app::Deps;
use porchlight::app::privacy::{self, Shopper};

use super::print_json;
use super::tenants::tenant_id;

/// The merchant and the shopper a command is about.
#[derive(Debug, Args)]
pub struct ShopperArgs {
    /// The merchant whose data to search.
    #[arg(long)]
    tenant: String,
    /// The shopper's email address (any case).
    #[arg(long, conflicts_with = "phone", required_unless_present = "phone")]
    email: Option<String>,
    /// The shopper's phone number (E.164; spaces and dashes ignored).
    #[arg(long)]
    phone: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum PrivacyCommand {
    /// Print, as JSON, everything the merchant keeps about the shopper.
    Export(ShopperArgs),
    /// Erase the shopper's personal data from the merchant's trackings, orders, returns,
    /// messages and webhook events; prints what changed.
    Erase(ShopperArgs),
    /// Strip the shoppers' personal fields from every merchant's finished trackings unchanged
    /// for this many days (what serve does hourly with --personal-data-days).
    Expire {
        /// Days since a finished tracking's last change.
        #[arg(long)]
        days: u32,
    },
}

pub async fn run(deps: &Deps, command: PrivacyCommand) -> anyhow::Result<()> {
    match command {
        PrivacyCommand::Export(args) => {
            let (tenant, who) = read(deps, &args).await?;
            let data = privacy::export(deps, &tenant, &who).await.context("reading the shopper's data")?;
            print_json(&data.to_json(deps.public_url.as_deref()))
        }
        PrivacyCommand::Erase(args) => {
            let (tenant, who) = read(deps, &args).await?;
            let erased = privacy::erase(deps, &tenant, &who).await.context("erasing the shopper's data")?;
            print_json(&serde_json::json!({ "erased": erased }))
        }
        PrivacyCommand::Expire { days } => {
            let cutoff = deps.clock.now() - chrono::Duration::days(i64::from(days));
            let erased =
                privacy::expire_personal_data_everywhere(deps, cutoff).await.context("expiring personal data")?;
            print_json(&serde_json::json!({ "expired": erased }))
        }
    }
}

async fn read(deps: &Deps, args: &ShopperArgs) -> anyhow::Result<(porchlight::domain::TenantId, Shopper)> {
    let tenant = tenant_id(&args.tenant)?;
    if deps.tenants.get_tenant(&tenant).await?.is_none() {
        anyhow::bail!("no tenant {tenant} (see `porchlight tenants list`)");
    }
    let who = Shopper::parse(args.email.as_deref(), args.phone.as_deref())?;
    Ok((tenant, who))
}
