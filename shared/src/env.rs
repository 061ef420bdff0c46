//! Reading settings from the environment: the one error type every configuration
//! check returns (it names the variable and, for JSON values, the field) and the
//! helpers that read a variable. A leaf module: channels and `config` both use it.

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
#[error("invalid configuration: {field}: {reason}")]
pub struct ConfigError {
    pub field: String,
    pub reason: String,
}

impl ConfigError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Where settings come from: the process environment in Lambda, a map in tests and
/// the local stack.
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Reads the process environment.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The variable's value, `None` when it is unset or blank (SAM passes an empty
/// parameter as an empty string).
pub fn optional(env: Lookup, name: &str) -> Option<String> {
    env(name).filter(|v| !v.trim().is_empty())
}

pub fn required(env: Lookup, name: &str) -> Result<String, ConfigError> {
    match env(name) {
        Some(v) if !v.trim().is_empty() => Ok(v),
        Some(_) => Err(ConfigError::new(name, "must not be empty")),
        None => Err(ConfigError::new(name, "is not set")),
    }
}

/// An http(s) base URL, without a trailing slash; `default` when unset.
pub fn base_url(env: Lookup, name: &str, default: &str) -> Result<String, ConfigError> {
    let base = optional(env, name).unwrap_or_else(|| default.to_string());
    if !(base.starts_with("https://") || base.starts_with("http://")) {
        return Err(ConfigError::new(name, "must be an http(s) URL"));
    }
    Ok(base.trim_end_matches('/').to_string())
}

/// Whether any of `names` is set: a channel whose variables are all unset is simply
/// not enabled; one with some set must have all it needs.
pub fn any_set(env: Lookup, names: &[&str]) -> bool {
    names.iter().any(|n| optional(env, n).is_some())
}
