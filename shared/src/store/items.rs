//! Item <-> model conversion, in one place, for the table and its stream.
//!
//! Key shapes (single-table design, see docs/data-model.md):
//! - conversation: `pk = CONV#<conversation id>`, `sk = META`
//! - message:      `pk = CONV#<conversation id>`, `sk = MSG#<sent_at ms, 13 digits>#<message id>`
//! - auto-reply claims of a customer (`Endpoint::conversation_id`):
//!   `pk = AUTOREPLY#<customer key>`, `sk = PERIOD#<period key>` (one per off-hours
//!   period) and `sk = SLOT#<n>` (the rolling-day cap; `until` frees it) (TTL)
//! - thread link:  `pk = THREAD#<channel>#<business id>#<thread key>`, `sk = THREAD` (TTL)
//! - idempotency key: `pk = IDEMP#<digest of agent and key>`, `sk = IDEMP` (TTL)
//! - dedupe:       `pk = DEDUPE#<channel>#<business id>#<key>`, `sk = DEDUPE` (TTL)
//! - provider id link: `pk = PMSG#<channel>#<business id>#<provider message id>`, `sk = PMSG` (TTL)
//! - rejection:    `pk = REJECTED#<channel>`, `sk = <digest of the raw JSON>` (TTL)
//! - saved reply:  `pk = SAVED_REPLIES`, `sk = <id>`
//! - widget rate counter: `pk = RATE#<scope>#<key digest>#<minute>`, `sk = RATE` (TTL)
//! - wait (the reports'): `pk = WAITS#<yyyy-mm>`, `sk = <started ms13>#<conversation id>` (TTL; `waits.rs`)
//! - web mail watch: `pk = WEBMAIL#<conversation id>`, `sk = WATCH`, in `by_deadline` as
//!   `dl = webmail#<shard>`, `dl_at = <oldest unfetched reply ms13>#<conversation id>` (TTL)
//! - conversations' change feed: GSI `by_change` on `ch` (`CH#<shard>`) and `ch_at`
//!   (when the write was made); every conversation write sets both (`feed_fields`)

