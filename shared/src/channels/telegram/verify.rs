//! Webhook authentication: Telegram sends the `secret_token` given to setWebhook back
//! in `X-Telegram-Bot-Api-Secret-Token`. There is no body signature.

use crate::ports::AuthError;
use crate::secret;

/// setWebhook's rule for `secret_token`: 1-256 characters of A-Z, a-z, 0-9, _ and -.
pub fn check_secret_token(token: &str) -> Result<(), String> {
    let ok = (1..=256).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err("must be 1-256 characters of A-Z, a-z, 0-9, '_' and '-' (Telegram's rule for secret_token)".into())
    }
}

/// Compares the header with the configured secret in constant time.
pub fn verify_secret_token(header: Option<&str>, expected: &str) -> Result<(), AuthError> {
    match header {
        None => Err(AuthError(
            "missing X-Telegram-Bot-Api-Secret-Token header".into(),
        )),
        Some(h) if secret::matches(h.as_bytes(), expected.as_bytes()) => Ok(()),
        Some(_) => Err(AuthError(
            "X-Telegram-Bot-Api-Secret-Token does not match".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_token_must_match_exactly() {
        assert!(verify_secret_token(Some("abc_-1"), "abc_-1").is_ok());
        assert!(verify_secret_token(Some("abc_-2"), "abc_-1").is_err());
        assert!(verify_secret_token(Some(""), "abc_-1").is_err());
        assert!(verify_secret_token(None, "abc_-1").is_err());
        assert!(check_secret_token("ok_Token-1").is_ok());
        assert!(check_secret_token("").is_err());
        assert!(check_secret_token("no spaces").is_err());
        assert!(check_secret_token(&"a".repeat(257)).is_err());
    }
}
