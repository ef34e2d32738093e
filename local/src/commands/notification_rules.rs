//! `porchlight notification-rules`: a merchant's notification rules, as
//! `/porchlight/v1/notification-rules` reads and changes them.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Subcommand;
use porchlight::app::notification_rules::{self, RuleWrite};
use porchlight::app::{AppError, Deps};

use super::print_json as print;
use super::tenants::tenant_id;

#[derive(Subcommand)]
pub enum NotificationRulesCommand {
    /// Print a tenant's rules as JSON (the defaults until the first change).
    List {
        /// The tenant's id.
        tenant_id: String,
    },
    /// Add a rule: a JSON object as `POST /porchlight/v1/notification-rules` takes it, from
    /// FILE or `-` for standard input; prints the rule with its id.
    Add {
        /// The tenant's id.
        tenant_id: String,
        /// The JSON file, or `-`.
        file: PathBuf,
    },
    /// Change a rule's fields given as JSON in FILE (or `-`).
    Set {
        /// The tenant's id.
        tenant_id: String,
        /// The rule's id (`nr_...`).
        rule_id: String,
        /// The JSON file, or `-`.
        file: PathBuf,
    },
    /// Delete a rule.
    Delete {
        /// The tenant's id.
        tenant_id: String,
        /// The rule's id.
        rule_id: String,
    },
}

fn refused(error: AppError) -> anyhow::Error {
    match error {
        AppError::Invalid(invalid) => anyhow::anyhow!("{invalid}"),
        AppError::Missing(what) => anyhow::anyhow!("no such {what}"),
        other => anyhow::Error::new(other).context("changing the rules"),
    }
}

pub async fn run(deps: &Deps, command: NotificationRulesCommand) -> anyhow::Result<()> {
    match command {
        NotificationRulesCommand::List { tenant_id: raw } => {
            let tenant = tenant_id(&raw)?;
            if deps.tenants.get_tenant(&tenant).await.context("reading the tenant")?.is_none() {
                bail!("no tenant {tenant}");
            }
            let (rules, _) =
                notification_rules::notification_rules(deps, &tenant).await.context("reading the rules")?;
            print(&rules)
        }
        NotificationRulesCommand::Add { tenant_id: raw, file } => {
            let tenant = tenant_id(&raw)?;
            let write: RuleWrite = super::read_json(&file)?;
            print(&notification_rules::create_rule(deps, &tenant, write).await.map_err(refused)?)
        }
        NotificationRulesCommand::Set { tenant_id: raw, rule_id, file } => {
            let tenant = tenant_id(&raw)?;
            let write: RuleWrite = super::read_json(&file)?;
            print(&notification_rules::update_rule(deps, &tenant, &rule_id, write).await.map_err(refused)?)
        }
        NotificationRulesCommand::Delete { tenant_id: raw, rule_id } => {
            let tenant = tenant_id(&raw)?;
            print(&notification_rules::delete_rule(deps, &tenant, &rule_id).await.map_err(refused)?)
        }
    }
}
