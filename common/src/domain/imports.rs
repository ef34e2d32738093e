//! History imports as data: a line's error, an import's tally, the formats, the jobs.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::TenantId;

/// Why one line of a history file was not imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineError {
    /// The line (JSON lines) or record (CSV, the header being line 1), from 1.
    pub line: u64,
    /// The field at fault, as the file names it (empty when the whole line is).
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

/// Most line errors an import keeps; `failed` counts them all.
pub const MAX_LINE_ERRORS: usize = 1_000;

/// What an import did so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Orders created or given lines by the file's item columns.
    #[serde(default)]
    pub orders: u64,
    /// Why, line by line (the first [`MAX_LINE_ERRORS`]).
    pub errors: Vec<LineError>,
}

impl ImportTally {
    /// Counts a failed line, keeping its error while there is room.
    pub fn fail(&mut self, error: LineError) {
        self.failed += 1;
        if self.errors.len() < MAX_LINE_ERRORS {
            self.errors.push(error);
        }
    }
}

/// The two formats a history file may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryFormat {
    /// One JSON tracking per line (`application/x-ndjson`).
    JsonLines,
    /// A CSV with a header line (`text/csv`).
    Csv,
}

impl HistoryFormat {
    /// The format of a body of `content_type` (parameters ignored); `None` for any other.
    pub fn from_content_type(content_type: &str) -> Option<HistoryFormat> {
        let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        match essence.as_str() {
            "application/x-ndjson" | "application/jsonl" | "application/jsonlines" | "application/json-lines" => {
                Some(HistoryFormat::JsonLines)
            }
            "text/csv" => Some(HistoryFormat::Csv),
            _ => None,
        }
    }

    /// The format a file name's extension says (`.ndjson`, `.jsonl`, `.csv`); `None` for any
    /// other.
    pub fn from_file_name(name: &str) -> Option<HistoryFormat> {
        let extension = name.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase())?;
        match extension.as_str() {
            "ndjson" | "jsonl" => Some(HistoryFormat::JsonLines),
            "csv" => Some(HistoryFormat::Csv),
            _ => None,
        }
    }

    /// The media type of the format.
    pub fn content_type(self) -> &'static str {
        match self {
            HistoryFormat::JsonLines => "application/x-ndjson",
            HistoryFormat::Csv => "text/csv",
        }
    }
}

/// Where an import job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportState {
    /// Waiting or being imported.
    Running,
    /// Every line read (some may have failed: see the tally).
    Done,
    /// Stopped before the end: the file could not be read, or the store failed.
    Failed,
}

/// A history file sent to be imported in the background.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportJob {
    /// `imp_` and 32 hexadecimal digits.
    pub id: String,
    /// The merchant.
    pub tenant_id: TenantId,
    /// When the file came.
    pub created_at: DateTime<Utc>,
    /// When the job last moved.
    pub updated_at: DateTime<Utc>,
    /// Where it is.
    pub state: ImportState,
    /// The file's format.
    pub format: HistoryFormat,
    /// The file's size.
    pub bytes: u64,
    /// Its lines (the CSV header aside), counted when it came: how far `tally.lines` is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines_total: Option<u64>,
    /// What was done so far; `lines` is also where a resumed job goes on from.
    pub tally: ImportTally,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ImportJob {
    /// A new job's id.
    pub fn new_id() -> String {
        format!("imp_{}", uuid::Uuid::new_v4().simple())
    }

    /// Whether `id` has the shape of a job's id.
    pub fn is_id(id: &str) -> bool {
        id.len() == 36
            && id.starts_with("imp_")
            && id[4..].bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    }

    /// Where the job's file is kept in the blob store.
    pub fn file_key(&self) -> String {
        format!("imports/{}/{}", self.tenant_id, self.id)
    }
}
