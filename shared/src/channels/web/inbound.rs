//! A visitor's message from the widget into the model. Everything in it is the
//! visitor's own words except who they are (the token) and when it arrived (our
//! clock): the text is bounded, the zone must name a real IANA zone, the contact
//! must look like an address, and the client's message id only dedupes.

use super::visitor::Visitor;
use crate::conversation::{
    Content, CustomerProfile, InboundMessage, Message, Origin, Sender, log_id,
};
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// Longest message a visitor may write (characters).
pub const MAX_TEXT_CHARS: usize = 4000;
/// Longest contact address (RFC 5321's path limit).
pub const MAX_EMAIL_CHARS: usize = 254;

/// `POST /widget/messages`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WidgetPost {
    /// The widget's id for this message (a UUID): a retry with the same id stores
    /// nothing new.
    pub client_message_id: String,
    pub text: String,
    /// The browser's IANA time zone (the auto-reply's `{reply_by_local}`).
    #[serde(default)]
    pub zone: Option<String>,
    /// Where to write when the visitor has left (closed hours).
    #[serde(default)]
    pub email: Option<String>,
}

/// Why a post cannot be stored (answered 400, or 413 for the size).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PostError {
    #[error("client_message_id must be 8 to 64 characters of A-Z, a-z, 0-9, '-' and '_'")]
    ClientId,
    #[error("text must not be empty")]
    Empty,
    #[error("text is longer than {MAX_TEXT_CHARS} characters")]
    TooLong,
    #[error("email does not look like an address")]
    Email,
}

/// The id a visitor message is stored under: the same for every retry.
pub fn message_id(client_message_id: &str) -> String {
    format!("web.{client_message_id}")
}

/// The client id back from a stored message id.
pub fn client_message_id(message_id: &str) -> Option<&str> {
    message_id.strip_prefix("web.")
}

fn valid_client_id(id: &str) -> bool {
    (8..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A lower-cased address with one `@`, a dot in the domain and nothing that
/// could break a header; `None` when it is not one.
pub fn contact_email(raw: &str) -> Option<String> {
    let e = raw.trim().to_ascii_lowercase();
    let (local, domain) = e.split_once('@')?;
    let ok = e.chars().count() <= MAX_EMAIL_CHARS
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && e.chars()
            .all(|c| c.is_ascii_graphic() && !"<>,;:\"()[]\\".contains(c));
    ok.then_some(e)
}

/// The message as stored, in the visitor's conversation on `site`.
pub fn inbound(
    site: &str,
    visitor: &Visitor,
    post: &WidgetPost,
    now: DateTime<Utc>,
) -> Result<InboundMessage, PostError> {
    if !valid_client_id(&post.client_message_id) {
        return Err(PostError::ClientId);
    }
    // Control characters other than line breaks and tabs carry nothing a person wrote.
    let text: String = post
        .text
        .trim()
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .collect();
    if text.is_empty() {
        return Err(PostError::Empty);
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(PostError::TooLong);
    }
    let email = match post.email.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => Some(contact_email(raw).ok_or(PostError::Email)?),
    };
    let endpoint = visitor.endpoint(site);
    let id = message_id(&post.client_message_id);
    let mut message = Message::inbound(endpoint, id.clone(), Content::Text { text }, now, now);
    message.origin = Origin::default();
    message.sender = Sender {
        // Only a zone chrono-tz knows (the browser's IANA name).
        zone: post
            .zone
            .as_deref()
            .map(str::trim)
            .filter(|z| z.len() <= 64 && z.parse::<chrono_tz::Tz>().is_ok())
            .map(str::to_string),
        ..Sender::default()
    };
    let dedupe_key = format!("web#{site}#{}#{id}", message.conversation_id.digest());
    let customer = CustomerProfile {
        contact_email: email,
        ..CustomerProfile::default()
    };
    let mut inbound = InboundMessage::new(message, customer, dedupe_key);
    // InboundMessage::new copies the profile's name and language (none here); the zone
    // stays.
    inbound.message.sender.name = None;
    tracing::debug!(message_id = %log_id(&inbound.message.id), "widget message read");
    Ok(inbound)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(text: &str) -> WidgetPost {
        WidgetPost {
            client_message_id: "0f8e6a3c-1b2d-4e5f-8a9b-0c1d2e3f4a5b".into(),
            text: text.into(),
            zone: Some("America/New_York".into()),
            email: None,
        }
    }

    #[test]
    fn a_post_becomes_the_visitors_message_with_a_stable_id() {
        let now: DateTime<Utc> = "2026-12-03T10:00:00Z".parse().unwrap();
        let v = Visitor::Anonymous("0123456789abcdef0123456789abcdef".into());
        let a = inbound("site", &v, &post(" Hello\u{0} there "), now).unwrap();
        let b = inbound("site", &v, &post("Hello there"), now).unwrap();
        assert_eq!(a.message.id, b.message.id);
        assert_eq!(a.dedupe_keys, b.dedupe_keys);
        assert_eq!(a.message.text(), Some("Hello there"));
        assert_eq!(a.message.sender.zone.as_deref(), Some("America/New_York"));
        assert!(a.message.wants_answer);
        assert_eq!(
            a.message.conversation_id,
            v.endpoint("site").conversation_id()
        );
        assert!(a.message.conversation_id.as_str().starts_with("wb-"));
        let mut p = post("hi");
        p.zone = Some("Mars/Olympus".into());
        assert_eq!(
            inbound("site", &v, &p, now).unwrap().message.sender.zone,
            None
        );
    }

    #[test]
    fn bad_posts_are_refused() {
        let now = Utc::now();
        let v = Visitor::new_anonymous();
        assert_eq!(
            inbound("s", &v, &post("  "), now).unwrap_err(),
            PostError::Empty
        );
        let long = "x".repeat(MAX_TEXT_CHARS + 1);
        assert_eq!(
            inbound("s", &v, &post(&long), now).unwrap_err(),
            PostError::TooLong
        );
        let mut p = post("hi");
        p.client_message_id = "short".into();
        assert_eq!(inbound("s", &v, &p, now).unwrap_err(), PostError::ClientId);
        p.client_message_id = "a/b/c/d/e/f/g/h".into();
        assert_eq!(inbound("s", &v, &p, now).unwrap_err(), PostError::ClientId);
        let mut p = post("hi");
        for bad in [
            "nope",
            "a@b",
            "a@@b.c",
            "<a@b.c>",
            "a@b.c\r\nBcc: x@y.z",
            "a b@c.d",
        ] {
            p.email = Some(bad.into());
            assert_eq!(
                inbound("s", &v, &p, now).unwrap_err(),
                PostError::Email,
                "{bad}"
            );
        }
        p.email = Some(" Visitor@Example.COM ".into());
        let ok = inbound("s", &v, &p, now).unwrap();
        assert_eq!(
            ok.customer.contact_email.as_deref(),
            Some("visitor@example.com")
        );
    }
}
