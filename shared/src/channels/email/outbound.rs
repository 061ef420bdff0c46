//! Replies by mail through SES v2 SendEmail, as raw MIME built by mail-builder:
//! `Re: <subject>` (auto-replies `Auto: Re: <subject>`, RFC 3834 3.1.5),
//! In-Reply-To and References by RFC 5322 3.6.4, a Reply-To that carries the
//! conversation's token, and on auto-replies `Auto-Submitted: auto-replied` and
//! `X-Auto-Response-Suppress: All`. SES replaces the Message-ID with its own, so the
//! id SendEmail returns is what threads a customer's answer (`thread::ses_key`).

use super::EmailSettings;
use super::thread::{normalize_subject, ses_key, valid_msg_id};
use crate::conversation::{Author, ProviderError};
use crate::ports::{Outgoing, SendError, SentMessage};
use async_trait::async_trait;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, RawMessage};
use mail_builder::MessageBuilder;
use mail_builder::headers::raw::Raw;
use tokio::sync::OnceCell;

/// Longest part of a customer's subject a reply repeats, in characters.
pub const MAX_REPLY_SUBJECT_CHARS: usize = 200;

/// Subject of a reply when the customer's mail had none.
pub const NO_SUBJECT: &str = "Your message";

/// The SES sender. Its client is built on first use from the standard AWS
/// environment (region, credentials, `AWS_ENDPOINT_URL[_SESV2]`), or given.
pub struct SesSender {
    client: OnceCell<Client>,
    settings: EmailSettings,
}

impl SesSender {
    pub fn new(client: Client, settings: EmailSettings) -> Self {
        SesSender {
            client: OnceCell::new_with(Some(client)),
            settings,
        }
    }

    pub fn from_env(settings: EmailSettings) -> Self {
        SesSender {
            client: OnceCell::new(),
            settings,
        }
    }

    async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| async {
                let config = crate::sdk::load().await;
                // One attempt: a retried SendEmail may reach the customer twice; the
                // caller decides about retries.
                let config = aws_sdk_sesv2::config::Builder::from(&config)
                    .retry_config(
                        aws_sdk_sesv2::config::retry::RetryConfig::standard().with_max_attempts(1),
                    )
                    .timeout_config(
                        aws_sdk_sesv2::config::timeout::TimeoutConfig::builder()
                            .operation_attempt_timeout(std::time::Duration::from_secs(10))
                            .build(),
                    )
                    .build();
                Client::from_conf(config)
            })
            .await
    }
}

/// The subject of a reply to a mail with `subject`.
pub fn reply_subject(subject: Option<&str>, auto: bool) -> String {
    // The customer's words, bounded: one line, at most MAX_REPLY_SUBJECT_CHARS.
    let base = subject
        .map(normalize_subject)
        .map(|s| {
            s.chars()
                .filter(|c| !c.is_control())
                .take(MAX_REPLY_SUBJECT_CHARS)
                .collect::<String>()
        })
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let re = format!("Re: {}", base.as_deref().unwrap_or(NO_SUBJECT));
    if auto { format!("Auto: {re}") } else { re }
}

/// The largest mail SES sends (after Base64, headers included).
pub const MAX_MAIL_BYTES: u64 = 40 * 1024 * 1024;

/// SES's limit: the whole mail, files Base64-encoded (4 bytes for 3, plus line
/// breaks), within 40 MB.
pub fn check(message: &Outgoing) -> Result<(), SendError> {
    let files: u64 = message.files.iter().map(|f| f.size()).sum();
    let encoded = files.div_ceil(3) * 4 * 78 / 76 + message.text.len() as u64 + 16 * 1024;
    if encoded > MAX_MAIL_BYTES {
        return Err(SendError::Limit(format!(
            "a mail through SES is at most 40 MB; these files make {:.1} MB once encoded",
            encoded as f64 / (1024.0 * 1024.0)
        )));
    }
    Ok(())
}

