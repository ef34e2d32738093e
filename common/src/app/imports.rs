//! History imports: trackings a merchant brings from before (AfterShip's own export, or a CSV
//! of numbers), stored with their checkpoints as history.
//!
//! An import never notifies anyone: what it writes is marked as the import's version
//! ([`Shipment::imported_version`]), which the fan-out and the scan pass over, while analytics
//! count it. Importing the same lines again doubles nothing: a tracking the merchant already
//! has takes only the checkpoints it lacks, and is not written at all when it lacks none.

use chrono::{DateTime, Utc};
use futures_util::stream::{self, StreamExt};

use super::trackings::{apply_change, new_shipment};
use super::{AppError, Deps, NewTracking};
pub use crate::domain::imports::{HistoryFormat, ImportJob, ImportState, ImportTally, LineError, MAX_LINE_ERRORS};
use crate::domain::{CheckpointInput, DomainError, OrderItem, Shipment, TenantId};
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
    /// The order line the same row describes (a CSV's item columns), in the order the
    /// tracking's `order_id` (or else `order_number`) names.
    pub order_line: Option<OrderItem>,
}

/// The error of `line` for an [`AppError`] of its tracking.
pub fn line_error(line: u64, error: &AppError) -> LineError {
    let (field, reason) = match error {
        AppError::Invalid(invalid) => (invalid.field.clone(), invalid.reason.clone()),
        AppError::Required(field) => ((*field).to_owned(), "is required".to_owned()),
        AppError::UnknownCourier(slug) => ("slug".to_owned(), format!("{slug:?} is not a courier Porchlight knows")),
        AppError::CourierNotDetected => {
            ("slug".to_owned(), "no courier was given and none could be detected from the number".to_owned())
        }
        other => (String::new(), other.to_string()),
    };
    LineError { line, field, reason }
}

/// What became of one record.
enum Outcome {
    Created,
    Updated,
    Unchanged,
}

/// Lines stored at once (and per round of [`import_all`], whose progress moves this often):
/// enough to keep the embedded store's group commits full.
pub const ROUND: usize = 2048;
/// Lines of a round being stored at once: enough to fill the embedded store's group commits,
/// few enough that a running import leaves room for every other request's reads and writes.
const IN_FLIGHT: usize = 128;

