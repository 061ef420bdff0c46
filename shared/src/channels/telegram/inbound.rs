//! Telegram updates into the model. One webhook request carries one Update with at
//! most one of its optional fields. Conversations are per chat (`customer_id` = chat
//! id, i64; groups and supergroups are negative); the bot's id is the business.

use crate::conversation::{
    Attachment, Channel, Choice, ContactCard, Content, CustomerProfile, Endpoint, InboundMessage,
    Location, MediaKind, Message, MessageEdit, Rejection,
};
use crate::ports::{Acknowledgement, InboundBatch, PayloadError};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct Update {
    update_id: i64,
    message: Option<Value>,
    edited_message: Option<Value>,
    callback_query: Option<Value>,
    my_chat_member: Option<Value>,
}

#[derive(Deserialize, Clone)]
struct User {
    id: i64,
    #[serde(default)]
    is_bot: bool,
    first_name: Option<String>,
    last_name: Option<String>,
    username: Option<String>,
    language_code: Option<String>,
}

#[derive(Deserialize, Clone)]
struct Chat {
    id: i64,
    #[serde(rename = "type")]
    kind: String,
    title: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    username: Option<String>,
}

#[derive(Deserialize)]
struct RawMessage {
    message_id: i64,
    date: i64,
    chat: Chat,
    from: Option<User>,
    edit_date: Option<i64>,
    text: Option<String>,
    caption: Option<String>,
    entities: Option<Value>,
    caption_entities: Option<Value>,
    reply_to_message: Option<ReplyTo>,
    #[serde(default)]
    photo: Vec<RawFile>,
    document: Option<RawFile>,
    video: Option<RawFile>,
    video_note: Option<RawFile>,
    voice: Option<RawFile>,
    audio: Option<RawFile>,
    animation: Option<RawFile>,
    sticker: Option<RawFile>,
    location: Option<RawLocation>,
    venue: Option<RawVenue>,
    contact: Option<RawContact>,
}

#[derive(Deserialize)]
struct ReplyTo {
    message_id: i64,
}

#[derive(Deserialize)]
struct RawFile {
    file_id: String,
    file_unique_id: Option<String>,
    mime_type: Option<String>,
    file_name: Option<String>,
    file_size: Option<u64>,
    duration: Option<u32>,
    emoji: Option<String>,
}

#[derive(Deserialize)]
struct RawLocation {
    latitude: f64,
    longitude: f64,
}

#[derive(Deserialize)]
struct RawVenue {
    location: RawLocation,
    title: Option<String>,
    address: Option<String>,
}

#[derive(Deserialize)]
struct RawContact {
    phone_number: String,
    first_name: Option<String>,
    last_name: Option<String>,
}

#[derive(Deserialize)]
struct CallbackQuery {
    id: String,
    from: User,
    message: Option<CallbackMessage>,
    data: Option<String>,
    game_short_name: Option<String>,
}

#[derive(Deserialize)]
struct CallbackMessage {
    message_id: i64,
    chat: Chat,
    reply_markup: Option<Value>,
}

#[derive(Deserialize)]
struct ChatMemberUpdated {
    chat: Chat,
    from: User,
    date: i64,
    new_chat_member: ChatMember,
}

#[derive(Deserialize)]
struct ChatMember {
    status: String,
}

/// Service messages: what happened, said as a notice.
const SERVICE_FIELDS: &[(&str, &str)] = &[
    ("pinned_message", "pinned a message"),
    ("new_chat_members", "new members joined"),
    ("left_chat_member", "a member left"),
    ("new_chat_title", "changed the chat title"),
    ("new_chat_photo", "changed the chat photo"),
    ("delete_chat_photo", "deleted the chat photo"),
    ("group_chat_created", "created the group"),
    ("supergroup_chat_created", "created the supergroup"),
    ("migrate_to_chat_id", "the group moved to a supergroup"),
    ("migrate_from_chat_id", "the group moved to a supergroup"),
    (
        "message_auto_delete_timer_changed",
        "changed the auto-delete timer",
    ),
    ("forum_topic_created", "created a topic"),
];

