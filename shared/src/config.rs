//! Configuration, read and validated once at cold start. Every error names the
//! environment variable (and, for JSON values, the field) that is wrong.

use crate::auth::AgentKeys;
use crate::channels::email::EmailSettings;
use crate::channels::{Channels, Webhooks};
use crate::hours::BusinessHours;

use crate::env::required;
pub use crate::env::{ConfigError, Lookup, process_env};

pub(crate) fn table_name(env: Lookup) -> Result<String, ConfigError> {
    let name = required(env, "TABLE_NAME")?;
    let ok = (3..=255).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if !ok {
        return Err(ConfigError::new(
            "TABLE_NAME",
            "must be 3-255 characters of a-z, A-Z, 0-9, '_', '-', '.'",
        ));
    }
    Ok(name)
}

/// `MESSAGE_RETENTION_DAYS`: how long messages (and a conversation after its last
/// message) are kept; unset or 0 keeps them until erased.
pub(crate) fn retention(env: Lookup) -> Result<Option<chrono::Duration>, ConfigError> {
    match crate::env::optional(env, "MESSAGE_RETENTION_DAYS") {
        None => Ok(None),
        Some(v) => match v.trim().parse::<u32>() {
            Ok(0) => Ok(None),
            Ok(days) if days <= 36_500 => Ok(Some(chrono::Duration::days(days.into()))),
            _ => Err(ConfigError::new(
                "MESSAGE_RETENTION_DAYS",
                format!("{v:?} is not a whole number of days from 0 (keep) to 36500"),
            )),
        },
    }
}

/// `BUSINESS_HOURS`, validated against the time the function starts (the one clock
/// read of the time rules: the schedule must open within a year of it).
pub(crate) fn business_hours(env: Lookup) -> Result<BusinessHours, ConfigError> {
    BusinessHours::from_json(&required(env, "BUSINESS_HOURS")?, chrono::Utc::now())
        .map_err(|e| ConfigError::new(format!("BUSINESS_HOURS.{}", e.field), e.reason))
}

/// Settings of the inbound webhook function: the webhook side of every enabled
/// channel. `Debug` shows which channels are enabled, never their secrets.
#[derive(Debug, Clone)]
pub struct InboundConfig {
    pub table_name: String,
    /// Messages expire this long after they were stored (`MESSAGE_RETENTION_DAYS`).
    pub retention: Option<chrono::Duration>,
    pub webhooks: Webhooks,
}

impl InboundConfig {
    pub fn load(env: Lookup) -> Result<Self, ConfigError> {
        Ok(InboundConfig {
            table_name: table_name(env)?,
            retention: retention(env)?,
            webhooks: Webhooks::load(env)?,
        })
    }
}

/// Settings of the inbound-email function: the table and our mailbox. The S3
/// bucket of large mail comes from each notification.
#[derive(Debug, Clone)]
pub struct EmailInboundConfig {
    pub table_name: String,
    /// Messages expire this long after they were stored (`MESSAGE_RETENTION_DAYS`).
    pub retention: Option<chrono::Duration>,
    pub email: EmailSettings,
}

impl EmailInboundConfig {
    pub fn load(env: Lookup) -> Result<Self, ConfigError> {
        let table_name = table_name(env)?;
        let email = EmailSettings::load(env)?
            .ok_or_else(|| ConfigError::new("EMAIL_FROM", "is not set"))?;
        Ok(EmailInboundConfig {
            table_name,
            retention: retention(env)?,
            email,
        })
    }
}

