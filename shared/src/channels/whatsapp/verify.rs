//! Webhook authentication: the GET subscription handshake and X-Hub-Signature-256.

use crate::secret;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("missing X-Hub-Signature-256 header")]
    Missing,
    #[error("malformed X-Hub-Signature-256 header")]
    Malformed,
    #[error("signature does not match the body")]
    Mismatch,
}

fn hmac(app_secret: &[u8], body: &[u8]) -> Vec<u8> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(app_secret).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// Checks `X-Hub-Signature-256: sha256=<hex>` against HMAC-SHA256(app secret, raw body),
/// in constant time. `body` must be the exact bytes received.
pub fn verify_signature(
    app_secret: &[u8],
    body: &[u8],
    header: Option<&str>,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let hex_sig = header
        .trim()
        .strip_prefix("sha256=")
        .ok_or(SignatureError::Malformed)?;
    let presented = hex::decode(hex_sig).map_err(|_| SignatureError::Malformed)?;
    if secret::digests_match(&hmac(app_secret, body), &presented) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The header value Meta would send for `body`; used by tests and the local stack.
pub fn sign(app_secret: &[u8], body: &[u8]) -> String {
    format!("sha256={}", hex::encode(hmac(app_secret, body)))
}

/// The GET subscription handshake: returns the challenge to echo when the mode is
/// `subscribe` and the token matches, `None` otherwise (answer 403).
pub fn verify_handshake<'a>(
    mode: Option<&str>,
    token: Option<&str>,
    challenge: Option<&'a str>,
    verify_token: &str,
) -> Option<&'a str> {
    let token_ok = token.is_some_and(|t| secret::matches(t.as_bytes(), verify_token.as_bytes()));
    (mode == Some("subscribe") && token_ok).then_some(challenge?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_accepts_exact_bytes_only() {
        let body = "{\"text\":\"Grüße 👋\"}".as_bytes();
        let sig = sign(b"s3cret", body);
        assert_eq!(verify_signature(b"s3cret", body, Some(&sig)), Ok(()));
        assert_eq!(
            verify_signature(b"other", body, Some(&sig)),
            Err(SignatureError::Mismatch)
        );
        let reencoded = "{\"text\":\"Gr\\u00fc\\u00dfe 👋\"}".as_bytes();
        assert_eq!(
            verify_signature(b"s3cret", reencoded, Some(&sig)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(b"s3cret", body, None),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify_signature(b"s3cret", body, Some("sha1=abc")),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify_signature(b"s3cret", body, Some("sha256=zz")),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify_signature(b"s3cret", body, Some("sha256=abcd")),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn handshake_needs_subscribe_and_token() {
        assert_eq!(
            verify_handshake(Some("subscribe"), Some("tok"), Some("42"), "tok"),
            Some("42")
        );
        assert_eq!(
            verify_handshake(Some("subscribe"), Some("bad"), Some("42"), "tok"),
            None
        );
        assert_eq!(
            verify_handshake(Some("unsubscribe"), Some("tok"), Some("42"), "tok"),
            None
        );
        assert_eq!(
            verify_handshake(Some("subscribe"), None, Some("42"), "tok"),
            None
        );
    }
}
