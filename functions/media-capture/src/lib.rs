//! Media capture, fed by the table's stream (new customer messages with files) and
//! by its retry queue. Each pending attachment is copied from its platform into the
//! media bucket (`asyncdesk::media::capture`) and the message's attachments are
//! rewritten with what happened (one UpdateItem). A platform that fails for now
//! sends the message to the retry queue (1, 5, then 15 minutes); after
//! `MAX_ATTEMPTS` the file is `failed`. The webhook never waits for any of it.

use asyncdesk::channels::MediaSources;
use asyncdesk::conversation::{MediaState, Message};
use asyncdesk::media::MediaLimits;
use asyncdesk::media::capture::{capture, retry_delay_secs};
use asyncdesk::ports::{
    MediaRecords, MediaStore, MessageKey, MessageRetry, ObjectError, QueueError, RetryQueue,
    StoreError,
};
use asyncdesk::retries::parse_retry;
use asyncdesk::store::items;
use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use futures_util::StreamExt;
use std::sync::Arc;
use tracing::{error, info, warn};

/// Messages captured at once (each holds at most the per-message cap in memory).
pub const CONCURRENCY: usize = 4;

pub struct MediaCapture<S> {
    pub store: S,
    pub sources: MediaSources,
    pub bucket: Arc<dyn MediaStore>,
    pub limits: MediaLimits,
    /// Where a capture that failed for now waits; without one the stream retries.
    pub retries: Option<Arc<dyn RetryQueue>>,
}

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Bucket(#[from] ObjectError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error("a platform failed for now; the record is retried")]
    Later,
    #[error("not a readable event: {0}")]
    Unreadable(String),
}

impl CaptureError {
    /// Whether the record should be handed back for a retry.
    pub fn retry(&self) -> bool {
        !matches!(
            self,
            CaptureError::Unreadable(_)
                | CaptureError::Store(StoreError::Corrupt(_) | StoreError::Invalid(_))
        )
    }
}

/// What a capture did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every attachment is final (stored, too large, failed or blocked).
    Done {
        stored: usize,
    },
    /// Some wait for the retry queue's next attempt.
    Retrying {
        delay_secs: u64,
    },
    Skipped(&'static str),
}

/// The function's events: the stream's batches and the retry queue's.
pub async fn handle_event<S: MediaRecords>(
    event: serde_json::Value,
    deps: &MediaCapture<S>,
) -> Result<serde_json::Value, CaptureError> {
    let records = event
        .get("Records")
        .and_then(|r| r.as_array())
        .ok_or_else(|| {
            CaptureError::Unreadable("neither a stream batch nor the retry queue".into())
        })?;
    let source = records
        .first()
        .and_then(|r| r.get("eventSource"))
        .and_then(|s| s.as_str());
    if source == Some("aws:sqs") {
        let event = serde_json::from_value(event)
            .map_err(|e| CaptureError::Unreadable(format!("not an SQS event: {e}")))?;
        return Ok(serde_json::to_value(handle_retries(event, deps).await).unwrap_or_default());
    }
    let event = serde_json::from_value(event)
        .map_err(|e| CaptureError::Unreadable(format!("not a DynamoDB stream event: {e}")))?;
    Ok(serde_json::to_value(handle_batch(event, deps).await).unwrap_or_default())
}

/// A stream batch: the new media messages, a few at once. A record that fails for
/// now is reported (ReportBatchItemFailures), and so are the ones after it.
pub async fn handle_batch<S: MediaRecords>(
    event: Event,
    deps: &MediaCapture<S>,
) -> DynamoDbEventResponse {
    let results: Vec<(usize, String, bool)> = futures_util::stream::iter(
        event.records.into_iter().enumerate(),
    )
    .map(|(i, record)| async move {
        let sequence = record.change.sequence_number.clone().unwrap_or_default();
        if record.event_name != "INSERT" {
            return (i, sequence, false);
        }
        let message = match items::message_from_image(record.change.new_image) {
            Ok(Some(m)) => m,
            Ok(None) => return (i, sequence, false),
            Err(e) => {
                error!(error = %e, "stream record unreadable; dropped");
                return (i, sequence, false);
            }
        };
        let failed = match capture_key(&MessageKey::of(&message), deps).await {
            Err(e) if e.retry() => {
                warn!(conversation = %message.conversation_id, error = %e, "capture failed; Lambda will retry the record");
                true
            }
            Err(e) => {
                error!(conversation = %message.conversation_id, error = %e, "capture dropped");
                false
            }
            Ok(_) => false,
        };
        (i, sequence, failed)
    })
    .buffered(CONCURRENCY)
    .collect()
    .await;
    let mut response = DynamoDbEventResponse::default();
    // Lambda retries from the first failed record on.
    if let Some((_, sequence, _)) = results.iter().find(|(_, _, failed)| *failed) {
        let mut failure = DynamoDbBatchItemFailure::default();
        failure.item_identifier = Some(sequence.clone());
        response.batch_item_failures.push(failure);
    }
    response
}

