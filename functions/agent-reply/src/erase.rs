//! `DELETE /customers/{conversation id}/data`: GDPR erasure, for agents with the
//! admin scope (`AGENT_API_KEYS` entry `agent=<hash>:admin`). Everything the
//! conversation holds goes; an audit item keeps who erased what and when.

use crate::{Agent, Store};
use asyncdesk::conversation::ConversationId;
use asyncdesk::http::{ApiError, json};
use chrono::{DateTime, Utc};
use lambda_http::{Body, Response};
use tracing::warn;

pub async fn erase<S: Store, O>(
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
    // The mail sources SES stored in S3 go too.
    let mut sources_deleted = 0;
    for source in &erased.sources {
        let Some((bucket, key)) = source.strip_prefix("s3://").and_then(|s| s.split_once('/'))
        else {
            continue;
        };
        match &deps.objects {
            Some(objects) => match objects.delete(bucket, key).await {
                Ok(()) => sources_deleted += 1,
                Err(e) => {
                    warn!(conversation = %id, error = %e, "a mail source was not deleted; the bucket's lifecycle removes it")
                }
            },
            None => {
                warn!(conversation = %id, "no object store: a mail source stays until the bucket's lifecycle removes it")
            }
        }
    }
    // And every file captured or uploaded in it.
    let media_deleted = match &deps.media {
        Some(media) => {
            // The table's items are gone already: a bucket failure leaves the files
            // to the bucket's lifecycle (the answer counts what went).
            let files = media
                .delete_prefix(&asyncdesk::media::conversation_prefix(&id))
                .await;
            let uploads = media
                .delete_prefix(&asyncdesk::media::uploads_prefix(&id))
                .await;
            match files.and_then(|f| uploads.map(|u| f + u)) {
                Ok(n) => n,
                Err(e) => {
                    warn!(conversation = %id, error = %e, "media not deleted; the bucket's lifecycle removes them");
                    0
                }
            }
        }
        None => 0,
    };
    warn!(event = "erased", conversation = %id, agent, items = erased.items, messages = erased.messages, sources_deleted, media_deleted, "customer data erased");
    let mut body = serde_json::json!({ "erased": erased });
    body["erased"]["sources_deleted"] = serde_json::json!(sources_deleted);
    body["erased"]["media_deleted"] = serde_json::json!(media_deleted);
    Ok(json(200, &body))
}
