//! `POST /conversations/{id}/messages`: an agent's reply on the customer's channel,
//! with or without `Idempotency-Key`, refused when the customer wrote since the
//! message the agent saw (`based_on`).

use crate::{Agent, MAX_THREAD_PAGE, Store, conversation_of, json_body, missing};
use asyncdesk::conversation::{Author, ConversationId, DeliveryState, Message};
use asyncdesk::deliver::{deliver, parts};
use asyncdesk::http::{ApiError, json};
use asyncdesk::ports::{Outbound, Outgoing, ReplyContext, SendError};
use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json as j;
use tracing::{info, warn};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplyBody {
    /// A free-form reply; or
    text: Option<String>,
    /// an approved template (channels with templates; also outside a reply window); or
    template: Option<asyncdesk::conversation::TemplateMessage>,
    /// files uploaded through `POST /conversations/{id}/attachments`, `text` their
    /// caption.
    attachments: Option<Vec<String>>,
    /// The id of the newest message the agent saw: a newer customer message stops
    /// the reply (409 `conversation_changed`).
    based_on: Option<String>,
}

/// `POST /conversations/{id}/messages`, with or without `Idempotency-Key`.
pub(crate) async fn idempotent_reply<S: Store, O: Outbound>(
    id: ConversationId,
    req: &Request,
    agent: &str,
    deps: &Agent<S, O>,
    now: DateTime<Utc>,
) -> Result<Response<Body>, ApiError> {
    crate::idempotency::once(&id, b"", req, agent, deps, now, || {
        reply(id.clone(), req, agent, deps, now)
    })
    .await
}

