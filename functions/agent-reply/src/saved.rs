//! `/saved-replies`: the team's snippets. `GET` lists them (by title), `POST`
//! `{"title", "text"}` adds one, `PUT /saved-replies/{id}` replaces one, `DELETE`
//! removes one. The text may hold placeholders the desk fills in when inserting
//! (`{customer_name}`, `{agent_name}`, `{reply_by}`, `{reply_by_local}`, `{channel}`).

use crate::{Agent, Store, json_body};
use asyncdesk::http::{ApiError, json};
use asyncdesk::ports::{SavedReply, StoreError};
use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json as j;
use tracing::info;

/// A team keeps at most this many.
pub const MAX_SAVED_REPLIES: usize = 500;
pub const MAX_TITLE_CHARS: usize = 100;
pub const MAX_TEXT_CHARS: usize = 4_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SavedReplyBody {
    title: String,
    text: String,
}

fn checked(req: &Request) -> Result<(String, String), ApiError> {
    let b: SavedReplyBody = json_body(req, "{\"title\": \"...\", \"text\": \"...\"}")?;
    let (title, text) = (b.title.trim().to_string(), b.text.trim().to_string());
    if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
        return Err(ApiError::bad_request(format!(
            "title must be 1 to {MAX_TITLE_CHARS} characters"
        )));
    }
    if text.is_empty() || text.chars().count() > MAX_TEXT_CHARS {
        return Err(ApiError::bad_request(format!(
            "text must be 1 to {MAX_TEXT_CHARS} characters"
        )));
    }
    Ok((title, text))
}

fn valid_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

fn no_such(id: &str) -> ApiError {
    ApiError::not_found(format!("saved reply {id:?} not found"))
}

pub(crate) async fn list<S: Store, O>(deps: &Agent<S, O>) -> Result<Response<Body>, ApiError> {
    let all = deps.store.saved_replies().await?;
    Ok(json(200, &j!({ "saved_replies": all })))
}

pub(crate) async fn create<S: Store, O>(
    req: &Request,
    agent: &str,
    deps: &Agent<S, O>,
    now: DateTime<Utc>,
) -> Result<Response<Body>, ApiError> {
    let (title, text) = checked(req)?;
    if deps.store.saved_replies().await?.len() >= MAX_SAVED_REPLIES {
        return Err(ApiError::new(
            422,
            "too_many_saved_replies",
            format!("a team keeps at most {MAX_SAVED_REPLIES} saved replies"),
        ));
    }
    let reply = SavedReply {
        id: uuid::Uuid::new_v4().simple().to_string(),
        title,
        text,
        updated_at: now,
        updated_by: agent.to_string(),
    };
    deps.store.put_saved_reply(&reply, true).await?;
    info!(event = "saved_reply_added", agent, "saved reply added");
    Ok(json(201, &j!({ "saved_reply": reply })))
}

pub(crate) async fn replace<S: Store, O>(
    id: &str,
    req: &Request,
    agent: &str,
    deps: &Agent<S, O>,
    now: DateTime<Utc>,
) -> Result<Response<Body>, ApiError> {
    if !valid_id(id) {
        return Err(no_such(id));
    }
    let (title, text) = checked(req)?;
    let reply = SavedReply {
        id: id.to_string(),
        title,
        text,
        updated_at: now,
        updated_by: agent.to_string(),
    };
    match deps.store.put_saved_reply(&reply, false).await {
        Ok(()) => {}
        Err(StoreError::NotFound(_)) => return Err(no_such(id)),
        Err(e) => return Err(e.into()),
    }
    info!(event = "saved_reply_changed", agent, "saved reply changed");
    Ok(json(200, &j!({ "saved_reply": reply })))
}

pub(crate) async fn delete<S: Store, O>(
    id: &str,
    agent: &str,
    deps: &Agent<S, O>,
) -> Result<Response<Body>, ApiError> {
    if !valid_id(id) {
        return Err(no_such(id));
    }
    match deps.store.delete_saved_reply(id).await {
        Ok(()) => {}
        Err(StoreError::NotFound(_)) => return Err(no_such(id)),
        Err(e) => return Err(e.into()),
    }
    info!(event = "saved_reply_deleted", agent, "saved reply deleted");
    Ok(Response::builder()
        .status(204)
        .body(Body::Empty)
        .expect("static parts are valid"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(body: &str) -> Request {
        lambda_http::http::Request::builder()
            .method("POST")
            .uri("/saved-replies")
            .body(Body::Text(body.into()))
            .unwrap()
    }

    #[test]
    fn titles_and_texts_are_checked_and_ids_are_ours() {
        assert_eq!(
            checked(&post(
                r#"{"title":" Hi ","text":" Hello {customer_name} "}"#
            ))
            .unwrap(),
            ("Hi".to_string(), "Hello {customer_name}".to_string())
        );
        let long = "x".repeat(MAX_TEXT_CHARS + 1);
        for bad in [
            r#"{"title":"","text":"x"}"#.to_string(),
            format!(r#"{{"title":"a","text":"{long}"}}"#),
            r#"{"title":"a","text":"b","extra":1}"#.to_string(),
        ] {
            assert_eq!(checked(&post(&bad)).unwrap_err().status, 400, "{bad}");
        }
        assert!(valid_id(&"a".repeat(32)));
        assert!(!valid_id("../x") && !valid_id(&"g".repeat(32)));
    }
}
