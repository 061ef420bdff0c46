//! The SQS adapter of the retry queue: an auto-reply the channel refused for now is
//! handed back to the auto-reply function after `DelaySeconds`. The body names the
//! message only by its key (no text, no phone number, no address).

use crate::ports::{MessageRetry, QueueError, RetryQueue};
use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::DisplayErrorContext;

#[derive(Clone)]
pub struct SqsRetryQueue {
    client: Client,
    url: String,
}

impl SqsRetryQueue {
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        SqsRetryQueue {
            client,
            url: url.into(),
        }
    }

    /// The adapter over the SDK configuration `main` loaded (`crate::sdk::load`).
    pub fn from_config(config: &crate::sdk::SdkConfig, url: impl Into<String>) -> Self {
        Self::new(Client::new(config), url)
    }
}

/// Reads a retry from a queue message's body.
pub fn parse_retry(body: &str) -> Result<MessageRetry, serde_json::Error> {
    serde_json::from_str(body)
}

#[async_trait]
impl RetryQueue for SqsRetryQueue {
    async fn schedule(&self, retry: &MessageRetry, delay_secs: u64) -> Result<(), QueueError> {
        let body = serde_json::to_string(retry).map_err(|e| QueueError(e.to_string()))?;
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .delay_seconds(delay_secs.min(crate::autoreply::MAX_RETRY_DELAY_SECS) as i32)
            .send()
            .await
            .map_err(|e| {
                QueueError(
                    DisplayErrorContext(&e)
                        .to_string()
                        .chars()
                        .take(300)
                        .collect(),
                )
            })?;
        Ok(())
    }
}
