//! The blob store on AWS: an S3 bucket (`PORCHLIGHT_BLOB_BUCKET`), one object per key,
//! encrypted at rest by S3, private (the bucket blocks public access; shoppers' photos are
//! served through the functions).

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use porchlight::ports::{BlobStore, StoreError, validate_blob_key};

/// Blobs in a bucket.
#[derive(Clone)]
pub struct S3Blobs {
    client: Client,
    bucket: Option<String>,
}

fn unavailable(error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Unavailable(Box::new(error))
}

impl S3Blobs {
    /// Blobs in `bucket`; without one, every call fails as unavailable (a deployment without
    /// the bucket cannot take uploads).
    pub fn new(config: &aws_config::SdkConfig, bucket: Option<String>) -> Self {
        // Emulators answer path-style requests only.
        let s3 = aws_sdk_s3::config::Builder::from(config).force_path_style(true).build();
        S3Blobs { client: Client::from_conf(s3), bucket }
    }

    fn bucket(&self, key: &str) -> Result<&str, StoreError> {
        validate_blob_key(key).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.bucket.as_deref().ok_or_else(|| StoreError::Unavailable("no blob bucket is configured".into()))
    }

    /// Creates the bucket, as the SAM template declares it: for emulators and tests.
    pub async fn create_bucket(&self) -> Result<(), StoreError> {
        let bucket = self.bucket.as_deref().ok_or_else(|| StoreError::Unavailable("no blob bucket".into()))?;
        self.client.create_bucket().bucket(bucket).send().await.map_err(unavailable)?;
        Ok(())
    }
}

#[async_trait]
impl BlobStore for S3Blobs {
    async fn put_blob(&self, key: &str, content_type: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        let bucket = self.bucket(key)?;
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn get_blob(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let bucket = self.bucket(key)?;
        match self.client.get_object().bucket(bucket).key(key).send().await {
            Ok(object) => Ok(Some(object.body.collect().await.map_err(unavailable)?.into_bytes().to_vec())),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => Ok(None),
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn delete_blob(&self, key: &str) -> Result<(), StoreError> {
        let bucket = self.bucket(key)?;
        self.client.delete_object().bucket(bucket).key(key).send().await.map_err(unavailable)?;
        Ok(())
    }
}
