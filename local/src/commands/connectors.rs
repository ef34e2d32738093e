//! `porchlight connectors`: a merchant's storefront connectors, and backfills run here with a
//! progress bar (connect stores through `POST /porchlight/v1/connectors`, which keeps their
//! secrets off command lines).

use anyhow::Context;
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use porchlight::app::Deps;
use porchlight::app::connectors::{self, StepOutcome};
use porchlight::ports::BackfillState;

use super::print_json;
use super::tenants::tenant_id;

/// How often a page that failed for now is asked again before the command gives up.
const MAX_RETRIES: u32 = 3;

#[derive(Subcommand)]
pub enum ConnectorsCommand {
    /// List a tenant's connectors (secrets masked), as JSON lines.
    List {
        /// The tenant.
        #[arg(long)]
        tenant: String,
    },
    /// Read a store's orders of the last days through its API, here and now, with a progress
    /// bar; prints the backfill's outcome as JSON.
    Backfill {
        /// The connector's id (`con_...`).
        connector: String,
        /// The tenant it belongs to.
        #[arg(long)]
        tenant: String,
        /// How many days back (1 to 365).
        #[arg(long, default_value_t = 30)]
        days: i64,
    },
}

pub async fn run(deps: &Deps, command: ConnectorsCommand) -> anyhow::Result<()> {
    match command {
        ConnectorsCommand::List { tenant } => {
            let tenant = tenant_id(&tenant)?;
            for connector in connectors::list_connectors(deps, &tenant).await? {
                let line = serde_json::json!({
                    "id": connector.id,
                    "platform": connector.record.platform.as_str(),
                    "shop": connector.record.shop,
                    "webhook_path": connector.webhook_path(),
                    "secrets": connector.masked_secrets(),
                    "last_webhook_at": connector.record.last_webhook_at,
                    "backfill": connector.record.backfill,
                });
                println!("{line}");
            }
            Ok(())
        }
        ConnectorsCommand::Backfill { connector, tenant, days } => {
            let tenant = tenant_id(&tenant)?;
            let (_, mut step) = connectors::start_backfill(deps, &tenant, &connector, days, false)
                .await
                .with_context(|| format!("starting a backfill of connector {connector}"))?;
            let bar = ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{spinner} {elapsed} {msg}").context("the progress bar's template")?,
            );
            let mut retries = 0;
            loop {
                let outcome = connectors::run_backfill_step(deps, &step, false).await;
                let current = connectors::get_connector(deps, &tenant, &connector).await?;
                let backfill = current.record.backfill.context("the backfill's record is gone")?;
                if let Some(total) = backfill.total {
                    bar.set_length(total);
                    bar.set_style(
                        ProgressStyle::with_template("{bar:40} {pos}/{len} orders {msg}")
                            .context("the progress bar's template")?,
                    );
                }
                bar.set_position(backfill.orders);
                bar.set_message(format!(
                    "{} orders, {} trackings, page {}",
                    backfill.orders, backfill.trackings, backfill.pages
                ));
                match outcome {
                    Ok(StepOutcome::More) => {
                        step.page = backfill.pages;
                        retries = 0;
                    }
                    Ok(_) => {
                        bar.finish();
                        print_json(&backfill)?;
                        if backfill.state == BackfillState::Failed {
                            anyhow::bail!("the backfill failed: {}", backfill.error.unwrap_or_default());
                        }
                        return Ok(());
                    }
                    Err(error) if error.is_retryable() && retries < MAX_RETRIES => {
                        retries += 1;
                        bar.set_message(format!("{error}; trying again"));
                        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                    }
                    Err(error) => return Err(error).context("the backfill stopped"),
                }
            }
        }
    }
}
