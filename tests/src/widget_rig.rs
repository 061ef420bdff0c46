//! The website chat's tests call the stack as a visitor's browser and as an agent.

use reqwest::header::HeaderMap;
use serde_json::Value;

/// The embedding site of the widget tests (`WIDGET_ORIGINS`).
pub const ORIGIN: &str = "https://shop.example";
/// A browser's User-Agent.
pub const UA: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36";

/// Where a visitor's browser is: the stack, the page's origin, its User-Agent.
pub struct Page<'a> {
    pub base: &'a str,
    pub origin: &'a str,
    pub user_agent: &'a str,
}

/// A request as `page` makes it, with the visitor's `token`: the status, headers
/// and JSON body (`Null` when there is none).
pub async fn visitor_call(
    page: &Page<'_>,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    headers: &[(&str, String)],
) -> (u16, HeaderMap, Value) {
    let mut req = reqwest::Client::new()
        .request(method.parse().unwrap(), format!("{}{path}", page.base))
        .header("origin", page.origin)
        .header("user-agent", page.user_agent);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("the stack answers");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap_or_default();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

/// The agent API with the dev key: the status and JSON body.
pub async fn agent(base: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .request(method.parse().unwrap(), format!("{base}{path}"))
        .bearer_auth(crate::stack::DEV_AGENT_KEY);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("the stack answers");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}
