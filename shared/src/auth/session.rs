//! Desk sessions: after signing in with their key, an agent's browser holds a cookie
//! `asyncdesk_desk=v1.<agent>.<expiry>.<mac>` (HttpOnly, Secure, SameSite=Strict).
//! The MAC is HMAC-SHA256 under the stored hash of the agent's key, so a session
//! dies with the key: rotating a key (its entry in `AGENT_API_KEYS`) revokes every
//! session signed with it. Nothing is stored server-side. Threat model: docs/desk.md.

use super::AgentKeys;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The cookie's name.
pub const COOKIE: &str = "asyncdesk_desk";
/// The header every cookie-authenticated request carries. A page of another origin
/// cannot send it without a CORS preflight, which the API never grants.
pub const DESK_HEADER: &str = "x-asyncdesk-desk";
/// How long a session lasts (no sliding renewal: sign in again after a work day).
pub const SESSION_HOURS: i64 = 12;

const VERSION: &str = "v1";

fn mac(hash: &[u8; 32], agent: &str, expires: i64) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(hash).expect("HMAC takes any key length");
    m.update(b"asyncdesk/desk-session/v1\n");
    m.update(agent.as_bytes());
    m.update(b"\n");
    m.update(expires.to_string().as_bytes());
    hex::encode(m.finalize().into_bytes())
}

/// A signed session of `agent` until `expires`, or `None` for an unknown agent.
pub fn mint(keys: &AgentKeys, agent: &str, expires: DateTime<Utc>) -> Option<String> {
    let hash = keys.hash_of(agent)?;
    let at = expires.timestamp();
    Some(format!("{VERSION}.{agent}.{at}.{}", mac(hash, agent, at)))
}

/// The agent and expiry of a valid, unexpired session token.
pub fn verify<'k>(
    keys: &'k AgentKeys,
    token: &str,
    now: DateTime<Utc>,
) -> Option<(&'k str, DateTime<Utc>)> {
    // Agent ids hold no '.'-free guarantee: split the fixed parts off both ends.
    let rest = token.strip_prefix("v1.")?;
    let (rest, presented) = rest.rsplit_once('.')?;
    let (agent, expires) = rest.rsplit_once('.')?;
    let expires: i64 = expires.parse().ok()?;
    let hash = keys.hash_of(agent)?;
    let expected = mac(hash, agent, expires);
    if !crate::secret::digests_match(expected.as_bytes(), presented.as_bytes()) {
        return None;
    }
    let until = DateTime::from_timestamp(expires, 0)?;
    if until <= now || until > now + chrono::Duration::hours(SESSION_HOURS) {
        return None;
    }
    let id = keys.keys.iter().find(|(id, _)| id == agent)?.0.as_str();
    Some((id, until))
}

/// The session cookie's value in a `Cookie` header, if there is one.
pub fn from_cookie_header(header: &str) -> Option<&str> {
    header
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, v)| v.trim())
}

/// The `Set-Cookie` value that holds `token` until `expires`.
pub fn set_cookie(token: &str, expires: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let max_age = (expires - now).num_seconds().max(0);
    format!("{COOKIE}={token}; Path=/; Max-Age={max_age}; HttpOnly; Secure; SameSite=Strict")
}

/// The `Set-Cookie` value that removes the session.
pub fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::hash_key;

    fn keys(alice_key: &str) -> AgentKeys {
        AgentKeys::parse(&format!(
            "alice={},b.o.b={}",
            hash_key(alice_key),
            hash_key("k-bob")
        ))
        .unwrap()
    }

    #[test]
    fn a_session_verifies_until_it_expires() {
        let now = Utc::now();
        let k = keys("k-alice");
        let until = now + chrono::Duration::hours(SESSION_HOURS);
        let t = mint(&k, "alice", until).unwrap();
        assert_eq!(verify(&k, &t, now).map(|(a, _)| a), Some("alice"));
        assert_eq!(verify(&k, &t, until), None);
        // Agent ids with dots.
        let t = mint(&k, "b.o.b", until).unwrap();
        assert_eq!(verify(&k, &t, now).map(|(a, _)| a), Some("b.o.b"));
        assert!(mint(&k, "eve", until).is_none());
    }

    #[test]
    fn forged_or_rotated_sessions_are_refused() {
        let now = Utc::now();
        let k = keys("k-alice");
        let until = now + chrono::Duration::hours(1);
        let t = mint(&k, "alice", until).unwrap();
        // Another agent's name on alice's MAC; a later expiry; a flipped MAC.
        assert_eq!(verify(&k, &t.replacen("alice", "b.o.b", 1), now), None);
        let later = until + chrono::Duration::hours(1);
        let stretched = t.replace(
            &until.timestamp().to_string(),
            &later.timestamp().to_string(),
        );
        assert_eq!(verify(&k, &stretched, now), None);
        let mut flipped = t.clone();
        let last = flipped.pop().unwrap();
        flipped.push(if last == '0' { '1' } else { '0' });
        assert_eq!(verify(&k, &flipped, now), None);
        // A rotated key revokes the session.
        assert_eq!(verify(&keys("k-alice-2"), &t, now), None);
        // Far-future expiries are refused even with a valid MAC.
        let far = mint(&k, "alice", now + chrono::Duration::days(30)).unwrap();
        assert_eq!(verify(&k, &far, now), None);
        assert_eq!(verify(&k, "", now), None);
        assert_eq!(verify(&k, "v1.alice", now), None);
    }

    #[test]
    fn the_cookie_is_found_and_set_strictly() {
        assert_eq!(
            from_cookie_header("a=1; asyncdesk_desk=v1.x.2.ff; b=2"),
            Some("v1.x.2.ff")
        );
        assert_eq!(from_cookie_header("a=1"), None);
        let now = Utc::now();
        let c = set_cookie("t", now + chrono::Duration::hours(1), now);
        for part in [
            "HttpOnly",
            "Secure",
            "SameSite=Strict",
            "Max-Age=3600",
            "Path=/",
        ] {
            assert!(c.contains(part), "{c}");
        }
        assert!(clear_cookie().contains("Max-Age=0"));
    }
}
