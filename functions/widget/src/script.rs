//! `GET /widget.js`: the script a site embeds, built into this function
//! (`assets/widget.js`: no framework, no build step). Cached for five minutes by
//! browsers and revalidated by ETag after that.

use lambda_http::{Body, Request, Response};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

/// The widget's script.
pub const WIDGET_JS: &str = include_str!("../assets/widget.js");
/// The demo shop page the local stack serves at `/dev/site` (`{{WIDGET_ORIGIN}}`
/// is where the script comes from). Not served by the deployed function.
pub const DEMO_SITE: &str = include_str!("../assets/site.html");

static ETAG: LazyLock<String> =
    LazyLock::new(|| format!("\"{}\"", &hex::encode(Sha256::digest(WIDGET_JS))[..20]));

pub fn serve(req: &Request) -> Response<Body> {
    let fresh = req
        .headers()
        .get("if-none-match")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == ETAG.as_str()));
    let builder = Response::builder()
        .header("etag", ETAG.as_str())
        .header("cache-control", "public, max-age=300")
        .header("x-content-type-options", "nosniff")
        // Any page may load the script; what it calls checks the page's origin.
        .header("cross-origin-resource-policy", "cross-origin")
        .header("access-control-allow-origin", "*");
    if fresh {
        return builder.status(304).body(Body::Empty).expect("static parts");
    }
    let body = if req.method() == "HEAD" {
        Body::Empty
    } else {
        Body::Text(WIDGET_JS.to_string())
    };
    builder
        .status(200)
        .header("content-type", "text/javascript; charset=utf-8")
        .body(body)
        .expect("static parts are valid")
}
