//! After the visitor leaves: agents' replies to a web conversation that the widget
//! has not fetched within `WIDGET_MAIL_AFTER_SECONDS` go to the address the visitor
//! left, one mail per conversation carrying every such reply (a few minutes of
//! replies batch into one). The mail is sent and recorded like any email reply, in
//! the web conversation, so its Message-ID and our Reply-To token lead the visitor's
//! answer back into that conversation (docs/widget.md, "After the visitor leaves").
//! Run by the schedule of the auto-reply function (every minute).

use super::inbound::contact_email;
use crate::conversation::{Author, Channel, DeliveryState, Endpoint, Message};
use crate::deliver::{AUTO_REPLY_SEND_BUDGET, deliver};
use crate::env::{self, ConfigError, Lookup};
use crate::ports::{
    ConversationStore, Outbound, Outgoing, ReplyContext, StoreError, WebMailStore, WidgetStore,
};
use chrono::{DateTime, Duration, Utc};
use tracing::{info, warn};

/// Watches read per sweep (the rest wait for the next minute).
pub const SWEEP_LIMIT: i32 = 50;

/// The mail's settings: on when the website chat and email are both on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Continuity {
    pub business_name: String,
    /// Our address (`EMAIL_FROM`, lower-case): the email conversations' business id.
    pub from: String,
    /// How long a reply may wait unfetched before it is mailed.
    pub after: Duration,
}

impl Continuity {
    pub fn load(env: Lookup) -> Result<Option<Self>, ConfigError> {
        let Some(email) = crate::channels::email::EmailSettings::load(env)? else {
            return Ok(None);
        };
        if !env::any_set(env, &["WIDGET_ORIGINS"]) {
            return Ok(None);
        }
        let after = match env::optional(env, "WIDGET_MAIL_AFTER_SECONDS") {
            None => 120,
            Some(v) => v
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|s| (5..=86_400).contains(s))
                .ok_or_else(|| {
                    ConfigError::new("WIDGET_MAIL_AFTER_SECONDS", "must be 5 to 86400 seconds")
                })?,
        };
        Ok(Some(Continuity {
            business_name: env::optional(env, "WIDGET_BUSINESS_NAME")
                .unwrap_or_else(|| "Support".into())
                .trim()
                .to_string(),
            from: email.from.address.clone(),
            after: Duration::seconds(after),
        }))
    }
}

/// The mail's text: the replies, oldest first.
pub fn mail_text(business_name: &str, replies: &[&Message]) -> String {
    let mut text = format!("{business_name} answered you in the website chat:\n\n");
    for m in replies {
        if let Some(t) = m.text() {
            text.push_str(t.trim());
            text.push_str("\n\n");
        }
        for a in m.content.attachments() {
            text.push_str(&format!(
                "[file: {}]\n\n",
                a.filename.as_deref().unwrap_or("attachment")
            ));
        }
    }
    text.push_str("Reply to this email to continue the conversation.");
    text
}

fn unfetched(m: &Message, since: DateTime<Utc>) -> bool {
    m.endpoint.channel == Channel::Web
        && matches!(m.author, Author::Agent(_))
        && m.sent_at >= since
        && m.delivery.as_ref().is_some_and(|d| {
            d.state.rank() < DeliveryState::Delivered.rank() && d.state != DeliveryState::Failed
        })
}

/// Mails the replies due; the number of mails sent.
pub async fn mail_unfetched<S, O>(
    store: &S,
    outbound: &O,
    settings: &Continuity,
    now: DateTime<Utc>,
) -> Result<usize, StoreError>
where
    S: ConversationStore + WidgetStore + WebMailStore,
    O: Outbound,
{
    let mut mailed = 0;
    for watch in store
        .due_mail_watches(now - settings.after, SWEEP_LIMIT)
        .await?
    {
        let id = &watch.conversation;
        let Some(conversation) = store.get_conversation(id).await? else {
            store.clear_mail_watch(id, now).await?;
            continue;
        };
        let page = store.thread_since(id, Some(watch.first_at), 200).await?;
        let replies: Vec<&Message> = page
            .messages
            .iter()
            .filter(|m| unfetched(m, watch.first_at))
            .collect();
        // What this sweep covers: every web reply it read.
        let upto = page
            .messages
            .iter()
            .filter(|m| m.endpoint.channel == Channel::Web && m.author != Author::Customer)
            .map(|m| m.sent_at)
            .max()
            .unwrap_or(watch.first_at);
        let contact = conversation
            .contact_email
            .as_deref()
            .and_then(contact_email)
            .filter(|_| outbound.enabled(Channel::Email));
        let (Some(contact), Some(last)) = (contact, replies.last()) else {
            info!(event = "web_mail_skipped", conversation = %id, replies = replies.len(), "nothing to mail, or no address to mail it to");
            store.clear_mail_watch(id, upto).await?;
            continue;
        };
        let outgoing = Outgoing {
            conversation: id.clone(),
            // Customer messages after the first reply are not answered by this mail.
            covers: Some(watch.first_at),
            endpoint: Endpoint {
                channel: Channel::Email,
                business_id: settings.from.clone(),
                customer_id: contact,
            },
            author: last.author.clone(),
            text: mail_text(&settings.business_name, &replies),
            template: None,
            promise: None,
            reply: Some(ReplyContext {
                subject: Some(format!("Your chat with {}", settings.business_name)),
                ..ReplyContext::default()
            }),
            files: Vec::new(),
        };
        let delivered = deliver(store, outbound, &outgoing, now, AUTO_REPLY_SEND_BUDGET).await?;
        match delivered.result {
            Ok(()) => {
                mailed += 1;
                store.clear_mail_watch(id, upto).await?;
                info!(event = "web_mailed", conversation = %id, replies = replies.len(), "unfetched replies mailed to the visitor");
            }
            // Tried again at the next sweep.
            Err(e) if e.is_transient() => {
                warn!(conversation = %id, error = %e, "web replies not mailed; trying again");
            }
            Err(e) => {
                warn!(conversation = %id, error = %e, "web replies could not be mailed");
                store.clear_mail_watch(id, upto).await?;
            }
        }
    }
    Ok(mailed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mail_carries_every_reply_in_order() {
        let ep = Endpoint {
            channel: Channel::Web,
            business_id: "website".into(),
            customer_id: "visitor:x".into(),
        };
        let now = Utc::now();
        let a = Message::outbound(&ep, Author::Agent("alice".into()), "First.", now);
        let b = Message::outbound(&ep, Author::Agent("alice".into()), " Second. ", now);
        assert_eq!(
            mail_text("Acme", &[&a, &b]),
            "Acme answered you in the website chat:\n\nFirst.\n\nSecond.\n\nReply to this email to continue the conversation."
        );
    }
}
