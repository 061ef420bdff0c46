//! `GET /widget/messages` (the visitor's thread since the cursor in
//! `X-Widget-Since`, with 60 s of overlap: the widget keeps each message once by id)
//! and `POST /widget/messages` (a visitor's message, stored once per
//! `client_message_id` through the same intake as every channel's).

use crate::session::{automated, visitor_of};
use crate::{Store, Widget, is_bot, json_body, too_many};
use asyncdesk::channels::web::inbound::{self, PostError, WidgetPost};
use asyncdesk::conversation::{
    Author, Channel, Content, DeliveryState, Message, StatusUpdate, log_id,
};
use asyncdesk::http::{ApiError, json};
use asyncdesk::ports::InboundBatch;
use chrono::{DateTime, SecondsFormat, Utc};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json as j};
use tracing::info;

/// How far before the cursor a poll reads again: a message is keyed by the time its
/// send began, and stored up to the longest sender's budget later (an auto-reply's
/// 25 s, an agent's 20 s); one older than a message already seen is not missed.
pub const OVERLAP_MS: i64 = 60_000;
/// Most messages in one answer (`more` says when there are more). Larger than a
/// minute of any conversation's messages under the rate limits, so the overlap
/// never fills a page.
pub const PAGE: u32 = 300;

/// A message as the visitor sees it; `None` for what is not theirs to see (an
/// agent's note) or has nothing to show.
pub fn view(m: &Message) -> Option<Value> {
    let author = match &m.author {
        Author::Customer => "visitor",
        Author::Agent(_) => "agent",
        Author::AutoReply => "business",
    };
    let attachments: Vec<Value> = m
        .content
        .attachments()
        .iter()
        .map(|a| j!({"name": a.filename, "type": a.mime_type, "url": Value::Null}))
        .collect();
    // Our mail of the replies a visitor left behind: they see the replies themselves.
    if m.author != Author::Customer && m.endpoint.channel != Channel::Web {
        return None;
    }
    match &m.content {
        Content::Note { .. } | Content::Unknown | Content::Reaction { .. } => return None,
        Content::Text { .. } | Content::Media { .. } | Content::System { .. } => {}
        Content::Choice { .. } | Content::Location { .. } | Content::Contacts { .. } => {}
        Content::Template { .. } => {}
    }
    if m.text().is_none() && attachments.is_empty() {
        return None;
    }
    Some(j!({
        "id": m.id,
        "client_message_id": inbound::client_message_id(&m.id).filter(|_| m.author == Author::Customer),
        "author": author,
        "text": m.text(),
        "at": m.sent_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "attachments": attachments,
    }))
}

pub async fn list<S: Store>(
    req: &Request,
    deps: &Widget<S>,
    now: DateTime<Utc>,
) -> Result<Response<Body>, ApiError> {
    let visitor = visitor_of(req, deps, now)?;
    let cursor = match req.headers().get("x-widget-since") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|v| v.trim().parse::<i64>().ok())
                .filter(|ms| *ms >= 0)
                .ok_or_else(|| {
                    ApiError::bad_request("X-Widget-Since must be a cursor the widget was given")
                })?,
        ),
    };
    let since = cursor
        .map(|ms| DateTime::from_timestamp_millis((ms - OVERLAP_MS).max(0)).unwrap_or_default());
    let id = visitor.endpoint(&deps.site).conversation_id();
    let page = deps.store.thread_since(&id, since, PAGE).await?;
    let newest = page
        .messages
        .last()
        .map(|m| m.sent_at.timestamp_millis())
        .unwrap_or(0);
    delivered(deps, &page.messages, now).await;
    let messages: Vec<Value> = page.messages.iter().filter_map(view).collect();
    Ok(json(
        200,
        &j!({
            "messages": messages,
            "cursor": newest.max(cursor.unwrap_or(0)),
            "more": page.more,
        }),
    ))
}

/// Our messages the widget has now fetched are delivered (the desk shows it): once
/// each, through the same status path as a channel's receipts; and they are no
/// longer to be mailed. Best effort: the visitor's answer does not wait on it.
async fn delivered<S: Store>(deps: &Widget<S>, messages: &[Message], now: DateTime<Utc>) {
    let mut newest: Option<&Message> = None;
    for m in messages
        .iter()
        .filter(|m| m.author != Author::Customer && m.endpoint.channel == Channel::Web)
    {
        let (Some(pid), Some(d)) = (&m.provider_message_id, &m.delivery) else {
            continue;
        };
        if d.state.rank() >= DeliveryState::Delivered.rank() {
            continue;
        }
        let update = StatusUpdate {
            channel: Channel::Web,
            business_id: deps.site.clone(),
            provider_message_id: pid.clone(),
            state: DeliveryState::Delivered,
            at: now,
            error: None,
        };
        if let Err(e) = deps.store.apply_status(&update).await {
            tracing::warn!(conversation = %m.conversation_id, error = %e, "delivery not recorded");
        }
        newest = Some(m);
    }
    if let Some(m) = newest
        && let Err(e) = deps
            .store
            .clear_mail_watch(&m.conversation_id, m.sent_at)
            .await
    {
        tracing::warn!(conversation = %m.conversation_id, error = %e, "mail watch not cleared");
    }
}

pub async fn post<S: Store>(
    req: &Request,
    deps: &Widget<S>,
    now: DateTime<Utc>,
) -> Result<Response<Body>, ApiError> {
    // A crawler's post is stored nowhere (and so never answered).
    if is_bot(req) {
        return Err(automated());
    }
    let visitor = visitor_of(req, deps, now)?;
    let post: WidgetPost = json_body(
        req,
        r#"{"client_message_id": "<uuid>", "text": "...", "zone"?, "email"?}"#,
    )?;
    let inbound = inbound::inbound(&deps.site, &visitor, &post, now).map_err(|e| match e {
        PostError::TooLong => ApiError::new(413, "too_large", e.to_string()),
        e => ApiError::bad_request(e.to_string()),
    })?;
    let id = inbound.message.conversation_id.clone();
    if inbound.customer.contact_email.is_none()
        && crate::status::contact_required(&deps.hours, &deps.settings, now)
        && deps
            .store
            .get_conversation(&id)
            .await?
            .is_none_or(|c| c.contact_email.is_none())
    {
        return Err(ApiError::new(
            422,
            "contact_required",
            "we are closed: leave an email address so we can answer you",
        ));
    }
    let limits = deps.settings.limits;
    if !deps
        .store
        .take(
            &format!("msg-v#{}", id.digest()),
            limits.visitor_messages,
            now,
        )
        .await?
    {
        return Err(too_many("messages", now));
    }
    let ip = format!("msg-ip#{}", crate::ip_key(req, deps));
    if !deps.store.take(&ip, limits.ip_messages, now).await? {
        return Err(too_many("messages from this address", now));
    }
    let message = inbound.message.clone();
    let batch = InboundBatch {
        messages: vec![inbound],
        ..InboundBatch::default()
    };
    let receipt = asyncdesk::ingest::ingest(&deps.store, &batch, now).await?;
    let stored = receipt.stored == 1;
    info!(event = "widget_message", conversation = %id, message_id = %log_id(&message.id), stored, "visitor message");
    Ok(json(
        if stored { 201 } else { 200 },
        &j!({ "message": view(&message), "duplicate": !stored }),
    ))
}
