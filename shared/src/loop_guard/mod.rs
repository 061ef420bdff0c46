//! The loop guard: the one place that decides "never auto-reply to this", for every
//! channel (RFC 3834 section 2 and common practice; see docs/data-model.md). Channels
//! only report what they saw (`Message::origin`); this module judges it. The inbound
//! side stores its verdict on the message (`automated`), and the auto-reply function
//! asks again before it sends, with its own addresses.

mod markers;

use crate::conversation::{Author, Channel, Content, Message};
use markers::{LIST_HEADERS, responder_header, vacation_message_id, vacation_subject};
pub use markers::{is_robot_address, watched_headers};

/// Why a message gets no auto-reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Not a customer's message (ours, an agent's, an auto-reply).
    NotFromCustomer,
    /// A channel notice (blocked the bot, changed number...), a reaction.
    Notice,
    /// A group chat: a person, but the auto-reply would go to the whole group.
    GroupChat,
    /// A bot account (Telegram).
    Bot,
    /// The receiving service judged it spam or a virus.
    Spam,
    /// `Auto-Submitted` with any value but `no`.
    AutoSubmitted,
    /// `Precedence: bulk | junk | list`.
    Precedence,
    /// A mailing list (`List-Id`, `List-Unsubscribe`...).
    MailingList,
    /// `X-Auto-Response-Suppress` asks for no automatic answer.
    SuppressRequested,
    /// An auto-responder's own marker (`X-Autoreply`, `X-Autorespond`...).
    AutoResponder,
    /// A delivery report or bounce (`multipart/report`, `X-Failed-Recipients`).
    Bounce,
    /// The null sender `<>` (envelope or Return-Path): a reply would go nowhere.
    NullSender,
    /// A machine's mailbox (MAILER-DAEMON, postmaster, noreply...).
    RobotAddress,
    /// Mail from our own address or domain.
    OwnAddress,
    /// Nothing the platform checked authenticates the sender (email): possibly a
    /// person, but an auto-reply could land in a stranger's mailbox.
    Unverified,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::NotFromCustomer => "not_from_customer",
            Reason::Notice => "notice",
            Reason::GroupChat => "group_chat",
            Reason::Bot => "bot",
            Reason::Spam => "spam",
            Reason::AutoSubmitted => "auto_submitted",
            Reason::Precedence => "precedence",
            Reason::MailingList => "mailing_list",
            Reason::SuppressRequested => "auto_response_suppressed",
            Reason::AutoResponder => "auto_responder",
            Reason::Bounce => "bounce",
            Reason::NullSender => "null_sender",
            Reason::RobotAddress => "robot_address",
            Reason::OwnAddress => "own_address",
            Reason::Unverified => "unverified",
        }
    }

    /// Whether the sender is a machine (stored as the message's `automated`): such
    /// a message reopens nothing. A group chat, a notice, our own message are not.
    pub fn is_machine(self) -> bool {
        !matches!(
            self,
            Reason::NotFromCustomer | Reason::Notice | Reason::GroupChat | Reason::Unverified
        )
    }
}

