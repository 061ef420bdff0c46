//! Agent API keys: `AGENT_API_KEYS` = comma-separated `agent_id=<sha256 hex of key>`.
//! Only hashes are configured; a presented bearer key is hashed and compared in
//! constant time against every configured hash.

pub mod session;

use sha2::{Digest, Sha256};

#[derive(Clone, PartialEq, Eq)]
pub struct AgentKeys {
    keys: Vec<(String, [u8; 32])>,
    /// Agents whose entry ends in `:admin` (may erase a customer's data).
    admins: Vec<String>,
}

impl std::fmt::Debug for AgentKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("AgentKeys").field("agents", &ids).finish()
    }
}

/// The hex SHA-256 of an API key, as it goes into `AGENT_API_KEYS`.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

impl AgentKeys {
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut keys = Vec::new();
        let mut admins = Vec::new();
        for (i, part) in spec
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .enumerate()
        {
            let (id, hash) = part
                .split_once('=')
                .ok_or_else(|| format!("entry {i} must look like agent_id=<sha256 hex>[:admin]"))?;
            let (hash, admin) = match hash.trim().rsplit_once(':') {
                Some((h, "admin")) => (h, true),
                Some((_, scope)) => {
                    return Err(format!(
                        "entry {i}: unknown scope {scope:?} (only \"admin\")"
                    ));
                }
                None => (hash, false),
            };
            let id = id.trim();
            if id.is_empty()
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'@'))
            {
                return Err(format!(
                    "entry {i}: agent id {id:?} must be non-empty and use a-z, 0-9, '_', '-', '.', '@'"
                ));
            }
            let bytes = hex::decode(hash.trim()).ok().and_then(|b| <[u8; 32]>::try_from(b).ok()).ok_or_else(|| {
                format!("entry {i} ({id}): the value must be the 64-character hex SHA-256 of the key, not the key")
            })?;
            if keys.iter().any(|(other, _)| other == id) {
                return Err(format!("agent id {id:?} appears twice"));
            }
            keys.push((id.to_string(), bytes));
            if admin {
                admins.push(id.to_string());
            }
        }
        if keys.is_empty() {
            return Err("at least one agent key is required".into());
        }
        Ok(AgentKeys { keys, admins })
    }

    /// Whether `agent` has the admin scope (`agent_id=<hash>:admin`).
    pub fn is_admin(&self, agent: &str) -> bool {
        self.admins.iter().any(|a| a == agent)
    }

    /// Whether `agent` is one of the configured agent ids.
    pub fn knows(&self, agent: &str) -> bool {
        self.keys.iter().any(|(id, _)| id == agent)
    }

    /// The stored hash of `agent`'s key (what signs its desk sessions).
    pub(crate) fn hash_of(&self, agent: &str) -> Option<&[u8; 32]> {
        self.keys.iter().find(|(id, _)| id == agent).map(|(_, h)| h)
    }

    /// The agent an `Authorization` header value belongs to, if any.
    pub fn authenticate(&self, authorization: Option<&str>) -> Option<&str> {
        let (scheme, key) = authorization?.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        self.agent_of_key(key)
    }

    /// The agent a presented key belongs to, if any.
    pub fn agent_of_key(&self, key: &str) -> Option<&str> {
        let key = key.trim();
        if key.is_empty() {
            return None;
        }
        let presented: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        let mut found = None;
        for (id, hash) in &self.keys {
            if crate::secret::digests_match(hash, &presented) {
                found = Some(id.as_str());
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_keys_match_their_hash() {
        let keys = AgentKeys::parse(&format!(
            "alice={}, bob={}",
            hash_key("k-alice"),
            hash_key("k-bob")
        ))
        .unwrap();
        assert_eq!(keys.authenticate(Some("Bearer k-alice")), Some("alice"));
        assert_eq!(keys.authenticate(Some("Bearer k-bob")), Some("bob"));
        assert_eq!(keys.authenticate(Some("Bearer k-eve")), None);
        assert_eq!(keys.authenticate(Some("bearer k-alice")), Some("alice"));
        assert_eq!(keys.authenticate(Some("Basic k-alice")), None);
        assert_eq!(keys.authenticate(Some("k-alice")), None);
        assert_eq!(keys.authenticate(Some("Bearer ")), None);
        assert_eq!(keys.authenticate(None), None);
        assert!(!format!("{keys:?}").contains(&hash_key("k-alice")));
    }

    #[test]
    fn rejects_plain_keys_and_duplicates() {
        assert!(
            AgentKeys::parse("alice=k-alice")
                .unwrap_err()
                .contains("SHA-256")
        );
        let h = hash_key("x");
        assert!(
            AgentKeys::parse(&format!("a={h},a={h}"))
                .unwrap_err()
                .contains("twice")
        );
        assert!(AgentKeys::parse("").is_err());
    }
}
