//! Email on the local DynamoDB-API server (moto): SES v2 for sending (what was sent
//! is read back from `/moto-api/data.json`), S3 for mail stored by the S3 action, and
//! the SNS -> Lambda events SES receiving produces.

use crate::aws;
use asyncdesk::channels::Channels;
use asyncdesk::channels::email::{EmailSettings, SesSender};
use asyncdesk::conversation::Channel;
use asyncdesk::objects::S3Objects;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use mail_parser::MimeHeaders;
use serde_json::{Value, json};
use std::sync::Arc;

/// Our support mailbox in the tests.
pub const SUPPORT: &str = "Acme Support <support@acme.example>";
pub const SUPPORT_ADDRESS: &str = "support@acme.example";

pub fn settings() -> EmailSettings {
    EmailSettings::new(SUPPORT)
}

/// An SES v2 client for `endpoint` with the sender's settings (one attempt).
pub async fn ses_client(endpoint: &str) -> aws_sdk_sesv2::Client {
    let sdk = aws::local_config(endpoint).await;
    let config = aws_sdk_sesv2::config::Builder::from(&sdk)
        .retry_config(aws_sdk_sesv2::config::retry::RetryConfig::standard().with_max_attempts(1))
        .build();
    aws_sdk_sesv2::Client::from_conf(config)
}

/// Verifies `address` as a sending identity on the moto server at `endpoint`.
pub async fn verify_identity(endpoint: &str, address: &str) {
    ses_client(endpoint)
        .await
        .create_email_identity()
        .email_identity(address)
        .send()
        .await
        .expect("create email identity");
}

/// The SES sender on `endpoint`, as the sending functions build it.
pub async fn ses_sender(endpoint: &str, settings: EmailSettings) -> SesSender {
    SesSender::new(ses_client(endpoint).await, settings)
}

/// Channels with only email, through SES at `endpoint`.
pub async fn email_channels(endpoint: &str) -> Channels {
    Channels::default().with(
        Channel::Email,
        Arc::new(ses_sender(endpoint, settings()).await),
    )
}

pub async fn s3_client(endpoint: &str) -> aws_sdk_s3::Client {
    let sdk = aws::local_config(endpoint).await;
    let config = aws_sdk_s3::config::Builder::from(&sdk)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

pub async fn s3_objects(endpoint: &str) -> S3Objects {
    S3Objects::new(s3_client(endpoint).await)
}

/// Stores `mail` as SES's S3 action would, in a fresh bucket; returns (bucket, key).
pub async fn put_mail(endpoint: &str, key: &str, mail: &[u8]) -> (String, String) {
    let s3 = s3_client(endpoint).await;
    let bucket = format!("mail-{}", uuid::Uuid::new_v4().simple());
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("create bucket");
    s3.put_object()
        .bucket(&bucket)
        .key(key)
        .body(mail.to_vec().into())
        .send()
        .await
        .expect("put object");
    (bucket, key.to_string())
}

/// How SES hands the mail to SNS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Base64,
    Utf8,
}

/// The SES `Received` notification for `mail` with the SNS action.
/// The envelope recipients (RCPT TO) are our addresses among its To and Cc, as a
/// mail client delivers it (else our address).
pub fn received_notification(mail: &[u8], encoding: Encoding, ses_id: &str) -> Value {
    let domain = SUPPORT_ADDRESS.rsplit_once('@').map_or("", |(_, d)| d);
    let ours = local_recipients(mail, domain);
    let n = received_notification_to(mail, encoding, ses_id, SUPPORT_ADDRESS);
    if ours.is_empty() {
        return n;
    }
    with_recipients(n, &ours.iter().map(String::as_str).collect::<Vec<_>>())
}

/// The addresses of `domain` among a mail's To and Cc: where a mail client would
/// have delivered it (SMTP RCPT TO).
pub fn local_recipients(mail: &[u8], domain: &str) -> Vec<String> {
    let Some(parsed) = mail_parser::MessageParser::default().parse(mail) else {
        return Vec::new();
    };
    parsed
        .to()
        .into_iter()
        .chain(parsed.cc())
        .flat_map(|a| a.iter())
        .filter_map(|a| a.address())
        .map(str::to_ascii_lowercase)
        .filter(|a| a.rsplit_once('@').is_some_and(|(_, d)| d == domain))
        .collect()
}