/// The retry queue's batch: each names a message whose capture waits.
pub async fn handle_retries<S: MediaRecords>(
    event: SqsEvent,
    deps: &MediaCapture<S>,
) -> SqsBatchResponse {
    let failed: Vec<String> = futures_util::stream::iter(event.records)
        .map(|record| async move {
            let id = record.message_id.clone().unwrap_or_default();
            let Some(retry) = record.body.as_deref().and_then(|b| parse_retry(b).ok()) else {
                error!("retry queue message unreadable; dropped");
                return None;
            };
            let outcome = capture_key(&retry.message, deps).await;
            match outcome {
                Err(e) if e.retry() => {
                    warn!(error = %e, "capture retry failed; the queue hands it back");
                    Some(id)
                }
                Err(e) => {
                    error!(error = %e, "capture retry dropped");
                    None
                }
                Ok(_) => None,
            }
        })
        .buffer_unordered(CONCURRENCY)
        .filter_map(|f| async move { f })
        .collect()
        .await;
    let mut response = SqsBatchResponse::default();
    for id in failed {
        let mut failure = BatchItemFailure::default();
        failure.item_identifier = id;
        response.batch_item_failures.push(failure);
    }
    response
}

/// Captures the pending attachments of the message at `key`, read again from the
/// table (consistent): a redelivered stream record or a late retry finds them
/// stored already and fetches nothing.
pub async fn capture_key<S: MediaRecords>(
    key: &MessageKey,
    deps: &MediaCapture<S>,
) -> Result<Outcome, CaptureError> {
    match deps.store.read_message(key).await? {
        None => Ok(Outcome::Skipped("the message is gone")),
        Some(message) => capture_message(&message, deps).await,
    }
}

/// Captures one message's pending attachments (as `message` has them) and records
/// what happened.
pub async fn capture_message<S: MediaRecords>(
    message: &Message,
    deps: &MediaCapture<S>,
) -> Result<Outcome, CaptureError> {
    let pending = message
        .content
        .attachments()
        .iter()
        .any(|a| !a.state.is_some_and(MediaState::is_final));
    if !pending {
        return Ok(Outcome::Skipped("no pending attachment"));
    }
    let source = deps.sources.get(message.endpoint.channel);
    let captured = capture(message, source, deps.bucket.as_ref(), deps.limits).await?;
    let key = MessageKey::of(message);
    if captured.changed {
        match deps
            .store
            .set_attachments(&key, &captured.attachments)
            .await
        {
            // Erased meanwhile: the erasure removed its objects too (or will).
            Err(StoreError::NotFound(_)) => return Ok(Outcome::Skipped("the message is gone")),
            other => other?,
        }
    }
    let count = |s: MediaState| {
        captured
            .attachments
            .iter()
            .filter(|a| a.state == Some(s))
            .count()
    };
    info!(
        event = "media",
        channel = message.endpoint.channel.as_str(),
        conversation = %message.conversation_id,
        stored = count(MediaState::Stored),
        new_objects = captured.stored_objects,
        too_large = count(MediaState::TooLarge),
        failed = count(MediaState::Failed),
        pending = count(MediaState::Pending),
        "attachments captured"
    );
    if !captured.retry {
        return Ok(Outcome::Done {
            stored: count(MediaState::Stored),
        });
    }
    let attempts = captured
        .attachments
        .iter()
        .filter(|a| a.state == Some(MediaState::Pending))
        .map(|a| a.attempts)
        .max()
        .unwrap_or(1);
    match &deps.retries {
        Some(queue) => {
            let delay_secs = retry_delay_secs(attempts);
            queue
                .schedule(
                    &MessageRetry {
                        message: key,
                        attempts,
                    },
                    delay_secs,
                )
                .await?;
            Ok(Outcome::Retrying { delay_secs })
        }
        None => Err(CaptureError::Later),
    }
}