use super::StoreError;
use crate::conversation::{
    Channel, Conversation, ConversationId, ConversationStatus, Endpoint, Message, Priority,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub const PK: &str = "pk";
pub const SK: &str = "sk";
pub const META: &str = "META";
/// The TTL attribute (epoch seconds).
pub const EXPIRES_AT: &str = "expires_at";

pub const TYPE_CONVERSATION: &str = "conversation";
pub const TYPE_MESSAGE: &str = "message";
pub const TYPE_DEDUPE: &str = "dedupe";
pub const TYPE_PROVIDER_LINK: &str = "provider_link";
pub const TYPE_AUTO_REPLY_CLAIM: &str = "auto_reply_claim";
pub const TYPE_REJECTION: &str = "rejection";
pub const TYPE_THREAD_LINK: &str = "thread_link";
pub const TYPE_IDEMPOTENCY: &str = "idempotency_key";
pub const TYPE_SAVED_REPLY: &str = "saved_reply";
pub const TYPE_RATE: &str = "rate";
pub const TYPE_WEB_MAIL_WATCH: &str = "web_mail_watch";
pub const SAVED_REPLIES_PK: &str = "SAVED_REPLIES";
/// The change feed's index, its partition attribute and how many partitions it has
/// (each takes up to 1,000 conversation writes a second).
pub const CHANGE_INDEX: &str = "by_change";
pub const CH: &str = "ch";
pub const CH_AT: &str = "ch_at";
pub const CHANGE_SHARDS: u8 = 4;

/// A conversation's partition of the change feed, from its id.
pub fn change_shard(id: &ConversationId) -> String {
    let last = id.as_str().bytes().last().unwrap_or(0);
    format!("CH#{}", last % CHANGE_SHARDS)
}

/// The change feed's attributes, set by every write of a conversation: its
/// partition, and when the write is made (the clock at the write, not the event's
/// time: an agent's reply is written after its send, a delivery failure may be
/// minutes old, and the feed is read by when writes land).
pub fn feed_fields(
    id: &ConversationId,
) -> [(&'static str, aws_sdk_dynamodb::types::AttributeValue); 2] {
    use aws_sdk_dynamodb::types::AttributeValue;
    [
        (CH, AttributeValue::S(change_shard(id))),
        (
            CH_AT,
            AttributeValue::N(Utc::now().timestamp_millis().to_string()),
        ),
    ]
}

/// A saved reply as stored.
#[derive(Serialize, Deserialize)]
pub struct SavedReplyItem {
    pub pk: String,
    pub sk: String,
    pub item_type: String,
    #[serde(flatten)]
    pub reply: crate::ports::SavedReply,
}

impl SavedReplyItem {
    pub fn new(reply: &crate::ports::SavedReply) -> Self {
        SavedReplyItem {
            pk: SAVED_REPLIES_PK.into(),
            sk: reply.id.clone(),
            item_type: TYPE_SAVED_REPLY.into(),
            reply: reply.clone(),
        }
    }
}

pub fn conversation_pk(id: &ConversationId) -> String {
    format!("CONV#{id}")
}

/// The key of a conversation's item.
pub fn conversation_key(id: &ConversationId) -> super::dynamo::Item {
    super::dynamo::Item::from([
        (
            PK.into(),
            aws_sdk_dynamodb::types::AttributeValue::S(conversation_pk(id)),
        ),
        (
            SK.into(),
            aws_sdk_dynamodb::types::AttributeValue::S(META.into()),
        ),
    ])
}

pub fn message_sk(message: &Message) -> String {
    message_key_sk(message.sent_at, &message.id)
}

/// A message's sort key from its time and id.
pub fn message_key_sk(sent_at: DateTime<Utc>, id: &str) -> String {
    format!("MSG#{:013}#{id}", sent_at.timestamp_millis().max(0))
}

pub fn dedupe_pk(dedupe_key: &str) -> String {
    format!("DEDUPE#{dedupe_key}")
}

pub fn provider_link_pk(channel: Channel, business_id: &str, provider_message_id: &str) -> String {
    format!("PMSG#{channel}#{business_id}#{provider_message_id}")
}

pub fn rejection_pk(channel: Channel) -> String {
    format!("REJECTED#{channel}")
}

pub fn auto_reply_pk(customer: &ConversationId) -> String {
    format!("AUTOREPLY#{customer}")
}

/// The deployment's auto-reply count per clock hour, in shards
/// (`AUTOREPLY#ALL#<shard>` / `HOUR#<YYYY-MM-DDTHH>`).
pub const AUTO_REPLY_HOURS_PK: &str = "AUTOREPLY#ALL";

pub fn idempotency_pk(key: &str) -> String {
    format!("IDEMP#{key}")
}

pub fn thread_link_pk(channel: Channel, business_id: &str, key: &str) -> String {
    format!("THREAD#{channel}#{business_id}#{key}")
}

/// A conversation as stored. Times are epoch milliseconds so that the status index
/// sorts them numerically.
#[derive(Debug, Serialize, Deserialize)]
pub struct ConversationItem {
    pub pk: String,
    pub sk: String,
    pub item_type: String,
    pub id: ConversationId,
    pub channel: Channel,
    pub business_id: String,
    pub customer_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_language: Option<String>,
    #[serde(default)]
    pub blocked: bool,
    #[serde(default)]
    pub group: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reply_references: Vec<String>,
    pub status: ConversationStatus,
    #[serde(
        default,
        with = "chrono::serde::ts_milliseconds_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub waiting_since: Option<DateTime<Utc>>,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub status_since: DateTime<Utc>,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub updated_at: DateTime<Utc>,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub last_message_at: DateTime<Utc>,
    #[serde(
        default,
        with = "chrono::serde::ts_milliseconds_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_customer_at: Option<DateTime<Utc>>,
    #[serde(
        default,
        with = "chrono::serde::ts_milliseconds_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_inbound_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    #[serde(default)]
    pub priority: Priority,
    #[serde(
        default,
        with = "chrono::serde::ts_milliseconds_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub snooze_until: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<String>,
    #[serde(default)]
    pub unanswered: u64,
    #[serde(
        default,
        with = "chrono::serde::ts_milliseconds_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub promised_reply_by: Option<DateTime<Utc>>,
    #[serde(
        default,
        with = "chrono::serde::ts_milliseconds_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub promise_for: Option<DateTime<Utc>>,
    #[serde(default)]
    pub message_count: u64,
    #[serde(default)]
    pub unverified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub related_to: Option<ConversationId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub our_message_id: Option<String>,
    #[serde(
        default,
        with = "chrono::serde::ts_milliseconds_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub our_message_at: Option<DateTime<Utc>>,
    /// Address digests of who takes part in an email thread (a string set).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub participants: Vec<String>,
}

impl From<ConversationItem> for Conversation {
    fn from(i: ConversationItem) -> Self {
        Conversation {
            id: i.id,
            endpoint: Endpoint {
                channel: i.channel,
                business_id: i.business_id,
                customer_id: i.customer_id,
            },
            customer_name: i.customer_name,
            customer_username: i.customer_username,
            customer_language: i.customer_language,
            blocked: i.blocked,
            group: i.group,
            reply_to: i.reply_to,
            subject: i.subject,
            reply_references: i.reply_references,
            status: i.status,
            waiting_since: i.waiting_since,
            status_since: i.status_since,
            created_at: i.created_at,
            updated_at: i.updated_at,
            last_message_at: i.last_message_at,
            last_customer_at: i.last_customer_at,
            last_inbound_at: i.last_inbound_at,
            assignee: i.assignee,
            priority: i.priority,
            snooze_until: i.snooze_until,
            preview: i.preview,
            unanswered: i.unanswered,
            promised_reply_by: i.promised_reply_by,
            promise_for: i.promise_for,
            message_count: i.message_count,
            unverified: i.unverified,
            reply_address: i.reply_address,
            contact_email: i.contact_email,
            related_to: i.related_to,
            our_message_id: i.our_message_id,
            our_message_at: i.our_message_at,
        }
    }
}

/// A message as stored: the model plus keys, a type tag for stream filters, and the
/// delivery rank that keeps status updates from going backwards.
#[derive(Debug, Serialize, Deserialize)]
pub struct MessageItem {
    pub pk: String,
    pub sk: String,
    pub item_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_rank: Option<u8>,
    /// The newest edit's time (epoch ms): older and repeated edits are not applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_edit_at: Option<i64>,
    /// The table's TTL under a message retention (epoch seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    #[serde(flatten)]
    pub message: Message,
}

impl MessageItem {
    pub fn new(message: &Message) -> Self {
        MessageItem {
            pk: conversation_pk(&message.conversation_id),
            sk: message_sk(message),
            item_type: TYPE_MESSAGE.to_string(),
            delivery_rank: message.delivery.as_ref().map(|d| d.state.rank()),
            last_edit_at: message
                .edits
                .iter()
                .map(|e| e.edited_at.timestamp_millis())
                .max(),
            expires_at: None,
            message: message.clone(),
        }
    }
}

/// Reads any item shape serde_dynamo understands (SDK items, stream images).
pub fn from_item<I, T>(item: I) -> Result<T, StoreError>
where
    I: Into<serde_dynamo::Item>,
    T: serde::de::DeserializeOwned,
{
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// The message in a stream record's new image, if the image is a message item.
pub fn message_from_image(image: serde_dynamo::Item) -> Result<Option<Message>, StoreError> {
    let is_message = matches!(image.get("item_type"), Some(serde_dynamo::AttributeValue::S(t)) if t == TYPE_MESSAGE);
    if !is_message {
        return Ok(None);
    }
    let item: MessageItem = from_item(image)?;
    Ok(Some(item.message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::{Attachment, Content, MediaKind};

    #[test]
    fn message_item_round_trips_through_a_stream_image() {
        let ep = Endpoint {
            channel: Channel::Whatsapp,
            business_id: "1".into(),
            customer_id: "2".into(),
        };
        let mut msg = Message::inbound(
            ep,
            "wamid.X",
            Content::Text {
                text: "hello".into(),
            },
            DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            DateTime::from_timestamp(1_800_000_001, 0).unwrap(),
        );
        msg.provider_message_id = Some("wamid.X".into());
        let item = MessageItem::new(&msg);
        assert_eq!(item.sk, "MSG#1800000000000#wamid.X");
        let image: serde_dynamo::Item = serde_dynamo::to_item(&item).unwrap();
        assert!(matches!(
            image.get("wants_answer"),
            Some(serde_dynamo::AttributeValue::Bool(true))
        ));
        assert!(
            matches!(image.get("kind"), Some(serde_dynamo::AttributeValue::S(k)) if k == "text")
        );
        assert_eq!(message_from_image(image).unwrap(), Some(msg.clone()));
        let mut media = msg;
        media.content = Content::Media {
            attachments: vec![Attachment {
                size: Some(3),
                duration_secs: Some(4),
                ..Attachment::pending(MediaKind::Image, Some("f".into()))
            }],
            text: None,
        };
        let image: serde_dynamo::Item = serde_dynamo::to_item(MessageItem::new(&media)).unwrap();
        assert_eq!(message_from_image(image).unwrap(), Some(media));
    }
}
