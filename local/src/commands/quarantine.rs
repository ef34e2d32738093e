//! `porchlight quarantine`: dead letters of any queue, listed and replayed through the same
//! operator use cases as the admin API.

use anyhow::{Context, bail};
use clap::Subcommand;
use porchlight::app::{AppError, Deps, operator};
use porchlight::ports::QueueName;
use serde_json::json;

#[derive(Subcommand)]
pub enum QuarantineCommand {
    /// List quarantined messages with the reason, oldest first.
    List {
        /// The queue: carrier-updates or status-changes.
        #[arg(long, default_value = "carrier-updates")]
        queue: QueueName,
        /// Print one JSON object a line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Put quarantined messages back on their queue; a running server processes them.
    Replay {
        /// Message ids, as listed.
        ids: Vec<u64>,
        /// The queue: carrier-updates or status-changes.
        #[arg(long, default_value = "carrier-updates")]
        queue: QueueName,
        /// Replay every quarantined message of the queue.
        #[arg(long, conflicts_with = "ids")]
        all: bool,
    },
}

pub async fn run(deps: &Deps, command: QuarantineCommand) -> anyhow::Result<()> {
    match command {
        QuarantineCommand::List { queue, json } => {
            for letter in operator::all_dead_letters(deps, queue).await.context("reading the quarantine")? {
                if json {
                    let line = json!({"id": letter.id, "reason": letter.reason, "quarantined_at": letter.dead_at.to_rfc3339(),
                        "receive_count": letter.receive_count, "message": operator::body_as_json(&letter.body)});
                    println!("{line}");
                } else {
                    println!("{}\t{}\t{}", letter.id, letter.dead_at.to_rfc3339(), letter.reason);
                }
            }
        }
        QuarantineCommand::Replay { ids, queue, all } => {
            let ids: Vec<u64> = if all {
                operator::all_dead_letters(deps, queue)
                    .await
                    .context("reading the quarantine")?
                    .iter()
                    .map(|l| l.id)
                    .collect()
            } else {
                ids
            };
            if ids.is_empty() && !all {
                bail!("name message ids to replay, or --all");
            }
            for id in ids {
                match operator::replay(deps, queue, id).await {
                    Ok(()) => println!("replayed {id}"),
                    Err(AppError::NotFound) => bail!("no quarantined message {id} on {}", queue.as_str()),
                    Err(other) => return Err(other).context("replaying"),
                }
            }
        }
    }
    Ok(())
}
