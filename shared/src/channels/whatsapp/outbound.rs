//! Sending through the Graph API: `POST {base}/{phone_number_id}/messages`, and the
//! sorting of Graph errors into send-error classes.

use super::inbound::ErrorData;
use crate::conversation::ProviderError;
use crate::ports::{Outgoing, SendError, SentMessage};
use async_trait::async_trait;
use serde::Deserialize;

/// Sends through the Graph API: `POST {base}/{phone_number_id}/messages`.
#[derive(Clone)]
pub struct WhatsAppClient {
    http: reqwest::Client,
    api_base: String,
    access_token: String,
}

#[derive(Deserialize)]
struct SendResponse {
    messages: Vec<SendResponseMessage>,
}

#[derive(Deserialize)]
struct SendResponseMessage {
    id: String,
}

#[derive(Deserialize)]
struct GraphErrorBody {
    error: GraphError,
}

#[derive(Deserialize)]
struct GraphError {
    message: Option<String>,
    code: Option<i64>,
    error_data: Option<ErrorData>,
}

impl WhatsAppClient {
    pub fn new(http: reqwest::Client, api_base: &str, access_token: &str) -> Self {
        WhatsAppClient {
            http,
            api_base: api_base.trim_end_matches('/').to_string(),
            access_token: access_token.to_string(),
        }
    }

    pub(super) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub(super) fn api_base(&self) -> &str {
        &self.api_base
    }

    pub(super) fn access_token(&self) -> &str {
        &self.access_token
    }

    pub async fn send_text(
        &self,
        phone_number_id: &str,
        to: &str,
        text: &str,
    ) -> Result<SentMessage, SendError> {
        self.send_message(
            phone_number_id,
            to,
            serde_json::json!({ "type": "text", "text": { "preview_url": false, "body": text } }),
        )
        .await
    }

    /// An approved template with its body parameters (allowed outside the window).
    pub async fn send_template(
        &self,
        phone_number_id: &str,
        to: &str,
        template: &crate::conversation::TemplateMessage,
    ) -> Result<SentMessage, SendError> {
        let parameters: Vec<serde_json::Value> = template
            .parameters
            .iter()
            .map(|p| serde_json::json!({ "type": "text", "text": p }))
            .collect();
        let mut body = serde_json::json!({
            "name": template.name,
            "language": { "code": template.language },
        });
        if !parameters.is_empty() {
            body["components"] = serde_json::json!([{ "type": "body", "parameters": parameters }]);
        }
        self.send_message(
            phone_number_id,
            to,
            serde_json::json!({ "type": "template", "template": body }),
        )
        .await
    }

    pub(super) async fn send_message(
        &self,
        phone_number_id: &str,
        to: &str,
        content: serde_json::Value,
    ) -> Result<SentMessage, SendError> {
        // With the plus sign the number is read as international; without it Meta
        // would prepend the business number's country code.
        let digits = to.trim_start_matches('+');
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            // A customer known only by a business-scoped user id (BSUID): sending to
            // a BSUID takes another recipient form, not implemented yet. Refuse
            // clearly instead of sending "+US.1349..." as a phone number.
            return Err(SendError::Rejected(ProviderError {
                code: None,
                title: "the customer is known only by a BSUID; replies need a phone number".into(),
                detail: Some(format!("recipient {to:?} is not a phone number")),
            }));
        }
        let to = format!("+{digits}");
        let mut body = serde_json::json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
        });
        if let (Some(b), Some(c)) = (body.as_object_mut(), content.as_object()) {
            b.extend(c.clone());
        }
        let url = format!("{}/{}/messages", self.api_base, phone_number_id);
        let resp = self
            .http
            .post(&url)
            .bearer_auth(&self.access_token)
            .json(&body)
            .send()
            .await
            .map_err(|e| {
                if e.is_connect() {
                    // Nothing reached Meta: safe to try again.
                    SendError::Unavailable(format!("WhatsApp API unreachable: {}", without_url(e)))
                } else {
                    SendError::Unconfirmed(format!(
                        "no answer from the WhatsApp API: {}",
                        without_url(e)
                    ))
                }
            })?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok()?.parse().ok());
        let bytes = resp.bytes().await.map_err(|e| {
            SendError::Unconfirmed(format!("WhatsApp API response cut off: {}", without_url(e)))
        })?;
        if status.is_success() {
            // Accepted, but without an id we cannot tell what was sent.
            let id = serde_json::from_slice::<SendResponse>(&bytes)
                .ok()
                .and_then(|r| r.messages.into_iter().next())
                .ok_or_else(|| {
                    SendError::Unconfirmed("WhatsApp API answered 2xx without a message id".into())
                })?
                .id;
            return Ok(SentMessage::new(id));
        }
        Err(classify_graph(status.as_u16(), retry_after, &bytes))
    }
}

