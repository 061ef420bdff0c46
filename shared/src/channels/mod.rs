//! Channels: one module per channel (format, verification, sending) and the outbound
//! port through which functions send on the customer's channel.

pub mod whatsapp;

use crate::conversation::{Channel, Endpoint, ProviderError};
use async_trait::async_trait;
use thiserror::Error;

/// What a channel returned for an accepted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    pub provider_message_id: String,
}

/// Why a send failed, sorted by what the caller should do about it.
#[derive(Debug, Clone, Error, PartialEq)]
pub enum SendError {
    /// The channel refused this message (bad recipient, outside the reply window...).
    /// Retrying the same request will not help.
    #[error("rejected by the channel: {}", .0.title)]
    Rejected(ProviderError),
    /// Our credentials were refused: a configuration problem.
    #[error("the channel refused our credentials: {}", .0.title)]
    Unauthorized(ProviderError),
    /// Too many messages; try again later.
    #[error("rate limited by the channel: {}", .error.title)]
    RateLimited {
        retry_after: Option<u64>,
        error: ProviderError,
    },
    /// The channel could not be reached or failed on its side, and did not take the
    /// message; retrying may help.
    #[error("channel unavailable: {0}")]
    Unavailable(String),
    /// The request went out but no usable answer came back (timeout, cut-off or
    /// unreadable response): the message may have been delivered. Retrying risks a
    /// duplicate.
    #[error("send outcome unknown: {0}")]
    Unconfirmed(String),
}

impl SendError {
    /// Whether the same send may succeed later.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            SendError::RateLimited { .. } | SendError::Unavailable(_)
        )
    }

    /// The channel's own error, where it gave one.
    pub fn provider_error(&self) -> ProviderError {
        match self {
            SendError::Rejected(e)
            | SendError::Unauthorized(e)
            | SendError::RateLimited { error: e, .. } => e.clone(),
            SendError::Unavailable(m) | SendError::Unconfirmed(m) => ProviderError {
                code: None,
                title: m.clone(),
                detail: None,
            },
        }
    }
}

/// The outbound port: sends text to a customer on their channel.
#[async_trait]
pub trait Outbound: Send + Sync {
    async fn send_text(&self, to: &Endpoint, text: &str) -> Result<SentMessage, SendError>;
}

/// Longest text a channel accepts in one message.
pub fn max_text_chars(channel: Channel) -> usize {
    match channel {
        Channel::Whatsapp => whatsapp::MAX_TEXT_CHARS,
    }
}

/// The production outbound adapter: routes each send to its channel's client.
#[derive(Clone)]
pub struct Channels {
    pub whatsapp: whatsapp::WhatsAppClient,
}

impl Channels {
    /// Builds the clients once (at cold start) from validated config.
    pub fn new(config: &crate::config::OutboundConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .connect_timeout(std::time::Duration::from_secs(3))
            .build()
            .expect("TLS backend initialises");
        Channels {
            whatsapp: whatsapp::WhatsAppClient::new(
                http,
                &config.whatsapp_api_base,
                &config.whatsapp_access_token,
            ),
        }
    }
}

#[async_trait]
impl Outbound for Channels {
    async fn send_text(&self, to: &Endpoint, text: &str) -> Result<SentMessage, SendError> {
        match to.channel {
            Channel::Whatsapp => {
                self.whatsapp
                    .send_text(&to.business_id, &to.customer_id, text)
                    .await
            }
        }
    }
}
