//! The capture of one message's attachments: each pending file is fetched from its
//! platform, checked (size caps, the platform's hash), typed from its bytes, and
//! stored once per conversation and content; what happened is recorded on the
//! attachment. Pure of any clock or AWS type: the ports do the I/O.

use super::{MediaLimits, mismatch, object_key, safe_filename, served_type, sha256_hex, sniff};
use crate::conversation::{Attachment, MediaState, Message};
use crate::ports::{FetchError, MediaSource, MediaStore};

/// Failed-for-now attempts after which an attachment is `failed`: with the delays
/// of [`retry_delay_secs`], the last attempt comes about 50 minutes after the first,
/// well within the platforms' windows (a Telegram file link lasts an hour, and each
/// attempt asks for a new one; WhatsApp keeps media for weeks).
pub const MAX_ATTEMPTS: u32 = 6;

/// The wait after failed attempt `attempt` (1-based): 1, 5, 15, 15, 15 minutes
/// (SQS delays stop at 15).
pub fn retry_delay_secs(attempt: u32) -> u64 {
    match attempt {
        0 | 1 => 60,
        2 => 300,
        _ => 900,
    }
}

/// What a capture did to a message's attachments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    /// The attachments as they are now (write them when `changed`).
    pub attachments: Vec<Attachment>,
    pub changed: bool,
    /// Some attachment failed for now and is still pending: try again later.
    pub retry: bool,
    /// Files newly written to the bucket (bytes already there are not counted).
    pub stored_objects: usize,
}

/// Captures the pending attachments of `message` from `source` into `bucket`.
/// An error of the bucket stops the capture (nothing is recorded; it runs again).
pub async fn capture(
    message: &Message,
    source: Option<&dyn MediaSource>,
    bucket: &dyn MediaStore,
    limits: MediaLimits,
) -> Result<Captured, crate::ports::ObjectError> {
    let mut attachments = message.content.attachments().to_vec();
    let mut out = Captured {
        attachments: Vec::new(),
        changed: false,
        retry: false,
        stored_objects: 0,
    };
    // The message's total counts what is stored, or still to be.
    let mut total: u64 = attachments
        .iter()
        .filter(|a| a.state == Some(MediaState::Stored))
        .filter_map(|a| a.size)
        .sum();
    for a in attachments.iter_mut() {
        if a.state.is_some_and(MediaState::is_final) {
            continue;
        }
        let room = limits
            .max_file_bytes
            .min(limits.max_message_bytes.saturating_sub(total));
        if let Some(size) = a.size.filter(|s| *s > room) {
            too_large(a, size, room, limits);
            out.changed = true;
            continue;
        }
        let Some(source) = source else {
            fail(a, "this deployment cannot fetch this channel's media");
            out.changed = true;
            continue;
        };
        match source.fetch(message, a, room).await {
            Ok(download) => {
                let hash = sha256_hex(&download.bytes);
                if let Some(declared) = download.sha256.as_deref().or(a.sha256.as_deref())
                    && !super::hash_matches(declared, &hash)
                {
                    // A broken transfer: the next attempt downloads again.
                    failed_for_now(a, "the bytes do not match the platform's SHA-256", &mut out);
                    continue;
                }
                let size = download.bytes.len() as u64;
                if size > room {
                    too_large(a, size, room, limits);
                    out.changed = true;
                    continue;
                }
                let declared = a.mime_type.clone().or(download.mime_type);
                let sniffed = sniff(&download.bytes);
                let key = object_key(&message.conversation_id, &hash);
                if !bucket.exists(&key).await? {
                    let served = served_type(declared.as_deref(), sniffed);
                    bucket.put(&key, &download.bytes, &served).await?;
                    out.stored_objects += 1;
                }
                a.mime_mismatch = mismatch(declared.as_deref(), sniffed);
                a.sniffed_mime_type = sniffed.map(str::to_string);
                a.mime_type = declared;
                a.filename = Some(safe_filename(
                    a.filename.as_deref(),
                    a.media_kind,
                    a.mime_type.as_deref().or(sniffed),
                ));
                a.size = Some(size);
                a.sha256 = Some(hash);
                a.key = Some(key);
                a.state = Some(MediaState::Stored);
                a.reason = None;
                total += size;
                out.changed = true;
            }
            Err(FetchError::TooLarge { limit }) => {
                a.state = Some(MediaState::TooLarge);
                a.reason = Some(format!(
                    "over {} MB, the most that can be fetched",
                    limit / (1024 * 1024)
                ));
                out.changed = true;
            }
            Err(FetchError::Gone(why)) => {
                fail(a, &why);
                out.changed = true;
            }
            Err(FetchError::Unavailable(why)) => failed_for_now(a, &why, &mut out),
        }
    }
    out.attachments = attachments;
    Ok(out)
}

fn too_large(a: &mut Attachment, size: u64, room: u64, limits: MediaLimits) {
    a.state = Some(MediaState::TooLarge);
    a.size = Some(size);
    a.reason = Some(if room < limits.max_file_bytes {
        format!(
            "the message's files pass the {} MB cap per message",
            limits.max_message_bytes / (1024 * 1024)
        )
    } else {
        format!(
            "over the {} MB cap per file",
            limits.max_file_bytes / (1024 * 1024)
        )
    });
}

fn fail(a: &mut Attachment, why: &str) {
    a.state = Some(MediaState::Failed);
    a.reason = Some(why.chars().take(300).collect());
}

/// Counts a failed attempt; the last one fails the attachment for good.
fn failed_for_now(a: &mut Attachment, why: &str, out: &mut Captured) {
    a.attempts += 1;
    out.changed = true;
    if a.attempts >= MAX_ATTEMPTS {
        fail(a, &format!("gave up after {} attempts: {why}", a.attempts));
    } else {
        a.state = Some(MediaState::Pending);
        a.reason = Some(why.chars().take(300).collect());
        out.retry = true;
    }
}
