//! The blob store of `serve`: one file per key under a folder (beside the database by
//! default), written whole to a temporary name and renamed into place, readable by the owner
//! only.

use std::path::{Path, PathBuf};

use async_trait::async_trait;

use crate::ports::{BlobStore, StoreError, validate_blob_key};

/// Blobs in a folder.
#[derive(Debug, Clone)]
pub struct FolderBlobs {
    root: PathBuf,
}

impl FolderBlobs {
    /// Blobs under `root` (made when first written to).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FolderBlobs { root: root.into() }
    }

    fn path(&self, key: &str) -> Result<PathBuf, StoreError> {
        validate_blob_key(key).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(self.root.join(key))
    }
}

fn unavailable(error: std::io::Error) -> StoreError {
    StoreError::Unavailable(Box::new(error))
}

/// Runs file work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| StoreError::Unavailable(Box::new(e)))?.map_err(unavailable)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let temporary = parent.join(format!(".{}.tmp", uuid::Uuid::new_v4().simple()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)
}

#[async_trait]
impl BlobStore for FolderBlobs {
    async fn put_blob(&self, key: &str, _content_type: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        let path = self.path(key)?;
        blocking(move || write_private(&path, &bytes)).await
    }

    async fn get_blob(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.path(key)?;
        blocking(move || match std::fs::read(path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error),
        })
        .await
    }

    async fn delete_blob(&self, key: &str) -> Result<(), StoreError> {
        let path = self.path(key)?;
        blocking(move || match std::fs::remove_file(path) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn blobs_are_kept_read_replaced_and_removed_by_key() {
        let root = std::env::temp_dir().join(format!("porchlight-blobs-{}", uuid::Uuid::new_v4().simple()));
        crate::testkit::blob_contract_keeps_reads_and_removes(&FolderBlobs::new(&root)).await;
        assert!(FolderBlobs::new(&root).get_blob("../etc/passwd").await.is_err(), "no key leaves the folder");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let blobs = FolderBlobs::new(&root);
            blobs.put_blob("returns/t1/x.jpg", "image/jpeg", vec![1]).await.expect("kept");
            let mode = std::fs::metadata(root.join("returns/t1/x.jpg")).expect("file").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let _ = std::fs::remove_dir_all(root);
    }
}
