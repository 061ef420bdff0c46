//! The widget's settings, read and checked once at cold start (errors name the
//! variable). See docs/widget.md.

use super::visitor::WidgetSecret;
use crate::env::{self, ConfigError, Lookup};

/// What the widget does outside business hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenClosed {
    /// Shown, with the promise; an email is asked for but optional.
    Show,
    /// Shown, and a visitor must leave an email before writing.
    RequireContact,
    /// Not shown to a new visitor (one with a conversation still sees it).
    Hide,
}

impl WhenClosed {
    pub fn as_str(self) -> &'static str {
        match self {
            WhenClosed::Show => "show",
            WhenClosed::RequireContact => "require_contact",
            WhenClosed::Hide => "hide",
        }
    }
}

/// Per-minute limits on what one visitor and one IP address may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub visitor_messages: u32,
    pub ip_messages: u32,
    pub ip_sessions: u32,
}

#[derive(Debug, Clone)]
pub struct WidgetSettings {
    /// Origins allowed to embed the widget (`https://shop.example`).
    pub origins: Vec<String>,
    pub session_secret: WidgetSecret,
    /// Verifies `user_hash` (none: a site cannot identify its users).
    pub identity_secret: Option<WidgetSecret>,
    pub business_name: String,
    pub launcher_text: String,
    pub when_closed: WhenClosed,
    /// Said while open when too few first replies were measured.
    pub typical_reply: Option<String>,
    pub limits: Limits,
}

/// `WIDGET_ORIGINS`: comma- or space-separated `scheme://host[:port]`, no wildcard.
pub fn origins(env: Lookup) -> Result<Vec<String>, ConfigError> {
    let raw = env::required(env, "WIDGET_ORIGINS")?;
    let mut out = Vec::new();
    for o in raw
        .split([',', ' '])
        .map(str::trim)
        .filter(|o| !o.is_empty())
    {
        let o = normal_origin(o);
        let rest = o
            .strip_prefix("https://")
            .or_else(|| o.strip_prefix("http://"));
        let ok = rest.is_some_and(|host| {
            !host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        });
        if !ok {
            return Err(ConfigError::new(
                "WIDGET_ORIGINS",
                format!("{o:?} must be an origin like https://shop.example (no path, no wildcard)"),
            ));
        }
        out.push(o);
    }
    if out.is_empty() {
        return Err(ConfigError::new("WIDGET_ORIGINS", "names no origin"));
    }
    Ok(out)
}

/// An origin as browsers send it: lower case, no trailing slash, no default port.
fn normal_origin(o: &str) -> String {
    let o = o.trim().trim_end_matches('/').to_ascii_lowercase();
    if let Some(host) = o
        .strip_prefix("https://")
        .and_then(|h| h.strip_suffix(":443"))
    {
        return format!("https://{host}");
    }
    if let Some(host) = o
        .strip_prefix("http://")
        .and_then(|h| h.strip_suffix(":80"))
    {
        return format!("http://{host}");
    }
    o
}

fn secret(env: Lookup, name: &str) -> Result<Option<WidgetSecret>, ConfigError> {
    env::optional(env, name)
        .map(|s| WidgetSecret::new(&s).map_err(|reason| ConfigError::new(name, reason)))
        .transpose()
}

fn per_minute(env: Lookup, name: &str, default: u32) -> Result<u32, ConfigError> {
    match env::optional(env, name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=10_000).contains(n))
            .ok_or_else(|| ConfigError::new(name, "must be a whole number from 1 to 10000")),
    }
}

fn text(env: Lookup, name: &str, default: &str) -> Result<String, ConfigError> {
    let v = env::optional(env, name).unwrap_or_else(|| default.to_string());
    let v = v.trim().to_string();
    if v.chars().count() > 200 {
        return Err(ConfigError::new(name, "must be at most 200 characters"));
    }
    Ok(v)
}

