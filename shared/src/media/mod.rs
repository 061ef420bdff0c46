//! Media: what asyncdesk keeps of every attachment, and the rules that decide how.
//! The capture (`capture`) copies a customer's attachment from the platform into
//! the deployment's media bucket; `s3` is the bucket's adapter; the rest are pure
//! functions: where an object goes, its safe name, its type read from the bytes,
//! and whether a browser may show it inline.

pub mod capture;
pub mod config;
pub mod s3;

use crate::conversation::{ConversationId, MediaKind};
use crate::env::{self, ConfigError, Lookup};

/// The size caps of the capture: per file and per message (`MEDIA_MAX_FILE_MB`,
/// `MEDIA_MAX_MESSAGE_MB`). Over them an attachment is kept as metadata only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaLimits {
    pub max_file_bytes: u64,
    pub max_message_bytes: u64,
}

pub const DEFAULT_MAX_FILE_MB: u64 = 25;
pub const DEFAULT_MAX_MESSAGE_MB: u64 = 50;
const MB: u64 = 1024 * 1024;

impl Default for MediaLimits {
    fn default() -> Self {
        MediaLimits {
            max_file_bytes: DEFAULT_MAX_FILE_MB * MB,
            max_message_bytes: DEFAULT_MAX_MESSAGE_MB * MB,
        }
    }
}

impl MediaLimits {
    /// The caps from the environment (defaults 25 MB a file, 50 MB a message).
    pub fn load(env: Lookup) -> Result<Self, ConfigError> {
        let mb = |name: &str, default: u64| -> Result<u64, ConfigError> {
            match env::optional(env, name) {
                None => Ok(default),
                Some(v) => v
                    .parse::<u64>()
                    .ok()
                    .filter(|n| (1..=1024).contains(n))
                    .ok_or_else(|| {
                        ConfigError::new(name, "must be a whole number of MB, 1 to 1024")
                    }),
            }
        };
        let limits = MediaLimits {
            max_file_bytes: mb("MEDIA_MAX_FILE_MB", DEFAULT_MAX_FILE_MB)? * MB,
            max_message_bytes: mb("MEDIA_MAX_MESSAGE_MB", DEFAULT_MAX_MESSAGE_MB)? * MB,
        };
        if limits.max_message_bytes < limits.max_file_bytes {
            return Err(ConfigError::new(
                "MEDIA_MAX_MESSAGE_MB",
                "must be at least MEDIA_MAX_FILE_MB",
            ));
        }
        Ok(limits)
    }
}

/// The prefix of everything in the media bucket.
pub const PREFIX: &str = "media/";

/// The prefix of one conversation's objects (erasure deletes it whole).
pub fn conversation_prefix(conversation: &ConversationId) -> String {
    format!("{PREFIX}{conversation}/")
}

/// Where a captured file goes: by conversation and content, so the same bytes in a
/// conversation are stored once, and erasing a conversation removes exactly its own.
pub fn object_key(conversation: &ConversationId, sha256_hex: &str) -> String {
    format!("{}{sha256_hex}", conversation_prefix(conversation))
}

/// The prefix of agents' uploads (kept a day: the bucket's lifecycle).
pub const UPLOADS: &str = "uploads/";

/// The prefix of one conversation's uploads.
pub fn uploads_prefix(conversation: &ConversationId) -> String {
    format!("{UPLOADS}{conversation}/")
}

/// Where an agent's upload goes before it is sent (then it is stored by content
/// like every file of the conversation).
pub fn upload_key(conversation: &ConversationId, upload_id: &str) -> String {
    format!("{}{upload_id}", uploads_prefix(conversation))
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Whether `declared` (hex or Base64, as platforms send it) is the SHA-256 of
/// bytes whose hex digest is `actual_hex`.
pub fn hash_matches(declared: &str, actual_hex: &str) -> bool {
    use base64::Engine;
    let declared = declared.trim();
    let bytes = if declared.len() == 64 {
        hex::decode(declared).ok()
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(declared)
            .ok()
    };
    bytes.is_some_and(|b| hex::encode(b).eq_ignore_ascii_case(actual_hex))
}

/// The type the bytes show (magic numbers), if any.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    infer::get(bytes).map(|t| t.mime_type())
}