/// `(bot, chat)`-scoped id of a message: Telegram message ids count per chat.
pub fn provider_id(chat_id: i64, message_id: i64) -> String {
    format!("{chat_id}:{message_id}")
}

/// The message id within its chat, from a `provider_id`.
pub fn message_id_in_chat(provider_id: &str) -> Option<i64> {
    provider_id.rsplit(':').next()?.parse().ok()
}

fn timestamp(secs: i64) -> Option<DateTime<Utc>> {
    (0..10_000_000_000)
        .contains(&secs)
        .then(|| DateTime::from_timestamp(secs, 0))
        .flatten()
}

fn display_name(first: Option<&str>, last: Option<&str>) -> Option<String> {
    let name = [first, last]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    (!name.is_empty()).then_some(name)
}

fn profile(from: Option<&User>, chat: &Chat) -> CustomerProfile {
    match from {
        Some(u) if chat.kind == "private" => CustomerProfile {
            name: display_name(u.first_name.as_deref(), u.last_name.as_deref()),
            username: u.username.clone(),
            language: u.language_code.clone(),
            ..CustomerProfile::default()
        },
        // A group conversation is named after the group.
        _ if chat.kind != "private" => CustomerProfile {
            name: chat.title.clone(),
            username: chat.username.clone(),
            language: None,
            ..CustomerProfile::default()
        },
        _ => CustomerProfile {
            name: display_name(chat.first_name.as_deref(), chat.last_name.as_deref()),
            username: chat.username.clone(),
            language: None,
            ..CustomerProfile::default()
        },
    }
}

/// Parses one webhook body. Fails (-> 400) only when it is not a Telegram Update;
/// an update whose content cannot be read is kept as a rejection with its JSON.
pub fn parse_update(
    body: &[u8],
    bot_id: &str,
    received_at: DateTime<Utc>,
) -> Result<InboundBatch, PayloadError> {
    let raw: Value = serde_json::from_slice(body)
        .map_err(|e| PayloadError(format!("not a Telegram update: {e}")))?;
    let update: Update = serde_json::from_value(raw.clone())
        .map_err(|e| PayloadError(format!("not a Telegram update: {e}")))?;
    let mut batch = InboundBatch::default();
    let update_key = format!("telegram#{bot_id}#update#{}", update.update_id);
    let result = if let Some(m) = update.message {
        parse_message(&m, bot_id, received_at).map(|inbound| batch.messages.push(inbound))
    } else if let Some(m) = update.edited_message {
        parse_edit(&m, bot_id, received_at).map(|edit| batch.edits.push(edit))
    } else if let Some(q) = update.callback_query {
        parse_callback(&q, bot_id, &update_key, received_at).map(|(inbound, ack)| {
            batch.messages.push(inbound);
            batch.acknowledgements.push(ack);
        })
    } else if let Some(m) = update.my_chat_member {
        parse_member(&m, bot_id, update.update_id, &update_key, received_at)
            .map(|inbound| batch.messages.push(inbound))
    } else {
        let kind = raw
            .as_object()
            .and_then(|o| o.keys().find(|k| *k != "update_id").cloned())
            .unwrap_or_default();
        tracing::debug!(
            channel = "telegram",
            kind,
            "update kind not used; acknowledged"
        );
        batch.ignored += 1;
        Ok(())
    };
    if let Err(reason) = result {
        // Not logged: the reason can quote payload values; ingest logs the path.
        batch.rejections.push(Rejection {
            channel: Channel::Telegram,
            business_id: Some(bot_id.to_string()),
            path: format!("update {}", update.update_id),
            reason,
            raw: raw.to_string(),
            received_at,
        });
    }
    Ok(batch)
}

fn endpoint(bot_id: &str, chat: &Chat) -> Endpoint {
    Endpoint {
        channel: Channel::Telegram,
        business_id: bot_id.to_string(),
        customer_id: chat.id.to_string(),
    }
}

