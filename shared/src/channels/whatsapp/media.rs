//! Customers' media from the Graph API: `GET /{media-id}` names a short-lived URL
//! (about five minutes), its type, size and SHA-256; the download needs the access
//! token too. Each attempt asks for a fresh URL.

use super::WhatsAppClient;
use crate::conversation::{Attachment, Channel, Message};
use crate::media::{read_limited, request_failed, status_error};
use crate::ports::{Download, FetchError, MediaSource};
use async_trait::async_trait;
use serde::Deserialize;

#[derive(Deserialize)]
struct MediaUrl {
    url: String,
    mime_type: Option<String>,
    sha256: Option<String>,
    /// A number, or a number in a string.
    file_size: Option<serde_json::Value>,
}

#[async_trait]
impl MediaSource for WhatsAppClient {
    fn channel(&self) -> Channel {
        Channel::Whatsapp
    }

    async fn fetch(
        &self,
        message: &Message,
        attachment: &Attachment,
        max_bytes: u64,
    ) -> Result<Download, FetchError> {
        let id = attachment
            .file_id
            .as_deref()
            .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric()))
            .ok_or_else(|| FetchError::Gone("the message names no valid media id".into()))?;
        let resp = self
            .http()
            .get(format!("{}/{id}", self.api_base()))
            // Meta checks that the media belongs to this business number.
            .query(&[("phone_number_id", message.endpoint.business_id.as_str())])
            .bearer_auth(self.access_token())
            .send()
            .await
            .map_err(|e| request_failed("the WhatsApp API", &e))?;
        if !resp.status().is_success() {
            return Err(status_error("the WhatsApp API", resp.status().as_u16()));
        }
        let media: MediaUrl = resp.json().await.map_err(|_| {
            FetchError::Unavailable("the WhatsApp API's media answer was unreadable".into())
        })?;
        let size = media.file_size.as_ref().and_then(|v| match v {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) => s.parse().ok(),
            _ => None,
        });
        if size.is_some_and(|s| s > max_bytes) {
            return Err(FetchError::TooLarge { limit: max_bytes });
        }
        let resp = self
            .http()
            .get(&media.url)
            .bearer_auth(self.access_token())
            .send()
            .await
            .map_err(|e| request_failed("the WhatsApp media download", &e))?;
        if !resp.status().is_success() {
            // The URL expired between the two calls: the next attempt gets a new one.
            return Err(FetchError::Unavailable(format!(
                "the WhatsApp media download answered HTTP {}",
                resp.status().as_u16()
            )));
        }
        Ok(Download {
            bytes: read_limited(resp, max_bytes).await?,
            mime_type: media.mime_type,
            sha256: media.sha256,
        })
    }
}
