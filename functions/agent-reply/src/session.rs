//! Desk sessions: `POST /session` `{"key"}` signs in with the agent key and sets an
//! HttpOnly, Secure, SameSite=Strict cookie (12 hours, signed with the key's stored
//! hash: rotating the key ends it); `GET /session` says who is signed in;
//! `DELETE /session` removes the cookie. A cookie counts only with the
//! `X-Asyncdesk-Desk` header and never from another site (`Sec-Fetch-Site`), so
//! another origin's page cannot act with it (docs/desk.md, threat model).

use crate::{Agent, Store, json_body};
use asyncdesk::auth::AgentKeys;
use asyncdesk::auth::session::{
    self, SESSION_HOURS, SessionSecret, clear_cookie, mint, set_cookie,
};
use asyncdesk::http::{ApiError, json};
use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json as j;
use tracing::{info, warn};

/// Whether the request may use a cookie (`session::from_the_desk`).
fn from_the_desk(req: &Request) -> bool {
    session::from_the_desk(req.headers())
}

/// The agent a request authenticates as: a bearer key, or a desk session.
pub(crate) fn caller<'k>(
    req: &Request,
    keys: &'k AgentKeys,
    secret: Option<&SessionSecret>,
    now: DateTime<Utc>,
) -> Option<&'k str> {
    session::caller(req.headers(), keys, secret, now)
}

fn session_of<'k>(
    req: &Request,
    keys: &'k AgentKeys,
    secret: &SessionSecret,
    now: DateTime<Utc>,
) -> Option<(&'k str, DateTime<Utc>)> {
    session::session_of(req.headers(), keys, secret, now)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignIn {
    key: String,
}

fn who<S, O>(
    agent: &str,
    deps: &Agent<S, O>,
    expires_at: Option<DateTime<Utc>>,
) -> serde_json::Value {
    j!({ "agent": agent, "admin": deps.keys.is_admin(agent), "expires_at": expires_at })
}

pub(crate) async fn sign_in<S: Store, O>(
    req: &Request,
    deps: &Agent<S, O>,
    now: DateTime<Utc>,
) -> Result<Response<Body>, ApiError> {
    if !from_the_desk(req) {
        return Err(ApiError::new(
            403,
            "forbidden",
            "sign in from the desk (the X-Asyncdesk-Desk header, same origin)",
        ));
    }
    let Some(secret) = &deps.session_secret else {
        return Err(ApiError::new(
            403,
            "desk_not_configured",
            "desk sign-in needs DESK_SESSION_SECRET (docs/desk.md)",
        ));
    };
    let body: SignIn = json_body(req, "{\"key\": \"...\"}")?;
    let Some(agent) = deps.keys.agent_of_key(&body.key) else {
        warn!(
            event = "sign_in_refused",
            "desk sign-in with an unknown key"
        );
        return Err(ApiError::unauthorized("that agent key is not valid"));
    };
    let expires = now + chrono::Duration::hours(SESSION_HOURS);
    let token = mint(secret, &deps.keys, agent, expires).expect("a known agent has a key hash");
    info!(event = "sign_in", agent, "desk session started");
    let mut resp = json(200, &who(agent, deps, Some(expires)));
    resp.headers_mut().insert(
        "set-cookie",
        set_cookie(&token, expires, now)
            .parse()
            .expect("cookie is ASCII"),
    );
    resp.headers_mut()
        .insert("cache-control", "no-store".parse().expect("static"));
    Ok(resp)
}

pub(crate) fn current<S, O>(
    req: &Request,
    agent: &str,
    deps: &Agent<S, O>,
    now: DateTime<Utc>,
) -> Result<Response<Body>, ApiError> {
    let expires = deps
        .session_secret
        .as_ref()
        .and_then(|secret| session_of(req, &deps.keys, secret, now))
        .map(|(_, until)| until);
    Ok(json(200, &who(agent, deps, expires)))
}

pub(crate) fn sign_out() -> Response<Body> {
    Response::builder()
        .status(204)
        .header("set-cookie", clear_cookie())
        .header("cache-control", "no-store")
        .body(Body::Empty)
        .expect("static parts are valid")
}

#[cfg(test)]
mod tests {
    use super::*;
    use asyncdesk::auth::hash_key;
    use asyncdesk::auth::session::DESK_HEADER;

    fn request(headers: &[(&str, &str)]) -> Request {
        let mut b = lambda_http::http::Request::builder().uri("/conversations");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Body::Empty).unwrap()
    }

    #[test]
    fn a_cookie_counts_only_from_the_desk_and_a_bearer_key_always() {
        let keys = AgentKeys::parse(&format!("alice={}", hash_key("k-alice"))).unwrap();
        let now = Utc::now();
        let secret = SessionSecret::new("a-test-secret-of-at-least-32-characters").unwrap();
        let token = mint(&secret, &keys, "alice", now + chrono::Duration::hours(1)).unwrap();
        let cookie = format!("__Host-asyncdesk_desk={token}");
        let desk = [("cookie", cookie.as_str()), (DESK_HEADER, "1")];
        assert_eq!(
            caller(&request(&desk), &keys, Some(&secret), now),
            Some("alice")
        );
        let same_origin = [desk[0], desk[1], ("sec-fetch-site", "same-origin")];
        assert_eq!(
            caller(&request(&same_origin), &keys, Some(&secret), now),
            Some("alice")
        );
        // No desk header; another site; a bearer key that is wrong wins over a cookie.
        assert_eq!(
            caller(&request(&desk[..1]), &keys, Some(&secret), now),
            None
        );
        let cross = [desk[0], desk[1], ("sec-fetch-site", "cross-site")];
        assert_eq!(caller(&request(&cross), &keys, Some(&secret), now), None);
        let wrong = [desk[0], desk[1], ("authorization", "Bearer nope")];
        assert_eq!(caller(&request(&wrong), &keys, Some(&secret), now), None);
        let bearer = [("authorization", "Bearer k-alice")];
        assert_eq!(
            caller(&request(&bearer), &keys, Some(&secret), now),
            Some("alice")
        );
        // Without a secret no cookie counts; a bearer key still does.
        assert_eq!(caller(&request(&desk), &keys, None, now), None);
        assert_eq!(caller(&request(&bearer), &keys, None, now), Some("alice"));
    }
}
