//! Pagination cursors: each one bound to what it pages (a conversation, a listing)
//! and checksummed, so a mangled, hand-made or borrowed cursor is refused
//! (`InvalidCursor`, a 400) before any read.

use super::StoreError;
use super::dynamo::Item;
use super::items::*;
use crate::conversation::{ConversationId, ConversationStatus};
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::Digest;
use std::collections::HashMap;

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

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

/// How many months of resolved conversations the resolved listing walks back.
pub(super) const RESOLVED_MONTHS_BACK: i64 = 36;

/// `resolved#2026-01` -> `resolved#2025-12`.
pub(super) fn previous_month(queue: &str) -> String {
    let ym = queue.trim_start_matches("resolved#");
    let (y, m) = ym.split_once('-').unwrap_or(("1970", "01"));
    let (y, m): (i32, u32) = (y.parse().unwrap_or(1970), m.parse().unwrap_or(1));
    if m <= 1 {
        resolved_queue(y - 1, 12)
    } else {
        resolved_queue(y, m - 1)
    }
}

/// A queue cursor: the `queue` partition and, within it, the index's
/// LastEvaluatedKey (none: the partition's start), base64url JSON.
pub fn encode_cursor(queue: &str, key: Option<&Item>) -> Option<String> {
    let key = match key {
        None => serde_json::Value::Null,
        Some(key) => {
            let mut map = serde_json::Map::new();
            for (name, value) in key {
                let v = match value {
                    AttributeValue::S(v) => serde_json::json!({ "S": v }),
                    AttributeValue::N(v) => serde_json::json!({ "N": v }),
                    _ => return None,
                };
                map.insert(name.clone(), v);
            }
            serde_json::Value::Object(map)
        }
    };
    let sum = listing_cursor_sum(queue, &key);
    Some(URL_SAFE_NO_PAD.encode(serde_json::json!({ "q": queue, "k": key, "s": sum }).to_string()))
}

/// The checksum of a listing cursor: a mangled or hand-made one is refused before
/// any read.
fn listing_cursor_sum(queue: &str, key: &serde_json::Value) -> String {
    let mut h = sha2::Sha256::new();
    h.update(b"asyncdesk/listing-cursor/v1\0");
    h.update(queue.as_bytes());
    h.update(b"\0");
    h.update(key.to_string().as_bytes());
    hex::encode(&h.finalize()[..8])
}

/// The partition and start key of a cursor this listing issued for `status`.
pub fn decode_cursor(
    cursor: &str,
    status: ConversationStatus,
) -> Result<(String, Option<Item>), StoreError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Raw {
        q: String,
        k: serde_json::Value,
        s: String,
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| StoreError::InvalidCursor)?;
    let raw: Raw = serde_json::from_slice(&bytes).map_err(|_| StoreError::InvalidCursor)?;
    if listing_cursor_sum(&raw.q, &raw.k) != raw.s {
        return Err(StoreError::InvalidCursor);
    }
    let k: Option<HashMap<String, HashMap<String, String>>> =
        serde_json::from_value(raw.k).map_err(|_| StoreError::InvalidCursor)?;
    let raw = (raw.q, k);
    struct Checked {
        q: String,
        k: Option<HashMap<String, HashMap<String, String>>>,
    }
    let raw = Checked { q: raw.0, k: raw.1 };
    let fits = match status {
        ConversationStatus::Resolved => raw
            .q
            .strip_prefix("resolved#")
            .is_some_and(|ym| ym.len() == 7 && ym.as_bytes()[4] == b'-'),
        other => raw.q == other.as_str(),
    };
    if !fits {
        return Err(StoreError::InvalidCursor);
    }
    let Some(map) = raw.k else {
        return Ok((raw.q, None));
    };
    let expected = [PK, SK, QUEUE, "status_since"];
    if map.len() != expected.len() || !expected.iter().all(|k| map.contains_key(*k)) {
        return Err(StoreError::InvalidCursor);
    }
    let mut key = Item::new();
    for (name, typed) in map {
        let value = match (typed.get("S"), typed.get("N")) {
            (Some(v), None) if !v.is_empty() => s(v.clone()),
            (None, Some(v)) if v.parse::<i64>().is_ok() => n(v),
            _ => return Err(StoreError::InvalidCursor),
        };
        key.insert(name, value);
    }
    if key.get(QUEUE).and_then(|v| v.as_s().ok()) != Some(&raw.q) {
        return Err(StoreError::InvalidCursor);
    }
    Ok((raw.q, Some(key)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_tampering() {
        let key = Item::from([
            (PK.into(), s("CONV#wa-1")),
            (SK.into(), s(META)),
            (QUEUE.into(), s("open")),
            ("status_since".into(), n(1_800_000_000_000i64)),
        ]);
        let c = encode_cursor("open", Some(&key)).unwrap();
        assert_eq!(
            decode_cursor(&c, ConversationStatus::Open).unwrap(),
            ("open".to_string(), Some(key.clone()))
        );
        let bad =
            |c: &str, status| matches!(decode_cursor(c, status), Err(StoreError::InvalidCursor));
        assert!(bad(&c, ConversationStatus::Pending));
        assert!(bad(&c, ConversationStatus::Resolved));
        assert!(bad("!!", ConversationStatus::Open));
        assert!(bad(
            &URL_SAFE_NO_PAD.encode(r#"{"pk":{"S":"x"}}"#),
            ConversationStatus::Open
        ));
        // A month boundary of the resolved listing.
        let month = encode_cursor("resolved#2026-10", None).unwrap();
        assert_eq!(
            decode_cursor(&month, ConversationStatus::Resolved).unwrap(),
            ("resolved#2026-10".to_string(), None)
        );
        assert!(bad(&month, ConversationStatus::Open));
        let lying = encode_cursor("resolved#2026-10", Some(&key)).unwrap();
        assert!(
            bad(&lying, ConversationStatus::Resolved),
            "the key's partition must match"
        );
        // Edited by hand (another month, another key), even as well-formed JSON:
        // the checksum refuses it before any read.
        let forged = URL_SAFE_NO_PAD.encode(
            serde_json::json!({"q": "resolved#2025-01", "k": null, "s": "0000000000000000"})
                .to_string(),
        );
        assert!(bad(&forged, ConversationStatus::Resolved));
        let unsigned = URL_SAFE_NO_PAD
            .encode(serde_json::json!({"q": "resolved#2025-01", "k": null}).to_string());
        assert!(bad(&unsigned, ConversationStatus::Resolved));
        let decoded = String::from_utf8(URL_SAFE_NO_PAD.decode(&c).unwrap()).unwrap();
        let moved = URL_SAFE_NO_PAD.encode(decoded.replace("1800000000000", "1700000000000"));
        assert!(bad(&moved, ConversationStatus::Open));
        assert_eq!(previous_month("resolved#2026-01"), "resolved#2025-12");
        assert_eq!(previous_month("resolved#2026-11"), "resolved#2026-10");
    }
}
