//! Who a website visitor is. The widget holds a signed token
//! `v1.<kind>.<subject, base64url>.<issued, unix seconds>.<mac>`: `a` (anonymous, a
//! random id minted here) or `u` (a site's own user id, admitted only with a
//! `user_hash` the site computed with a secret it shares with us). The MAC is
//! HMAC-SHA256 under `WIDGET_SESSION_SECRET`, so no one can write a token for a
//! visitor they are not; nothing is stored server-side. The visitor's conversation id
//! follows from the token alone (see [`Visitor::endpoint`]).

use crate::conversation::{Channel, Endpoint};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How long an anonymous visitor's token is good for (a visitor who comes back within
/// it finds their conversation; the widget renews it on each visit).
pub const ANONYMOUS_DAYS: i64 = 400;
/// How long a signed-in user's token is good for (the site passes a fresh
/// `user_hash` on every page, so a short life costs nothing).
pub const USER_DAYS: i64 = 30;
/// Longest user id a site may pass.
pub const MAX_USER_ID: usize = 128;

/// A secret of at least 32 characters (`openssl rand -base64 32`).
#[derive(Clone, PartialEq, Eq)]
pub struct WidgetSecret(Vec<u8>);

impl WidgetSecret {
    pub fn new(secret: &str) -> Result<Self, String> {
        let secret = secret.trim();
        if secret.len() < 32 {
            return Err("must be at least 32 characters (openssl rand -base64 32)".into());
        }
        Ok(WidgetSecret(secret.as_bytes().to_vec()))
    }

    fn hmac(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length")
    }

    /// A keyed digest of `value` for `purpose` (32 hex digits): a key for a counter
    /// that must not carry the value (an IP address).
    pub fn digest(&self, purpose: &str, value: &str) -> String {
        let mut m = self.hmac();
        m.update(b"asyncdesk/");
        m.update(purpose.as_bytes());
        m.update(b"\n");
        m.update(value.as_bytes());
        hex::encode(&m.finalize().into_bytes()[..16])
    }
}

impl std::fmt::Debug for WidgetSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WidgetSecret(..)")
    }
}

/// A visitor the token vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visitor {
    /// A browser we gave an id to (32 hex digits).
    Anonymous(String),
    /// A user of the site, by the site's own id (vouched for by `user_hash`).
    User(String),
}

impl Visitor {
    /// A new anonymous visitor with an unguessable id (122 random bits).
    pub fn new_anonymous() -> Self {
        Visitor::Anonymous(uuid::Uuid::new_v4().simple().to_string())
    }

    fn kind(&self) -> &'static str {
        match self {
            Visitor::Anonymous(_) => "a",
            Visitor::User(_) => "u",
        }
    }

    fn subject(&self) -> &str {
        match self {
            Visitor::Anonymous(id) | Visitor::User(id) => id,
        }
    }

    /// The visitor's side of the web conversation on `site`: one conversation per
    /// visitor (a user's on every device).
    pub fn endpoint(&self, site: &str) -> Endpoint {
        let customer_id = match self {
            Visitor::Anonymous(id) => format!("visitor:{id}"),
            Visitor::User(id) => format!("user:{id}"),
        };
        Endpoint {
            channel: Channel::Web,
            business_id: site.to_string(),
            customer_id,
        }
    }

    pub fn is_user(&self) -> bool {
        matches!(self, Visitor::User(_))
    }

    fn lifetime(&self) -> Duration {
        match self {
            Visitor::Anonymous(_) => Duration::days(ANONYMOUS_DAYS),
            Visitor::User(_) => Duration::days(USER_DAYS),
        }
    }
}

fn mac(secret: &WidgetSecret, kind: &str, subject: &str, issued: i64) -> String {
    let mut m = secret.hmac();
    m.update(b"asyncdesk/widget-visitor/v1\n");
    m.update(kind.as_bytes());
    m.update(b"\n");
    m.update(subject.as_bytes());
    m.update(b"\n");
    m.update(issued.to_string().as_bytes());
    URL_SAFE_NO_PAD.encode(m.finalize().into_bytes())
}

/// A token for `visitor`, issued `now`.
pub fn mint(secret: &WidgetSecret, visitor: &Visitor, now: DateTime<Utc>) -> String {
    let issued = now.timestamp();
    format!(
        "v1.{}.{}.{issued}.{}",
        visitor.kind(),
        URL_SAFE_NO_PAD.encode(visitor.subject()),
        mac(secret, visitor.kind(), visitor.subject(), issued)
    )
}

/// Why a token was refused (the answer says only "invalid token").
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("not a widget token")]
    Malformed,
    #[error("the signature does not match")]
    Forged,
    #[error("the token has expired")]
    Expired,
}

