//! Off-hours auto-reply, fed by the table's stream (filtered to new inbound customer
//! messages). For a message sent outside business hours it sends one auto-reply per
//! customer per off-hours period, and at most `daily_cap` in any 24 hours, never to
//! a machine (the loop guard); conditional writes decide, so stream retries and
//! duplicates never send twice.

use asyncdesk::config::AutoReplyConfig;
use asyncdesk::conversation::{Author, FLOOD_PER_MINUTE, Message};
use asyncdesk::deliver::deliver;
use asyncdesk::hours::{BusinessHours, CustomerZone, Moment, Recipient};
use asyncdesk::loop_guard;
use asyncdesk::ports::{
    AutoReplyClaim, ConversationStore, Outbound, Outgoing, ReplyContext, SendError, StoreError,
};
use asyncdesk::store::items;
use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use chrono::{DateTime, Duration, Utc};
use tracing::{error, info, warn};

pub struct AutoReply<S, O> {
    pub store: S,
    pub outbound: O,
    pub hours: BusinessHours,
    pub max_age: Duration,
    /// Auto-replies per customer in any 24 hours.
    pub daily_cap: u32,
    /// Auto-replies in any clock hour, for the whole deployment.
    pub hourly_cap: u32,
    /// Our own addresses (the loop guard never answers them).
    pub own_addresses: Vec<String>,
}

