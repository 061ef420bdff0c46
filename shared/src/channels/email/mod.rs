//! Email through Amazon SES: receiving (SES receipt rule -> SNS -> the inbound-email
//! function; mail over SNS's 150 KB limit by the S3 action), threading (`thread`),
//! the customer's new text apart from the quoted history (`quote`), replies through
//! SES v2 SendEmail (`outbound`) and SES event publishing for delivery statuses
//! (`inbound::read_notification`). Email has no webhook of its own: SNS invokes the
//! inbound-email function, which is authenticated by IAM.

pub mod auth;
pub mod inbound;
pub mod media;
pub mod notification;
pub mod outbound;
pub mod quote;
pub mod thread;

use super::Plugin;
use crate::conversation::Channel;
use crate::env::{self, ConfigError, Lookup};
use crate::ports::{Capabilities, WebhookChannel};
use std::sync::Arc;

pub use outbound::SesSender;

pub const CAPABILITIES: Capabilities = Capabilities {
    // A reply is one mail; this bounds what an agent can paste, not what mail takes.
    max_text_chars: 100_000,
    splits_long_text: false,
    reply_window: None,
    templates: false,
    delivery_receipts: true,
    // Replies thread by In-Reply-To / References instead of quoting.
    replies_quote: false,
    files_per_message: 10,
    max_caption_chars: 100_000,
    resends_by_file_id: false,
};

/// The channel's plug-in (its line in `channels::Registry`).
pub struct Email;

/// Our support mailbox: `EMAIL_FROM`, as `Name <address>` or a bare address. Its
/// address is the business account of every email conversation, the sender of every
/// reply, and (with a `+token`) their Reply-To.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub name: Option<String>,
    /// Lower-case.
    pub address: String,
}

impl Mailbox {
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        let (name, address) = match value.rfind('<') {
            Some(open) if value.ends_with('>') => {
                let name = value[..open].trim().trim_matches('"').trim();
                (
                    (!name.is_empty()).then(|| name.to_string()),
                    value[open + 1..value.len() - 1].trim(),
                )
            }
            _ => (None, value),
        };
        let address = address.to_ascii_lowercase();
        let (local, domain) = address
            .split_once('@')
            .ok_or("must be an email address, optionally as \"Name <address>\"")?;
        let ascii_ok = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_graphic() && !matches!(b, b'<' | b'>' | b'@' | b','))
        };
        // SES takes no SMTPUTF8: 7-bit local parts, Punycode domains.
        if !ascii_ok(local) || !ascii_ok(domain) || !domain.contains('.') || local.contains('+') {
            return Err(
                "must be an ASCII address without a '+' tag, like support@example.com (an IDN domain in Punycode)"
                    .into(),
            );
        }
        Ok(Mailbox {
            name,
            address: address.to_string(),
        })
    }

    pub fn local_part(&self) -> &str {
        self.address.split_once('@').map_or("", |(l, _)| l)
    }

    pub fn domain(&self) -> &str {
        self.address.split_once('@').map_or("", |(_, d)| d)
    }

    /// `local+<token>@domain`: the Reply-To of a reply in conversation `token`.
    pub fn tagged(&self, token: &str) -> String {
        format!("{}+{token}@{}", self.local_part(), self.domain())
    }
}

/// The email channel's settings.
#[derive(Debug, Clone)]
pub struct EmailSettings {
    pub from: Mailbox,
    /// SES configuration set for sending (event publishing of delivery statuses).
    pub configuration_set: Option<String>,
    /// Addresses and domains whose mail is ours (never auto-replied, loop guard):
    /// our own domain, plus `EMAIL_OWN_ADDRESSES`.
    pub own_addresses: Vec<String>,
}

impl EmailSettings {
    /// Reads the settings when `EMAIL_FROM` is set (`None` otherwise).
    pub fn load(env: Lookup) -> Result<Option<Self>, ConfigError> {
        if !env::any_set(env, &["EMAIL_FROM"]) {
            return Ok(None);
        }
        let from = Mailbox::parse(&env::required(env, "EMAIL_FROM")?)
            .map_err(|reason| ConfigError::new("EMAIL_FROM", reason))?;
        let configuration_set = env::optional(env, "EMAIL_CONFIGURATION_SET");
        if let Some(set) = &configuration_set
            && !set
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
        {
            return Err(ConfigError::new(
                "EMAIL_CONFIGURATION_SET",
                "must be a configuration set name (A-Z, a-z, 0-9, '_', '-')",
            ));
        }
        let mut own_addresses = vec![format!("@{}", from.domain())];
        if let Some(extra) = env::optional(env, "EMAIL_OWN_ADDRESSES") {
            for entry in extra.split(',').map(str::trim).filter(|e| !e.is_empty()) {
                if entry.contains(char::is_whitespace) {
                    return Err(ConfigError::new(
                        "EMAIL_OWN_ADDRESSES",
                        format!("{entry:?} is not an address or @domain"),
                    ));
                }
                own_addresses.push(entry.to_ascii_lowercase());
            }
        }
        Ok(Some(EmailSettings {
            from,
            configuration_set,
            own_addresses,
        }))
    }

    /// For tests and the local stack.
    pub fn new(from: &str) -> Self {
        let from = Mailbox::parse(from).expect("a valid address");
        let own_addresses = vec![format!("@{}", from.domain())];
        EmailSettings {
            from,
            configuration_set: None,
            own_addresses,
        }
    }
}

impl Plugin for Email {
    const CHANNEL: Channel = Channel::Email;
    const CAPABILITIES: Capabilities = CAPABILITIES;
    const VARIABLES: &'static [&'static str] = &["EMAIL_FROM"];

    /// Mail comes through SNS to the inbound-email function, not a webhook route.
    fn webhook(_env: Lookup) -> Result<Option<Arc<dyn WebhookChannel>>, ConfigError> {
        Ok(None)
    }

    fn sender(
        env: Lookup,
        _http: &reqwest::Client,
    ) -> Result<Option<Arc<dyn crate::ports::Outbound>>, ConfigError> {
        Ok(EmailSettings::load(env)?.map(|settings| Arc::new(SesSender::from_env(settings)) as _))
    }

    /// Attachments come from the mail itself (in S3, or kept on the message).
    fn media(
        env: Lookup,
        _http: &reqwest::Client,
        objects: &Arc<dyn crate::ports::ObjectReader>,
    ) -> Result<Option<Arc<dyn crate::ports::MediaSource>>, ConfigError> {
        Ok(EmailSettings::load(env)?
            .map(|_| Arc::new(media::EmailMedia::new(objects.clone())) as _))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailbox_reads_both_forms_and_refuses_the_rest() {
        let m = Mailbox::parse("Acme Support <Support@Acme.example>").unwrap();
        assert_eq!(m.name.as_deref(), Some("Acme Support"));
        assert_eq!(m.address, "support@acme.example");
        assert_eq!(m.tagged("em-1"), "support+em-1@acme.example");
        let m = Mailbox::parse("help@acme.example").unwrap();
        assert_eq!(m.name, None);
        for bad in [
            "",
            "acme",
            "a b@c.d",
            "x+y@acme.example",
            "<@acme.example>",
            "ü@acme.example",
            "a@nodot",
        ] {
            assert!(Mailbox::parse(bad).is_err(), "{bad}");
        }
    }
}