/// A MIME type without parameters, lower-case, with common aliases folded
/// (`image/jpg` is `image/jpeg`, `audio/opus` is `audio/ogg`...).
pub fn essence(mime: &str) -> String {
    let base = mime
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match base.as_str() {
        "image/jpg" | "image/pjpeg" => "image/jpeg".into(),
        "audio/opus" | "application/ogg" | "video/ogg" => "audio/ogg".into(),
        "audio/mp3" | "audio/x-mp3" => "audio/mpeg".into(),
        "audio/x-m4a" | "audio/m4a" => "audio/mp4".into(),
        "video/x-m4v" => "video/mp4".into(),
        "application/x-pdf" => "application/pdf".into(),
        _ => base,
    }
}

/// Whether the bytes contradict the declared type. Unknown on either side is no
/// contradiction; containers that hold each other (an Office file is a zip, an
/// audio MP4 looks like a video MP4) are not one either.
pub fn mismatch(declared: Option<&str>, sniffed: Option<&str>) -> bool {
    let (Some(d), Some(s)) = (declared, sniffed) else {
        return false;
    };
    let (d, s) = (essence(d), essence(s));
    if d == s || d == "application/octet-stream" {
        return false;
    }
    let zip_family = |m: &str| {
        m == "application/zip"
            || m.starts_with("application/vnd.openxmlformats")
            || m.starts_with("application/vnd.oasis.opendocument")
            || m == "application/epub+zip"
            || m == "application/java-archive"
    };
    if zip_family(&d) && zip_family(&s) {
        return false;
    }
    let top = |m: &str| m.split('/').next().unwrap_or_default().to_string();
    let av = ["audio", "video"];
    let same_container = (d.ends_with("/mp4") || d.ends_with("/3gpp") || d.ends_with("/ogg"))
        && av.contains(&top(&d).as_str())
        && av.contains(&top(&s).as_str())
        && d.split('/').nth(1) == s.split('/').nth(1);
    !same_container
}

/// Raster images a browser may show inline. Never SVG (it runs script) or HTML.
pub fn inline_safe(mime: &str) -> bool {
    matches!(
        essence(mime).as_str(),
        "image/png" | "image/jpeg" | "image/gif" | "image/webp"
    )
}

/// The type an object is served as: the sniffed one where the bytes show one (a
/// file never claims what it is not), else the declared one if it is harmless,
/// else `application/octet-stream`.
pub fn served_type(declared: Option<&str>, sniffed: Option<&str>) -> String {
    if let Some(s) = sniffed {
        return essence(s);
    }
    match declared.map(essence) {
        Some(d)
            if !d.is_empty()
                && !d.contains("html")
                && !d.contains("xml")
                && !d.contains("javascript")
                && d.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            d
        }
        _ => "application/octet-stream".into(),
    }
}

/// A file name safe to show and to put in `Content-Disposition`: the last path
/// component, without control or quoting characters, at most 120 characters with
/// its extension kept; a made-up name (`voice.ogg`) when none is usable.
pub fn safe_filename(name: Option<&str>, kind: MediaKind, mime: Option<&str>) -> String {
    let cleaned: String = name
        .unwrap_or_default()
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| {
            !c.is_control()
                && !matches!(
                    c,
                    '"' | '\'' | '<' | '>' | '|' | '*' | '?' | ':' | '`' | ';'
                )
        })
        // Bidirectional overrides make "gpj.exe" read as "exe.jpg".
        .filter(|c| {
            !('\u{202a}'..='\u{202e}').contains(c) && !('\u{2066}'..='\u{2069}').contains(c)
        })
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim().to_string();
    if cleaned.is_empty() {
        return format!("{}.{}", kind_name(kind), extension(kind, mime));
    }
    if cleaned.chars().count() <= 120 {
        return cleaned;
    }
    let ext: String = cleaned
        .rsplit_once('.')
        .map(|(_, e)| e)
        .filter(|e| (1..=10).contains(&e.chars().count()))
        .map(|e| format!(".{e}"))
        .unwrap_or_default();
    let stem: String = cleaned.chars().take(120 - ext.chars().count()).collect();
    format!("{}{ext}", stem.trim_end_matches('.'))
}

