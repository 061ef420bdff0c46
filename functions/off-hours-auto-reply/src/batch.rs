//! The function's two batches. A stream batch runs its customers at once (at most
//! `CONCURRENCY`), each customer's records in order; the retry queue's batch runs
//! its retries the same way. Failures are reported per record (Lambda's
//! ReportBatchItemFailures), so only they come back.

use crate::decide::answer;
use crate::{AutoReply, Outcome, RecordError, Store, auto_reply_to};
use asyncdesk::conversation::Message;
use asyncdesk::ports::Outbound;
use asyncdesk::retries::parse_retry;
use asyncdesk::store::items;
use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use std::collections::HashMap;
use tracing::{error, info, warn};

/// Customers a batch runs at once. With the stream's parallelization factor (10
/// batches per shard at once), a shard runs up to 10 x 32 auto-replies at a time;
/// the channels' own rates are the limit (their 429s go to the retry queue).
pub const CONCURRENCY: usize = 32;

/// Handles one stream batch, reporting the records to retry (ReportBatchItemFailures).
pub async fn handle_batch<S: Store, O: Outbound>(
    event: Event,
    deps: &AutoReply<S, O>,
    now: DateTime<Utc>,
) -> DynamoDbEventResponse {
    // Records by customer, in stream order; a record that is no message goes alone.
    let mut groups: Vec<Vec<EventRecord>> = Vec::new();
    let mut by_customer: HashMap<String, usize> = HashMap::new();
    for record in event.records {
        let customer = customer_of(&record);
        match customer.and_then(|c| by_customer.get(&c).copied().map(|i| (c, i))) {
            Some((_, i)) => groups[i].push(record),
            None => {
                if let Some(c) = customer_of(&record) {
                    by_customer.insert(c, groups.len());
                }
                groups.push(vec![record]);
            }
        }
    }
    let failed: Vec<String> = futures_util::stream::iter(groups)
        .map(|group| async move {
            let mut failed = Vec::new();
            for record in group {
                let sequence = record.change.sequence_number.clone();
                match handle_record(record, deps, now).await {
                    Ok(Outcome::Skipped(reason)) => {
                        info!(event = "skipped", reason, "no auto-reply")
                    }
                    Ok(_) => {}
                    Err(e) if e.retry() => {
                        warn!(error = %e, "record failed; Lambda will retry it");
                        failed.extend(sequence);
                        // The customer's later records come again after it.
                        break;
                    }
                    Err(e) => error!(error = %e, "record dropped"),
                }
            }
            failed
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .flatten()
        .collect();
    let mut response = DynamoDbEventResponse::default();
    for sequence in failed {
        let mut failure = DynamoDbBatchItemFailure::default();
        failure.item_identifier = Some(sequence);
        response.batch_item_failures.push(failure);
    }
    response
}

/// The customer a stream record's message comes from, or the conversation a
/// conversation item's change is about (`None`: neither).
fn customer_of(record: &EventRecord) -> Option<String> {
    if crate::waits::is_conversation(record) {
        return crate::waits::conversation_of(record);
    }
    let image = record.change.new_image.clone();
    let message = items::message_from_image(image).ok()??;
    Some(message.endpoint.conversation_id().as_str().to_string())
}

pub async fn handle_record<S: Store, O: Outbound>(
    record: EventRecord,
    deps: &AutoReply<S, O>,
    now: DateTime<Utc>,
) -> Result<Outcome, RecordError> {
    if crate::waits::is_conversation(&record) {
        return crate::waits::record(&record, deps).await;
    }
    if record.event_name != "INSERT" {
        return Ok(Outcome::Skipped("not a new item"));
    }
    let Some(message) = items::message_from_image(record.change.new_image)
        .map_err(|e| RecordError::Unreadable(e.to_string()))?
    else {
        return Ok(Outcome::Skipped("not a message"));
    };
    let outcome = auto_reply_to(&message, deps, now).await;
    keep_if_failed(&message, &outcome, deps, now).await;
    emit(&message, &outcome);
    outcome
}

/// Lambda will retry the record, and may give up on it: keep the message for a
/// redrive beyond the stream's 24 hours (a later success makes it a no-op).
async fn keep_if_failed<S: Store, O: Outbound>(
    message: &Message,
    outcome: &Result<Outcome, RecordError>,
    deps: &AutoReply<S, O>,
    now: DateTime<Utc>,
) {
    if let Err(e) = outcome
        && e.retry()
        && let Err(kept) = deps.store.keep_for_redrive(message, now).await
    {
        warn!(error = %kept, "the failed message could not be kept for a redrive");
    }
}

fn emit(message: &Message, outcome: &Result<Outcome, RecordError>) {
    let channel = message.endpoint.channel.as_str();
    match outcome {
        Ok(Outcome::Replied { .. }) => {
            asyncdesk::metrics::emit(&[("Channel", channel)], &[("AutoReplied", 1)])
        }
        Ok(Outcome::Retrying { .. }) => {
            asyncdesk::metrics::emit(&[("Channel", channel)], &[("AutoReplyRetried", 1)])
        }
        Ok(Outcome::Skipped(reason)) => asyncdesk::metrics::emit(
            &[("Channel", channel), ("Reason", reason)],
            &[("AutoReplySkipped", 1)],
        ),
        Ok(Outcome::SendRejected | Outcome::Waits(_)) | Err(_) => {}
    }
}

/// Handles a batch of the retry queue: each retry names the message whose
/// auto-reply waits; its owned claim is resumed. Failures come back after the
/// queue's visibility timeout.
pub async fn handle_retries<S: Store, O: Outbound>(
    event: SqsEvent,
    deps: &AutoReply<S, O>,
    now: DateTime<Utc>,
) -> SqsBatchResponse {
    let failed: Vec<String> = futures_util::stream::iter(event.records)
        .map(|record| async move {
            let id = record.message_id.clone().unwrap_or_default();
            let Some(retry) = record.body.as_deref().and_then(|b| parse_retry(b).ok()) else {
                error!("retry queue message unreadable; dropped");
                return None;
            };
            let outcome = match deps.store.get_message(&retry.message).await {
                // Erased meanwhile: nothing to answer.
                Ok(None) => Ok(Outcome::Skipped("the message is gone")),
                Ok(Some(message)) => {
                    let outcome = answer(&message, deps, now, true).await;
                    keep_if_failed(&message, &outcome, deps, now).await;
                    emit(&message, &outcome);
                    outcome
                }
                Err(e) => Err(e.into()),
            };
            match outcome {
                Ok(Outcome::Skipped(reason)) => {
                    info!(event = "skipped", reason, "no auto-reply on retry");
                    None
                }
                Ok(_) => None,
                Err(e) if e.retry() => {
                    warn!(error = %e, "retry failed; the queue hands it back");
                    Some(id)
                }
                Err(e) => {
                    error!(error = %e, "retry dropped");
                    None
                }
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