/// The same, for mail received at `recipient`.
pub fn received_notification_to(
    mail: &[u8],
    encoding: Encoding,
    ses_id: &str,
    recipient: &str,
) -> Value {
    let (encoding, content) = match encoding {
        Encoding::Base64 => ("BASE64", STANDARD.encode(mail)),
        Encoding::Utf8 => ("UTF8", String::from_utf8_lossy(mail).into_owned()),
    };
    json!({
        "notificationType": "Received",
        "mail": {"timestamp": chrono::Utc::now().to_rfc3339(), "source": envelope_sender(mail),
            "messageId": ses_id, "destination": [recipient]},
        "receipt": {"timestamp": chrono::Utc::now().to_rfc3339(), "recipients": [recipient],
            "spamVerdict": {"status": "PASS"}, "virusVerdict": {"status": "PASS"},
            "spfVerdict": {"status": "PASS"}, "dkimVerdict": {"status": "PASS"},
            "dmarcVerdict": {"status": "PASS"},
            "action": {"type": "SNS", "topicArn": "arn:aws:sns:us-east-1:111111111111:asyncdesk", "encoding": encoding}},
        "content": content,
    })
}

/// `notification` with SES's SPF, DKIM and DMARC verdicts set to these statuses
/// (`None` leaves the verdict out, as SES does without a DMARC policy).
pub fn with_verdicts(mut notification: Value, spf: &str, dkim: &str, dmarc: Option<&str>) -> Value {
    let receipt = &mut notification["receipt"];
    receipt["spfVerdict"] = json!({"status": spf});
    receipt["dkimVerdict"] = json!({"status": dkim});
    match dmarc {
        Some(d) => receipt["dmarcVerdict"] = json!({"status": d}),
        None => {
            receipt.as_object_mut().map(|r| r.remove("dmarcVerdict"));
        }
    }
    notification
}

/// `notification` as received by SES for these envelope recipients (RCPT TO).
pub fn with_recipients(mut notification: Value, recipients: &[&str]) -> Value {
    notification["receipt"]["recipients"] = json!(recipients);
    notification["mail"]["destination"] = json!(recipients);
    notification
}

/// The SES `Received` notification of a mail stored by the S3 action.
pub fn s3_notification(bucket: &str, key: &str, ses_id: &str, sender: &str) -> Value {
    json!({
        "notificationType": "Received",
        "mail": {"timestamp": chrono::Utc::now().to_rfc3339(), "source": sender,
            "messageId": ses_id, "destination": [SUPPORT_ADDRESS]},
        "receipt": {"recipients": [SUPPORT_ADDRESS], "spamVerdict": {"status": "PASS"},
            "virusVerdict": {"status": "PASS"}, "spfVerdict": {"status": "PASS"},
            "dkimVerdict": {"status": "PASS"}, "dmarcVerdict": {"status": "PASS"},
            "action": {"type": "S3", "topicArn": "arn:aws:sns:us-east-1:111111111111:asyncdesk",
                "bucketName": bucket, "objectKey": key}},
    })
}

/// The envelope sender SES would report: the mail's Return-Path, else its From.
fn envelope_sender(mail: &[u8]) -> String {
    let parsed = mail_parser::MessageParser::default().parse(mail);
    parsed
        .as_ref()
        .and_then(|m| m.return_address().map(str::to_string))
        .or_else(|| {
            parsed
                .as_ref()
                .and_then(|m| m.from())
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .map(str::to_string)
        })
        .unwrap_or_default()
}

/// The SNS -> Lambda event carrying `messages` (each with its SNS MessageId).
pub fn sns_event(messages: &[(&str, &Value)]) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|(id, m)| {
            json!({"EventSource": "aws:sns", "EventVersion": "1.0",
                "EventSubscriptionArn": "arn:aws:sns:us-east-1:111111111111:asyncdesk:1",
                "Sns": {"Type": "Notification", "MessageId": id,
                    "TopicArn": "arn:aws:sns:us-east-1:111111111111:asyncdesk",
                    "Subject": "Amazon SES Email Receipt Notification",
                    "Message": m.to_string(), "Timestamp": chrono::Utc::now().to_rfc3339(),
                    "SignatureVersion": "1", "Signature": "", "SigningCertUrl": "", "UnsubscribeUrl": "",
                    "MessageAttributes": {}}})
        })
        .collect();
    json!({ "Records": records })
}

