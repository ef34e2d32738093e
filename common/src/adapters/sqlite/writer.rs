//! Group commit: one thread owns the writer connection and runs the writes waiting for it
//! together, in one transaction, each in a savepoint of its own.
//!
//! A write that fails rolls back to its savepoint and fails alone; the others commit. Every
//! caller is answered only after the transaction holding its write has committed (or failed),
//! so a write acknowledged is a write stored. Under load this turns many small transactions
//! into few larger ones: SQLite's cost per transaction (the lock, WAL frames of shared pages)
//! is paid once per batch.

use std::sync::mpsc;

use rusqlite::Connection;

use super::unavailable;
use crate::ports::StoreError;

/// Writes one transaction takes at most.
const BATCH: usize = 64;

/// What the writer thread runs: a write against the transaction's connection, answering
/// whether to keep it and how to tell its caller once the transaction is decided.
type Job = Box<dyn FnOnce(&Connection) -> (bool, Finisher) + Send>;

/// The handle to the writer thread; the thread ends when the last handle is dropped.
pub(super) struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the thread that owns `connection`.
    pub(super) fn start(connection: Connection) -> Result<Writer, StoreError> {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run(connection, queue))
            .map_err(unavailable)?;
        Ok(Writer { jobs })
    }

    /// Runs `work` in the next transaction; its result once that transaction has committed.
    pub(super) async fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |connection| {
            let outcome = work(connection);
            let keep = outcome.is_ok();
            let finish = Box::new(move |committed: Result<(), String>| {
                let answer = match (outcome, committed) {
                    (Ok(value), Ok(())) => Ok(value),
                    (Ok(_), Err(reason)) => Err(StoreError::Unavailable(reason.into())),
                    (Err(error), _) => Err(error),
                };
                let _ = done.send(answer);
            });
            (keep, finish as Finisher)
        });
        self.jobs.send(job).map_err(|_| StoreError::Unavailable("the sqlite writer has stopped".into()))?;
        result.await.map_err(|_| StoreError::Unavailable("the sqlite writer dropped a write".into()))?
    }
}

/// The writer thread: takes what is waiting (at most [`BATCH`]), runs it in one transaction,
/// commits, answers everyone; until every handle is gone.
fn run(mut connection: Connection, queue: mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut jobs = vec![first];
        while jobs.len() < BATCH {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let (finishers, committed) = run_batch(&mut connection, jobs);
        for finish in finishers {
            finish(committed.clone());
        }
    }
}

type Finisher = Box<dyn FnOnce(Result<(), String>) + Send>;

/// Runs `sql` (a transaction or savepoint statement) from the statement cache.
fn control(connection: &Connection, sql: &str) -> rusqlite::Result<()> {
    connection.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// Runs `jobs` in one transaction, each in its own savepoint; the finishers of those that ran,
/// and whether the transaction committed. A job that cannot run is dropped, which its caller
/// hears as the writer failing. The transaction and savepoint statements come from the
/// statement cache: parsing them for every write was a tenth of a busy writer's time.
fn run_batch(connection: &mut Connection, jobs: Vec<Job>) -> (Vec<Finisher>, Result<(), String>) {
    if let Err(error) = control(connection, "BEGIN") {
        tracing::error!(error = %error, "sqlite transaction did not begin");
        return (Vec::new(), Err(format!("sqlite transaction did not begin: {error}")));
    }
    let mut finishers = Vec::with_capacity(jobs.len());
    for job in jobs {
        if let Err(error) = control(connection, "SAVEPOINT job") {
            tracing::error!(error = %error, "sqlite savepoint not opened");
            continue;
        }
        let (keep, finish) = job(connection);
        let kept = if keep {
            control(connection, "RELEASE job")
        } else {
            control(connection, "ROLLBACK TO job").and_then(|()| control(connection, "RELEASE job"))
        };
        if let Err(error) = kept {
            tracing::error!(error = %error, "sqlite savepoint not released");
        }
        finishers.push(finish);
    }
    let committed = control(connection, "COMMIT").map_err(|error| format!("sqlite commit failed: {error}"));
    if committed.is_err() {
        let _ = control(connection, "ROLLBACK");
    }
    (finishers, committed)
}
