//! The auto-reply's retry queue on the local SQS (moto), and what Lambda's SQS event
//! source does with it: receive the messages that are due, hand them to the function
//! as an `SqsEvent`, delete those it did not report as failed.

use crate::BoxError;
use asyncdesk::retries::SqsRetryQueue;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sqs::types::QueueAttributeName;

pub struct LocalQueue {
    pub url: String,
    client: aws_sdk_sqs::Client,
}

impl LocalQueue {
    /// A new queue named `name` on the SQS endpoint `endpoint`.
    pub async fn create(endpoint: &str, name: &str) -> Result<Self, BoxError> {
        let sdk = crate::aws::local_config(endpoint).await;
        let client = aws_sdk_sqs::Client::new(&sdk);
        let out = client.create_queue().queue_name(name).send().await?;
        let url = out.queue_url.ok_or("the queue has no URL")?;
        Ok(LocalQueue { url, client })
    }

    /// The function's adapter over this queue.
    pub async fn adapter(&self, endpoint: &str) -> SqsRetryQueue {
        let sdk = crate::aws::local_config(endpoint).await;
        SqsRetryQueue::new(aws_sdk_sqs::Client::new(&sdk), &self.url)
    }

    /// The messages due now (up to 10), as the function's event.
    pub async fn receive(&self) -> Result<SqsEvent, BoxError> {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(10)
            .visibility_timeout(30)
            .send()
            .await?;
        let records = out
            .messages
            .unwrap_or_default()
            .into_iter()
            .map(|m| {
                let mut record = SqsMessage::default();
                record.message_id = m.message_id;
                record.receipt_handle = m.receipt_handle;
                record.body = m.body;
                record.event_source = Some("aws:sqs".into());
                record
            })
            .collect();
        let mut event = SqsEvent::default();
        event.records = records;
        Ok(event)
    }

    /// Deletes what the function handled (every record it did not report).
    pub async fn settle(
        &self,
        event: &SqsEvent,
        response: &SqsBatchResponse,
    ) -> Result<(), BoxError> {
        for record in &event.records {
            let failed = response
                .batch_item_failures
                .iter()
                .any(|f| Some(&f.item_identifier) == record.message_id.as_ref());
            if let (false, Some(handle)) = (failed, &record.receipt_handle) {
                self.client
                    .delete_message()
                    .queue_url(&self.url)
                    .receipt_handle(handle)
                    .send()
                    .await?;
            }
        }
        Ok(())
    }

    /// Messages waiting out their delay, and messages due.
    pub async fn counts(&self) -> Result<(u64, u64), BoxError> {
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(&self.url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await?;
        let attrs = out.attributes.unwrap_or_default();
        let get = |k: QueueAttributeName| attrs.get(&k).and_then(|v| v.parse().ok()).unwrap_or(0);
        Ok((
            get(QueueAttributeName::ApproximateNumberOfMessagesDelayed),
            get(QueueAttributeName::ApproximateNumberOfMessages),
        ))
    }
}

/// Runs what Lambda's SQS event source runs: every second, the messages that are
/// due go to `handler`, and those it did not report as failed are deleted.
pub async fn feed<F, Fut>(queue: LocalQueue, handler: F)
where
    F: Fn(SqsEvent) -> Fut,
    Fut: std::future::Future<Output = SqsBatchResponse>,
{
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let event = match queue.receive().await {
            Ok(e) if e.records.is_empty() => continue,
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, "retry queue not readable");
                continue;
            }
        };
        let response = handler(event.clone()).await;
        if let Err(e) = queue.settle(&event, &response).await {
            tracing::warn!(error = %e, "retry queue messages not deleted");
        }
    }
}
