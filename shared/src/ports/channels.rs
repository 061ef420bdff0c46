//! The channels' ports: what a channel can do, the one sending seam (`Outbound`) and
//! what crosses it, and the webhook side (`WebhookChannel`) with what it reads.

use crate::conversation::{
    Author, Channel, Conversation, ConversationId, Endpoint, InboundMessage, Message, MessageEdit,
    ProviderError, Rejection, StatusUpdate,
};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use thiserror::Error;

/// What a channel can do, declared once per channel (`channels/<name>/mod.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Longest text one message may carry (characters).
    pub max_text_chars: usize,
    /// Longer replies are split into several messages (else refused).
    pub splits_long_text: bool,
    /// How long after the customer's last message a free-form reply is allowed.
    pub reply_window: Option<Duration>,
    /// Approved message templates can be sent (also outside the reply window).
    pub templates: bool,
    /// The channel reports delivered / read for sent messages.
    pub delivery_receipts: bool,
    /// A reply can quote the customer's message it answers.
    pub replies_quote: bool,
    /// Files one message carries (more go out as more messages, the caption with
    /// the first).
    pub files_per_message: usize,
    /// Longest caption a file takes (characters).
    pub max_caption_chars: usize,
    /// A file the channel holds (sent or received before, its `file_id` in the
    /// thread) is sent again by that id, without an upload.
    pub resends_by_file_id: bool,
}

/// What an outgoing message answers: the customer message it replies to and, for
/// email, the subject and threading headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplyContext {
    /// The channel's id of the customer message answered.
    pub provider_message_id: Option<String>,
    pub subject: Option<String>,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
}

impl ReplyContext {
    /// A reply to the customer message `message` (the auto-reply).
    pub fn to_message(message: &Message) -> Self {
        let mail = message.mail.as_ref();
        ReplyContext {
            provider_message_id: message.provider_message_id.clone(),
            subject: mail.and_then(|m| m.subject.clone()),
            in_reply_to: mail.and_then(|m| m.message_id.clone()),
            references: mail.map(|m| m.reply_references()).unwrap_or_default(),
        }
    }

    /// A reply to the latest customer message of `conversation` (an agent's). Its
    /// References are the customer's (RFC 5322 3.6.4), with our latest mail in the
    /// thread put back before their Message-ID when their client dropped it.
    pub fn to_conversation(conversation: &Conversation) -> Self {
        let email = conversation.endpoint.channel == Channel::Email;
        let mut references = conversation.reply_references.clone();
        // Only a mail of ours that the customer's latest mail came after (and so
        // should have named).
        let answered_after = match (conversation.our_message_at, conversation.last_customer_at) {
            (Some(ours), Some(theirs)) => ours < theirs,
            _ => false,
        };
        if let Some(ours) = conversation
            .our_message_id
            .as_ref()
            .filter(|_| answered_after)
            && !references.iter().any(|r| r.eq_ignore_ascii_case(ours))
        {
            let at = references.len().saturating_sub(1);
            references.insert(at, ours.clone());
        }
        ReplyContext {
            provider_message_id: conversation.reply_to.clone(),
            subject: conversation.subject.clone(),
            in_reply_to: conversation.reply_to.clone().filter(|_| email),
            references,
        }
    }
}

/// A message to send on the customer's channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The conversation it belongs to (on email, one of the customer's threads).
    pub conversation: ConversationId,
    /// An agent's reply: the store time of the newest customer message it answers
    /// (a newer one keeps the conversation open).
    pub covers: Option<DateTime<Utc>>,
    pub endpoint: Endpoint,
    pub author: Author,
    pub text: String,
    /// An approved template to send instead of `text` (WhatsApp).
    pub template: Option<crate::conversation::TemplateMessage>,
    /// An auto-reply: the reply-by it promises (kept on the conversation for the
    /// queue's order).
    pub promise: Option<DateTime<Utc>>,
    pub reply: Option<ReplyContext>,
    /// Files to send, `text` their caption (an agent's attachments).
    pub files: Vec<OutgoingFile>,
}

