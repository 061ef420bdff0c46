//! Configuration, read and validated once at cold start. Every error names the
//! environment variable (and, for JSON values, the field) that is wrong.

use crate::auth::AgentKeys;
use crate::channels::whatsapp;
use crate::hours::BusinessHours;
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
#[error("invalid configuration: {field}: {reason}")]
pub struct ConfigError {
    pub field: String,
    pub reason: String,
}

/// Where settings come from: the process environment in Lambda, a map in tests and
/// the local stack.
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Reads the process environment.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn required(env: Lookup, name: &str) -> Result<String, ConfigError> {
    match env(name) {
        Some(v) if !v.trim().is_empty() => Ok(v),
        Some(_) => Err(ConfigError {
            field: name.into(),
            reason: "must not be empty".into(),
        }),
        None => Err(ConfigError {
            field: name.into(),
            reason: "is not set".into(),
        }),
    }
}

fn table_name(env: Lookup) -> Result<String, ConfigError> {
    let name = required(env, "TABLE_NAME")?;
    let ok = (3..=255).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if !ok {
        return Err(ConfigError {
            field: "TABLE_NAME".into(),
            reason: "must be 3-255 characters of a-z, A-Z, 0-9, '_', '-', '.'".into(),
        });
    }
    Ok(name)
}

/// Settings of the inbound webhook function. `Debug` redacts the secrets.
#[derive(Clone)]
pub struct InboundConfig {
    pub table_name: String,
    pub whatsapp_app_secret: String,
    pub whatsapp_verify_token: String,
}

impl InboundConfig {
    pub fn load(env: Lookup) -> Result<Self, ConfigError> {
        Ok(InboundConfig {
            table_name: table_name(env)?,
            whatsapp_app_secret: required(env, "WHATSAPP_APP_SECRET")?,
            whatsapp_verify_token: required(env, "WHATSAPP_VERIFY_TOKEN")?,
        })
    }
}

/// Settings for sending on the channels. `Debug` redacts the token.
#[derive(Clone)]
pub struct OutboundConfig {
    pub whatsapp_access_token: String,
    pub whatsapp_api_base: String,
}

impl OutboundConfig {
    pub fn load(env: Lookup) -> Result<Self, ConfigError> {
        let base = env("WHATSAPP_API_BASE")
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| whatsapp::DEFAULT_API_BASE.to_string());
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(ConfigError {
                field: "WHATSAPP_API_BASE".into(),
                reason: "must be an http(s) URL".into(),
            });
        }
        Ok(OutboundConfig {
            whatsapp_access_token: required(env, "WHATSAPP_ACCESS_TOKEN")?,
            whatsapp_api_base: base,
        })
    }
}

const REDACTED: &str = "<redacted>";

impl std::fmt::Debug for InboundConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboundConfig")
            .field("table_name", &self.table_name)
            .field("whatsapp_app_secret", &REDACTED)
            .field("whatsapp_verify_token", &REDACTED)
            .finish()
    }
}

impl std::fmt::Debug for OutboundConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboundConfig")
            .field("whatsapp_access_token", &REDACTED)
            .field("whatsapp_api_base", &self.whatsapp_api_base)
            .finish()
    }
}

/// Settings of the off-hours auto-reply function.
#[derive(Debug, Clone)]
pub struct AutoReplyConfig {
    pub table_name: String,
    pub outbound: OutboundConfig,
    pub hours: BusinessHours,
    /// Messages older than this (by platform timestamp) get no late auto-reply.
    pub max_age: chrono::Duration,
}

impl AutoReplyConfig {
    pub fn load(env: Lookup) -> Result<Self, ConfigError> {
        let hours = BusinessHours::from_json(&required(env, "BUSINESS_HOURS")?).map_err(|e| {
            ConfigError {
                field: format!("BUSINESS_HOURS.{}", e.field),
                reason: e.reason,
            }
        })?;
        let max_age_minutes = match env("AUTO_REPLY_MAX_AGE_MINUTES") {
            None => 60,
            Some(v) => v
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|m| *m > 0)
                .ok_or_else(|| ConfigError {
                    field: "AUTO_REPLY_MAX_AGE_MINUTES".into(),
                    reason: format!("{v:?} is not a positive whole number of minutes"),
                })?,
        };
        Ok(AutoReplyConfig {
            table_name: table_name(env)?,
            outbound: OutboundConfig::load(env)?,
            hours,
            max_age: chrono::Duration::minutes(max_age_minutes.into()),
        })
    }
}

/// Settings of the agent API function.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub table_name: String,
    pub outbound: OutboundConfig,
    pub agent_keys: AgentKeys,
}

impl AgentConfig {
    pub fn load(env: Lookup) -> Result<Self, ConfigError> {
        Ok(AgentConfig {
            table_name: table_name(env)?,
            outbound: OutboundConfig::load(env)?,
            agent_keys: AgentKeys::parse(&required(env, "AGENT_API_KEYS")?).map_err(|reason| {
                ConfigError {
                    field: "AGENT_API_KEYS".into(),
                    reason,
                }
            })?,
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

    #[test]
    fn debug_output_never_shows_secrets() {
        let keys = format!("a={}", crate::auth::hash_key("k"));
        let pairs = [
            ("TABLE_NAME", "asyncdesk"),
            ("WHATSAPP_APP_SECRET", "app-s3cret"),
            ("WHATSAPP_VERIFY_TOKEN", "verify-s3cret"),
            ("WHATSAPP_ACCESS_TOKEN", "token-s3cret"),
            ("AGENT_API_KEYS", keys.as_str()),
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
