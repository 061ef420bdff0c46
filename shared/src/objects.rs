//! The S3 adapter of the object ports: reads the mail SES stored with the S3 action,
//! and deletes it at erasure.

use crate::ports::{ObjectError, ObjectReader, ObjectRemover};
use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

/// Largest object read (SES receives mail up to 40 MB).
pub const MAX_OBJECT_BYTES: usize = 40 * 1024 * 1024;

#[derive(Clone)]
pub struct S3Objects {
    client: Client,
}

impl S3Objects {
    pub fn new(client: Client) -> Self {
        S3Objects { client }
    }

    /// The adapter over the SDK configuration `main` loaded (`crate::sdk::load`).
    pub fn from_config(config: &crate::sdk::SdkConfig) -> Self {
        Self::new(Client::new(config))
    }
}

#[async_trait]
impl ObjectReader for S3Objects {
    async fn read(&self, bucket: &str, key: &str) -> Result<Vec<u8>, ObjectError> {
        let out = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| match &e {
                SdkError::ServiceError(se)
                    if matches!(
                        se.err().code(),
                        Some("NoSuchKey" | "NoSuchBucket" | "AccessDenied" | "InvalidObjectState")
                    ) || se.raw().status().as_u16() == 404
                        || se.raw().status().as_u16() == 403 =>
                {
                    ObjectError::Missing(format!(
                        "s3://{bucket}/{key}: {}",
                        se.err().code().unwrap_or("not readable")
                    ))
                }
                _ => ObjectError::Unavailable(format!("s3://{bucket}/{key}: {e}")),
            })?;
        if out
            .content_length()
            .is_some_and(|l| l as usize > MAX_OBJECT_BYTES)
        {
            return Err(ObjectError::Missing(format!(
                "s3://{bucket}/{key} is larger than 40 MB"
            )));
        }
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| ObjectError::Unavailable(format!("s3://{bucket}/{key}: {e}")))?;
        Ok(bytes.into_bytes().to_vec())
    }
}

#[async_trait]
impl ObjectRemover for S3Objects {
    async fn delete(&self, bucket: &str, key: &str) -> Result<(), ObjectError> {
        self.client
            .delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| ObjectError::Unavailable(format!("s3://{bucket}/{key}: {e}")))
    }
}
