//! The agent API: `Authorization: Bearer <key>` on every route (the public
//! `GET /availability` is the availability function's).
//! - `GET /conversations?status=open&limit=25&cursor=...` (waiting longest first)
//! - `GET /conversations/{id}?limit=50&cursor=...&raw=false` (the conversation and
//!   a page of its messages, newest first; a response stays under 1 MB)
//! - `POST /conversations/{id}/notes` `{"text": "..."}` (an internal note)
//! - `PATCH /conversations/{id}` `{"status", "snooze_until", "assignee", "priority"}`
//! - `POST /conversations/{id}/messages` `{"text": "..."}` (send on the customer's
//!   channel, as a reply to their latest message; split where the channel allows)
//! - `DELETE /customers/{id}/data` (admin scope: GDPR erasure of the conversation)

mod erase;
mod queue;

pub use queue::{queue_cursor, read_queue_cursor};

use asyncdesk::auth::AgentKeys;
use asyncdesk::config::AgentConfig;
use asyncdesk::conversation::{Author, Conversation, ConversationId, DeliveryState, Message};
use asyncdesk::deliver::{deliver, parts};
use asyncdesk::hours::BusinessHours;
use asyncdesk::http::{ApiError, json, query_param};
use asyncdesk::ports::{
    ConversationStore, IdempotencyRecord, Outbound, OutboundEffect, Outgoing, ReplyContext,
    SendError,
};
use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json as j;
use tracing::{info, warn};

pub const DEFAULT_PAGE_SIZE: u32 = 25;
pub const MAX_PAGE_SIZE: u32 = 100;
pub const DEFAULT_THREAD_PAGE: u32 = 50;
pub const MAX_THREAD_PAGE: u32 = 200;
/// A thread page stops adding messages at this many bytes of JSON, so that with the
/// conversation the answer stays under 1 MB.
pub const THREAD_PAGE_BYTES: usize = 900 * 1024;

pub struct Agent<S, O> {
    pub store: S,
    pub outbound: O,
    pub keys: AgentKeys,
    pub hours: BusinessHours,
    /// Where mail sources are deleted at erasure (a deployment with email).
    pub objects: Option<std::sync::Arc<dyn asyncdesk::ports::ObjectRemover>>,
}

impl<S: ConversationStore, O: Outbound> Agent<S, O> {
    pub fn new(store: S, outbound: O, config: &AgentConfig) -> Self {
        Agent {
            store,
            outbound,
            keys: config.agent_keys.clone(),
            hours: config.hours.clone(),
            objects: None,
        }
    }
}

pub async fn handle<S: ConversationStore, O: Outbound>(
    req: &Request,
    deps: &Agent<S, O>,
    now: DateTime<Utc>,
) -> Response<Body> {
    use tracing::Instrument;
    let request_id = asyncdesk::http::request_id(req);
    let span = tracing::info_span!("agent_api", request_id = %request_id);
    let resp = answer(req, deps, now).instrument(span).await;
    asyncdesk::http::with_request_id(resp, &request_id)
}

async fn answer<S: ConversationStore, O: Outbound>(
    req: &Request,
    deps: &Agent<S, O>,
    now: DateTime<Utc>,
) -> Response<Body> {
    match route(req, deps, now).await {
        Ok(resp) => resp,
        Err(e) => {
            let unauthorized = e.status == 401;
            let mut resp = e.into_response();
            if unauthorized {
                resp.headers_mut()
                    .insert("www-authenticate", http_value("Bearer"));
            }
            resp
        }
    }
}

fn http_value(s: &'static str) -> lambda_http::http::HeaderValue {
    lambda_http::http::HeaderValue::from_static(s)
}

