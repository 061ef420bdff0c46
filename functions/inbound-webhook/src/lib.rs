//! Inbound webhooks: `GET /webhooks/{channel}` (subscription handshake, where the
//! channel has one) and `POST /webhooks/{channel}` (notifications). The handler is a
//! plain async function over the ports, so tests call it directly; each channel's
//! authentication and format come from its plug-in.

use asyncdesk::channels::Webhooks;
use asyncdesk::config::InboundConfig;
use asyncdesk::conversation::Channel;
use asyncdesk::http::{ApiError, json, query_param, text};
use asyncdesk::ingest::{Receipt, ingest};
use asyncdesk::ports::{ConversationStore, WebhookChannel, WebhookRequest};
use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, Response};
use tracing::{debug, info, warn};

/// What the handler needs: the store and the enabled channels' webhooks. It makes
/// no outbound call: what a channel wants acknowledged goes back in the response.
pub struct Inbound<S> {
    pub store: S,
    pub webhooks: Webhooks,
}

impl<S: ConversationStore> Inbound<S> {
    pub fn new(store: S, config: &InboundConfig) -> Self {
        Inbound {
            store,
            webhooks: config.webhooks.clone(),
        }
    }
}

pub async fn handle<S: ConversationStore>(
    req: &Request,
    deps: &Inbound<S>,
    now: DateTime<Utc>,
) -> Response<Body> {
    use tracing::Instrument;
    let request_id = asyncdesk::http::request_id(req);
    let span = tracing::info_span!("webhook", request_id = %request_id);
    let resp = answer(req, deps, now).instrument(span).await;
    asyncdesk::http::with_request_id(resp, &request_id)
}

async fn answer<S: ConversationStore>(
    req: &Request,
    deps: &Inbound<S>,
    now: DateTime<Utc>,
) -> Response<Body> {
    let path = req.uri().path().trim_end_matches('/');
    let Some(name) = path.strip_prefix("/webhooks/").filter(|n| !n.contains('/')) else {
        return ApiError::not_found("no such route").into_response();
    };
    let Some(webhook) = deps.webhooks.get(name) else {
        return match Channel::parse(name) {
            Some(c) => ApiError::new(
                404,
                "channel_not_configured",
                format!("the {c} channel is not configured in this deployment"),
            ),
            None => ApiError::not_found("no such route"),
        }
        .into_response();
    };
    let query = |k: &str| query_param(req.uri(), k);
    let request = WebhookRequest {
        headers: req.headers(),
        // lambda_http has already undone API Gateway's base64 (isBase64Encoded):
        // these are the exact bytes the platform sent (and signed).
        body: req.body().as_ref(),
        query: &query,
    };
    match req.method().as_str() {
        "GET" => handshake(webhook, &request),
        "POST" => match notification(webhook, &request, deps, now).await {
            Ok((_, Some(call))) => json(200, &call),
            Ok((receipt, None)) => json(200, &receipt),
            Err(e) => e.into_response(),
        },
        _ => ApiError::method_not_allowed().into_response(),
    }
}

fn handshake(webhook: &dyn WebhookChannel, req: &WebhookRequest) -> Response<Body> {
    let channel = webhook.channel();
    match webhook.handshake(req) {
        Some(Ok(challenge)) => {
            info!(event = "subscribed", %channel, "webhook handshake accepted");
            text(200, &challenge)
        }
        Some(Err(e)) => {
            warn!(%channel, "webhook handshake refused");
            ApiError::new(403, "forbidden", e.to_string()).into_response()
        }
        None => ApiError::method_not_allowed().into_response(),
    }
}

/// Stores the notification: the receipt, and the call the channel takes from the
/// response instead of it, if any (Telegram: answerCallbackQuery for a button press).
async fn notification<S: ConversationStore>(
    webhook: &dyn WebhookChannel,
    req: &WebhookRequest<'_>,
    deps: &Inbound<S>,
    now: DateTime<Utc>,
) -> Result<(Receipt, Option<serde_json::Value>), ApiError> {
    let channel = webhook.channel();
    if let Err(e) = webhook.authenticate(req) {
        warn!(%channel, reason = %e, "webhook authentication refused");
        return Err(ApiError::unauthorized(e.to_string()));
    }
    let batch = webhook.parse(req.body, now).map_err(|e| {
        // The reason can quote payload values: it goes to the sender, not the log.
        warn!(%channel, bytes = req.body.len(), "malformed webhook");
        ApiError::bad_request(e.to_string())
    })?;
    // Debug, as the stored message's line: at the default level a delivery logs
    // only its metric line (docs/cost.md, "Logs").
    debug!(
        event = "received",
        %channel,
        messages = batch.messages.len(),
        edits = batch.edits.len(),
        statuses = batch.statuses.len(),
        rejected = batch.rejections.len(),
        "webhook received"
    );
    let receipt = ingest(&deps.store, &batch, now).await?;
    Ok((receipt, webhook.response(&batch.acknowledgements)))
}