/// The message and what Telegram said about its sender.
fn read_message(
    json: &Value,
    bot_id: &str,
    received_at: DateTime<Utc>,
) -> Result<(RawMessage, Message, CustomerProfile), String> {
    let raw: RawMessage = serde_json::from_value(json.clone()).map_err(|e| e.to_string())?;
    let sent_at = timestamp(raw.date).ok_or("date is not unix seconds")?;
    let (content, keep_raw) = content(&raw, json);
    let mut msg = Message::inbound(
        endpoint(bot_id, &raw.chat),
        raw.message_id.to_string(),
        content,
        sent_at,
        received_at,
    );
    msg.provider_message_id = Some(provider_id(raw.chat.id, raw.message_id));
    msg.reply_to = raw
        .reply_to_message
        .as_ref()
        .map(|r| provider_id(raw.chat.id, r.message_id));
    msg.entities = raw
        .entities
        .as_ref()
        .or(raw.caption_entities.as_ref())
        .map(Value::to_string);
    if keep_raw {
        msg.raw = Some(json.to_string());
    }
    // The loop guard decides: auto-replies go to people in one-to-one chats only,
    // never to bots, never into groups.
    msg.origin.bot = raw.from.as_ref().is_some_and(|u| u.is_bot);
    msg.origin.group = raw.chat.kind != "private";
    crate::loop_guard::judge(&mut msg, &[]);
    let customer = profile(raw.from.as_ref(), &raw.chat);
    Ok((raw, msg, customer))
}

fn parse_message(
    json: &Value,
    bot_id: &str,
    received_at: DateTime<Utc>,
) -> Result<InboundMessage, String> {
    let (raw, msg, customer) = read_message(json, bot_id, received_at)?;
    let key = format!("telegram#{bot_id}#{}#{}", raw.chat.id, raw.message_id);
    let mut inbound = InboundMessage::new(msg, customer, key);
    // The message's own key (the chat, Telegram's date, the message id) is the
    // same on every redelivery of the update and dedupes it: no dedupe item.
    inbound.dedupe_keys.clear();
    inbound.group = raw.chat.kind != "private";
    Ok(inbound)
}

fn parse_edit(
    json: &Value,
    bot_id: &str,
    received_at: DateTime<Utc>,
) -> Result<MessageEdit, String> {
    let (raw, mut msg, customer) = read_message(json, bot_id, received_at)?;
    // An edit never earns a new auto-reply.
    msg.wants_answer = false;
    let edited_at = raw.edit_date.and_then(timestamp).unwrap_or(received_at);
    Ok(MessageEdit {
        message: msg,
        edited_at,
        customer,
    })
}

