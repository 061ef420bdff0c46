//! Delivering a message on the customer's channel, the same way for agent replies and
//! auto-replies: store it as `sending`, send, record the outcome. A text longer than
//! the channel takes is split where the channel allows it; each part is its own
//! message with its own provider id.

use crate::channels::{capabilities, split_text};
use crate::conversation::{Author, Delivery, DeliveryState, Message, ProviderError};
use crate::ports::{
    ConversationStore, Outbound, OutboundEffect, Outgoing, OutgoingFile, SendError, SentMessage,
    StoreError,
};
use chrono::{DateTime, Utc};
use std::time::Duration;
use tokio::time::Instant;

/// What happened to an outgoing message.
#[derive(Debug)]
pub struct Delivered {
    /// Every part handed to the channel (or tried), in their final state.
    pub messages: Vec<Message>,
    /// `Ok` when every part was accepted; the first failure otherwise (no part after
    /// it is tried).
    pub result: Result<(), SendError>,
    /// A store failure after something was sent: the thread may show a part as
    /// `sending`, or miss a part that was not tried. Never a reason to resend.
    pub unrecorded: Option<StoreError>,
}

/// One message of a delivery: its text (a file's caption) and its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub text: String,
    pub files: Vec<OutgoingFile>,
}

impl Part {
    fn text(text: String) -> Self {
        Part {
            text,
            files: Vec::new(),
        }
    }
}

/// The messages `outgoing` goes out as on its channel, or why it cannot: a long
/// text in parts where the channel splits; files as many to a message as the
/// channel takes, the caption with the first.
pub fn parts(outgoing: &Outgoing) -> Result<Vec<Part>, SendError> {
    if outgoing.template.is_some() {
        return Ok(vec![Part::text(String::new())]);
    }
    let channel = outgoing.endpoint.channel;
    let caps = capabilities(channel);
    let text = outgoing.text.trim();
    if !outgoing.files.is_empty() {
        if text.chars().count() > caps.max_caption_chars {
            return Err(SendError::Limit(format!(
                "a caption on {channel} is at most {} characters",
                caps.max_caption_chars
            )));
        }
        return Ok(outgoing
            .files
            .chunks(caps.files_per_message.max(1))
            .enumerate()
            .map(|(i, files)| Part {
                text: if i == 0 {
                    text.to_string()
                } else {
                    String::new()
                },
                files: files.to_vec(),
            })
            .collect());
    }
    if text.chars().count() <= caps.max_text_chars {
        return Ok(vec![Part::text(text.to_string())]);
    }
    if !caps.splits_long_text {
        return Err(SendError::Rejected(ProviderError {
            code: None,
            title: format!(
                "text is longer than the channel's {} characters",
                caps.max_text_chars
            ),
            detail: None,
        }));
    }
    Ok(split_text(text, caps.max_text_chars)
        .into_iter()
        .map(Part::text)
        .collect())
}

/// `message` with the outcome of its send: accepted (with the channel's ids) or
/// failed or unconfirmed (with the error).
pub fn with_result(mut message: Message, result: &Result<SentMessage, SendError>) -> Message {
    message.delivery = Some(match result {
        Ok(sent) => {
            message.provider_message_id = Some(sent.provider_message_id.clone());
            // The channel's id of the file it now holds (sent again without upload).
            if let (Some(file_id), crate::conversation::Content::Media { attachments, .. }) =
                (&sent.file_id, &mut message.content)
                && let [only] = attachments.as_mut_slice()
            {
                only.file_id = Some(file_id.clone());
            }
            message.thread_keys = sent.thread_keys.clone();
            if let Some(id) = &sent.message_id {
                message.mail.get_or_insert_with(Default::default).message_id = Some(id.clone());
            }
            Delivery {
                state: DeliveryState::Accepted,
                at: message.sent_at,
                error: None,
            }
        }
        Err(e) => Delivery {
            state: match e {
                SendError::Unconfirmed(_) => DeliveryState::Unconfirmed,
                _ => DeliveryState::Failed,
            },
            at: message.sent_at,
            error: Some(e.provider_error()),
        },
    });
    message
}

/// The `Sent` / `SendFailed` metric of one send.
pub fn count_send(channel: crate::conversation::Channel, result: &Result<SentMessage, SendError>) {
    let channel = channel.as_str();
    match result {
        Ok(_) => crate::metrics::emit(&[("Channel", channel)], &[("Sent", 1)]),
        Err(e) => crate::metrics::emit(
            &[("Channel", channel), ("Class", e.class())],
            &[("SendFailed", 1)],
        ),
    }
}

/// Pauses before the retries of a send that did not reach the channel.
pub const RETRY_BACKOFF_MS: [u64; 2] = [250, 750];

/// How long delivering one outgoing message may take, all parts, retries and flood
/// waits included, so that it ends inside its function's timeout (docs/operations.md,
/// "Timeouts"): an agent reply answers through API Gateway (30 s at most; the
/// function's timeout is 29 s), an auto-reply shares a stream batch of 10 records
/// with a 300 s timeout.
pub const AGENT_SEND_BUDGET: Duration = Duration::from_secs(20);
pub const AUTO_REPLY_SEND_BUDGET: Duration = Duration::from_secs(25);
/// A send or retry starts only with at least this much of the budget left (one
/// HTTP request's timeout).
pub const ATTEMPT_TIME: Duration = Duration::from_secs(10);