/// Sorts a Graph API error answer (its status and body).
pub(super) fn classify_graph(status: u16, retry_after: Option<u64>, body: &[u8]) -> SendError {
    let graph = serde_json::from_slice::<GraphErrorBody>(body)
        .ok()
        .map(|b| b.error);
    let error = ProviderError {
        code: graph.as_ref().and_then(|g| g.code).map(|c| c.to_string()),
        title: graph
            .as_ref()
            .and_then(|g| g.message.clone())
            .unwrap_or_else(|| format!("HTTP {status}")),
        detail: graph.and_then(|g| g.error_data?.details),
    };
    classify(status, retry_after, error)
}

/// Sorts a Graph API error by what to do about it: Meta asks to decide on `code`
/// first (error-codes page), the HTTP status second.
fn classify(status: u16, retry_after: Option<u64>, error: ProviderError) -> SendError {
    match error.code.as_deref().and_then(|c| c.parse::<i64>().ok()) {
        // Throughput, pair-rate, WABA, app and spam-rate limits.
        Some(4 | 80007 | 130429 | 131048 | 131056) => SendError::RateLimited { retry_after, error },
        // The service is down or overloaded and took nothing ("API Service",
        // "Service unavailable").
        Some(2 | 131016) => {
            SendError::Unavailable(format!("WhatsApp API error {}: {}", status, error.title))
        }
        // "API Unknown" (possible server error) and "Something went wrong" (failed for
        // an unknown reason): the outcome is unknown, so never sent again.
        Some(1 | 131000) => SendError::Unconfirmed(format!(
            "WhatsApp API error {status} of unknown outcome: {}",
            error.title
        )),
        // Access token expired or invalid.
        Some(190) => SendError::Unauthorized(error),
        _ if status == 429 => SendError::RateLimited { retry_after, error },
        // Any other 5xx, with an unknown Graph code or none (a proxy's 502/504), may
        // come after the request was passed on: the message may be out.
        _ if status >= 500 => {
            SendError::Unconfirmed(format!("WhatsApp API answered {status}: {}", error.title))
        }
        _ if status == 401 || status == 403 => SendError::Unauthorized(error),
        _ => SendError::Rejected(error),
    }
}

/// reqwest errors include the URL; keep it out of messages and logs.
fn without_url(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    kind.to_string()
}

#[async_trait]
impl crate::ports::Outbound for WhatsAppClient {
    fn enabled(&self, channel: crate::conversation::Channel) -> bool {
        channel == crate::conversation::Channel::Whatsapp
    }

    fn check(&self, message: &Outgoing) -> Result<(), SendError> {
        super::outbound_media::check(message)
    }

    async fn send(&self, message: &Outgoing) -> Result<SentMessage, SendError> {
        if let Some(file) = message.files.first() {
            return self
                .send_file(
                    &message.endpoint.business_id,
                    &message.endpoint.customer_id,
                    file,
                    &message.text,
                )
                .await;
        }
        match &message.template {
            Some(t) => {
                self.send_template(
                    &message.endpoint.business_id,
                    &message.endpoint.customer_id,
                    t,
                )
                .await
            }
            None => {
                self.send_text(
                    &message.endpoint.business_id,
                    &message.endpoint.customer_id,
                    &message.text,
                )
                .await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_errors_are_sorted_by_code_first() {
        let e = |code: i64| ProviderError {
            code: Some(code.to_string()),
            title: "t".into(),
            detail: None,
        };
        assert!(matches!(
            classify(400, None, e(131000)),
            SendError::Unconfirmed(_)
        ));
        assert!(matches!(
            classify(500, None, e(1)),
            SendError::Unconfirmed(_)
        ));
        assert!(matches!(
            classify(503, None, e(131016)),
            SendError::Unavailable(_)
        ));
        assert!(matches!(
            classify(400, None, e(2)),
            SendError::Unavailable(_)
        ));
        assert!(matches!(
            classify(400, Some(6), e(131056)),
            SendError::RateLimited {
                retry_after: Some(6),
                ..
            }
        ));
        assert!(matches!(
            classify(400, None, e(190)),
            SendError::Unauthorized(_)
        ));
        assert!(matches!(
            classify(400, None, e(131047)),
            SendError::Rejected(_)
        ));
        assert!(matches!(
            classify(503, None, e(999)),
            SendError::Unconfirmed(_)
        ));
        assert!(matches!(
            classify(429, None, e(999)),
            SendError::RateLimited { .. }
        ));
        let bare = ProviderError {
            code: None,
            title: "HTTP 502".into(),
            detail: None,
        };
        assert!(matches!(
            classify(502, None, bare),
            SendError::Unconfirmed(_)
        ));
    }

    #[tokio::test]
    async fn a_customer_without_a_phone_number_is_refused_before_sending() {
        // Nothing listens on port 9: a request would fail as unreachable, not rejected.
        let client = WhatsAppClient::new(reqwest::Client::new(), "http://127.0.0.1:9", "t");
        let err = client
            .send_text("106540352242922", "US.13491208655302741918", "hi")
            .await
            .unwrap_err();
        assert!(matches!(err, SendError::Rejected(_)), "{err:?}");
    }
}
