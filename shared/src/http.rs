//! HTTP edge helpers shared by the HTTP functions: JSON responses and the one mapping
//! from library errors to status codes. Platforms retry 5xx for days, so only
//! failures that a retry can fix are 5xx; bad input is always a 4xx with a JSON body.

use crate::ports::{SendError, StoreError};
use lambda_http::{Body, Response};
use serde::Serialize;
use serde_json::{Value, json};

/// A JSON response with `status`.
pub fn json<T: Serialize>(status: u16, body: &T) -> Response<Body> {
    let bytes = serde_json::to_vec(body).expect("response types serialize");
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::Binary(bytes))
        .expect("static parts are valid")
}

/// A plain-text response (the webhook handshake echoes its challenge as text).
pub fn text(status: u16, body: &str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "text/plain; charset=utf-8")
        .body(Body::Text(body.to_string()))
        .expect("static parts are valid")
}

/// An error answered as `{"error": {"code", "message", ...}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub details: Option<Value>,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "bad_request", message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(401, "unauthorized", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, "not_found", message)
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            405,
            "method_not_allowed",
            "method not allowed on this route",
        )
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn into_response(self) -> Response<Body> {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let Some(d) = self.details {
            error["details"] = d;
        }
        let mut resp = json(self.status, &json!({ "error": error }));
        if let Some(secs) = self.retry_after {
            resp.headers_mut().insert("retry-after", secs.into());
        }
        resp
    }
}

/// The id of this request: API Gateway's request id when there is one (it is also
/// in API Gateway's access logs), else a fresh one (tests, the local stack).
pub fn request_id(req: &lambda_http::Request) -> String {
    use lambda_http::RequestExt;
    use lambda_http::request::RequestContext;
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone(),
        _ => None,
    }
    .filter(|id| !id.is_empty())
    .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// Every answer carries `x-request-id`; an error's JSON also carries it as
/// `error.request_id`, so errors everywhere share one shape
/// `{"error": {"code", "message", "details", "request_id"}}`.
pub fn with_request_id(mut resp: Response<Body>, request_id: &str) -> Response<Body> {
    if resp.status().as_u16() >= 400
        && let Ok(mut v) = serde_json::from_slice::<Value>(resp.body().as_ref())
        && let Some(error) = v.get_mut("error").and_then(Value::as_object_mut)
    {
        error.insert("request_id".into(), Value::String(request_id.to_string()));
        error.entry("details").or_insert(Value::Null);
        *resp.body_mut() = Body::Binary(serde_json::to_vec(&v).expect("JSON"));
    }
    if let Ok(value) = lambda_http::http::HeaderValue::from_str(request_id) {
        resp.headers_mut().insert("x-request-id", value);
    }
    resp
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::InvalidCursor => ApiError::new(
                400,
                "invalid_cursor",
                "cursor is not valid for this listing",
            ),
            StoreError::NotFound(what) => ApiError::not_found(format!("{what} not found")),
            StoreError::Unavailable(_) => {
                tracing::error!(error = %e, "store unavailable");
                ApiError::new(
                    503,
                    "store_unavailable",
                    "the conversation store is unavailable; retry later",
                )
            }
            StoreError::Corrupt(_) => {
                tracing::error!(error = %e, "unreadable store item");
                ApiError::new(500, "internal", "internal error")
            }
            // A write the table refuses for good: the request itself is at fault.
            StoreError::Invalid(_) => {
                tracing::warn!(error = %e, "write refused by the table");
                ApiError::new(422, "unprocessable", "the table cannot hold this request")
            }
        }
    }
}

impl From<crate::ports::ObjectError> for ApiError {
    fn from(e: crate::ports::ObjectError) -> Self {
        tracing::error!(error = %e, "media bucket unavailable");
        ApiError::new(
            503,
            "media_unavailable",
            "the media bucket is unavailable; retry later",
        )
    }
}

impl From<SendError> for ApiError {
    fn from(e: SendError) -> Self {
        let provider = serde_json::to_value(e.provider_error()).unwrap_or(Value::Null);
        let (status, code, message) = match &e {
            SendError::Rejected(_) => (422, "channel_rejected", "the channel rejected the message"),
            SendError::Unreachable(_) => (
                422,
                "customer_unreachable",
                "the customer cannot be reached on this channel (blocked us or deactivated the account)",
            ),
            SendError::Limit(_) => (
                422,
                "channel_limit",
                "the channel does not take this message",
            ),
            SendError::NotConfigured(_) => (
                422,
                "channel_not_configured",
                "this deployment has no configuration for the conversation's channel",
            ),
            SendError::Unauthorized(_) => (
                502,
                "channel_auth_failed",
                "the channel refused asyncdesk's credentials",
            ),
            SendError::RateLimited { .. } => (
                429,
                "channel_rate_limited",
                "the channel is rate limiting; retry later",
            ),
            SendError::Unconfirmed(_) => (
                504,
                "channel_unconfirmed",
                "the channel did not confirm the send; the message may have arrived, so check before resending",
            ),
            SendError::Unavailable(_) => (
                502,
                "channel_unavailable",
                "the channel could not be reached; retry later",
            ),
        };
        let mut err =
            ApiError::new(status, code, message).with_details(json!({ "provider": provider }));
        match e {
            SendError::RateLimited { retry_after, .. } => {
                err.retry_after = retry_after.or(Some(30))
            }
            // The limit, in the channel's words.
            SendError::Limit(limit) => err.message = limit,
            _ => {}
        }
        err
    }
}

/// Query parameters of a request, from the URI (API Gateway HTTP API and the local
/// stack both put the raw query string there).
pub fn query_param(uri: &http::Uri, name: &str) -> Option<String> {
    let query = uri.query()?;
    url_pairs(query).find(|(k, _)| k == name).map(|(_, v)| v)
}

/// A whole-number query parameter from 1 to `max`; `default` when absent; 400
/// naming the parameter otherwise.
pub fn count_param(uri: &http::Uri, name: &str, default: u64, max: u64) -> Result<u64, ApiError> {
    match query_param(uri, name) {
        None => Ok(default),
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|v| (1..=max).contains(v))
            .ok_or_else(|| {
                ApiError::bad_request(format!("{name} must be a whole number from 1 to {max}"))
            }),
    }
}

fn url_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_params_are_decoded() {
        let uri: http::Uri =
            "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=a%20b+c&hub.challenge=12"
                .parse()
                .unwrap();
        assert_eq!(query_param(&uri, "hub.mode").as_deref(), Some("subscribe"));
        assert_eq!(
            query_param(&uri, "hub.verify_token").as_deref(),
            Some("a b c")
        );
        assert_eq!(query_param(&uri, "missing"), None);
    }
}