/// Settings of the off-hours auto-reply function.
#[derive(Debug, Clone)]
pub struct AutoReplyConfig {
    pub table_name: String,
    /// Messages expire this long after they were stored (`MESSAGE_RETENTION_DAYS`).
    pub retention: Option<chrono::Duration>,
    pub channels: Channels,
    pub hours: BusinessHours,
    /// Messages older than this (by platform timestamp) get no late auto-reply.
    pub max_age: chrono::Duration,
    /// At most this many auto-replies per customer in any 24 hours.
    pub daily_cap: u32,
    /// At most this many auto-replies in any clock hour, for the whole deployment.
    pub hourly_cap: u32,
    /// Our own addresses and domains (the loop guard never answers them).
    pub own_addresses: Vec<String>,
    /// The SQS queue that holds the next attempt of a send the channel refused for
    /// now (`AUTO_REPLY_RETRY_QUEUE_URL`); without it the stream retries the record.
    pub retry_queue_url: Option<String>,
    /// The website chat's replies a visitor left behind go out by mail (with the
    /// website chat and email both on).
    pub continuity: Option<crate::channels::web::continuity::Continuity>,
}

impl AutoReplyConfig {
    pub fn load(env: Lookup) -> Result<Self, ConfigError> {
        let hours = business_hours(env)?;
        let max_age_minutes = match env("AUTO_REPLY_MAX_AGE_MINUTES") {
            None => 60,
            Some(v) => v
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|m| *m > 0)
                .ok_or_else(|| {
                    ConfigError::new(
                        "AUTO_REPLY_MAX_AGE_MINUTES",
                        format!("{v:?} is not a positive whole number of minutes"),
                    )
                })?,
        };
        let daily_cap = whole_number(env, "AUTO_REPLY_DAILY_CAP", 3, 1..=50)?;
        let hourly_cap = whole_number(env, "AUTO_REPLY_HOURLY_CAP", 1000, 1..=100_000)?;
        let own_addresses = EmailSettings::load(env)?
            .map(|e| e.own_addresses)
            .unwrap_or_default();
        Ok(AutoReplyConfig {
            table_name: table_name(env)?,
            retention: retention(env)?,
            channels: Channels::load(env)?,
            hours,
            max_age: chrono::Duration::minutes(max_age_minutes.into()),
            daily_cap,
            hourly_cap,
            own_addresses,
            retry_queue_url: env("AUTO_REPLY_RETRY_QUEUE_URL")
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty()),
            continuity: crate::channels::web::continuity::Continuity::load(env)?,
        })
    }
}

/// Variable `name` as a whole number in `range`, `default` when unset.
fn whole_number(
    env: Lookup,
    name: &str,
    default: u32,
    range: std::ops::RangeInclusive<u32>,
) -> Result<u32, ConfigError> {
    match env(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| {
                ConfigError::new(
                    name,
                    format!(
                        "{v:?} is not a whole number from {} to {}",
                        range.start(),
                        range.end()
                    ),
                )
            }),
    }
}

/// The availability function's configuration: the schedule only.
#[derive(Debug)]
pub struct AvailabilityConfig {
    pub hours: BusinessHours,
}

impl AvailabilityConfig {
    pub fn load(env: Lookup) -> Result<Self, ConfigError> {
        Ok(AvailabilityConfig {
            hours: business_hours(env)?,
        })
    }
}

/// The widget function's configuration: the table, the schedule (its promise is
/// the auto-reply's) and the widget's own settings.
#[derive(Debug, Clone)]
pub struct WidgetConfig {
    pub table_name: String,
    pub retention: Option<chrono::Duration>,
    pub hours: BusinessHours,
    /// `None` when `WIDGET_ORIGINS` is unset: no web chat in this deployment.
    pub widget: Option<crate::channels::web::WidgetSettings>,
}

impl WidgetConfig {
    pub fn load(env: Lookup) -> Result<Self, ConfigError> {
        Ok(WidgetConfig {
            table_name: table_name(env)?,
            retention: retention(env)?,
            hours: business_hours(env)?,
            widget: match crate::env::optional(env, "WIDGET_ORIGINS") {
                Some(_) => Some(crate::channels::web::WidgetSettings::load(env)?),
                None => None,
            },
        })
    }
}

