//! The reports function's configuration, read and validated once at cold start.

use crate::auth::AgentKeys;
use crate::auth::session::SessionSecret;
use crate::config::{ConfigError, Lookup, business_hours, table_name};
use crate::hours::BusinessHours;

#[derive(Debug, Clone)]
pub struct ReportsConfig {
    pub table_name: String,
    /// What business minutes and promises are measured under.
    pub hours: BusinessHours,
    pub agent_keys: AgentKeys,
    /// The desk's sessions (`DESK_SESSION_SECRET`), so the desk can read reports.
    pub desk_session_secret: Option<SessionSecret>,
}

impl ReportsConfig {
    pub fn load(env: Lookup) -> Result<Self, ConfigError> {
        Ok(ReportsConfig {
            table_name: table_name(env)?,
            hours: business_hours(env)?,
            agent_keys: AgentKeys::parse(&crate::env::required(env, "AGENT_API_KEYS")?)
                .map_err(|reason| ConfigError::new("AGENT_API_KEYS", reason))?,
            desk_session_secret: match crate::env::optional(env, "DESK_SESSION_SECRET") {
                Some(s) => Some(
                    SessionSecret::new(&s)
                        .map_err(|reason| ConfigError::new("DESK_SESSION_SECRET", reason))?,
                ),
                None => None,
            },
        })
    }
}
