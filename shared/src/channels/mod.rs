//! Channels as plug-ins. Each channel is one folder (`verify`, `inbound`, `outbound`
//! and, in `mod.rs`, its settings and its [`Plugin`] impl) and one element of
//! [`Registry`]; routes, sending and capabilities are looked up here.
//!
//! The registry is a type (a tuple of plug-ins), not a table of function pointers,
//! so each function's binary links only the side it uses: the webhook function no
//! channel's sender, the sending functions no channel's webhook parser.

pub mod email;
pub mod telegram;
pub mod web;
pub mod whatsapp;

use crate::conversation::Channel;
use crate::env::{ConfigError, Lookup};
use crate::ports::{
    Capabilities, MediaSource, ObjectReader, Outbound, Outgoing, SendError, SentMessage,
    WebhookChannel,
};
use async_trait::async_trait;
use std::sync::Arc;

/// Every channel asyncdesk speaks. A new channel is one more element.
pub type Registry = (
    whatsapp::WhatsApp,
    telegram::Telegram,
    email::Email,
    web::Web,
);

/// A channel and its sender: the channel's own [`Outbound`] (there is one sending
/// trait; a channel's sender is enabled for its channel only).
pub type ChannelSender = (Channel, Arc<dyn Outbound>);

/// A channel plug-in: what it can do, and how to build its two sides from the
/// environment. A builder returns `None` when none of the channel's variables for
/// that side are set (the channel is not enabled there).
pub trait Plugin {
    const CHANNEL: Channel;
    const CAPABILITIES: Capabilities;
    /// The variables that enable the channel, for error messages.
    const VARIABLES: &'static [&'static str];

    fn webhook(env: Lookup) -> Result<Option<Arc<dyn WebhookChannel>>, ConfigError>;

    fn sender(
        env: Lookup,
        http: &reqwest::Client,
    ) -> Result<Option<Arc<dyn Outbound>>, ConfigError>;

    /// Where the channel serves its customers' files (`None`: it has none, or it
    /// is not enabled). `objects` reads the bucket SES stores mail in.
    fn media(
        _env: Lookup,
        _http: &reqwest::Client,
        _objects: &Arc<dyn ObjectReader>,
    ) -> Result<Option<Arc<dyn MediaSource>>, ConfigError> {
        Ok(None)
    }
}

/// What the registry answers, for any tuple of plug-ins.
pub trait PluginSet {
    fn capabilities(channel: Channel) -> Option<Capabilities>;
    fn variables() -> Vec<(Channel, &'static [&'static str])>;
    fn webhooks(env: Lookup) -> Result<Vec<Arc<dyn WebhookChannel>>, ConfigError>;
    fn senders(env: Lookup, http: &reqwest::Client) -> Result<Vec<ChannelSender>, ConfigError>;
    fn media(
        env: Lookup,
        http: &reqwest::Client,
        objects: &Arc<dyn ObjectReader>,
    ) -> Result<Vec<Arc<dyn MediaSource>>, ConfigError>;
}

macro_rules! plugin_set {
    ($($p:ident),+) => {
        impl<$($p: Plugin),+> PluginSet for ($($p,)+) {
            fn capabilities(channel: Channel) -> Option<Capabilities> {
                [$(($p::CHANNEL, $p::CAPABILITIES)),+]
                    .into_iter()
                    .find(|(c, _)| *c == channel)
                    .map(|(_, caps)| caps)
            }

            fn variables() -> Vec<(Channel, &'static [&'static str])> {
                vec![$(($p::CHANNEL, $p::VARIABLES)),+]
            }

            fn webhooks(env: Lookup) -> Result<Vec<Arc<dyn WebhookChannel>>, ConfigError> {
                let mut all = Vec::new();
                $(all.extend($p::webhook(env)?);)+
                Ok(all)
            }

            fn senders(
                env: Lookup,
                http: &reqwest::Client,
            ) -> Result<Vec<ChannelSender>, ConfigError> {
                let mut all = Vec::new();
                $(all.extend($p::sender(env, http)?.map(|s| ($p::CHANNEL, s)));)+
                Ok(all)
            }

            fn media(
                env: Lookup,
                http: &reqwest::Client,
                objects: &Arc<dyn ObjectReader>,
            ) -> Result<Vec<Arc<dyn MediaSource>>, ConfigError> {
                let mut all = Vec::new();
                $(all.extend($p::media(env, http, objects)?);)+
                Ok(all)
            }
        }
    };
}

plugin_set!(A);
plugin_set!(A, B);
plugin_set!(A, B, C);
plugin_set!(A, B, C, D);

