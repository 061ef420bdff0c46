//! SES notifications into the model: a received mail (the SES `Received`
//! notification, with the mail inline in UTF-8 or Base64 or in S3) becomes an
//! inbound message; SES event publishing (Delivery, Bounce, Complaint...) becomes a
//! delivery status of our outbound mail. MIME is read by mail-parser.

use super::thread::{self, bare_id};
use super::{EmailSettings, quote};
use crate::conversation::{
    Attachment, Channel, Content, ConversationId, CustomerProfile, DeliveryState, Endpoint,
    InboundMessage, MailMeta, MediaKind, Message, Origin, ProviderError, Rejection, StatusUpdate,
};
use crate::ports::PayloadError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use mail_parser::{MessageParser, MimeHeaders};
use serde::Deserialize;
use serde_json::Value;

/// Longest text (and, separately, quoted history) kept in the item, in bytes. The
/// full mail stays in S3 (S3 action) or in `raw` (SNS action, at most 150 KB), so
/// a message item stays far below DynamoDB's 400 KB.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;
/// Largest mail source kept in the item's `raw` (SNS's own limit is 150 KB).
pub const MAX_RAW_BYTES: usize = 150 * 1024;

/// What one SNS notification carries.
#[derive(Debug)]
pub enum Notification {
    /// A mail SES received.
    Received(Received),
    /// A delivery status of a mail we sent (SES event publishing).
    Status(Option<StatusUpdate>),
    /// Something SNS or SES sends that asyncdesk does not use (a subscription
    /// notice, a Send or Open event...).
    Ignored(&'static str),
}

/// Where the mail's source is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailSource {
    Inline(Vec<u8>),
    S3 { bucket: String, key: String },
}

