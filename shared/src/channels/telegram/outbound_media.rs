//! Files through the Bot API: `sendPhoto`, `sendVideo`, `sendVoice`, `sendAudio`,
//! `sendAnimation` or `sendDocument` by type, the file uploaded as multipart, the
//! caption with it. The Bot API's limits are checked before anything is sent.

use super::TelegramClient;
use super::inbound::provider_id;
use super::outbound::{Answer, classify};
use crate::media::essence;
use crate::ports::{Outgoing, OutgoingFile, SendError, SentMessage};
use serde_json::json;

const MB: u64 = 1024 * 1024;

/// The method, its file field, and the largest file it takes by upload.
fn method_for(mime: &str) -> (&'static str, &'static str, u64) {
    match essence(mime).as_str() {
        "image/jpeg" | "image/png" | "image/webp" => ("sendPhoto", "photo", 10 * MB),
        "image/gif" => ("sendAnimation", "animation", 50 * MB),
        "video/mp4" => ("sendVideo", "video", 50 * MB),
        // Voice notes are OGG with OPUS.
        "audio/ogg" => ("sendVoice", "voice", 50 * MB),
        "audio/mpeg" | "audio/mp4" => ("sendAudio", "audio", 50 * MB),
        _ => ("sendDocument", "document", 50 * MB),
    }
}

/// The Bot API's limits: each file's size for the method its type goes by.
pub fn check(message: &Outgoing) -> Result<(), SendError> {
    for file in &message.files {
        let (method, _, max) = method_for(file.mime_type());
        if file.size() > max {
            return Err(SendError::Limit(format!(
                "Telegram's {method} takes files up to {} MB; {} is {:.1} MB",
                max / MB,
                file.filename(),
                file.size() as f64 / MB as f64
            )));
        }
    }
    Ok(())
}

impl TelegramClient {
    /// Sends `file` to `chat_id` with `caption`, as a reply to `reply_to`: by the
    /// file_id Telegram gave it before when there is one (no upload), else uploaded.
    pub async fn send_file(
        &self,
        chat_id: i64,
        file: &OutgoingFile,
        caption: &str,
        reply_to: Option<i64>,
    ) -> Result<SentMessage, SendError> {
        if let Some(file_id) = &file.attachment.file_id {
            match self
                .send_by_id(chat_id, file, file_id, caption, reply_to)
                .await
            {
                // Telegram no longer knows that id: upload it after all.
                Err(SendError::Rejected(e)) if e.title.to_ascii_lowercase().contains("file") => {
                    tracing::info!(channel = "telegram", "file id refused; uploading the file");
                }
                other => return other,
            }
        }
        self.upload_file(chat_id, file, caption, reply_to).await
    }

    async fn send_by_id(
        &self,
        chat_id: i64,
        file: &OutgoingFile,
        file_id: &str,
        caption: &str,
        reply_to: Option<i64>,
    ) -> Result<SentMessage, SendError> {
        let (method, field, _) = method_for(file.mime_type());
        let mut body = json!({ "chat_id": chat_id });
        body[field] = json!(file_id);
        if !caption.is_empty() {
            body["caption"] = json!(caption);
        }
        if let Some(id) = reply_to {
            body["reply_parameters"] =
                json!({ "message_id": id, "allow_sending_without_reply": true });
        }
        let answer = self.call(method, &body).await?;
        sent(chat_id, field, answer)
    }

    async fn upload_file(
        &self,
        chat_id: i64,
        file: &OutgoingFile,
        caption: &str,
        reply_to: Option<i64>,
    ) -> Result<SentMessage, SendError> {
        let (method, field, _) = method_for(file.mime_type());
        let part = reqwest::multipart::Part::bytes(file.bytes.as_ref().clone())
            .file_name(file.filename().to_string())
            .mime_str(file.mime_type())
            .map_err(|_| SendError::Limit(format!("{} is not a valid type", file.mime_type())))?;
        let mut form = reqwest::multipart::Form::new()
            .text("chat_id", chat_id.to_string())
            .part(field, part);
        if !caption.is_empty() {
            form = form.text("caption", caption.to_string());
        }
        if let Some(id) = reply_to {
            form = form.text(
                "reply_parameters",
                json!({ "message_id": id, "allow_sending_without_reply": true }).to_string(),
            );
        }
        let answer = self.post(method, |r| r.multipart(form)).await?;
        sent(chat_id, field, answer)
    }
}

/// What a send method answered: the message's id and the file's id, or the error.
fn sent(chat_id: i64, field: &str, answer: Answer) -> Result<SentMessage, SendError> {
    match answer {
        Answer::Ok(result) => {
            let id = result["message_id"].as_i64().ok_or_else(|| {
                SendError::Unconfirmed("Telegram answered ok without a message_id".into())
            })?;
            let mut sent = SentMessage::new(provider_id(chat_id, id));
            // A photo comes back in sizes, largest last.
            let file = match &result[field] {
                serde_json::Value::Array(sizes) => sizes.last().cloned().unwrap_or_default(),
                other => other.clone(),
            };
            sent.file_id = file["file_id"].as_str().map(str::to_string);
            Ok(sent)
        }
        Answer::Failed { status, body } => {
            let retry_after = body
                .as_ref()
                .and_then(|a| a.parameters.as_ref())
                .and_then(|p| p.retry_after);
            Err(classify(status, retry_after, body.as_ref()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::{Attachment, Channel, Endpoint, MediaKind};
    use std::sync::Arc;

    fn outgoing(files: Vec<(&str, usize)>) -> Outgoing {
        let endpoint = Endpoint {
            channel: Channel::Telegram,
            business_id: "1".into(),
            customer_id: "2".into(),
        };
        Outgoing {
            conversation: endpoint.conversation_id(),
            covers: None,
            endpoint,
            author: crate::conversation::Author::Agent("a".into()),
            text: String::new(),
            template: None,
            promise: None,
            reply: None,
            files: files
                .into_iter()
                .map(|(mime, len)| OutgoingFile {
                    attachment: Attachment {
                        mime_type: Some(mime.into()),
                        filename: Some("f".into()),
                        ..Attachment::pending(MediaKind::Document, None)
                    },
                    bytes: Arc::new(vec![0; len]),
                })
                .collect(),
        }
    }

    #[test]
    fn each_method_has_its_own_size_limit() {
        assert!(check(&outgoing(vec![("image/png", 10 * 1024 * 1024)])).is_ok());
        let err = check(&outgoing(vec![("image/png", 10 * 1024 * 1024 + 1)])).unwrap_err();
        assert!(
            err.to_string()
                .contains("sendPhoto takes files up to 10 MB"),
            "{err}"
        );
        assert!(check(&outgoing(vec![("application/pdf", 50 * 1024 * 1024)])).is_ok());
        assert!(check(&outgoing(vec![("application/pdf", 50 * 1024 * 1024 + 1)])).is_err());
        assert_eq!(method_for("audio/ogg; codecs=opus").0, "sendVoice");
        assert_eq!(method_for("audio/mpeg").0, "sendAudio");
        assert_eq!(method_for("image/gif").0, "sendAnimation");
        assert_eq!(method_for("image/svg+xml").0, "sendDocument");
    }
}
