//! A received mail into the model: MIME read by mail-parser, the sender decided by
//! SES's verdicts (`auth`), every field bounded, the thread to look up.

use super::notification::{MailSource, Received};
use super::thread::{self, bare_id};
use super::{EmailSettings, auth, quote};
use crate::conversation::{
    Attachment, Channel, Content, ConversationId, CustomerProfile, Endpoint, InboundMessage,
    MailMeta, MediaKind, Message, Origin, address_digest,
};
use chrono::{DateTime, Utc};
use mail_parser::{MessageParser, MimeHeaders};

/// Longest text (and, separately, quoted history) kept in the item, in bytes. The
/// full mail stays in S3 (S3 action) or in `raw` (SNS action, at most 150 KB), so
/// a message item stays far below DynamoDB's 400 KB.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;
/// Largest mail source kept in the item's `raw` (SNS's own limit is 150 KB).
pub const MAX_RAW_BYTES: usize = 150 * 1024;

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

/// Longest subject kept (characters); RFC 5322 lines end at 998.
pub const MAX_SUBJECT_CHARS: usize = 500;
/// Most attachments listed on one message (the source has them all).
pub const MAX_ATTACHMENTS: usize = 100;
/// Most References kept (the newest).
pub const MAX_REFERENCES: usize = 20;
/// Most header fields the loop guard keeps.
const MAX_WATCHED_HEADERS: usize = 40;

fn cut_chars(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
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
        .map(|a| cut_chars(a, 254).to_ascii_lowercase())
        .or_else(|| received.envelope_sender.clone().filter(|s| s.contains('@')))?;
    let from_name = mail
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.name())
        .map(|n| cut_chars(n.trim(), 200))
        .filter(|n| !n.is_empty());
    let reply_address = mail
        .reply_to()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .map(|a| cut_chars(a, 254).to_ascii_lowercase())
        .filter(|a| a.contains('@'))
        .unwrap_or_else(|| from.clone());

    // Who sent it, by what SES authenticated (never by the headers alone).
    let dkim_domains: Vec<String> = mail
        .headers_raw()
        .filter(|(name, _)| name.eq_ignore_ascii_case("dkim-signature"))
        .filter_map(|(_, value)| auth::dkim_domain(value))
        .take(10)
        .collect();
    let (mail_auth, authenticated) = auth::authenticate(
        &received.auth,
        Some(&from),
        received.envelope_sender.as_deref(),
        &dkim_domains,
    );
    let unverified = authenticated.is_none();
    // The customer is the authenticated address; an unverified mail is filed under
    // its From, in a conversation of its own.
    let customer = authenticated.clone().unwrap_or_else(|| from.clone());
    let endpoint = Endpoint {
        channel: Channel::Email,
        business_id: settings.from.address.clone(),
        customer_id: customer.clone(),
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
    let mut attachments = attachments(&mail);
    // SES found a virus: the files are listed, never offered for download.
    if received.verdict.as_deref() == Some("virus") {
        for a in &mut attachments {
            a.state = Some(crate::conversation::MediaState::Blocked);
            a.reason = Some("the receiving service's virus check failed".into());
        }
    }
    let cut_attachments = mail.attachments().nth(MAX_ATTACHMENTS).is_some();
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

    // Ids we may echo later: valid msg-ids only, never raw header text.
    let message_id = mail.message_id().and_then(thread::valid_msg_id);
    let ids = |v: &mail_parser::HeaderValue| -> Vec<String> {
        match v {
            mail_parser::HeaderValue::Text(t) => thread::valid_msg_id(t).into_iter().collect(),
            mail_parser::HeaderValue::TextList(l) => {
                l.iter().filter_map(|t| thread::valid_msg_id(t)).collect()
            }
            _ => Vec::new(),
        }
    };
    let in_reply_to: Vec<String> = ids(mail.in_reply_to()).into_iter().take(3).collect();
    let mut references = ids(mail.references());
    let cut_refs = references.len() > MAX_REFERENCES;
    references.drain(..references.len().saturating_sub(MAX_REFERENCES));
    let subject = mail
        .subject()
        .map(|s| cut_chars(s.trim(), MAX_SUBJECT_CHARS));
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
    message.unverified = unverified;
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
        truncated: cut_text || cut_quote || cut_attachments || cut_refs,
        auth: Some(mail_auth),
        reply_address: Some(reply_address.clone()),
    });
    message.origin = Origin {
        headers: watched_headers(&mail),
        from: Some(from.clone()),
        envelope_sender: received.envelope_sender.clone(),
        content_type: content_type(&mail),
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

    // The conversation: our Reply-To token when it is an envelope recipient (a To or
    // Cc header is the sender's word), else a thread lookup (In-Reply-To,
    // References newest first, the subject), else a thread of its own. The store
    // joins only when the authenticated sender takes part in the thread found.
    let thread_token = received.recipients.iter().find_map(|r| {
        thread::token_conversation(r, settings.from.local_part(), settings.from.domain())
    });
    let subject_key = subject
        .as_deref()
        .and_then(|s| thread::subject_key(&customer, s));
    message.conversation_id = match (&authenticated, &message_id) {
        (Some(_), Some(id)) => endpoint.thread_id(id),
        (Some(_), None) => endpoint.thread_id(&format!("ses:{}", received.ses_message_id)),
        // Unverified: never an id a sender can steer into someone's thread.
        (None, _) => endpoint.thread_id(&format!("unverified:{}", received.ses_message_id)),
    };
    let mut thread_lookup: Vec<String> = in_reply_to
        .iter()
        .map(|id| thread::message_id_key(id))
        .collect();
    thread_lookup.extend(references.iter().rev().map(|id| thread::message_id_key(id)));
    thread_lookup.extend(subject_key.clone());
    // Links later mail finds this thread by. An unverified mail leaves none, and no
    // mail leaves one under an SES id: those name our own replies.
    if authenticated.is_some() {
        message.thread_keys = message_id
            .iter()
            .filter(|id| thread::ses_id(id).is_none())
            .map(|id| thread::message_id_key(id))
            .chain(subject_key)
            .collect();
    }

    // Redeliveries: the same SNS notification, or the same Message-ID from the same
    // (authenticated) sender.
    let mut dedupe_keys = vec![format!(
        "email#{}#sns:{}",
        settings.from.address, received.sns_message_id
    )];
    if let Some(id) = &message_id {
        let who = match &authenticated {
            Some(a) => address_digest(a),
            None => format!("u:{}", address_digest(&from)),
        };
        dedupe_keys.push(format!(
            "email#{}#mid:{}#{who}",
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
            reply_address: Some(reply_address),
            contact_email: None,
        },
        dedupe_keys,
        blocked: None,
        group: false,
        thread_lookup,
        thread_token,
        authenticated_sender: authenticated,
        related_to: None,
    })
}