/// Settings of the agent API function.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub table_name: String,
    /// Messages expire this long after they were stored (`MESSAGE_RETENTION_DAYS`).
    pub retention: Option<chrono::Duration>,
    pub channels: Channels,
    pub agent_keys: AgentKeys,
    /// For `GET /availability` (and the queue's promises).
    pub hours: BusinessHours,
    /// The media bucket (`MEDIA_BUCKET`): download URLs, uploads, erasure.
    pub media_bucket: Option<String>,
    /// `MEDIA_MAX_FILE_MB`: the largest upload.
    pub media_limits: crate::media::MediaLimits,
    /// `MEDIA_DOWNLOAD_BASE`: where download URLs point (the CloudFront
    /// distribution that adds the security headers); unset: S3's own URLs.
    pub media_download_base: Option<String>,
    /// `WHATSAPP_TEMPLATES`: the approved templates the desk offers outside the
    /// 24-hour window.
    pub templates: Vec<crate::channels::whatsapp::templates::ReplyTemplate>,
    /// `DESK_SESSION_SECRET`: signs the desk's sessions (with each key's hash);
    /// unset, the desk cannot be signed in to.
    pub desk_session_secret: Option<crate::auth::session::SessionSecret>,
}

/// The desk function's configuration.
#[derive(Debug, Clone)]
pub struct DeskConfig {
    /// The origin of `MEDIA_DOWNLOAD_BASE`, where image previews load from.
    pub media_origin: Option<String>,
}

impl DeskConfig {
    pub fn load(env: Lookup) -> Result<Self, ConfigError> {
        let media_origin = match crate::env::optional(env, "MEDIA_DOWNLOAD_BASE") {
            Some(_) => {
                let base = crate::env::base_url(env, "MEDIA_DOWNLOAD_BASE", "")?;
                // scheme://host[:port], without the path.
                let after_scheme = base.find("://").map_or(0, |i| i + 3);
                let end = base[after_scheme..]
                    .find('/')
                    .map_or(base.len(), |i| after_scheme + i);
                Some(base[..end].to_string())
            }
            None => None,
        };
        Ok(DeskConfig { media_origin })
    }
}