impl WidgetSettings {
    pub fn load(env: Lookup) -> Result<Self, ConfigError> {
        let origins = origins(env)?;
        let session_secret = secret(env, "WIDGET_SESSION_SECRET")?.ok_or_else(|| {
            ConfigError::new(
                "WIDGET_SESSION_SECRET",
                "is not set (it signs visitors' tokens: openssl rand -base64 32)",
            )
        })?;
        let when_closed = match env::optional(env, "WIDGET_WHEN_CLOSED").as_deref() {
            None | Some("show") => WhenClosed::Show,
            Some("require_contact") => WhenClosed::RequireContact,
            Some("hide") => WhenClosed::Hide,
            Some(_) => {
                return Err(ConfigError::new(
                    "WIDGET_WHEN_CLOSED",
                    "must be show, require_contact or hide",
                ));
            }
        };
        let typical = text(env, "WIDGET_TYPICAL_REPLY", "")?;
        let identity_secret = secret(env, "WIDGET_IDENTITY_SECRET")?;
        if identity_secret.as_ref() == Some(&session_secret) {
            return Err(ConfigError::new(
                "WIDGET_IDENTITY_SECRET",
                "must differ from WIDGET_SESSION_SECRET (sites hold it; it must sign no token)",
            ));
        }
        Ok(WidgetSettings {
            origins,
            session_secret,
            identity_secret,
            business_name: text(env, "WIDGET_BUSINESS_NAME", "Support")?,
            launcher_text: text(env, "WIDGET_LAUNCHER_TEXT", "Chat with us")?,
            when_closed,
            typical_reply: (!typical.is_empty()).then_some(typical),
            limits: Limits {
                visitor_messages: per_minute(env, "WIDGET_VISITOR_MESSAGES_PER_MINUTE", 12)?,
                ip_messages: per_minute(env, "WIDGET_IP_MESSAGES_PER_MINUTE", 60)?,
                ip_sessions: per_minute(env, "WIDGET_IP_SESSIONS_PER_MINUTE", 20)?,
            },
        })
    }

    /// Whether `origin` (a request's `Origin`) may use the widget.
    pub fn allows(&self, origin: &str) -> bool {
        self.origins.contains(&normal_origin(origin))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)]) -> Result<WidgetSettings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        WidgetSettings::load(&|k| map.get(k).cloned())
    }

    const SECRET: (&str, &str) = ("WIDGET_SESSION_SECRET", "0123456789abcdef0123456789abcdef");

    #[test]
    fn settings_are_checked_and_errors_name_the_variable() {
        let s = load(&[
            (
                "WIDGET_ORIGINS",
                "https://Shop.example:443/, http://localhost:3000",
            ),
            SECRET,
        ])
        .unwrap();
        assert_eq!(s.origins, ["https://shop.example", "http://localhost:3000"]);
        assert!(s.allows("https://shop.example"));
        assert!(s.allows("https://SHOP.example:443"));
        assert!(!s.allows("https://evil.example"));
        assert!(!s.allows("null"));
        assert_eq!(s.when_closed, WhenClosed::Show);
        assert_eq!(s.launcher_text, "Chat with us");
        for (vars, field) in [
            (vec![SECRET], "WIDGET_ORIGINS"),
            (vec![("WIDGET_ORIGINS", "*"), SECRET], "WIDGET_ORIGINS"),
            (
                vec![("WIDGET_ORIGINS", "https://a.example/path"), SECRET],
                "WIDGET_ORIGINS",
            ),
            (
                vec![("WIDGET_ORIGINS", "https://a.example")],
                "WIDGET_SESSION_SECRET",
            ),
            (
                vec![
                    ("WIDGET_ORIGINS", "https://a.example"),
                    ("WIDGET_SESSION_SECRET", "short"),
                ],
                "WIDGET_SESSION_SECRET",
            ),
            (
                vec![
                    ("WIDGET_ORIGINS", "https://a.example"),
                    SECRET,
                    ("WIDGET_WHEN_CLOSED", "never"),
                ],
                "WIDGET_WHEN_CLOSED",
            ),
            (
                vec![
                    ("WIDGET_ORIGINS", "https://a.example"),
                    SECRET,
                    ("WIDGET_IP_MESSAGES_PER_MINUTE", "0"),
                ],
                "WIDGET_IP_MESSAGES_PER_MINUTE",
            ),
        ] {
            assert_eq!(load(&vars).unwrap_err().field, field);
        }
    }
}