async fn reply<S: Store, O: Outbound>(
    id: ConversationId,
    req: &Request,
    agent: &str,
    deps: &Agent<S, O>,
    now: DateTime<Utc>,
) -> Result<Response<Body>, ApiError> {
    let body: ReplyBody = json_body(req, "{\"text\": \"...\"} or {\"template\": {...}}")?;
    let conversation = conversation_of(deps, &id).await?;
    let channel = conversation.endpoint.channel;
    if !deps.outbound.enabled(channel) {
        return Err(SendError::NotConfigured(channel).into());
    }
    if conversation.blocked {
        return Err(ApiError::new(
            422,
            "customer_unreachable",
            "the customer blocked us on this channel; nothing was sent",
        ));
    }
    let caps = asyncdesk::channels::capabilities(channel);
    let uploads = body.attachments.clone().unwrap_or_default();
    if body.attachments.is_some() {
        crate::attachments::check_ids(&uploads)?;
    }
    let text = match (&body.text, &body.template) {
        (_, Some(_)) if !uploads.is_empty() => {
            return Err(ApiError::bad_request(
                "a template carries no attachments; send them in a reply of their own",
            ));
        }
        // With attachments the text is their caption, and may be left out.
        (t, None) if !uploads.is_empty() => t.as_deref().unwrap_or_default().trim().to_string(),
        (Some(t), None) if !t.trim().is_empty() => t.trim().to_string(),
        (Some(_), None) => return Err(ApiError::bad_request("text must not be empty")),
        (None, Some(t)) => {
            if !caps.templates {
                return Err(ApiError::bad_request(format!(
                    "{channel} takes no templates; send text"
                )));
            }
            if t.name.trim().is_empty() || t.language.trim().is_empty() {
                return Err(ApiError::bad_request(
                    "a template needs a name and a language",
                ));
            }
            String::new()
        }
        _ => {
            return Err(ApiError::bad_request(
                "send {\"text\": \"...\"}, {\"attachments\": [\"<id>\"], \"text\": \"<caption>\"} or {\"template\": {\"name\", \"language\", \"parameters\"}}",
            ));
        }
    };
    // The channel's reply window (its capabilities): outside it only a template goes.
    if let (Some(window), Some(last), None) = (
        caps.reply_window,
        conversation.last_inbound_at,
        &body.template,
    ) && now >= last + window
    {
        return Err(ApiError::new(
            409,
            // The code the contract has always named (the one channel with a window).
            "whatsapp_window_closed",
            format!(
                "{channel}'s {}-hour window since the customer's last message has closed; send an approved template instead",
                window.num_hours()
            ),
        )
        .with_details(j!({ "window_closed_at": last + window })));
    }
    if let Some(seen) = &body.based_on {
        // Customer messages newer than the one the agent saw stop the reply.
        let page = deps
            .store
            .thread_page(&id, MAX_THREAD_PAGE, None)
            .await?
            .ok_or_else(|| missing(&id))?;
        let Some(pos) = page.messages.iter().position(|m| m.id == *seen) else {
            return Err(ApiError::new(
                422,
                "unknown_message",
                format!(
                    "based_on {seen:?} is not among this conversation's newest {MAX_THREAD_PAGE} messages"
                ),
            ));
        };
        let newer: Vec<&Message> = page.messages[..pos]
            .iter()
            .rev()
            .filter(|m| m.opens_conversation())
            .collect();
        if !newer.is_empty() {
            return Err(ApiError::new(
                409,
                "conversation_changed",
                "the customer wrote since the message you saw; read before answering",
            )
            .with_details(j!({ "new_messages": newer })));
        }
    }
    // The uploads, stored by content like every file of the conversation, checked
    // against the channel's limits below before anything is sent.
    let files = crate::attachments::load(&id, &uploads, deps).await?;
    let outgoing = Outgoing {
        conversation: conversation.id.clone(),
        // A customer message stored after this read keeps the conversation open.
        covers: conversation.last_customer_at,
        // Where the customer asked answers to go (email: their Reply-To); the
        // conversation shows it as `reply_address`.
        endpoint: conversation.reply_endpoint(),
        author: Author::Agent(agent.to_string()),
        text,
        template: body.template.clone(),
        promise: None,
        files,
        // Answers the customer's latest message (quoted, or threaded by mail headers,
        // where the channel can).
        reply: Some(ReplyContext::to_conversation(&conversation)),
    };
    match parts(&outgoing) {
        Err(e @ SendError::Limit(_)) => return Err(e.into()),
        Err(e) => return Err(ApiError::bad_request(e.provider_error().title)),
        Ok(_) => {}
    }
    deps.outbound.check(&outgoing)?;
    // Stored before it is sent: a store failure here is a 503 before anything went
    // out, so retrying is safe. After the send, a store failure must not invite a
    // retry (the customer would get the message twice): it is reported beside the
    // send's outcome.
    let delivered = deliver(
        &deps.store,
        &deps.outbound,
        &outgoing,
        now,
        asyncdesk::deliver::AGENT_SEND_BUDGET,
    )
    .await?;
    let messages = serde_json::to_value(&delivered.messages).unwrap_or_default();
    match delivered.result {
        Ok(()) => {
            info!(event = "sent", conversation = %id, parts = delivered.messages.len(), agent, "agent reply sent");
            let mut body = j!({ "message": messages[0], "messages": messages });
            if delivered.unrecorded.is_some() {
                body["warning"] =
                    j!("sent, but the conversation could not be updated; do not resend");
            }
            Ok(json(201, &body))
        }
        Err(e) => {
            // Keep the agent's text: the failed attempt is part of the thread.
            warn!(conversation = %id, error = %e, "agent reply not sent");
            let sent = delivered
                .messages
                .iter()
                .filter(|m| {
                    m.delivery
                        .as_ref()
                        .is_some_and(|d| d.state == DeliveryState::Accepted)
                })
                .count();
            let mut err = ApiError::from(e);
            if sent > 0 {
                // The customer has the first parts: this answer stands for good (an
                // Idempotency-Key keeps it), so a retry never sends them again.
                err.code = crate::idempotency::PARTIALLY_SENT;
                err.message = format!(
                    "{sent} part(s) went out, then the channel refused the next ({}); repeating this request answers the same: send the rest as a new reply",
                    err.message
                );
            }
            if let Some(details) = err.details.as_mut() {
                details["message"] = messages
                    .as_array()
                    .and_then(|m| m.last().cloned())
                    .unwrap_or_default();
                details["messages"] = messages;
            }
            Err(err)
        }
    }
}
