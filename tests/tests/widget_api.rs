//! The website chat's routes as a visitor's browser and an agent use them, over HTTP
//! against the local stack (moto behind it): the script, the promise, sessions,
//! messages stored once per client id, an agent's reply read back by the widget and
//! delivered, notes kept from visitors, the measured typical answer, and refusals: a
//! foreign or missing origin, a tampered token, a crawler, bad input. Signed-in
//! users and the rate limits: `widget_abuse.rs`.

use asyncdesk_tests::kit;
use asyncdesk_tests::widget_rig::{Browser, agent, open_all_week, start, texts};
use serde_json::{Value, json};

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
    // The waits are recorded from the table's stream a moment later (the reports).
    for _ in 0..100 {
        let (_, waits) = agent(&base, "GET", "/reports/waits?outcome=answered", None).await;
        if waits["waits"].as_array().is_some_and(|w| w.len() == 10) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let (s, _, status) = browser.call("GET", "/widget/config", None, None, &[]).await;
    assert_eq!(s, 200);
    assert_eq!(
        status["typical_reply"], "Typically replies in ~1 min",
        "{status}"
    );
    running.stop();
}