/// Sends, retrying (twice, with backoff) only when the channel could not be reached
/// or failed on its side without taking the message (`Unavailable`): then nothing
/// was sent, so a retry cannot duplicate. Everything else is final here. A send
/// still running at `deadline` is abandoned as `Unconfirmed` (it may have gone out).
pub async fn send_with_retries<O: Outbound>(
    outbound: &O,
    message: &Outgoing,
    deadline: Instant,
) -> Result<SentMessage, SendError> {
    let attempt = || async {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, outbound.send(message)).await {
            Ok(result) => result,
            Err(_) => Err(SendError::Unconfirmed(
                "the send did not finish within its time budget; it may have gone out".into(),
            )),
        }
    };
    let mut result = attempt().await;
    for pause in RETRY_BACKOFF_MS {
        match &result {
            Err(SendError::Unavailable(why))
                if deadline.saturating_duration_since(Instant::now())
                    >= ATTEMPT_TIME + Duration::from_millis(pause) =>
            {
                tracing::warn!(reason = %why, pause_ms = pause, "channel unavailable; trying again");
                tokio::time::sleep(Duration::from_millis(pause)).await;
                result = attempt().await;
            }
            _ => break,
        }
    }
    result
}

/// Delivers `outgoing` within `budget` (see [`AGENT_SEND_BUDGET`]). `Err` only when
/// nothing was sent (the first `sending` record could not be written): a retry is
/// then safe. A part that finds too little of the budget left is not tried
/// (`Unavailable`: nothing of it went out).
pub async fn deliver<S: ConversationStore, O: Outbound>(
    store: &S,
    outbound: &O,
    outgoing: &Outgoing,
    now: DateTime<Utc>,
    budget: Duration,
) -> Result<Delivered, StoreError> {
    let deadline = Instant::now() + budget;
    let mut delivered = Delivered {
        messages: Vec::new(),
        result: Ok(()),
        unrecorded: None,
    };
    let parts = match parts(outgoing) {
        Ok(p) => p,
        Err(e) => {
            delivered.result = Err(e);
            return Ok(delivered);
        }
    };
    let conversation = outgoing.conversation.clone();
    for (i, part) in parts.iter().enumerate() {
        let text = &part.text;
        let mut message = Message::outbound(&outgoing.endpoint, outgoing.author.clone(), text, now);
        if !part.files.is_empty() {
            message.content = crate::conversation::Content::Media {
                attachments: part.files.iter().map(|f| f.attachment.clone()).collect(),
                text: (!text.is_empty()).then(|| text.clone()),
            };
        }
        message.conversation_id = conversation.clone();
        message.promised_reply_by = outgoing.promise.filter(|_| i == 0);
        if let Some(template) = &outgoing.template {
            message.content = crate::conversation::Content::Template {
                template: template.clone(),
            };
        }
        // Only the first part answers the customer's message.
        let reply = outgoing.reply.as_ref().filter(|_| i == 0);
        message.reply_to = reply.and_then(|r| r.provider_message_id.clone());
        let sending = message.sending();
        if let Err(e) = store.record_sending(&sending).await {
            if i == 0 {
                return Err(e);
            }
            delivered.unrecorded = Some(e);
            break;
        }
        let part = Outgoing {
            text: text.clone(),
            files: part.files.clone(),
            reply: reply.cloned(),
            ..outgoing.clone()
        };
        let result = if i > 0 && deadline.saturating_duration_since(Instant::now()) < ATTEMPT_TIME {
            Err(SendError::Unavailable(
                "no time left in this request for the remaining parts".into(),
            ))
        } else {
            send_with_retries(outbound, &part, deadline).await
        };
        count_send(outgoing.endpoint.channel, &result);
        let message = with_result(sending, &result);
        let effect = match (&result, &outgoing.author) {
            (Ok(_), Author::Agent(_)) => match outgoing.covers {
                Some(covered) => OutboundEffect::AwaitCustomerUnlessNewer { covered },
                None => OutboundEffect::AwaitCustomer,
            },
            _ => OutboundEffect::KeepStatus,
        };
        if let Err(e) = store.record_outbound(&message, effect, now).await {
            tracing::error!(conversation = %conversation, message_id = %crate::conversation::log_id(&message.id), error = %e, "outcome of a send not recorded; the thread shows it as sending");
            delivered.unrecorded = Some(e);
        }
        delivered.messages.push(message);
        if let Err(e) = result {
            if matches!(e, SendError::Unreachable(_))
                && let Err(store_error) = store.mark_blocked(&conversation, now).await
            {
                tracing::warn!(conversation = %conversation, error = %store_error, "could not mark the conversation blocked");
            }
            delivered.result = Err(e);
            break;
        }
    }
    Ok(delivered)
}
