//! The agent API: `Authorization: Bearer <key>`, or the desk's session cookie with
//! the `X-Asyncdesk-Desk` header, on every route but signing in (the public
//! `GET /availability` is the availability function's). One file per route:
//! - `session.rs`: `POST /session` (sign in with the key), `GET /session`, `DELETE /session`
//! - `queue.rs`: `GET /conversations` (the queue, in promise order)
//! - `thread.rs`: `GET /conversations/{id}` (the conversation and a page of messages)
//! - `change.rs`: `PATCH /conversations/{id}` (status, snooze, assignee, priority)
//! - `note.rs`: `POST /conversations/{id}/notes` (an internal note)
//! - `reply.rs`: `POST /conversations/{id}/messages` (send on the customer's channel)
//! - `attachments.rs`: `POST /conversations/{id}/attachments` (an upload URL)
//! - `changes.rs`: `GET /changes?since=` (the desk's change feed)
//! - `saved.rs`: `/saved-replies` (the team's snippets)
//! - `templates.rs`: `GET /templates` (approved templates for closed windows)
//! - `erase.rs`: `DELETE /customers/{id}/data` (admin: GDPR erasure)
//!
//! `idempotency.rs` makes sends happen once per `Idempotency-Key`.

mod attachments;
mod change;
mod changes;
mod erase;
mod idempotency;
mod note;
mod queue;
mod reply;
mod saved;
mod session;
mod templates;
mod thread;

pub use queue::{queue_cursor, read_queue_cursor};

use asyncdesk::auth::AgentKeys;
use asyncdesk::config::AgentConfig;
use asyncdesk::conversation::{Conversation, ConversationId};
use asyncdesk::hours::BusinessHours;
use asyncdesk::http::ApiError;
use asyncdesk::ports::{ConversationStore, DeskStore, Outbound};
use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, Response};
use serde_json::json as j;

/// What the agent API stores in: conversations, and the desk's saved replies and
/// change feed.
pub trait Store: ConversationStore + DeskStore {}
impl<T: ConversationStore + DeskStore> Store for T {}

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
    /// The approved templates the desk offers outside a reply window.
    pub templates: Vec<asyncdesk::channels::whatsapp::templates::ReplyTemplate>,
    /// Signs the desk's sessions (`DESK_SESSION_SECRET`); `None`: no desk sign-in.
    pub session_secret: Option<asyncdesk::auth::session::SessionSecret>,
}

impl<S: Store, O: Outbound> Agent<S, O> {
    pub fn new(store: S, outbound: O, config: &AgentConfig) -> Self {
        Agent {
            store,
            outbound,
            keys: config.agent_keys.clone(),
            hours: config.hours.clone(),
            objects: None,
            media: None,
            upload_limit: config.media_limits.max_file_bytes,
            templates: config.templates.clone(),
            session_secret: config.desk_session_secret.clone(),
        }
    }
}

pub async fn handle<S: Store, O: Outbound>(
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

async fn answer<S: Store, O: Outbound>(
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

async fn route<S: Store, O: Outbound>(
    req: &Request,
    deps: &Agent<S, O>,
    now: DateTime<Utc>,
) -> Result<Response<Body>, ApiError> {
    let path = req.uri().path().trim_end_matches('/');
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let method = req.method().as_str();
    // Signing in and out need no session.
    match (segments.as_slice(), method) {
        (["session"], "POST") => return session::sign_in(req, deps, now).await,
        (["session"], "DELETE") => return Ok(session::sign_out()),
        _ => {}
    }
    let agent =
        session::caller(req, &deps.keys, deps.session_secret.as_ref(), now).ok_or_else(|| {
            ApiError::unauthorized("a valid 'Authorization: Bearer <key>' header is required")
        })?;
    match (segments.as_slice(), method) {
        (["session"], "GET") => session::current(req, agent, deps, now),
        (["conversations"], "GET") => queue::list(req, deps, agent, now).await,
        (["conversations", id], "GET") => thread::thread(parse_id(id)?, req, deps, now).await,
        (["conversations", id], "PATCH") => {
            change::change(parse_id(id)?, req, agent, deps, now).await
        }
        (["conversations", id, "attachments"], "POST") => {
            attachments::upload(parse_id(id)?, req, deps, now).await
        }
        (["conversations", id, "notes"], "POST") => {
            note::idempotent_note(parse_id(id)?, req, agent, deps, now).await
        }
        (["conversations", id, "messages"], "POST") => {
            reply::idempotent_reply(parse_id(id)?, req, agent, deps, now).await
        }
        (["changes"], "GET") => changes::changes(req, deps, now).await,
        (["saved-replies"], "GET") => saved::list(deps).await,
        (["saved-replies"], "POST") => saved::create(req, agent, deps, now).await,
        (["saved-replies", id], "PUT") => saved::replace(id, req, agent, deps, now).await,
        (["saved-replies", id], "DELETE") => saved::delete(id, agent, deps).await,
        (["templates"], "GET") => Ok(templates::list(deps)),
        (["customers", id, "data"], "DELETE") => {
            erase::erase(parse_id(id)?, agent, deps, now).await
        }
        (["customers", _, "data"], _) => Err(ApiError::method_not_allowed()),
        (["conversations"], _)
        | (["conversations", _], _)
        | (["conversations", _, "messages"], _)
        | (["conversations", _, "attachments"], _)
        | (["conversations", _, "notes"], _)
        | (["session"], _)
        | (["changes"], _)
        | (["saved-replies"], _)
        | (["saved-replies", _], _)
        | (["templates"], _) => Err(ApiError::method_not_allowed()),
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
    // The customer's zone where their id tells it (a phone number's country).
    if c.endpoint.channel == asyncdesk::conversation::Channel::Whatsapp
        && let Some(zone) = asyncdesk::hours::CustomerZone::from_phone(&c.endpoint.customer_id)
        && let Some(o) = v.as_object_mut()
    {
        o.insert("customer_zone".into(), j!(zone.as_string()));
    }
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
    let limit = asyncdesk::http::count_param(req.uri(), "limit", default.into(), max.into())?;
    Ok(u32::try_from(limit).unwrap_or(max))
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
pub(crate) async fn conversation_of<S: Store, O>(
    deps: &Agent<S, O>,
    id: &ConversationId,
) -> Result<Conversation, ApiError> {
    deps.store
        .get_conversation(id)
        .await?
        .ok_or_else(|| missing(id))
}

pub(crate) fn parse_id(raw: &str) -> Result<ConversationId, ApiError> {
    ConversationId::parse(raw)
        .ok_or_else(|| ApiError::not_found(format!("conversation {raw:?} not found")))
}