async fn route<S: ConversationStore, O: Outbound>(
    req: &Request,
    deps: &Agent<S, O>,
    now: DateTime<Utc>,
) -> Result<Response<Body>, ApiError> {
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    let agent = deps.keys.authenticate(auth).ok_or_else(|| {
        ApiError::unauthorized("a valid 'Authorization: Bearer <key>' header is required")
    })?;
    let path = req.uri().path().trim_end_matches('/');
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let method = req.method().as_str();
    match (segments.as_slice(), method) {
        (["conversations"], "GET") => queue::list(req, deps, agent, now).await,
        (["conversations", id], "GET") => thread(parse_id(id)?, req, deps, now).await,
        (["conversations", id], "PATCH") => change(parse_id(id)?, req, agent, deps, now).await,
        (["conversations", id, "notes"], "POST") => {
            note(parse_id(id)?, req, agent, deps, now).await
        }
        (["conversations", id, "messages"], "POST") => {
            idempotent_reply(parse_id(id)?, req, agent, deps, now).await
        }
        (["customers", id, "data"], "DELETE") => {
            erase::erase(parse_id(id)?, agent, deps, now).await
        }
        (["customers", _, "data"], _) => Err(ApiError::method_not_allowed()),
        (["conversations"], _)
        | (["conversations", _], _)
        | (["conversations", _, "messages"], _)
        | (["conversations", _, "notes"], _) => Err(ApiError::method_not_allowed()),
        _ => Err(ApiError::not_found("no such route")),
    }
}

/// A conversation as the API shows it: with its channel's reply window (WhatsApp:
/// open until 24 hours after the customer's last message).
pub(crate) fn view(
    c: &asyncdesk::conversation::Conversation,
    now: DateTime<Utc>,
) -> serde_json::Value {
    let mut v = serde_json::to_value(c).unwrap_or_default();
    let window = asyncdesk::channels::capabilities(c.endpoint.channel).reply_window;
    if let (Some(window), Some(last), Some(o)) = (window, c.last_inbound_at, v.as_object_mut()) {
        let until = last + window;
        o.insert(
            "reply_window".into(),
            j!({ "open": now < until, "until": until }),
        );
    }
    v
}

/// `?limit=`: `default` when absent, else a whole number from 1 to `max`.
pub(crate) fn page_limit(req: &Request, default: u32, max: u32) -> Result<u32, ApiError> {
    match query_param(req.uri(), "limit") {
        None => Ok(default),
        Some(l) => l
            .parse::<u32>()
            .ok()
            .filter(|l| (1..=max).contains(l))
            .ok_or_else(|| {
                ApiError::bad_request(format!("limit must be a whole number from 1 to {max}"))
            }),
    }
}

/// The request's JSON body, or 400 saying what it must be.
fn json_body<T: serde::de::DeserializeOwned>(req: &Request, shape: &str) -> Result<T, ApiError> {
    serde_json::from_slice(req.body().as_ref())
        .map_err(|e| ApiError::bad_request(format!("body must be {shape}: {e}")))
}

fn missing(id: &ConversationId) -> ApiError {
    ApiError::not_found(format!("conversation {id} not found"))
}

/// The conversation, or 404.
async fn conversation_of<S: ConversationStore, O>(
    deps: &Agent<S, O>,
    id: &ConversationId,
) -> Result<Conversation, ApiError> {
    deps.store
        .get_conversation(id)
        .await?
        .ok_or_else(|| missing(id))
}

fn parse_id(raw: &str) -> Result<ConversationId, ApiError> {
    ConversationId::parse(raw)
        .ok_or_else(|| ApiError::not_found(format!("conversation {raw:?} not found")))
}

