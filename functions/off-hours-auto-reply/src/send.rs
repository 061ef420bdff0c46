//! Sending a claimed auto-reply and recording what happened: the outcome in the
//! thread (one transaction), or, when the channel refused for now, the claim back
//! to `Waiting` and the next attempt on the retry queue, within the promise.

use crate::{AutoReply, Outcome, RecordError, Store};
use asyncdesk::autoreply::{self, Claim, Stage};
use asyncdesk::conversation::{Author, ConversationId, Message};
use asyncdesk::deliver::{self, AUTO_REPLY_SEND_BUDGET};
use asyncdesk::hours::{CustomerZone, OffHoursPeriod, Recipient};
use asyncdesk::ports::{
    ClaimWrite, MessageKey, MessageRetry, Outbound, OutboundEffect, Outgoing, ReplyContext,
    SendError, StoreError,
};
use chrono::{DateTime, Utc};
use tokio::time::Instant;
use tracing::{error, info, warn};

/// A claim this message holds, at `Sending`, as written.
pub(crate) struct Claimed<'a> {
    pub customer: &'a ConversationId,
    pub claim: Claim,
    pub expires_at: DateTime<Utc>,
}

fn outgoing<S, O>(message: &Message, period: &OffHoursPeriod, deps: &AutoReply<S, O>) -> Outgoing {
    Outgoing {
        conversation: message.conversation_id.clone(),
        covers: None,
        endpoint: message.endpoint.clone(),
        author: Author::AutoReply,
        template: None,
        promise: Some(period.reply_by),
        files: Vec::new(),
        text: deps.hours.auto_reply_text(
            period,
            &Recipient {
                channel: Some(message.endpoint.channel),
                language: message.sender.language.as_deref(),
                name: message.sender.name.as_deref(),
                zone: message.sender.zone.as_deref().and_then(CustomerZone::parse),
            },
        ),
        reply: Some(ReplyContext::to_message(message)),
    }
}

/// The auto-reply as the thread keeps it: the id and time the claim names.
fn reply_message(outgoing: &Outgoing, claim: &Claim) -> Message {
    let mut m = Message::outbound(
        &outgoing.endpoint,
        Author::AutoReply,
        outgoing.text.trim(),
        claim.reply_at,
    );
    m.id = claim.reply_id.clone();
    m.conversation_id = outgoing.conversation.clone();
    m.promised_reply_by = outgoing.promise;
    m.reply_to = outgoing
        .reply
        .as_ref()
        .and_then(|r| r.provider_message_id.clone());
    m
}

/// Records the outcome in the thread (the conversation gets the promise). A failure
/// here is logged, never a reason to send again.
async fn record<S: Store>(store: &S, message: &Message, now: DateTime<Utc>) {
    if let Err(e) = store
        .record_outbound(message, OutboundEffect::KeepStatus, now)
        .await
    {
        error!(conversation = %message.conversation_id, message_id = %asyncdesk::conversation::log_id(&message.id), error = %e, "auto-reply outcome not recorded");
    }
}

