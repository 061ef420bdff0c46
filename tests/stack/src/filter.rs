//! Lambda event filtering (the subset of the pattern syntax asyncdesk uses, and a bit
//! more): exact values, `prefix`, `anything-but`, `exists`. A record passes when any
//! filter matches.

use serde_json::Value;

pub fn passes(patterns: &[Value], record: &Value) -> bool {
    patterns.is_empty() || patterns.iter().any(|p| matches(p, record))
}

/// Whether `record` matches one pattern.
pub fn matches(pattern: &Value, record: &Value) -> bool {
    let Some(fields) = pattern.as_object() else {
        return false;
    };
    fields.iter().all(|(key, rule)| {
        let value = record.get(key);
        match rule {
            Value::Object(_) => value.is_some_and(|v| matches(rule, v)),
            Value::Array(options) => options.iter().any(|option| matches_value(option, value)),
            _ => false,
        }
    })
}

fn matches_value(option: &Value, value: Option<&Value>) -> bool {
    match option {
        Value::Object(rule) => {
            if let Some(exists) = rule.get("exists").and_then(Value::as_bool) {
                return value.is_some() == exists;
            }
            let Some(value) = value else { return false };
            if let Some(prefix) = rule.get("prefix").and_then(Value::as_str) {
                return value.as_str().is_some_and(|s| s.starts_with(prefix));
            }
            if let Some(excluded) = rule.get("anything-but") {
                let excluded: Vec<&Value> = match excluded {
                    Value::Array(list) => list.iter().collect(),
                    single => vec![single],
                };
                return !excluded.contains(&value);
            }
            false
        }
        literal => value == Some(literal),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn supports_the_rules_the_template_uses() {
        let p = json!({"eventName":["INSERT"],"dynamodb":{"NewImage":{"direction":{"S":["inbound"]},"kind":{"S":[{"anything-but":["reaction"]}]}}}});
        let rec = |name: &str, dir: &str, kind: &str| json!({"eventName":name,"dynamodb":{"NewImage":{"direction":{"S":dir},"kind":{"S":kind}}}});
        assert!(matches(&p, &rec("INSERT", "inbound", "text")));
        assert!(!matches(&p, &rec("MODIFY", "inbound", "text")));
        assert!(!matches(&p, &rec("INSERT", "outbound", "text")));
        assert!(!matches(&p, &rec("INSERT", "inbound", "reaction")));
        assert!(!matches(&p, &json!({"eventName":"INSERT"})));
        assert!(matches(
            &json!({"a":[{"prefix":"MSG#"}]}),
            &json!({"a":"MSG#1"})
        ));
        assert!(matches(&json!({"a":[{"exists":false}]}), &json!({})));
        let wants = json!({"dynamodb":{"NewImage":{"wants_answer":{"BOOL":[true]}}}});
        let rec =
            |v: serde_json::Value| json!({"dynamodb":{"NewImage":{"wants_answer":{"BOOL":v}}}});
        assert!(matches(&wants, &rec(json!(true))));
        assert!(!matches(&wants, &rec(json!(false))));
        assert!(!matches(&wants, &json!({"dynamodb":{"NewImage":{}}})));
    }
}