/// Imports `lines` (each numbered, read or not) for `tenant`, all at once, into `tally`. A
/// line that fails is recorded and the others go on; only a store that fails stops the import
/// (with that error: the lines before it are kept, and importing again from the start finishes
/// the job without doubling anything).
pub async fn import_lines(
    deps: &Deps,
    tenant: &TenantId,
    lines: Vec<(u64, Result<HistoryRecord, LineError>)>,
    tally: &mut ImportTally,
) -> Result<(), AppError> {
    let results: Vec<_> = stream::iter(lines.into_iter().map(|(line, record)| async move {
        let outcome = match record {
            Ok(mut record) => {
                let line_of_order = order_lines::take(&mut record);
                import_one(deps, tenant, record).await.map(|outcome| (outcome, line_of_order))
            }
            Err(error) => return (line, Err(Ok(error))),
        };
        (line, outcome.map_err(Err))
    }))
    .buffered(IN_FLIGHT)
    .collect()
    .await;
    let mut store_error = None;
    let mut orders = order_lines::OrderLines::default();
    for (line, result) in results {
        tally.lines += 1;
        match result {
            Ok((outcome, line_of_order)) => {
                orders.add(line_of_order);
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
            Err(Err(error)) => tally.fail(line_error(line, &error)),
        }
    }
    if let Some(error) = store_error {
        return Err(error);
    }
    tally.orders += orders.store(deps, tenant).await?;
    Ok(())
}

/// Imports every line of `lines` for `tenant` (see [`import_lines`]), a round of [`ROUND`]
/// lines at a time, calling `progress` after each round with the tally so far. The next round
/// is read while one is being stored, so that reading and the store's writer work at once.
pub async fn import_all(
    deps: &Deps,
    tenant: &TenantId,
    lines: impl Iterator<Item = (u64, Result<HistoryRecord, LineError>)>,
    tally: &mut ImportTally,
    mut progress: impl FnMut(&ImportTally),
) -> Result<(), AppError> {
    let mut lines = lines.fuse();
    let mut round: Vec<_> = lines.by_ref().take(ROUND).collect();
    while !round.is_empty() {
        // Joined in this order, the round's writes are all queued before the next round is
        // read (which holds this task, not the store's writer thread).
        let (stored, next) = tokio::join!(import_lines(deps, tenant, round, tally), async {
            lines.by_ref().take(ROUND).collect::<Vec<_>>()
        });
        stored?;
        progress(tally);
        round = next;
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
    shipment.source = crate::domain::TrackingSource::Import;
    // A file imported again finds its trackings there: merged without a refused insert first
    // (on DynamoDB a refused transaction still costs its writes). The insert's own guard keeps
    // a tracking the lookup missed (an index not yet caught up) from being doubled.
    if let Some(existing) = tracked_already(deps, tenant, &shipment).await? {
        return merge_into(deps, tenant, &existing, record.events).await;
    }
    match deps.shipments.insert(&shipment).await {
        Ok(_) => Ok(Outcome::Created),
        Err(StoreError::Duplicate(existing)) => merge_into(deps, tenant, &existing, record.events).await,
        Err(other) => Err(other.into()),
    }
}

/// The tenant's tracking of `shipment`'s courier and number (its first leg), if it has one.
async fn tracked_already(
    deps: &Deps,
    tenant: &TenantId,
    shipment: &Shipment,
) -> Result<Option<crate::domain::ShipmentId>, AppError> {
    for (owner, id) in deps.shipments.find_legs(&shipment.slug, &shipment.tracking_number).await? {
        if owner != *tenant {
            continue;
        }
        if let Some(stored) = deps.shipments.get(tenant, &id).await?
            && stored.slug == shipment.slug
            && stored.tracking_number == shipment.tracking_number
        {
            return Ok(Some(id));
        }
    }
    Ok(None)
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
        let (mut shipment, _) = apply_change(deps, &stored, now, None, |shipment| {
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

/// A reader of history files: the numbered lines of a file of `format`.
pub type HistoryLines = for<'a> fn(
    HistoryFormat,
    &'a [u8],
) -> Box<dyn Iterator<Item = (u64, Result<HistoryRecord, LineError>)> + Send + 'a>;

/// Largest history file an import job takes through the API (what API Gateway passes on AWS);
/// larger histories go through `porchlight import` or several files.
pub const MAX_IMPORT_BYTES: usize = 10 * 1024 * 1024;

/// Starts an import of `file` for `tenant`: the file is kept in the blob store and the job
/// saved as running, for [`run_import`] to carry out.
pub async fn start_import(
    deps: &Deps,
    tenant: &TenantId,
    format: HistoryFormat,
    file: Vec<u8>,
) -> Result<ImportJob, AppError> {
    if file.iter().all(u8::is_ascii_whitespace) {
        return Err(DomainError::invalid("body", "is empty: send the file").into());
    }
    let now = deps.clock.now();
    let job = ImportJob {
        id: ImportJob::new_id(),
        tenant_id: tenant.clone(),
        created_at: now,
        updated_at: now,
        state: ImportState::Running,
        format,
        bytes: file.len() as u64,
        lines_total: Some(count_lines(format, &file)),
        tally: ImportTally::default(),
        error: None,
    };
    deps.blobs.put_blob(&job.file_key(), format.content_type(), file).await?;
    deps.imports.save_import(&job).await?;
    tracing::info!(tenant_id = %tenant, import_id = %job.id, bytes = job.bytes, "import started");
    Ok(job)
}

/// The lines of a history file that hold records: those not blank, but a CSV's header.
fn count_lines(format: HistoryFormat, file: &[u8]) -> u64 {
    let lines = file.split(|b| *b == b'\n').filter(|line| !line.iter().all(u8::is_ascii_whitespace)).count() as u64;
    match format {
        HistoryFormat::Csv => lines.saturating_sub(1),
        HistoryFormat::JsonLines => lines,
    }
}

/// One of the tenant's import jobs.
pub async fn get_import(deps: &Deps, tenant: &TenantId, id: &str) -> Result<ImportJob, AppError> {
    if !ImportJob::is_id(id) {
        return Err(AppError::Missing("import"));
    }
    deps.imports.get_import(tenant, id).await?.ok_or(AppError::Missing("import"))
}

/// Carries a running job on from the line it had reached, saving its tally after each round,
/// and finishes it: done (its file removed) or failed (why kept). A job not running is left
/// as it is.
pub async fn run_import(deps: &Deps, tenant: &TenantId, id: &str, read: HistoryLines) -> Result<ImportJob, AppError> {
    let mut job = get_import(deps, tenant, id).await?;
    if job.state != ImportState::Running {
        return Ok(job);
    }
    let Some(file) = deps.blobs.get_blob(&job.file_key()).await? else {
        return finish(deps, job, Some("the file is gone".to_owned())).await;
    };
    let done = usize::try_from(job.tally.lines).unwrap_or(usize::MAX);
    let mut lines = read(job.format, &file).skip(done).peekable();
    while lines.peek().is_some() {
        let round: Vec<_> = lines.by_ref().take(ROUND).collect();
        if let Err(error) = import_lines(deps, tenant, round, &mut job.tally).await {
            tracing::error!(tenant_id = %tenant, import_id = %job.id, error = %error, "import stopped");
            return finish(deps, job, Some(error.to_string())).await;
        }
        job.updated_at = deps.clock.now();
        deps.imports.save_import(&job).await?;
    }
    finish(deps, job, None).await
}

async fn finish(deps: &Deps, mut job: ImportJob, error: Option<String>) -> Result<ImportJob, AppError> {
    job.state = if error.is_some() { ImportState::Failed } else { ImportState::Done };
    job.error = error;
    job.updated_at = deps.clock.now();
    deps.imports.save_import(&job).await?;
    if job.state == ImportState::Done {
        // The file holds shoppers' details; what it brought is stored now.
        deps.blobs.delete_blob(&job.file_key()).await?;
    }
    tracing::info!(
        tenant_id = %job.tenant_id,
        import_id = %job.id,
        imported = job.tally.imported,
        failed = job.tally.failed,
        state = ?job.state,
        "import finished"
    );
    Ok(job)
}

/// Carries on every running job (`serve`'s worker; on AWS the importer function). Returns how
/// many were run.
pub async fn run_running_imports(deps: &Deps, read: HistoryLines) -> Result<usize, AppError> {
    let running = deps.imports.running_imports().await?;
    for (tenant, id) in &running {
        run_import(deps, tenant, id, read).await?;
    }
    Ok(running.len())
}

mod order_lines;

#[cfg(test)]
mod tests;