/// The attachments, as metadata (the source keeps the bytes), at most
/// [`MAX_ATTACHMENTS`].
fn attachments(mail: &mail_parser::Message<'_>) -> Vec<Attachment> {
    mail.attachments()
        .take(MAX_ATTACHMENTS)
        .enumerate()
        .map(|(i, part)| {
            let mime = part
                .content_type()
                .map(|c| match c.subtype() {
                    Some(sub) => format!("{}/{}", c.ctype(), sub),
                    None => c.ctype().to_string(),
                })
                .map(|m| cut_chars(&m, 100).to_ascii_lowercase());
            let kind = media_kind(mime.as_deref().unwrap_or_default());
            let mut a = Attachment::pending(kind, None);
            a.filename = part
                .attachment_name()
                .map(|n| crate::media::safe_filename(Some(n), kind, mime.as_deref()));
            a.mime_type = mime;
            a.size = Some(part.len() as u64);
            a.part = Some(i as u32);
            a.inline = part.content_disposition().is_some_and(|d| d.is_inline());
            a
        })
        .collect()
}

/// The header fields the loop guard reads, each value cut to 300 characters.
fn watched_headers(mail: &mail_parser::Message<'_>) -> Vec<(String, String)> {
    mail.headers_raw()
        .filter_map(|(name, value)| {
            let name = name.to_ascii_lowercase();
            crate::loop_guard::watched_headers()
                .any(|w| w == name)
                .then(|| (name, cut_chars(value.trim(), 300)))
        })
        .take(MAX_WATCHED_HEADERS)
        .collect()
}