fn content(raw: &RawMessage, json: &Value) -> (Content, bool) {
    let file = |kind: MediaKind, f: &RawFile| {
        let mut a = Attachment::pending(kind, Some(f.file_id.clone()));
        a.unique_id = f.file_unique_id.clone();
        a.mime_type = f.mime_type.clone();
        a.filename = f
            .file_name
            .as_deref()
            .map(|n| crate::media::safe_filename(Some(n), kind, f.mime_type.as_deref()));
        a.size = f.file_size;
        a.duration_secs = f.duration;
        a
    };
    let media = [
        (MediaKind::Document, &raw.document),
        (MediaKind::Video, &raw.video),
        (MediaKind::Video, &raw.video_note),
        (MediaKind::Voice, &raw.voice),
        (MediaKind::Audio, &raw.audio),
        (MediaKind::Animation, &raw.animation),
        (MediaKind::Sticker, &raw.sticker),
    ];
    let mut attachments: Vec<Attachment> = media
        .iter()
        .filter_map(|(k, f)| f.as_ref().map(|f| file(*k, f)))
        .collect();
    // A photo comes in several sizes, largest last: keep the largest.
    if let Some(largest) = raw.photo.last() {
        attachments.insert(0, file(MediaKind::Image, largest));
    }
    // An animation also arrives as a document: one attachment is enough.
    if raw.animation.is_some() {
        attachments.retain(|a| a.media_kind != MediaKind::Document);
    }
    if !attachments.is_empty() {
        let sticker_emoji = raw.sticker.as_ref().and_then(|s| s.emoji.clone());
        return (
            Content::Media {
                attachments,
                text: raw.caption.clone().or(sticker_emoji),
            },
            false,
        );
    }
    if let Some(text) = &raw.text {
        return (Content::Text { text: text.clone() }, false);
    }
    if let Some(v) = &raw.venue {
        return (
            Content::Location {
                location: Location {
                    latitude: v.location.latitude,
                    longitude: v.location.longitude,
                    name: v.title.clone(),
                    address: v.address.clone(),
                },
            },
            false,
        );
    }
    if let Some(l) = &raw.location {
        return (
            Content::Location {
                location: Location {
                    latitude: l.latitude,
                    longitude: l.longitude,
                    name: None,
                    address: None,
                },
            },
            false,
        );
    }
    if let Some(c) = &raw.contact {
        return (
            Content::Contacts {
                contacts: vec![ContactCard {
                    name: display_name(c.first_name.as_deref(), c.last_name.as_deref()),
                    phones: vec![c.phone_number.clone()],
                }],
            },
            false,
        );
    }
    if let Some((_, notice)) = SERVICE_FIELDS.iter().find(|(f, _)| json.get(f).is_some()) {
        return (
            Content::System {
                text: notice.to_string(),
            },
            true,
        );
    }
    (Content::Unknown, true)
}

/// A button press: stored as the customer's choice, and acknowledged so the button
/// stops spinning.
fn parse_callback(
    json: &Value,
    bot_id: &str,
    update_key: &str,
    received_at: DateTime<Utc>,
) -> Result<(InboundMessage, Acknowledgement), String> {
    let q: CallbackQuery = serde_json::from_value(json.clone()).map_err(|e| e.to_string())?;
    // Without the message (too old to be accessible), the press came from the
    // user's private chat with the bot, whose id is the user's.
    let chat = match &q.message {
        Some(m) => m.chat.clone(),
        None => Chat {
            id: q.from.id,
            kind: "private".into(),
            title: None,
            first_name: q.from.first_name.clone(),
            last_name: q.from.last_name.clone(),
            username: q.from.username.clone(),
        },
    };
    let data = q
        .data
        .clone()
        .or(q.game_short_name.clone())
        .unwrap_or_default();
    // The button's label, when the message with the keyboard came along.
    let label = q
        .message
        .as_ref()
        .and_then(|m| {
            m.reply_markup
                .as_ref()?
                .get("inline_keyboard")?
                .as_array()
                .cloned()
        })
        .into_iter()
        .flatten()
        .flat_map(|row| row.as_array().cloned().unwrap_or_default())
        .find(|b| b["callback_data"].as_str() == Some(data.as_str()))
        .and_then(|b| b["text"].as_str().map(str::to_string));
    let content = Content::Choice {
        choice: Choice {
            id: Some(data.clone()),
            title: label.unwrap_or(data),
            description: None,
        },
    };
    let mut msg = Message::inbound(
        endpoint(bot_id, &chat),
        format!("cb-{}", q.id),
        content,
        received_at,
        received_at,
    );
    msg.reply_to = q
        .message
        .as_ref()
        .map(|m| provider_id(chat.id, m.message_id));
    msg.origin.bot = q.from.is_bot;
    msg.origin.group = chat.kind != "private";
    crate::loop_guard::judge(&mut msg, &[]);
    msg.raw = Some(json.to_string());
    let mut inbound = InboundMessage::new(msg, profile(Some(&q.from), &chat), update_key.into());
    inbound.group = chat.kind != "private";
    let ack = Acknowledgement {
        channel: Channel::Telegram,
        id: q.id,
    };
    Ok((inbound, ack))
}

