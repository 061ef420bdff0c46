//! The website chat's tests call the stack as a visitor's browser and as an agent.

use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use std::collections::HashMap;

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

/// A stack with the widget's site allowed (`ORIGIN`), on a fresh table, with `extra`.
pub async fn start(extra: &[(&'static str, String)]) -> crate::stack::RunningStack {
    let mut overrides: HashMap<&str, String> = HashMap::from([
        ("PORT", "0".to_string()),
        (
            "TABLE_NAME",
            format!("asyncdesk-widget-{}", uuid::Uuid::new_v4().simple()),
        ),
        ("WIDGET_ORIGINS", ORIGIN.to_string()),
    ]);
    overrides.extend(extra.iter().cloned());
    crate::stack::start(crate::stack::Settings::new(&|k| overrides.get(k).cloned()))
        .await
        .expect("local stack starts")
}

pub struct Browser {
    pub base: String,
    pub origin: String,
    pub ua: String,
}

impl Browser {
    pub fn new(base: &str) -> Self {
        Browser {
            base: base.to_string(),
            origin: ORIGIN.into(),
            ua: UA.into(),
        }
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, String)],
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let page = Page {
            base: &self.base,
            origin: &self.origin,
            user_agent: &self.ua,
        };
        visitor_call(&page, method, path, token, body, headers).await
    }

    pub async fn session(&self, body: Value) -> (u16, Value) {
        let (s, _, v) = self
            .call("POST", "/widget/session", None, Some(body), &[])
            .await;
        (s, v)
    }

    pub async fn token(&self) -> (String, String) {
        let (s, v) = self.session(json!({})).await;
        assert_eq!(s, 200, "{v}");
        (
            v["token"].as_str().unwrap().to_string(),
            v["conversation_id"].as_str().unwrap().to_string(),
        )
    }

    pub async fn send(&self, token: &str, client_id: &str, text: &str) -> (u16, Value) {
        let (s, _, v) = self
            .call(
                "POST",
                "/widget/messages",
                Some(token),
                Some(json!({"client_message_id": client_id, "text": text, "zone": "America/New_York"})),
                &[],
            )
            .await;
        (s, v)
    }

    pub async fn messages(&self, token: &str, since: Option<i64>) -> (u16, Value) {
        let headers: Vec<(&str, String)> = since
            .map(|s| vec![("x-widget-since", s.to_string())])
            .unwrap_or_default();
        let (s, _, v) = self
            .call("GET", "/widget/messages", Some(token), None, &headers)
            .await;
        (s, v)
    }
}

pub fn texts(v: &Value) -> Vec<String> {
    v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Open around the clock, every day.
pub fn open_all_week() -> String {
    let days: serde_json::Map<String, Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| (d.to_string(), json!(["00:00-24:00"])))
        .collect();
    json!({"timezone": "UTC", "weekly": days, "first_response_minutes": 15,
        "auto_reply": {"default": "Away until {reply_by}."}})
    .to_string()
}