impl AgentConfig {
    pub fn load(env: Lookup) -> Result<Self, ConfigError> {
        Ok(AgentConfig {
            table_name: table_name(env)?,
            retention: retention(env)?,
            channels: Channels::load(env)?,
            agent_keys: AgentKeys::parse(&required(env, "AGENT_API_KEYS")?)
                .map_err(|reason| ConfigError::new("AGENT_API_KEYS", reason))?,
            hours: business_hours(env)?,
            media_bucket: match crate::env::optional(env, "MEDIA_BUCKET") {
                Some(_) => Some(crate::media::config::bucket(env)?),
                None => None,
            },
            media_limits: crate::media::MediaLimits::load(env)?,
            media_download_base: match crate::env::optional(env, "MEDIA_DOWNLOAD_BASE") {
                Some(_) => Some(crate::env::base_url(env, "MEDIA_DOWNLOAD_BASE", "")?),
                None => None,
            },
            desk_session_secret: match crate::env::optional(env, "DESK_SESSION_SECRET") {
                Some(s) => Some(
                    crate::auth::session::SessionSecret::new(&s)
                        .map_err(|reason| ConfigError::new("DESK_SESSION_SECRET", reason))?,
                ),
                None => None,
            },
            templates: match crate::env::optional(env, "WHATSAPP_TEMPLATES") {
                Some(spec) => crate::channels::whatsapp::templates::parse(&spec)
                    .map_err(|reason| ConfigError::new("WHATSAPP_TEMPLATES", reason))?,
                None => Vec::new(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    const HOURS: &str =
        r#"{"timezone":"UTC","weekly":{"mon":["09:00-17:00"]},"auto_reply":{"default":"x"}}"#;

    #[test]
    fn debug_output_never_shows_secrets() {
        let keys = format!("a={}", crate::auth::hash_key("k"));
        let pairs = [
            ("TABLE_NAME", "asyncdesk"),
            ("WHATSAPP_APP_SECRET", "app-s3cret"),
            ("WHATSAPP_VERIFY_TOKEN", "verify-s3cret"),
            ("WHATSAPP_ACCESS_TOKEN", "token-s3cret"),
            ("TELEGRAM_BOT_TOKEN", "123:bot-s3cret"),
            ("TELEGRAM_WEBHOOK_SECRET", "hook-s3cret"),
            ("AGENT_API_KEYS", keys.as_str()),
            ("BUSINESS_HOURS", HOURS),
        ];
        let env = lookup(&pairs);
        let shown = format!(
            "{:?} {:?}",
            InboundConfig::load(&env).unwrap(),
            AgentConfig::load(&env).unwrap()
        );
        assert!(
            !shown.contains("s3cret") && !shown.contains(&crate::auth::hash_key("k")),
            "{shown}"
        );
        assert!(
            shown.contains("telegram") && shown.contains("whatsapp"),
            "{shown}"
        );
    }

    #[test]
    fn any_non_empty_subset_of_channels_is_a_deployment() {
        let keys = format!("a={}", crate::auth::hash_key("k"));
        let pairs = [
            ("TABLE_NAME", "asyncdesk"),
            ("TELEGRAM_BOT_TOKEN", "123:abc"),
            ("TELEGRAM_WEBHOOK_SECRET", "hook"),
            // SAM passes unset parameters as empty strings.
            ("WHATSAPP_APP_SECRET", ""),
            ("WHATSAPP_ACCESS_TOKEN", ""),
            ("AGENT_API_KEYS", keys.as_str()),
            ("BUSINESS_HOURS", HOURS),
        ];
        let telegram_only = lookup(&pairs);
        let inbound = InboundConfig::load(&telegram_only).unwrap();
        assert!(inbound.webhooks.get("telegram").is_some());
        assert!(inbound.webhooks.get("whatsapp").is_none());
        let agent = AgentConfig::load(&telegram_only).unwrap();
        use crate::ports::Outbound;
        assert!(
            agent
                .channels
                .enabled(crate::conversation::Channel::Telegram)
        );
        assert!(
            !agent
                .channels
                .enabled(crate::conversation::Channel::Whatsapp)
        );
        // The website chat alone.
        let pairs = [
            ("TABLE_NAME", "asyncdesk"),
            ("WIDGET_ORIGINS", "https://shop.example"),
            ("WIDGET_SESSION_SECRET", "0123456789abcdef0123456789abcdef"),
            ("AGENT_API_KEYS", keys.as_str()),
            ("BUSINESS_HOURS", HOURS),
        ];
        let web_only = lookup(&pairs);
        let agent = AgentConfig::load(&web_only).unwrap();
        assert!(agent.channels.enabled(crate::conversation::Channel::Web));
        let auto = AutoReplyConfig::load(&web_only).unwrap();
        assert!(auto.channels.enabled(crate::conversation::Channel::Web));
        assert!(auto.continuity.is_none(), "no mail without email");
        assert!(WidgetConfig::load(&web_only).unwrap().widget.is_some());
        // Its webhook function has no webhook: every /webhooks/<name> is a 404.
        let inbound = InboundConfig::load(&web_only).unwrap();
        assert!(inbound.webhooks.get("whatsapp").is_none());
        let pairs = [
            ("TABLE_NAME", "asyncdesk"),
            ("AGENT_API_KEYS", keys.as_str()),
        ];
        let none = lookup(&pairs);
        let e = AgentConfig::load(&none).unwrap_err();
        assert_eq!(e.field, "channels");
        assert!(e.reason.contains("TELEGRAM_BOT_TOKEN"), "{e}");
        assert_eq!(InboundConfig::load(&none).unwrap_err().field, "channels");
    }

    #[test]
    fn errors_name_the_variable_and_field() {
        let env = lookup(&[("TABLE_NAME", "t")]);
        assert_eq!(InboundConfig::load(&env).unwrap_err().field, "TABLE_NAME");
        let env = lookup(&[("TABLE_NAME", "asyncdesk"), ("WHATSAPP_APP_SECRET", "s")]);
        assert_eq!(
            InboundConfig::load(&env).unwrap_err().field,
            "WHATSAPP_VERIFY_TOKEN"
        );
        let env = lookup(&[
            ("TABLE_NAME", "asyncdesk"),
            ("TELEGRAM_WEBHOOK_SECRET", "s"),
        ]);
        assert_eq!(
            InboundConfig::load(&env).unwrap_err().field,
            "TELEGRAM_BOT_ID"
        );
        let env = lookup(&[
            ("TABLE_NAME", "asyncdesk"),
            ("TELEGRAM_WEBHOOK_SECRET", "s"),
            ("TELEGRAM_BOT_ID", "12x"),
        ]);
        assert_eq!(
            InboundConfig::load(&env).unwrap_err().field,
            "TELEGRAM_BOT_ID"
        );
        let env = lookup(&[
            ("TABLE_NAME", "asyncdesk"),
            ("TELEGRAM_WEBHOOK_SECRET", "has space"),
            ("TELEGRAM_BOT_TOKEN", "1:a"),
        ]);
        assert_eq!(
            InboundConfig::load(&env).unwrap_err().field,
            "TELEGRAM_WEBHOOK_SECRET"
        );
        let env = lookup(&[
            ("TABLE_NAME", "asyncdesk"),
            ("TELEGRAM_BOT_TOKEN", "not-a-token"),
            ("AGENT_API_KEYS", "a=b"),
        ]);
        let e = AgentConfig::load(&env).unwrap_err();
        assert_eq!(e.field, "TELEGRAM_BOT_TOKEN");
        assert!(!e.to_string().contains("not-a-token"));
        let env = lookup(&[
            ("TABLE_NAME", "asyncdesk"),
            ("WHATSAPP_ACCESS_TOKEN", "t"),
            (
                "BUSINESS_HOURS",
                r#"{"timezone":"Nowhere/Land","weekly":{"mon":["09:00-17:00"]},"auto_reply":{"default":"x"}}"#,
            ),
        ]);
        let e = AutoReplyConfig::load(&env).unwrap_err();
        assert_eq!(e.field, "BUSINESS_HOURS.timezone");
        assert!(e.to_string().contains("Nowhere/Land"));
        let env = lookup(&[
            ("TABLE_NAME", "asyncdesk"),
            ("WHATSAPP_ACCESS_TOKEN", "t"),
            (
                "BUSINESS_HOURS",
                r#"{"timezone":"UTC","weekly":{"mon":["09:00-17:00"]},"auto_reply":{"default":"x"}}"#,
            ),
            ("AUTO_REPLY_MAX_AGE_MINUTES", "soon"),
        ]);
        assert_eq!(
            AutoReplyConfig::load(&env).unwrap_err().field,
            "AUTO_REPLY_MAX_AGE_MINUTES"
        );
        let env = lookup(&[
            ("TABLE_NAME", "asyncdesk"),
            ("WHATSAPP_ACCESS_TOKEN", "t"),
            ("AGENT_API_KEYS", "alice"),
        ]);
        assert_eq!(AgentConfig::load(&env).unwrap_err().field, "AGENT_API_KEYS");
        let env = lookup(&[
            ("TABLE_NAME", "asyncdesk"),
            ("WHATSAPP_ACCESS_TOKEN", "t"),
            ("WHATSAPP_API_BASE", "ftp://x"),
            ("AGENT_API_KEYS", "a=b"),
        ]);
        assert_eq!(
            AgentConfig::load(&env).unwrap_err().field,
            "WHATSAPP_API_BASE"
        );
    }
}
