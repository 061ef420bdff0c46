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

mod attachments;
mod erase;
mod queue;
mod reply;
mod thread;

pub use queue::{queue_cursor, read_queue_cursor};

use asyncdesk::auth::AgentKeys;
use asyncdesk::config::AgentConfig;
use asyncdesk::conversation::{Author, Conversation, ConversationId, Message};
use asyncdesk::hours::BusinessHours;
use asyncdesk::http::{ApiError, json, query_param};
use asyncdesk::ports::{ConversationStore, Outbound, OutboundEffect};
use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json as j;
use tracing::info;

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
    /// The media bucket: download URLs in thread answers, agents' uploads, and
    /// erasure of a conversation's files.
    pub media: Option<std::sync::Arc<dyn asyncdesk::ports::MediaStore>>,
    /// The largest file an agent may upload (`MEDIA_MAX_FILE_MB`).
    pub upload_limit: u64,
}

impl<S: ConversationStore, O: Outbound> Agent<S, O> {
    pub fn new(store: S, outbound: O, config: &AgentConfig) -> Self {
        Agent {
            store,
            outbound,
            keys: config.agent_keys.clone(),
            hours: config.hours.clone(),
            objects: None,
            media: None,
            upload_limit: config.media_limits.max_file_bytes,
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
        (["conversations", id], "GET") => thread::thread(parse_id(id)?, req, deps, now).await,
        (["conversations", id], "PATCH") => change(parse_id(id)?, req, agent, deps, now).await,
        (["conversations", id, "attachments"], "POST") => {
            attachments::upload(parse_id(id)?, req, deps, now).await
        }
        (["conversations", id, "notes"], "POST") => {
            note(parse_id(id)?, req, agent, deps, now).await
        }
        (["conversations", id, "messages"], "POST") => {
            reply::idempotent_reply(parse_id(id)?, req, agent, deps, now).await
        }
        (["customers", id, "data"], "DELETE") => {
            erase::erase(parse_id(id)?, agent, deps, now).await
        }
        (["customers", _, "data"], _) => Err(ApiError::method_not_allowed()),
        (["conversations"], _)
        | (["conversations", _], _)
        | (["conversations", _, "messages"], _)
        | (["conversations", _, "attachments"], _)
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
pub(crate) fn json_body<T: serde::de::DeserializeOwned>(
    req: &Request,
    shape: &str,
) -> Result<T, ApiError> {
    serde_json::from_slice(req.body().as_ref())
        .map_err(|e| ApiError::bad_request(format!("body must be {shape}: {e}")))
}

pub(crate) fn missing(id: &ConversationId) -> ApiError {
    ApiError::not_found(format!("conversation {id} not found"))
}

/// The conversation, or 404.
pub(crate) async fn conversation_of<S: ConversationStore, O>(
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
