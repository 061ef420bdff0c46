//! Feeds the table's stream to the auto-reply handler the way the Lambda event source
//! mapping does: the Lambda event shape, the template's filter, small batches, and a
//! retry of the records the handler reports as failed (ReportBatchItemFailures).

use crate::{BoxError, filter};
use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use aws_sdk_dynamodbstreams::Client;
use aws_sdk_dynamodbstreams::types::{AttributeValue, Record, ShardIteratorType};
use base64::Engine;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

/// Mirrors the template's MaximumRetryAttempts.
pub const MAX_RETRIES: usize = 5;
pub const BATCH_SIZE: usize = 10;
/// Polls between fresh iterators (200 ms each).
const REFRESH_EVERY_POLLS: u64 = 10;

/// DynamoDB JSON, as in Lambda events.
pub fn attribute_json(v: &AttributeValue) -> Value {
    let b64 = |b: &aws_sdk_dynamodbstreams::primitives::Blob| {
        base64::engine::general_purpose::STANDARD.encode(b.as_ref())
    };
    match v {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::B(b) => json!({ "B": b64(b) }),
        AttributeValue::Ss(l) => json!({ "SS": l }),
        AttributeValue::Ns(l) => json!({ "NS": l }),
        AttributeValue::Bs(l) => json!({ "BS": l.iter().map(b64).collect::<Vec<_>>() }),
        AttributeValue::M(m) => json!({ "M": item_json(m) }),
        AttributeValue::L(l) => json!({ "L": l.iter().map(attribute_json).collect::<Vec<_>>() }),
        AttributeValue::Null(b) => json!({ "NULL": b }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        _ => Value::Null,
    }
}

fn item_json(item: &HashMap<String, AttributeValue>) -> Value {
    Value::Object(
        item.iter()
            .map(|(k, v)| (k.clone(), attribute_json(v)))
            .collect::<Map<_, _>>(),
    )
}

/// One stream record in the JSON shape Lambda delivers.
pub fn record_json(r: &Record, stream_arn: &str) -> Value {
    let mut change = Map::new();
    if let Some(d) = r.dynamodb() {
        if let Some(t) = d.approximate_creation_date_time() {
            change.insert("ApproximateCreationDateTime".into(), json!(t.as_secs_f64()));
        }
        for (name, image) in [
            ("Keys", d.keys()),
            ("NewImage", d.new_image()),
            ("OldImage", d.old_image()),
        ] {
            if let Some(image) = image {
                change.insert(name.into(), item_json(image));
            }
        }
        change.insert("SequenceNumber".into(), json!(d.sequence_number()));
        change.insert("SizeBytes".into(), json!(d.size_bytes().unwrap_or(0)));
        change.insert(
            "StreamViewType".into(),
            json!(d.stream_view_type().map(|s| s.as_str())),
        );
    }
    json!({
        "eventID": r.event_id(),
        "eventName": r.event_name().map(|e| e.as_str()),
        "eventVersion": r.event_version().unwrap_or("1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": r.aws_region().unwrap_or("us-east-1"),
        "eventSourceARN": stream_arn,
        "dynamodb": change,
    })
}

/// Polls every shard of `stream_arn` and hands filtered batches to `handler` until
/// the task is aborted. Every few polls each shard gets a fresh iterator after the
/// last sequence number handled, so an iterator the server stopped serving (moto
/// replaces a table's stream when it rolls back a cancelled transaction, unless the
/// launcher's patch is active) delays records by a moment instead of losing them.
pub async fn feed<H, Fut>(
    client: Client,
    stream_arn: String,
    patterns: Vec<Value>,
    from_start: bool,
    handler: H,
) -> Result<(), BoxError>
where
    H: Fn(Event) -> Fut,
    Fut: Future<Output = DynamoDbEventResponse>,
{
    struct Shard {
        iterator: Option<String>,
        last_sequence: Option<String>,
    }
    let mut shards: HashMap<String, Shard> = HashMap::new();
    let mut tick = 0u64;
    loop {
        if tick.is_multiple_of(25) {
            let desc = client
                .describe_stream()
                .stream_arn(&stream_arn)
                .send()
                .await?;
            for shard in desc
                .stream_description()
                .map(|d| d.shards())
                .unwrap_or_default()
            {
                let Some(id) = shard.shard_id() else { continue };
                if shards.contains_key(id) {
                    continue;
                }
                let kind = if from_start || tick > 0 {
                    ShardIteratorType::TrimHorizon
                } else {
                    ShardIteratorType::Latest
                };
                let it = client
                    .get_shard_iterator()
                    .stream_arn(&stream_arn)
                    .shard_id(id)
                    .shard_iterator_type(kind)
                    .send()
                    .await?;
                shards.insert(
                    id.to_string(),
                    Shard {
                        iterator: it.shard_iterator().map(str::to_string),
                        last_sequence: None,
                    },
                );
            }
        }
        let refresh = tick.is_multiple_of(REFRESH_EVERY_POLLS) && tick > 0;
        tick += 1;
        for (shard_id, shard) in shards.iter_mut() {
            if refresh && let Some(seq) = &shard.last_sequence {
                match client
                    .get_shard_iterator()
                    .stream_arn(&stream_arn)
                    .shard_id(shard_id)
                    .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                    .sequence_number(seq)
                    .send()
                    .await
                {
                    Ok(it) => shard.iterator = it.shard_iterator().map(str::to_string),
                    Err(e) => {
                        tracing::warn!(error = %aws_sdk_dynamodbstreams::error::DisplayErrorContext(e), "fresh stream iterator failed; keeping the old one")
                    }
                }
            }
            let Some(it) = shard.iterator.clone() else {
                continue;
            };
            let out = match client
                .get_records()
                .shard_iterator(&it)
                .limit(100)
                .send()
                .await
            {
                Ok(out) => out,
                Err(e) => {
                    tracing::warn!(error = %aws_sdk_dynamodbstreams::error::DisplayErrorContext(e), "stream read failed; retrying");
                    continue;
                }
            };
            shard.iterator = out.next_shard_iterator().map(str::to_string);
            if let Some(last) = out
                .records()
                .last()
                .and_then(|r| r.dynamodb()?.sequence_number())
            {
                shard.last_sequence = Some(last.to_string());
            }
            let records: Vec<Value> = out
                .records()
                .iter()
                .map(|r| record_json(r, &stream_arn))
                .filter(|r| filter::passes(&patterns, r))
                .collect();
            for batch in records.chunks(BATCH_SIZE) {
                deliver(batch.to_vec(), &handler).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Invokes the handler with one batch; retries from the first failed record on, as
/// Lambda does, and gives up after MAX_RETRIES (the deployed stack would then send
/// the record to the on-failure queue).
async fn deliver<H, Fut>(mut batch: Vec<Value>, handler: &H)
where
    H: Fn(Event) -> Fut,
    Fut: Future<Output = DynamoDbEventResponse>,
{
    for attempt in 0..=MAX_RETRIES {
        let event: Event = match serde_json::from_value(json!({ "Records": batch })) {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(error = %e, "stream batch does not match the Lambda event shape");
                return;
            }
        };
        let failures = handler(event).await.batch_item_failures;
        let Some(first) = failures
            .iter()
            .filter_map(|f| f.item_identifier.as_deref())
            .filter_map(|id| {
                batch
                    .iter()
                    .position(|r| r["dynamodb"]["SequenceNumber"].as_str() == Some(id))
            })
            .min()
        else {
            return;
        };
        if attempt == MAX_RETRIES {
            tracing::error!(
                records = batch.len() - first,
                "stream records failed {MAX_RETRIES} retries; dropped (on-failure queue when deployed)"
            );
            return;
        }
        batch.drain(..first);
        tokio::time::sleep(Duration::from_millis(500 * (attempt as u64 + 1))).await;
    }
}
