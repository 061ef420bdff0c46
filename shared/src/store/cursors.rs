//! Thread cursors: each one bound to the conversation it pages
//! and checksummed, so a mangled, hand-made or borrowed cursor is refused
//! (`InvalidCursor`, a 400) before any read.

use super::StoreError;
use crate::conversation::ConversationId;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::Digest;
use std::collections::HashMap;

/// A thread cursor: the sort key of the last message given, bound to its
/// conversation and checksummed, so a cursor of another conversation, of the queue,
/// or a mangled one is refused (`InvalidCursor`), never a 5xx.
pub fn encode_thread_cursor(id: &ConversationId, sk: &str) -> String {
    let sum = thread_cursor_sum(id, sk);
    URL_SAFE_NO_PAD
        .encode(serde_json::json!({ "t": id.as_str(), "sk": sk, "sum": sum }).to_string())
}

fn thread_cursor_sum(id: &ConversationId, sk: &str) -> String {
    let mut h = sha2::Sha256::new();
    h.update(b"asyncdesk/thread-cursor/v1\0");
    h.update(id.as_str().as_bytes());
    h.update(b"\0");
    h.update(sk.as_bytes());
    hex::encode(&h.finalize()[..8])
}

/// The message sort key a thread cursor of `id` stands for.
pub fn decode_thread_cursor(cursor: &str, id: &ConversationId) -> Result<String, StoreError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| StoreError::InvalidCursor)?;
    let v: HashMap<String, String> =
        serde_json::from_slice(&bytes).map_err(|_| StoreError::InvalidCursor)?;
    let (Some(t), Some(sk), Some(sum)) = (v.get("t"), v.get("sk"), v.get("sum")) else {
        return Err(StoreError::InvalidCursor);
    };
    if v.len() != 3
        || t != id.as_str()
        || !sk.starts_with("MSG#")
        || *sum != thread_cursor_sum(id, sk)
    {
        return Err(StoreError::InvalidCursor);
    }
    Ok(sk.clone())
}
