//! The website chat's DynamoDB requests, per operation, through the counting proxy
//! (the budget in docs/data-model.md, "The website chat"), and every action the
//! widget function performs is one its policy allows.

use asyncdesk::channels::web::WidgetSettings;
use asyncdesk::conversation::Author;
use asyncdesk::deliver::deliver;
use asyncdesk::hours::BusinessHours;
use asyncdesk::ports::{ConversationStore, Outgoing, ReplyContext};
use asyncdesk_tests::kit::{self, TestTable};
use asyncdesk_tests::proxy::CountingProxy;
use asyncdesk_tests::template::Template;
use chrono::Utc;
use serde_json::{Value, json};
use std::collections::BTreeSet;

const ORIGIN: &str = "https://shop.example";

fn settings() -> WidgetSettings {
    let vars = [
        ("WIDGET_ORIGINS", ORIGIN),
        (
            "WIDGET_SESSION_SECRET",
            "budget-test-secret-0123456789abcdef",
        ),
    ];
    WidgetSettings::load(&|k| {
        vars.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    })
    .unwrap()
}

fn request(
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> lambda_http::Request {
    let mut b = http::Request::builder()
        .method(method)
        .uri(path)
        .header("origin", ORIGIN)
        .header("user-agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0");
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    let body = match body {
        Some(v) => lambda_http::Body::Binary(serde_json::to_vec(&v).unwrap()),
        None => lambda_http::Body::Empty,
    };
    b.body(body).unwrap()
}

fn ops(proxy: &CountingProxy) -> Vec<String> {
    proxy.operation_names()
}

#[tokio::test]
async fn each_widget_operation_makes_its_budgeted_requests_and_its_policy_allows_them() {
    let table = TestTable::new().await;
    let (proxy, _task) = CountingProxy::start(&table.endpoint).await;
    let store = table.store_via(&proxy.endpoint).await;
    let now = Utc::now();
    let hours = BusinessHours::from_json(
        r#"{"timezone":"UTC","weekly":{"mon":["00:00-24:00"],"tue":["00:00-24:00"],"wed":["00:00-24:00"],"thu":["00:00-24:00"],"fri":["00:00-24:00"],"sat":["00:00-24:00"],"sun":["00:00-24:00"]},"auto_reply":{"default":"x"}}"#,
        now,
    )
    .unwrap();
    let deps = widget::Widget::from_parts(store.clone(), settings(), hours);
    let call = |req: lambda_http::Request| {
        let deps = &deps;
        async move { kit::read(widget::handle(&req, deps, Utc::now()).await) }
    };

    // A new visitor: the per-address counter, and whether a contact is on file.
    let (s, session) = call(request("POST", "/widget/session", None, Some(json!({})))).await;
    assert_eq!(s, 200, "{session}");
    assert_eq!(ops(&proxy), ["UpdateItem", "GetItem"], "new session");
    proxy.reset();
    let token = session["token"].as_str().unwrap().to_string();
    // A returning visitor: the contact only.
    let (s, _) = call(request(
        "POST",
        "/widget/session",
        None,
        Some(json!({"token": token})),
    ))
    .await;
    assert_eq!(s, 200);
    assert_eq!(ops(&proxy), ["GetItem"], "renewed session");
    proxy.reset();

    // A message: two counters, then the intake as every channel's with a dedupe key:
    // the conversation read, the dedupe key and message in one transaction, the
    // conversation's update.
    let post = json!({"client_message_id": "budget-0001", "text": "Hello", "zone": "Europe/Paris"});
    let (s, v) = call(request(
        "POST",
        "/widget/messages",
        Some(&token),
        Some(post.clone()),
    ))
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(
        ops(&proxy),
        [
            "UpdateItem",
            "UpdateItem",
            "GetItem",
            "TransactWriteItems",
            "UpdateItem"
        ],
        "message"
    );
    proxy.reset();
    // Its retry: the counters, then the intake finds the dedupe key.
    let (s, _) = call(request(
        "POST",
        "/widget/messages",
        Some(&token),
        Some(post),
    ))
    .await;
    assert_eq!(s, 200);
    let retry = ops(&proxy);
    println!("retry of a stored message: {retry:?}");
    assert!(retry.len() <= 4, "retry: {retry:?}");
    proxy.reset();

    // A poll with nothing new: one query (0.5 read units).
    let poll = |since: Option<i64>| {
        let mut req = request("GET", "/widget/messages", Some(&token), None);
        if let Some(s) = since {
            req.headers_mut()
                .insert("x-widget-since", s.to_string().parse().unwrap());
        }
        req
    };
    let (s, first) = call(poll(None)).await;
    assert_eq!(s, 200);
    assert_eq!(ops(&proxy), ["Query"], "poll");
    proxy.reset();

    // An agent's reply (stored as the agent API stores it, with its mail watch),
    // then the poll that fetches it marks it delivered once (the provider link, the
    // message) and clears the watch: it will not be mailed.
    let id = session["conversation_id"].as_str().unwrap();
    let conversation = table
        .store
        .get_conversation(&asyncdesk::conversation::ConversationId::parse(id).unwrap())
        .await
        .unwrap()
        .unwrap();
    let outgoing = Outgoing {
        conversation: conversation.id.clone(),
        covers: conversation.last_customer_at,
        endpoint: conversation.reply_endpoint(),
        author: Author::Agent("alice".into()),
        text: "Hi!".into(),
        template: None,
        promise: None,
        files: vec![],
        reply: Some(ReplyContext::to_conversation(&conversation)),
    };
    let delivered = deliver(
        &table.store,
        &asyncdesk::channels::web::WebOutbox,
        &outgoing,
        Utc::now(),
        asyncdesk::deliver::AGENT_SEND_BUDGET,
    )
    .await
    .unwrap();
    assert!(delivered.result.is_ok());
    let cursor = first["cursor"].as_i64().unwrap();
    let (_, v) = call(poll(Some(cursor))).await;
    assert!(
        v["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["text"] == "Hi!"),
        "{v}"
    );
    assert_eq!(
        ops(&proxy),
        ["Query", "GetItem", "UpdateItem", "DeleteItem"],
        "poll that delivers"
    );
    proxy.reset();
    // The next poll (still within the overlap) writes nothing.
    let (_, _) = call(poll(Some(cursor))).await;
    assert_eq!(ops(&proxy), ["Query"], "poll after delivery");

    // Every action is one the template allows the widget function.
    let allowed: BTreeSet<String> = Template::load()
        .unwrap()
        .dynamodb_actions("WidgetFunction")
        .into_iter()
        .collect();
    let performed = proxy.iam_actions();
    let missing: Vec<&String> = performed.difference(&allowed).collect();
    assert!(
        missing.is_empty(),
        "the widget performs {missing:?}, which its policy does not allow"
    );
}