async fn thread<S: ConversationStore, O>(
    id: ConversationId,
    req: &Request,
    deps: &Agent<S, O>,
    now: DateTime<Utc>,
) -> Result<Response<Body>, ApiError> {
    let limit = page_limit(req, DEFAULT_THREAD_PAGE, MAX_THREAD_PAGE)?;
    let raw = match query_param(req.uri(), "raw").as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "raw must be true or false, not {other:?}"
            )));
        }
    };
    let cursor = query_param(req.uri(), "cursor");
    let page = deps
        .store
        .thread_page(&id, limit, cursor.as_deref())
        .await?
        .ok_or_else(|| missing(&id))?;
    // Within the byte budget: a page of large messages is cut short, and the cursor
    // then continues after the last one given.
    let mut messages = Vec::new();
    let mut bytes = 0;
    let mut next_cursor = page.next_cursor.clone();
    for (i, m) in page.messages.iter().enumerate() {
        let mut v = serde_json::to_value(m).unwrap_or_default();
        if !raw && let Some(o) = v.as_object_mut() {
            o.remove("raw");
        }
        let size = serde_json::to_vec(&v).map(|b| b.len()).unwrap_or(0);
        if i > 0 && bytes + size > THREAD_PAGE_BYTES {
            let last = &page.messages[i - 1];
            next_cursor = Some(asyncdesk::store::dynamo::encode_thread_cursor(
                &id,
                &asyncdesk::store::items::message_sk(last),
            ));
            break;
        }
        bytes += size;
        messages.push(v);
    }
    Ok(json(
        200,
        &j!({ "conversation": view(&page.conversation, now), "messages": messages, "next_cursor": next_cursor }),
    ))
}

/// Snoozing is for up to a year.
pub const MAX_SNOOZE_DAYS: i64 = 366;

