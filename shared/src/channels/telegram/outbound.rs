//! Sending through the Bot API: `POST {base}/bot{token}/sendMessage` (JSON). The token is in the URL path, so no URL and no reqwest
//! error text (which quotes the URL) ever reaches an error or a log line.

use super::BotToken;
use super::inbound::{message_id_in_chat, provider_id};
use crate::conversation::ProviderError;
use crate::ports::{Outgoing, SendError, SentMessage};
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

/// The longest flood-control wait honoured inside one send; a longer `retry_after`
/// is handed to the caller (429 with Retry-After, or a retried stream record).
pub const MAX_RETRY_WAIT_SECS: u64 = 5;

#[derive(Clone)]
pub struct TelegramClient {
    pub(super) http: reqwest::Client,
    pub(super) api_base: String,
    pub(super) token: BotToken,
}

#[derive(Deserialize)]
pub(super) struct ApiResponse {
    pub(super) ok: bool,
    pub(super) result: Option<Value>,
    pub(super) error_code: Option<i64>,
    pub(super) description: Option<String>,
    pub(super) parameters: Option<ResponseParameters>,
}

#[derive(Deserialize)]
pub(super) struct ResponseParameters {
    pub(super) retry_after: Option<u64>,
    pub(super) migrate_to_chat_id: Option<i64>,
}

/// What one Bot API call came back with.
pub(super) enum Answer {
    Ok(Value),
    Failed {
        status: u16,
        body: Option<ApiResponse>,
    },
}

impl TelegramClient {
    pub fn new(http: reqwest::Client, api_base: &str, token: BotToken) -> Self {
        TelegramClient {
            http,
            api_base: api_base.trim_end_matches('/').to_string(),
            token,
        }
    }

    pub(super) async fn call(&self, method: &str, body: &Value) -> Result<Answer, SendError> {
        self.post(method, |r| r.json(body)).await
    }

    /// POSTs to Bot API method `method` with the body `with` adds (JSON or
    /// multipart). The token is in the URL: no reqwest error text reaches an error.
    pub(super) async fn post(
        &self,
        method: &str,
        with: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<Answer, SendError> {
        let url = format!("{}/bot{}/{method}", self.api_base, self.token.secret());
        let resp = with(self.http.post(url)).send().await.map_err(|e| {
            if e.is_connect() {
                SendError::Unavailable(format!("Telegram API unreachable ({method})"))
            } else if e.is_timeout() {
                SendError::Unconfirmed(format!("Telegram API timed out ({method})"))
            } else {
                SendError::Unconfirmed(format!("Telegram API request failed ({method})"))
            }
        })?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.map_err(|_| {
            SendError::Unconfirmed(format!("Telegram API response cut off ({method})"))
        })?;
        let body = serde_json::from_slice::<ApiResponse>(&bytes).ok();
        match body {
            Some(b) if b.ok && (200..300).contains(&status) => {
                Ok(Answer::Ok(b.result.unwrap_or(Value::Null)))
            }
            body => Ok(Answer::Failed { status, body }),
        }
    }

    /// Sends `text` to `chat_id`, following flood control (bounded) and a group's
    /// move to a supergroup.
    pub async fn send_message(
        &self,
        chat_id: i64,
        text: &str,
        reply_to: Option<i64>,
    ) -> Result<SentMessage, SendError> {
        let mut chat_id = chat_id;
        let mut waited = 0;
        let mut migrated = false;
        loop {
            let mut body = json!({ "chat_id": chat_id, "text": text });
            if let Some(id) = reply_to.filter(|_| !migrated) {
                body["reply_parameters"] =
                    json!({ "message_id": id, "allow_sending_without_reply": true });
            }
            let (status, api) = match self.call("sendMessage", &body).await? {
                Answer::Ok(result) => {
                    let id = result["message_id"].as_i64().ok_or_else(|| {
                        SendError::Unconfirmed("Telegram answered ok without a message_id".into())
                    })?;
                    return Ok(SentMessage::new(provider_id(chat_id, id)));
                }
                Answer::Failed { status, body } => (status, body),
            };
            let params = api.as_ref().and_then(|a| a.parameters.as_ref());
            if let Some(new_chat) = params.and_then(|p| p.migrate_to_chat_id)
                && !migrated
            {
                tracing::info!(
                    channel = "telegram",
                    "group moved to a supergroup; sending there"
                );
                chat_id = new_chat;
                migrated = true;
                continue;
            }
            let retry_after = params.and_then(|p| p.retry_after);
            let error = classify(status, retry_after, api.as_ref());
            if let SendError::RateLimited {
                retry_after: Some(secs),
                ..
            } = &error
                && waited + secs <= MAX_RETRY_WAIT_SECS
            {
                tracing::info!(
                    channel = "telegram",
                    retry_after = secs,
                    "flood control; waiting"
                );
                tokio::time::sleep(Duration::from_secs(*secs)).await;
                waited += secs;
                continue;
            }
            return Err(error);
        }
    }
}

/// Sorts a failed Bot API call: the HTTP status (= `error_code`) first, then the
/// description for the 403s that mean the customer is gone.
pub(super) fn classify(
    status: u16,
    retry_after: Option<u64>,
    api: Option<&ApiResponse>,
) -> SendError {
    let error = ProviderError {
        code: api
            .and_then(|a| a.error_code)
            .map(|c| c.to_string())
            .or(Some(status.to_string())),
        title: api
            .and_then(|a| a.description.clone())
            .unwrap_or_else(|| format!("HTTP {status}")),
        detail: None,
    };
    match status {
        429 => SendError::RateLimited { retry_after, error },
        // Blocked by the user, user deactivated, bot kicked from the group.
        403 => SendError::Unreachable(error),
        // A wrong token answers 401 Unauthorized or 404 Not Found.
        401 | 404 => SendError::Unauthorized(error),
        // The Bot API itself answered with an error: nothing was sent.
        500.. if api.is_some() => {
            SendError::Unavailable(format!("Telegram API {status}: {}", error.title))
        }
        // A bare 5xx from in front of the API: the message may be out.
        500.. => SendError::Unconfirmed(format!(
            "Telegram API answered {status} without a Bot API error"
        )),
        _ => SendError::Rejected(error),
    }
}

#[async_trait]
impl crate::ports::Outbound for TelegramClient {
    fn enabled(&self, channel: crate::conversation::Channel) -> bool {
        channel == crate::conversation::Channel::Telegram
    }