/// The bot's membership changed: in a private chat, the user blocked (`kicked`) or
/// unblocked it. Kept as a notice; the conversation shows the block.
fn parse_member(
    json: &Value,
    bot_id: &str,
    update_id: i64,
    update_key: &str,
    received_at: DateTime<Utc>,
) -> Result<InboundMessage, String> {
    let m: ChatMemberUpdated = serde_json::from_value(json.clone()).map_err(|e| e.to_string())?;
    let private = m.chat.kind == "private";
    let status = m.new_chat_member.status.as_str();
    let (text, blocked) = match (private, status) {
        (true, "kicked") => ("the customer blocked the bot", Some(true)),
        (true, "member") => ("the customer unblocked the bot", Some(false)),
        (false, "member" | "administrator") => ("the bot was added to the group", None),
        (false, "left" | "kicked") => ("the bot was removed from the group", None),
        _ => ("the bot's membership changed", None),
    };
    let mut msg = Message::inbound(
        endpoint(bot_id, &m.chat),
        format!("member-{update_id}"),
        Content::System { text: text.into() },
        timestamp(m.date).unwrap_or(received_at),
        received_at,
    );
    msg.raw = Some(json.to_string());
    let mut inbound = InboundMessage::new(msg, profile(Some(&m.from), &m.chat), update_key.into());
    inbound.blocked = blocked;
    inbound.group = !private;
    Ok(inbound)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn parse(v: Value) -> InboundBatch {
        parse_update(v.to_string().as_bytes(), "777", now()).unwrap()
    }

    fn private_message(extra: Value) -> Value {
        let mut m = json!({"message_id":5,"date":1_799_999_990,
            "chat":{"id":408258968,"type":"private","first_name":"Ada","username":"ada"},
            "from":{"id":408258968,"is_bot":false,"first_name":"Ada","last_name":"L","username":"ada","language_code":"de"}});
        m.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json!({"update_id": 9, "message": m})
    }

    #[test]
    fn a_private_text_message() {
        let b = parse(private_message(
            json!({"text":"/start hi","entities":[{"type":"bot_command","offset":0,"length":6}],"reply_to_message":{"message_id":4,"date":1,"chat":{"id":408258968,"type":"private"}}}),
        ));
        let m = &b.messages[0];
        assert_eq!(m.message.text(), Some("/start hi"));
        assert_eq!(m.message.endpoint.customer_id, "408258968");
        assert_eq!(m.message.endpoint.business_id, "777");
        assert_eq!(
            m.message.provider_message_id.as_deref(),
            Some("408258968:5")
        );
        assert_eq!(m.message.reply_to.as_deref(), Some("408258968:4"));
        assert!(
            m.message
                .entities
                .as_deref()
                .unwrap()
                .contains("bot_command")
        );
        assert!(m.message.wants_answer);
        assert_eq!(m.customer.name.as_deref(), Some("Ada L"));
        assert_eq!(m.customer.username.as_deref(), Some("ada"));
        assert_eq!(m.customer.language.as_deref(), Some("de"));
        assert!(m.dedupe_keys.is_empty(), "its own key dedupes it");
    }

    #[test]
    fn media_location_contact_and_bots() {
        let photo = parse(private_message(json!({"caption":"look","photo":[
            {"file_id":"small","file_unique_id":"s","width":90,"height":90},
            {"file_id":"big","file_unique_id":"b","width":900,"height":900,"file_size":12345}]})));
        let Content::Media { attachments, text } = &photo.messages[0].message.content else {
            panic!("media")
        };
        assert_eq!(attachments.len(), 1);
        assert_eq!(attachments[0].file_id.as_deref(), Some("big"));
        assert_eq!(text.as_deref(), Some("look"));
        let voice = parse(private_message(
            json!({"voice":{"file_id":"v1","file_unique_id":"v","duration":3,"mime_type":"audio/ogg"}}),
        ));
        assert!(
            matches!(&voice.messages[0].message.content, Content::Media { attachments, .. } if attachments[0].media_kind == MediaKind::Voice)
        );
        let loc = parse(private_message(
            json!({"location":{"latitude":52.5,"longitude":13.4}}),
        ));
        assert_eq!(loc.messages[0].message.content.kind(), "location");
        let contact = parse(private_message(
            json!({"contact":{"phone_number":"+49151","first_name":"Bo"}}),
        ));
        assert!(
            matches!(&contact.messages[0].message.content, Content::Contacts { contacts } if contacts[0].phones == ["+49151"])
        );
        let mut bot = private_message(json!({"text":"beep"}));
        bot["message"]["from"]["is_bot"] = json!(true);
        assert!(!parse(bot).messages[0].message.wants_answer);
    }

    #[test]
    fn groups_are_stored_without_auto_reply() {
        let b = parse(
            json!({"update_id":1,"message":{"message_id":7,"date":1_799_999_990,
            "chat":{"id":-1001293752024i64,"type":"supergroup","title":"Team"},
            "from":{"id":5,"is_bot":false,"first_name":"Cy"},"text":"hello"}}),
        );
        let m = &b.messages[0];
        assert_eq!(m.message.endpoint.customer_id, "-1001293752024");
        assert!(!m.message.wants_answer);
        assert!(m.group);
        assert_eq!(m.customer.name.as_deref(), Some("Team"));
    }

    #[test]
    fn edits_callbacks_and_blocks() {
        let e = parse(
            json!({"update_id":2,"edited_message":{"message_id":5,"date":1_799_999_990,"edit_date":1_799_999_999,
            "chat":{"id":1,"type":"private"},"from":{"id":1,"first_name":"A"},"text":"fixed"}}),
        );
        assert_eq!(e.edits.len(), 1);
        assert_eq!(e.edits[0].message.text(), Some("fixed"));
        assert_eq!(e.edits[0].message.id, "5");
        assert!(!e.edits[0].message.wants_answer);
        assert_eq!(e.edits[0].edited_at.timestamp(), 1_799_999_999);
        let c = parse(
            json!({"update_id":3,"callback_query":{"id":"cbq1","chat_instance":"x",
            "from":{"id":1,"is_bot":false,"first_name":"A"},"data":"refund",
            "message":{"message_id":8,"date":1,"chat":{"id":1,"type":"private"},
              "reply_markup":{"inline_keyboard":[[{"text":"Money back","callback_data":"refund"}]]}}}}),
        );
        assert!(
            matches!(&c.messages[0].message.content, Content::Choice { choice } if choice.title == "Money back" && choice.id.as_deref() == Some("refund"))
        );
        assert_eq!(c.acknowledgements[0].id, "cbq1");
        assert_eq!(c.messages[0].dedupe_keys, ["telegram#777#update#3"]);
        let k = parse(
            json!({"update_id":4,"my_chat_member":{"chat":{"id":1,"type":"private","first_name":"A"},
            "from":{"id":1,"is_bot":false,"first_name":"A"},"date":1_799_999_990,
            "old_chat_member":{"user":{"id":777,"is_bot":true,"first_name":"bot"},"status":"member"},
            "new_chat_member":{"user":{"id":777,"is_bot":true,"first_name":"bot"},"status":"kicked","until_date":0}}}),
        );
        assert_eq!(k.messages[0].blocked, Some(true));
        assert!(!k.messages[0].message.wants_answer);
    }

    #[test]
    fn odd_updates_are_kept_or_acknowledged_never_refused() {
        let other =
            parse(json!({"update_id":5,"message_reaction":{"chat":{"id":1,"type":"private"}}}));
        assert_eq!(other.ignored, 1);
        let broken = parse(json!({"update_id":6,"message":{"message_id":1}}));
        assert_eq!(broken.rejections.len(), 1);
        assert!(broken.rejections[0].raw.contains("message_id"));
        for bad in [&b"[]"[..], b"not json", br#"{"message":{}}"#] {
            assert!(parse_update(bad, "777", now()).is_err());
        }
    }
}
