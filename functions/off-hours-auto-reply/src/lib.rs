//! Off-hours auto-reply, fed by the table's stream (filtered to new inbound customer
//! messages) and by its retry queue. For a message sent outside business hours it
//! sends one auto-reply per customer per off-hours period, and at most `daily_cap`
//! in any 24 hours, never to a machine (the loop guard). The customer's claim, one
//! conditional write, decides and names the message it sends, so stream retries,
//! duplicates and queue retries never send twice; a send the channel refuses for
//! now (429) goes back to the retry queue and is tried again within its promise.

mod batch;
mod decide;
mod send;
mod tokens;
mod waits;

pub use batch::{CONCURRENCY, handle_batch, handle_record, handle_retries};
pub use decide::auto_reply_to;
pub use tokens::HourlyTokens;

use asyncdesk::channels::web::continuity::{self, Continuity};
use asyncdesk::config::AutoReplyConfig;
use asyncdesk::hours::BusinessHours;
use asyncdesk::ports::{
    AutoReplyClaims, ConversationStore, Outbound, QueueError, RetryQueue, SendError, StoreError,
    WaitStore, WebMailStore, WidgetStore,
};
use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;
use tracing::{info, warn};

/// The store the auto-reply needs: the conversation table, its claims, (for the
/// website chat's mail sweep) the visitors' threads and mail watches, and the
/// reports' waits.
pub trait Store:
    ConversationStore + AutoReplyClaims + WidgetStore + WebMailStore + WaitStore
{
}
impl<T: ConversationStore + AutoReplyClaims + WidgetStore + WebMailStore + WaitStore> Store for T {}

pub struct AutoReply<S, O> {
    pub store: S,
    pub outbound: O,
    pub hours: BusinessHours,
    pub max_age: Duration,
    /// Auto-replies per customer in any 24 hours.
    pub daily_cap: u32,
    /// Auto-replies in any clock hour, for the whole deployment.
    pub hourly_cap: HourlyTokens,
    /// Our own addresses (the loop guard never answers them).
    pub own_addresses: Vec<String>,
    /// Where a send the channel refused for now waits for its next attempt; without
    /// one, the stream retries the record.
    pub retries: Option<Arc<dyn RetryQueue>>,
    /// The website chat's replies a visitor left behind, mailed by the schedule
    /// (with the website chat and email on).
    pub continuity: Option<Continuity>,
}

impl<S: Store, O: Outbound> AutoReply<S, O> {
    pub fn new(store: S, outbound: O, config: &AutoReplyConfig) -> Self {
        AutoReply {
            store,
            outbound,
            hours: config.hours.clone(),
            max_age: config.max_age,
            daily_cap: config.daily_cap,
            hourly_cap: HourlyTokens::new(config.hourly_cap),
            own_addresses: config.own_addresses.clone(),
            retries: None,
            continuity: config.continuity.clone(),
        }
    }

    pub fn with_retries(mut self, queue: Arc<dyn RetryQueue>) -> Self {
        self.retries = Some(queue);
        self
    }
}

/// What happened to one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Replied {
        provider_message_id: String,
    },
    /// The channel refused the auto-reply for good, or its outcome is unknown;
    /// recorded in the thread, never sent again.
    SendRejected,
    /// The channel refused for now; the retry queue tries again in `delay_secs`.
    Retrying {
        delay_secs: u64,
    },
    Skipped(&'static str),
    /// A conversation's change, written to the reports' waits (how many changes).
    Waits(usize),
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("send failed, will retry: {0}")]
    SendTransient(SendError),
    #[error(transparent)]
    Queue(#[from] QueueError),
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

/// The function's events: the table's stream (auto-replies), its retry queue, the
/// schedule that wakes snoozed conversations (every minute), and a redrive.
pub async fn handle_event<S: Store, O: Outbound>(
    event: serde_json::Value,
    deps: &AutoReply<S, O>,
    now: DateTime<Utc>,
) -> Result<serde_json::Value, RecordError> {
    if let Some(records) = event.get("Records").and_then(|r| r.as_array()) {
        let source = records
            .first()
            .and_then(|r| r.get("eventSource"))
            .and_then(|s| s.as_str());
        if source == Some("aws:sqs") {
            let event = serde_json::from_value(event)
                .map_err(|e| RecordError::Unreadable(format!("not an SQS event: {e}")))?;
            let response = handle_retries(event, deps, now).await;
            return Ok(serde_json::to_value(response).unwrap_or_default());
        }
        let event = serde_json::from_value(event)
            .map_err(|e| RecordError::Unreadable(format!("not a DynamoDB stream event: {e}")))?;
        let response = handle_batch(event, deps, now).await;
        return Ok(serde_json::to_value(response).unwrap_or_default());
    }
    if event.get("redrive").and_then(|s| s.as_str()) == Some("auto-reply") {
        return Ok(redrive(deps, now).await?);
    }
    if event.get("source").and_then(|s| s.as_str()) == Some("aws.events") {
        return Ok(schedule(deps, now).await?);
    }
    Err(RecordError::Unreadable(
        "neither a stream batch, the retry queue nor the schedule".into(),
    ))
}

/// The schedule (every minute): reopens the snoozed conversations that are due,
/// and mails the website chat's replies a visitor left behind.
pub async fn schedule<S: Store, O: Outbound>(
    deps: &AutoReply<S, O>,
    now: DateTime<Utc>,
) -> Result<serde_json::Value, StoreError> {
    let woken = deps.store.wake_snoozed(now).await?;
    if woken > 0 {
        info!(
            event = "woken",
            count = woken,
            "snoozed conversations reopened"
        );
    }
    let mailed = match &deps.continuity {
        Some(c) => continuity::mail_unfetched(&deps.store, &deps.outbound, c, now).await?,
        None => 0,
    };
    Ok(serde_json::json!({ "woken": woken, "mailed": mailed }))
}

/// `{"redrive": "auto-reply"}`: runs the messages whose auto-reply the stream gave
/// up on through the same decision again (docs/operations.md, "Failures and
/// redrive"). Claims make a message already answered a no-op; one too old is
/// skipped. What fails again for a passing reason stays kept.
pub async fn redrive<S: Store, O: Outbound>(
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
