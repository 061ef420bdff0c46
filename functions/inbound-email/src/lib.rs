//! Inbound email: SNS notifications from an SES receipt rule (the mail inline, UTF-8
//! or Base64, or in S3 for mail over SNS's 150 KB) and from SES event publishing
//! (delivery statuses of our replies), stored like every channel's messages.
//!
//! Failure rules: a notification or mail that cannot be read is kept raw as a
//! rejection and the invocation succeeds (SNS would only redeliver the same bytes);
//! a store or S3 outage fails the invocation, so Lambda retries it and, after its
//! retries, sends the event to the dead-letter queue. Redeliveries are recognised
//! by the SNS MessageId and the mail's Message-ID.

use asyncdesk::channels::email::EmailSettings;
use asyncdesk::channels::email::inbound;
use asyncdesk::channels::email::notification::{self, MailSource, Notification};
use asyncdesk::ingest::{Receipt, ingest};
use asyncdesk::ports::{ConversationStore, InboundBatch, ObjectError, ObjectReader, StoreError};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use tracing::{info, warn};

pub struct InboundEmail<S, R> {
    pub store: S,
    pub objects: R,
    pub settings: EmailSettings,
}

/// Why an invocation fails (Lambda retries it, then dead-letters it).
#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Objects(ObjectError),
}

/// What one invocation did, summed over its records.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub records: usize,
    pub receipt: Receipt,
}

#[derive(Deserialize)]
struct SnsEvent {
    #[serde(rename = "Records")]
    records: Vec<Value>,
}

#[derive(Deserialize)]
struct SnsRecord {
    #[serde(rename = "Sns")]
    sns: SnsMessage,
}

#[derive(Deserialize)]
struct SnsMessage {
    #[serde(rename = "Type", default)]
    kind: Option<String>,
    #[serde(rename = "MessageId")]
    message_id: String,
    #[serde(rename = "Message")]
    message: String,
}

fn add(total: &mut Receipt, r: Receipt) {
    total.messages += r.messages;
    total.stored += r.stored;
    total.duplicates += r.duplicates;
    total.edits += r.edits;
    total.statuses += r.statuses;
    total.statuses_applied += r.statuses_applied;
    total.rejected += r.rejected;
    total.ignored += r.ignored;
}

/// Handles one invocation's event (SNS records).
pub async fn handle_event<S: ConversationStore, R: ObjectReader>(
    event: Value,
    deps: &InboundEmail<S, R>,
    now: DateTime<Utc>,
) -> Result<Summary, EmailError> {
    let mut summary = Summary::default();
    let records = match serde_json::from_value::<SnsEvent>(event.clone()) {
        Ok(e) => e.records,
        Err(e) => {
            let batch = rejected(&format!("not an SNS event: {e}"), &event.to_string(), now);
            add(
                &mut summary.receipt,
                ingest(&deps.store, &batch, now).await?,
            );
            return Ok(summary);
        }
    };
    for record in records {
        summary.records += 1;
        let batch = match serde_json::from_value::<SnsRecord>(record.clone()) {
            Ok(r) => batch_of(r.sns, deps, now).await?,
            Err(e) => rejected(&format!("not an SNS record: {e}"), &record.to_string(), now),
        };
        add(
            &mut summary.receipt,
            ingest(&deps.store, &batch, now).await?,
        );
    }
    info!(
        event = "email_batch",
        records = summary.records,
        stored = summary.receipt.stored,
        duplicates = summary.receipt.duplicates,
        statuses = summary.receipt.statuses_applied,
        rejected = summary.receipt.rejected,
        "notifications handled"
    );
    Ok(summary)
}

fn rejected(reason: &str, raw: &str, now: DateTime<Utc>) -> InboundBatch {
    warn!(
        event = "rejected",
        channel = "email",
        reason,
        "notification kept raw"
    );
    InboundBatch {
        rejections: vec![notification::rejection(reason, raw, now)],
        ..InboundBatch::default()
    }
}

/// One SNS notification as a batch to ingest.
async fn batch_of<S, R: ObjectReader>(
    sns: SnsMessage,
    deps: &InboundEmail<S, R>,
    now: DateTime<Utc>,
) -> Result<InboundBatch, EmailError> {
    if sns.kind.as_deref().is_some_and(|k| k != "Notification") {
        return Ok(InboundBatch {
            ignored: 1,
            ..InboundBatch::default()
        });
    }
    let notification =
        match notification::read_notification(&sns.message, &sns.message_id, &deps.settings) {
            Ok(n) => n,
            Err(e) => return Ok(rejected(&e.0, &sns.message, now)),
        };
    let received = match notification {
        Notification::Received(r) => r,
        Notification::Status(status) => {
            return Ok(InboundBatch {
                statuses: status.into_iter().collect(),
                ..InboundBatch::default()
            });
        }
        Notification::Ignored(why) => {
            info!(
                event = "ignored",
                channel = "email",
                why,
                "notification not used"
            );
            return Ok(InboundBatch {
                ignored: 1,
                ..InboundBatch::default()
            });
        }
    };
    let bytes = match &received.source {
        MailSource::Inline(bytes) => bytes.clone(),
        MailSource::S3 { bucket, key } => match deps.objects.read(bucket, key).await {
            Ok(bytes) => bytes,
            Err(ObjectError::Missing(why)) => return Ok(rejected(&why, &sns.message, now)),
            Err(e) => return Err(EmailError::Objects(e)),
        },
    };
    match inbound::parse_mail(&bytes, &received, &deps.settings, now) {
        Some(message) => Ok(InboundBatch {
            messages: vec![message],
            ..InboundBatch::default()
        }),
        None => Ok(rejected(
            "the content is not a mail (no headers or no sender)",
            &String::from_utf8_lossy(&bytes),
            now,
        )),
    }
}
