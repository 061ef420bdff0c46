//! Inbound webhooks: `GET /webhooks/whatsapp` (subscription handshake) and
//! `POST /webhooks/whatsapp` (signed notifications). The handler is a plain async
//! function over the store port, so tests call it directly.

use asyncdesk::channels::whatsapp;
use asyncdesk::config::InboundConfig;
use asyncdesk::conversation::InboundMessage;
use asyncdesk::http::{ApiError, json, query_param, text};
use asyncdesk::store::{ConversationStore, Recorded, StatusApplied};
use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use tracing::{info, warn};

/// What the handler needs: the store and the WhatsApp webhook secrets.
pub struct Inbound<S> {
    pub store: S,
    pub whatsapp_app_secret: String,
    pub whatsapp_verify_token: String,
}

impl<S: ConversationStore> Inbound<S> {
    pub fn new(store: S, config: &InboundConfig) -> Self {
        Inbound {
            store,
            whatsapp_app_secret: config.whatsapp_app_secret.clone(),
            whatsapp_verify_token: config.whatsapp_verify_token.clone(),
        }
    }
}

/// The acknowledgement body of a processed notification.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Receipt {
    pub messages: usize,
    pub stored: usize,
    pub duplicates: usize,
    pub statuses: usize,
    pub statuses_applied: usize,
}

pub async fn handle<S: ConversationStore>(
    req: &Request,
    deps: &Inbound<S>,
    now: DateTime<Utc>,
) -> Response<Body> {
    let path = req.uri().path().trim_end_matches('/');
    match (path, req.method().as_str()) {
        ("/webhooks/whatsapp", "GET") => whatsapp_handshake(req, deps),
        ("/webhooks/whatsapp", "POST") => match whatsapp_notification(req, deps, now).await {
            Ok(receipt) => json(200, &receipt),
            Err(e) => e.into_response(),
        },
        ("/webhooks/whatsapp", _) => ApiError::method_not_allowed().into_response(),
        _ => ApiError::not_found("no such route").into_response(),
    }
}

fn whatsapp_handshake<S>(req: &Request, deps: &Inbound<S>) -> Response<Body> {
    let q = |name| query_param(req.uri(), name);
    let (mode, token, challenge) = (q("hub.mode"), q("hub.verify_token"), q("hub.challenge"));
    match whatsapp::verify_handshake(
        mode.as_deref(),
        token.as_deref(),
        challenge.as_deref(),
        &deps.whatsapp_verify_token,
    ) {
        Some(challenge) => {
            info!(
                event = "subscribed",
                channel = "whatsapp",
                "webhook handshake accepted"
            );
            text(200, challenge)
        }
        None => {
            warn!(channel = "whatsapp", "webhook handshake refused");
            ApiError::new(403, "forbidden", "verify token or mode does not match").into_response()
        }
    }
}

async fn whatsapp_notification<S: ConversationStore>(
    req: &Request,
    deps: &Inbound<S>,
    now: DateTime<Utc>,
) -> Result<Receipt, ApiError> {
    // lambda_http has already undone API Gateway's base64 (isBase64Encoded): these
    // are the exact bytes Meta signed.
    let body: &[u8] = req.body().as_ref();
    let signature = req
        .headers()
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    if let Err(e) = whatsapp::verify_signature(deps.whatsapp_app_secret.as_bytes(), body, signature)
    {
        warn!(channel = "whatsapp", reason = %e, "webhook signature refused");
        return Err(ApiError::unauthorized(e.to_string()));
    }
    let batch = whatsapp::parse_webhook(body, now).map_err(|e| {
        // The reason can quote payload values: it goes to the sender, not the log.
        warn!(
            channel = "whatsapp",
            bytes = body.len(),
            "malformed webhook"
        );
        ApiError::bad_request(e.to_string())
    })?;
    info!(
        event = "received",
        channel = "whatsapp",
        messages = batch.messages.len(),
        statuses = batch.statuses.len(),
        "webhook received"
    );
    let mut receipt = Receipt {
        messages: batch.messages.len(),
        stored: 0,
        duplicates: 0,
        statuses: batch.statuses.len(),
        statuses_applied: 0,
    };
    // Stop at the first store failure and answer 5xx: the platform redelivers the
    // whole batch, and what was already stored is recognised as a duplicate.
    for inbound in &batch.messages {
        match deps.store.record_inbound(inbound, now).await? {
            Recorded::Stored => {
                receipt.stored += 1;
                log_stored(inbound);
            }
            Recorded::Duplicate => {
                receipt.duplicates += 1;
                info!(event = "duplicate", conversation = %inbound.message.conversation_id, message_id = %inbound.message.id, "already stored");
            }
        }
    }
    for status in &batch.statuses {
        match deps.store.apply_status(status).await? {
            StatusApplied::Applied => {
                receipt.statuses_applied += 1;
                info!(event = "status", provider_message_id = %status.provider_message_id, state = status.state.as_str(), "delivery status updated");
            }
            StatusApplied::Stale => {}
            StatusApplied::Parked => {
                info!(event = "status_parked", provider_message_id = %status.provider_message_id, state = status.state.as_str(), "status for a message not stored (yet): kept for its final write")
            }
        }
    }
    Ok(receipt)
}

fn log_stored(inbound: &InboundMessage) {
    let m = &inbound.message;
    info!(
        event = "stored",
        channel = m.endpoint.channel.as_str(),
        conversation = %m.conversation_id,
        message_id = %m.id,
        kind = m.kind.as_str(),
        "message stored"
    );
}
