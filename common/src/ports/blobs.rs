//! Files kept whole, by key: the shoppers' photos of returned items. A folder on `serve`, an
//! S3 bucket on AWS. Every key starts with what it belongs to and its tenant
//! (`returns/<tenant>/<name>`), so no key names another merchant's file.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::DomainError;

/// Whether `key` may name a blob: 1 to 200 characters of `a-z`, `0-9`, `.`, `_`, `-` and `/`,
/// in segments that are neither empty nor `.` or `..`.
pub fn validate_blob_key(key: &str) -> Result<(), DomainError> {
    let ok = (1..=200).contains(&key.len())
        && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-' | b'/'))
        && key.split('/').all(|segment| !segment.is_empty() && segment != "." && segment != "..");
    if ok { Ok(()) } else { Err(DomainError::invalid("key", "is not a blob key")) }
}

/// A blob store.
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Keeps `bytes` under `key` (replacing what was there), served later as `content_type`.
    async fn put_blob(&self, key: &str, content_type: &str, bytes: Vec<u8>) -> Result<(), StoreError>;
    /// The bytes under `key`, if any.
    async fn get_blob(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Removes `key` (nothing if absent).
    async fn delete_blob(&self, key: &str) -> Result<(), StoreError>;
}
