//! Inputs for the fuzz targets (proptest strategies): arbitrary bytes, and
//! structure-aware variants of real seeds (a JSON value swapped for another of any
//! type, byte-level mutations, cuts and repeats).

use proptest::prelude::*;
use serde_json::Value;

/// Any JSON value, nested a few levels, with the odd values parsers meet: huge and
/// negative numbers, floats, empty and long strings, control and wide characters.
pub fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        "[a-z0-9.@+:<> _-]{0,40}".prop_map(Value::String),
        (0usize..70_000).prop_map(|n| Value::String("x".repeat(n))),
        Just(Value::String(
            "\u{0}\u{202e}\u{feff}=?utf-8?B?AA==?=\r\n".into()
        )),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Counts the nodes of `v` (pre-order).
fn nodes(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(nodes).sum(),
        Value::Object(o) => o.values().map(nodes).sum(),
        _ => 0,
    }
}

/// Replaces node `n` (pre-order) of `v` with `with`.
fn replace(v: &mut Value, n: &mut usize, with: &Value) -> bool {
    if *n == 0 {
        *v = with.clone();
        return true;
    }
    *n -= 1;
    match v {
        Value::Array(a) => a.iter_mut().any(|c| replace(c, n, with)),
        Value::Object(o) => o.values_mut().any(|c| replace(c, n, with)),
        _ => false,
    }
}

/// One change to a byte string.
#[derive(Debug, Clone)]
pub enum Mutation {
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Remove(usize, usize),
    Truncate(usize),
    Repeat(usize, usize, u8),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Mutation::Flip(p, b)),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(p, b)| Mutation::Insert(p, b)),
        (any::<usize>(), 1usize..64).prop_map(|(p, n)| Mutation::Remove(p, n)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), 1usize..64, 2u8..50).prop_map(|(p, n, k)| Mutation::Repeat(p, n, k)),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let len = bytes.len().max(1);
    match m {
        Mutation::Flip(p, b) if !bytes.is_empty() => bytes[p % len] ^= b | 1,
        Mutation::Insert(p, b) => {
            let at = p % (bytes.len() + 1);
            bytes.splice(at..at, b.iter().copied());
        }
        Mutation::Remove(p, n) if !bytes.is_empty() => {
            let at = p % len;
            let end = (at + n).min(bytes.len());
            bytes.drain(at..end);
        }
        Mutation::Truncate(p) => bytes.truncate(p % len),
        Mutation::Repeat(p, n, k) if !bytes.is_empty() => {
            let at = p % len;
            let end = (at + n).min(bytes.len());
            let piece = bytes[at..end].to_vec();
            for _ in 0..*k {
                bytes.splice(end..end, piece.iter().copied());
            }
        }
        _ => {}
    }
}

/// Inputs for a target with these `seeds`: arbitrary bytes, a seed with one JSON
/// node replaced (when the seed is JSON), or a seed with byte-level mutations.
pub fn inputs(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let n = seeds.len().max(1);
    let seeds = std::sync::Arc::new(seeds);
    let (s1, s2) = (seeds.clone(), seeds);
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..2048),
        3 => (0..n, any::<usize>(), json_value()).prop_map(move |(i, at, with)| {
            let seed = s1.get(i).cloned().unwrap_or_default();
            match serde_json::from_slice::<Value>(&seed) {
                Ok(mut v) => {
                    let mut k = at % nodes(&v);
                    replace(&mut v, &mut k, &with);
                    serde_json::to_vec(&v).unwrap_or(seed)
                }
                Err(_) => seed,
            }
        }),
        3 => (0..n, prop::collection::vec(mutation(), 1..6)).prop_map(move |(i, ms)| {
            let mut bytes = s2.get(i).cloned().unwrap_or_default();
            for m in &ms {
                apply(&mut bytes, m);
            }
            bytes
        }),
    ]
}
