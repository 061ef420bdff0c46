//! WhatsApp Cloud API: webhook verification (GET handshake, X-Hub-Signature-256),
//! payload normalization into the conversation model, and sending through the Graph API.

use super::{SendError, SentMessage};
use crate::conversation::{
    Channel, Choice, ConversationId, DeliveryState, Direction, Endpoint, InboundMessage, Location,
    Media, Message, MessageKind, ProviderError, Reaction, StatusUpdate,
};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::Value;
use sha2::Sha256;
use thiserror::Error;

/// The Graph API base used when `WHATSAPP_API_BASE` is not set.
pub const DEFAULT_API_BASE: &str = "https://graph.facebook.com/v23.0";

/// WhatsApp's limit on a text message body.
pub const MAX_TEXT_CHARS: usize = 4096;

// ---------------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------------

#[derive(Debug, Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("missing X-Hub-Signature-256 header")]
    Missing,
    #[error("malformed X-Hub-Signature-256 header")]
    Malformed,
    #[error("signature does not match the body")]
    Mismatch,
}

/// Checks `X-Hub-Signature-256: sha256=<hex>` against HMAC-SHA256(app secret, raw body),
/// in constant time. `body` must be the exact bytes received.
pub fn verify_signature(
    app_secret: &[u8],
    body: &[u8],
    header: Option<&str>,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let hex_sig = header
        .trim()
        .strip_prefix("sha256=")
        .ok_or(SignatureError::Malformed)?;
    let expected = hex::decode(hex_sig).map_err(|_| SignatureError::Malformed)?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(app_secret).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
}

/// The header value Meta would send for `body`; used by tests and the local stack.
pub fn sign(app_secret: &[u8], body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(app_secret).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The GET subscription handshake: returns the challenge to echo when the mode is
/// `subscribe` and the token matches, `None` otherwise (answer 403).
pub fn verify_handshake<'a>(
    mode: Option<&str>,
    token: Option<&str>,
    challenge: Option<&'a str>,
    verify_token: &str,
) -> Option<&'a str> {
    use subtle::ConstantTimeEq;
    let token_ok: bool = token
        .map(|t| t.as_bytes().ct_eq(verify_token.as_bytes()).into())
        .unwrap_or(false);
    (mode == Some("subscribe") && token_ok).then_some(challenge?)
}

// ---------------------------------------------------------------------------------
// Inbound payloads
// ---------------------------------------------------------------------------------

#[derive(Debug, Error, PartialEq, Eq)]
#[error("{0}")]
pub struct PayloadError(pub String);

/// Everything a webhook POST carried, normalized.
#[derive(Debug, Default, PartialEq)]
pub struct WebhookBatch {
    pub messages: Vec<InboundMessage>,
    pub statuses: Vec<StatusUpdate>,
    /// Changes of other fields (account updates and the like), acknowledged but not stored.
    pub ignored_changes: usize,
}