/// An SES event-publishing notification (Delivery, Bounce, Complaint) of our mail.
pub fn ses_event(kind: &str, ses_message_id: &str) -> Value {
    let at = chrono::Utc::now().to_rfc3339();
    let mut event = json!({"eventType": kind,
        "mail": {"timestamp": at, "messageId": ses_message_id, "source": SUPPORT_ADDRESS,
            "destination": ["ada@example.org"]}});
    match kind {
        "Delivery" => {
            event["delivery"] = json!({"timestamp": at, "recipients": ["ada@example.org"], "smtpResponse": "250 ok"})
        }
        "Bounce" => {
            event["bounce"] = json!({"bounceType": "Permanent", "bounceSubType": "General", "timestamp": at,
            "bouncedRecipients": [{"emailAddress": "ada@example.org", "diagnosticCode": "smtp; 550 5.1.1 user unknown"}]})
        }
        "Complaint" => {
            event["complaint"] = json!({"timestamp": at, "complaintFeedbackType": "abuse",
            "complainedRecipients": [{"emailAddress": "ada@example.org"}]})
        }
        _ => {}
    }
    event
}

/// A mail sent through SES on the moto server (`/moto-api/data.json`).
#[derive(Debug, Clone)]
pub struct SentMail {
    pub id: String,
    pub source: String,
    pub destinations: Vec<String>,
    pub raw: String,
}

impl SentMail {
    /// The value of header `name` (first occurrence, unfolded).
    pub fn header(&self, name: &str) -> Option<String> {
        let parsed = mail_parser::MessageParser::default().parse(self.raw.as_bytes())?;
        parsed
            .header_raw(name)
            .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
    }

    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(self.raw.as_bytes())
            .expect("a mail")
    }
}

/// Every mail SES on `endpoint` sent so far, oldest first.
pub async fn sent_mail(endpoint: &str) -> Vec<SentMail> {
    let data: Value = reqwest::get(format!("{endpoint}/moto-api/data.json"))
        .await
        .expect("moto answers")
        .json()
        .await
        .expect("JSON");
    data["ses"]["RawMessage"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|m| SentMail {
            id: m["id"].as_str().unwrap_or_default().to_string(),
            source: m["source"].as_str().unwrap_or_default().to_string(),
            destinations: m["destinations"]
                .as_array()
                .map(|d| {
                    d.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            raw: m["raw_data"].as_str().unwrap_or_default().to_string(),
        })
        .collect()
}

/// A customer mail.
pub fn customer_mail(
    from: &str,
    subject: &str,
    message_id: &str,
    extra_headers: &str,
    body: &str,
) -> Vec<u8> {
    format!(
        "From: Ada Lovelace <{from}>\r\nTo: {SUPPORT}\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\nDate: {}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n{extra_headers}\r\n{body}\r\n",
        chrono::Utc::now().to_rfc2822()
    )
    .into_bytes()
}

/// What SES on `endpoint` sent from `from`, as outbox entries (oldest first).
pub async fn outbox(endpoint: &str, from: &str) -> Vec<crate::sandbox::OutboxEntry> {
    sent_mail(endpoint)
        .await
        .into_iter()
        .filter(|m| m.source.eq_ignore_ascii_case(from))
        .map(|m| {
            let parsed = m.parsed();
            let mut headers = std::collections::BTreeMap::new();
            if let Some(subject) = parsed.subject() {
                headers.insert("Subject".to_string(), subject.to_string());
            }
            for name in [
                "From",
                "Reply-To",
                "In-Reply-To",
                "References",
                "Auto-Submitted",
                "X-Auto-Response-Suppress",
            ] {
                if let Some(v) = m.header(name) {
                    headers.insert(name.to_string(), v);
                }
            }
            crate::sandbox::OutboxEntry {
                id: m.id.clone(),
                channel: "email",
                business_id: from.to_string(),
                to: m.destinations.first().cloned().unwrap_or_default(),
                text: parsed
                    .body_text(0)
                    .map(|t| t.trim().to_string())
                    .unwrap_or_default(),
                reply_to: m.header("In-Reply-To"),
                at: parsed
                    .date()
                    .and_then(|d| chrono::DateTime::from_timestamp(d.to_timestamp(), 0))
                    .unwrap_or_else(chrono::Utc::now),
                headers: Some(headers),
                attachments: parsed
                    .attachments()
                    .map(|a| {
                        crate::sandbox::OutboxFile::of(
                            "attachment",
                            a.attachment_name().map(str::to_string),
                            a.content_type().map(|c| match c.subtype() {
                                Some(sub) => format!("{}/{}", c.ctype(), sub),
                                None => c.ctype().to_string(),
                            }),
                            a.contents(),
                        )
                    })
                    .collect(),
            }
        })
        .collect()
}