impl<S: ConversationStore, O: Outbound> AutoReply<S, O> {
    pub fn new(store: S, outbound: O, config: &AutoReplyConfig) -> Self {
        AutoReply {
            store,
            outbound,
            hours: config.hours.clone(),
            max_age: config.max_age,
            daily_cap: config.daily_cap,
            hourly_cap: config.hourly_cap,
            own_addresses: config.own_addresses.clone(),
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
    SendTransient(SendError),
    #[error("record is not a readable message: {0}")]
    Unreadable(String),
}

impl RecordError {
    /// Whether the record should be handed back to Lambda for a retry.
    pub fn retry(&self) -> bool {
        !matches!(
            self,
            RecordError::Unreadable(_)
                | RecordError::Store(StoreError::Corrupt(_) | StoreError::Invalid(_))
        )
    }
}

/// The function's two events: the table's stream (auto-replies) and the schedule
/// that wakes snoozed conversations (every minute).
pub async fn handle_event<S: ConversationStore, O: Outbound>(
    event: serde_json::Value,
    deps: &AutoReply<S, O>,
    now: DateTime<Utc>,
) -> Result<serde_json::Value, RecordError> {
    if event.get("Records").is_some() {
        let event: Event = serde_json::from_value(event)
            .map_err(|e| RecordError::Unreadable(format!("not a DynamoDB stream event: {e}")))?;
        let response = handle_batch(event, deps, now).await;
        return Ok(serde_json::to_value(response).unwrap_or_default());
    }
    if event.get("redrive").and_then(|s| s.as_str()) == Some("auto-reply") {
        return Ok(redrive(deps, now).await?);
    }
    if event.get("source").and_then(|s| s.as_str()) == Some("aws.events") {
        let woken = deps.store.wake_snoozed(now).await?;
        if woken > 0 {
            info!(
                event = "woken",
                count = woken,
                "snoozed conversations reopened"
            );
        }
        return Ok(serde_json::json!({ "woken": woken }));
    }
    Err(RecordError::Unreadable(
        "neither a stream batch nor the schedule".into(),
    ))
}

/// `{"redrive": "auto-reply"}`: runs the messages whose auto-reply the stream gave
/// up on through the same decision again (docs/operations.md, "Failures and
/// redrive"). Claims make a message already answered a no-op; one too old is
/// skipped. What fails again for a passing reason stays kept.
pub async fn redrive<S: ConversationStore, O: Outbound>(
    deps: &AutoReply<S, O>,
    now: DateTime<Utc>,
) -> Result<serde_json::Value, StoreError> {
    let (mut redriven, mut replied, mut left) = (0, 0, 0);
    for message in deps.store.kept_for_redrive(100).await? {
        match auto_reply_to(&message, deps, now).await {
            Err(e) if e.retry() => {
                warn!(error = %e, "redrive failed again; kept");
                left += 1;
                continue;
            }
            Ok(Outcome::Replied { .. }) => replied += 1,
            _ => {}
        }
        deps.store.redriven(&message).await?;
        redriven += 1;
    }
    info!(
        event = "redrive",
        redriven, replied, left, "kept messages redriven"
    );
    Ok(serde_json::json!({ "redriven": redriven, "replied": replied, "left": left }))
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
    let outcome = auto_reply_to(&message, deps, now).await;
    // Lambda will retry the record, and may give up on it: keep the message for a
    // redrive beyond the stream's 24 hours (a later success makes it a no-op).
    if let Err(e) = &outcome
        && e.retry()
        && let Err(kept) = deps.store.keep_for_redrive(&message, now).await
    {
        warn!(error = %kept, "the failed message could not be kept for a redrive");
    }
    let channel = message.endpoint.channel.as_str();
    match &outcome {
        Ok(Outcome::Replied { .. }) => {
            asyncdesk::metrics::emit(&[("Channel", channel)], &[("AutoReplied", 1)])
        }
        Ok(Outcome::Skipped(reason)) => asyncdesk::metrics::emit(
            &[("Channel", channel), ("Reason", reason)],
            &[("AutoReplySkipped", 1)],
        ),
        Ok(Outcome::SendRejected) | Err(_) => {}
    }
    outcome
}

/// The auto-reply decision for one stored inbound message.
pub async fn auto_reply_to<S: ConversationStore, O: Outbound>(
    message: &Message,
    deps: &AutoReply<S, O>,
    now: DateTime<Utc>,
) -> Result<Outcome, RecordError> {
    // The channel decided when parsing (`wants_answer`): a customer message that asks
    // for a reply, from a person, in a one-to-one chat. The stream filter matches it.
    if message.author != Author::Customer || !message.wants_answer {
        return Ok(Outcome::Skipped(
            "not a customer message that wants an answer",
        ));
    }
    // The one loop guard, asked again with our own addresses: a machine, a bounce,
    // a list, a bot or we ourselves never get an auto-reply.
    if let Some(reason) = loop_guard::check(message, &deps.own_addresses) {
        info!(event = "loop_guard", conversation = %message.conversation_id, reason = reason.as_str(), "no auto-reply");
        return Ok(Outcome::Skipped("the loop guard refuses this sender"));
    }
    if !deps.outbound.enabled(message.endpoint.channel) {
        return Ok(Outcome::Skipped("no sender configured for the channel"));
    }
    // A platform clock ahead of ours cannot date a message after we received it.
    let sent_at = message.sent_at.min(message.stored_at);
    if now - sent_at > deps.max_age {
        return Ok(Outcome::Skipped("message too old for an auto-reply"));
    }
    let period = match deps.hours.moment(sent_at) {
        Moment::Open => return Ok(Outcome::Skipped("sent within business hours")),
        Moment::ClosedBeyondHorizon => {
            return Ok(Outcome::Skipped(
                "no opening within a year: nothing truthful to promise",
            ));
        }
        Moment::Closed(period) => period,
    };
    let conversation = &message.conversation_id;
    // Claims are per customer, not per conversation: an email customer with several
    // threads still gets one auto-reply per period.
    let customer = message.endpoint.conversation_id();
    // A sender writing more than FLOOD_PER_MINUTE messages a minute: the rest are
    // stored, marked and answered by nobody but an agent.
    let minute = sent_at.format("%Y-%m-%dT%H:%M").to_string();
    if deps
        .store
        .count_intake(&customer, &minute, now + Duration::days(1))
        .await?
        > FLOOD_PER_MINUTE
    {
        deps.store.mark_flood(message).await?;
        warn!(event = "flood", conversation = %conversation, "sender over the per-minute intake limit");
        return Ok(Outcome::Skipped(
            "the sender wrote more than 60 messages in a minute",
        ));
    }
    let key = period.key();
    // The claim outlives the period by a week, then TTL removes it.
    let slot = match deps
        .store
        .claim_auto_reply(
            &customer,
            &key,
            now,
            period.opens_at + Duration::days(7),
            deps.daily_cap,
        )
        .await?
    {
        AutoReplyClaim::Claimed { slot } => slot,
        AutoReplyClaim::PeriodTaken => {
            return Ok(Outcome::Skipped(
                "already auto-replied to this customer in this off-hours period",
            ));
        }
        AutoReplyClaim::DailyCapReached => {
            info!(event = "daily_cap", conversation = %conversation, cap = deps.daily_cap, "no auto-reply");
            return Ok(Outcome::Skipped(
                "the customer's daily auto-reply cap is reached",
            ));
        }
    };
    // The deployment's hourly cap bounds what a flood of senders can make us send.
    let hour = now.format("%Y-%m-%dT%H").to_string();
    if !deps
        .store
        .claim_hourly_auto_reply(&hour, deps.hourly_cap, now + Duration::days(2))
        .await?
    {
        deps.store.release_auto_reply(&customer, &key, slot).await?;
        warn!(event = "hourly_cap", conversation = %conversation, cap = deps.hourly_cap, "no auto-reply");
        return Ok(Outcome::Skipped(
            "the deployment's hourly auto-reply cap is reached",
        ));
    }
    let outgoing = Outgoing {
        conversation: conversation.clone(),
        covers: None,
        endpoint: message.endpoint.clone(),
        author: Author::AutoReply,
        template: None,
        promise: Some(period.reply_by),
        text: deps.hours.auto_reply_text(
            &period,
            &Recipient {
                channel: Some(message.endpoint.channel),
                language: message.sender.language.as_deref(),
                name: message.sender.name.as_deref(),
                zone: message.sender.zone.as_deref().and_then(CustomerZone::parse),
            },
        ),
        reply: Some(ReplyContext::to_message(message)),
    };
    let delivered = match deliver(
        &deps.store,
        &deps.outbound,
        &outgoing,
        now,
        asyncdesk::deliver::AUTO_REPLY_SEND_BUDGET,
    )
    .await
    {
        Ok(d) => d,
        Err(e) => {
            // Nothing went out: give the claim back and let Lambda retry the record.
            deps.store.release_auto_reply(&customer, &key, slot).await?;
            return Err(e.into());
        }
    };
    match delivered.result {
        Ok(()) => {
            let provider_message_id = delivered
                .messages
                .first()
                .and_then(|m| m.provider_message_id.clone())
                .unwrap_or_default();
            // Our message id, not the channel's: a Telegram id carries the chat id.
            let message_id = delivered.messages.first().map(|m| m.id.as_str());
            info!(
                event = "auto-replied",
                conversation = %conversation,
                period = %key,
                reply_by = %deps.hours.render_reply_by(period.reply_by),
                message_id = message_id.unwrap_or_default(),
                "off-hours auto-reply sent"
            );
            Ok(Outcome::Replied {
                provider_message_id,
            })
        }
        // Nothing was delivered: give the claim back so the retry can send (the
        // failed attempt stays in the thread).
        Err(e) if e.is_transient() && delivered.messages.len() <= 1 => {
            deps.store.release_auto_reply(&customer, &key, slot).await?;
            Err(RecordError::SendTransient(e))
        }
        // The customer may have it (unconfirmed) or the channel refused it for good:
        // at most once, so the claim stays.
        Err(e) => {
            warn!(conversation = %conversation, error = %e, "auto-reply not delivered");
            Ok(Outcome::SendRejected)
        }
    }
}