/// The top-level content type, lower-case, with a report's type.
fn content_type(mail: &mail_parser::Message<'_>) -> Option<String> {
    mail.root_part().content_type().map(|c| {
        let mut t = match c.subtype() {
            Some(sub) => format!("{}/{}", c.ctype(), sub),
            None => c.ctype().to_string(),
        };
        if let Some(report) = c.attribute("report-type") {
            t.push_str(&format!("; report-type={report}"));
        }
        cut_chars(&t, 200).to_ascii_lowercase()
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
    use crate::conversation::MailAuth;

    fn settings() -> EmailSettings {
        EmailSettings::new("Acme Support <support@acme.example>")
    }

    fn received_inline(bytes: &[u8]) -> Received {
        received_with(bytes, "PASS", "PASS", Some("PASS"))
    }

    fn received_with(bytes: &[u8], spf: &str, dkim: &str, dmarc: Option<&str>) -> Received {
        Received {
            sns_message_id: "sns-1".into(),
            ses_message_id: "ses1".into(),
            source: MailSource::Inline(bytes.to_vec()),
            envelope_sender: Some("ada@example.org".into()),
            recipients: vec!["support@acme.example".into()],
            received_at: None,
            verdict: None,
            auth: MailAuth {
                spf: Some(spf.into()),
                dkim: Some(dkim.into()),
                dmarc: dmarc.map(str::to_string),
                by: None,
            },
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
    fn our_token_counts_only_as_an_envelope_recipient() {
        let id = "em-0123456789abcdef0123456789abcdef";
        let mail = MAIL.replace(
            "To: support@acme.example",
            &format!("To: support+{id}@acme.example"),
        );
        // Only in the To header: the sender's word, not a recipient SES saw.
        let r = received_inline(mail.as_bytes());
        let inbound = parse_mail(mail.as_bytes(), &r, &settings(), Utc::now()).unwrap();
        assert_eq!(inbound.thread_token, None);
        let mut r = received_inline(mail.as_bytes());
        r.recipients = vec![format!("support+{id}@acme.example")];
        let inbound = parse_mail(mail.as_bytes(), &r, &settings(), Utc::now()).unwrap();
        assert_eq!(
            inbound.thread_token.map(|t| t.to_string()),
            Some(id.to_string())
        );
    }

    #[test]
    fn an_unauthenticated_mail_is_unverified_alone_and_unanswered() {
        let mail = MAIL.replace("Subject:", "Reply-To: victim@elsewhere.example\r\nSubject:");
        let r = received_with(mail.as_bytes(), "FAIL", "FAIL", Some("FAIL"));
        let inbound = parse_mail(mail.as_bytes(), &r, &settings(), Utc::now()).unwrap();
        let m = &inbound.message;
        assert!(m.unverified && !m.wants_answer && m.automated.is_none());
        assert!(m.opens_conversation());
        assert_eq!(inbound.authenticated_sender, None);
        assert!(
            m.thread_keys.is_empty(),
            "an unverified mail links no thread"
        );
        // Its own conversation, whatever Message-ID it claims.
        assert_ne!(
            m.conversation_id,
            new_thread_id(&settings(), "ada@example.org", "m1@example.org")
        );
        assert_eq!(
            m.mail.as_ref().unwrap().reply_address.as_deref(),
            Some("victim@elsewhere.example")
        );
        // Verified, the customer is From, and the Reply-To is only where agents may
        // answer.
        let r = received_inline(mail.as_bytes());
        let inbound = parse_mail(mail.as_bytes(), &r, &settings(), Utc::now()).unwrap();
        assert_eq!(inbound.message.endpoint.customer_id, "ada@example.org");
        assert_eq!(
            inbound.authenticated_sender.as_deref(),
            Some("ada@example.org")
        );
        assert_eq!(
            inbound.customer.reply_address.as_deref(),
            Some("victim@elsewhere.example")
        );
        assert!(!inbound.message.unverified && inbound.message.wants_answer);
    }

    #[test]
    fn ids_we_may_echo_are_valid_msg_ids_and_fields_are_bounded() {
        let refs: Vec<String> = (0..50).map(|i| format!("<r{i}@example.org>")).collect();
        let mail = MAIL
            .replace(
                "Message-ID: <m1@example.org>",
                &format!(
                    "Message-ID: <m1@example.org>\r\nIn-Reply-To: <bad id\r\n x@y>\r\nReferences: <ok@example.org> <no-at-sign> {}",
                    refs.join(" ")
                ),
            )
            .replace("Subject: =?UTF-8?Q?R=C3=BCckerstattung?=", &format!("Subject: {}", "x".repeat(5000)));
        let r = received_inline(mail.as_bytes());
        let inbound = parse_mail(mail.as_bytes(), &r, &settings(), Utc::now()).unwrap();
        let meta = inbound.message.mail.as_ref().unwrap();
        assert!(meta.in_reply_to.is_empty(), "{:?}", meta.in_reply_to);
        assert_eq!(meta.references.len(), MAX_REFERENCES);
        assert_eq!(
            meta.references.last().map(String::as_str),
            Some("r49@example.org")
        );
        assert!(meta.references.iter().all(|r| r.contains('@')));
        assert_eq!(
            meta.subject.as_ref().unwrap().chars().count(),
            MAX_SUBJECT_CHARS
        );
        assert!(meta.truncated);
    }
}
