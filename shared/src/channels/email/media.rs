//! A mail's attachments, from the mail itself: its source in S3 (SES's S3 action)
//! or the source kept on the message (SNS action, mail up to 150 KB). The
//! attachment is found by its position among the mail's attachments.

use crate::conversation::{Attachment, Channel, Message};
use crate::ports::{Download, FetchError, MediaSource, ObjectError, ObjectReader};
use async_trait::async_trait;
use std::sync::Arc;

pub struct EmailMedia {
    objects: Arc<dyn ObjectReader>,
}

impl EmailMedia {
    pub fn new(objects: Arc<dyn ObjectReader>) -> Self {
        EmailMedia { objects }
    }
}

#[async_trait]
impl MediaSource for EmailMedia {
    fn channel(&self) -> Channel {
        Channel::Email
    }

    async fn fetch(
        &self,
        message: &Message,
        attachment: &Attachment,
        max_bytes: u64,
    ) -> Result<Download, FetchError> {
        let part = attachment
            .part
            .ok_or_else(|| FetchError::Gone("the attachment names no part of the mail".into()))?;
        let source = message.mail.as_ref().and_then(|m| m.source.as_deref());
        let bytes = match source.and_then(|s| s.strip_prefix("s3://")?.split_once('/')) {
            Some((bucket, key)) => self.objects.read(bucket, key).await.map_err(|e| match e {
                ObjectError::Missing(why) => FetchError::Gone(why),
                ObjectError::Unavailable(why) => FetchError::Unavailable(why),
            })?,
            None => message
                .raw
                .as_ref()
                .map(|r| r.as_bytes().to_vec())
                .ok_or_else(|| FetchError::Gone("the mail's source is not kept".into()))?,
        };
        let mail = mail_parser::MessageParser::default()
            .parse(&bytes)
            .ok_or_else(|| FetchError::Gone("the mail's source is not a mail".into()))?;
        let found = mail
            .attachments()
            .nth(part as usize)
            .ok_or_else(|| FetchError::Gone("the mail has no such attachment".into()))?;
        let contents = found.contents();
        if contents.len() as u64 > max_bytes {
            return Err(FetchError::TooLarge { limit: max_bytes });
        }
        Ok(Download {
            bytes: contents.to_vec(),
            mime_type: None,
            sha256: None,
        })
    }
}
