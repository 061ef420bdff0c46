//! WhatsApp Cloud API: webhook verification (`verify`), payloads into the model
//! (`inbound`), sending through the Graph API (`outbound`), and the channel's
//! settings and capabilities.

pub mod inbound;
pub mod media;
pub mod outbound;
mod outbound_media;
pub mod templates;
pub mod verify;

use super::Plugin;
use crate::conversation::Channel;
use crate::env::{self, ConfigError, Lookup};
use crate::ports::{
    AuthError, Capabilities, InboundBatch, PayloadError, WebhookChannel, WebhookRequest,
};
use chrono::{DateTime, Utc};
use std::sync::Arc;

pub use outbound::WhatsAppClient;

/// The Graph API base used when `WHATSAPP_API_BASE` is not set.
pub const DEFAULT_API_BASE: &str = "https://graph.facebook.com/v23.0";

pub const CAPABILITIES: Capabilities = Capabilities {
    max_text_chars: 4096,
    splits_long_text: false,
    // Free-form replies only within 24 hours of the customer's last message.
    reply_window: Some(chrono::Duration::hours(24)),
    templates: true,
    delivery_receipts: true,
    replies_quote: true,
    files_per_message: 1,
    max_caption_chars: 1024,
    resends_by_file_id: false,
};

/// The channel's plug-in (its line in `channels::Registry`).
pub struct WhatsApp;

/// The webhook side: the app secret (signatures) and the verify token (handshake).
pub struct WhatsAppWebhook {
    app_secret: String,
    verify_token: String,
}

impl WhatsAppWebhook {
    pub fn new(app_secret: &str, verify_token: &str) -> Self {
        WhatsAppWebhook {
            app_secret: app_secret.to_string(),
            verify_token: verify_token.to_string(),
        }
    }
}

impl Plugin for WhatsApp {
    const CHANNEL: Channel = Channel::Whatsapp;
    const CAPABILITIES: Capabilities = CAPABILITIES;
    const VARIABLES: &'static [&'static str] = &[
        "WHATSAPP_APP_SECRET",
        "WHATSAPP_VERIFY_TOKEN",
        "WHATSAPP_ACCESS_TOKEN",
    ];

    fn webhook(env: Lookup) -> Result<Option<Arc<dyn WebhookChannel>>, ConfigError> {
        if !env::any_set(env, &["WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN"]) {
            return Ok(None);
        }
        Ok(Some(Arc::new(WhatsAppWebhook::new(
            &env::required(env, "WHATSAPP_APP_SECRET")?,
            &env::required(env, "WHATSAPP_VERIFY_TOKEN")?,
        ))))
    }

    fn sender(
        env: Lookup,
        http: &reqwest::Client,
    ) -> Result<Option<Arc<dyn crate::ports::Outbound>>, ConfigError> {
        Ok(client(env, http)?.map(|c| Arc::new(c) as _))
    }

    /// The same client fetches media (the access token reads them).
    fn media(
        env: Lookup,
        http: &reqwest::Client,
        _objects: &Arc<dyn crate::ports::ObjectReader>,
    ) -> Result<Option<Arc<dyn crate::ports::MediaSource>>, ConfigError> {
        Ok(client(env, http)?.map(|c| Arc::new(c) as _))
    }
}

/// The Graph API client (sending and media), when the access token is set.
fn client(env: Lookup, http: &reqwest::Client) -> Result<Option<WhatsAppClient>, ConfigError> {
    if !env::any_set(env, &["WHATSAPP_ACCESS_TOKEN"]) {
        return Ok(None);
    }
    Ok(Some(WhatsAppClient::new(
        http.clone(),
        &env::base_url(env, "WHATSAPP_API_BASE", DEFAULT_API_BASE)?,
        &env::required(env, "WHATSAPP_ACCESS_TOKEN")?,
    )))
}

impl WebhookChannel for WhatsAppWebhook {
    fn channel(&self) -> Channel {
        Channel::Whatsapp
    }

    fn handshake(&self, req: &WebhookRequest) -> Option<Result<String, AuthError>> {
        let q = req.query;
        Some(
            verify::verify_handshake(
                q("hub.mode").as_deref(),
                q("hub.verify_token").as_deref(),
                q("hub.challenge").as_deref(),
                &self.verify_token,
            )
            .map(str::to_string)
            .ok_or_else(|| AuthError("verify token or mode does not match".into())),
        )
    }

    fn authenticate(&self, req: &WebhookRequest) -> Result<(), AuthError> {
        let header = req
            .headers
            .get("x-hub-signature-256")
            .and_then(|v| v.to_str().ok());
        verify::verify_signature(self.app_secret.as_bytes(), req.body, header)
            .map_err(|e| AuthError(e.to_string()))
    }

    fn parse(&self, body: &[u8], received_at: DateTime<Utc>) -> Result<InboundBatch, PayloadError> {
        inbound::parse_webhook(body, received_at)
    }
}
