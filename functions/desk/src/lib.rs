//! The desk: the agents' web page, served at `/desk` from files built into this
//! function (`assets/`: plain HTML, CSS and JavaScript modules, no build step).
//! Every answer carries a strict Content-Security-Policy (no inline script or
//! style, nothing from another origin but the media downloads), `nosniff`, no
//! framing and no referrer. The page talks to the agent API on the same origin.

use include_dir::{Dir, include_dir};
use lambda_http::{Body, Request, Response};
use sha2::{Digest, Sha256};

static ASSETS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/assets");

/// The served files and the policy, prepared once.
pub struct Desk {
    csp: String,
}

impl Desk {
    pub fn new(config: &asyncdesk::config::DeskConfig) -> Self {
        // Image previews load from the media distribution (or locally, /dev/cdn).
        let media = config
            .media_origin
            .as_deref()
            .map(|o| format!(" {o}"))
            .unwrap_or_default();
        Desk {
            csp: format!(
                "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:{media}; \
                 media-src 'self'{media}; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
            ),
        }
    }

    pub fn csp(&self) -> &str {
        &self.csp
    }
}

/// The media type of a served file, by its extension.
fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

/// Every file of the page, by its path under `/desk/`.
pub fn files() -> Vec<(String, &'static [u8])> {
    fn walk(dir: &'static Dir<'static>, out: &mut Vec<(String, &'static [u8])>) {
        for f in dir.files() {
            out.push((f.path().to_string_lossy().replace('\\', "/"), f.contents()));
        }
        for d in dir.dirs() {
            walk(d, out);
        }
    }
    let mut out = Vec::new();
    walk(&ASSETS, &mut out);
    out.sort();
    out
}

fn plain(status: u16, text: &'static str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "text/plain; charset=utf-8")
        .header("x-content-type-options", "nosniff")
        .body(Body::Text(text.into()))
        .expect("static parts are valid")
}

/// `GET /desk/...`: a file of the page, `index.html` for `/desk`.
pub fn handle(req: &Request, desk: &Desk) -> Response<Body> {
    if !matches!(req.method().as_str(), "GET" | "HEAD") {
        return plain(405, "method not allowed");
    }
    // The page is `/desk` (a greedy route never matches `/desk/` itself, so the
    // page names its files absolutely: `/desk/desk.css`, `/desk/js/app.js`).
    let path = req.uri().path();
    let rest = match path {
        "/desk" => "",
        p => match p.strip_prefix("/desk/") {
            Some(rest) => rest,
            None => return plain(404, "not found"),
        },
    };
    let name = if rest.is_empty() { "index.html" } else { rest };
    // Only names the page has: no traversal, no listing.
    if name
        .split('/')
        .any(|part| part.is_empty() || part.starts_with('.'))
    {
        return plain(404, "not found");
    }
    let Some(file) = ASSETS.get_file(name) else {
        return plain(404, "not found");
    };
    let etag = format!(
        "\"{}\"",
        &hex::encode(Sha256::digest(file.contents()))[..32]
    );
    let builder = Response::builder()
        .header("content-security-policy", desk.csp())
        .header("x-content-type-options", "nosniff")
        .header("x-frame-options", "DENY")
        .header("referrer-policy", "no-referrer")
        .header("cross-origin-opener-policy", "same-origin")
        .header(
            "permissions-policy",
            "camera=(), microphone=(), geolocation=()",
        )
        // Always revalidated: a deploy shows at the next load, unchanged files cost
        // a 304.
        .header("cache-control", "no-cache")
        .header("etag", &etag);
    let fresh = req
        .headers()
        .get("if-none-match")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    if fresh {
        return builder
            .status(304)
            .body(Body::Empty)
            .expect("static parts are valid");
    }
    let body = if req.method() == "HEAD" {
        Body::Empty
    } else {
        Body::Binary(file.contents().to_vec())
    };
    builder
        .status(200)
        .header("content-type", content_type(name))
        .body(body)
        .expect("static parts are valid")
}

#[cfg(test)]
mod tests {
    use super::*;
    use asyncdesk::config::DeskConfig;

    fn get(path: &str, desk: &Desk) -> Response<Body> {
        let req = lambda_http::http::Request::builder()
            .uri(format!("https://x.example{path}"))
            .body(Body::Empty)
            .unwrap();
        handle(&req, desk)
    }

    fn desk() -> Desk {
        Desk::new(&DeskConfig {
            media_origin: Some("https://d1.cloudfront.net".into()),
        })
    }

    #[test]
    fn the_page_is_served_with_a_strict_policy() {
        let d = desk();
        let r = get("/desk", &d);
        assert_eq!(r.status(), 200);
        let csp = r.headers()["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self';"), "{csp}");
        assert!(csp.contains("img-src 'self' data: blob: https://d1.cloudfront.net;"));
        assert!(!csp.contains("unsafe"), "{csp}");
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert_eq!(get("/desk", &d).status(), 200);
    }

    #[test]
    fn nothing_outside_the_page_is_served() {
        let d = desk();
        for path in [
            "/desk/../Cargo.toml",
            "/desk/.hidden",
            "/desk//x",
            "/desk/nope.js",
            "/other",
        ] {
            assert_eq!(get(path, &d).status(), 404, "{path}");
        }
    }

    #[test]
    fn an_unchanged_file_is_a_304() {
        let d = desk();
        let etag = get("/desk/", &d).headers()["etag"].clone();
        let req = lambda_http::http::Request::builder()
            .uri("https://x.example/desk/")
            .header("if-none-match", etag)
            .body(Body::Empty)
            .unwrap();
        assert_eq!(handle(&req, &d).status(), 304);
    }

    #[test]
    fn the_page_has_no_inline_script_or_style() {
        for (name, bytes) in files() {
            let text = String::from_utf8_lossy(bytes);
            if name.ends_with(".html") {
                assert!(
                    !text.contains("<script>") && !text.contains("<style"),
                    "{name}"
                );
                assert!(
                    !text.contains(" style=") && !text.contains(" onclick="),
                    "{name}"
                );
                assert!(
                    !text.contains("http://") && !text.contains("https://"),
                    "{name}: no other origin"
                );
            }
        }
    }
}