    fn check(&self, message: &Outgoing) -> Result<(), SendError> {
        super::outbound_media::check(message)
    }

    async fn send(&self, message: &Outgoing) -> Result<SentMessage, SendError> {
        let chat_id: i64 = message.endpoint.customer_id.parse().map_err(|_| {
            SendError::Rejected(ProviderError {
                code: None,
                title: "the conversation's chat id is not a Telegram chat id".into(),
                detail: None,
            })
        })?;
        let reply_to = message
            .reply
            .as_ref()
            .and_then(|r| r.provider_message_id.as_deref())
            .and_then(message_id_in_chat);
        if let Some(file) = message.files.first() {
            return self.send_file(chat_id, file, &message.text, reply_to).await;
        }
        self.send_message(chat_id, &message.text, reply_to).await
    }
}

impl std::fmt::Debug for TelegramClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelegramClient")
            .field("api_base", &self.api_base)
            .field("token", &self.token)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: i64, description: &str) -> ApiResponse {
        ApiResponse {
            ok: false,
            result: None,
            error_code: Some(code),
            description: Some(description.into()),
            parameters: None,
        }
    }

    #[test]
    fn bot_api_errors_are_sorted() {
        assert!(matches!(
            classify(
                429,
                Some(35),
                Some(&api(429, "Too Many Requests: retry after 35"))
            ),
            SendError::RateLimited {
                retry_after: Some(35),
                ..
            }
        ));
        assert!(matches!(
            classify(
                403,
                None,
                Some(&api(403, "Forbidden: bot was blocked by the user"))
            ),
            SendError::Unreachable(_)
        ));
        assert!(matches!(
            classify(400, None, Some(&api(400, "Bad Request: chat not found"))),
            SendError::Rejected(_)
        ));
        assert!(matches!(
            classify(401, None, Some(&api(401, "Unauthorized"))),
            SendError::Unauthorized(_)
        ));
        assert!(matches!(
            classify(502, None, None),
            SendError::Unconfirmed(_)
        ));
        assert!(matches!(
            classify(500, None, Some(&api(500, "Internal Server Error"))),
            SendError::Unavailable(_)
        ));
    }

    #[tokio::test]
    async fn the_token_never_shows_in_errors() {
        let token = BotToken::parse("123:SECRETtoken_x").unwrap();
        // Nothing listens on port 9.
        let client = TelegramClient::new(reqwest::Client::new(), "http://127.0.0.1:9", token);
        let err = client.send_message(1, "hi", None).await.unwrap_err();
        assert!(!format!("{err} {err:?}").contains("SECRET"), "{err:?}");
        assert!(!format!("{client:?}").contains("SECRET"));
    }
}
