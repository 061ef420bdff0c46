//! Upgrading a table written before the queue index (`by_queue`): gives every
//! conversation item its `queue` (the status of the work in progress, or
//! `resolved#<YYYY-MM>` from `status_since` for resolved ones). Conditional on the
//! attribute still missing, so it never overwrites what the functions wrote meanwhile,
//! and safe to run again. `cargo run -p asyncdesk-tests --bin asyncdesk-backfill-queue
//! -- <table>` (with the usual AWS environment).

use asyncdesk::conversation::ConversationStatus;
use asyncdesk::store::items::{QUEUE, TYPE_CONVERSATION, queue_of};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::DateTime;

/// What a backfill did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Backfilled {
    pub updated: usize,
    /// Written meanwhile by the functions (they set `queue` themselves).
    pub skipped: usize,
    pub unreadable: usize,
}

pub async fn backfill_queue(client: &Client, table: &str) -> Result<Backfilled, crate::BoxError> {
    let mut done = Backfilled::default();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .filter_expression("item_type = :conv AND attribute_not_exists(#q)")
            .expression_attribute_names("#q", QUEUE)
            .expression_attribute_values(":conv", AttributeValue::S(TYPE_CONVERSATION.into()))
            .set_exclusive_start_key(start.take())
            .send()
            .await?;
        for item in page.items() {
            let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
            let since = item
                .get("status_since")
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse::<i64>().ok())
                .and_then(DateTime::from_timestamp_millis);
            let (Some(pk), Some(sk), Some(status), Some(since)) = (
                item.get("pk").cloned(),
                item.get("sk").cloned(),
                text("status").and_then(|s| ConversationStatus::parse(&s)),
                since,
            ) else {
                done.unreadable += 1;
                continue;
            };
            let result = client
                .update_item()
                .table_name(table)
                .key("pk", pk)
                .key("sk", sk)
                .update_expression("SET #q = :q")
                .condition_expression("attribute_not_exists(#q)")
                .expression_attribute_names("#q", QUEUE)
                .expression_attribute_values(":q", AttributeValue::S(queue_of(status, since)))
                .send()
                .await;
            match result {
                Ok(_) => done.updated += 1,
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
                {
                    done.skipped += 1
                }
                Err(e) => return Err(e.into()),
            }
        }
        match page.last_evaluated_key {
            Some(k) => start = Some(k),
            None => return Ok(done),
        }
    }
}