/// What `channel` can do.
pub fn capabilities(channel: Channel) -> Capabilities {
    Registry::capabilities(channel).expect("every channel is registered")
}

/// The one HTTP client of a sending function, built once at cold start.
fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .connect_timeout(std::time::Duration::from_secs(3))
        .build()
        .expect("TLS backend initialises")
}

fn no_channel(side: &str) -> ConfigError {
    let vars: Vec<String> = Registry::variables()
        .into_iter()
        .map(|(c, vars)| format!("{c} ({})", vars.join(", ")))
        .collect();
    ConfigError::new(
        "channels",
        format!(
            "no channel is configured for {side}; set the variables of at least one: {}",
            vars.join("; ")
        ),
    )
}

/// The production outbound adapter: routes each send to its channel's sender.
#[derive(Clone, Default)]
pub struct Channels {
    senders: Vec<ChannelSender>,
}

impl Channels {
    /// Builds the senders of every enabled channel (at cold start). At least one
    /// channel must be enabled.
    pub fn load(env: Lookup) -> Result<Self, ConfigError> {
        let senders = Registry::senders(env, &http_client())?;
        if senders.is_empty() {
            return Err(no_channel("sending"));
        }
        Ok(Channels { senders })
    }

    /// Adds or replaces the sender of `channel` (tests, the local stack).
    pub fn with(mut self, channel: Channel, sender: Arc<dyn Outbound>) -> Self {
        self.senders.retain(|(c, _)| *c != channel);
        self.senders.push((channel, sender));
        self
    }

    fn sender(&self, channel: Channel) -> Result<&dyn Outbound, SendError> {
        self.senders
            .iter()
            .find(|(c, _)| *c == channel)
            .map(|(_, s)| s.as_ref())
            .ok_or(SendError::NotConfigured(channel))
    }
}

impl std::fmt::Debug for Channels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.senders.iter().map(|(c, _)| c.as_str()).collect();
        f.debug_struct("Channels").field("enabled", &names).finish()
    }
}

#[async_trait]
impl Outbound for Channels {
    async fn send(&self, message: &Outgoing) -> Result<SentMessage, SendError> {
        self.sender(message.endpoint.channel)?.send(message).await
    }

    fn enabled(&self, channel: Channel) -> bool {
        self.sender(channel).is_ok()
    }

    fn check(&self, message: &Outgoing) -> Result<(), SendError> {
        self.sender(message.endpoint.channel)?.check(message)
    }
}

/// Where every enabled channel serves its customers' files, by channel.
#[derive(Clone, Default)]
pub struct MediaSources {
    sources: Vec<Arc<dyn MediaSource>>,
}

impl MediaSources {
    /// The given sources (tests, the local stack).
    pub fn new(sources: Vec<Arc<dyn MediaSource>>) -> Self {
        MediaSources { sources }
    }

    /// The media side of every enabled channel (at cold start).
    pub fn load(env: Lookup, objects: &Arc<dyn ObjectReader>) -> Result<Self, ConfigError> {
        let sources = Registry::media(env, &http_client(), objects)?;
        if sources.is_empty() {
            return Err(no_channel("media"));
        }
        Ok(MediaSources { sources })
    }

    /// The source of `channel`'s files, if it is enabled.
    pub fn get(&self, channel: Channel) -> Option<&dyn MediaSource> {
        self.sources
            .iter()
            .find(|s| s.channel() == channel)
            .map(|s| s.as_ref())
    }
}

impl std::fmt::Debug for MediaSources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.sources.iter().map(|s| s.channel().as_str()).collect();
        f.debug_struct("MediaSources")
            .field("enabled", &names)
            .finish()
    }
}

/// The webhook side of every enabled channel, by channel.
#[derive(Clone, Default)]
pub struct Webhooks {
    channels: Vec<Arc<dyn WebhookChannel>>,
}

impl Webhooks {
    /// The given channels' webhooks (tests, the local stack).
    pub fn new(channels: Vec<Arc<dyn WebhookChannel>>) -> Self {
        Webhooks { channels }
    }

    /// Builds the webhook side of every enabled channel. At least one channel must
    /// be configured (one without a webhook, like email, leaves this empty).
    pub fn load(env: Lookup) -> Result<Self, ConfigError> {
        let channels = Registry::webhooks(env)?;
        let any_channel = Registry::variables()
            .iter()
            .any(|(_, vars)| crate::env::any_set(env, vars));
        if channels.is_empty() && !any_channel {
            return Err(no_channel("webhooks"));
        }
        Ok(Webhooks { channels })
    }

