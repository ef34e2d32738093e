//! `porchlight couriers`: courier tools that need no database.

use std::io::{BufRead, Write};

use anyhow::Context;
use clap::Subcommand;

#[derive(Subcommand)]
pub enum CouriersCommand {
    /// Detect the courier of tracking numbers; prints one JSON object a line, best candidate
    /// first. Reads numbers from stdin, one a line, when none are given.
    Detect {
        /// Tracking numbers.
        numbers: Vec<String>,
    },
}

pub fn run(command: CouriersCommand) -> anyhow::Result<()> {
    match command {
        CouriersCommand::Detect { numbers } => detect(&numbers),
    }
}

/// One candidate, fields in the documented order.
#[derive(serde::Serialize)]
struct Candidate {
    slug: &'static str,
    name: &'static str,
    checksum: porchlight::couriers::Checksum,
}

/// One output line, fields in the documented order.
#[derive(serde::Serialize)]
struct Line<'a> {
    tracking_number: &'a str,
    couriers: Vec<Candidate>,
}

/// `porchlight couriers detect`: one JSON line per number, from the arguments or stdin.
fn detect(numbers: &[String]) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut print = |number: &str| -> anyhow::Result<()> {
        let couriers = porchlight::couriers::detect(number)
            .into_iter()
            .map(|d| Candidate { slug: d.courier.slug, name: d.courier.name, checksum: d.checksum })
            .collect();
        serde_json::to_writer(&mut out, &Line { tracking_number: number, couriers })?;
        out.write_all(b"\n")?;
        Ok(())
    };
    if numbers.is_empty() {
        for line in std::io::stdin().lock().lines() {
            let line = line.context("reading tracking numbers from stdin")?;
            if !line.trim().is_empty() {
                print(&line)?;
            }
        }
    } else {
        for number in numbers {
            print(number)?;
        }
    }
    out.flush().context("writing results")?;
    Ok(())
}