/// The raw MIME of `message` from `settings`' mailbox.
pub fn build_mime(message: &Outgoing, settings: &EmailSettings) -> Result<Vec<u8>, SendError> {
    let auto = message.author == Author::AutoReply;
    let reply = message.reply.clone().unwrap_or_default();
    let from = match &settings.from.name {
        Some(name) => mail_builder::headers::address::Address::from((
            name.as_str(),
            settings.from.address.as_str(),
        )),
        None => mail_builder::headers::address::Address::from(settings.from.address.as_str()),
    };
    let reply_to = settings.from.tagged(message.conversation.as_str());
    let mut builder = MessageBuilder::new()
        .from(from)
        .to(message.endpoint.customer_id.as_str())
        .reply_to(reply_to.as_str())
        .subject(reply_subject(reply.subject.as_deref(), auto))
        .text_body(message.text.as_str());
    for file in &message.files {
        builder = builder.attachment(
            file.mime_type().to_string(),
            file.filename().to_string(),
            file.bytes.as_ref().clone(),
        );
    }
    // Only valid msg-ids are echoed, never header text as it came.
    if let Some(parent) = reply.in_reply_to.as_deref().and_then(valid_msg_id) {
        builder = builder.in_reply_to(parent);
    }
    let references: Vec<String> = reply
        .references
        .iter()
        .filter_map(|r| valid_msg_id(r))
        .collect();
    if !references.is_empty() {
        builder = builder.references(references);
    }
    if auto {
        builder = builder
            .header("Auto-Submitted", Raw::new("auto-replied"))
            .header("X-Auto-Response-Suppress", Raw::new("All"))
            .header("Precedence", Raw::new("auto_reply"));
    }
    builder.write_to_vec().map_err(|e| {
        SendError::Rejected(ProviderError {
            code: None,
            title: format!("the mail could not be built: {e}"),
            detail: None,
        })
    })
}

fn provider_error<E: ProvideErrorMetadata>(e: &E, fallback: &str) -> ProviderError {
    ProviderError {
        code: e.code().map(str::to_string),
        title: without_addresses(e.message().unwrap_or(fallback))
            .chars()
            .take(300)
            .collect(),
        detail: None,
    }
}

/// SES names the addresses it refused in its messages ("...failed the check in
/// region US-EAST-1: ada@example.org"); errors end up in logs, so they go.
pub fn without_addresses(text: &str) -> String {
    text.split(' ')
        .map(|w| if w.contains('@') { "<address>" } else { w })
        .collect::<Vec<_>>()
        .join(" ")
}

/// SES errors in the channel-independent classes.
pub fn classify<E, R>(e: SdkError<E, R>) -> SendError
where
    E: ProvideErrorMetadata + std::error::Error,
    R: std::fmt::Debug,
{
    match &e {
        SdkError::ServiceError(se) => {
            let err = provider_error(se.err(), "SES refused the mail");
            match se.err().code().unwrap_or_default() {
                "TooManyRequestsException"
                | "LimitExceededException"
                | "Throttling"
                | "ThrottlingException" => SendError::RateLimited {
                    retry_after: None,
                    error: err,
                },
                "AccountSuspendedException"
                | "SendingPausedException"
                | "AccessDeniedException"
                | "AccessDenied"
                | "UnrecognizedClientException"
                | "InvalidClientTokenId"
                | "SignatureDoesNotMatch"
                | "ExpiredTokenException"
                | "ExpiredToken" => SendError::Unauthorized(err),
                // SES is down and took nothing.
                "ServiceUnavailable" => SendError::Unavailable(err.title),
                // SES failed while handling the request: it may have accepted the
                // mail, so a retry could send it twice.
                "InternalFailure" | "InternalServerError" => SendError::Unconfirmed(format!(
                    "SES failed while handling the mail ({}): it may have gone out",
                    err.title
                )),
                // MessageRejected, MailFromDomainNotVerifiedException, BadRequest,
                // NotFound (configuration set)...: this mail will not go out.
                _ => SendError::Rejected(err),
            }
        }
        // Nothing reached SES.
        SdkError::ConstructionFailure(_) => {
            SendError::Unavailable("the request could not be built".into())
        }
        SdkError::DispatchFailure(d) if !d.is_timeout() && !d.is_io() => {
            SendError::Unavailable(format!("SES could not be reached: {e}"))
        }
        SdkError::DispatchFailure(d) if d.is_io() && !d.is_timeout() => {
            SendError::Unavailable(format!("SES could not be reached: {e}"))
        }
        // Sent, but no usable answer: SES may have taken it.
        _ => SendError::Unconfirmed(format!("no answer from SES: {e}")),
    }
}

#[async_trait]
impl crate::ports::Outbound for SesSender {
    fn enabled(&self, channel: crate::conversation::Channel) -> bool {
        channel == crate::conversation::Channel::Email
    }

    fn check(&self, message: &Outgoing) -> Result<(), SendError> {
        check(message)
    }

    async fn send(&self, message: &Outgoing) -> Result<SentMessage, SendError> {
        let mime = build_mime(message, &self.settings)?;
        let raw = RawMessage::builder()
            .data(Blob::new(mime))
            .build()
            .map_err(|e| SendError::Unavailable(e.to_string()))?;
        let out = self
            .client()
            .await
            .send_email()
            .from_email_address(self.settings.from.address.as_str())
            .destination(
                Destination::builder()
                    .to_addresses(message.endpoint.customer_id.as_str())
                    .build(),
            )
            .content(EmailContent::builder().raw(raw).build())
            .set_configuration_set_name(self.settings.configuration_set.clone())
            .send()
            .await
            .map_err(classify)?;
        let id = out
            .message_id()
            .ok_or_else(|| SendError::Unconfirmed("SES answered without a message id".into()))?;
        // SES's Message-ID: `<id@email.amazonses.com>` in us-east-1, else
        // `<id@<region>.amazonses.com>`.
        let region = self
            .client()
            .await
            .config()
            .region()
            .map(|r| r.as_ref().to_string())
            .unwrap_or_else(|| "us-east-1".into());
        let host = if region == "us-east-1" {
            "email.amazonses.com".to_string()
        } else {
            format!("{region}.amazonses.com")
        };
        Ok(SentMessage {
            provider_message_id: id.to_string(),
            thread_keys: vec![ses_key(id)],
            message_id: Some(format!("{id}@{host}")),
            file_id: None,
        })
    }
}

