//! Files through the Graph API: the file is uploaded (`POST /{phone_number_id}/media`,
//! multipart), then sent as an image, video, audio or document message naming the
//! upload's id, with the caption. WhatsApp's limits by type are checked first.

use super::WhatsAppClient;
use super::outbound::classify_graph;
use crate::media::essence;
use crate::ports::{Outgoing, OutgoingFile, SendError, SentMessage};
use serde_json::json;

const MB: u64 = 1024 * 1024;

/// The message type a file goes as, its largest size, and whether it takes a caption.
fn kind_for(mime: &str) -> (&'static str, u64, bool) {
    match essence(mime).as_str() {
        "image/jpeg" | "image/png" => ("image", 5 * MB, true),
        "video/mp4" | "video/3gpp" => ("video", 16 * MB, true),
        "audio/aac" | "audio/amr" | "audio/mpeg" | "audio/mp4" | "audio/ogg" => {
            ("audio", 16 * MB, false)
        }
        _ => ("document", 100 * MB, true),
    }
}

/// WhatsApp's limits: each file's size for its type, and no caption on audio.
pub fn check(message: &Outgoing) -> Result<(), SendError> {
    for (i, file) in message.files.iter().enumerate() {
        let (kind, max, captioned) = kind_for(file.mime_type());
        if file.size() > max {
            return Err(SendError::Limit(format!(
                "WhatsApp takes {kind} files up to {} MB; {} is {:.1} MB",
                max / MB,
                file.filename(),
                file.size() as f64 / MB as f64
            )));
        }
        if i == 0 && !captioned && !message.text.trim().is_empty() {
            return Err(SendError::Limit(format!(
                "WhatsApp sends {kind} without a caption; send the text as its own reply"
            )));
        }
    }
    Ok(())
}

impl WhatsAppClient {
    /// Uploads `file` for `phone_number_id`; the media id.
    async fn upload(
        &self,
        phone_number_id: &str,
        file: &OutgoingFile,
    ) -> Result<String, SendError> {
        let part = reqwest::multipart::Part::bytes(file.bytes.as_ref().clone())
            .file_name(file.filename().to_string())
            .mime_str(file.mime_type())
            .map_err(|_| SendError::Limit(format!("{} is not a valid type", file.mime_type())))?;
        let form = reqwest::multipart::Form::new()
            .text("messaging_product", "whatsapp")
            .text("type", file.mime_type().to_string())
            .part("file", part);
        let resp = self
            .http()
            .post(format!("{}/{phone_number_id}/media", self.api_base()))
            .bearer_auth(self.access_token())
            .multipart(form)
            .send()
            .await
            .map_err(|_| SendError::Unavailable("WhatsApp media upload failed".into()))?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok()?.parse().ok());
        let body = resp
            .bytes()
            .await
            .map_err(|_| SendError::Unavailable("WhatsApp media upload answer cut off".into()))?;
        if (200..300).contains(&status)
            && let Some(id) = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["id"].as_str().map(str::to_string))
        {
            return Ok(id);
        }
        // Nothing reached the customer: an upload of unknown outcome is retried
        // like one that failed.
        match classify_graph(status, retry_after, &body) {
            SendError::Unconfirmed(why) => Err(SendError::Unavailable(why)),
            other => Err(other),
        }
    }

    /// Sends `file` to `to` with `caption`.
    pub async fn send_file(
        &self,
        phone_number_id: &str,
        to: &str,
        file: &OutgoingFile,
        caption: &str,
    ) -> Result<SentMessage, SendError> {
        let id = self.upload(phone_number_id, file).await?;
        let (kind, _, captioned) = kind_for(file.mime_type());
        let mut media = json!({ "id": id });
        if captioned && !caption.is_empty() {
            media["caption"] = json!(caption);
        }
        if kind == "document" {
            media["filename"] = json!(file.filename());
        }
        let mut content = json!({ "type": kind });
        content[kind] = media;
        self.send_message(phone_number_id, to, content).await
    }
}
