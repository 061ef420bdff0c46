//! A file attached to a message, and what the capture found out about it.

use serde::{Deserialize, Serialize};

/// What kind of file an attachment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Image,
    Video,
    Audio,
    Voice,
    Document,
    Sticker,
    Animation,
}

/// Where an attachment's bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaState {
    /// Still only with the platform: the capture has not run or will try again.
    Pending,
    /// Copied into the deployment's bucket (`key`).
    Stored,
    /// Over the size cap per file or per message: metadata only.
    TooLarge,
    /// The platform did not serve it (expired, refused, broken) within the retries.
    Failed,
    /// The receiving service found a virus: never offered for download.
    Blocked,
}

impl MediaState {
    /// Whether the capture is done with it, for good.
    pub fn is_final(self) -> bool {
        self != MediaState::Pending
    }
}

/// A file attached to a message: what the platform said about it and, once captured
/// (`media::capture`), where its bytes are kept and what they turned out to be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub media_kind: MediaKind,
    /// The channel's id for the file (WhatsApp media id, Telegram file_id).
    pub file_id: Option<String>,
    /// The type the sender or platform declared.
    pub mime_type: Option<String>,
    /// A safe file name (`media::safe_filename`): no path, no control characters.
    pub filename: Option<String>,
    /// Bytes: as declared until stored, then as stored.
    pub size: Option<u64>,
    /// Hex SHA-256 of the bytes (as stored; WhatsApp's declared hash is checked).
    pub sha256: Option<String>,
    /// Capture state; `None` on messages stored before media were captured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<MediaState>,
    /// Why it is `failed`, `too_large` or `blocked`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The type read from the bytes, where they show one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sniffed_mime_type: Option<String>,
    /// The bytes are of another type than declared (shown to agents; served as
    /// the sniffed type, or as a download).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mime_mismatch: bool,
    /// Voice notes, audio and video: seconds, where the platform gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_secs: Option<u32>,
    /// The platform's stable id of the content (Telegram file_unique_id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_id: Option<String>,
    /// Email: the attachment's position among the mail's attachments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<u32>,
    /// Email: shown inside the mail's body (an inline image).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inline: bool,
    /// Where the bytes are in the media bucket, once `stored`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Capture attempts that failed for now.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub attempts: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Attachment {
    /// An attachment the platform announced, to be captured.
    pub fn pending(media_kind: MediaKind, file_id: Option<String>) -> Self {
        Attachment {
            media_kind,
            file_id,
            mime_type: None,
            filename: None,
            size: None,
            sha256: None,
            state: Some(MediaState::Pending),
            reason: None,
            sniffed_mime_type: None,
            mime_mismatch: false,
            duration_secs: None,
            unique_id: None,
            part: None,
            inline: false,
            key: None,
            attempts: 0,
        }
    }
}