#[derive(Deserialize)]
struct Webhook {
    object: String,
    entry: Vec<Entry>,
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
    statuses: Vec<RawStatus>,
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
/// separately, so a surprise there keeps the message (as `unknown`) instead of
/// failing the batch.
#[derive(Deserialize)]
struct RawMessage {
    /// The customer's phone number; absent for BSUID-only senders.
    from: Option<String>,
    from_user_id: Option<String>,
    id: String,
    timestamp: String,
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
struct RawContext {
    id: Option<String>,
}

#[derive(Deserialize)]
struct RawStatus {
    id: String,
    status: String,
    timestamp: String,
    #[serde(default)]
    errors: Vec<RawError>,
}

#[derive(Deserialize)]
struct RawError {
    code: Option<i64>,
    title: Option<String>,
    message: Option<String>,
    error_data: Option<ErrorData>,
}

#[derive(Deserialize)]
struct ErrorData {
    details: Option<String>,
}

impl From<RawError> for ProviderError {
    fn from(e: RawError) -> Self {
        ProviderError {
            code: e.code,
            title: e
                .title
                .or(e.message)
                .unwrap_or_else(|| "unknown error".into()),
            detail: e.error_data.and_then(|d| d.details),
        }
    }
}

fn parse_timestamp(s: &str, what: &str) -> Result<DateTime<Utc>, PayloadError> {
    // Up to the year 2286: message sort keys hold 13 digits of milliseconds.
    s.parse::<i64>()
        .ok()
        .filter(|secs| (0..10_000_000_000).contains(secs))
        .and_then(|secs| DateTime::from_timestamp(secs, 0))
        .ok_or_else(|| PayloadError(format!("{what}: timestamp {s:?} is not unix seconds")))
}

/// Parses a webhook body. Fails (-> 400) only when the payload is not a WhatsApp
/// notification or a message or status lacks what is needed to store it; unknown
/// message types are kept with their raw JSON.
pub fn parse_webhook(
    body: &[u8],
    received_at: DateTime<Utc>,
) -> Result<WebhookBatch, PayloadError> {
    let hook: Webhook = serde_json::from_slice(body)
        .map_err(|e| PayloadError(format!("not a WhatsApp webhook: {e}")))?;
    if hook.object != "whatsapp_business_account" {
        return Err(PayloadError(format!("unexpected object {:?}", hook.object)));
    }
    let mut batch = WebhookBatch::default();
    for (ei, entry) in hook.entry.into_iter().enumerate() {
        for (ci, change) in entry.changes.into_iter().enumerate() {
            if change.field != "messages" {
                batch.ignored_changes += 1;
                continue;
            }
            let at = format!("entry[{ei}].changes[{ci}]");
            let value: MessagesValue = serde_json::from_value(change.value)
                .map_err(|e| PayloadError(format!("{at}.value: {e}")))?;
            let business_id = value.metadata.phone_number_id;
            for (mi, raw) in value.messages.into_iter().enumerate() {
                let inbound = parse_message(raw, &business_id, &value.contacts, received_at)
                    .map_err(|e| PayloadError(format!("{at}.value.messages[{mi}]: {}", e.0)))?;
                batch.messages.push(inbound);
            }
            for (si, st) in value.statuses.into_iter().enumerate() {
                if st.id.trim().is_empty() {
                    return Err(PayloadError(format!(
                        "{at}.value.statuses[{si}]: empty \"id\""
                    )));
                }
                let state = match st.status.as_str() {
                    "sent" => DeliveryState::Sent,
                    "delivered" => DeliveryState::Delivered,
                    "read" | "played" => DeliveryState::Read,
                    "failed" => DeliveryState::Failed,
                    other => {
                        tracing::warn!(status = other, "ignoring unknown WhatsApp status");
                        continue;
                    }
                };
                batch.statuses.push(StatusUpdate {
                    channel: Channel::Whatsapp,
                    provider_message_id: st.id,
                    state,
                    at: parse_timestamp(&st.timestamp, &format!("{at}.value.statuses[{si}]"))?,
                    error: st.errors.into_iter().next().map(ProviderError::from),
                });
            }
        }
    }
    Ok(batch)
}

fn parse_message(
    raw_json: Value,
    business_id: &str,
    contacts: &[Contact],
    received_at: DateTime<Utc>,
) -> Result<InboundMessage, PayloadError> {
    let raw: RawMessage =
        serde_json::from_value(raw_json.clone()).map_err(|e| PayloadError(e.to_string()))?;
    let sent_at = parse_timestamp(&raw.timestamp, "message")?;
    let customer = raw
        .from
        .clone()
        .or(raw.from_user_id.clone())
        .ok_or_else(|| PayloadError("message without \"from\" or \"from_user_id\"".into()))?;
    if raw.id.trim().is_empty() {
        return Err(PayloadError("message with an empty \"id\"".into()));
    }
    let endpoint = Endpoint {
        channel: Channel::Whatsapp,
        business_id: business_id.to_string(),
        customer_id: customer.clone(),
    };
    // Agents address conversations by id: never store one the API could not reach.
    if ConversationId::parse(endpoint.conversation_id().as_str()).is_none() {
        return Err(PayloadError(format!(
            "sender {customer:?} or phone_number_id {business_id:?} is not a valid id"
        )));
    }
    let sender_ids = [raw.from.as_deref(), raw.from_user_id.as_deref()];
    let is_sender = |id: &Option<String>| id.is_some() && sender_ids.contains(&id.as_deref());
    let customer_name = contacts
        .iter()
        .find(|c| is_sender(&c.wa_id) || is_sender(&c.user_id))
        // A lone contact without ids is the sender; of several, it could be anyone.
        .or(match contacts {
            [only] if only.wa_id.is_none() && only.user_id.is_none() => Some(only),
            _ => None,
        })
        .and_then(|c| c.profile.as_ref()?.name.clone());
    let mut msg = Message {
        id: raw.id.clone(),
        conversation_id: endpoint.conversation_id(),
        endpoint,
        direction: Direction::Inbound,
        kind: MessageKind::Unknown,
        sent_at,
        stored_at: received_at,
        text: None,
        media: None,
        location: None,
        reaction: None,
        choice: None,
        reply_to: raw.context.and_then(|c| c.id),
        provider_message_id: Some(raw.id.clone()),
        raw: None,
        author: None,
        delivery: None,
    };
    let kind = raw.kind.as_deref().unwrap_or("unsupported");
    if let Err(reason) = fill_content(&mut msg, kind, &raw_json, &raw.timestamp) {
        tracing::warn!(
            kind,
            reason,
            "WhatsApp message content not understood; kept raw"
        );
        msg.kind = MessageKind::Unknown;
        msg.text = None;
        msg.media = None;
        msg.location = None;
        msg.reaction = None;
        msg.choice = None;
    }
    if msg.kind == MessageKind::Unknown || msg.kind == MessageKind::System {
        msg.raw = Some(raw_json.to_string());
    }
    let dedupe_key = format!("whatsapp#{}", msg.id);
    Ok(InboundMessage {
        message: msg,
        customer_name,
        dedupe_key,
    })
}

/// Reads the type's own object into `msg`. Unknown types leave `msg` unknown.
fn fill_content(
    msg: &mut Message,
    kind: &str,
    raw_json: &Value,
    timestamp: &str,
) -> Result<(), String> {
    fn part<T: serde::de::DeserializeOwned>(raw_json: &Value, key: &str) -> Result<T, String> {
        let v = raw_json
            .get(key)
            .cloned()
            .ok_or_else(|| format!("type {key:?} without a {key:?} object"))?;
        serde_json::from_value(v).map_err(|e| format!("{key}: {e}"))
    }
    let media_kind = match kind {
        "image" => Some(MessageKind::Image),
        "video" => Some(MessageKind::Video),
        "audio" => Some(MessageKind::Audio),
        "document" => Some(MessageKind::Document),
        "sticker" => Some(MessageKind::Sticker),
        _ => None,
    };
    if let Some(media_kind) = media_kind {
        let media: RawMedia = part(raw_json, kind)?;
        msg.kind = media_kind;
        msg.text = media.caption;
        msg.media = Some(Media {
            id: media.id,
            mime_type: media.mime_type,
            sha256: media.sha256,
            filename: media.filename,
        });
        return Ok(());
    }
    match kind {
        "text" => {
            msg.text = Some(part::<TextBody>(raw_json, "text")?.body);
            msg.kind = MessageKind::Text;
        }
        "location" => {
            let l: RawLocation = part(raw_json, "location")?;
            msg.kind = MessageKind::Location;
            msg.location = Some(Location {
                latitude: l.latitude,
                longitude: l.longitude,
                name: l.name,
                address: l.address,
            });
        }
        "contacts" => {
            part::<Vec<Value>>(raw_json, "contacts")?;
            msg.kind = MessageKind::Contacts;
            msg.raw = Some(raw_json["contacts"].to_string());
        }
        "interactive" => {
            let i: RawInteractive = part(raw_json, "interactive")?;
            // Flow replies and future interactive types stay unknown, kept whole.
            if let Some(c) = i.button_reply.or(i.list_reply) {
                msg.kind = MessageKind::Interactive;
                msg.text = Some(c.title.clone());
                msg.choice = Some(Choice {
                    id: c.id,
                    title: c.title,
                    description: c.description,
                });
            }
        }
        "button" => {
            let b: RawButton = part(raw_json, "button")?;
            msg.kind = MessageKind::Button;
            msg.text = Some(b.text.clone());
            msg.choice = Some(Choice {
                id: b.payload,
                title: b.text,
                description: None,
            });
        }
        "reaction" => {
            let r: RawReaction = part(raw_json, "reaction")?;
            msg.kind = MessageKind::Reaction;
            // A reaction, its removal and a re-added reaction can all carry the same
            // message id: each is its own event.
            msg.id = format!(
                "{}~{}~{}",
                msg.id,
                timestamp,
                r.emoji.as_deref().unwrap_or("removed")
            );
            msg.text = r.emoji.clone();
            msg.reaction = Some(Reaction {
                message_id: r.message_id,
                emoji: r.emoji,
            });
        }
        // Notices such as "the customer changed their number": not a message to answer.
        "system" => msg.kind = MessageKind::System,
        _ => {}
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// Sending
// ---------------------------------------------------------------------------------

/// Sends through the Graph API: `POST {base}/{phone_number_id}/messages`.
#[derive(Clone)]
pub struct WhatsAppClient {
    http: reqwest::Client,
    api_base: String,
    access_token: String,
}

#[derive(Deserialize)]
struct SendResponse {
    messages: Vec<SendResponseMessage>,
}

#[derive(Deserialize)]
struct SendResponseMessage {
    id: String,
}

#[derive(Deserialize)]
struct GraphErrorBody {
    error: GraphError,
}

#[derive(Deserialize)]
struct GraphError {
    message: Option<String>,
    code: Option<i64>,
    error_data: Option<ErrorData>,
}

impl WhatsAppClient {
    pub fn new(http: reqwest::Client, api_base: &str, access_token: &str) -> Self {
        WhatsAppClient {
            http,
            api_base: api_base.trim_end_matches('/').to_string(),
            access_token: access_token.to_string(),
        }
    }

    pub async fn send_text(
        &self,
        phone_number_id: &str,
        to: &str,
        text: &str,
    ) -> Result<SentMessage, SendError> {
        // With the plus sign the number is read as international; without it Meta
        // would prepend the business number's country code.
        let digits = to.trim_start_matches('+');
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            // A customer known only by a business-scoped user id (BSUID): sending to
            // a BSUID takes another recipient form, not implemented yet. Refuse
            // clearly instead of sending "+US.1349..." as a phone number.
            return Err(SendError::Rejected(ProviderError {
                code: None,
                title: "the customer is known only by a BSUID; replies need a phone number".into(),
                detail: Some(format!("recipient {to:?} is not a phone number")),
            }));
        }
        let to = format!("+{digits}");
        let body = serde_json::json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "text",
            "text": { "preview_url": false, "body": text },
        });
        let url = format!("{}/{}/messages", self.api_base, phone_number_id);
        let resp = self
            .http
            .post(&url)
            .bearer_auth(&self.access_token)
            .json(&body)
            .send()
            .await
            .map_err(|e| {
                if e.is_connect() {
                    // Nothing reached Meta: safe to try again.
                    SendError::Unavailable(format!("WhatsApp API unreachable: {}", without_url(e)))
                } else {
                    SendError::Unconfirmed(format!(
                        "no answer from the WhatsApp API: {}",
                        without_url(e)
                    ))
                }
            })?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok()?.parse().ok());
        let bytes = resp.bytes().await.map_err(|e| {
            SendError::Unconfirmed(format!("WhatsApp API response cut off: {}", without_url(e)))
        })?;
        if status.is_success() {
            // Accepted, but without an id we cannot tell what was sent.
            let id = serde_json::from_slice::<SendResponse>(&bytes)
                .ok()
                .and_then(|r| r.messages.into_iter().next())
                .ok_or_else(|| {
                    SendError::Unconfirmed("WhatsApp API answered 2xx without a message id".into())
                })?
                .id;
            return Ok(SentMessage {
                provider_message_id: id,
            });
        }
        let graph = serde_json::from_slice::<GraphErrorBody>(&bytes)
            .ok()
            .map(|b| b.error);
        let error = ProviderError {
            code: graph.as_ref().and_then(|g| g.code),
            title: graph
                .as_ref()
                .and_then(|g| g.message.clone())
                .unwrap_or_else(|| format!("HTTP {status}")),
            detail: graph.and_then(|g| g.error_data?.details),
        };
        Err(classify(status.as_u16(), retry_after, error))
    }
}

