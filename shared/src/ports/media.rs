//! The media ports: where a platform serves a customer's file, the bucket that
//! keeps it, and the writes that record what the capture found.

use super::{MessageKey, ObjectError, StoreError};
use crate::conversation::{Attachment, Channel, Message};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use thiserror::Error;

/// A file as the platform served it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    pub bytes: Vec<u8>,
    /// The type the platform reported with it.
    pub mime_type: Option<String>,
    /// The SHA-256 the platform declared for it (hex or Base64), checked.
    pub sha256: Option<String>,
}

/// Why a file could not be fetched, sorted by what to do next.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum FetchError {
    /// Over the cap (or over what the platform lets a bot download): metadata only.
    #[error("larger than {limit} bytes")]
    TooLarge { limit: u64 },
    /// The platform says it is gone or will never serve it (expired, deleted, not
    /// ours): no retry.
    #[error("{0}")]
    Gone(String),
    /// The platform or network failed for now: try again later.
    #[error("{0}")]
    Unavailable(String),
}

/// Where one channel serves the files its customers send.
#[async_trait]
pub trait MediaSource: Send + Sync {
    fn channel(&self) -> Channel;

    /// The bytes of `attachment` of `message`, at most `max_bytes` (larger:
    /// `TooLarge`, without reading the rest). Errors name no URL and no token.
    async fn fetch(
        &self,
        message: &Message,
        attachment: &Attachment,
        max_bytes: u64,
    ) -> Result<Download, FetchError>;
}

/// A short-lived signed URL, and the headers a request to it must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedUrl {
    pub url: String,
    pub expires_at: DateTime<Utc>,
    pub headers: Vec<(String, String)>,
}

/// What the bucket knows of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub size: u64,
    pub content_type: Option<String>,
    /// The name an upload was made with.
    pub filename: Option<String>,
}

/// How a download is served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Serving<'a> {
    pub filename: &'a str,
    pub content_type: &'a str,
    /// Shown in the browser (raster images only), else downloaded.
    pub inline: bool,
}

/// The media bucket.
#[async_trait]
pub trait MediaStore: Send + Sync {
    /// Whether an object is at `key` (the same bytes already stored).
    async fn exists(&self, key: &str) -> Result<bool, ObjectError>;

    /// Stores `bytes` at `key` (encrypted at rest by the bucket).
    async fn put(&self, key: &str, bytes: &[u8], content_type: &str) -> Result<(), ObjectError>;

    /// The bytes at `key`.
    async fn get(&self, key: &str) -> Result<Vec<u8>, ObjectError>;

    /// What the bucket knows of the object at `key`, if there is one.
    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, ObjectError>;

    /// A URL that downloads `key` until `expires_at`, with the headers `serving`
    /// names.
    async fn download_url(
        &self,
        key: &str,
        serving: &Serving<'_>,
        now: DateTime<Utc>,
    ) -> Result<SignedUrl, ObjectError>;

    /// A URL that uploads exactly `size` bytes of `content_type` to `key`, named
    /// `filename` (the headers it names must be sent as given).
    async fn upload_url(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        filename: &str,
        now: DateTime<Utc>,
    ) -> Result<SignedUrl, ObjectError>;

    /// Deletes every object under `prefix`; how many.
    async fn delete_prefix(&self, prefix: &str) -> Result<usize, ObjectError>;
}

/// What the capture writes to the table.
#[async_trait]
pub trait MediaRecords: Send + Sync {
    /// The stored message at `key`, if any. One consistent GetItem.
    async fn read_message(&self, key: &MessageKey) -> Result<Option<Message>, StoreError>;

    /// Replaces the attachments of the stored media message at `key`. One
    /// UpdateItem; `NotFound` when the message is gone (erased).
    async fn set_attachments(
        &self,
        key: &MessageKey,
        attachments: &[Attachment],
    ) -> Result<(), StoreError>;
}
