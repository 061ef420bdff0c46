//! SNS notifications from SES: a received mail (the SES `Received` notification, with
//! the mail inline in UTF-8 or Base64 or in S3, and the receiving checks' verdicts)
//! or an event of SES event publishing (Delivery, Bounce, Complaint...), which becomes
//! a delivery status of our outbound mail.

use super::EmailSettings;
use crate::conversation::{
    Channel, DeliveryState, MailAuth, ProviderError, Rejection, StatusUpdate,
};
use crate::ports::PayloadError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

/// What one SNS notification carries.
#[derive(Debug)]
pub enum Notification {
    /// A mail SES received.
    Received(Received),
    /// A delivery status of a mail we sent (SES event publishing).
    Status(Option<StatusUpdate>),
    /// Something SNS or SES sends that asyncdesk does not use (a subscription
    /// notice, a Send or Open event...).
    Ignored(&'static str),
}

/// Where the mail's source is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailSource {
    Inline(Vec<u8>),
    S3 { bucket: String, key: String },
}

/// A received mail's notification.
#[derive(Debug)]
pub struct Received {
    /// SNS's id of the notification (kept across SNS retries).
    pub sns_message_id: String,
    /// SES's id of the received mail.
    pub ses_message_id: String,
    pub source: MailSource,
    /// The envelope sender (MAIL FROM).
    pub envelope_sender: Option<String>,
    /// Recipients of the receipt rule (envelope RCPT TO).
    pub recipients: Vec<String>,
    pub received_at: Option<DateTime<Utc>>,
    /// A failed spam or virus verdict.
    pub verdict: Option<String>,
    /// The SPF, DKIM and DMARC verdicts (`by` is decided with the mail, `auth`).
    pub auth: MailAuth,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesNotification {
    notification_type: Option<String>,
    event_type: Option<String>,
    mail: Option<SesMail>,
    receipt: Option<SesReceipt>,
    content: Option<String>,
    bounce: Option<Value>,
    complaint: Option<Value>,
    delivery: Option<Value>,
    reject: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesMail {
    message_id: String,
    source: Option<String>,
    timestamp: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesReceipt {
    #[serde(default)]
    recipients: Vec<String>,
    spam_verdict: Option<Verdict>,
    virus_verdict: Option<Verdict>,
    spf_verdict: Option<Verdict>,
    dkim_verdict: Option<Verdict>,
    dmarc_verdict: Option<Verdict>,
    action: SesAction,
}

#[derive(Deserialize)]
struct Verdict {
    status: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesAction {
    #[serde(rename = "type")]
    kind: String,
    encoding: Option<String>,
    bucket_name: Option<String>,
    object_key: Option<String>,
}

/// Reads an SNS notification's `Message` (an SES notification, JSON). Fails when
/// it is not one: the caller keeps it raw as a rejection.
pub fn read_notification(
    message: &str,
    sns_message_id: &str,
    settings: &EmailSettings,
) -> Result<Notification, PayloadError> {
    let n: SesNotification = serde_json::from_str(message)
        .map_err(|e| PayloadError(format!("not an SES notification: {e}")))?;
    let kind = n
        .notification_type
        .as_deref()
        .or(n.event_type.as_deref())
        .ok_or_else(|| PayloadError("SES notification without a type".into()))?;
    match kind {
        "Received" => received(n, sns_message_id).map(Notification::Received),
        "Delivery" | "Bounce" | "Complaint" | "Reject" | "Open" => {
            Ok(Notification::Status(status(kind, &n, settings)?))
        }
        "AmazonSnsSubscriptionSucceeded" => Ok(Notification::Ignored("subscription notice")),
        "Send" | "Click" | "DeliveryDelay" | "Rendering Failure" | "Subscription" => Ok(
            Notification::Ignored("event that changes no delivery state"),
        ),
        _ => Err(PayloadError(format!(
            "unknown SES notification type {kind:?}"
        ))),
    }
}

fn received(n: SesNotification, sns_message_id: &str) -> Result<Received, PayloadError> {
    let mail = n
        .mail
        .ok_or_else(|| PayloadError("Received notification without mail".into()))?;
    let receipt = n
        .receipt
        .ok_or_else(|| PayloadError("Received notification without receipt".into()))?;
    let source = match receipt.action.kind.to_ascii_lowercase().as_str() {
        "sns" => {
            let content = n
                .content
                .ok_or_else(|| PayloadError("SNS action notification without content".into()))?;
            // "UTF-8" in CloudFormation, "UTF8" and "BASE64" in payloads.
            let encoding = receipt
                .action
                .encoding
                .as_deref()
                .unwrap_or("UTF8")
                .to_ascii_lowercase()
                .replace('-', "");
            let bytes = match encoding.as_str() {
                "base64" => STANDARD
                    .decode(content.trim().replace(['\r', '\n'], ""))
                    .map_err(|e| PayloadError(format!("content is not Base64: {e}")))?,
                "utf8" => content.into_bytes(),
                other => return Err(PayloadError(format!("unknown content encoding {other:?}"))),
            };
            MailSource::Inline(bytes)
        }
        "s3" => MailSource::S3 {
            bucket: receipt
                .action
                .bucket_name
                .ok_or_else(|| PayloadError("S3 action without bucketName".into()))?,
            key: receipt
                .action
                .object_key
                .ok_or_else(|| PayloadError("S3 action without objectKey".into()))?,
        },
        other => {
            return Err(PayloadError(format!(
                "receipt action {other:?} carries no mail (use the SNS or S3 action)"
            )));
        }
    };
    let failed = |v: &Option<Verdict>| {
        v.as_ref()
            .is_some_and(|v| v.status.eq_ignore_ascii_case("FAIL"))
    };
    let verdict = if failed(&receipt.virus_verdict) {
        Some("virus".to_string())
    } else if failed(&receipt.spam_verdict) {
        Some("spam".to_string())
    } else {
        None
    };
    Ok(Received {
        sns_message_id: sns_message_id.to_string(),
        ses_message_id: mail.message_id,
        source,
        envelope_sender: mail.source,
        recipients: receipt.recipients,
        received_at: mail.timestamp,
        verdict,
        auth: MailAuth {
            spf: status_of(&receipt.spf_verdict),
            dkim: status_of(&receipt.dkim_verdict),
            dmarc: status_of(&receipt.dmarc_verdict),
            by: None,
        },
    })
}

/// A verdict's status, upper-case and bounded (it is the receiving service's word,
/// but only `PASS` counts for anything).
fn status_of(v: &Option<Verdict>) -> Option<String> {
    v.as_ref().map(|v| {
        v.status
            .chars()
            .take(20)
            .collect::<String>()
            .to_ascii_uppercase()
    })
}

fn status(
    kind: &str,
    n: &SesNotification,
    settings: &EmailSettings,
) -> Result<Option<StatusUpdate>, PayloadError> {
    let mail = n
        .mail
        .as_ref()
        .ok_or_else(|| PayloadError(format!("{kind} notification without mail")))?;
    let detail = match kind {
        "Delivery" => n.delivery.as_ref(),
        "Bounce" => n.bounce.as_ref(),
        "Complaint" => n.complaint.as_ref(),
        "Reject" => n.reject.as_ref(),
        _ => None,
    };
    let at = detail
        .and_then(|d| d.get("timestamp"))
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .or(mail.timestamp)
        .unwrap_or_else(Utc::now);
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let (state, error) = match kind {
        "Delivery" => (DeliveryState::Delivered, None),
        "Open" => (DeliveryState::Read, None),
        "Complaint" => (
            DeliveryState::Complained,
            Some(ProviderError {
                code: Some("complaint".into()),
                title: "the recipient marked the mail as spam".into(),
                detail: detail.and_then(|d| text(d, "complaintFeedbackType")),
            }),
        ),
        "Bounce" => {
            let d = detail.cloned().unwrap_or_default();
            let kind = text(&d, "bounceType").unwrap_or_else(|| "Undetermined".into());
            let sub = text(&d, "bounceSubType").unwrap_or_default();
            let diagnostic = d
                .get("bouncedRecipients")
                .and_then(|r| r.get(0))
                .and_then(|r| r.get("diagnosticCode"))
                .and_then(Value::as_str)
                .map(|s| s.chars().take(500).collect());
            (
                DeliveryState::Failed,
                Some(ProviderError {
                    code: Some(format!("bounce:{kind}/{sub}")),
                    title: format!("{kind} bounce ({sub})"),
                    detail: diagnostic,
                }),
            )
        }
        _ => (
            DeliveryState::Failed,
            Some(ProviderError {
                code: Some("reject".into()),
                title: "SES rejected the mail".into(),
                detail: detail.and_then(|d| text(d, "reason")),
            }),
        ),
    };
    Ok(Some(StatusUpdate {
        channel: Channel::Email,
        business_id: settings.from.address.clone(),
        provider_message_id: mail.message_id.clone(),
        state,
        at,
        error,
    }))
}

/// A received mail that could not be read as MIME, kept raw.
pub fn rejection(reason: &str, raw: &str, received_at: DateTime<Utc>) -> Rejection {
    Rejection {
        channel: Channel::Email,
        business_id: None,
        path: "Records[].Sns.Message".into(),
        reason: reason.to_string(),
        raw: raw.to_string(),
        received_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAIL: &str = "From: a@b.c\r\nSubject: x\r\n\r\nhi\r\n";

    fn settings() -> EmailSettings {
        EmailSettings::new("Acme Support <support@acme.example>")
    }

    #[test]
    fn notifications_are_told_apart() {
        let s = settings();
        let inline = serde_json::json!({"notificationType":"Received","mail":{"messageId":"x","source":"a@b.c"},
            "receipt":{"recipients":["support@acme.example"],"spamVerdict":{"status":"FAIL"},
            "action":{"type":"SNS","encoding":"BASE64"}},"content": STANDARD.encode(MAIL)});
        let Notification::Received(r) = read_notification(&inline.to_string(), "n1", &s).unwrap()
        else {
            panic!()
        };
        assert_eq!(r.source, MailSource::Inline(MAIL.as_bytes().to_vec()));
        assert_eq!(r.verdict.as_deref(), Some("spam"));
        let bounce = serde_json::json!({"eventType":"Bounce","mail":{"messageId":"ses-9"},
            "bounce":{"bounceType":"Permanent","bounceSubType":"General","timestamp":"2026-12-01T10:00:00Z",
            "bouncedRecipients":[{"emailAddress":"a@b.c","diagnosticCode":"550 no such user"}]}});
        let Notification::Status(Some(st)) =
            read_notification(&bounce.to_string(), "n2", &s).unwrap()
        else {
            panic!()
        };
        assert_eq!(st.state, DeliveryState::Failed);
        assert_eq!(st.provider_message_id, "ses-9");
        assert_eq!(
            st.error.unwrap().code.as_deref(),
            Some("bounce:Permanent/General")
        );
        assert!(read_notification("Hello\r\nworld!", "n3", &s).is_err());
        let lambda_action = serde_json::json!({"notificationType":"Received","mail":{"messageId":"x"},
            "receipt":{"action":{"type":"Lambda"}}});
        assert!(read_notification(&lambda_action.to_string(), "n4", &s).is_err());
    }
}