fn kind_name(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Image => "image",
        MediaKind::Video => "video",
        MediaKind::Audio => "audio",
        MediaKind::Voice => "voice",
        MediaKind::Document => "document",
        MediaKind::Sticker => "sticker",
        MediaKind::Animation => "animation",
    }
}

/// A file extension for a type (for made-up names).
pub fn extension(kind: MediaKind, mime: Option<&str>) -> &'static str {
    match mime.map(essence).as_deref() {
        Some("image/jpeg") => "jpg",
        Some("image/png") => "png",
        Some("image/gif") => "gif",
        Some("image/webp") => "webp",
        Some("application/pdf") => "pdf",
        Some("audio/ogg") => "ogg",
        Some("audio/mpeg") => "mp3",
        Some("audio/mp4") => "m4a",
        Some("audio/aac") => "aac",
        Some("audio/amr") => "amr",
        Some("video/mp4") => "mp4",
        Some("video/3gpp") => "3gp",
        Some("text/plain") => "txt",
        _ => match kind {
            MediaKind::Image => "jpg",
            MediaKind::Voice => "ogg",
            MediaKind::Sticker => "webp",
            MediaKind::Video | MediaKind::Animation => "mp4",
            MediaKind::Audio => "mp3",
            MediaKind::Document => "bin",
        },
    }
}

/// The kind a file of this type is sent and shown as.
pub fn kind_of(mime: &str) -> MediaKind {
    let m = essence(mime);
    if inline_safe(&m) {
        MediaKind::Image
    } else if m.starts_with("video/") {
        MediaKind::Video
    } else if m.starts_with("audio/") {
        MediaKind::Audio
    } else {
        MediaKind::Document
    }
}

#[cfg(test)]
mod tests;

/// Reads a platform's download, at most `max_bytes` (larger: `TooLarge` without
/// reading the rest). Errors name no URL (a Telegram URL holds the bot token).
pub async fn read_limited(
    mut resp: reqwest::Response,
    max_bytes: u64,
) -> Result<Vec<u8>, crate::ports::FetchError> {
    use crate::ports::FetchError;
    if resp.content_length().is_some_and(|l| l > max_bytes) {
        return Err(FetchError::TooLarge { limit: max_bytes });
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|_| FetchError::Unavailable("the download was cut off".into()))?
    {
        if (bytes.len() + chunk.len()) as u64 > max_bytes {
            return Err(FetchError::TooLarge { limit: max_bytes });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// A failed request to a platform, without its URL.
pub fn request_failed(platform: &str, e: &reqwest::Error) -> crate::ports::FetchError {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not be reached"
    } else {
        "failed"
    };
    crate::ports::FetchError::Unavailable(format!("{platform} {kind}"))
}

/// What an HTTP status of a platform's media endpoint means for the capture.
pub fn status_error(platform: &str, status: u16) -> crate::ports::FetchError {
    use crate::ports::FetchError;
    match status {
        404 | 410 => FetchError::Gone(format!("{platform} no longer has the file (HTTP {status})")),
        400 => FetchError::Gone(format!("{platform} refused to serve the file (HTTP 400)")),
        _ => FetchError::Unavailable(format!("{platform} answered HTTP {status}")),
    }
}