    /// The channel behind `/webhooks/<name>`, if it is enabled.
    pub fn get(&self, name: &str) -> Option<&dyn WebhookChannel> {
        let channel = Channel::parse(name)?;
        self.channels
            .iter()
            .find(|w| w.channel() == channel)
            .map(|w| w.as_ref())
    }
}

impl std::fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.channels.iter().map(|w| w.channel().as_str()).collect();
        f.debug_struct("Webhooks").field("enabled", &names).finish()
    }
}

/// Splits `text` into parts of at most `max` characters: at paragraph breaks where
/// possible, else at sentence ends, else between words, else (one unbroken run of
/// more than `max` characters) anywhere.
pub fn split_text(text: &str, max: usize) -> Vec<String> {
    assert!(max > 0, "a channel's limit is positive");
    let mut parts = Vec::new();
    let mut rest = text.trim();
    while rest.chars().count() > max {
        // Byte offset just past the first `max` characters.
        let limit = rest.char_indices().nth(max).map_or(rest.len(), |(i, _)| i);
        let window = &rest[..limit];
        let cut = [
            window.rfind("\n\n").map(|i| i + 2),
            last_sentence_end(window),
            // After the whitespace character, whatever its width (a no-break or an
            // ideographic space is more than one byte).
            window
                .char_indices()
                .rev()
                .find(|(_, c)| c.is_whitespace())
                .map(|(i, c)| i + c.len_utf8()),
        ]
        .into_iter()
        .flatten()
        .find(|&i| window[..i].trim().chars().count() > 0)
        .unwrap_or(limit);
        parts.push(rest[..cut].trim_end().to_string());
        rest = rest[cut..].trim_start();
    }
    if !rest.is_empty() || parts.is_empty() {
        parts.push(rest.to_string());
    }
    parts
}

/// Byte offset just after the last ". ", "! " or "? " (or line break) in `s`.
fn last_sentence_end(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    (1..b.len())
        .rev()
        .find(|&i| (b[i] == b' ' && matches!(b[i - 1], b'.' | b'!' | b'?')) || b[i] == b'\n')
        .map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_splits_at_the_best_boundary() {
        assert_eq!(split_text("short", 10), ["short"]);
        let paras = format!("{}\n\n{}", "a".repeat(6), "b".repeat(6));
        assert_eq!(split_text(&paras, 10), ["aaaaaa", "bbbbbb"]);
        assert_eq!(
            split_text("One two. Three four five.", 12),
            ["One two.", "Three four", "five."]
        );
        assert_eq!(split_text("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        let umlauts = "äöü ".repeat(30);
        for part in split_text(&umlauts, 7) {
            assert!(part.chars().count() <= 7 && !part.is_empty(), "{part:?}");
        }
        let joined: String = split_text(&umlauts, 7).join(" ");
        assert_eq!(joined, umlauts.trim());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
        /// Any text splits, without panicking, into non-empty parts within the limit
        /// that together hold every non-space character in order.
        #[test]
        fn any_text_splits_within_the_limit(
            text in proptest::prop_oneof![
                proptest::prelude::any::<String>(),
                "[a-z\u{a0}\u{3000}\u{2003} .!?\n\u{301}\u{1F600}]{0,300}",
                "[\u{a0}\u{3000}\u{2009}\u{85}]{0,50}[x\u{1F469}\u{200D}]{0,80}",
            ],
            max in 1usize..40,
        ) {
            let parts = split_text(&text, max);
            proptest::prop_assert!(!parts.is_empty());
            for part in &parts {
                proptest::prop_assert!(part.chars().count() <= max, "{part:?} over {max}");
            }
            if !text.trim().is_empty() {
                proptest::prop_assert!(parts.iter().all(|p| !p.is_empty()));
            }
            let kept: String = parts.concat().chars().filter(|c| !c.is_whitespace()).collect();
            let want: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            proptest::prop_assert_eq!(kept, want);
        }
    }

    #[test]
    fn wide_spaces_never_cut_a_character() {
        for space in ['\u{a0}', '\u{3000}', '\u{2003}'] {
            let text = format!("ab{space}cd{space}ef");
            assert_eq!(split_text(&text, 4), ["ab", "cd", "ef"], "{space:?}");
        }
    }

    #[test]
    fn every_channel_is_registered_once() {
        let registered: Vec<Channel> = Registry::variables().into_iter().map(|(c, _)| c).collect();
        for c in Channel::ALL {
            assert_eq!(registered.iter().filter(|r| **r == c).count(), 1, "{c}");
        }
    }
}
