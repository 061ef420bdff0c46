//! `DELETE /customers/{conversation id}/data`: GDPR erasure, for agents with the
//! admin scope (`AGENT_API_KEYS` entry `agent=<hash>:admin`). Everything the
//! conversation holds goes; an audit item keeps who erased what and when.

use crate::Agent;
use asyncdesk::conversation::ConversationId;
use asyncdesk::http::{ApiError, json};
use asyncdesk::ports::ConversationStore;
use chrono::{DateTime, Utc};
use lambda_http::{Body, Response};
use tracing::warn;

pub async fn erase<S: ConversationStore, O>(
    id: ConversationId,
    agent: &str,
    deps: &Agent<S, O>,
    now: DateTime<Utc>,
) -> Result<Response<Body>, ApiError> {
    if !deps.keys.is_admin(agent) {
        return Err(ApiError::new(
            403,
            "forbidden",
            "erasing a customer's data needs an agent key with the admin scope",
        ));
    }
    let erased = deps
        .store
        .erase_conversation(&id, agent, now)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("conversation {id} not found")))?;
    warn!(event = "erased", conversation = %id, agent, items = erased.items, messages = erased.messages, "customer data erased");
    Ok(json(200, &serde_json::json!({ "erased": erased })))
}
