//! The website chat's routes as a visitor's browser and an agent use them, over HTTP
//! against the local stack (moto behind it): the script, the promise, sessions,
//! messages stored once per client id, an agent's reply read back by the widget,
//! notes kept from visitors, and every refusal: a foreign or missing origin, a
//! forged token or `user_hash`, a crawler, the rate limits.

use asyncdesk::channels::web::visitor::{WidgetSecret, user_hash};
use asyncdesk_tests::kit;
use asyncdesk_tests::stack::{self, RunningStack, Settings};
use asyncdesk_tests::widget_rig::{self, ORIGIN, UA, agent};
use serde_json::{Value, json};
use std::collections::HashMap;

async fn start(extra: &[(&'static str, String)]) -> RunningStack {
    let mut overrides: HashMap<&str, String> = HashMap::from([
        ("PORT", "0".to_string()),
        (
            "TABLE_NAME",
            format!("asyncdesk-widget-{}", uuid::Uuid::new_v4().simple()),
        ),
        ("WIDGET_ORIGINS", ORIGIN.to_string()),
    ]);
    overrides.extend(extra.iter().cloned());
    stack::start(Settings::new(&|k| overrides.get(k).cloned()))
        .await
        .expect("local stack starts")
}

struct Browser {
    base: String,
    origin: String,
    ua: String,
}

impl Browser {
    fn new(base: &str) -> Self {
        Browser {
            base: base.to_string(),
            origin: ORIGIN.into(),
            ua: UA.into(),
        }
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, String)],
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let page = widget_rig::Page {
            base: &self.base,
            origin: &self.origin,
            user_agent: &self.ua,
        };
        widget_rig::visitor_call(&page, method, path, token, body, headers).await
    }

    async fn session(&self, body: Value) -> (u16, Value) {
        let (s, _, v) = self
            .call("POST", "/widget/session", None, Some(body), &[])
            .await;
        (s, v)
    }

    async fn token(&self) -> (String, String) {
        let (s, v) = self.session(json!({})).await;
        assert_eq!(s, 200, "{v}");
        (
            v["token"].as_str().unwrap().to_string(),
            v["conversation_id"].as_str().unwrap().to_string(),
        )
    }

    async fn send(&self, token: &str, client_id: &str, text: &str) -> (u16, Value) {
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

    async fn messages(&self, token: &str, since: Option<i64>) -> (u16, Value) {
        let headers: Vec<(&str, String)> = since
            .map(|s| vec![("x-widget-since", s.to_string())])
            .unwrap_or_default();
        let (s, _, v) = self
            .call("GET", "/widget/messages", Some(token), None, &headers)
            .await;
        (s, v)
    }
}

fn texts(v: &Value) -> Vec<String> {
    v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_visitor_chats_and_an_agent_answers_through_the_widget_routes() {
    let running = start(&[("BUSINESS_HOURS", open_all_week())]).await;
    let base = running.base_url.clone();
    let browser = Browser::new(&base);

    // The script: cacheable, revalidated by ETag.
    let script = reqwest::get(format!("{base}/widget.js")).await.unwrap();
    assert_eq!(script.status(), 200);
    assert!(
        script.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let etag = script.headers()["etag"].clone();
    let again = reqwest::Client::new()
        .get(format!("{base}/widget.js"))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    // The status before writing, for an allowed page only.
    let (s, headers, status) = browser
        .call("GET", "/widget/config?zone=Asia/Tokyo", None, None, &[])
        .await;
    assert_eq!(s, 200, "{status}");
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://shop.example"
    );
    assert_eq!(status["business_name"], "Acme Support");
    assert_eq!(status["open"], true);
    assert!(
        status["typical_reply"].as_str().unwrap().contains("min"),
        "{status}"
    );
    let (s, headers, _) = browser
        .call("OPTIONS", "/widget/messages", None, None, &[])
        .await;
    assert_eq!(s, 204);
    assert!(
        headers["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("x-widget-since")
    );

    // A visitor writes; a retry of the same message stores nothing new.
    let (token, conversation) = browser.token().await;
    assert!(conversation.starts_with("wb-"), "{conversation}");
    let (s, v) = browser
        .send(&token, "client-0001-aaaa", "Where is my order?")
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["message"]["client_message_id"], "client-0001-aaaa");
    let (s, v) = browser
        .send(&token, "client-0001-aaaa", "Where is my order?")
        .await;
    assert_eq!((s, v["duplicate"].clone()), (200, json!(true)), "{v}");

    // In the agents' queue as a web conversation, once.
    let (s, queue) = agent(&base, "GET", "/conversations?channel=web", None).await;
    assert_eq!(s, 200, "{queue}");
    let rows = queue["conversations"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{queue}");
    assert_eq!(rows[0]["id"], conversation.as_str());
    assert_eq!(rows[0]["channel"], "web");
    assert_eq!(rows[0]["message_count"], 1);

    // The widget reads its thread; the agent answers and adds a note.
    let (s, first) = browser.messages(&token, None).await;
    assert_eq!(s, 200, "{first}");
    assert_eq!(texts(&first), ["Where is my order?"]);
    assert_eq!(first["messages"][0]["author"], "visitor");
    let cursor = first["cursor"].as_i64().unwrap();
    let (s, v) = agent(
        &base,
        "POST",
        &format!("/conversations/{conversation}/messages"),
        Some(json!({"text": "It ships today."})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = agent(
        &base,
        "POST",
        &format!("/conversations/{conversation}/notes"),
        Some(json!({"text": "internal: VIP customer"})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let (_, later) = browser.messages(&token, Some(cursor)).await;
    let later_texts = texts(&later);
    assert!(
        later_texts.contains(&"It ships today.".to_string()),
        "{later}"
    );
    assert!(
        !later_texts.iter().any(|t| t.contains("VIP")),
        "a note never reaches the visitor: {later}"
    );
    let reply = later["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["text"] == "It ships today.")
        .unwrap();
    assert_eq!(reply["author"], "agent");
    assert!(later["cursor"].as_i64().unwrap() >= cursor);
    let (_, conv) = agent(
        &base,
        "GET",
        &format!("/conversations/{conversation}"),
        None,
    )
    .await;
    assert_eq!(conv["conversation"]["status"], "pending", "{conv}");
    // The widget fetched the reply: the desk sees it delivered.
    let sent = conv["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["text"] == "It ships today.")
        .unwrap();
    assert_eq!(sent["delivery"]["state"], "delivered", "{sent}");

    // Another visitor reads only their own (empty) thread; a tampered token nothing.
    let (other, other_conversation) = browser.token().await;
    assert_ne!(other_conversation, conversation);
    let (s, v) = browser.messages(&other, None).await;
    assert_eq!((s, texts(&v).len()), (200, 0), "{v}");
    let mut forged = token.clone();
    forged.replace_range(forged.len() - 4.., "AAAA");
    let (s, v) = browser.messages(&forged, None).await;
    assert_eq!(
        (s, v["error"]["code"].clone()),
        (401, json!("invalid_token")),
        "{v}"
    );
    let (s, _) = browser.session(json!({"token": forged})).await;
    assert_eq!(s, 401);
    // A renewed token is the same visitor.
    let (s, v) = browser.session(json!({"token": token})).await;
    assert_eq!(
        (s, v["conversation_id"].clone()),
        (200, json!(conversation)),
        "{v}"
    );

    // Another site's page, or none, is refused before anything is read.
    let mut evil = Browser::new(&base);
    evil.origin = "https://evil.example".into();
    let (s, h, v) = evil
        .call("GET", "/widget/messages", Some(&token), None, &[])
        .await;
    assert_eq!(
        (s, v["error"]["code"].clone()),
        (403, json!("origin_not_allowed")),
        "{v}"
    );
    assert!(h.get("access-control-allow-origin").is_none());
    let (s, _, _) = evil
        .call("OPTIONS", "/widget/messages", None, None, &[])
        .await;
    assert_eq!(s, 403);
    let (s, _) = evil.send(&token, "client-evil-0001", "hi").await;
    assert_eq!(s, 403);

    // A crawler is stored nowhere.
    let mut bot = Browser::new(&base);
    bot.ua = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)".into();
    let (s, v) = bot.send(&token, "client-bot-00001", "crawl me").await;
    assert_eq!(
        (s, v["error"]["code"].clone()),
        (403, json!("automated_client")),
        "{v}"
    );
    let (_, v) = browser.messages(&token, None).await;
    assert!(!texts(&v).iter().any(|t| t == "crawl me"), "{v}");

    // Bad input is a 4xx with the one error shape.
    let (s, _) = browser.send(&token, "short", "hi").await;
    assert_eq!(s, 400);
    let (s, _) = browser
        .send(&token, "client-long-0001", &"x".repeat(4001))
        .await;
    assert_eq!(s, 413);
    let (s, _, v) = browser
        .call(
            "GET",
            "/widget/messages",
            Some(&token),
            None,
            &[("x-widget-since", "soon".into())],
        )
        .await;
    assert_eq!(s, 400, "{v}");
    running.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_signed_in_user_keeps_one_conversation_and_nobody_can_claim_it() {
    let running = start(&[("BUSINESS_HOURS", open_all_week())]).await;
    let browser = Browser::new(&running.base_url);
    let identity = WidgetSecret::new("dev-widget-identity-secret-not-for-production").unwrap();
    let hash = user_hash(&identity, "user-42");
    let (s, laptop) = browser
        .session(json!({"user_id": "user-42", "user_hash": hash}))
        .await;
    assert_eq!(
        (s, laptop["identified"].clone()),
        (200, json!(true)),
        "{laptop}"
    );
    let (s, phone) = browser
        .session(json!({"user_id": "user-42", "user_hash": hash.to_uppercase()}))
        .await;
    assert_eq!(s, 200);
    assert_eq!(laptop["conversation_id"], phone["conversation_id"]);
    let (s, _) = browser
        .send(
            laptop["token"].as_str().unwrap(),
            "client-user-0001",
            "from my laptop",
        )
        .await;
    assert_eq!(s, 201);
    let (_, v) = browser
        .messages(phone["token"].as_str().unwrap(), None)
        .await;
    assert_eq!(texts(&v), ["from my laptop"]);
    // Someone else's id with a made-up hash, or with user-42's hash.
    for (id, h) in [
        ("user-43", hash.clone()),
        ("user-42", "0".repeat(64)),
        ("user-42", String::new()),
    ] {
        let (s, v) = browser
            .session(json!({"user_id": id, "user_hash": h}))
            .await;
        assert_eq!(
            (s, v["error"]["code"].clone()),
            (403, json!("user_hash_mismatch")),
            "{id}"
        );
    }
    let (s, v) = browser.session(json!({"user_id": "user-42"})).await;
    assert_eq!(s, 403, "{v}");
    running.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_limits_answer_429_with_retry_after() {
    let running = start(&[
        ("BUSINESS_HOURS", open_all_week()),
        ("WIDGET_VISITOR_MESSAGES_PER_MINUTE", "3".to_string()),
        ("WIDGET_IP_MESSAGES_PER_MINUTE", "5".to_string()),
        ("WIDGET_IP_SESSIONS_PER_MINUTE", "4".to_string()),
    ])
    .await;
    let browser = Browser::new(&running.base_url);
    // The counters are per clock minute: start early in one.
    let second = chrono::Utc::now().timestamp() % 60;
    if second > 40 {
        tokio::time::sleep(std::time::Duration::from_secs((61 - second) as u64)).await;
    }
    let (token, _) = browser.token().await;
    let mut statuses = Vec::new();
    for i in 0..4 {
        let (s, _, _) = browser
            .call(
                "POST",
                "/widget/messages",
                Some(&token),
                Some(json!({"client_message_id": format!("client-rate-{i:04}"), "text": format!("message {i}")})),
                &[],
            )
            .await;
        statuses.push(s);
    }
    // Per visitor: three a minute.
    assert_eq!(statuses, [201, 201, 201, 429]);
    let (token2, _) = browser.token().await;
    // Per address: five a minute across visitors (3 so far, then 2, then refused).
    let mut answers = Vec::new();
    for i in 0..3 {
        answers.push(
            browser
                .call(
                    "POST",
                    "/widget/messages",
                    Some(&token2),
                    Some(json!({"client_message_id": format!("client-ip-{i:04}"), "text": "hi"})),
                    &[],
                )
                .await,
        );
    }
    let refused = answers
        .into_iter()
        .find(|(s, _, _)| *s == 429)
        .expect("the address's sixth message in a minute is refused");
    let retry: u64 = refused.1["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(refused.2["error"]["code"], "rate_limited");
    // New visitors from one address: four a minute.
    let mut refused = false;
    for _ in 0..6 {
        let (s, _) = browser.session(json!({})).await;
        refused |= s == 429;
    }
    assert!(refused, "new sessions from one address are limited");
    running.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn closed_the_widget_and_the_auto_reply_make_the_same_promise() {
    let running = start(&[(
        "BUSINESS_HOURS",
        kit::closed_now_hours("We're away. A person will answer by {reply_by_local}."),
    )])
    .await;
    let base = running.base_url.clone();
    let browser = Browser::new(&base);
    let (s, _, status) = browser
        .call(
            "GET",
            "/widget/config?zone=America/New_York",
            None,
            None,
            &[],
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(status["open"], false);
    let promise = status["reply_by_text"].as_str().unwrap().to_string();
    assert!(promise.ends_with("your time"), "{promise}");
    assert_eq!(
        status["notice"],
        format!("We're away. A person will answer by {promise}."),
    );
    let availability: Value = reqwest::get(format!("{base}/availability"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let a =
        chrono::DateTime::parse_from_rfc3339(availability["reply_by"].as_str().unwrap()).unwrap();
    let w = chrono::DateTime::parse_from_rfc3339(status["reply_by"].as_str().unwrap()).unwrap();
    assert_eq!(a, w, "the widget's promise is /availability's");

    let (token, conversation) = browser.token().await;
    let (s, v) = browser
        .send(&token, "client-closed-01", "Are you there?")
        .await;
    assert_eq!(s, 201, "{v}");
    // The auto-reply reaches the widget, in the visitor's zone, with the same words.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let auto = loop {
        let (_, v) = browser.messages(&token, None).await;
        if let Some(m) = v["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["author"] == "business")
        {
            break m.clone();
        }
        assert!(std::time::Instant::now() < deadline, "no auto-reply: {v}");
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    };
    assert_eq!(
        auto["text"],
        format!("We're away. A person will answer by {promise}."),
        "{auto}"
    );
    let (_, conv) = agent(
        &base,
        "GET",
        &format!("/conversations/{conversation}"),
        None,
    )
    .await;
    assert_eq!(conv["conversation"]["channel"], "web");
    running.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn open_the_widget_says_how_soon_people_typically_answer() {
    let running = start(&[("BUSINESS_HOURS", open_all_week())]).await;
    let base = running.base_url.clone();
    let browser = Browser::new(&base);
    // Ten visitors, each answered at once: the desk's own first answers.
    for i in 0..10 {
        let (token, conversation) = browser.token().await;
        let (s, _) = browser
            .send(&token, &format!("client-typical-{i:03}"), "Hello?")
            .await;
        assert_eq!(s, 201);
        let (s, v) = agent(
            &base,
            "POST",
            &format!("/conversations/{conversation}/messages"),
            Some(json!({"text": "Hi!"})),
        )
        .await;
        assert_eq!(s, 201, "{v}");
    }
    let (s, _, status) = browser.call("GET", "/widget/config", None, None, &[]).await;
    assert_eq!(s, 200);
    assert_eq!(
        status["typical_reply"], "Typically replies in ~1 min",
        "{status}"
    );
    running.stop();
}

/// Open around the clock, every day.
fn open_all_week() -> String {
    let days: serde_json::Map<String, Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| (d.to_string(), json!(["00:00-24:00"])))
        .collect();
    json!({"timezone": "UTC", "weekly": days, "first_response_minutes": 15,
        "auto_reply": {"default": "Away until {reply_by}."}})
    .to_string()
}
