//! Taking in a webhook delivery, the same way for every channel: store each message
//! (deduplicated), apply edits and delivery statuses, and keep what could not be
//! read. Acknowledgements go back in the webhook's answer (the inbound handler).

use crate::conversation::{CustomerProfile, InboundMessage, Rejection, log_id};
use crate::ports::{ConversationStore, InboundBatch, Recorded, StatusApplied, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use tracing::{info, warn};

/// The acknowledgement body of a processed webhook.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Receipt {
    pub messages: usize,
    pub stored: usize,
    pub duplicates: usize,
    pub edits: usize,
    pub statuses: usize,
    pub statuses_applied: usize,
    /// Elements kept raw because they could not be read.
    pub rejected: usize,
    pub ignored: usize,
}

/// Stores `batch`. Stops at the first store failure (the caller answers 5xx and the
/// platform redelivers; what was stored is then recognised as a duplicate).
pub async fn ingest<S: ConversationStore>(
    store: &S,
    batch: &InboundBatch,
    now: DateTime<Utc>,
) -> Result<Receipt, StoreError> {
    let mut receipt = Receipt {
        messages: batch.messages.len(),
        edits: batch.edits.len(),
        statuses: batch.statuses.len(),
        rejected: batch.rejections.len(),
        ignored: batch.ignored,
        ..Receipt::default()
    };
    for inbound in &batch.messages {
        let joined = join_thread(store, inbound).await?;
        let inbound = joined.as_ref().unwrap_or(inbound);
        match store.record_inbound(inbound, now).await {
            Ok(Recorded::Stored) => {
                receipt.stored += 1;
                log_stored(inbound);
            }
            Ok(Recorded::Duplicate) => {
                receipt.duplicates += 1;
                info!(event = "duplicate", conversation = %inbound.message.conversation_id, message_id = %log_id(&inbound.message.id), "already stored");
            }
            // The table will never take it: keep it as a rejection, so the platform
            // gets its 200 and stops sending it again.
            Err(StoreError::Invalid(reason)) => {
                let m = &inbound.message;
                warn!(event = "rejected", channel = m.endpoint.channel.as_str(), conversation = %m.conversation_id, message_id = %log_id(&m.id), "the table refused the message for good: kept as a rejection");
                store
                    .record_rejection(&Rejection {
                        channel: m.endpoint.channel,
                        business_id: Some(m.endpoint.business_id.clone()),
                        path: format!("message {}", log_id(&m.id)),
                        reason,
                        raw: serde_json::to_string(m).unwrap_or_default(),
                        received_at: m.stored_at,
                    })
                    .await?;
                receipt.rejected += 1;
            }
            Err(e) => return Err(e),
        }
    }
    for edit in &batch.edits {
        let recorded = store.record_edit(edit, now).await?;
        info!(event = "edited", conversation = %edit.message.conversation_id, message_id = %log_id(&edit.message.id), applied = recorded == Recorded::Stored, "message edit");
    }
    for rejection in &batch.rejections {
        store.record_rejection(rejection).await?;
        warn!(event = "rejected", channel = %rejection.channel, path = %rejection.path, "webhook element kept raw");
    }
    for status in &batch.statuses {
        match store.apply_status(status).await? {
            StatusApplied::Applied => {
                receipt.statuses_applied += 1;
                info!(event = "status", provider_message_id = %log_id(&status.provider_message_id), state = status.state.as_str(), "delivery status updated");
            }
            StatusApplied::Stale => {}
            StatusApplied::Parked => {
                info!(event = "status_parked", provider_message_id = %log_id(&status.provider_message_id), state = status.state.as_str(), "status for a message not stored (yet): kept for its final write")
            }
        }
    }
    let channel = batch
        .messages
        .first()
        .map(|m| m.message.endpoint.channel)
        .or_else(|| batch.rejections.first().map(|r| r.channel))
        .or_else(|| batch.statuses.first().map(|s| s.channel));
    if let Some(channel) = channel {
        crate::metrics::emit(
            &[("Channel", channel.as_str())],
            &[
                ("Received", receipt.messages as u64),
                ("Stored", receipt.stored as u64),
                ("Duplicate", receipt.duplicates as u64),
                ("Rejected", receipt.rejected as u64),
                ("StatusApplied", receipt.statuses_applied as u64),
            ],
        );
    }
    Ok(receipt)
}

/// The message as it is to be stored after its thread lookup (none when the
/// channel asked for none): in the first conversation found that its authenticated
/// sender takes part in, as a participant that changes nothing of the
/// conversation's customer unless it is that customer; else in its own
/// conversation, `related_to` the best one found. `None` keeps the channel's.
async fn join_thread<S: ConversationStore>(
    store: &S,
    inbound: &InboundMessage,
) -> Result<Option<InboundMessage>, StoreError> {
    if inbound.thread_lookup.is_empty() && inbound.thread_token.is_none() {
        return Ok(None);
    }
    let m = &inbound.message;
    let found = store
        .find_thread(
            m.endpoint.channel,
            &m.endpoint.business_id,
            inbound.thread_token.as_ref(),
            &inbound.thread_lookup,
        )
        .await?;
    let sender = inbound.authenticated_sender.as_deref();
    let joined = sender.and_then(|sender| found.iter().find(|c| c.admits(sender)));
    let mut out = inbound.clone();
    match joined {
        Some(c) if c.id == m.conversation_id => return Ok(None),
        Some(c) => {
            out.message.conversation_id = c.id.clone();
            if sender.is_none_or(|s| !c.customer_id.eq_ignore_ascii_case(s)) {
                // Someone else in the thread: the customer stays who they are.
                out.customer = CustomerProfile::default();
            }
        }
        None => match found.into_iter().find(|c| c.id != m.conversation_id) {
            Some(other) => {
                info!(event = "thread_refused", conversation = %m.conversation_id, related_to = %other.id, verified = sender.is_some(), "sender not in the thread found: a conversation of its own");
                out.related_to = Some(other.id);
            }
            None => return Ok(None),
        },
    }
    Ok(Some(out))
}

fn log_stored(inbound: &InboundMessage) {
    let m = &inbound.message;
    // Debug: the metric line counts stored messages; a line per message would
    // double what a message costs in logs (docs/cost.md, "Logs").
    tracing::debug!(
        event = "stored",
        channel = m.endpoint.channel.as_str(),
        conversation = %m.conversation_id,
        message_id = %log_id(&m.id),
        kind = m.content.kind(),
        "message stored"
    );
}