/// A file an agent sends: as the thread keeps it (stored in the media bucket), and
/// its bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct OutgoingFile {
    /// `state` stored, `key`, the type read from the bytes, the safe name, size
    /// and hash; `media_kind` what the channel sends it as.
    pub attachment: crate::conversation::Attachment,
    pub bytes: std::sync::Arc<Vec<u8>>,
}

impl OutgoingFile {
    /// The type it is sent as.
    pub fn mime_type(&self) -> &str {
        self.attachment
            .mime_type
            .as_deref()
            .unwrap_or("application/octet-stream")
    }

    pub fn filename(&self) -> &str {
        self.attachment.filename.as_deref().unwrap_or("file")
    }

    pub fn size(&self) -> u64 {
        self.bytes.len() as u64
    }
}

impl std::fmt::Debug for OutgoingFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutgoingFile")
            .field("attachment", &self.attachment)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// What a channel returned for an accepted message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SentMessage {
    pub provider_message_id: String,
    /// Keys under which a customer's answer to it finds the conversation (email:
    /// the id SES gave the mail, which its Message-ID carries).
    pub thread_keys: Vec<String>,
    /// The Message-ID the recipient sees, without brackets (email: SES's id at
    /// `email.amazonses.com`, or `<region>.amazonses.com` outside us-east-1).
    pub message_id: Option<String>,
    /// The channel's id of the file it sent (Telegram: a file_id the bot can send
    /// again without uploading).
    pub file_id: Option<String>,
}

impl SentMessage {
    pub fn new(provider_message_id: impl Into<String>) -> Self {
        SentMessage {
            provider_message_id: provider_message_id.into(),
            thread_keys: Vec::new(),
            message_id: None,
            file_id: None,
        }
    }
}

/// Why a send failed, sorted by what the caller should do about it.
#[derive(Debug, Clone, Error, PartialEq)]
pub enum SendError {
    /// The channel refused this message (bad recipient, outside the reply window...).
    /// Retrying the same request will not help.
    #[error("rejected by the channel: {}", .0.title)]
    Rejected(ProviderError),
    /// The customer cannot be reached on this channel any more (blocked the bot,
    /// deactivated the account).
    #[error("the customer cannot be reached: {}", .0.title)]
    Unreachable(ProviderError),
    /// Our credentials were refused: a configuration problem.
    #[error("the channel refused our credentials: {}", .0.title)]
    Unauthorized(ProviderError),
    /// Too many messages; try again later.
    #[error("rate limited by the channel: {}", .error.title)]
    RateLimited {
        retry_after: Option<u64>,
        error: ProviderError,
    },
    /// The channel could not be reached or failed on its side, and did not take the
    /// message; retrying may help.
    #[error("channel unavailable: {0}")]
    Unavailable(String),
    /// The request went out but no usable answer came back (timeout, cut-off or
    /// unreadable response): the message may have been delivered. Retrying risks a
    /// duplicate.
    #[error("send outcome unknown: {0}")]
    Unconfirmed(String),
    /// This deployment has no configuration for the channel.
    #[error("the {0} channel is not configured in this deployment")]
    NotConfigured(Channel),
    /// The message is outside what the channel takes (a file's type or size, a
    /// caption's length), found before anything was sent; names the limit.
    #[error("{0}")]
    Limit(String),
}