#[cfg(test)]
mod limit_tests {
    use super::*;
    use crate::conversation::{Attachment, Channel, Endpoint, MediaKind};
    use crate::ports::OutgoingFile;
    use std::sync::Arc;

    #[test]
    fn the_whole_mail_stays_within_ses_40_mb_once_encoded() {
        let endpoint = Endpoint {
            channel: Channel::Email,
            business_id: "support@acme.example".into(),
            customer_id: "ada@example.org".into(),
        };
        let with = |sizes: &[usize]| Outgoing {
            conversation: endpoint.conversation_id(),
            covers: None,
            endpoint: endpoint.clone(),
            author: Author::Agent("a".into()),
            text: "here".into(),
            template: None,
            promise: None,
            reply: None,
            files: sizes
                .iter()
                .map(|n| OutgoingFile {
                    attachment: Attachment::pending(MediaKind::Document, None),
                    bytes: Arc::new(vec![0; *n]),
                })
                .collect(),
        };
        assert!(check(&with(&[10 << 20, 10 << 20])).is_ok());
        let err = check(&with(&[15 << 20, 15 << 20])).unwrap_err();
        assert!(err.to_string().contains("at most 40 MB"), "{err}");
    }
}

#[cfg(test)]
mod address_tests {
    #[test]
    fn ses_messages_lose_their_addresses() {
        assert_eq!(
            super::without_addresses(
                "Email address is not verified. The following identities failed the check in region US-EAST-1: ada@example.org, <bob@x.example>"
            ),
            "Email address is not verified. The following identities failed the check in region US-EAST-1: <address> <address>"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::{Channel, Endpoint};
    use crate::ports::ReplyContext;

    fn outgoing(author: Author) -> Outgoing {
        let endpoint = Endpoint {
            channel: Channel::Email,
            business_id: "support@acme.example".into(),
            customer_id: "ada@example.org".into(),
        };
        Outgoing {
            conversation: endpoint.thread_id("m1@example.org"),
            covers: None,
            endpoint,
            author,
            text: "Grüße, we are on it.".into(),
            template: None,
            promise: None,
            files: Vec::new(),
            reply: Some(ReplyContext {
                provider_message_id: Some("m2@example.org".into()),
                subject: Some("Re: Rückerstattung".into()),
                in_reply_to: Some("m2@example.org".into()),
                references: vec!["m1@example.org".into(), "m2@example.org".into()],
            }),
        }
    }

    #[test]
    fn replies_thread_and_auto_replies_say_so() {
        let settings = EmailSettings::new("Acme Support <support@acme.example>");
        let agent = outgoing(Author::Agent("alice".into()));
        let mime = String::from_utf8(build_mime(&agent, &settings).unwrap()).unwrap();
        let parsed = mail_parser::MessageParser::default()
            .parse(mime.as_bytes())
            .unwrap();
        assert_eq!(parsed.subject(), Some("Re: Rückerstattung"));
        assert_eq!(parsed.in_reply_to().as_text(), Some("m2@example.org"));
        assert_eq!(parsed.references().as_text_list().map(|l| l.len()), Some(2));
        let reply_to = parsed
            .reply_to()
            .unwrap()
            .first()
            .unwrap()
            .address()
            .unwrap()
            .to_string();
        assert_eq!(
            reply_to,
            format!("support+{}@acme.example", agent.conversation)
        );
        assert_eq!(parsed.body_text(0).unwrap().trim(), "Grüße, we are on it.");
        assert!(parsed.header("Auto-Submitted").is_none());
        let auto = String::from_utf8(build_mime(&outgoing(Author::AutoReply), &settings).unwrap())
            .unwrap();
        assert!(auto.contains("Auto-Submitted: auto-replied\r\n"), "{auto}");
        assert!(auto.contains("X-Auto-Response-Suppress: All\r\n"));
        let parsed = mail_parser::MessageParser::default()
            .parse(auto.as_bytes())
            .unwrap();
        assert_eq!(parsed.subject(), Some("Auto: Re: Rückerstattung"));
        assert_eq!(reply_subject(None, false), "Re: Your message");
    }
}
