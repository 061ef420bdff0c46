//! Customers' files from the Bot API: `getFile` names the file's path (its link
//! works for an hour at least), then the download from `/file/bot<token>/<path>`.
//! Bots may download files up to 20 MB. The token is in both URLs: no URL and no
//! reqwest error text reaches an error or a log.

use super::TelegramClient;
use crate::conversation::{Attachment, Channel, Message};
use crate::media::{read_limited, request_failed, status_error};
use crate::ports::{Download, FetchError, MediaSource};
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;

/// The largest file the Bot API lets a bot download.
pub const MAX_BOT_DOWNLOAD: u64 = 20 * 1024 * 1024;

#[derive(Deserialize)]
struct GetFile {
    ok: bool,
    result: Option<File>,
    description: Option<String>,
}

#[derive(Deserialize)]
struct File {
    file_path: Option<String>,
    file_size: Option<u64>,
}

#[async_trait]
impl MediaSource for TelegramClient {
    fn channel(&self) -> Channel {
        Channel::Telegram
    }

    async fn fetch(
        &self,
        _message: &Message,
        attachment: &Attachment,
        max_bytes: u64,
    ) -> Result<Download, FetchError> {
        let limit = max_bytes.min(MAX_BOT_DOWNLOAD);
        if attachment.size.is_some_and(|s| s > limit) {
            return Err(FetchError::TooLarge { limit });
        }
        let file_id = attachment
            .file_id
            .as_deref()
            .ok_or_else(|| FetchError::Gone("the message names no file_id".into()))?;
        let resp = self
            .http
            .post(format!(
                "{}/bot{}/getFile",
                self.api_base,
                self.token.secret()
            ))
            .json(&json!({ "file_id": file_id }))
            .send()
            .await
            .map_err(|e| request_failed("the Telegram API (getFile)", &e))?;
        let status = resp.status().as_u16();
        let answer = resp.json::<GetFile>().await.ok();
        let file = match answer {
            Some(GetFile {
                ok: true,
                result: Some(file),
                ..
            }) => file,
            Some(GetFile {
                description: Some(d),
                ..
            }) if d.to_ascii_lowercase().contains("too big") => {
                return Err(FetchError::TooLarge { limit });
            }
            _ => return Err(status_error("the Telegram API (getFile)", status)),
        };
        if file.file_size.is_some_and(|s| s > limit) {
            return Err(FetchError::TooLarge { limit });
        }
        let path = file
            .file_path
            .filter(|p| !p.is_empty() && !p.contains(".."))
            .ok_or_else(|| FetchError::Gone("Telegram gave no path for the file".into()))?;
        let resp = self
            .http
            .get(format!(
                "{}/file/bot{}/{path}",
                self.api_base,
                self.token.secret()
            ))
            .send()
            .await
            .map_err(|e| request_failed("the Telegram file download", &e))?;
        if !resp.status().is_success() {
            return Err(status_error(
                "the Telegram file download",
                resp.status().as_u16(),
            ));
        }
        Ok(Download {
            bytes: read_limited(resp, limit).await?,
            mime_type: None,
            sha256: None,
        })
    }
}
