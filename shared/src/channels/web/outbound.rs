//! Sending to a website visitor: nothing to call. The reply is stored in the thread
//! (by the delivery that asked for it) and the widget reads the thread, so the send
//! only gives the message its provider id.

use crate::conversation::Channel;
use crate::ports::{Outbound, Outgoing, SendError, SentMessage};
use async_trait::async_trait;

/// The web channel's sender.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebOutbox;

#[async_trait]
impl Outbound for WebOutbox {
    async fn send(&self, message: &Outgoing) -> Result<SentMessage, SendError> {
        if message.template.is_some() {
            return Err(SendError::Limit(
                "the web channel has no message templates".into(),
            ));
        }
        Ok(SentMessage::new(format!(
            "wbout-{}",
            uuid::Uuid::new_v4().simple()
        )))
    }

    fn enabled(&self, channel: Channel) -> bool {
        channel == Channel::Web
    }

    /// The widget shows no files yet: a reply with files is refused before anything
    /// is stored, rather than reaching the visitor as an empty bubble.
    fn check(&self, message: &Outgoing) -> Result<(), SendError> {
        if message.files.is_empty() {
            Ok(())
        } else {
            Err(SendError::Limit(
                "the website chat does not show files yet; send a link in the text".into(),
            ))
        }
    }
}
