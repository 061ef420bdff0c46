//! The website chat: visitors write from the widget (`functions/widget`), agents
//! answer in the desk or the agent API like on any channel. `visitor` (signed tokens
//! and `user_hash`), `inbound` (a widget post into the model), `outbound` (a reply is
//! delivered by being stored: the widget reads the thread), `continuity` (replies the
//! widget did not fetch go out by mail), `bots` (crawlers are turned away),
//! `settings` (the widget's configuration).
//!
//! The channel is on when `WIDGET_ORIGINS` (the sites allowed to embed the widget)
//! is set: the sending functions then deliver to web conversations.

pub mod bots;
pub mod continuity;
pub mod inbound;
pub mod outbound;
pub mod settings;
pub mod visitor;

use super::Plugin;
use crate::conversation::Channel;
use crate::env::{self, ConfigError, Lookup};
use crate::ports::{Capabilities, Outbound, WebhookChannel};
use std::sync::Arc;

pub use outbound::WebOutbox;
pub use settings::{WhenClosed, WidgetSettings};

/// The business account of web conversations (one website chat per deployment).
pub const SITE: &str = "website";

pub const CAPABILITIES: Capabilities = Capabilities {
    max_text_chars: 10_000,
    splits_long_text: false,
    reply_window: None,
    templates: false,
    delivery_receipts: false,
    replies_quote: false,
    // The widget shows no files yet (WebOutbox::check refuses them).
    files_per_message: 1,
    max_caption_chars: 10_000,
    resends_by_file_id: false,
};

/// The channel's plug-in (its line in `channels::Registry`).
pub struct Web;

impl Plugin for Web {
    const CHANNEL: Channel = Channel::Web;
    const CAPABILITIES: Capabilities = CAPABILITIES;
    const VARIABLES: &'static [&'static str] = &["WIDGET_ORIGINS"];

    /// Visitors post to the widget's own routes, not a webhook.
    fn webhook(_env: Lookup) -> Result<Option<Arc<dyn WebhookChannel>>, ConfigError> {
        Ok(None)
    }

    fn sender(
        env: Lookup,
        _http: &reqwest::Client,
    ) -> Result<Option<Arc<dyn Outbound>>, ConfigError> {
        if !env::any_set(env, Self::VARIABLES) {
            return Ok(None);
        }
        settings::origins(env)?;
        Ok(Some(Arc::new(WebOutbox)))
    }
}
