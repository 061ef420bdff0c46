//! Secrets at cold start from SSM Parameter Store (SecureString), never from the
//! Lambda environment: when `SECRETS_SSM_PATH` is set (the template sets it to the
//! stack's path, e.g. `/asyncdesk/prod`), each function reads the secrets it
//! needs, `<path>/<NAME>` for every name, in one GetParameters call with
//! decryption, and its configuration reads them like variables. Without the path
//! (the local stack, tests) the environment is all there is. A parameter that does
//! not exist leaves its variable unset (that channel is off).

use crate::env::{ConfigError, Lookup};
use std::collections::HashMap;

/// The variables that hold secrets, and so come from SSM in a deployment.
pub const SECRET_NAMES: &[&str] = &[
    "WHATSAPP_APP_SECRET",
    "WHATSAPP_VERIFY_TOKEN",
    "WHATSAPP_ACCESS_TOKEN",
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_WEBHOOK_SECRET",
    "AGENT_API_KEYS",
    "DESK_SESSION_SECRET",
    "WIDGET_SESSION_SECRET",
    "WIDGET_IDENTITY_SECRET",
];

/// At most this many names go in one GetParameters call (SSM's limit).
const BATCH: usize = 10;

/// The settings a function reads: the environment, with the secrets from SSM
/// on top.
#[derive(Debug, Default, Clone)]
pub struct Settings {
    secrets: HashMap<String, String>,
}

impl Settings {
    /// A setting by name: the secret when SSM had it, else the variable.
    pub fn get(&self, env: Lookup, name: &str) -> Option<String> {
        self.secrets.get(name).cloned().or_else(|| env(name))
    }

    /// How many secrets came from SSM.
    pub fn secrets_loaded(&self) -> usize {
        self.secrets.len()
    }
}

/// Reads `names` (a function's secrets) from SSM under `SECRETS_SSM_PATH`, or
/// nothing when it is unset. One request (`names` holds at most 10).
pub async fn load(
    sdk: &crate::sdk::SdkConfig,
    env: Lookup<'_>,
    names: &[&str],
) -> Result<Settings, ConfigError> {
    let Some(path) = crate::env::optional(env, "SECRETS_SSM_PATH") else {
        return Ok(Settings::default());
    };
    let path = path.trim_end_matches('/').to_string();
    if !path.starts_with('/') || path.contains(char::is_whitespace) {
        return Err(ConfigError::new(
            "SECRETS_SSM_PATH",
            "must be a parameter path like /asyncdesk/prod",
        ));
    }
    let client = aws_sdk_ssm::Client::new(sdk);
    read(&client, &path, names).await
}

/// Reads `names` under `path` with `client`.
pub async fn read(
    client: &aws_sdk_ssm::Client,
    path: &str,
    names: &[&str],
) -> Result<Settings, ConfigError> {
    let mut secrets = HashMap::new();
    for chunk in names.chunks(BATCH) {
        let full: Vec<String> = chunk.iter().map(|n| format!("{path}/{n}")).collect();
        let out = client
            .get_parameters()
            .set_names(Some(full))
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| {
                ConfigError::new(
                    "SECRETS_SSM_PATH",
                    format!(
                        "the secrets under {path} could not be read: {}",
                        aws_sdk_ssm::error::DisplayErrorContext(e)
                    ),
                )
            })?;
        for p in out.parameters() {
            let (Some(name), Some(value)) = (p.name(), p.value()) else {
                continue;
            };
            if let Some(short) = name.rsplit('/').next() {
                secrets.insert(short.to_string(), value.to_string());
            }
        }
    }
    tracing::info!(
        event = "secrets",
        loaded = secrets.len(),
        missing = names.len() - secrets.len(),
        "secrets read from SSM"
    );
    Ok(Settings { secrets })
}
