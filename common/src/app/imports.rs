//! History imports: trackings a merchant brings from before (AfterShip's own export, or a CSV
//! of numbers), stored with their checkpoints as history.
//!
//! An import never notifies anyone: what it writes is marked as the import's version
//! ([`Shipment::imported_version`]), which the fan-out and the scan pass over, while analytics
//! count it. Importing the same lines again doubles nothing: a tracking the merchant already
//! has takes only the checkpoints it lacks, and is not written at all when it lacks none.

use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use serde::Serialize;

use super::trackings::{apply_change, new_shipment};
use super::{AppError, Deps, NewTracking};
use crate::domain::{CheckpointInput, Shipment, TenantId};
use crate::ports::StoreError;

/// A tracking as a history file gives it.
#[derive(Debug, Clone)]
pub struct HistoryRecord {
    /// The tracking; its courier is detected when absent.
    pub tracking: NewTracking,
    /// When it was created at the source; now when absent.
    pub created_at: Option<DateTime<Utc>>,
    /// Its checkpoints.
    pub events: Vec<CheckpointInput>,
}

/// Why one line of a history file was not imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct LineError {
    /// The line (JSON lines) or record (CSV, the header being line 1), from 1.
    pub line: u64,
    /// The field at fault, as the file names it (empty when the whole line is).
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

impl LineError {
    /// The error of `line` for an [`AppError`] of its tracking.
    pub fn of(line: u64, error: &AppError) -> LineError {
        let (field, reason) = match error {
            AppError::Invalid(invalid) => (invalid.field.clone(), invalid.reason.clone()),
            AppError::Required(field) => ((*field).to_owned(), "is required".to_owned()),
            AppError::UnknownCourier(slug) => {
                ("slug".to_owned(), format!("{slug:?} is not a courier Porchlight knows"))
            }
            AppError::CourierNotDetected => {
                ("slug".to_owned(), "no courier was given and none could be detected from the number".to_owned())
            }
            other => (String::new(), other.to_string()),
        };
        LineError { line, field, reason }
    }
}

/// Most line errors an import keeps; `failed` counts them all.
pub const MAX_LINE_ERRORS: usize = 1_000;

/// How many records are stored at once: enough to fill the embedded store's group commits.
pub const BATCH: usize = 512;

/// What an import did so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ImportTally {
    /// Lines read.
    pub lines: u64,
    /// Lines whose tracking is now stored with their checkpoints (created, updated or already so).
    pub imported: u64,
    /// Of those, new trackings.
    pub created: u64,
    /// Of those, trackings that took checkpoints they lacked.
    pub updated: u64,
    /// Of those, trackings that had everything already.
    pub unchanged: u64,
    /// Lines not imported.
    pub failed: u64,
    /// Why, line by line (the first [`MAX_LINE_ERRORS`]).
    pub errors: Vec<LineError>,
}

impl ImportTally {
    fn fail(&mut self, error: LineError) {
        self.failed += 1;
        if self.errors.len() < MAX_LINE_ERRORS {
            self.errors.push(error);
        }
    }
}

/// What became of one record.
enum Outcome {
    Created,
    Updated,
    Unchanged,
}

/// Imports `lines` (each numbered, read or not) for `tenant`, [`BATCH`] at a time, into
/// `tally`. A line that fails is recorded and the others go on; only a store that fails
/// stops the import (with that error: the lines before it are kept, and importing again from
/// the start finishes the job without doubling anything).
pub async fn import_lines(
    deps: &Deps,
    tenant: &TenantId,
    lines: Vec<(u64, Result<HistoryRecord, LineError>)>,
    tally: &mut ImportTally,
) -> Result<(), AppError> {
    let mut chunks = lines.into_iter().peekable();
    while chunks.peek().is_some() {
        let chunk: Vec<_> = chunks.by_ref().take(BATCH).collect();
        let results = join_all(chunk.into_iter().map(|(line, record)| async move {
            let outcome = match record {
                Ok(record) => import_one(deps, tenant, record).await,
                Err(error) => return (line, Err(Ok(error))),
            };
            (line, outcome.map_err(Err))
        }))
        .await;
        let mut store_error = None;
        for (line, result) in results {
            tally.lines += 1;
            match result {
                Ok(outcome) => {
                    tally.imported += 1;
                    match outcome {
                        Outcome::Created => tally.created += 1,
                        Outcome::Updated => tally.updated += 1,
                        Outcome::Unchanged => tally.unchanged += 1,
                    }
                }
                Err(Ok(error)) => tally.fail(error),
                Err(Err(error)) if is_store_failure(&error) => {
                    tally.lines -= 1;
                    store_error.get_or_insert(error);
                }
                Err(Err(error)) => tally.fail(LineError::of(line, &error)),
            }
        }
        if let Some(error) = store_error {
            return Err(error);
        }
    }
    Ok(())
}

/// Lines read and stored per round of [`import_all`]: the progress it reports moves this often.
pub const ROUND: usize = 4 * BATCH;

/// Imports every line of `lines` for `tenant` (see [`import_lines`]), a round of [`ROUND`]
/// lines at a time, calling `progress` after each round with the tally so far.
pub async fn import_all(
    deps: &Deps,
    tenant: &TenantId,
    lines: impl Iterator<Item = (u64, Result<HistoryRecord, LineError>)>,
    tally: &mut ImportTally,
    mut progress: impl FnMut(&ImportTally),
) -> Result<(), AppError> {
    let mut lines = lines.peekable();
    while lines.peek().is_some() {
        let round: Vec<_> = lines.by_ref().take(ROUND).collect();
        import_lines(deps, tenant, round, tally).await?;
        progress(tally);
    }
    Ok(())
}

/// Whether `error` is the store's, not the line's: the import stops rather than blame the line.
fn is_store_failure(error: &AppError) -> bool {
    matches!(error, AppError::Unavailable(_) | AppError::Corrupt(_) | AppError::Busy | AppError::Internal(_))
}

async fn import_one(deps: &Deps, tenant: &TenantId, record: HistoryRecord) -> Result<Outcome, AppError> {
    let now = deps.clock.now();
    let created_at = record.created_at.unwrap_or(now);
    let mut shipment = new_shipment(deps, tenant, record.tracking, created_at, record.events.clone())?;
    shipment.imported_version = Some(1);
    match deps.shipments.insert(&shipment).await {
        Ok(_) => Ok(Outcome::Created),
        Err(StoreError::Duplicate(existing)) => merge_into(deps, tenant, &existing, record.events).await,
        Err(other) => Err(other.into()),
    }
}

/// Adds the `events` a stored tracking lacks, as history; writes nothing when it lacks none.
async fn merge_into(
    deps: &Deps,
    tenant: &TenantId,
    id: &crate::domain::ShipmentId,
    events: Vec<CheckpointInput>,
) -> Result<Outcome, AppError> {
    for _ in 0..8 {
        let stored: Shipment = deps.shipments.get(tenant, id).await?.ok_or(AppError::NotFound)?;
        let now = deps.clock.now();
        let mut added = 0;
        let (mut shipment, _) = apply_change(deps, &stored, now, |shipment| {
            added = shipment.merge(events.clone(), now).added;
            Ok(())
        })?;
        if added == 0 {
            return Ok(Outcome::Unchanged);
        }
        shipment.imported_version = Some(stored.version + 1);
        shipment.updated_at = now;
        match deps.shipments.update(&shipment).await {
            Ok(_) => return Ok(Outcome::Updated),
            Err(StoreError::Conflict) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(AppError::Busy)
}

#[cfg(test)]
mod tests;
