//! DynamoDB's capacity rules, charged by the test proxy: item sizes, write units
//! (1 KB), read units (4 KB; half for eventually consistent reads), transactions
//! doubled, index writes (a key that changes costs a delete and a put; a projected
//! attribute that changes, an update; anything else, nothing), and a budget per
//! partition key (DynamoDB's ~1,000 write units a second per partition, scaled
//! down), answered with DynamoDB's throttling errors when spent.

use serde_json::{Map, Value};
use std::collections::HashMap;
use std::time::Instant;

/// An index as the table defines it.
#[derive(Debug, Clone)]
pub struct IndexSpec {
    pub name: String,
    pub pk: String,
    pub sk: String,
    pub projected: Vec<String>,
}

/// What was charged so far.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Totals {
    pub write_units: f64,
    pub index_write_units: f64,
    pub read_units: f64,
    /// Requests answered with a throttling error.
    pub throttled: u64,
    /// Index entries written (puts, updates, deletes).
    pub index_writes: u64,
}

pub struct Capacity {
    /// Write units per second and partition key (base table and each index).
    pub write_budget: f64,
    pub indexes: Vec<IndexSpec>,
    /// Maps an index partition key to the bucket it draws from (e.g. all shards to
    /// one, to model an unsharded key).
    pub bucket_of: fn(&str) -> String,
    buckets: HashMap<String, (f64, Instant)>,
    pub totals: Totals,
}

/// The size DynamoDB counts for an item (attribute names and values, in bytes).
pub fn item_size(item: &Map<String, Value>) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

fn value_size(v: &Value) -> usize {
    let Some((ty, inner)) = v.as_object().and_then(|o| o.iter().next()) else {
        return 0;
    };
    match (ty.as_str(), inner) {
        ("S", Value::String(s)) | ("B", Value::String(s)) => s.len(),
        ("N", Value::String(n)) => n.trim_start_matches('-').len().div_ceil(2) + 1,
        ("BOOL" | "NULL", _) => 1,
        ("SS" | "NS" | "BS", Value::Array(a)) => {
            a.iter().map(|e| e.as_str().map_or(0, str::len)).sum()
        }
        ("L", Value::Array(a)) => 3 + a.iter().map(|e| 1 + value_size(e)).sum::<usize>(),
        ("M", Value::Object(m)) => {
            3 + m
                .iter()
                .map(|(k, e)| 1 + k.len() + value_size(e))
                .sum::<usize>()
        }
        _ => 0,
    }
}

/// Write units of one item write: 1 per KB of the larger of the old and new item.
pub fn write_units(old: Option<&Map<String, Value>>, new: Option<&Map<String, Value>>) -> f64 {
    let size = old.map_or(0, item_size).max(new.map_or(0, item_size));
    size.div_ceil(1024).max(1) as f64
}

/// Read units of `bytes` read in one request.
pub fn read_units(bytes: usize, consistent: bool) -> f64 {
    let units = bytes.div_ceil(4096).max(1) as f64;
    if consistent { units } else { units / 2.0 }
}

fn attr<'a>(item: Option<&'a Map<String, Value>>, name: &str) -> Option<&'a Value> {
    item?.get(name)
}

