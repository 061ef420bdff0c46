//! WhatsApp webhook payloads into the model. Only a body that is not a WhatsApp
//! notification at all is refused; an element that cannot be read is kept, as an
//! `unknown` message when it has an id and a sender, else as a rejection.

use crate::conversation::{
    Attachment, Channel, Choice, ContactCard, Content, CustomerProfile, DeliveryState, Endpoint,
    InboundMessage, Location, MediaKind, Message, ProviderError, Reaction, Rejection, StatusUpdate,
};
use crate::ports::{InboundBatch, PayloadError};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct Webhook {
    object: String,
    entry: Vec<Value>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct Change {
    field: String,
    value: Value,
}

#[derive(Deserialize)]
struct MessagesValue {
    metadata: Metadata,
    #[serde(default)]
    contacts: Vec<Contact>,
    #[serde(default)]
    messages: Vec<Value>,
    #[serde(default)]
    statuses: Vec<Value>,
}

#[derive(Deserialize)]
struct Metadata {
    phone_number_id: String,
}

#[derive(Deserialize)]
struct Contact {
    wa_id: Option<String>,
    /// The business-scoped user id (BSUID).
    user_id: Option<String>,
    profile: Option<Profile>,
}

#[derive(Deserialize)]
struct Profile {
    name: Option<String>,
}

/// The part of a message every type shares. The type's own object is read
/// separately, so a surprise there keeps the message (as `unknown`).
#[derive(Deserialize)]
struct RawMessage {
    /// The customer's phone number; absent for BSUID-only senders.
    from: Option<String>,
    from_user_id: Option<String>,
    id: String,
    timestamp: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    context: Option<RawContext>,
}

#[derive(Deserialize)]
struct TextBody {
    body: String,
}

#[derive(Deserialize)]
struct RawMedia {
    id: String,
    mime_type: Option<String>,
    sha256: Option<String>,
    caption: Option<String>,
    filename: Option<String>,
    /// An audio recorded in the app (a voice note).
    #[serde(default)]
    voice: bool,
}

#[derive(Deserialize)]
struct RawLocation {
    latitude: f64,
    longitude: f64,
    name: Option<String>,
    address: Option<String>,
}

#[derive(Deserialize)]
struct RawReaction {
    message_id: String,
    emoji: Option<String>,
}

#[derive(Deserialize)]
struct RawInteractive {
    button_reply: Option<RawChoice>,
    list_reply: Option<RawChoice>,
}

#[derive(Deserialize)]
struct RawChoice {
    id: Option<String>,
    title: String,
    description: Option<String>,
}

#[derive(Deserialize)]
struct RawButton {
    payload: Option<String>,
    text: String,
}

#[derive(Deserialize)]
struct RawContact {
    name: Option<RawContactName>,
    #[serde(default)]
    phones: Vec<RawPhone>,
}

#[derive(Deserialize)]
struct RawContactName {
    formatted_name: Option<String>,
}

#[derive(Deserialize)]
struct RawPhone {
    phone: Option<String>,
}

#[derive(Deserialize)]
struct RawContext {
    id: Option<String>,
}

#[derive(Deserialize)]
struct RawStatus {
    id: String,
    status: String,
    timestamp: Option<String>,
    #[serde(default)]
    errors: Vec<RawError>,
}

#[derive(Deserialize)]
pub(super) struct RawError {
    pub code: Option<i64>,
    pub title: Option<String>,
    pub message: Option<String>,
    pub error_data: Option<ErrorData>,
}

#[derive(Deserialize)]
pub(super) struct ErrorData {
    pub details: Option<String>,
}

impl From<RawError> for ProviderError {
    fn from(e: RawError) -> Self {
        ProviderError {
            code: e.code.map(|c| c.to_string()),
            title: e
                .title
                .or(e.message)
                .unwrap_or_else(|| "unknown error".into()),
            detail: e.error_data.and_then(|d| d.details),
        }
    }
}

/// Unix seconds, up to the year 2286 (message sort keys hold 13 digits of ms).
fn parse_timestamp(s: Option<&str>) -> Option<DateTime<Utc>> {
    s?.parse::<i64>()
        .ok()
        .filter(|secs| (0..10_000_000_000).contains(secs))
        .and_then(|secs| DateTime::from_timestamp(secs, 0))
}

/// Ids that end up in keys and URLs: non-empty, printable, no separators we use.
fn usable_id(s: &str) -> bool {
    !s.trim().is_empty() && s.len() <= 256 && s.bytes().all(|b| b.is_ascii_graphic() && b != b'#')
}

/// Collects the elements of one webhook.
struct Parse {
    batch: InboundBatch,
    received_at: DateTime<Utc>,
}

impl Parse {
    /// Keeps a whole body that is not WhatsApp's envelope.
    fn reject_body(&mut self, reason: String, body: &[u8]) {
        self.batch.rejections.push(Rejection {
            channel: Channel::Whatsapp,
            business_id: None,
            path: "$".into(),
            reason,
            raw: String::from_utf8_lossy(body).into_owned(),
            received_at: self.received_at,
        });
    }

    /// Keeps an element that cannot be stored as a message. Not logged here: the
    /// reason can quote payload values (bodies, numbers); ingest logs the path.
    fn reject(&mut self, business_id: Option<&str>, path: String, reason: String, raw: &Value) {
        self.batch.rejections.push(Rejection {
            channel: Channel::Whatsapp,
            business_id: business_id.map(str::to_string),
            path,
            reason,
            raw: raw.to_string(),
            received_at: self.received_at,
        });
    }
}

/// Parses a webhook body whose signature was verified; every element that cannot be
/// read is kept (see the module doc). A body that is not WhatsApp's envelope at all
/// is kept whole as a rejection: Meta signed it, so it answers 200 (Meta retries
/// anything else for 7 days, and a retry brings the same bytes).
pub fn parse_webhook(
    body: &[u8],
    received_at: DateTime<Utc>,
) -> Result<InboundBatch, PayloadError> {
    let mut p = Parse {
        batch: InboundBatch::default(),
        received_at,
    };
    let hook: Webhook = match serde_json::from_slice::<Webhook>(body) {
        Ok(hook) if hook.object == "whatsapp_business_account" => hook,
        Ok(hook) => {
            let reason = format!(
                "a signed body for object {:?}, not WhatsApp's",
                hook.object.chars().take(60).collect::<String>()
            );
            p.reject_body(reason, body);
            return Ok(p.batch);
        }
        Err(e) => {
            p.reject_body(
                format!("a signed body that is not WhatsApp's envelope: {e}"),
                body,
            );
            return Ok(p.batch);
        }
    };
    for (ei, entry_json) in hook.entry.into_iter().enumerate() {
        let entry: Entry = match serde_json::from_value(entry_json.clone()) {
            Ok(e) => e,
            Err(e) => {
                p.reject(None, format!("entry[{ei}]"), e.to_string(), &entry_json);
                continue;
            }
        };
        for (ci, change) in entry.changes.into_iter().enumerate() {
            if change.field != "messages" {
                p.batch.ignored += 1;
                continue;
            }
            let at = format!("entry[{ei}].changes[{ci}].value");
            let value: MessagesValue = match serde_json::from_value(change.value.clone()) {
                Ok(v) => v,
                Err(e) => {
                    p.reject(None, at, e.to_string(), &change.value);
                    continue;
                }
            };
            let business_id = value.metadata.phone_number_id.clone();
            if !usable_id(&business_id) {
                p.reject(None, at, "unusable phone_number_id".into(), &change.value);
                continue;
            }
            for (mi, raw) in value.messages.iter().enumerate() {
                match parse_message(raw, &business_id, &value.contacts, received_at) {
                    Ok(m) => p.batch.messages.push(m),
                    Err(reason) => p.reject(
                        Some(&business_id),
                        format!("{at}.messages[{mi}]"),
                        reason,
                        raw,
                    ),
                }
            }
            for (si, raw) in value.statuses.iter().enumerate() {
                match parse_status(raw, &business_id, received_at) {
                    Ok(Some(s)) => p.batch.statuses.push(s),
                    Ok(None) => p.batch.ignored += 1,
                    Err(reason) => p.reject(
                        Some(&business_id),
                        format!("{at}.statuses[{si}]"),
                        reason,
                        raw,
                    ),
                }
            }
        }
    }
    Ok(p.batch)
}

fn parse_status(
    raw: &Value,
    business_id: &str,
    received_at: DateTime<Utc>,
) -> Result<Option<StatusUpdate>, String> {
    let st: RawStatus = serde_json::from_value(raw.clone()).map_err(|e| e.to_string())?;
    if !usable_id(&st.id) {
        return Err("status without a usable \"id\"".into());
    }
    let state = match st.status.as_str() {
        "sent" => DeliveryState::Sent,
        "delivered" => DeliveryState::Delivered,
        "read" | "played" => DeliveryState::Read,
        "failed" => DeliveryState::Failed,
        other => {
            tracing::warn!(status = other, "ignoring unknown WhatsApp status");
            return Ok(None);
        }
    };
    Ok(Some(StatusUpdate {
        channel: Channel::Whatsapp,
        business_id: business_id.to_string(),
        provider_message_id: st.id,
        state,
        at: parse_timestamp(st.timestamp.as_deref()).unwrap_or(received_at),
        error: st.errors.into_iter().next().map(ProviderError::from),
    }))
}

/// One message. `Err` (-> a rejection) only when it has no usable id or sender;
/// anything else that surprises keeps the message as `unknown` with its raw JSON.
fn parse_message(
    raw_json: &Value,
    business_id: &str,
    contacts: &[Contact],
    received_at: DateTime<Utc>,
) -> Result<InboundMessage, String> {
    let raw: RawMessage = serde_json::from_value(raw_json.clone()).map_err(|e| e.to_string())?;
    if !usable_id(&raw.id) {
        return Err("message without a usable \"id\"".into());
    }
    let customer = raw
        .from
        .clone()
        .or(raw.from_user_id.clone())
        .filter(|c| usable_id(c))
        .ok_or("message without a usable \"from\" or \"from_user_id\"")?;
    let sender_ids = [raw.from.as_deref(), raw.from_user_id.as_deref()];
    let is_sender = |id: &Option<String>| id.is_some() && sender_ids.contains(&id.as_deref());
    let name = contacts
        .iter()
        .find(|c| is_sender(&c.wa_id) || is_sender(&c.user_id))
        // A lone contact without ids is the sender; of several, it could be anyone.
        .or(match contacts {
            [only] if only.wa_id.is_none() && only.user_id.is_none() => Some(only),
            _ => None,
        })
        .and_then(|c| c.profile.as_ref()?.name.clone());
    let endpoint = Endpoint {
        channel: Channel::Whatsapp,
        business_id: business_id.to_string(),
        customer_id: customer,
    };
    let sent_at = parse_timestamp(raw.timestamp.as_deref());
    let kind = raw.kind.as_deref().unwrap_or("unsupported");
    let content = match sent_at {
        None => Err("timestamp is not unix seconds".to_string()),
        Some(_) => content(kind, raw_json),
    };
    let (content, keep_raw) = match content {
        Ok(c) => {
            let keep = matches!(c, Content::Unknown | Content::System { .. });
            (c, keep)
        }
        // The reason can quote payload values: it stays out of the log.
        Err(_) => {
            tracing::warn!(kind, "WhatsApp message content not understood; kept raw");
            (Content::Unknown, true)
        }
    };
    // A reaction, its removal and a re-added reaction can all carry the same message
    // id: each is its own event.
    let id = match &content {
        Content::Reaction { reaction } => format!(
            "{}~{}~{}",
            raw.id,
            raw.timestamp.as_deref().unwrap_or_default(),
            reaction.emoji.as_deref().unwrap_or("removed")
        ),
        _ => raw.id.clone(),
    };
    let mut msg = Message::inbound(
        endpoint,
        id,
        content,
        sent_at.unwrap_or(received_at),
        received_at,
    );
    msg.reply_to = raw.context.and_then(|c| c.id);
    msg.provider_message_id = Some(raw.id.clone());
    if keep_raw {
        msg.raw = Some(raw_json.to_string());
    }
    crate::loop_guard::judge(&mut msg, &[]);
    // The customer's time zone, when the number's country has only one.
    msg.sender.zone =
        crate::hours::CustomerZone::from_phone(&msg.endpoint.customer_id).map(|z| z.as_string());
    let dedupe_key = format!("whatsapp#{business_id}#{}", msg.id);
    let mut inbound = InboundMessage::new(
        msg,
        CustomerProfile {
            name,
            ..CustomerProfile::default()
        },
        dedupe_key,
    );
    // With Meta's timestamp, the message's own key (conversation, send time, id) is
    // the same on every redelivery and dedupes it: no dedupe item to write.
    if sent_at.is_some() {
        inbound.dedupe_keys.clear();
    }
    Ok(inbound)
}

/// Reads the type's own object. Unknown types are `Content::Unknown`.
fn content(kind: &str, raw_json: &Value) -> Result<Content, String> {
    fn part<T: serde::de::DeserializeOwned>(raw_json: &Value, key: &str) -> Result<T, String> {
        let v = raw_json
            .get(key)
            .cloned()
            .ok_or_else(|| format!("type {key:?} without a {key:?} object"))?;
        serde_json::from_value(v).map_err(|e| format!("{key}: {e}"))
    }
    let media_kind = match kind {
        "image" => Some(MediaKind::Image),
        "video" => Some(MediaKind::Video),
        "audio" => Some(MediaKind::Audio),
        "document" => Some(MediaKind::Document),
        "sticker" => Some(MediaKind::Sticker),
        _ => None,
    };
    if let Some(media_kind) = media_kind {
        let media: RawMedia = part(raw_json, kind)?;
        let media_kind = if media.voice {
            MediaKind::Voice
        } else {
            media_kind
        };
        let mut a = Attachment::pending(media_kind, Some(media.id));
        a.filename = media
            .filename
            .as_deref()
            .map(|n| crate::media::safe_filename(Some(n), media_kind, media.mime_type.as_deref()));
        a.mime_type = media.mime_type;
        // Meta's hash of the file (Base64), checked when it is downloaded.
        a.sha256 = media.sha256;
        return Ok(Content::Media {
            attachments: vec![a],
            text: media.caption,
        });
    }
    Ok(match kind {
        "text" => Content::Text {
            text: part::<TextBody>(raw_json, "text")?.body,
        },
        "location" => {
            let l: RawLocation = part(raw_json, "location")?;
            Content::Location {
                location: Location {
                    latitude: l.latitude,
                    longitude: l.longitude,
                    name: l.name,
                    address: l.address,
                },
            }
        }
        "contacts" => Content::Contacts {
            contacts: part::<Vec<RawContact>>(raw_json, "contacts")?
                .into_iter()
                .map(|c| ContactCard {
                    name: c.name.and_then(|n| n.formatted_name),
                    phones: c.phones.into_iter().filter_map(|p| p.phone).collect(),
                })
                .collect(),
        },
        "interactive" => {
            let i: RawInteractive = part(raw_json, "interactive")?;
            // Flow replies and future interactive types stay unknown, kept whole.
            match i.button_reply.or(i.list_reply) {
                Some(c) => Content::Choice {
                    choice: Choice {
                        id: c.id,
                        title: c.title,
                        description: c.description,
                    },
                },
                None => Content::Unknown,
            }
        }
        "button" => {
            let b: RawButton = part(raw_json, "button")?;
            Content::Choice {
                choice: Choice {
                    id: b.payload,
                    title: b.text,
                    description: None,
                },
            }
        }
        "reaction" => {
            let r: RawReaction = part(raw_json, "reaction")?;
            Content::Reaction {
                reaction: Reaction {
                    message_id: r.message_id,
                    emoji: r.emoji,
                },
            }
        }
        // Notices such as "the customer changed their number": not a message to answer.
        "system" => Content::System {
            text: raw_json["system"]["body"]
                .as_str()
                .unwrap_or("WhatsApp system notice")
                .to_string(),
        },
        _ => Content::Unknown,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn envelope(messages: Value, statuses: Value) -> Vec<u8> {
        json!({"object":"whatsapp_business_account","entry":[{"id":"WABA","changes":[{"field":"messages","value":{
            "messaging_product":"whatsapp",
            "metadata":{"display_phone_number":"15550001111","phone_number_id":"PNID"},
            "contacts":[{"profile":{"name":"Ada"},"wa_id":"4915112345678"}],
            "messages":messages,"statuses":statuses}}]}]})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn normalizes_each_message_type() {
        let body = envelope(
            json!([
                {"from":"4915112345678","id":"w1","timestamp":"1800000000","type":"text","text":{"body":"hi"},"context":{"id":"w0"}},
                {"from":"4915112345678","id":"w2","timestamp":"1800000001","type":"document","document":{"id":"M1","mime_type":"application/pdf","filename":"a.pdf","caption":"invoice"}},
                {"from":"4915112345678","id":"w3","timestamp":"1800000002","type":"location","location":{"latitude":52.5,"longitude":13.4,"name":"Office"}},
                {"from":"4915112345678","id":"w4","timestamp":"1800000003","type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"opt2","title":"Refund","description":"Money back"}}},
                {"from":"4915112345678","id":"w5","timestamp":"1800000004","type":"reaction","reaction":{"message_id":"w0","emoji":"👍"}},
                {"from":"4915112345678","id":"w5","timestamp":"1800000005","type":"reaction","reaction":{"message_id":"w0"}},
                {"from":"4915112345678","id":"w6","timestamp":"1800000006","type":"contacts","contacts":[{"name":{"formatted_name":"Bob"},"phones":[{"phone":"+1 555"}]}]},
                {"from":"4915112345678","id":"w7","timestamp":"1800000007","type":"hologram","hologram":{"x":1}},
                {"from":"4915112345678","id":"w8","timestamp":"1800000008","type":"button","button":{"payload":"P","text":"Yes"}}
            ]),
            json!([]),
        );
        let batch = parse_webhook(&body, now()).unwrap();
        let m = &batch.messages;
        assert_eq!(m.len(), 9);
        assert!(batch.rejections.is_empty());
        assert_eq!(m[0].message.text(), Some("hi"));
        assert_eq!(m[0].message.reply_to.as_deref(), Some("w0"));
        assert_eq!(m[0].customer.name.as_deref(), Some("Ada"));
        assert!(m[0].dedupe_keys.is_empty(), "its own key dedupes it");
        assert_eq!(m[0].message.sent_at, now());
        assert!(m[0].message.wants_answer);
        assert_eq!(m[1].message.text(), Some("invoice"));
        let Content::Media { attachments, .. } = &m[1].message.content else {
            panic!("media")
        };
        assert_eq!(attachments[0].filename.as_deref(), Some("a.pdf"));
        assert_eq!(attachments[0].media_kind, MediaKind::Document);
        assert!(
            matches!(&m[2].message.content, Content::Location { location } if location.name.as_deref() == Some("Office"))
        );
        assert!(
            matches!(&m[3].message.content, Content::Choice { choice } if choice.id.as_deref() == Some("opt2"))
        );
        assert_eq!(m[4].message.content.kind(), "reaction");
        assert!(!m[4].message.wants_answer);
        assert_ne!(
            m[4].message.id, m[5].message.id,
            "removal must not dedupe against the reaction"
        );
        assert!(
            matches!(&m[6].message.content, Content::Contacts { contacts } if contacts[0].phones == ["+1 555"])
        );
        assert_eq!(m[7].message.content, Content::Unknown);
        assert!(m[7].message.raw.as_ref().unwrap().contains("hologram"));
        assert_eq!(m[8].message.text(), Some("Yes"));
    }

    #[test]
    fn content_surprises_keep_the_message_raw() {
        let body = envelope(
            json!([
                {"from":"4915112345678","id":"w1","timestamp":"1800000000","type":"text"},
                {"from":"4915112345678","id":"w2","timestamp":"1800000000","type":"image","image":{"caption":"no id"}},
                {"from_user_id":"US.1349","id":"w3","timestamp":"1800000000","type":"text","text":{"body":"bsuid"}},
                {"from":"4915112345678","id":"w4","timestamp":"1800000000","type":"system","system":{"body":"changed number"}},
                {"from":"4915112345678","id":"w5","timestamp":"yesterday","type":"text","text":{"body":"when?"}}
            ]),
            json!([]),
        );
        let m = parse_webhook(&body, now()).unwrap().messages;
        assert_eq!(m[0].message.content, Content::Unknown);
        assert_eq!(m[1].message.content, Content::Unknown);
        assert!(m[1].message.raw.as_ref().unwrap().contains("no id"));
        assert_eq!(m[2].message.endpoint.customer_id, "US.1349");
        assert_eq!(m[2].message.text(), Some("bsuid"));
        assert_eq!(m[3].message.text(), Some("changed number"));
        assert!(!m[3].message.wants_answer);
        assert_eq!(m[4].message.content, Content::Unknown);
        assert_eq!(m[4].message.sent_at, now());
    }

    #[test]
    fn each_sender_gets_its_own_contact_name() {
        let body = json!({"object":"whatsapp_business_account","entry":[{"id":"WABA","changes":[{"field":"messages","value":{
            "messaging_product":"whatsapp",
            "metadata":{"display_phone_number":"15550001111","phone_number_id":"PNID"},
            "contacts":[
                {"profile":{"name":"Ada"},"wa_id":"111"},
                {"profile":{"name":"Bo"},"user_id":"US.222"}
            ],
            "messages":[
                {"from":"111","id":"a","timestamp":"1800000000","type":"text","text":{"body":"x"}},
                {"from_user_id":"US.222","id":"b","timestamp":"1800000000","type":"text","text":{"body":"y"}},
                {"from":"333","id":"c","timestamp":"1800000000","type":"text","text":{"body":"z"}}
            ]}}]}]})
        .to_string();
        let names: Vec<Option<String>> = parse_webhook(body.as_bytes(), now())
            .unwrap()
            .messages
            .into_iter()
            .map(|m| m.customer.name)
            .collect();
        assert_eq!(names, [Some("Ada".into()), Some("Bo".into()), None]);
    }

    #[test]
    fn statuses_become_delivery_updates() {
        let body = envelope(
            json!([]),
            json!([
                {"id":"out1","status":"delivered","timestamp":"1800000000","recipient_id":"4915112345678"},
                {"id":"out2","status":"failed","timestamp":"1800000001","recipient_id":"4915112345678",
                 "errors":[{"code":131047,"title":"Re-engagement message","error_data":{"details":"more than 24 hours"}}]},
                {"id":"out3","status":"mystery","timestamp":"1800000001","recipient_id":"4915112345678"}
            ]),
        );
        let batch = parse_webhook(&body, now()).unwrap();
        assert_eq!(batch.statuses.len(), 2);
        assert_eq!(batch.statuses[0].state, DeliveryState::Delivered);
        assert_eq!(batch.statuses[0].business_id, "PNID");
        let e = batch.statuses[1].error.as_ref().unwrap();
        assert_eq!(e.code.as_deref(), Some("131047"));
        assert_eq!(e.detail.as_deref(), Some("more than 24 hours"));
    }

    #[test]
    fn a_bad_element_is_kept_and_the_rest_parsed() {
        let body = envelope(
            json!([
                {"id":"x","timestamp":"1","type":"text","text":{"body":"no sender"}},
                {"from":"1","id":" ","timestamp":"1","type":"text","text":{"body":"blank id"}},
                {"from":"49 151#x","id":"y","timestamp":"1","type":"text","text":{"body":"bad sender"}},
                {"from":"4915112345678","id":"good","timestamp":"1800000000","type":"text","text":{"body":"fine"}}
            ]),
            json!([{"id":"","status":"read","timestamp":"1","recipient_id":"1"}]),
        );
        let batch = parse_webhook(&body, now()).unwrap();
        assert_eq!(batch.messages.len(), 1);
        assert_eq!(batch.messages[0].message.text(), Some("fine"));
        let paths: Vec<&str> = batch.rejections.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "entry[0].changes[0].value.messages[0]",
                "entry[0].changes[0].value.messages[1]",
                "entry[0].changes[0].value.messages[2]",
                "entry[0].changes[0].value.statuses[0]"
            ]
        );
        assert!(batch.rejections[0].raw.contains("no sender"));
        assert_eq!(batch.rejections[0].business_id.as_deref(), Some("PNID"));
    }

    #[test]
    fn a_foreign_envelope_is_kept_whole_as_one_rejection() {
        for (body, needle) in [
            (b"not json".to_vec(), "not WhatsApp's envelope"),
            (br#"{"object":"page","entry":[]}"#.to_vec(), "\"page\""),
            (
                br#"{"object":"whatsapp_business_account"}"#.to_vec(),
                "entry",
            ),
        ] {
            let batch = parse_webhook(&body, now()).unwrap();
            assert!(batch.messages.is_empty() && batch.statuses.is_empty());
            let [r] = batch.rejections.as_slice() else {
                panic!("one rejection: {batch:?}")
            };
            assert!(
                r.reason.contains(needle),
                "{} should mention {needle}",
                r.reason
            );
            assert_eq!((r.path.as_str(), r.raw.as_bytes()), ("$", body.as_slice()));
        }
        let odd_change = br#"{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"no":"metadata"}}]}]}"#;
        let batch = parse_webhook(odd_change, now()).unwrap();
        assert_eq!(batch.rejections.len(), 1);
    }
}
