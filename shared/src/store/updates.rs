//! What storing an inbound message does to its conversation: one UpdateItem
//! expression, built here, that creates, updates or reopens it.

use super::items::*;
use crate::conversation::{ConversationStatus, InboundMessage, address_digest};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

type Names = Vec<(&'static str, &'static str)>;
type Values = Vec<(&'static str, AttributeValue)>;

/// What an inbound message does to its conversation: creates it, or updates it; a
/// message that asks for a reply opens (or reopens) it.
pub(super) fn inbound_conversation_update(
    inbound: &InboundMessage,
    now: DateTime<Utc>,
    expires_at: Option<i64>,
) -> (String, Names, Values) {
    let m = &inbound.message;
    // The identity is the first message's: an email thread keeps its customer when
    // someone in copy answers.
    let mut set = vec![
        "#ty = :ty",
        "#id = :id",
        "#ch = :ch",
        "#b = :b",
        "#c = if_not_exists(#c, :c)",
        "#ua = :now",
        "#lm = :t",
        "#ca = if_not_exists(#ca, :now)",
        "#gr = :gr",
    ];
    // (`last_customer_at` is set below when the message opens the conversation.)
    let mut remove: Vec<&str> = Vec::new();
    let mut add: Vec<&str> = vec!["#mc :one"];
    let mut names = vec![
        ("#ty", "item_type"),
        ("#id", "id"),
        ("#ch", "channel"),
        ("#b", "business_id"),
        ("#c", "customer_id"),
        ("#ua", "updated_at"),
        ("#lm", "last_message_at"),
        ("#ca", "created_at"),
        ("#gr", "group"),
        ("#st", "status"),
        ("#ss", "status_since"),
        ("#mc", "message_count"),
    ];
    let mut values = vec![
        (":ty", s(TYPE_CONVERSATION)),
        (":id", s(m.conversation_id.as_str())),
        (":ch", s(m.endpoint.channel.as_str())),
        (":b", s(&m.endpoint.business_id)),
        (":c", s(&m.endpoint.customer_id)),
        (":now", n(now.timestamp_millis())),
        (":t", n(m.sent_at.timestamp_millis())),
        (":one", n(1)),
        (":gr", AttributeValue::Bool(inbound.group)),
    ];
    // Any customer message opens the channel's reply window (WhatsApp: 24 h).
    if m.author == crate::conversation::Author::Customer {
        set.push("#li = :t");
        names.push(("#li", "last_inbound_at"));
    }
    if let Some(text) = m.text() {
        set.push("#pv = :pv");
        names.push(("#pv", "preview"));
        values.push((":pv", s(preview(text))));
    }
    if let Some(subject) = m.mail.as_ref().and_then(|mail| mail.subject.as_ref()) {
        set.push("#sj = if_not_exists(#sj, :sj)");
        names.push(("#sj", "subject"));
        values.push((":sj", s(subject)));
    }
    if m.opens_conversation() {
        // When a customer last asked for an answer (store time): a reply that
        // answered only older messages leaves the conversation open.
        set.push("#lc = :now");
        names.push(("#lc", "last_customer_at"));
        // A snoozed or resolved conversation reopens.
        remove.push("#su");
        names.push(("#su", "snooze_until"));
        add.push("#un :one");
        names.push(("#un", "unanswered"));
        // Open (or reopen); a conversation already open keeps its waiting_since.
        set.extend([
            "#st = :open",
            "#q = :open",
            "#ws = if_not_exists(#ws, :t)",
            "#ss = if_not_exists(#ws, :t)",
        ]);
        names.push(("#ws", "waiting_since"));
        names.push(("#q", QUEUE));
        values.push((":open", s(ConversationStatus::Open.as_str())));
        if let Some(pid) = &m.provider_message_id {
            set.push("#rt = :rt");
            names.push(("#rt", "reply_to"));
            values.push((":rt", s(pid)));
        }
        if let Some(mail) = &m.mail {
            // What a reply to this mail carries as References (the newest 20).
            let refs = mail.reply_references();
            let refs = &refs[refs.len().saturating_sub(20)..];
            if !refs.is_empty() {
                set.push("#rr = :rr");
                names.push(("#rr", "reply_references"));
                values.push((
                    ":rr",
                    AttributeValue::L(refs.iter().map(|r| s(r.as_str())).collect()),
                ));
            }
        }
    } else {
        // Reactions, notices and machines' mail neither reopen a conversation nor
        // restart the wait; one that starts a conversation leaves nothing to answer.
        set.extend([
            "#st = if_not_exists(#st, :resolved)",
            "#q = if_not_exists(#q, :qresolved)",
            "#ss = if_not_exists(#ss, :t)",
        ]);
        names.push(("#q", QUEUE));
        values.push((":resolved", s(ConversationStatus::Resolved.as_str())));
        values.push((
            ":qresolved",
            s(queue_of(ConversationStatus::Resolved, m.sent_at)),
        ));
    }
    let profile = [
        ("#cn", "customer_name", ":cn", &inbound.customer.name),
        (
            "#cu",
            "customer_username",
            ":cu",
            &inbound.customer.username,
        ),
        (
            "#cl",
            "customer_language",
            ":cl",
            &inbound.customer.language,
        ),
        (
            "#ra",
            "reply_address",
            ":ra",
            &inbound.customer.reply_address,
        ),
    ];
    for (name, attr, value, v) in profile {
        if let Some(v) = v {
            set.push(match name {
                "#cn" => "#cn = :cn",
                "#cu" => "#cu = :cu",
                "#ra" => "#ra = :ra",
                _ => "#cl = :cl",
            });
            names.push((name, attr));
            values.push((value, s(v)));
        }
    }
    // Under a retention, the conversation goes that long after its last message.
    if let Some(at) = expires_at {
        set.push("#ex = :ex");
        names.push(("#ex", EXPIRES_AT));
        values.push((":ex", n(at)));
    }
    if m.unverified {
        set.push("#uv = :uv");
        names.push(("#uv", "unverified"));
        values.push((":uv", AttributeValue::Bool(true)));
    }
    if let Some(related) = &inbound.related_to {
        set.push("#rel = :rel");
        names.push(("#rel", "related_to"));
        values.push((":rel", s(related.as_str())));
    }
    // Who takes part in the thread: only an authenticated sender.
    if let Some(sender) = &inbound.authenticated_sender {
        add.push("#pp :pp");
        names.push(("#pp", "participants"));
        values.push((":pp", AttributeValue::Ss(vec![address_digest(sender)])));
    }
    if let Some(blocked) = inbound.blocked {
        set.push("#bl = :bl");
        names.push(("#bl", "blocked"));
        values.push((":bl", AttributeValue::Bool(blocked)));
    }
    let remove = if remove.is_empty() {
        String::new()
    } else {
        format!(" REMOVE {}", remove.join(", "))
    };
    (
        format!("SET {} ADD {}{remove}", set.join(", "), add.join(", ")),
        names,
        values,
    )
}

/// A message text as the queue shows it: one line, at most 140 characters.
pub(super) fn preview(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= 140 {
        return flat;
    }
    let cut: String = flat.chars().take(139).collect();
    format!("{cut}…")
}
