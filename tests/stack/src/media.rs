//! Media on the local stack: the media bucket on moto's S3, the capture function
//! fed by the table's stream and its retry queue (as Lambda would), its sources
//! over the sandboxes, and `POST /dev/media` to put a customer's file into a
//! sandbox (as if the customer had sent it) before the webhook names it.

use crate::bot_sandbox::BotSandbox;
use crate::sandbox::GraphSandbox;
use crate::server::{self, Request, Response};
use crate::template::Template;
use crate::{BoxError, stream};
use asyncdesk::channels::MediaSources;
use asyncdesk::media::MediaLimits;
use asyncdesk::media::s3::S3Media;
use asyncdesk::ports::ObjectReader;
use asyncdesk::store::dynamo::DynamoStore;
use media_capture::MediaCapture;
use serde_json::json;
use std::sync::Arc;
use tokio::task::JoinHandle;

/// The local media bucket's name when `MEDIA_BUCKET` is not set.
pub const DEV_BUCKET: &str = "asyncdesk-local-media";

/// The media bucket on `endpoint` (created if missing), as the functions use it.
pub async fn bucket(endpoint: &str, name: &str) -> Result<S3Media, BoxError> {
    let s3 = crate::mail::s3_client(endpoint).await;
    if s3.head_bucket().bucket(name).send().await.is_err() {
        s3.create_bucket().bucket(name).send().await?;
    }
    Ok(S3Media::new(s3, name))
}

/// The capture function over the local stack: its sources built from `env` as the
/// deployed function builds them (the sandboxes' bases are in `env`), the bucket,
/// the caps, and the retry queue `queue` (a local SQS queue).
pub fn capture(
    env: asyncdesk::env::Lookup,
    store: DynamoStore,
    objects: Arc<dyn ObjectReader>,
    bucket: S3Media,
    retries: Option<Arc<dyn asyncdesk::ports::RetryQueue>>,
) -> Result<MediaCapture<DynamoStore>, BoxError> {
    Ok(MediaCapture {
        store,
        sources: MediaSources::load(env, &objects)?,
        bucket: Arc::new(bucket),
        limits: MediaLimits::load(env)?,
        retries,
    })
}

/// Feeds the table's stream (the capture's own mapping and filter) and the media
/// retry queue to `capture`, as Lambda's event sources would.
pub async fn feed(
    template: &Template,
    endpoint: &str,
    stream_arn: String,
    from_start: bool,
    capture: Arc<MediaCapture<DynamoStore>>,
    queue: crate::retry_queue::LocalQueue,
) -> Result<Vec<JoinHandle<()>>, BoxError> {
    let (_, patterns) = template.stream_consumer_of("MediaCaptureFunction")?;
    let sdk = crate::aws::local_config(endpoint).await;
    let streams = aws_sdk_dynamodbstreams::Client::new(&sdk);
    let on_stream = capture.clone();
    let stream_task = tokio::spawn(async move {
        let handler = |event| {
            let capture = on_stream.clone();
            async move { media_capture::handle_batch(event, &capture).await }
        };
        if let Err(e) = stream::feed(streams, stream_arn, patterns, from_start, handler).await {
            tracing::error!(error = %e, "media stream feeder stopped");
        }
    });
    let retries = tokio::spawn(crate::retry_queue::feed(queue, move |event| {
        let capture = capture.clone();
        async move { media_capture::handle_retries(event, &capture).await }
    }));
    Ok(vec![stream_task, retries])
}

/// `POST /dev/media?channel=whatsapp|telegram[&type=image/jpeg][&name=photo.jpg]`
/// with a file as the body: the file, as if a customer had sent it, in that
/// channel's sandbox. Answers the id a webhook names it by (WhatsApp: the media
/// id; Telegram: the file_id and file_unique_id).
pub fn dev_media(req: &Request, graph: &GraphSandbox, bot: &BotSandbox) -> Response {
    if req.method() != http::Method::POST {
        return server::json_response(405, &json!({"message": "POST the file as the body"}));
    }
    let query: std::collections::HashMap<String, String> = req
        .uri()
        .query()
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    if req.body().is_empty() {
        return server::json_response(400, &json!({"message": "the body must be the file"}));
    }
    let mime = query
        .get("type")
        .cloned()
        .or_else(|| asyncdesk::media::sniff(req.body()).map(str::to_string))
        .unwrap_or_else(|| "application/octet-stream".into());
    let sha = asyncdesk::media::sha256_hex(req.body());
    match query.get("channel").map(String::as_str) {
        Some("whatsapp") => {
            // Meta's media ids are digits.
            let id = u64::from_str_radix(&sha[..12], 16).unwrap_or(1).to_string();
            graph.add_media(&id, req.body(), &mime);
            server::json_response(
                200,
                &json!({"channel": "whatsapp", "id": id, "mime_type": mime, "sha256": sha}),
            )
        }
        Some("telegram") => {
            let file_id = format!("dev-{}", &sha[..16]);
            let ext = asyncdesk::media::extension(asyncdesk::media::kind_of(&mime), Some(&mime));
            bot.add_file(&file_id, req.body(), &format!("documents/{file_id}.{ext}"));
            server::json_response(
                200,
                &json!({"channel": "telegram", "file_id": file_id, "file_unique_id": format!("u-{file_id}"),
                    "file_size": req.body().len(), "mime_type": mime}),
            )
        }
        _ => server::json_response(
            400,
            &json!({"message": "channel must be whatsapp or telegram (email attachments come in the mail)"}),
        ),
    }
}

/// The prefix under which the local stack plays the download distribution.
pub const CDN_PREFIX: &str = "/dev/cdn";

/// `GET /dev/cdn/<path>?<query>`: what the template's CloudFront distribution does
/// with a download URL. The path and query go to S3 (here moto at `endpoint`) as
/// they are, so the presigned signature decides; the answer comes back with the
/// managed SecurityHeadersPolicy's headers added, nothing cached.
pub async fn cdn(req: &Request, endpoint: &str) -> Response {
    if req.method() != http::Method::GET && req.method() != http::Method::HEAD {
        return server::json_response(405, &json!({"message": "GET or HEAD"}));
    }
    let rest = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or_default()
        .strip_prefix(CDN_PREFIX)
        .unwrap_or("/");
    let origin = match reqwest::Client::new()
        .request(req.method().clone(), format!("{endpoint}{rest}"))
        .send()
        .await
    {
        Ok(r) => r,
        Err(_) => return server::json_response(502, &json!({"message": "origin unreachable"})),
    };
    let mut resp = http::Response::builder().status(origin.status().as_u16());
    for name in [
        "content-type",
        "content-disposition",
        "cache-control",
        "etag",
        "last-modified",
    ] {
        if let Some(v) = origin.headers().get(name) {
            resp = resp.header(name, v.as_bytes());
        }
    }
    let resp = resp
        .header("x-content-type-options", "nosniff")
        .header("strict-transport-security", "max-age=31536000")
        .header("x-frame-options", "SAMEORIGIN")
        .header("referrer-policy", "strict-origin-when-cross-origin")
        .header("x-xss-protection", "1; mode=block");
    let body = origin.bytes().await.unwrap_or_default();
    resp.body(body).expect("a valid response")
}
