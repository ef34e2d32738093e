//! `porchlight tracking-page`: a merchant's tracking page settings, as
//! `/porchlight/v1/tracking-page` reads and changes them.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Subcommand;
use porchlight::app::pages::{self, PageUpdate};
use porchlight::app::{AppError, Deps};

use super::tenants::tenant_id;

#[derive(Subcommand)]
pub enum TrackingPageCommand {
    /// Print a tenant's tracking page settings as JSON, with the page's address.
    Show {
        /// The tenant's id.
        tenant_id: String,
    },
    /// Change a tenant's tracking page settings: a JSON object of the fields to change, as
    /// `PUT /porchlight/v1/tracking-page` takes it (absent fields keep their value, null clears).
    Set {
        /// The tenant's id.
        tenant_id: String,
        /// The JSON file, or `-` for standard input.
        file: PathBuf,
    },
}

fn print(deps: &Deps, page: &porchlight::domain::TrackingPage) -> anyhow::Result<()> {
    let mut value = serde_json::to_value(page)?;
    let url = deps.public_url.as_deref().map(|base| format!("{base}/t/{}", page.slug));
    value["url"] = url.map_or(serde_json::Value::Null, serde_json::Value::String);
    println!("{}", serde_json::to_string_pretty(&value)?);
    Ok(())
}

pub async fn run(deps: &Deps, command: TrackingPageCommand) -> anyhow::Result<()> {
    match command {
        TrackingPageCommand::Show { tenant_id: raw } => {
            let tenant = tenant_id(&raw)?;
            match pages::page_settings(deps, &tenant).await {
                Ok(page) => print(deps, &page),
                Err(AppError::NotFound) => bail!("no tenant {tenant}"),
                Err(other) => Err(other).context("reading the settings"),
            }
        }
        TrackingPageCommand::Set { tenant_id: raw, file } => {
            let tenant = tenant_id(&raw)?;
            let update: PageUpdate = super::read_json(&file)?;
            match pages::update_page_settings(deps, &tenant, update).await {
                Ok(page) => print(deps, &page),
                Err(AppError::NotFound) => bail!("no tenant {tenant}"),
                Err(AppError::Invalid(invalid)) => bail!("{invalid}"),
                Err(other) => Err(other).context("changing the settings"),
            }
        }
    }
}
