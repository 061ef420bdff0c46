//! `GET /templates`: the approved templates (`WHATSAPP_TEMPLATES`) the desk offers
//! when a conversation's reply window is closed.

use crate::Agent;
use asyncdesk::http::json;
use lambda_http::{Body, Response};
use serde_json::json as j;

pub(crate) fn list<S, O>(deps: &Agent<S, O>) -> Response<Body> {
    json(200, &j!({ "templates": deps.templates }))
}