/// `PATCH /conversations/{id}`: status (`open`, `resolved`, `snoozed` with
/// `snooze_until`), `assignee` (an agent id, `me`, or null), `priority`.
async fn change<S: ConversationStore, O>(
    id: ConversationId,
    req: &Request,
    agent: &str,
    deps: &Agent<S, O>,
    now: DateTime<Utc>,
) -> Result<Response<Body>, ApiError> {
    use asyncdesk::conversation::Priority;
    use asyncdesk::ports::{StateChange, StatusChange};
    let body: serde_json::Map<String, serde_json::Value> = json_body(req, "a JSON object")?;
    let allowed = ["status", "snooze_until", "assignee", "priority"];
    if let Some(unknown) = body.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(ApiError::bad_request(format!(
            "unknown field {unknown:?}; one of status, snooze_until, assignee, priority"
        )));
    }
    if body.is_empty() {
        return Err(ApiError::bad_request("nothing to change"));
    }
    let mut change = StateChange::default();
    let snooze_until = match body.get("snooze_until") {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => Some(
            v.as_str()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc))
                .ok_or_else(|| ApiError::bad_request("snooze_until must be an RFC 3339 instant"))?,
        ),
    };
    match body.get("status").map(|v| v.as_str()) {
        None => {
            if snooze_until.is_some() {
                return Err(ApiError::bad_request(
                    "snooze_until goes with \"status\": \"snoozed\"",
                ));
            }
        }
        Some(Some("open")) | Some(Some("resolved")) if snooze_until.is_some() => {
            return Err(ApiError::bad_request(
                "snooze_until goes with \"status\": \"snoozed\"",
            ));
        }
        Some(Some("open")) => change.status = Some(StatusChange::Open),
        Some(Some("resolved")) => change.status = Some(StatusChange::Resolved),
        Some(Some("snoozed")) => {
            let until = snooze_until.ok_or_else(|| {
                ApiError::bad_request("\"status\": \"snoozed\" needs snooze_until")
            })?;
            if until <= now || until > now + chrono::Duration::days(MAX_SNOOZE_DAYS) {
                return Err(ApiError::bad_request(
                    "snooze_until must be in the future, within a year",
                ));
            }
            change.status = Some(StatusChange::Snoozed { until });
        }
        _ => {
            return Err(ApiError::bad_request(
                "status must be open, resolved or snoozed",
            ));
        }
    }
    match body.get("assignee") {
        None => {}
        Some(serde_json::Value::Null) => change.assignee = Some(None),
        Some(serde_json::Value::String(a)) if a == "me" => {
            change.assignee = Some(Some(agent.to_string()))
        }
        Some(serde_json::Value::String(a)) if deps.keys.knows(a) => {
            change.assignee = Some(Some(a.clone()))
        }
        Some(_) => {
            return Err(ApiError::bad_request(
                "assignee must be an agent id of AGENT_API_KEYS, \"me\" or null",
            ));
        }
    }
    match body.get("priority").map(|v| v.as_str()) {
        None => {}
        Some(Some("normal")) => change.priority = Some(Priority::Normal),
        Some(Some("urgent")) => change.priority = Some(Priority::Urgent),
        _ => return Err(ApiError::bad_request("priority must be normal or urgent")),
    }
    let conversation = deps.store.change_state(&id, &change, now).await?;
    info!(event = "state", conversation = %id, agent, status = conversation.status.as_str(), "conversation changed");
    Ok(json(200, &j!({ "conversation": view(&conversation, now) })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteBody {
    text: String,
}

/// An internal note: stored in the thread with the agent's id, never sent.
async fn note<S: ConversationStore, O>(
    id: ConversationId,
    req: &Request,
    agent: &str,
    deps: &Agent<S, O>,
    now: DateTime<Utc>,
) -> Result<Response<Body>, ApiError> {
    let body: NoteBody = json_body(req, "{\"text\": \"...\"}")?;
    let text = body.text.trim();
    if text.is_empty() || text.chars().count() > 20_000 {
        return Err(ApiError::bad_request("text must be 1 to 20000 characters"));
    }
    let conversation = conversation_of(deps, &id).await?;
    let mut note = Message::outbound(
        &conversation.endpoint,
        Author::Agent(agent.to_string()),
        text,
        now,
    );
    note.id = format!("note-{}", uuid::Uuid::new_v4().simple());
    note.conversation_id = id.clone();
    note.content = asyncdesk::conversation::Content::Note {
        text: text.to_string(),
    };
    deps.store
        .record_outbound(&note, OutboundEffect::KeepStatus, now)
        .await?;
    info!(event = "note", conversation = %id, agent, "internal note stored");
    Ok(json(201, &j!({ "note": note })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplyBody {
    /// A free-form reply; or
    text: Option<String>,
    /// an approved template (WhatsApp; also outside the 24-hour window).
    template: Option<asyncdesk::conversation::TemplateMessage>,
    /// The id of the newest message the agent saw: a newer customer message stops
    /// the reply (409 `conversation_changed`).
    based_on: Option<String>,
}

/// How long an idempotency key stays (24 hours), how long the request holding it may
/// take, and how long a repeat waits for it.
pub const IDEMPOTENCY_TTL_HOURS: i64 = 24;
pub const IDEMPOTENCY_LEASE_SECS: i64 = 30;
pub const IDEMPOTENCY_WAIT_MS: u64 = 10_000;

pub(crate) fn digest(parts: &[&[u8]]) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    hex::encode(h.finalize())
}

/// `POST /conversations/{id}/messages`, with or without `Idempotency-Key`. With one:
/// a conditional write claims the key before anything is sent; a repeat with the
/// same body gets the first answer (waiting, bounded, while the first is in flight);
/// the same key with another body is 422 `idempotency_key_reused`.
/// The error code of a multi-part reply of which some parts went out.
const PARTIALLY_SENT: &str = "partially_sent";

async fn idempotent_reply<S: ConversationStore, O: Outbound>(
    id: ConversationId,
    req: &Request,
    agent: &str,
    deps: &Agent<S, O>,
    now: DateTime<Utc>,
) -> Result<Response<Body>, ApiError> {
    let Some(raw_key) = req.headers().get("idempotency-key") else {
        return reply(id, req, agent, deps, now).await;
    };
    let key = raw_key
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::bad_request("Idempotency-Key must be 1-255 visible ASCII characters")
        })?;
    // Keys are the agent's own: two agents may pick the same one.
    let scoped = digest(&[agent.as_bytes(), key.as_bytes()]);
    // The same body: the same conversation and JSON (key order and spacing aside).
    let canonical = serde_json::from_slice::<serde_json::Value>(req.body().as_ref())
        .map(|v| v.to_string().into_bytes())
        .unwrap_or_else(|_| req.body().as_ref().to_vec());
    let body_hash = digest(&[id.as_str().as_bytes(), &canonical]);
    let started = std::time::Instant::now();
    let claim = |at: DateTime<Utc>| {
        deps.store.claim_idempotency(
            &scoped,
            &body_hash,
            at,
            at + chrono::Duration::seconds(IDEMPOTENCY_LEASE_SECS),
            at + chrono::Duration::hours(IDEMPOTENCY_TTL_HOURS),
        )
    };
    let mut held = claim(now).await?;
    loop {
        match held {
            None => break,
            Some(ref record) if record.body_hash() != body_hash => {
                return Err(ApiError::new(
                    422,
                    "idempotency_key_reused",
                    "this Idempotency-Key was used for another request; use a new key",
                ));
            }
            Some(IdempotencyRecord::Done { status, body, .. }) => {
                info!(event = "idempotent_replay", conversation = %id, agent, "answered from the first request");
                return Ok(Response::builder()
                    .status(status)
                    .header("content-type", "application/json")
                    .header("idempotent-replayed", "true")
                    .body(Body::Binary(body.into_bytes()))
                    .expect("static parts are valid"));
            }
            Some(IdempotencyRecord::InFlight { lease_until, .. }) => {
                if Utc::now() > lease_until {
                    // The first request died mid-way: it may have sent. Never resend.
                    return Err(ApiError::new(
                        409,
                        "idempotency_unresolved",
                        "the first request with this key did not finish; read the thread before sending again with a new key",
                    ));
                }
                if started.elapsed() > std::time::Duration::from_millis(IDEMPOTENCY_WAIT_MS) {
                    return Err(ApiError::new(
                        409,
                        "idempotency_in_progress",
                        "the first request with this key is still running; retry in a moment",
                    ));
                }
                tokio::time::sleep(std::time::Duration::from_millis(150)).await;
                held = match deps.store.get_idempotency(&scoped).await? {
                    // Released (it sent nothing): claim it ourselves.
                    None => claim(Utc::now()).await?,
                    other => other,
                };
            }
        }
    }
    // Ours: answer, and keep the answer for the repeats.
    let (resp, partial) = match reply(id, req, agent, deps, now).await {
        Ok(r) => (r, false),
        Err(e) => {
            let partial = e.code == PARTIALLY_SENT;
            (e.into_response(), partial)
        }
    };
    let status = resp.status().as_u16();
    // Nothing went out and a retry may succeed (rate limit, outage): free the key.
    // Once any part went out, the key stays with this answer.
    let stored = if matches!(status, 429 | 502 | 503) && !partial {
        deps.store.release_idempotency(&scoped).await
    } else {
        let body = String::from_utf8_lossy(resp.body().as_ref()).into_owned();
        deps.store.finish_idempotency(&scoped, status, &body).await
    };
    if let Err(e) = stored {
        warn!(error = %e, "idempotency key not updated; it expires by itself");
    }
    Ok(resp)
}

async fn reply<S: ConversationStore, O: Outbound>(
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
    let text = match (&body.text, &body.template) {
        (Some(t), None) if !t.trim().is_empty() => t.trim().to_string(),
        (Some(_), None) => return Err(ApiError::bad_request("text must not be empty")),
        (None, Some(t)) => {
            if !caps.templates {
                return Err(ApiError::bad_request(format!(
                    "templates are a WhatsApp feature; {channel} takes text"
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
                "send either {\"text\": \"...\"} or {\"template\": {\"name\", \"language\", \"parameters\"}}",
            ));
        }
    };
    // The channel's reply window: outside it only a template goes (WhatsApp, 24 h).
    if let (Some(window), Some(last), None) = (
        caps.reply_window,
        conversation.last_inbound_at,
        &body.template,
    ) && now >= last + window
    {
        return Err(ApiError::new(
            409,
            "whatsapp_window_closed",
            "the 24-hour window since the customer's last message has closed; send an approved template instead",
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
        // Answers the customer's latest message (quoted, or threaded by mail headers,
        // where the channel can).
        reply: Some(ReplyContext::to_conversation(&conversation)),
    };
    if let Err(e) = parts(&outgoing) {
        return Err(ApiError::bad_request(e.provider_error().title));
    }
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
                err.code = PARTIALLY_SENT;
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
