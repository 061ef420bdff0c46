//! Settings of the media capture function, read and checked once at cold start.

use super::MediaLimits;
use crate::channels::MediaSources;
use crate::env::{self, ConfigError, Lookup};
use crate::ports::ObjectReader;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct MediaConfig {
    pub table_name: String,
    /// The media bucket (`MEDIA_BUCKET`).
    pub bucket: String,
    pub limits: MediaLimits,
    /// The SQS queue that hands a capture back after a delay
    /// (`MEDIA_RETRY_QUEUE_URL`); without it the stream retries the record.
    pub retry_queue_url: Option<String>,
    pub sources: MediaSources,
}

impl MediaConfig {
    /// `objects` reads the mail SES stored (email attachments).
    pub fn load(env: Lookup, objects: &Arc<dyn ObjectReader>) -> Result<Self, ConfigError> {
        Ok(MediaConfig {
            table_name: crate::config::table_name(env)?,
            bucket: bucket(env)?,
            limits: MediaLimits::load(env)?,
            retry_queue_url: env::optional(env, "MEDIA_RETRY_QUEUE_URL"),
            sources: MediaSources::load(env, objects)?,
        })
    }
}

/// `MEDIA_BUCKET`: an S3 bucket name.
pub fn bucket(env: Lookup) -> Result<String, ConfigError> {
    let name = env::required(env, "MEDIA_BUCKET")?;
    let ok = (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'.'));
    if !ok {
        return Err(ConfigError::new(
            "MEDIA_BUCKET",
            "must be an S3 bucket name: 3-63 characters of a-z, 0-9, '-', '.'",
        ));
    }
    Ok(name)
}
