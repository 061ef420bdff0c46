//! `POST /dev/email`: SES receiving played on the local stack. The raw mail becomes
//! the Received notification SES would publish (verdicts and recipients from the
//! query), handed to the inbound-email function as SNS would.

use crate::server::{self, Request, Response};
use asyncdesk::objects::S3Objects;
use asyncdesk::store::dynamo::DynamoStore;
use serde_json::json;
use std::collections::HashMap;

/// `POST /dev/email[?encoding=base64|utf8][&sns_message_id=...][&spf=&dkim=&dmarc=]`: the raw mail in
/// the body goes to the inbound-email handler as SES receiving -> SNS delivers it.
pub async fn dev_email(
    req: Request,
    email: &inbound_email::InboundEmail<DynamoStore, S3Objects>,
) -> Response {
    let query: HashMap<String, String> = req
        .uri()
        .query()
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    let encoding = match query
        .get("encoding")
        .map(|e| e.to_ascii_lowercase())
        .as_deref()
    {
        None | Some("base64") => crate::mail::Encoding::Base64,
        Some("utf8" | "utf-8") => crate::mail::Encoding::Utf8,
        Some(other) => {
            return server::json_response(
                400,
                &json!({"message": format!("encoding must be base64 or utf8, not {other:?}")}),
            );
        }
    };
    if req.body().is_empty() {
        return server::json_response(
            400,
            &json!({"message": "the body must be a raw RFC 822 mail"}),
        );
    }
    let sns_id = query
        .get("sns_message_id")
        .cloned()
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let notification = crate::mail::received_notification_to(
        req.body(),
        encoding,
        &format!("local-{}", uuid::Uuid::new_v4().simple()),
        &email.settings.from.address,
    );
    // SES's checks: PASS unless the query says otherwise (`?spf=FAIL&dkim=FAIL&dmarc=FAIL`
    // plays a forged sender; `dmarc=none` leaves DMARC out).
    let verdict = |name: &str| {
        query
            .get(name)
            .map_or("PASS".to_string(), |v| v.to_ascii_uppercase())
    };
    let dmarc = verdict("dmarc");
    let notification = crate::mail::with_verdicts(
        notification,
        &verdict("spf"),
        &verdict("dkim"),
        (dmarc != "NONE").then_some(dmarc.as_str()),
    );
    // The envelope recipients: our addresses among To and Cc (SMTP RCPT TO),
    // else our address.
    let ours = crate::mail::local_recipients(req.body(), email.settings.from.domain());
    let notification = if ours.is_empty() {
        notification
    } else {
        let ours: Vec<&str> = ours.iter().map(String::as_str).collect();
        crate::mail::with_recipients(notification, &ours)
    };
    let event = crate::mail::sns_event(&[(sns_id.as_str(), &notification)]);
    match inbound_email::handle_event(event, email, chrono::Utc::now()).await {
        // The receipt in its own field order, as the webhooks answer it.
        Ok(summary) => http::Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(hyper::body::Bytes::from(
                serde_json::to_vec(&summary.receipt).unwrap_or_default(),
            ))
            .expect("a valid response"),
        // What Lambda would do: fail the invocation (and retry it).
        Err(e) => server::json_response(500, &json!({"message": e.to_string()})),
    }
}
