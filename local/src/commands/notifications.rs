//! `porchlight notifications`: what a merchant's shoppers are told.

use anyhow::{Context, bail};
use clap::Subcommand;
use porchlight::app::notifications::{self, PreviewRequest};
use porchlight::app::{AppError, Deps};
use porchlight::domain::{Language, Trigger};

use super::tenants::tenant_id;

#[derive(Subcommand)]
pub enum NotificationsCommand {
    /// Write the message a trigger sends (subject, text, SMS; the HTML with --html), for a
    /// sample parcel or one of the tenant's trackings.
    Preview {
        /// The tenant's id.
        tenant_id: String,
        /// The trigger: info_received, in_transit, out_for_delivery, available_for_pickup,
        /// delivered, failed_attempt, exception or no_update.
        #[arg(long)]
        trigger: String,
        /// en, zh-CN, es, de, fr or ja [default: the merchant's].
        #[arg(long)]
        language: Option<String>,
        /// A tracking's id; without one, a sample parcel.
        #[arg(long)]
        tracking_id: Option<String>,
        /// Print the HTML email instead.
        #[arg(long)]
        html: bool,
    },
}

pub async fn run(deps: &Deps, command: NotificationsCommand) -> anyhow::Result<()> {
    let NotificationsCommand::Preview { tenant_id: raw, trigger, language, tracking_id, html } = command;
    let tenant = tenant_id(&raw)?;
    if deps.tenants.get_tenant(&tenant).await.context("reading the tenant")?.is_none() {
        bail!("no tenant {tenant}");
    }
    let Some(trigger) = Trigger::parse(&trigger) else {
        let known: Vec<&str> = Trigger::ALL.iter().map(|t| t.as_str()).collect();
        bail!("--trigger must be one of {}", known.join(", "));
    };
    let language = language.map(|l| Language::parse(&l)).transpose().map_err(|e| anyhow::anyhow!("--{e}"))?;
    let request = PreviewRequest { trigger, language, tracking_id };
    let (message, _) = match notifications::preview(deps, &tenant, &request).await {
        Ok(message) => message,
        Err(AppError::NotFound) => bail!("tenant {tenant} has no such tracking"),
        Err(AppError::Invalid(invalid)) => bail!("--tracking-id: {invalid}"),
        Err(other) => return Err(other).context("writing the preview"),
    };
    if html {
        println!("{}", message.html);
    } else {
        let segments = message.sms_segments;
        println!("Subject: {}\nContent-Language: {}\n\n{}", message.subject, message.language, message.text);
        println!(
            "SMS ({:?}, {} units, {} segment(s)):\n{}",
            segments.encoding, segments.units, segments.segments, message.sms
        );
    }
    Ok(())
}
