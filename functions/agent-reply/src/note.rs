//! `POST /conversations/{id}/notes`: an internal note, stored in the thread with the
//! agent's id and never sent. With `Idempotency-Key` a repeat stores it once.

use crate::{Agent, Store, conversation_of, json_body};
use asyncdesk::conversation::{Author, ConversationId, Message};
use asyncdesk::http::{ApiError, json};
use asyncdesk::ports::OutboundEffect;
use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json as j;
use tracing::info;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteBody {
    text: String,
}

/// An internal note, once per `Idempotency-Key`.
pub(crate) async fn idempotent_note<S: Store, O>(
    id: ConversationId,
    req: &Request,
    agent: &str,
    deps: &Agent<S, O>,
    now: DateTime<Utc>,
) -> Result<Response<Body>, ApiError> {
    crate::idempotency::once(&id, b"note", req, agent, deps, now, || {
        note(id.clone(), req, agent, deps, now)
    })
    .await
}

/// An internal note: stored in the thread with the agent's id, never sent.
async fn note<S: Store, O>(
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