/// Whether `message` must get no auto-reply, and why. `own_addresses` are our own
/// email addresses; a domain (`@example.com` or `example.com`) covers the domain.
pub fn check(message: &Message, own_addresses: &[String]) -> Option<Reason> {
    if message.author != Author::Customer {
        return Some(Reason::NotFromCustomer);
    }
    if matches!(
        message.content,
        Content::System { .. } | Content::Reaction { .. }
    ) {
        return Some(Reason::Notice);
    }
    let o = &message.origin;
    if o.bot {
        return Some(Reason::Bot);
    }
    if o.verdict.is_some() {
        return Some(Reason::Spam);
    }
    if let Some(v) = o.header("auto-submitted")
        && !strip_comments(v).trim().eq_ignore_ascii_case("no")
    {
        return Some(Reason::AutoSubmitted);
    }
    for name in ["precedence", "x-precedence"] {
        if let Some(v) = o.header(name)
            && matches!(
                strip_comments(v).trim().to_ascii_lowercase().as_str(),
                "bulk" | "junk" | "list" | "auto_reply"
            )
        {
            return Some(Reason::Precedence);
        }
    }
    if LIST_HEADERS.iter().any(|h| o.header(h).is_some()) {
        return Some(Reason::MailingList);
    }
    if let Some(v) = o.header("x-auto-response-suppress") {
        let v = v.to_ascii_lowercase();
        if ["all", "oof", "autoreply"]
            .iter()
            .any(|t| v.split([',', ' ', ';']).any(|w| w.trim() == *t))
        {
            return Some(Reason::SuppressRequested);
        }
    }
    let mail = message.mail.as_ref();
    if responder_header(o)
        || mail
            .and_then(|m| m.subject.as_deref())
            .is_some_and(vacation_subject)
        || mail
            .and_then(|m| m.message_id.as_deref())
            .is_some_and(vacation_message_id)
    {
        return Some(Reason::AutoResponder);
    }
    if o.header("x-failed-recipients").is_some()
        || o.content_type.as_deref().is_some_and(|t| {
            let t = t.to_ascii_lowercase();
            t.starts_with("multipart/report") || t.starts_with("message/delivery-status")
        })
    {
        return Some(Reason::Bounce);
    }
    let return_path = o.header("return-path").map(angle_free);
    if o.envelope_sender.as_deref().map(angle_free) == Some("") || return_path == Some("") {
        return Some(Reason::NullSender);
    }
    let senders = [o.from.as_deref(), o.envelope_sender.as_deref(), return_path];
    let mut addresses = senders
        .into_iter()
        .flatten()
        .map(angle_free)
        .filter(|a| !a.is_empty());
    let addresses: Vec<&str> = addresses.by_ref().collect();
    if addresses.iter().any(|a| is_robot_address(a)) {
        return Some(Reason::RobotAddress);
    }
    if let Some(from) = o.from.as_deref().map(angle_free)
        && own_addresses.iter().any(|own| is_own(from, own))
    {
        return Some(Reason::OwnAddress);
    }
    if o.group {
        return Some(Reason::GroupChat);
    }
    // Where the auto-reply would go (email: the authenticated address).
    if message.endpoint.channel == Channel::Email {
        let to = angle_free(&message.endpoint.customer_id);
        if is_robot_address(to) {
            return Some(Reason::RobotAddress);
        }
        if own_addresses.iter().any(|own| is_own(to, own)) {
            return Some(Reason::OwnAddress);
        }
    }
    // Nobody the platform vouches for: an auto-reply could go to anyone's address.
    if message.unverified {
        return Some(Reason::Unverified);
    }
    None
}

/// Whether a message that asks for a reply gets `wants_answer`, and its `automated`
/// reason, set by the loop guard. Channels call this when they build a message.
pub fn judge(message: &mut Message, own_addresses: &[String]) {
    let reason = check(message, own_addresses);
    message.automated = reason
        .filter(|r| r.is_machine())
        .map(|r| r.as_str().to_string());
    message.wants_answer = message.content.asks_for_reply() && reason.is_none();
}

fn is_own(address: &str, own: &str) -> bool {
    let address = address.to_ascii_lowercase();
    let own = own.trim().to_ascii_lowercase();
    if let Some(domain) = own.strip_prefix('@') {
        return address.rsplit_once('@').is_some_and(|(_, d)| d == domain);
    }
    if !own.contains('@') {
        return address.rsplit_once('@').is_some_and(|(_, d)| d == own);
    }
    // Our address, also with a plus tag (support+token@...).
    let (ol, od) = own.split_once('@').unwrap_or_default();
    address.rsplit_once('@').is_some_and(|(l, d)| {
        d == od && (l == ol || l.split_once('+').is_some_and(|(base, _)| base == ol))
    })
}

fn angle_free(v: &str) -> &str {
    v.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
}

/// `auto-generated (failure)` -> `auto-generated`.
fn strip_comments(v: &str) -> String {
    let mut depth = 0usize;
    v.chars()
        .filter(|c| match c {
            '(' => {
                depth += 1;
                false
            }
            ')' => {
                depth = depth.saturating_sub(1);
                false
            }
            _ => depth == 0,
        })
        .collect()
}

#[cfg(test)]
mod tests;
