//! `GET /conversations/{id}`: the conversation and a page of its messages, newest
//! first, each stored attachment with a short-lived download URL.

use crate::{
    Agent, DEFAULT_THREAD_PAGE, MAX_THREAD_PAGE, Store, THREAD_PAGE_BYTES, missing, page_limit,
};
use asyncdesk::conversation::ConversationId;
use asyncdesk::conversation::{MediaState, Message};
use asyncdesk::http::{ApiError, json, query_param};
use asyncdesk::media::{inline_safe, served_type};
use asyncdesk::ports::{MediaStore, Serving};
use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json as j};
use tracing::warn;

pub(crate) async fn thread<S: Store, O>(
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
        if let Some(media) = &deps.media {
            links(m, &mut v, media.as_ref(), now).await;
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
        &j!({ "conversation": crate::queue::row(&page.conversation, deps, now), "messages": messages, "next_cursor": next_cursor }),
    ))
}

/// Gives each stored attachment of `m` (as JSON `v`) a download URL and, for a
/// raster image, a preview URL that shows inline. Blocked, failed and pending
/// files get none. URLs are only ever in this answer, never in a log.
async fn links(m: &Message, v: &mut Value, media: &dyn MediaStore, now: DateTime<Utc>) {
    for (i, a) in m.content.attachments().iter().enumerate() {
        let (Some(MediaState::Stored), Some(key)) = (a.state, a.key.as_deref()) else {
            continue;
        };
        let content_type = served_type(a.mime_type.as_deref(), a.sniffed_mime_type.as_deref());
        let filename = a.filename.clone().unwrap_or_else(|| "file".into());
        let serving = |inline| Serving {
            filename: &filename,
            content_type: &content_type,
            inline,
        };
        let Some(slot) = v["attachments"].get_mut(i) else {
            continue;
        };
        match media.download_url(key, &serving(false), now).await {
            Ok(url) => {
                slot["url"] = j!(url.url);
                slot["url_expires_at"] = j!(url.expires_at);
            }
            Err(e) => {
                warn!(conversation = %m.conversation_id, error = %e, "no download URL");
                continue;
            }
        }
        if inline_safe(&content_type)
            && let Ok(url) = media.download_url(key, &serving(true), now).await
        {
            slot["preview_url"] = j!(url.url);
        }
    }
}
