//! Off-hours auto-reply, fed by the table's stream (filtered to new inbound customer
//! messages). For a message sent outside business hours it sends one auto-reply per
//! conversation per off-hours period; a conditional write decides, so stream retries
//! and duplicates never send twice.

use asyncdesk::channels::Outbound;
use asyncdesk::config::AutoReplyConfig;
use asyncdesk::conversation::{Direction, Message, MessageKind};
use asyncdesk::hours::BusinessHours;
use asyncdesk::store::{ConversationStore, OutboundEffect, StoreError, items};
use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use chrono::{DateTime, Duration, Utc};
use tracing::{error, info, warn};

/// The author recorded on auto-replies.
pub const AUTO_REPLY_AUTHOR: &str = "asyncdesk";

pub struct AutoReply<S, O> {
    pub store: S,
    pub outbound: O,
    pub hours: BusinessHours,
    pub max_age: Duration,
}

impl<S: ConversationStore, O: Outbound> AutoReply<S, O> {
    pub fn new(store: S, outbound: O, config: &AutoReplyConfig) -> Self {
        AutoReply {
            store,
            outbound,
            hours: config.hours.clone(),
            max_age: config.max_age,
        }
    }
}

/// What happened to one stream record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Replied {
        provider_message_id: String,
    },
    /// The channel refused the auto-reply; recorded as a failed message, not retried.
    SendRejected,
    Skipped(&'static str),
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("send failed, will retry: {0}")]
    SendTransient(asyncdesk::channels::SendError),
    #[error("record is not a readable message: {0}")]
    Unreadable(String),
}

impl RecordError {
    /// Whether the record should be handed back to Lambda for a retry.
    pub fn retry(&self) -> bool {
        !matches!(
            self,
            RecordError::Unreadable(_) | RecordError::Store(StoreError::Corrupt(_))
        )
    }
}

/// Handles one stream batch, reporting the records to retry (ReportBatchItemFailures).
pub async fn handle_batch<S: ConversationStore, O: Outbound>(
    event: Event,
    deps: &AutoReply<S, O>,
    now: DateTime<Utc>,
) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    for record in event.records {
        let sequence = record.change.sequence_number.clone();
        match handle_record(record, deps, now).await {
            Ok(Outcome::Skipped(reason)) => info!(event = "skipped", reason, "no auto-reply"),
            Ok(_) => {}
            Err(e) if e.retry() => {
                warn!(error = %e, "record failed; Lambda will retry it");
                let mut failure = DynamoDbBatchItemFailure::default();
                failure.item_identifier = sequence;
                response.batch_item_failures.push(failure);
            }
            Err(e) => error!(error = %e, "record dropped"),
        }
    }
    response
}

pub async fn handle_record<S: ConversationStore, O: Outbound>(
    record: EventRecord,
    deps: &AutoReply<S, O>,
    now: DateTime<Utc>,
) -> Result<Outcome, RecordError> {
    if record.event_name != "INSERT" {
        return Ok(Outcome::Skipped("not a new item"));
    }
    let Some(message) = items::message_from_image(record.change.new_image)
        .map_err(|e| RecordError::Unreadable(e.to_string()))?
    else {
        return Ok(Outcome::Skipped("not a message"));
    };
    auto_reply_to(&message, deps, now).await
}

/// The auto-reply decision for one stored inbound message.
pub async fn auto_reply_to<S: ConversationStore, O: Outbound>(
    message: &Message,
    deps: &AutoReply<S, O>,
    now: DateTime<Utc>,
) -> Result<Outcome, RecordError> {
    if message.direction != Direction::Inbound || !message.kind.wants_answer() {
        return Ok(Outcome::Skipped(
            "not a customer message that wants an answer",
        ));
    }
    // A platform clock ahead of ours cannot date a message after we received it.
    let sent_at = message.sent_at.min(message.stored_at);
    if now - sent_at > deps.max_age {
        return Ok(Outcome::Skipped("message too old for an auto-reply"));
    }
    let Some(period) = deps.hours.off_hours_period(sent_at) else {
        return Ok(Outcome::Skipped("sent within business hours"));
    };
    let conversation = &message.conversation_id;
    let key = period.key();
    // The claim outlives the period by a week, then TTL removes it.
    if !deps
        .store
        .claim_auto_reply(conversation, &key, now, period.opens_at + Duration::days(7))
        .await?
    {
        return Ok(Outcome::Skipped(
            "already auto-replied in this off-hours period",
        ));
    }
    let text = deps.hours.auto_reply_text(&period);
    let sending = Message::outbound(
        &message.endpoint,
        MessageKind::AutoReply,
        &text,
        AUTO_REPLY_AUTHOR,
        now,
    )
    .sending();
    if let Err(e) = deps.store.record_sending(&sending).await {
        // Nothing went out: give the claim back and let Lambda retry the record.
        deps.store.release_auto_reply(conversation, &key).await?;
        return Err(e.into());
    }
    let result = deps.outbound.send_text(&message.endpoint, &text).await;
    if let Err(e) = &result
        && e.is_transient()
    {
        // Nothing was delivered: give the claim back so the retry can send, and keep
        // the failed attempt in the thread.
        deps.store.release_auto_reply(conversation, &key).await?;
        let attempt = sending.with_send_result(&result);
        if let Err(store) = deps
            .store
            .record_outbound(&attempt, OutboundEffect::KeepStatus, now)
            .await
        {
            warn!(error = %store, conversation = %conversation, "failed auto-reply attempt not recorded");
        }
        return Err(RecordError::SendTransient(e.clone()));
    }
    let reply = sending.with_send_result(&result);
    // The customer has the reply (or the channel refused it for good): a store failure
    // now must not lead to a second send, so it is logged, not retried. The thread
    // keeps the `sending` record.
    if let Err(e) = deps
        .store
        .record_outbound(&reply, OutboundEffect::KeepStatus, now)
        .await
    {
        error!(error = %e, conversation = %conversation, message_id = %reply.id, "auto-reply sent but its outcome not stored");
    }
    match result {
        Ok(sent) => {
            info!(
                event = "auto-replied",
                conversation = %conversation,
                period = %key,
                reply_by = %deps.hours.render_reply_by(period.reply_by),
                provider_message_id = %sent.provider_message_id,
                "off-hours auto-reply sent"
            );
            Ok(Outcome::Replied {
                provider_message_id: sent.provider_message_id,
            })
        }
        Err(e) => {
            warn!(conversation = %conversation, error = %e, "channel refused the auto-reply");
            Ok(Outcome::SendRejected)
        }
    }
}
