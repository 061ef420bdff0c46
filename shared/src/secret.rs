//! The one comparison for secrets (webhook tokens, verify tokens, API key hashes):
//! constant time in the contents, and in the length too, because both sides are
//! hashed to 32 bytes first.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Whether `presented` equals `expected`, without leaking where they differ.
pub fn matches(presented: &[u8], expected: &[u8]) -> bool {
    let a = Sha256::digest(presented);
    let b = Sha256::digest(expected);
    a.ct_eq(&b).into()
}

/// Whether two digests (e.g. an HMAC and the one a request carried) are equal, in
/// constant time. Different lengths never match.
pub fn digests_match(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_only_when_equal() {
        assert!(matches(b"s3cret", b"s3cret"));
        assert!(!matches(b"s3cret", b"s3cres"));
        assert!(!matches(b"s3cret", b"s3cret-longer"));
        assert!(!matches(b"", b"x"));
        assert!(digests_match(&[1, 2, 3], &[1, 2, 3]));
        assert!(!digests_match(&[1, 2, 3], &[1, 2]));
        assert!(!digests_match(&[1, 2, 3], &[1, 2, 4]));
    }
}