impl SendError {
    /// The class's name (metrics and logs).
    pub fn class(&self) -> &'static str {
        match self {
            SendError::Rejected(_) => "rejected",
            SendError::Unreachable(_) => "unreachable",
            SendError::Unauthorized(_) => "unauthorized",
            SendError::RateLimited { .. } => "rate_limited",
            SendError::Unavailable(_) => "unavailable",
            SendError::Unconfirmed(_) => "unconfirmed",
            SendError::NotConfigured(_) => "not_configured",
            SendError::Limit(_) => "limit",
        }
    }

    /// Whether the same send may succeed later.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            SendError::RateLimited { .. } | SendError::Unavailable(_)
        )
    }

    /// The channel's own error, where it gave one.
    pub fn provider_error(&self) -> ProviderError {
        match self {
            SendError::Rejected(e)
            | SendError::Unreachable(e)
            | SendError::Unauthorized(e)
            | SendError::RateLimited { error: e, .. } => e.clone(),
            SendError::Unavailable(m) | SendError::Unconfirmed(m) | SendError::Limit(m) => {
                ProviderError {
                    code: None,
                    title: m.clone(),
                    detail: None,
                }
            }
            SendError::NotConfigured(_) => ProviderError {
                code: None,
                title: self.to_string(),
                detail: None,
            },
        }
    }
}

/// Something the channel wants acknowledged once a webhook is stored (Telegram:
/// answerCallbackQuery, so the customer's button stops spinning). The channel
/// answers it in its webhook response (`WebhookChannel::response`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acknowledgement {
    pub channel: Channel,
    pub id: String,
}

/// The one sending seam: each channel's client implements it (enabled for its own
/// channel only) and `channels::Channels` routes a message to the client of its
/// channel. Channel rules (a reply window, a blocked bot, size limits) stay in the
/// channel's folder and come back as [`SendError`]s.
#[async_trait]
pub trait Outbound: Send + Sync {
    async fn send(&self, message: &Outgoing) -> Result<SentMessage, SendError>;

    /// Whether this sender sends on `channel` (configured in this deployment).
    fn enabled(&self, channel: Channel) -> bool;

    /// Checks `message` against the channel's limits before anything is sent
    /// (`SendError::Limit` naming the limit); no request.
    fn check(&self, _message: &Outgoing) -> Result<(), SendError> {
        Ok(())
    }
}

/// Why a webhook request was not accepted as the platform's.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("{0}")]
pub struct AuthError(pub String);

/// A body that is not the platform's envelope at all (-> 400).
#[derive(Debug, Error, PartialEq, Eq)]
#[error("{0}")]
pub struct PayloadError(pub String);

/// Everything a webhook delivery carried, normalized.
#[derive(Debug, Default, PartialEq)]
pub struct InboundBatch {
    pub messages: Vec<InboundMessage>,
    pub edits: Vec<MessageEdit>,
    pub statuses: Vec<StatusUpdate>,
    pub rejections: Vec<Rejection>,
    pub acknowledgements: Vec<Acknowledgement>,
    /// Parts acknowledged but not stored (account updates, update kinds asyncdesk
    /// does not use).
    pub ignored: usize,
}

/// A webhook request as the channel sees it.
pub struct WebhookRequest<'a> {
    pub headers: &'a http::HeaderMap,
    /// The exact bytes received (after API Gateway's base64).
    pub body: &'a [u8],
    pub query: &'a (dyn Fn(&str) -> Option<String> + Sync),
}

/// The inbound side of a channel: its webhook's authentication and format.
pub trait WebhookChannel: Send + Sync {
    fn channel(&self) -> Channel;

    /// The GET subscription handshake, for channels that have one: `Some(Ok(body))`
    /// to echo, `Some(Err(_))` to refuse (403), `None` when the channel has none.
    fn handshake(&self, _req: &WebhookRequest) -> Option<Result<String, AuthError>> {
        None
    }

    /// Checks that the request comes from the platform (-> 401 when not).
    fn authenticate(&self, req: &WebhookRequest) -> Result<(), AuthError>;

    /// Reads the body. Fails only when it is not the platform's envelope; elements
    /// that cannot be read become `unknown` messages or rejections.
    fn parse(&self, body: &[u8], received_at: DateTime<Utc>) -> Result<InboundBatch, PayloadError>;

    /// The body of the webhook's 200 answer when the channel takes one as a call
    /// (Telegram runs the Bot API method a webhook response names), else `None` (the
    /// receipt is the answer).
    fn response(&self, _acknowledgements: &[Acknowledgement]) -> Option<serde_json::Value> {
        None
    }
}
