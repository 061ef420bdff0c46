//! The local server's routes: the deployed API's routes (from the template) to the
//! same handlers, `/dev/outbox`, and the channel sandboxes under their prefixes.

use crate::bot_sandbox::BotSandbox;
use crate::sandbox::GraphSandbox;
use crate::server::{self, Request, Response};
use crate::stack::{BOT_SANDBOX_PREFIX, SANDBOX_PREFIX};
use agent_reply::Agent;
use inbound_webhook::Inbound;
use serde_json::json;

/// Whether `path` matches a template path such as `/conversations/{id}/messages`
/// (or `/desk/{proxy+}`, any non-empty rest).
fn path_matches(pattern: &str, path: &str) -> bool {
    if let Some(prefix) = pattern.strip_suffix("{proxy+}") {
        return path.len() > prefix.len() && path.starts_with(prefix);
    }
    let (p, a): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), path.split('/').collect());
    p.len() == a.len()
        && p.iter()
            .zip(&a)
            .all(|(p, a)| (p.starts_with('{') && p.ends_with('}') && !a.is_empty()) || p == a)
}

/// Which channel APIs the local server plays (those whose base URL is not set).
#[derive(Clone, Copy)]
pub struct Sandboxed {
    pub whatsapp: bool,
    pub telegram: bool,
}

#[derive(Clone)]
pub struct Sandboxes {
    pub graph: GraphSandbox,
    pub bot: BotSandbox,
    pub enabled: Sandboxed,
    /// SES on the moto server, and our sending address.
    pub ses: Option<(String, String)>,
}

impl Sandboxes {
    /// Every channel's sent messages, oldest first.
    async fn outbox(&self) -> Vec<crate::sandbox::OutboxEntry> {
        let mut all = self.graph.outbox();
        all.extend(self.bot.outbox());
        if let Some((endpoint, from)) = &self.ses {
            all.extend(crate::mail::outbox(endpoint, from).await);
        }
        all.sort_by_key(|e| e.at);
        all
    }
}

/// The functions behind the API's routes.
pub struct Functions<'a, S, O> {
    pub inbound: &'a Inbound<S>,
    pub agent: &'a Agent<S, O>,
    pub desk: &'a desk::Desk,
    /// `None` without the website chat (WIDGET_ORIGINS).
    pub widget: Option<&'a widget::Widget<S>>,
    pub reports: &'a reports::Reports<S>,
}

/// `/dev/site`: a demo shop page embedding the widget from this server's other
/// name (`127.0.0.1` for the script, `localhost` for the page: two origins), under
/// a strict CSP like a careful site's.
pub fn demo_site(req: &Request, widget: bool) -> Response {
    if !widget {
        return server::json_response(
            404,
            &json!({"message": "the website chat is not configured (WIDGET_ORIGINS)"}),
        );
    }
    let host = req
        .headers()
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let port = host.rsplit_once(':').map_or("80", |(_, p)| p);
    let origin = format!("http://127.0.0.1:{port}");
    let csp = format!(
        "default-src 'none'; script-src {origin}; connect-src {origin}; img-src {origin} data:; style-src 'none'"
    );
    http::Response::builder()
        .status(200)
        .header("content-type", "text/html; charset=utf-8")
        .header("content-security-policy", csp)
        .body(hyper::body::Bytes::from(
            widget::DEMO_SITE.replace("{{WIDGET_ORIGIN}}", &origin),
        ))
        .expect("valid response")
}

/// Dispatches like the deployed HTTP API: only the template's routes reach a function.
pub async fn route<S, O>(
    req: Request,
    api_routes: &[crate::template::Route],
    functions: Functions<'_, S, O>,
    sandboxes: &Sandboxes,
) -> Response
where
    S: asyncdesk::ports::ConversationStore
        + asyncdesk::ports::DeskStore
        + asyncdesk::ports::WidgetStore
        + asyncdesk::ports::WebMailStore
        + asyncdesk::ports::WaitStore,
    O: asyncdesk::ports::Outbound,
{
    let Functions {
        inbound,
        agent,
        desk,
        widget,
        reports,
    } = functions;
    let path = req.uri().path().to_string();
    let now = chrono::Utc::now();
    let function = api_routes
        .iter()
        .find(|r| r.method == req.method().as_str() && path_matches(&r.path, &path))
        .map(|r| r.function.as_str());
    match function {
        Some("InboundWebhookFunction") => {
            return server::from_lambda(
                inbound_webhook::handle(&server::to_lambda(req), inbound, now).await,
            );
        }
        Some("AgentReplyFunction") => {
            return server::from_lambda(
                agent_reply::handle(&server::to_lambda(req), agent, now).await,
            );
        }
        Some("ReportsFunction") => {
            return server::from_lambda(
                reports::handle(&server::to_lambda(req), reports, now).await,
            );
        }
        Some("DeskFunction") => {
            return server::from_lambda(desk::handle(&server::to_lambda(req), desk));
        }
        Some("WidgetFunction") => {
            let req = server::to_lambda(req);
            return server::from_lambda(match widget {
                Some(widget) => widget::handle(&req, widget, now).await,
                None => widget::not_configured(&req),
            });
        }
        // The same schedule as the agent function's (one BUSINESS_HOURS).
        Some("AvailabilityFunction") => {
            return server::from_lambda(availability::handle(
                &server::to_lambda(req),
                &agent.hours,
                now,
            ));
        }
        Some(other) => {
            tracing::error!(
                function = other,
                "the template routes to a function the local stack does not know"
            );
            return server::json_response(500, &json!({"message": "Internal Server Error"}));
        }
        None => {}
    }
    let enabled = sandboxes.enabled;
    if path == "/dev/outbox" && (enabled.whatsapp || enabled.telegram || sandboxes.ses.is_some()) {
        return server::json_response(200, &json!({ "messages": sandboxes.outbox().await }));
    }
    if let Some(rest) = path
        .strip_prefix(SANDBOX_PREFIX)
        .filter(|_| enabled.whatsapp)
    {
        let resp = sandboxes.graph.handle(rest, &req);
        if resp.status().is_success() && rest.ends_with("/messages") {
            tracing::info!(
                event = "outbox",
                channel = "whatsapp",
                "WhatsApp sandbox accepted a message (GET /dev/outbox)"
            );
        }
        return resp;
    }
    if let Some(rest) = path
        .strip_prefix(BOT_SANDBOX_PREFIX)
        .filter(|_| enabled.telegram)
    {
        let resp = sandboxes.bot.handle(rest, &req);
        if resp.status().is_success() && rest.ends_with("/sendMessage") {
            tracing::info!(
                event = "outbox",
                channel = "telegram",
                "Telegram sandbox accepted a message (GET /dev/outbox)"
            );
        }
        return resp;
    }
    // API Gateway's own answer for a route it does not have.
    server::json_response(404, &json!({"message": "Not Found"}))
}
