//! Telegram Bot API: the webhook's secret token (`verify`), updates into the model
//! (`inbound`, and button presses answered in the webhook response), sendMessage
//! (`outbound`), and the channel's settings and capabilities.

pub mod inbound;
pub mod media;
pub mod outbound;
mod outbound_media;
pub mod verify;

use super::Plugin;
use crate::conversation::Channel;
use crate::env::{self, ConfigError, Lookup};
use crate::ports::{
    Acknowledgement, AuthError, Capabilities, InboundBatch, PayloadError, WebhookChannel,
    WebhookRequest,
};
use chrono::{DateTime, Utc};
use std::sync::Arc;

pub use outbound::TelegramClient;

/// The Bot API base used when `TELEGRAM_API_BASE` is not set.
pub const DEFAULT_API_BASE: &str = "https://api.telegram.org";

pub const CAPABILITIES: Capabilities = Capabilities {
    max_text_chars: 4096,
    splits_long_text: true,
    reply_window: None,
    templates: false,
    delivery_receipts: false,
    replies_quote: true,
    files_per_message: 1,
    max_caption_chars: 1024,
    resends_by_file_id: true,
};

/// The channel's plug-in (its line in `channels::Registry`).
pub struct Telegram;

/// The bot token, checked once: `<bot id>:<secret>`. It sits in every request URL,
/// so it never appears in `Debug`, errors or logs.
#[derive(Clone)]
pub struct BotToken {
    token: String,
    bot_id: String,
}

impl BotToken {
    pub fn parse(token: &str) -> Result<Self, String> {
        let token = token.trim();
        let (id, secret) = token
            .split_once(':')
            .ok_or("must look like <bot id>:<secret>, as BotFather gives it")?;
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) || secret.is_empty() {
            return Err("must look like <bot id>:<secret>, as BotFather gives it".into());
        }
        if !secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
        {
            return Err("the part after ':' may only use A-Z, a-z, 0-9, '_' and '-'".into());
        }
        Ok(BotToken {
            token: token.to_string(),
            bot_id: id.to_string(),
        })
    }

    /// The bot's user id: the business account of Telegram conversations.
    pub fn bot_id(&self) -> &str {
        &self.bot_id
    }

    pub(crate) fn secret(&self) -> &str {
        &self.token
    }
}

impl std::fmt::Debug for BotToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BotToken({}:<redacted>)", self.bot_id)
    }
}

/// The bot's id for the webhook side: `TELEGRAM_BOT_ID` (the template derives it
/// from the token, so the webhook function never holds the token), else the id part
/// of `TELEGRAM_BOT_TOKEN`.
fn bot_id(env: Lookup) -> Result<String, ConfigError> {
    match env::optional(env, "TELEGRAM_BOT_ID") {
        Some(id) if id.bytes().all(|b| b.is_ascii_digit()) => Ok(id),
        Some(_) => Err(ConfigError::new(
            "TELEGRAM_BOT_ID",
            "must be the bot's numeric id",
        )),
        None if env::any_set(env, &["TELEGRAM_BOT_TOKEN"]) => {
            Ok(bot_token(env)?.bot_id().to_string())
        }
        None => Err(ConfigError::new(
            "TELEGRAM_BOT_ID",
            "is not set (nor TELEGRAM_BOT_TOKEN, whose first part is the bot id)",
        )),
    }
}

fn bot_token(env: Lookup) -> Result<BotToken, ConfigError> {
    BotToken::parse(&env::required(env, "TELEGRAM_BOT_TOKEN")?)
        .map_err(|reason| ConfigError::new("TELEGRAM_BOT_TOKEN", reason))
}

/// The webhook side: the secret token Telegram sends back in a header, and the bot
/// (its id scopes the conversations and dedupe keys).
pub struct TelegramWebhook {
    secret_token: String,
    bot_id: String,
}

impl TelegramWebhook {
    pub fn new(secret_token: &str, bot_id: &str) -> Self {
        TelegramWebhook {
            secret_token: secret_token.to_string(),
            bot_id: bot_id.to_string(),
        }
    }
}

impl Plugin for Telegram {
    const CHANNEL: Channel = Channel::Telegram;
    const CAPABILITIES: Capabilities = CAPABILITIES;
    const VARIABLES: &'static [&'static str] = &["TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET"];

    fn webhook(env: Lookup) -> Result<Option<Arc<dyn WebhookChannel>>, ConfigError> {
        if !env::any_set(env, &["TELEGRAM_WEBHOOK_SECRET"]) {
            return Ok(None);
        }
        let secret = env::required(env, "TELEGRAM_WEBHOOK_SECRET")?;
        verify::check_secret_token(&secret)
            .map_err(|reason| ConfigError::new("TELEGRAM_WEBHOOK_SECRET", reason))?;
        Ok(Some(Arc::new(TelegramWebhook::new(&secret, &bot_id(env)?))))
    }

    fn sender(
        env: Lookup,
        http: &reqwest::Client,
    ) -> Result<Option<Arc<dyn crate::ports::Outbound>>, ConfigError> {
        Ok(client(env, http)?.map(|c| Arc::new(c) as _))
    }

    /// The same client fetches files (getFile and the download need the token).
    fn media(
        env: Lookup,
        http: &reqwest::Client,
        _objects: &Arc<dyn crate::ports::ObjectReader>,
    ) -> Result<Option<Arc<dyn crate::ports::MediaSource>>, ConfigError> {
        Ok(client(env, http)?.map(|c| Arc::new(c) as _))
    }
}

/// The Bot API client (sending and files), when the bot token is set.
fn client(env: Lookup, http: &reqwest::Client) -> Result<Option<TelegramClient>, ConfigError> {
    if !env::any_set(env, &["TELEGRAM_BOT_TOKEN"]) {
        return Ok(None);
    }
    Ok(Some(TelegramClient::new(
        http.clone(),
        &env::base_url(env, "TELEGRAM_API_BASE", DEFAULT_API_BASE)?,
        bot_token(env)?,
    )))
}

impl WebhookChannel for TelegramWebhook {
    fn channel(&self) -> Channel {
        Channel::Telegram
    }

    fn authenticate(&self, req: &WebhookRequest) -> Result<(), AuthError> {
        let header = req
            .headers
            .get("x-telegram-bot-api-secret-token")
            .and_then(|v| v.to_str().ok());
        verify::verify_secret_token(header, &self.secret_token)
    }

    fn parse(&self, body: &[u8], received_at: DateTime<Utc>) -> Result<InboundBatch, PayloadError> {
        inbound::parse_update(body, &self.bot_id, received_at)
    }

    /// A button press is answered in the webhook's response: Telegram runs the
    /// method it names, so the webhook function makes no call of its own. One update
    /// per request, so at most one.
    fn response(&self, acknowledgements: &[Acknowledgement]) -> Option<serde_json::Value> {
        let ack = acknowledgements.first()?;
        Some(serde_json::json!({
            "method": "answerCallbackQuery",
            "callback_query_id": ack.id,
        }))
    }
}
