//! The website chat's public side: `GET /widget.js` (the script a site embeds),
//! `GET /widget/config` (open or not, and the promise in the visitor's time),
//! `POST /widget/session` (a signed visitor token), and `GET`/`POST
//! /widget/messages` (the visitor's thread and their messages). No agent key
//! reaches this function; a visitor reads only the conversation their token names.
//!
//! Browsers may call it only from `WIDGET_ORIGINS` (CORS, and `Origin` checked on
//! every route but the script); per-visitor and per-IP limits answer 429 with
//! `Retry-After`; crawlers are turned away before anything is stored.

mod cors;
mod messages;
mod script;
mod session;
mod status;

use asyncdesk::channels::web::WidgetSettings;
use asyncdesk::config::WidgetConfig;
use asyncdesk::hours::BusinessHours;
use asyncdesk::http::ApiError;
use asyncdesk::ports::{ConversationStore, WaitStore, WebMailStore, WidgetStore};
use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, Response};

pub use script::{DEMO_SITE, WIDGET_JS};

/// What the store must do for the widget.
pub trait Store: ConversationStore + WidgetStore + WebMailStore + WaitStore {}
impl<T: ConversationStore + WidgetStore + WebMailStore + WaitStore> Store for T {}

/// The handler's dependencies, built once at cold start.
pub struct Widget<S> {
    pub store: S,
    pub settings: WidgetSettings,
    pub hours: BusinessHours,
    pub site: String,
    /// The measured typical first answer (business minutes) and when it was read.
    pub typical: std::sync::Mutex<Option<(DateTime<Utc>, Option<i64>)>>,
}

impl<S: Store> Widget<S> {
    /// `None` when the deployment has no web chat (`WIDGET_ORIGINS` unset).
    pub fn new(store: S, config: &WidgetConfig) -> Option<Self> {
        Some(Self::from_parts(
            store,
            config.widget.clone()?,
            config.hours.clone(),
        ))
    }

    pub fn from_parts(store: S, settings: WidgetSettings, hours: BusinessHours) -> Self {
        Widget {
            store,
            settings,
            hours,
            site: asyncdesk::channels::web::SITE.to_string(),
            typical: std::sync::Mutex::new(None),
        }
    }
}

/// Every answer of a deployment without the web chat.
pub fn not_configured(req: &Request) -> Response<Body> {
    let request_id = asyncdesk::http::request_id(req);
    asyncdesk::http::with_request_id(
        ApiError::new(
            404,
            "widget_not_configured",
            "the website chat is not configured in this deployment (WIDGET_ORIGINS)",
        )
        .into_response(),
        &request_id,
    )
}

pub async fn handle<S: Store>(
    req: &Request,
    deps: &Widget<S>,
    now: DateTime<Utc>,
) -> Response<Body> {
    use tracing::Instrument;
    let request_id = asyncdesk::http::request_id(req);
    let span = tracing::info_span!("widget", request_id = %request_id);
    let resp = answer(req, deps, now).instrument(span).await;
    asyncdesk::http::with_request_id(resp, &request_id)
}

async fn answer<S: Store>(req: &Request, deps: &Widget<S>, now: DateTime<Utc>) -> Response<Body> {
    let path = req.uri().path().trim_end_matches('/');
    let method = req.method().as_str();
    if path == "/widget.js" {
        return match method {
            "GET" | "HEAD" => script::serve(req),
            _ => ApiError::method_not_allowed().into_response(),
        };
    }
    let route = match path {
        "/widget/config" => Route::Config,
        "/widget/session" => Route::Session,
        "/widget/messages" => Route::Messages,
        _ => return ApiError::not_found("no such route").into_response(),
    };
    // A visitor's route without a token is unauthorized whoever asks.
    if matches!(route, Route::Messages)
        && method != "OPTIONS"
        && req.headers().get("authorization").is_none()
    {
        return session::invalid_token().into_response();
    }
    // Every widget route is for the allowed sites' pages only.
    let origin = match cors::origin(req, &deps.settings) {
        Ok(origin) => origin,
        Err(e) => return e.into_response(),
    };
    if method == "OPTIONS" {
        return cors::preflight(&origin, route.methods());
    }
    let result = match (route, method) {
        (Route::Config, "GET") => Ok(status::config(req, deps, now).await),
        (Route::Session, "POST") => session::post(req, deps, now).await,
        (Route::Messages, "GET") => messages::list(req, deps, now).await,
        (Route::Messages, "POST") => messages::post(req, deps, now).await,
        _ => Err(ApiError::method_not_allowed()),
    };
    let resp = result.unwrap_or_else(ApiError::into_response);
    cors::allow(resp, &origin)
}

#[derive(Clone, Copy)]
enum Route {
    Config,
    Session,
    Messages,
}

impl Route {
    fn methods(self) -> &'static str {
        match self {
            Route::Config => "GET",
            Route::Session => "POST",
            Route::Messages => "GET, POST",
        }
    }
}

/// The request's JSON body, or 400 naming what was expected.
fn json_body<T: serde::de::DeserializeOwned>(req: &Request, expected: &str) -> Result<T, ApiError> {
    if req.body().len() > MAX_BODY_BYTES {
        return Err(ApiError::new(
            413,
            "too_large",
            format!("the body is over {MAX_BODY_BYTES} bytes"),
        ));
    }
    serde_json::from_slice(req.body().as_ref())
        .map_err(|e| ApiError::bad_request(format!("expected {expected}: {e}")))
}

/// Largest request body (a 4,000-character message in 4-byte characters, and the rest).
pub const MAX_BODY_BYTES: usize = 20_000;

/// The caller's address as API Gateway saw it (never a header the client wrote).
fn source_ip(req: &Request) -> Option<String> {
    use lambda_http::RequestExt;
    use lambda_http::request::RequestContext;
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.clone(),
        _ => None,
    }
}

/// A key for the caller's address: a digest under the session secret, so counters
/// in the table carry no address.
fn ip_key<S>(req: &Request, deps: &Widget<S>) -> String {
    let ip = source_ip(req).unwrap_or_else(|| "unknown".into());
    deps.settings
        .session_secret
        .digest("widget-ip", &network(&ip))
}

/// The address an IPv4 caller has, or the /64 an IPv6 caller has (one subscriber's
/// network: its addresses are free to rotate).
fn network(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(std::net::IpAddr::V6(v6)) => v6
            .to_ipv4_mapped()
            .map(|v4| v4.to_string())
            .unwrap_or_default(),
        _ => ip.to_string(),
    }
}

/// 429 until the next minute starts.
fn too_many(what: &str, now: DateTime<Utc>) -> ApiError {
    let mut e = ApiError::new(
        429,
        "rate_limited",
        format!("too many {what}; try again shortly"),
    );
    e.retry_after = Some((60 - now.timestamp().rem_euclid(60)).max(1) as u64);
    e
}

/// Whether the caller says it is a crawler (or says nothing).
fn is_bot(req: &Request) -> bool {
    let ua = req
        .headers()
        .get("user-agent")
        .and_then(|v| v.to_str().ok());
    asyncdesk::channels::web::bots::is_bot(ua)
}
