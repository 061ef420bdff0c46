//! The proxy's charging mode: each request is charged by `capacity`'s rules, and a
//! write whose partition (base table or index) has spent its budget is answered as
//! DynamoDB answers it: `ThrottlingException` with its reasons, or, in a
//! transaction, `TransactionCanceledException` with a `ThrottlingError` reason. The
//! items' images before and after a write are read from the server with extra
//! GetItems that are not counted as the client's requests.

use crate::capacity::{Capacity, IndexSpec, updated_value};
use crate::server::{Request, Response};
use hyper::body::Bytes;
use serde_json::{Map, Value, json};
use std::sync::Mutex;

type Item = Map<String, Value>;

enum Change {
    Put(Item),
    Update {
        expression: String,
        names: Item,
        values: Item,
    },
    Delete,
    Check,
}

struct Target {
    table: String,
    key: Item,
    change: Change,
}

fn obj(v: &Value) -> Item {
    v.as_object().cloned().unwrap_or_default()
}

fn key_of(item: &Item) -> Item {
    item.iter()
        .filter(|(k, _)| k.as_str() == "pk" || k.as_str() == "sk")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn target_of(op: &str, body: &Value) -> Option<Target> {
    let table = body["TableName"].as_str()?.to_string();
    let change = match op {
        "Put" | "PutItem" => Change::Put(obj(&body["Item"])),
        "Update" | "UpdateItem" => Change::Update {
            expression: body["UpdateExpression"].as_str().unwrap_or("").to_string(),
            names: obj(&body["ExpressionAttributeNames"]),
            values: obj(&body["ExpressionAttributeValues"]),
        },
        "Delete" | "DeleteItem" => Change::Delete,
        "ConditionCheck" => Change::Check,
        _ => return None,
    };
    let key = match &change {
        Change::Put(item) => key_of(item),
        _ => obj(&body["Key"]),
    };
    Some(Target { table, key, change })
}

/// The writes a request makes, and whether it is a transaction.
fn targets(op: &str, body: &Value) -> (Vec<Target>, bool) {
    if op == "TransactWriteItems" {
        let items = body["TransactItems"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let t = items
            .iter()
            .filter_map(|i| {
                let (kind, inner) = i.as_object()?.iter().next()?;
                target_of(kind, inner)
            })
            .collect();
        return (t, true);
    }
    (target_of(op, body).into_iter().collect(), false)
}

/// An index's entry key (partition, sort) as an item has it.
fn entry_key(index: &IndexSpec, item: Option<&Item>) -> Option<(Value, Value)> {
    let item = item?;
    Some((item.get(&index.pk)?.clone(), item.get(&index.sk)?.clone()))
}

/// The index entry key the write will leave, as far as the request tells.
fn predicted_key(index: &IndexSpec, old: Option<&Item>, change: &Change) -> Option<(Value, Value)> {
    match change {
        Change::Put(item) => entry_key(index, Some(item)),
        Change::Delete => None,
        Change::Check => entry_key(index, old),
        Change::Update {
            expression,
            names,
            values,
        } => {
            let value = |attr: &str| match updated_value(expression, names, values, old, attr) {
                Some(v) => v,
                None => old.and_then(|o| o.get(attr)).cloned(),
            };
            Some((value(&index.pk)?, value(&index.sk)?))
        }
    }
}

pub struct Charging {
    pub capacity: Mutex<Capacity>,
}

impl Charging {
    /// Throttles, forwards and charges `req` (operation `op`).
    pub async fn handle(
        &self,
        client: &reqwest::Client,
        upstream: &str,
        op: &str,
        req: &Request,
        forward: impl std::future::Future<Output = Response>,
    ) -> Response {
        let body: Value = serde_json::from_slice(req.body()).unwrap_or_default();
        let auth = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let (targets, transaction) = targets(op, &body);
        if targets.is_empty() {
            let resp = forward.await;
            self.charge_read(op, &body, &resp);
            return resp;
        }
        let mut old = Vec::new();
        for t in &targets {
            old.push(get_item(client, upstream, &auth, &t.table, &t.key).await);
        }
        // The partitions the write would draw on.
        let mut buckets = Vec::new();
        let indexes: Vec<IndexSpec> = self.capacity.lock().unwrap().indexes.clone();
        for (t, before) in targets.iter().zip(&old) {
            if matches!(t.change, Change::Check) {
                continue;
            }
            if let Some(pk) = t.key.get("pk").and_then(|v| v["S"].as_str()) {
                buckets.push((
                    Capacity::table_bucket(pk),
                    "TableWriteKeyRangeThroughputExceeded",
                ));
            }
            for index in &indexes {
                let (was, will) = (
                    entry_key(index, before.as_ref()),
                    predicted_key(index, before.as_ref(), &t.change),
                );
                if was == will {
                    continue;
                }
                for (pk, _) in [was, will].into_iter().flatten() {
                    if let Some(pk) = pk["S"].as_str() {
                        let b = self.capacity.lock().unwrap().index_bucket(&index.name, pk);
                        buckets.push((b, "IndexWriteKeyRangeThroughputExceeded"));
                    }
                }
            }
        }
        let names: Vec<String> = buckets.iter().map(|(b, _)| b.clone()).collect();
        let spent = self.capacity.lock().unwrap().exhausted(&names);
        if let Some(bucket) = spent {
            self.capacity.lock().unwrap().totals.throttled += 1;
            let reason = buckets
                .iter()
                .find(|(b, _)| *b == bucket)
                .map_or("TableWriteKeyRangeThroughputExceeded", |(_, r)| *r);
            return throttled(transaction, targets.len(), reason, &bucket);
        }
        let resp = forward.await;
        if resp.status() == 200 {
            let mut new = Vec::new();
            for t in &targets {
                new.push(get_item(client, upstream, &auth, &t.table, &t.key).await);
            }
            let mut cap = self.capacity.lock().unwrap();
            for ((t, before), after) in targets.iter().zip(&old).zip(&new) {
                if !matches!(t.change, Change::Check) {
                    cap.charge_write(before.as_ref(), after.as_ref(), transaction);
                }
            }
        } else {
            self.capacity
                .lock()
                .unwrap()
                .charge_failed_write(targets.len(), transaction);
        }
        resp
    }

    fn charge_read(&self, op: &str, body: &Value, resp: &Response) {
        if resp.status() != 200 {
            return;
        }
        let out: Value = serde_json::from_slice(resp.body()).unwrap_or_default();
        let consistent = body["ConsistentRead"].as_bool().unwrap_or(false);
        let size = |v: &Value| v.as_object().map_or(0, crate::capacity::item_size);
        let mut cap = self.capacity.lock().unwrap();
        match op {
            "GetItem" => cap.charge_read(size(&out["Item"]), consistent),
            "Query" | "Scan" => {
                let bytes = out["Items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(size)
                    .sum();
                cap.charge_read(bytes, consistent);
            }
            "BatchGetItem" => {
                for items in out["Responses"]
                    .as_object()
                    .into_iter()
                    .flat_map(|r| r.values())
                {
                    for item in items.as_array().into_iter().flatten() {
                        cap.charge_read(size(item), false);
                    }
                }
            }
            _ => {}
        }
    }
}

fn throttled(transaction: bool, items: usize, reason: &str, bucket: &str) -> Response {
    let message = "Throughput exceeds the current capacity of your table or index. DynamoDB is automatically scaling your table or index so please try again shortly.";
    let body = if transaction {
        // DynamoDB names the item that was throttled; here, the first write's.
        let reasons: Vec<Value> = (0..items)
            .map(|i| {
                if i == 0 {
                    json!({"Code": "ThrottlingError", "Message": message})
                } else {
                    json!({"Code": "None"})
                }
            })
            .collect();
        json!({
            "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
            "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons [ThrottlingError]",
            "CancellationReasons": reasons,
        })
    } else {
        json!({
            "__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException",
            "message": message,
            "ThrottlingReasons": [{"reason": reason, "resource": bucket}],
        })
    };
    http::Response::builder()
        .status(400)
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amzn-requestid", "throttled-by-test-proxy")
        .body(Bytes::from(body.to_string()))
        .unwrap()
}

/// The item at `key`, read from the server for the charge (not a client request).
async fn get_item(
    client: &reqwest::Client,
    upstream: &str,
    auth: &str,
    table: &str,
    key: &Item,
) -> Option<Item> {
    let resp = client
        .post(format!("{upstream}/"))
        .header("x-amz-target", "DynamoDB_20120810.GetItem")
        .header("content-type", "application/x-amz-json-1.0")
        .header("authorization", auth)
        .body(json!({"TableName": table, "Key": key, "ConsistentRead": true}).to_string())
        .send()
        .await
        .ok()?;
    let v: Value = resp.json().await.ok()?;
    v["Item"].as_object().cloned()
}