impl IndexSpec {
    /// The entry an item has in this index: its partition key, and its projection.
    fn entry(&self, item: Option<&Map<String, Value>>) -> Option<(String, Map<String, Value>)> {
        let item = item?;
        let pk = item.get(&self.pk)?.get("S")?.as_str()?.to_string();
        item.get(&self.sk)?;
        let projected: Map<String, Value> = item
            .iter()
            .filter(|(k, _)| {
                *k == &self.pk
                    || *k == &self.sk
                    || k.as_str() == "pk"
                    || k.as_str() == "sk"
                    || self.projected.contains(k)
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Some((pk, projected))
    }

    /// The index writes an item's change makes: (partition key, write units) each.
    pub fn writes(
        &self,
        old: Option<&Map<String, Value>>,
        new: Option<&Map<String, Value>>,
    ) -> Vec<(String, f64)> {
        let (before, after) = (self.entry(old), self.entry(new));
        let units = |e: &Map<String, Value>| item_size(e).div_ceil(1024).max(1) as f64;
        match (before, after) {
            (None, None) => vec![],
            (Some((pk, e)), None) => vec![(pk, units(&e))],
            (None, Some((pk, e))) => vec![(pk, units(&e))],
            (Some((pk0, e0)), Some((pk1, e1))) => {
                let keys_same =
                    pk0 == pk1 && attr(Some(&e0), &self.sk) == attr(Some(&e1), &self.sk);
                if keys_same && e0 == e1 {
                    vec![]
                } else if keys_same {
                    vec![(pk1, units(&e1).max(units(&e0)))]
                } else {
                    vec![(pk0, units(&e0)), (pk1, units(&e1))]
                }
            }
        }
    }
}

impl Capacity {
    /// The table's indexes as `infra/template.yaml` defines them, with a budget of
    /// `write_budget` units a second per partition key.
    pub fn from_template(write_budget: f64) -> Capacity {
        let table = crate::template::Template::load()
            .and_then(|t| t.table())
            .expect("the template's table");
        let indexes = table
            .indexes
            .iter()
            .map(|i| {
                let key = |kind: &str| {
                    i.key_schema
                        .iter()
                        .find(|(_, k)| k == kind)
                        .map(|(a, _)| a.clone())
                        .unwrap_or_default()
                };
                IndexSpec {
                    name: i.name.clone(),
                    pk: key("HASH"),
                    sk: key("RANGE"),
                    projected: i.non_key_attributes.clone(),
                }
            })
            .collect();
        Capacity::new(write_budget, indexes)
    }

    pub fn new(write_budget: f64, indexes: Vec<IndexSpec>) -> Capacity {
        Capacity {
            write_budget,
            indexes,
            bucket_of: |pk| pk.to_string(),
            buckets: HashMap::new(),
            totals: Totals::default(),
        }
    }

    fn bucket(&mut self, key: &str) -> &mut f64 {
        let now = Instant::now();
        let budget = self.write_budget;
        let (tokens, last) = self.buckets.entry(key.to_string()).or_insert((budget, now));
        // Refilled at the budget's rate, holding at most one second of it.
        *tokens = (*tokens + budget * now.duration_since(*last).as_secs_f64()).min(budget);
        *last = now;
        tokens
    }

    /// The bucket key of a base-table partition and of an index partition.
    pub fn table_bucket(pk: &str) -> String {
        format!("table|{pk}")
    }

    pub fn index_bucket(&self, index: &str, pk: &str) -> String {
        format!("{index}|{}", (self.bucket_of)(pk))
    }

    /// Whether each of `buckets` has a unit left; the first that has none, if any.
    pub fn exhausted(&mut self, buckets: &[String]) -> Option<String> {
        buckets.iter().find(|b| *self.bucket(b) < 1.0).cloned()
    }

    /// Charges the writes of an item that changed from `old` to `new`, in a
    /// transaction or not.
    pub fn charge_write(
        &mut self,
        old: Option<&Map<String, Value>>,
        new: Option<&Map<String, Value>>,
        transaction: bool,
    ) {
        let factor = if transaction { 2.0 } else { 1.0 };
        let units = write_units(old, new) * factor;
        self.totals.write_units += units;
        if let Some(pk) = new.or(old).and_then(|i| i.get("pk")?.get("S")?.as_str()) {
            *self.bucket(&Self::table_bucket(pk)) -= units;
        }
        for index in self.indexes.clone() {
            for (pk, units) in index.writes(old, new) {
                self.totals.index_write_units += units;
                self.totals.index_writes += 1;
                let b = self.index_bucket(&index.name, &pk);
                *self.bucket(&b) -= units;
            }
        }
    }

    /// A write that failed its condition still costs a unit per item.
    pub fn charge_failed_write(&mut self, items: usize, transaction: bool) {
        self.totals.write_units += items as f64 * if transaction { 2.0 } else { 1.0 };
    }

    pub fn charge_read(&mut self, bytes: usize, consistent: bool) {
        self.totals.read_units += read_units(bytes, consistent);
    }
}

/// The new value of `attr` after an UpdateItem's SET / REMOVE, as far as the
/// expression tells (a value, `if_not_exists`, or REMOVE); `None`: unchanged.
pub fn updated_value(
    expression: &str,
    names: &Map<String, Value>,
    values: &Map<String, Value>,
    old: Option<&Map<String, Value>>,
    attr: &str,
) -> Option<Option<Value>> {
    let name_of = |token: &str| -> String {
        names
            .get(token)
            .and_then(Value::as_str)
            .map_or_else(|| token.to_string(), str::to_string)
    };
    for (section, body) in sections(expression) {
        for clause in split_top(&body) {
            match section.as_str() {
                "SET" => {
                    let Some((lhs, rhs)) = clause.split_once('=') else {
                        continue;
                    };
                    if name_of(lhs.trim()) != attr {
                        continue;
                    }
                    let rhs = rhs.trim();
                    if let Some(args) = rhs
                        .strip_prefix("if_not_exists(")
                        .and_then(|r| r.strip_suffix(')'))
                    {
                        let (path, value) = args.split_once(',').unwrap_or((args, ""));
                        let existing = old.and_then(|o| o.get(&name_of(path.trim()))).cloned();
                        return Some(existing.or_else(|| values.get(value.trim()).cloned()));
                    }
                    return Some(values.get(rhs).cloned());
                }
                "REMOVE" if name_of(clause.trim()) == attr => return Some(None),
                _ => {}
            }
        }
    }
    None
}

/// `SET a = b, c = d REMOVE e` -> [("SET", "a = b, c = d"), ("REMOVE", "e")].
fn sections(expression: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for word in expression.split_whitespace() {
        match word {
            "SET" | "REMOVE" | "ADD" | "DELETE" => out.push((word.to_string(), String::new())),
            w => {
                if let Some((_, body)) = out.last_mut() {
                    if !body.is_empty() {
                        body.push(' ');
                    }
                    body.push_str(w);
                }
            }
        }
    }
    out
}

/// Splits on commas outside parentheses.
fn split_top(body: &str) -> Vec<String> {
    let (mut out, mut cur, mut depth) = (Vec::new(), String::new(), 0);
    for c in body.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn m(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn sizes_and_units_follow_dynamodb() {
        let item = m(json!({"pk": {"S": "CONV#x"}, "n": {"N": "12345"}, "b": {"BOOL": true}}));
        assert_eq!(item_size(&item), 2 + 6 + 1 + 4 + 1 + 1);
        assert_eq!(write_units(None, Some(&item)), 1.0);
        assert_eq!(read_units(4097, false), 1.0);
        assert_eq!(read_units(10, true), 1.0);
    }

    #[test]
    fn index_writes_only_when_its_entry_changes() {
        let index = IndexSpec {
            name: "i".into(),
            pk: "sq".into(),
            sk: "sq_at".into(),
            projected: vec!["status".into()],
        };
        let a = m(
            json!({"pk": {"S": "p"}, "sk": {"S": "s"}, "sq": {"S": "open#0"}, "sq_at": {"S": "1"}, "status": {"S": "open"}, "preview": {"S": "a"}}),
        );
        let mut b = a.clone();
        b.insert("preview".into(), json!({"S": "b"}));
        assert!(index.writes(Some(&a), Some(&b)).is_empty());
        let mut c = a.clone();
        c.insert("sq".into(), json!({"S": "pending#0"}));
        assert_eq!(index.writes(Some(&a), Some(&c)).len(), 2);
        let mut d = a.clone();
        d.insert("status".into(), json!({"S": "x"}));
        assert_eq!(index.writes(Some(&a), Some(&d)).len(), 1);
    }

    #[test]
    fn the_new_value_of_an_attribute_is_read_from_the_expression() {
        let names = m(json!({"#sq": "sq", "#x": "x"}));
        let values = m(json!({":v0": {"S": "open#1"}}));
        let old = m(json!({"sq": {"S": "open#0"}}));
        let e = "SET #x = :v9, #sq = if_not_exists(#sq, :v0) ADD #n :v1";
        assert_eq!(
            updated_value(e, &names, &values, Some(&old), "sq"),
            Some(Some(json!({"S": "open#0"})))
        );
        assert_eq!(
            updated_value(e, &names, &values, None, "sq"),
            Some(Some(json!({"S": "open#1"})))
        );
        assert_eq!(
            updated_value("SET #a = :v0 REMOVE #sq", &names, &values, None, "sq"),
            Some(None)
        );
        assert_eq!(updated_value(e, &names, &values, None, "zz"), None);
    }
}
