//! Which pages may call the widget's routes: `Origin` must be one of
//! `WIDGET_ORIGINS` (a request without one, or from any other page, is refused
//! before anything is read or stored), and the answer names that origin for the
//! browser. The preflight is cached for two hours (Chromium's cap): the polling
//! URL never changes (its cursor travels in a header), so one preflight serves
//! every poll.

use asyncdesk::channels::web::WidgetSettings;
use asyncdesk::http::ApiError;
use lambda_http::http::HeaderValue;
use lambda_http::{Body, Request, Response};

/// The request's allowed origin, or 403.
pub fn origin(req: &Request, settings: &WidgetSettings) -> Result<String, ApiError> {
    let origin = req
        .headers()
        .get("origin")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or_default();
    if origin.is_empty() || !settings.allows(origin) {
        tracing::warn!(
            event = "origin_refused",
            present = !origin.is_empty(),
            "widget request from an origin not in WIDGET_ORIGINS"
        );
        return Err(ApiError::new(
            403,
            "origin_not_allowed",
            "this site may not use the chat widget (WIDGET_ORIGINS)",
        ));
    }
    Ok(origin.to_ascii_lowercase())
}

/// The preflight's answer.
pub fn preflight(origin: &str, methods: &'static str) -> Response<Body> {
    let resp = Response::builder()
        .status(204)
        .header("access-control-allow-methods", methods)
        .header(
            "access-control-allow-headers",
            "authorization, content-type, x-widget-since",
        )
        .header("access-control-max-age", "7200")
        .body(Body::Empty)
        .expect("static parts are valid");
    allow(resp, origin)
}

/// Lets `origin`'s page read the answer.
pub fn allow(mut resp: Response<Body>, origin: &str) -> Response<Body> {
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(origin) {
        h.insert("access-control-allow-origin", v);
    }
    h.insert("vary", HeaderValue::from_static("Origin"));
    h.insert(
        "access-control-expose-headers",
        HeaderValue::from_static("retry-after, x-request-id"),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    resp
}
