//! Metrics in CloudWatch Embedded Metric Format: one JSON line on stdout per event
//! group, which CloudWatch Logs turns into metrics in the `asyncdesk` namespace
//! (docs/operations.md, "Metrics"). Dimensions are the function, the channel and a
//! reason or class from a fixed set: never a customer, an id or a text.

use serde_json::{Map, Value, json};

/// The namespace of every metric.
pub const NAMESPACE: &str = "asyncdesk";

/// One EMF record: `counts` (name, value) with these `dimensions`
/// (name, value), at `timestamp_ms`.
pub fn record(
    timestamp_ms: i64,
    dimensions: &[(&str, &'static str)],
    counts: &[(&str, u64)],
) -> Value {
    let mut root = Map::new();
    let names: Vec<&str> = dimensions.iter().map(|(n, _)| *n).collect();
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                // Per dimension value, and in total (what the alarms watch).
                "Dimensions": [names, []],
                "Metrics": counts.iter().map(|(n, _)| json!({"Name": n, "Unit": "Count"})).collect::<Vec<_>>(),
            }],
        }),
    );
    for (name, value) in dimensions {
        root.insert((*name).into(), Value::String(bound(value)));
    }
    for (name, value) in counts {
        root.insert((*name).into(), json!(value));
    }
    Value::Object(root)
}

/// A dimension value as it may appear: at most 64 characters of `a-z0-9_-.`.
fn bound(value: &str) -> String {
    value
        .chars()
        .map(|c| if c == ' ' { '_' } else { c })
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        .take(64)
        .collect()
}

/// Emits counts (the non-zero ones) with these dimensions. Dimension values are
/// `'static`: names the code chose (a channel, a reason, a class), never input.
pub fn emit(dimensions: &[(&str, &'static str)], counts: &[(&str, u64)]) {
    let counts: Vec<(&str, u64)> = counts.iter().copied().filter(|(_, v)| *v > 0).collect();
    if counts.is_empty() {
        return;
    }
    let line = record(chrono::Utc::now().timestamp_millis(), dimensions, &counts);
    println!("{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_valid_emf_with_bounded_dimensions() {
        let r = record(
            1_800_000_000_000,
            &[("Channel", "whatsapp"), ("Reason", "daily cap: reached")],
            &[("Stored", 2), ("Duplicate", 1)],
        );
        let m = &r["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(m["Namespace"], "asyncdesk");
        assert_eq!(m["Dimensions"], json!([["Channel", "Reason"], []]));
        assert_eq!(
            m["Metrics"][1],
            json!({"Name": "Duplicate", "Unit": "Count"})
        );
        assert_eq!(r["Stored"], 2);
        assert_eq!(r["Channel"], "whatsapp");
        assert_eq!(r["Reason"], "daily_cap_reached");
        assert_eq!(r["_aws"]["Timestamp"], 1_800_000_000_000i64);
    }
}