/// The visitor and issue time of a valid, unexpired token.
pub fn verify(
    secret: &WidgetSecret,
    token: &str,
    now: DateTime<Utc>,
) -> Result<(Visitor, DateTime<Utc>), TokenError> {
    if token.len() > 512 {
        return Err(TokenError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some("v1"), Some(kind), Some(subject), Some(issued), Some(presented), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(TokenError::Malformed);
    };
    let subject = URL_SAFE_NO_PAD
        .decode(subject)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or(TokenError::Malformed)?;
    let issued_at: i64 = issued.parse().map_err(|_| TokenError::Malformed)?;
    let visitor = match kind {
        "a" if is_anonymous_id(&subject) => Visitor::Anonymous(subject),
        "u" if valid_user_id(&subject).is_ok() => Visitor::User(subject),
        _ => return Err(TokenError::Malformed),
    };
    let expected = mac(secret, kind, visitor.subject(), issued_at);
    if !crate::secret::digests_match(expected.as_bytes(), presented.as_bytes()) {
        return Err(TokenError::Forged);
    }
    let issued = DateTime::from_timestamp(issued_at, 0).ok_or(TokenError::Malformed)?;
    // A token from the future was not minted by this clock (a minute of skew).
    if issued > now + Duration::minutes(1) || issued + visitor.lifetime() <= now {
        return Err(TokenError::Expired);
    }
    Ok((visitor, issued))
}

fn is_anonymous_id(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// A site's user id: 1 to [`MAX_USER_ID`] visible characters, no white space.
pub fn valid_user_id(id: &str) -> Result<(), &'static str> {
    if id.is_empty() || id.chars().count() > MAX_USER_ID {
        return Err("user_id must be 1 to 128 characters");
    }
    if id.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("user_id must not contain white space or control characters");
    }
    Ok(())
}

/// The `user_hash` a site computes for `user_id`: HMAC-SHA256 under the identity
/// secret, lower-case hex (as `echo -n "$id" | openssl dgst -sha256 -hmac "$secret"`).
pub fn user_hash(identity_secret: &WidgetSecret, user_id: &str) -> String {
    let mut m = identity_secret.hmac();
    m.update(user_id.as_bytes());
    hex::encode(m.finalize().into_bytes())
}

/// Whether `presented` is the `user_hash` of `user_id` (constant time; case of the
/// hex digits ignored).
pub fn user_hash_matches(identity_secret: &WidgetSecret, user_id: &str, presented: &str) -> bool {
    let expected = user_hash(identity_secret, user_id);
    crate::secret::digests_match(
        expected.as_bytes(),
        presented.trim().to_ascii_lowercase().as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> WidgetSecret {
        WidgetSecret::new("test-widget-secret-of-at-least-32-chars").unwrap()
    }

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_token_vouches_for_its_visitor_only() {
        let now = t("2026-12-03T10:00:00Z");
        let v = Visitor::new_anonymous();
        let token = mint(&secret(), &v, now);
        assert_eq!(verify(&secret(), &token, now).unwrap().0, v);
        // Another visitor's id with this token's signature.
        let other = Visitor::new_anonymous();
        let parts: Vec<&str> = token.split('.').collect();
        let forged = format!(
            "v1.a.{}.{}.{}",
            URL_SAFE_NO_PAD.encode(other.subject()),
            parts[3],
            parts[4]
        );
        assert_eq!(verify(&secret(), &forged, now), Err(TokenError::Forged));
        // Anonymous turned user.
        let forged = format!("v1.u.{}.{}.{}", parts[2], parts[3], parts[4]);
        assert_eq!(verify(&secret(), &forged, now), Err(TokenError::Forged));
        // Another deployment's secret.
        let theirs = WidgetSecret::new("another-secret-another-secret-another").unwrap();
        assert_eq!(verify(&theirs, &token, now), Err(TokenError::Forged));
        for bad in ["", "v1", "v1.a.x.1.y", "v2.a.b.c.d", &format!("{token}.x")] {
            assert!(verify(&secret(), bad, now).is_err(), "{bad}");
        }
    }

    #[test]
    fn tokens_expire() {
        let now = t("2026-12-03T10:00:00Z");
        let anon = mint(&secret(), &Visitor::new_anonymous(), now);
        assert!(verify(&secret(), &anon, now + Duration::days(399)).is_ok());
        assert_eq!(
            verify(&secret(), &anon, now + Duration::days(400)),
            Err(TokenError::Expired)
        );
        let user = mint(&secret(), &Visitor::User("42".into()), now);
        assert_eq!(
            verify(&secret(), &user, now + Duration::days(30)),
            Err(TokenError::Expired)
        );
        assert_eq!(
            verify(&secret(), &anon, now - Duration::minutes(5)),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn user_hash_is_the_sites_hmac_of_the_id() {
        let identity = WidgetSecret::new("site-identity-secret-0123456789abcdef").unwrap();
        let h = user_hash(&identity, "user-42");
        assert_eq!(h.len(), 64);
        assert!(user_hash_matches(&identity, "user-42", &h));
        assert!(user_hash_matches(&identity, "user-42", &h.to_uppercase()));
        assert!(!user_hash_matches(&identity, "user-43", &h));
        assert!(!user_hash_matches(&identity, "user-42", &h[..63]));
        assert_eq!(
            Visitor::User("user-42".into())
                .endpoint("site")
                .conversation_id(),
            Visitor::User("user-42".into())
                .endpoint("site")
                .conversation_id()
        );
        assert!(valid_user_id("a b").is_err());
        assert!(valid_user_id(&"x".repeat(129)).is_err());
    }
}
