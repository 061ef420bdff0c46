//! `POST /widget/session`: the visitor's signed token. With a valid token it is
//! renewed (same visitor); with a site's `user_id` and matching `user_hash` it names
//! that user (their conversation on every device); else a new anonymous visitor.
//! Only a new visitor is counted against the caller's per-IP limit.

use crate::{Store, Widget, is_bot, json_body, too_many};
use asyncdesk::channels::web::visitor::{self, Visitor};
use asyncdesk::http::{ApiError, json};
use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json as j;
use tracing::{info, warn};

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SessionBody {
    token: Option<String>,
    user_id: Option<String>,
    user_hash: Option<String>,
}

pub async fn post<S: Store>(
    req: &Request,
    deps: &Widget<S>,
    now: DateTime<Utc>,
) -> Result<Response<Body>, ApiError> {
    if is_bot(req) {
        return Err(automated());
    }
    let body: SessionBody = if req.body().is_empty() {
        SessionBody::default()
    } else {
        json_body(req, r#"{"token"?, "user_id"?, "user_hash"?}"#)?
    };
    let secret = &deps.settings.session_secret;
    // (visitor, a new one, the token to keep when it is still fresh)
    let (visitor, new, keep) = match (&body.user_id, &body.token) {
        (Some(user_id), _) => (user(deps, user_id, body.user_hash.as_deref())?, false, None),
        (None, Some(token)) => match visitor::verify(secret, token, now) {
            // A signed-in user's token is renewed only with their user_hash: on a
            // shared browser, the next person (no user_id on the page) gets none.
            Ok((v, _)) if v.is_user() => {
                warn!(
                    event = "token_refused",
                    reason = "user token without user_hash",
                    "widget token refused"
                );
                return Err(invalid_token());
            }
            // Renewed once a day: tabs sharing it see it change rarely.
            Ok((v, issued)) => {
                let keep = (now - issued < chrono::Duration::days(1)).then(|| token.clone());
                (v, false, keep)
            }
            Err(e) => {
                warn!(event = "token_refused", reason = %e, "widget token refused");
                return Err(invalid_token());
            }
        },
        (None, None) => (Visitor::new_anonymous(), true, None),
    };
    if new {
        let key = format!("ses-ip#{}", crate::ip_key(req, deps));
        if !deps
            .store
            .take(&key, deps.settings.limits.ip_sessions, now)
            .await?
        {
            return Err(too_many("new chats from this address", now));
        }
    }
    let endpoint = visitor.endpoint(&deps.site);
    let id = endpoint.conversation_id();
    let contact_known = deps
        .store
        .get_conversation(&id)
        .await?
        .is_some_and(|c| c.contact_email.is_some());
    info!(event = "widget_session", new, identified = visitor.is_user(), conversation = %id, "visitor session");
    Ok(json(
        200,
        &j!({
            "token": keep.unwrap_or_else(|| visitor::mint(secret, &visitor, now)),
            "conversation_id": id,
            "identified": visitor.is_user(),
            "contact_known": contact_known,
        }),
    ))
}

/// A site's user, vouched for by `user_hash`.
fn user<S>(deps: &Widget<S>, user_id: &str, hash: Option<&str>) -> Result<Visitor, ApiError> {
    let Some(identity) = &deps.settings.identity_secret else {
        return Err(ApiError::new(
            400,
            "identity_not_configured",
            "this deployment verifies no user ids (WIDGET_IDENTITY_SECRET is not set)",
        ));
    };
    visitor::valid_user_id(user_id).map_err(ApiError::bad_request)?;
    match hash {
        Some(h) if visitor::user_hash_matches(identity, user_id, h) => {
            Ok(Visitor::User(user_id.to_string()))
        }
        _ => {
            warn!(
                event = "user_hash_refused",
                "user_hash does not match user_id"
            );
            Err(ApiError::new(
                403,
                "user_hash_mismatch",
                "user_hash is not the HMAC of user_id under this site's identity secret",
            ))
        }
    }
}

pub(crate) fn invalid_token() -> ApiError {
    ApiError::new(
        401,
        "invalid_token",
        "the visitor token is not valid; start a new session",
    )
}

pub(crate) fn automated() -> ApiError {
    ApiError::new(
        403,
        "automated_client",
        "automated clients cannot use the chat",
    )
}

/// The visitor a request's `Authorization: Bearer <token>` names.
pub(crate) fn visitor_of<S>(
    req: &Request,
    deps: &Widget<S>,
    now: DateTime<Utc>,
) -> Result<Visitor, ApiError> {
    let token = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or_else(invalid_token)?;
    visitor::verify(&deps.settings.session_secret, token, now)
        .map(|(v, _)| v)
        .map_err(|e| {
            warn!(event = "token_refused", reason = %e, "widget token refused");
            invalid_token()
        })
}
