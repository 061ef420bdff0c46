//! Agents' files: `POST /conversations/{id}/attachments` gives an upload target (a
//! presigned PUT of exactly the declared size and type, kept a day), and a reply's
//! `attachments` loads those uploads, stores each by content like every file of the
//! conversation, and hands them to the channel.

use crate::{Agent, Store, conversation_of, json_body};
use asyncdesk::conversation::{Attachment, ConversationId, MediaState};
use asyncdesk::http::{ApiError, json};
use asyncdesk::media::{
    kind_of, mismatch, object_key, safe_filename, served_type, sha256_hex, sniff, upload_key,
};
use asyncdesk::ports::{MediaStore, OutgoingFile};
use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json as j;
use std::sync::Arc;

/// Files one reply carries.
pub const MAX_ATTACHMENTS: usize = 10;
const ID_PREFIX: &str = "up-";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadBody {
    filename: String,
    mime_type: String,
    size: u64,
}

fn media<S, O>(deps: &Agent<S, O>) -> Result<&Arc<dyn MediaStore>, ApiError> {
    deps.media.as_ref().ok_or_else(|| {
        ApiError::new(
            422,
            "media_not_configured",
            "this deployment has no media bucket (MEDIA_BUCKET)",
        )
    })
}

/// `type/subtype`, visible ASCII, at most 100 characters.
fn valid_type(t: &str) -> bool {
    let mut halves = t.split('/');
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    t.len() <= 100
        && matches!((halves.next(), halves.next(), halves.next()), (Some(a), Some(b), None) if token(a) && token(b))
}

/// `POST /conversations/{id}/attachments` `{"filename", "mime_type", "size"}`.
pub async fn upload<S: Store, O>(
    id: ConversationId,
    req: &Request,
    deps: &Agent<S, O>,
    now: DateTime<Utc>,
) -> Result<Response<Body>, ApiError> {
    let body: UploadBody = json_body(
        req,
        "{\"filename\": \"...\", \"mime_type\": \"type/subtype\", \"size\": <bytes>}",
    )?;
    let bucket = media(deps)?;
    let max = deps.upload_limit;
    if body.size == 0 || body.size > max {
        return Err(ApiError::new(
            422,
            "too_large",
            format!(
                "size must be 1 byte to {} MB (MEDIA_MAX_FILE_MB)",
                max / (1024 * 1024)
            ),
        ));
    }
    let mime = body.mime_type.trim().to_ascii_lowercase();
    if !valid_type(&mime) {
        return Err(ApiError::bad_request(
            "mime_type must be a media type such as application/pdf",
        ));
    }
    conversation_of(deps, &id).await?;
    let kind = kind_of(&mime);
    let filename = safe_filename(Some(&body.filename), kind, Some(&mime));
    let upload_id = format!("{ID_PREFIX}{}", uuid::Uuid::new_v4().simple());
    let target = bucket
        .upload_url(
            &upload_key(&id, &upload_id),
            &mime,
            body.size,
            &filename,
            now,
        )
        .await?;
    let headers: serde_json::Map<String, serde_json::Value> = target
        .headers
        .into_iter()
        .map(|(k, v)| (k, j!(v)))
        .collect();
    Ok(json(
        201,
        &j!({
            "attachment": {"id": upload_id, "filename": filename, "mime_type": mime, "size": body.size},
            "upload": {"method": "PUT", "url": target.url, "headers": headers, "expires_at": target.expires_at},
        }),
    ))
}

/// A reply's `attachments`: at most [`MAX_ATTACHMENTS`] ids this API issued.
pub fn check_ids(ids: &[String]) -> Result<(), ApiError> {
    if ids.is_empty() || ids.len() > MAX_ATTACHMENTS {
        return Err(ApiError::bad_request(format!(
            "attachments must list 1 to {MAX_ATTACHMENTS} ids"
        )));
    }
    for id in ids {
        let ok = id
            .strip_prefix(ID_PREFIX)
            .is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()));
        if !ok {
            return Err(ApiError::new(
                422,
                "unknown_attachment",
                format!("{id:?} is not an attachment id of POST /conversations/{{id}}/attachments"),
            ));
        }
    }
    Ok(())
}

/// The uploads `ids` of conversation `id`, each stored at its content's key and
/// typed from its bytes; on a channel that sends files again by id, with the id
/// of the same bytes sent or received before (the newest 200 messages, 1 Query).
pub async fn load<S: Store, O>(
    id: &ConversationId,
    ids: &[String],
    deps: &Agent<S, O>,
) -> Result<Vec<OutgoingFile>, ApiError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let bucket = media(deps)?;
    let known: std::collections::HashMap<String, String> =
        if asyncdesk::channels::capabilities(id.channel()).resends_by_file_id {
            deps.store
                .thread_page(id, crate::MAX_THREAD_PAGE, None)
                .await?
                .map(|page| page.messages)
                .unwrap_or_default()
                .iter()
                .flat_map(|m| m.content.attachments())
                .filter_map(|a| Some((a.sha256.clone()?, a.file_id.clone()?)))
                .collect()
        } else {
            Default::default()
        };
    let mut files = Vec::new();
    for upload_id in ids {
        let key = upload_key(id, upload_id);
        let info = bucket.head(&key).await?.ok_or_else(|| {
            ApiError::new(
                422,
                "unknown_attachment",
                format!("attachment {upload_id} was not uploaded to this conversation, or its upload expired"),
            )
        })?;
        let bytes = bucket.get(&key).await.map_err(|e| match e {
            asyncdesk::ports::ObjectError::Missing(_) => ApiError::new(
                422,
                "unknown_attachment",
                format!("attachment {upload_id} is gone"),
            ),
            other => other.into(),
        })?;
        let declared = info.content_type;
        let sniffed = sniff(&bytes);
        let served = served_type(declared.as_deref(), sniffed);
        let kind = kind_of(&served);
        let hash = sha256_hex(&bytes);
        let stored = object_key(id, &hash);
        if !bucket.exists(&stored).await? {
            bucket.put(&stored, &bytes, &served).await?;
        }
        let filename = safe_filename(info.filename.as_deref(), kind, Some(&served));
        let file_id = known.get(&hash).cloned();
        files.push(OutgoingFile {
            attachment: Attachment {
                mime_type: Some(served.clone()),
                sniffed_mime_type: sniffed.map(str::to_string),
                mime_mismatch: mismatch(declared.as_deref(), sniffed),
                filename: Some(filename),
                size: Some(bytes.len() as u64),
                sha256: Some(hash),
                key: Some(stored),
                state: Some(MediaState::Stored),
                ..Attachment::pending(kind, file_id)
            },
            bytes: Arc::new(bytes),
        });
    }
    Ok(files)
}