/// A received mail's notification.
#[derive(Debug)]
pub struct Received {
    /// SNS's id of the notification (kept across SNS retries).
    pub sns_message_id: String,
    /// SES's id of the received mail.
    pub ses_message_id: String,
    pub source: MailSource,
    /// The envelope sender (MAIL FROM).
    pub envelope_sender: Option<String>,
    /// Recipients of the receipt rule (envelope RCPT TO).
    pub recipients: Vec<String>,
    pub received_at: Option<DateTime<Utc>>,
    /// A failed spam or virus verdict.
    pub verdict: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesNotification {
    notification_type: Option<String>,
    event_type: Option<String>,
    mail: Option<SesMail>,
    receipt: Option<SesReceipt>,
    content: Option<String>,
    bounce: Option<Value>,
    complaint: Option<Value>,
    delivery: Option<Value>,
    reject: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesMail {
    message_id: String,
    source: Option<String>,
    timestamp: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesReceipt {
    #[serde(default)]
    recipients: Vec<String>,
    spam_verdict: Option<Verdict>,
    virus_verdict: Option<Verdict>,
    action: SesAction,
}

#[derive(Deserialize)]
struct Verdict {
    status: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesAction {
    #[serde(rename = "type")]
    kind: String,
    encoding: Option<String>,
    bucket_name: Option<String>,
    object_key: Option<String>,
}

/// Reads an SNS notification's `Message` (an SES notification, JSON). Fails when
/// it is not one: the caller keeps it raw as a rejection.
pub fn read_notification(
    message: &str,
    sns_message_id: &str,
    settings: &EmailSettings,
) -> Result<Notification, PayloadError> {
    let n: SesNotification = serde_json::from_str(message)
        .map_err(|e| PayloadError(format!("not an SES notification: {e}")))?;
    let kind = n
        .notification_type
        .as_deref()
        .or(n.event_type.as_deref())
        .ok_or_else(|| PayloadError("SES notification without a type".into()))?;
    match kind {
        "Received" => received(n, sns_message_id).map(Notification::Received),
        "Delivery" | "Bounce" | "Complaint" | "Reject" | "Open" => {
            Ok(Notification::Status(status(kind, &n, settings)?))
        }
        "AmazonSnsSubscriptionSucceeded" => Ok(Notification::Ignored("subscription notice")),
        "Send" | "Click" | "DeliveryDelay" | "Rendering Failure" | "Subscription" => Ok(
            Notification::Ignored("event that changes no delivery state"),
        ),
        _ => Err(PayloadError(format!(
            "unknown SES notification type {kind:?}"
        ))),
    }
}

fn received(n: SesNotification, sns_message_id: &str) -> Result<Received, PayloadError> {
    let mail = n
        .mail
        .ok_or_else(|| PayloadError("Received notification without mail".into()))?;
    let receipt = n
        .receipt
        .ok_or_else(|| PayloadError("Received notification without receipt".into()))?;
    let source = match receipt.action.kind.to_ascii_lowercase().as_str() {
        "sns" => {
            let content = n
                .content
                .ok_or_else(|| PayloadError("SNS action notification without content".into()))?;
            // "UTF-8" in CloudFormation, "UTF8" and "BASE64" in payloads.
            let encoding = receipt
                .action
                .encoding
                .as_deref()
                .unwrap_or("UTF8")
                .to_ascii_lowercase()
                .replace('-', "");
            let bytes = match encoding.as_str() {
                "base64" => STANDARD
                    .decode(content.trim().replace(['\r', '\n'], ""))
                    .map_err(|e| PayloadError(format!("content is not Base64: {e}")))?,
                "utf8" => content.into_bytes(),
                other => return Err(PayloadError(format!("unknown content encoding {other:?}"))),
            };
            MailSource::Inline(bytes)
        }
        "s3" => MailSource::S3 {
            bucket: receipt
                .action
                .bucket_name
                .ok_or_else(|| PayloadError("S3 action without bucketName".into()))?,
            key: receipt
                .action
                .object_key
                .ok_or_else(|| PayloadError("S3 action without objectKey".into()))?,
        },
        other => {
            return Err(PayloadError(format!(
                "receipt action {other:?} carries no mail (use the SNS or S3 action)"
            )));
        }
    };
    let failed = |v: &Option<Verdict>| {
        v.as_ref()
            .is_some_and(|v| v.status.eq_ignore_ascii_case("FAIL"))
    };
    let verdict = if failed(&receipt.virus_verdict) {
        Some("virus".to_string())
    } else if failed(&receipt.spam_verdict) {
        Some("spam".to_string())
    } else {
        None
    };
    Ok(Received {
        sns_message_id: sns_message_id.to_string(),
        ses_message_id: mail.message_id,
        source,
        envelope_sender: mail.source,
        recipients: receipt.recipients,
        received_at: mail.timestamp,
        verdict,
    })
}

fn status(
    kind: &str,
    n: &SesNotification,
    settings: &EmailSettings,
) -> Result<Option<StatusUpdate>, PayloadError> {
    let mail = n
        .mail
        .as_ref()
        .ok_or_else(|| PayloadError(format!("{kind} notification without mail")))?;
    let detail = match kind {
        "Delivery" => n.delivery.as_ref(),
        "Bounce" => n.bounce.as_ref(),
        "Complaint" => n.complaint.as_ref(),
        "Reject" => n.reject.as_ref(),
        _ => None,
    };
    let at = detail
        .and_then(|d| d.get("timestamp"))
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .or(mail.timestamp)
        .unwrap_or_else(Utc::now);
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let (state, error) = match kind {
        "Delivery" => (DeliveryState::Delivered, None),
        "Open" => (DeliveryState::Read, None),
        "Complaint" => (
            DeliveryState::Complained,
            Some(ProviderError {
                code: Some("complaint".into()),
                title: "the recipient marked the mail as spam".into(),
                detail: detail.and_then(|d| text(d, "complaintFeedbackType")),
            }),
        ),
        "Bounce" => {
            let d = detail.cloned().unwrap_or_default();
            let kind = text(&d, "bounceType").unwrap_or_else(|| "Undetermined".into());
            let sub = text(&d, "bounceSubType").unwrap_or_default();
            let diagnostic = d
                .get("bouncedRecipients")
                .and_then(|r| r.get(0))
                .and_then(|r| r.get("diagnosticCode"))
                .and_then(Value::as_str)
                .map(|s| s.chars().take(500).collect());
            (
                DeliveryState::Failed,
                Some(ProviderError {
                    code: Some(format!("bounce:{kind}/{sub}")),
                    title: format!("{kind} bounce ({sub})"),
                    detail: diagnostic,
                }),
            )
        }
        _ => (
            DeliveryState::Failed,
            Some(ProviderError {
                code: Some("reject".into()),
                title: "SES rejected the mail".into(),
                detail: detail.and_then(|d| text(d, "reason")),
            }),
        ),
    };
    Ok(Some(StatusUpdate {
        channel: Channel::Email,
        business_id: settings.from.address.clone(),
        provider_message_id: mail.message_id.clone(),
        state,
        at,
        error,
    }))
}

/// A received mail that could not be read as MIME, kept raw.
pub fn rejection(reason: &str, raw: &str, received_at: DateTime<Utc>) -> Rejection {
    Rejection {
        channel: Channel::Email,
        business_id: None,
        path: "Records[].Sns.Message".into(),
        reason: reason.to_string(),
        raw: raw.to_string(),
        received_at,
    }
}

fn truncate(text: &str, max: usize) -> (String, bool) {
    if text.len() <= max {
        return (text.to_string(), false);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (text[..end].to_string(), true)
}

fn media_kind(mime: &str) -> MediaKind {
    match mime.split('/').next().unwrap_or_default() {
        "image" => MediaKind::Image,
        "video" => MediaKind::Video,
        "audio" => MediaKind::Audio,
        _ => MediaKind::Document,
    }
}

/// The mail `bytes` of notification `received` as an inbound message, or `None`
/// when the bytes are not a mail at all (the caller keeps them as a rejection).
pub fn parse_mail(
    bytes: &[u8],
    received: &Received,
    settings: &EmailSettings,
    received_at: DateTime<Utc>,
) -> Option<InboundMessage> {
    let mail = MessageParser::default().parse(bytes)?;
    // Something that parses as headers without a sender is not a mail.
    let from = mail
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .map(str::to_ascii_lowercase)
        .or_else(|| received.envelope_sender.clone().filter(|s| s.contains('@')))?;
    let from_name = mail
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.name())
        .map(str::to_string)
        .filter(|n| !n.trim().is_empty());
    let reply_address = mail
        .reply_to()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .map(str::to_ascii_lowercase)
        .unwrap_or_else(|| from.clone());
    let endpoint = Endpoint {
        channel: Channel::Email,
        business_id: settings.from.address.clone(),
        customer_id: reply_address.clone(),
    };

    // Text: the text part, else text from the HTML part; new text apart from quotes.
    let body = mail
        .body_text(0)
        .map(|b| b.into_owned())
        .unwrap_or_default();
    let (new_text, quoted) = quote::split(&body);
    let (text, cut_text) = truncate(&new_text, MAX_TEXT_BYTES);
    let (quoted, cut_quote) = match quoted {
        Some(q) => {
            let (q, cut) = truncate(&q, MAX_TEXT_BYTES);
            (Some(q), cut)
        }
        None => (None, false),
    };
    let attachments: Vec<Attachment> = mail
        .attachments()
        .map(|part| {
            let mime = part
                .content_type()
                .map(|c| match c.subtype() {
                    Some(sub) => format!("{}/{}", c.ctype(), sub),
                    None => c.ctype().to_string(),
                })
                .map(|m| m.to_ascii_lowercase());
            Attachment {
                media_kind: media_kind(mime.as_deref().unwrap_or_default()),
                file_id: None,
                mime_type: mime,
                filename: part.attachment_name().map(str::to_string),
                size: Some(part.len() as u64),
                sha256: None,
            }
        })
        .collect();
    let text_opt = (!text.is_empty()).then_some(text);
    let content = if attachments.is_empty() {
        Content::Text {
            text: text_opt.unwrap_or_default(),
        }
    } else {
        Content::Media {
            attachments,
            text: text_opt,
        }
    };

    let message_id = mail.message_id().map(|id| bare_id(id).to_string());
    let ids = |v: &mail_parser::HeaderValue| -> Vec<String> {
        match v {
            mail_parser::HeaderValue::Text(t) => vec![bare_id(t).to_string()],
            mail_parser::HeaderValue::TextList(l) => {
                l.iter().map(|t| bare_id(t).to_string()).collect()
            }
            _ => Vec::new(),
        }
    };
    let in_reply_to = ids(mail.in_reply_to());
    let references = ids(mail.references());
    let subject = mail.subject().map(|s| s.trim().to_string());
    let date = mail.date();
    let sent_at = date
        .and_then(|d| DateTime::from_timestamp(d.to_timestamp(), 0))
        // A Date far off the receipt is a wrong clock, not a send time.
        .filter(|t| (*t - received_at).num_days().abs() < 7)
        .or(received.received_at)
        .unwrap_or(received_at);
    let utc_offset_minutes = date.map(|d| {
        let m = i32::from(d.tz_hour) * 60 + i32::from(d.tz_minute);
        if d.tz_before_gmt { -m } else { m }
    });
    let language = mail
        .header("Content-Language")
        .and_then(|v| match v {
            mail_parser::HeaderValue::Text(t) => Some(t.to_string()),
            mail_parser::HeaderValue::TextList(l) => l.first().map(|t| t.to_string()),
            _ => None,
        })
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty() && l.len() <= 35);

    let mut message = Message::inbound(
        endpoint.clone(),
        format!("mail-{}", received.ses_message_id),
        content,
        sent_at,
        received_at,
    );
    message.provider_message_id = message_id.clone();
    message.reply_to = in_reply_to.first().cloned();
    let source = match &received.source {
        MailSource::S3 { bucket, key } => Some(format!("s3://{bucket}/{key}")),
        MailSource::Inline(_) => None,
    };
    if source.is_none() && bytes.len() <= MAX_RAW_BYTES {
        message.raw = Some(String::from_utf8_lossy(bytes).into_owned());
    }
    message.mail = Some(MailMeta {
        subject: subject.clone(),
        message_id: message_id.clone(),
        in_reply_to: in_reply_to.clone(),
        references: references.clone(),
        quoted,
        utc_offset_minutes,
        source,
        truncated: cut_text || cut_quote,
    });

    // What the loop guard reads.
    let watched: Vec<(String, String)> = mail
        .headers_raw()
        .filter_map(|(name, value)| {
            let name = name.to_ascii_lowercase();
            crate::loop_guard::watched_headers()
                .any(|w| w == name)
                .then(|| (name, value.trim().chars().take(300).collect()))
        })
        .collect();
    let content_type = mail.root_part().content_type().map(|c| {
        let mut t = match c.subtype() {
            Some(sub) => format!("{}/{}", c.ctype(), sub),
            None => c.ctype().to_string(),
        };
        if let Some(report) = c.attribute("report-type") {
            t.push_str(&format!("; report-type={report}"));
        }
        t.to_ascii_lowercase()
    });
    message.origin = Origin {
        headers: watched,
        from: Some(from),
        envelope_sender: received.envelope_sender.clone(),
        content_type,
        verdict: received.verdict.clone(),
        ..Origin::default()
    };
    crate::loop_guard::judge(&mut message, &settings.own_addresses);
    message.sender = crate::conversation::Sender {
        name: from_name.clone(),
        language: language.clone(),
        zone: utc_offset_minutes
            .and_then(crate::hours::CustomerZone::from_offset_minutes)
            .map(|z| z.as_string()),
    };

    // The conversation: our Reply-To token, else a thread lookup (In-Reply-To,
    // References newest first, the subject), else a thread of its own.
    let to_cc: Vec<String> = mail
        .to()
        .into_iter()
        .chain(mail.cc())
        .flat_map(|a| a.iter())
        .filter_map(|a| a.address().map(str::to_string))
        .collect();
    let token = received.recipients.iter().chain(&to_cc).find_map(|r| {
        thread::token_conversation(r, settings.from.local_part(), settings.from.domain())
    });
    let subject_key = subject
        .as_deref()
        .and_then(|s| thread::subject_key(&reply_address, s));
    let root = message_id
        .clone()
        .unwrap_or_else(|| format!("ses:{}", received.ses_message_id));
    let mut thread_lookup = Vec::new();
    match token {
        Some(id) => message.conversation_id = id,
        None => {
            message.conversation_id = endpoint.thread_id(&root);
            thread_lookup.extend(in_reply_to.iter().map(|id| thread::message_id_key(id)));
            thread_lookup.extend(references.iter().rev().map(|id| thread::message_id_key(id)));
            thread_lookup.extend(subject_key.clone());
        }
    }
    message.thread_keys = message_id
        .iter()
        .map(|id| thread::message_id_key(id))
        .chain(subject_key)
        .collect();

    let mut dedupe_keys = vec![format!(
        "email#{}#sns:{}",
        settings.from.address, received.sns_message_id
    )];
    if let Some(id) = &message_id {
        dedupe_keys.push(format!(
            "email#{}#mid:{}",
            settings.from.address,
            thread::message_id_key(id)
        ));
    }
    Some(InboundMessage {
        message,
        customer: CustomerProfile {
            name: from_name,
            username: None,
            language,
        },
        dedupe_keys,
        blocked: None,
        group: false,
        thread_lookup,
    })
}

/// The conversation id a test or tool expects for a new thread.
pub fn new_thread_id(
    settings: &EmailSettings,
    customer: &str,
    root_message_id: &str,
) -> ConversationId {
    Endpoint {
        channel: Channel::Email,
        business_id: settings.from.address.clone(),
        customer_id: customer.to_ascii_lowercase(),
    }
    .thread_id(bare_id(root_message_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> EmailSettings {
        EmailSettings::new("Acme Support <support@acme.example>")
    }

    fn received_inline(bytes: &[u8]) -> Received {
        Received {
            sns_message_id: "sns-1".into(),
            ses_message_id: "ses1".into(),
            source: MailSource::Inline(bytes.to_vec()),
            envelope_sender: Some("ada@example.org".into()),
            recipients: vec!["support@acme.example".into()],
            received_at: None,
            verdict: None,
        }
    }

    const MAIL: &str = "From: Ada Lovelace <Ada@Example.org>\r\nTo: support@acme.example\r\nSubject: =?UTF-8?Q?R=C3=BCckerstattung?=\r\nMessage-ID: <m1@example.org>\r\nDate: Tue, 1 Dec 2026 09:00:00 +0900\r\nContent-Language: ja\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nWhere is my refund?\r\n\r\nOn Mon, 30 Nov 2026, Support <support@acme.example> wrote:\r\n> We are on it.\r\n";

    #[test]
    fn a_mail_becomes_a_message_with_its_thread() {
        let now = DateTime::parse_from_rfc3339("2026-12-01T00:00:30Z")
            .unwrap()
            .to_utc();
        let r = received_inline(MAIL.as_bytes());
        let inbound = parse_mail(MAIL.as_bytes(), &r, &settings(), now).unwrap();
        let m = &inbound.message;
        assert_eq!(m.endpoint.customer_id, "ada@example.org");
        assert_eq!(m.text(), Some("Where is my refund?"));
        let mail = m.mail.as_ref().unwrap();
        assert_eq!(mail.subject.as_deref(), Some("Rückerstattung"));
        assert!(mail.quoted.as_deref().unwrap().contains("We are on it."));
        assert_eq!(mail.utc_offset_minutes, Some(9 * 60));
        assert_eq!(
            m.sent_at,
            DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z").unwrap()
        );
        assert_eq!(m.provider_message_id.as_deref(), Some("m1@example.org"));
        assert_eq!(inbound.customer.name.as_deref(), Some("Ada Lovelace"));
        assert_eq!(inbound.customer.language.as_deref(), Some("ja"));
        assert!(m.wants_answer && m.automated.is_none());
        assert_eq!(
            m.conversation_id,
            new_thread_id(&settings(), "ada@example.org", "m1@example.org")
        );
        // No thread headers: only the subject is looked up.
        assert_eq!(inbound.thread_lookup.len(), 1);
        assert_eq!(inbound.dedupe_keys.len(), 2);
        assert!(m.raw.is_some());
    }

    #[test]
    fn our_token_decides_the_conversation() {
        let id = "em-0123456789abcdef0123456789abcdef";
        let mail = MAIL.replace(
            "To: support@acme.example",
            &format!("To: support+{id}@acme.example"),
        );
        let r = received_inline(mail.as_bytes());
        let inbound = parse_mail(mail.as_bytes(), &r, &settings(), Utc::now()).unwrap();
        assert_eq!(inbound.message.conversation_id.as_str(), id);
        assert!(inbound.thread_lookup.is_empty());
    }

    #[test]
    fn notifications_are_told_apart() {
        let s = settings();
        let inline = serde_json::json!({"notificationType":"Received","mail":{"messageId":"x","source":"a@b.c"},
            "receipt":{"recipients":["support@acme.example"],"spamVerdict":{"status":"FAIL"},
            "action":{"type":"SNS","encoding":"BASE64"}},"content": STANDARD.encode(MAIL)});
        let Notification::Received(r) = read_notification(&inline.to_string(), "n1", &s).unwrap()
        else {
            panic!()
        };
        assert_eq!(r.source, MailSource::Inline(MAIL.as_bytes().to_vec()));
        assert_eq!(r.verdict.as_deref(), Some("spam"));
        let bounce = serde_json::json!({"eventType":"Bounce","mail":{"messageId":"ses-9"},
            "bounce":{"bounceType":"Permanent","bounceSubType":"General","timestamp":"2026-12-01T10:00:00Z",
            "bouncedRecipients":[{"emailAddress":"a@b.c","diagnosticCode":"550 no such user"}]}});
        let Notification::Status(Some(st)) =
            read_notification(&bounce.to_string(), "n2", &s).unwrap()
        else {
            panic!()
        };
        assert_eq!(st.state, DeliveryState::Failed);
        assert_eq!(st.provider_message_id, "ses-9");
        assert_eq!(
            st.error.unwrap().code.as_deref(),
            Some("bounce:Permanent/General")
        );
        assert!(read_notification("Hello\r\nworld!", "n3", &s).is_err());
        let lambda_action = serde_json::json!({"notificationType":"Received","mail":{"messageId":"x"},
            "receipt":{"action":{"type":"Lambda"}}});
        assert!(read_notification(&lambda_action.to_string(), "n4", &s).is_err());
    }
}
