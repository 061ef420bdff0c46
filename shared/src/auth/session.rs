//! Desk sessions: after signing in with their key, an agent's browser holds a cookie
//! `__Host-asyncdesk_desk=v1.<agent>.<expiry>.<mac>` (HttpOnly, Secure,
//! SameSite=Strict; the `__Host-` prefix keeps a sibling subdomain from setting it).
//! The MAC is HMAC-SHA256 under `DESK_SESSION_SECRET` over the stored hash of the
//! agent's key, the agent and the expiry: a session dies with the key (rotating a
//! key, its entry in `AGENT_API_KEYS`, revokes every session signed with it), all
//! sessions die with the secret, and the hashes alone sign nothing. Nothing is
//! stored server-side. Threat model: docs/desk.md.

use super::AgentKeys;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use lambda_http::http::HeaderMap;
use sha2::Sha256;

/// The cookie's name.
pub const COOKIE: &str = "__Host-asyncdesk_desk";
/// The header every cookie-authenticated request carries. A page of another origin
/// cannot send it without a CORS preflight, which the API never grants.
pub const DESK_HEADER: &str = "x-asyncdesk-desk";
/// How long a session lasts (no sliding renewal: sign in again after a work day).
pub const SESSION_HOURS: i64 = 12;

const VERSION: &str = "v1";

/// `DESK_SESSION_SECRET`: at least 32 characters (e.g. `openssl rand -base64 32`).
#[derive(Clone, PartialEq, Eq)]
pub struct SessionSecret(Vec<u8>);

impl SessionSecret {
    pub fn new(secret: &str) -> Result<Self, String> {
        let secret = secret.trim();
        if secret.len() < 32 {
            return Err("must be at least 32 characters (openssl rand -base64 32)".into());
        }
        Ok(SessionSecret(secret.as_bytes().to_vec()))
    }
}

impl std::fmt::Debug for SessionSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionSecret(..)")
    }
}

fn mac(secret: &SessionSecret, hash: &[u8; 32], agent: &str, expires: i64) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(&secret.0).expect("HMAC takes any key length");
    m.update(b"asyncdesk/desk-session/v1\n");
    m.update(hash);
    m.update(b"\n");
    m.update(agent.as_bytes());
    m.update(b"\n");
    m.update(expires.to_string().as_bytes());
    hex::encode(m.finalize().into_bytes())
}

/// A signed session of `agent` until `expires`, or `None` for an unknown agent.
pub fn mint(
    secret: &SessionSecret,
    keys: &AgentKeys,
    agent: &str,
    expires: DateTime<Utc>,
) -> Option<String> {
    let hash = keys.hash_of(agent)?;
    let at = expires.timestamp();
    Some(format!(
        "{VERSION}.{agent}.{at}.{}",
        mac(secret, hash, agent, at)
    ))
}

/// The agent and expiry of a valid, unexpired session token.
pub fn verify<'k>(
    secret: &SessionSecret,
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
    let expected = mac(secret, hash, agent, expires);
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

/// Every value of the session cookie in a `Cookie` header (a browser may send
/// more than one cookie of a name).
pub fn from_cookie_header(header: &str) -> impl Iterator<Item = &str> {
    header
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .filter(|(name, _)| *name == COOKIE)
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

/// Whether a request may use a cookie: it carries the desk's header and does not
/// come from another site (`Sec-Fetch-Site`).
pub fn from_the_desk(headers: &HeaderMap) -> bool {
    let site_ok = match headers.get("sec-fetch-site").map(|v| v.to_str()) {
        None => true,
        Some(Ok(site)) => site == "same-origin" || site == "none",
        Some(Err(_)) => false,
    };
    site_ok && headers.get(DESK_HEADER).is_some()
}

/// The agent a request authenticates as: a bearer key, or a desk session (with the
/// desk's header, from the same site).
pub fn caller<'k>(
    headers: &HeaderMap,
    keys: &'k AgentKeys,
    secret: Option<&SessionSecret>,
    now: DateTime<Utc>,
) -> Option<&'k str> {
    let bearer = headers.get("authorization").and_then(|v| v.to_str().ok());
    if bearer.is_some() {
        return keys.authenticate(bearer);
    }
    if !from_the_desk(headers) {
        return None;
    }
    session_of(headers, keys, secret?, now).map(|(agent, _)| agent)
}

/// The first valid session among a request's cookies, and when it ends.
pub fn session_of<'k>(
    headers: &HeaderMap,
    keys: &'k AgentKeys,
    secret: &SessionSecret,
    now: DateTime<Utc>,
) -> Option<(&'k str, DateTime<Utc>)> {
    headers
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(from_cookie_header)
        .find_map(|token| verify(secret, keys, token, now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::hash_key;

    fn secret() -> SessionSecret {
        SessionSecret::new("a-test-secret-of-at-least-32-characters").unwrap()
    }

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
        let t = mint(&secret(), &k, "alice", until).unwrap();
        assert_eq!(
            verify(&secret(), &k, &t, now).map(|(a, _)| a),
            Some("alice")
        );
        assert_eq!(verify(&secret(), &k, &t, until), None);
        // Agent ids with dots.
        let t = mint(&secret(), &k, "b.o.b", until).unwrap();
        assert_eq!(
            verify(&secret(), &k, &t, now).map(|(a, _)| a),
            Some("b.o.b")
        );
        assert!(mint(&secret(), &k, "eve", until).is_none());
    }

    #[test]
    fn forged_or_rotated_sessions_are_refused() {
        let now = Utc::now();
        let k = keys("k-alice");
        let until = now + chrono::Duration::hours(1);
        let t = mint(&secret(), &k, "alice", until).unwrap();
        // Another agent's name on alice's MAC; a later expiry; a flipped MAC.
        assert_eq!(
            verify(&secret(), &k, &t.replacen("alice", "b.o.b", 1), now),
            None
        );
        let later = until + chrono::Duration::hours(1);
        let stretched = t.replace(
            &until.timestamp().to_string(),
            &later.timestamp().to_string(),
        );
        assert_eq!(verify(&secret(), &k, &stretched, now), None);
        let mut flipped = t.clone();
        let last = flipped.pop().unwrap();
        flipped.push(if last == '0' { '1' } else { '0' });
        assert_eq!(verify(&secret(), &k, &flipped, now), None);
        // A rotated key revokes the session.
        assert_eq!(verify(&secret(), &keys("k-alice-2"), &t, now), None);
        // So does another secret; a short one is refused.
        let other = SessionSecret::new("another-secret-of-at-least-32-chars!").unwrap();
        assert_eq!(verify(&other, &k, &t, now), None);
        assert!(SessionSecret::new("short").is_err());
        // Far-future expiries are refused even with a valid MAC.
        let far = mint(&secret(), &k, "alice", now + chrono::Duration::days(30)).unwrap();
        assert_eq!(verify(&secret(), &k, &far, now), None);
        assert_eq!(verify(&secret(), &k, "", now), None);
        assert_eq!(verify(&secret(), &k, "v1.alice", now), None);
    }

    #[test]
    fn the_cookie_is_found_and_set_strictly() {
        let found: Vec<&str> = from_cookie_header(
            "a=1; __Host-asyncdesk_desk=v1.x.2.ff; __Host-asyncdesk_desk=v1.y.3.ee; b=2",
        )
        .collect();
        assert_eq!(found, ["v1.x.2.ff", "v1.y.3.ee"]);
        assert_eq!(from_cookie_header("a=1").next(), None);
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
