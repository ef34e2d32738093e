//! `porchlight generate`: made-up data with known truth, for benchmarks, accuracy checks and
//! demos.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use chrono::NaiveDate;
use clap::Subcommand;
use porchlight::demo::history::{HistorySpec, default_lanes, generate};

#[derive(Subcommand)]
pub enum GenerateCommand {
    /// Write a history of trackings as AfterShip's `GET /trackings` writes them (JSON lines),
    /// on lanes with known transit-time distributions; the truth goes to stderr as JSON.
    History {
        /// How many shipments.
        #[arg(long, default_value_t = 10_000)]
        shipments: usize,
        /// The first day (YYYY-MM-DD); 120 days before today by default.
        #[arg(long)]
        start: Option<NaiveDate>,
        /// Over how many days shipments are created.
        #[arg(long, default_value_t = 90)]
        days: u32,
        /// The seed: the same seed gives the same history.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Where to write the lines; standard output by default.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

pub fn run(command: GenerateCommand) -> anyhow::Result<()> {
    let GenerateCommand::History { shipments, start, days, seed, out } = command;
    let now = chrono::Utc::now();
    let start = start.unwrap_or_else(|| now.date_naive() - chrono::Days::new(120));
    let spec = HistorySpec { shipments, start, days, seed, lanes: default_lanes() };
    let mut output: Box<dyn Write> = match &out {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let mut failure = None;
    generate(&spec, now, |generated| {
        if failure.is_none()
            && let Err(error) = writeln!(output, "{}", generated.line)
        {
            failure = Some(error);
        }
    });
    if let Some(error) = failure {
        return Err(error).context("writing the history");
    }
    output.flush().context("writing the history")?;
    eprintln!("{}", serde_json::to_string_pretty(&spec.lanes)?);
    Ok(())
}