pub(crate) async fn send_claimed<S: Store, O: Outbound>(
    message: &Message,
    claimed: Claimed<'_>,
    period: &OffHoursPeriod,
    deps: &AutoReply<S, O>,
    now: DateTime<Utc>,
) -> Result<Outcome, RecordError> {
    let outgoing = outgoing(message, period, deps);
    let reply = reply_message(&outgoing, &claimed.claim);
    let result = match deliver::parts(&outgoing) {
        Ok(parts) if parts.len() == 1 => {
            let deadline = Instant::now() + AUTO_REPLY_SEND_BUDGET;
            deliver::send_with_retries(&deps.outbound, &outgoing, deadline).await
        }
        Ok(_) => Err(SendError::Rejected(
            asyncdesk::conversation::ProviderError {
                code: None,
                title: "the auto-reply is longer than the channel takes in one message".into(),
                detail: None,
            },
        )),
        Err(e) => Err(e),
    };
    deliver::count_send(message.endpoint.channel, &result);
    let later = match &result {
        Ok(sent) => {
            record(&deps.store, &deliver::with_result(reply, &result), now).await;
            info!(
                event = "auto-replied",
                conversation = %message.conversation_id,
                period = %period.key(),
                reply_by = %deps.hours.render_reply_by(period.reply_by),
                message_id = %claimed.claim.reply_id,
                attempts = claimed.claim.attempts,
                "off-hours auto-reply sent"
            );
            return Ok(Outcome::Replied {
                provider_message_id: sent.provider_message_id.clone(),
            });
        }
        // Nothing went out: the channel may take it later.
        Err(SendError::RateLimited { retry_after, .. }) => *retry_after,
        Err(SendError::Unavailable(_)) => None,
        Err(e) => {
            warn!(conversation = %message.conversation_id, error = %e, "auto-reply not delivered");
            record(&deps.store, &deliver::with_result(reply, &result), now).await;
            return Ok(Outcome::SendRejected);
        }
    };
    let error = result.expect_err("a send that failed");
    let claim = claimed.claim;
    let Some((delay_secs, at)) =
        autoreply::next_attempt(now, later, claim.attempts, period.reply_by)
    else {
        // Any later and the auto-reply would promise a time already past.
        warn!(conversation = %message.conversation_id, attempts = claim.attempts + 1, error = %error, "auto-reply given up: its promise would be past");
        record(&deps.store, &deliver::with_result(reply, &Err(error)), now).await;
        return Ok(Outcome::SendRejected);
    };
    let waiting = Claim {
        stage: Stage::Waiting,
        attempts: claim.attempts + 1,
        rev: claim.rev + 1,
        ..claim.clone()
    };
    match deps
        .store
        .write_claim(
            claimed.customer,
            &waiting,
            Some(claim.rev),
            None,
            claimed.expires_at,
        )
        .await?
    {
        ClaimWrite::Written => {}
        _ => {
            return Err(StoreError::Unavailable(
                "the auto-reply claim changed during its send".into(),
            )
            .into());
        }
    }
    let Some(queue) = &deps.retries else {
        // No retry queue: the stream retries the record, which resumes the claim.
        return Err(RecordError::SendTransient(error));
    };
    let retry = MessageRetry {
        message: MessageKey::of(message),
        attempts: waiting.attempts,
    };
    queue.schedule(&retry, delay_secs).await?;
    info!(event = "auto-reply-retry", conversation = %message.conversation_id, attempts = waiting.attempts, delay_secs, retry_at = %at, class = error.class(), "the channel refused for now; tried again later");
    Ok(Outcome::Retrying { delay_secs })
}

/// This message's claim says a send was begun. Its outcome in the thread ends the
/// matter; without one, the attempt ended mid-send and the auto-reply may have gone
/// out: it is recorded as unconfirmed and never sent again.
pub(crate) async fn settle_begun<S: Store, O: Outbound>(
    message: &Message,
    claim: &Claim,
    period: &OffHoursPeriod,
    deps: &AutoReply<S, O>,
    now: DateTime<Utc>,
) -> Result<Outcome, RecordError> {
    let key = MessageKey {
        conversation: message.conversation_id.clone(),
        sent_at: claim.reply_at,
        id: claim.reply_id.clone(),
    };
    if deps.store.get_message(&key).await?.is_some() {
        return Ok(Outcome::Skipped(
            "this message's auto-reply was handled already",
        ));
    }
    let reply = reply_message(&outgoing(message, period, deps), claim);
    let unknown = Err(SendError::Unconfirmed(
        "an earlier attempt ended during the send; it may have gone out".into(),
    ));
    record(&deps.store, &deliver::with_result(reply, &unknown), now).await;
    warn!(conversation = %message.conversation_id, message_id = %claim.reply_id, "an earlier attempt ended during the send: recorded as unconfirmed, not sent again");
    Ok(Outcome::Skipped("an earlier attempt may have sent it"))
}