/// Sorts a Graph API error by what to do about it: Meta asks to decide on `code`
/// first (error-codes page), the HTTP status second.
fn classify(status: u16, retry_after: Option<u64>, error: ProviderError) -> SendError {
    match error.code {
        // Throughput, pair-rate, WABA, app and spam-rate limits.
        Some(4 | 80007 | 130429 | 131048 | 131056) => SendError::RateLimited { retry_after, error },
        // Temporary or server-side errors.
        Some(1 | 2 | 131000 | 131016) => {
            SendError::Unavailable(format!("WhatsApp API error {}: {}", status, error.title))
        }
        // Access token expired or invalid.
        Some(190) => SendError::Unauthorized(error),
        _ if status == 429 => SendError::RateLimited { retry_after, error },
        // A Graph error body means the Graph API itself answered and failed.
        _ if status >= 500 && error.code.is_some() => {
            SendError::Unavailable(format!("WhatsApp API {status}: {}", error.title))
        }
        // A bare 5xx (502/504 from a proxy in front of the API) may come after the
        // request was passed on: the message may be out.
        _ if status >= 500 => SendError::Unconfirmed(format!(
            "WhatsApp API answered {status} without a Graph error"
        )),
        _ if status == 401 || status == 403 => SendError::Unauthorized(error),
        _ => SendError::Rejected(error),
    }
}

/// reqwest errors include the URL; keep it out of messages and logs.
fn without_url(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    kind.to_string()
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
    fn signature_accepts_exact_bytes_only() {
        let body = "{\"text\":\"Grüße 👋\"}".as_bytes();
        let sig = sign(b"s3cret", body);
        assert_eq!(verify_signature(b"s3cret", body, Some(&sig)), Ok(()));
        assert_eq!(
            verify_signature(b"other", body, Some(&sig)),
            Err(SignatureError::Mismatch)
        );
        let reencoded = "{\"text\":\"Gr\\u00fc\\u00dfe 👋\"}".as_bytes();
        assert_eq!(
            verify_signature(b"s3cret", reencoded, Some(&sig)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(b"s3cret", body, None),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify_signature(b"s3cret", body, Some("sha1=abc")),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify_signature(b"s3cret", body, Some("sha256=zz")),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn handshake_needs_subscribe_and_token() {
        assert_eq!(
            verify_handshake(Some("subscribe"), Some("tok"), Some("42"), "tok"),
            Some("42")
        );
        assert_eq!(
            verify_handshake(Some("subscribe"), Some("bad"), Some("42"), "tok"),
            None
        );
        assert_eq!(
            verify_handshake(Some("unsubscribe"), Some("tok"), Some("42"), "tok"),
            None
        );
        assert_eq!(
            verify_handshake(Some("subscribe"), None, Some("42"), "tok"),
            None
        );
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
                {"from":"4915112345678","id":"w6","timestamp":"1800000006","type":"contacts","contacts":[{"name":{"formatted_name":"Bob"}}]},
                {"from":"4915112345678","id":"w7","timestamp":"1800000007","type":"hologram","hologram":{"x":1}},
                {"from":"4915112345678","id":"w8","timestamp":"1800000008","type":"button","button":{"payload":"P","text":"Yes"}}
            ]),
            json!([]),
        );
        let batch = parse_webhook(&body, now()).unwrap();
        let m = &batch.messages;
        assert_eq!(m.len(), 9);
        assert_eq!(m[0].message.text.as_deref(), Some("hi"));
        assert_eq!(m[0].message.reply_to.as_deref(), Some("w0"));
        assert_eq!(m[0].customer_name.as_deref(), Some("Ada"));
        assert_eq!(
            m[0].message.conversation_id.as_str(),
            "wa.PNID.4915112345678"
        );
        assert_eq!(m[0].message.sent_at, now());
        assert_eq!(m[1].message.kind, MessageKind::Document);
        assert_eq!(m[1].message.text.as_deref(), Some("invoice"));
        assert_eq!(
            m[1].message.media.as_ref().unwrap().filename.as_deref(),
            Some("a.pdf")
        );
        assert_eq!(
            m[2].message.location.as_ref().unwrap().name.as_deref(),
            Some("Office")
        );
        assert_eq!(
            m[3].message.choice.as_ref().unwrap().id.as_deref(),
            Some("opt2")
        );
        assert_eq!(m[4].message.kind, MessageKind::Reaction);
        assert_ne!(
            m[4].dedupe_key, m[5].dedupe_key,
            "removal must not dedupe against the reaction"
        );
        assert_eq!(m[5].message.reaction.as_ref().unwrap().emoji, None);
        assert_eq!(m[6].message.kind, MessageKind::Contacts);
        assert!(m[6].message.raw.as_ref().unwrap().contains("Bob"));
        assert_eq!(m[7].message.kind, MessageKind::Unknown);
        assert!(m[7].message.raw.as_ref().unwrap().contains("hologram"));
        assert_eq!(m[8].message.kind, MessageKind::Button);
    }

    #[test]
    fn content_surprises_keep_the_message_raw() {
        let body = envelope(
            json!([
                {"from":"4915112345678","id":"w1","timestamp":"1800000000","type":"text"},
                {"from":"4915112345678","id":"w2","timestamp":"1800000000","type":"image","image":{"caption":"no id"}},
                {"from_user_id":"US.1349","id":"w3","timestamp":"1800000000","type":"text","text":{"body":"bsuid"}},
                {"from":"4915112345678","id":"w4","timestamp":"1800000000","type":"system","system":{"body":"changed number"}}
            ]),
            json!([]),
        );
        let m = parse_webhook(&body, now()).unwrap().messages;
        assert_eq!(
            (m[0].message.kind, m[1].message.kind),
            (MessageKind::Unknown, MessageKind::Unknown)
        );
        assert!(m[1].message.raw.as_ref().unwrap().contains("no id"));
        assert_eq!(m[2].message.conversation_id.as_str(), "wa.PNID.US.1349");
        assert_eq!(m[2].message.text.as_deref(), Some("bsuid"));
        assert_eq!(m[3].message.kind, MessageKind::System);
        assert!(!m[3].message.kind.wants_answer());
    }

    #[test]
    fn graph_errors_are_sorted_by_code_first() {
        let e = |code| ProviderError {
            code: Some(code),
            title: "t".into(),
            detail: None,
        };
        assert!(matches!(
            classify(400, None, e(131000)),
            SendError::Unavailable(_)
        ));
        assert!(matches!(
            classify(400, Some(6), e(131056)),
            SendError::RateLimited {
                retry_after: Some(6),
                ..
            }
        ));
        assert!(matches!(
            classify(400, None, e(190)),
            SendError::Unauthorized(_)
        ));
        assert!(matches!(
            classify(400, None, e(131047)),
            SendError::Rejected(_)
        ));
        assert!(matches!(
            classify(503, None, e(999)),
            SendError::Unavailable(_)
        ));
        assert!(matches!(
            classify(429, None, e(999)),
            SendError::RateLimited { .. }
        ));
        let bare = ProviderError {
            code: None,
            title: "HTTP 502".into(),
            detail: None,
        };
        assert!(matches!(
            classify(502, None, bare),
            SendError::Unconfirmed(_)
        ));
    }

    #[tokio::test]
    async fn a_customer_without_a_phone_number_is_refused_before_sending() {
        // Nothing listens on port 9: a request would fail as unreachable, not rejected.
        let client = WhatsAppClient::new(reqwest::Client::new(), "http://127.0.0.1:9", "t");
        let err = client
            .send_text("106540352242922", "US.13491208655302741918", "hi")
            .await
            .unwrap_err();
        assert!(matches!(err, SendError::Rejected(_)), "{err:?}");
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
            .map(|m| m.customer_name)
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
        let e = batch.statuses[1].error.as_ref().unwrap();
        assert_eq!(e.code, Some(131047));
        assert_eq!(e.detail.as_deref(), Some("more than 24 hours"));
    }

    #[test]
    fn malformed_payloads_are_rejected_with_a_reason() {
        for (body, needle) in [
            (b"not json".to_vec(), "not a WhatsApp webhook"),
            (
                br#"{"object":"page","entry":[]}"#.to_vec(),
                "unexpected object",
            ),
            (
                envelope(
                    json!([{"from":"1","id":"x","timestamp":"yesterday","type":"text","text":{"body":"a"}}]),
                    json!([]),
                ),
                "timestamp",
            ),
            (
                envelope(
                    json!([{"from":"1","id":"x","timestamp":"99999999999","type":"text","text":{"body":"a"}}]),
                    json!([]),
                ),
                "timestamp",
            ),
            (
                envelope(
                    json!([{"id":"x","timestamp":"1","type":"text","text":{"body":"a"}}]),
                    json!([]),
                ),
                "messages[0]",
            ),
            (
                envelope(
                    json!([{"from":"1","id":" ","timestamp":"1","type":"text","text":{"body":"a"}}]),
                    json!([]),
                ),
                "empty \"id\"",
            ),
            (
                envelope(
                    json!([{"from":"49 151/../x","id":"x","timestamp":"1","type":"text","text":{"body":"a"}}]),
                    json!([]),
                ),
                "not a valid id",
            ),
            (
                envelope(
                    json!([]),
                    json!([{"id":"","status":"read","timestamp":"1","recipient_id":"1"}]),
                ),
                "statuses[0]: empty",
            ),
        ] {
            let e = parse_webhook(&body, now()).unwrap_err();
            assert!(e.0.contains(needle), "{e} should mention {needle}");
        }
    }
}
