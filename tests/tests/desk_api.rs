//! The agent API routes under the desk, against moto: sessions (cookie sign-in,
//! refusals, rotation), the change feed, saved replies, idempotent notes, symbolic
//! snoozes and the templates list.

use agent_reply::{Agent, handle};
use asyncdesk::auth::{AgentKeys, hash_key};
use asyncdesk::channels::{Channels, whatsapp};
use asyncdesk::store::ConversationStore;
use asyncdesk::store::dynamo::DynamoStore;
use asyncdesk_tests::kit::{self, TestTable};
use asyncdesk_tests::sandbox::GraphSandbox;
use chrono::{DateTime, Duration, Utc};
use lambda_http::{Body, Request};
use serde_json::{Value, json};

const KEY: &str = "alice-desk-key";

struct Rig {
    table: TestTable,
    deps: Agent<DynamoStore, Channels>,
    _task: tokio::task::JoinHandle<()>,
}

async fn rig() -> Rig {
    let table = TestTable::new().await;
    let sandbox = GraphSandbox::new();
    let (base, task) = sandbox.start().await;
    let mut deps = kit::agent(
        table.store.clone(),
        kit::whatsapp_channels(&base, "wa-token"),
    );
    deps.keys = AgentKeys::parse(&format!(
        "alice={},bob={}",
        hash_key(KEY),
        hash_key("bob-key")
    ))
    .unwrap();
    deps.session_secret = Some(
        asyncdesk::auth::session::SessionSecret::new("desk-api-test-secret-0123456789abcdef")
            .unwrap(),
    );
    deps.templates = whatsapp::templates::parse(
        r#"[{"name":"follow_up","language":"en_US","parameters":1,"text":"Hi {{1}}"}]"#,
    )
    .unwrap();
    Rig {
        table,
        deps,
        _task: task,
    }
}

async fn customer_writes(rig: &Rig, customer: &str, text: &str) -> String {
    let now = Utc::now();
    let ts = now.timestamp();
    let body = kit::webhook(
        customer,
        "Cust",
        json!([kit::text_message(
            customer,
            &format!("w{customer}{}", now.timestamp_micros()),
            ts,
            text
        )]),
        json!([]),
    );
    let inbound = whatsapp::inbound::parse_webhook(&body, now)
        .unwrap()
        .messages
        .remove(0);
    rig.table.store.record_inbound(&inbound, now).await.unwrap();
    inbound.message.conversation_id.to_string()
}

/// A request as the desk sends it: the session cookie and the desk header.
fn desk_request(method: &str, path: &str, cookie: Option<&str>, body: Option<Value>) -> Request {
    let mut b = lambda_http::http::Request::builder()
        .method(method)
        .uri(path)
        .header("x-asyncdesk-desk", "1")
        .header("sec-fetch-site", "same-origin");
    if let Some(c) = cookie {
        b = b.header("cookie", format!("theme=dark; {c}"));
    }
    let body = match body {
        Some(v) => Body::Text(v.to_string()),
        None => Body::Empty,
    };
    b.body(body).unwrap()
}

async fn call_at(rig: &Rig, req: Request, now: DateTime<Utc>) -> (u16, Value, Option<String>) {
    let resp = handle(&req, &rig.deps, now).await;
    let cookie = resp
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_string());
    let (status, body) = kit::read(resp);
    (status, body, cookie)
}

async fn call(rig: &Rig, req: Request) -> (u16, Value) {
    let (s, b, _) = call_at(rig, req, Utc::now()).await;
    (s, b)
}

async fn sign_in(rig: &Rig) -> String {
    let (status, body, cookie) = call_at(
        rig,
        desk_request("POST", "/session", None, Some(json!({ "key": KEY }))),
        Utc::now(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["agent"], "alice");
    let cookie = cookie.expect("a session cookie");
    for attr in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    assert!(!cookie.contains(KEY), "the key is never in the cookie");
    cookie.split(';').next().unwrap().to_string()
}

#[tokio::test]
async fn a_desk_session_works_only_from_the_desk_and_dies_with_the_key() {
    let rig = rig().await;
    let cookie = sign_in(&rig).await;
    let (s, b) = call(&rig, desk_request("GET", "/session", Some(&cookie), None)).await;
    assert_eq!((s, b["agent"].as_str()), (200, Some("alice")));
    let (s, _) = call(
        &rig,
        desk_request("GET", "/conversations", Some(&cookie), None),
    )
    .await;
    assert_eq!(s, 200);

    // Without the desk header (a form or link from another site), or from another
    // site, the cookie counts for nothing.
    let mut bare = desk_request("GET", "/conversations", Some(&cookie), None);
    bare.headers_mut().remove("x-asyncdesk-desk");
    assert_eq!(call(&rig, bare).await.0, 401);
    let mut cross = desk_request("GET", "/conversations", Some(&cookie), None);
    cross
        .headers_mut()
        .insert("sec-fetch-site", "cross-site".parse().unwrap());
    assert_eq!(call(&rig, cross).await.0, 401);
    let mut cross_sign_in = desk_request("POST", "/session", None, Some(json!({ "key": KEY })));
    cross_sign_in
        .headers_mut()
        .insert("sec-fetch-site", "cross-site".parse().unwrap());
    assert_eq!(call(&rig, cross_sign_in).await.0, 403);

    // A wrong key; an expired session; a rotated key.
    let (s, _) = call(
        &rig,
        desk_request("POST", "/session", None, Some(json!({ "key": "nope" }))),
    )
    .await;
    assert_eq!(s, 401);
    let (s, _, _) = call_at(
        &rig,
        desk_request("GET", "/session", Some(&cookie), None),
        Utc::now() + Duration::hours(13),
    )
    .await;
    assert_eq!(s, 401);
    let mut rotated = kit::agent(rig.table.store.clone(), Channels::default());
    rotated.keys = AgentKeys::parse(&format!("alice={}", hash_key("alice-new-key"))).unwrap();
    rotated.session_secret = rig.deps.session_secret.clone();
    let resp = handle(
        &desk_request("GET", "/session", Some(&cookie), None),
        &rotated,
        Utc::now(),
    )
    .await;
    assert_eq!(resp.status(), 401);

    // Another secret (rotated, or another deployment's) ends every session; without
    // one the desk cannot be signed in to.
    let mut resecret = kit::agent(rig.table.store.clone(), Channels::default());
    resecret.keys = rig.deps.keys.clone();
    resecret.session_secret = Some(
        asyncdesk::auth::session::SessionSecret::new("another-secret-0123456789abcdefghij")
            .unwrap(),
    );
    let resp = handle(
        &desk_request("GET", "/session", Some(&cookie), None),
        &resecret,
        Utc::now(),
    )
    .await;
    assert_eq!(resp.status(), 401);
    let unset = kit::agent(rig.table.store.clone(), Channels::default());
    let (s, b) = kit::read(
        handle(
            &desk_request("POST", "/session", None, Some(json!({ "key": KEY }))),
            &unset,
            Utc::now(),
        )
        .await,
    );
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (403, Some("desk_not_configured"))
    );

    // Signing out clears the cookie.
    let (s, _, cleared) = call_at(
        &rig,
        desk_request("DELETE", "/session", Some(&cookie), None),
        Utc::now(),
    )
    .await;
    assert_eq!(s, 204);
    assert!(cleared.unwrap().contains("Max-Age=0"));
}

#[tokio::test]
async fn the_change_feed_shows_new_messages_and_other_agents_changes() {
    let rig = rig().await;
    let cookie = sign_in(&rig).await;
    let (_, first) = call(&rig, desk_request("GET", "/changes", Some(&cookie), None)).await;
    let since = first["since"].as_str().unwrap().to_string();
    assert_eq!(first["changes"], json!([]));
    // Older changes than the overlap are not repeated.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;

    let id = customer_writes(&rig, "4915112345001", "is my order shipped?").await;
    let (s, b) = call(
        &rig,
        desk_request(
            "GET",
            &format!("/changes?since={since}"),
            Some(&cookie),
            None,
        ),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let row = b["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id.as_str())
        .unwrap_or_else(|| panic!("the new conversation is in the feed: {b}"));
    assert_eq!(row["preview"], "is my order shipped?");
    assert_eq!(row["unanswered"], 1);
    assert_eq!(row["customer_zone"], "Europe/Berlin");
    assert!(row.get("reply_due").is_some() && row.get("overdue").is_some());
    assert_eq!(b["resync"], false);

    // Bob assigns it to himself: alice's feed shows it.
    let since = b["since"].as_str().unwrap().to_string();
    let bob = kit::agent_request(
        "PATCH",
        &format!("/conversations/{id}"),
        Some("bob-key"),
        Some(json!({"assignee": "me", "priority": "urgent"})),
    );
    assert_eq!(call(&rig, bob).await.0, 200);
    let (_, b) = call(
        &rig,
        desk_request(
            "GET",
            &format!("/changes?since={since}"),
            Some(&cookie),
            None,
        ),
    )
    .await;
    let row = b["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id.as_str())
        .unwrap();
    assert_eq!(
        (row["assignee"].as_str(), row["priority"].as_str()),
        (Some("bob"), Some("urgent"))
    );

    // A token too old asks for a re-read; a bad one is a 400.
    let old = (Utc::now() - Duration::minutes(30)).timestamp_millis();
    let (_, b) = call(
        &rig,
        desk_request("GET", &format!("/changes?since={old}"), Some(&cookie), None),
    )
    .await;
    assert_eq!(b["resync"], true);
    let (s, _) = call(
        &rig,
        desk_request("GET", "/changes?since=yesterday", Some(&cookie), None),
    )
    .await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn saved_replies_are_added_listed_changed_and_deleted() {
    let rig = rig().await;
    let cookie = sign_in(&rig).await;
    let add = |title: &str, text: &str| {
        desk_request(
            "POST",
            "/saved-replies",
            Some(&cookie),
            Some(json!({"title": title, "text": text})),
        )
    };
    let (s, b) = call(
        &rig,
        add("Refund policy", "Hi {customer_name}, refunds take 5 days."),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let id = b["saved_reply"]["id"].as_str().unwrap().to_string();
    assert_eq!(b["saved_reply"]["updated_by"], "alice");
    assert_eq!(
        call(&rig, add("Address", "We are at 1 Main St.")).await.0,
        201
    );
    assert_eq!(call(&rig, add("", "x")).await.0, 400);

    let (_, b) = call(
        &rig,
        desk_request("GET", "/saved-replies", Some(&cookie), None),
    )
    .await;
    let titles: Vec<&str> = b["saved_replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Address", "Refund policy"]);

    let put = desk_request(
        "PUT",
        &format!("/saved-replies/{id}"),
        Some(&cookie),
        Some(json!({"title": "Refunds", "text": "Refunds take {reply_by_local}."})),
    );
    let (s, b) = call(&rig, put).await;
    assert_eq!(
        (s, b["saved_reply"]["title"].as_str()),
        (200, Some("Refunds"))
    );
    let missing = "0".repeat(32);
    let put = desk_request(
        "PUT",
        &format!("/saved-replies/{missing}"),
        Some(&cookie),
        Some(json!({"title": "a", "text": "b"})),
    );
    assert_eq!(call(&rig, put).await.0, 404);

    // Deleted once; the second time there is nothing to delete.
    let delete = || {
        desk_request(
            "DELETE",
            &format!("/saved-replies/{id}"),
            Some(&cookie),
            None,
        )
    };
    assert_eq!(call(&rig, delete()).await.0, 204);
    assert_eq!(call(&rig, delete()).await.0, 404);
    let (_, b) = call(
        &rig,
        desk_request("GET", "/saved-replies", Some(&cookie), None),
    )
    .await;
    assert_eq!(b["saved_replies"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_note_with_an_idempotency_key_is_stored_once() {
    let rig = rig().await;
    let id = customer_writes(&rig, "4915112345002", "hello").await;
    let note = || {
        let mut r = kit::agent_request(
            "POST",
            &format!("/conversations/{id}/notes"),
            Some(KEY),
            Some(json!({"text": "called them"})),
        );
        r.headers_mut()
            .insert("idempotency-key", "draft-1".parse().unwrap());
        r
    };
    let (s1, b1) = call(&rig, note()).await;
    let (s2, b2) = call(&rig, note()).await;
    assert_eq!((s1, s2), (201, 201));
    assert_eq!(b1["note"]["id"], b2["note"]["id"]);
    let thread = rig
        .table
        .store
        .get_thread(&asyncdesk::conversation::ConversationId::parse(&id).unwrap())
        .await
        .unwrap()
        .unwrap();
    let notes = thread
        .messages
        .iter()
        .filter(|m| m.id.starts_with("note-"))
        .count();
    assert_eq!(notes, 1);
}

#[tokio::test]
async fn snoozes_to_the_next_opening_or_business_day_and_lists_templates() {
    let rig = rig().await;
    let id = customer_writes(&rig, "4915112345003", "later please").await;
    for (target, expected) in [
        ("next_opening", rig.deps.hours.next_opening(Utc::now())),
        (
            "next_business_day",
            rig.deps.hours.next_business_day(Utc::now()),
        ),
    ] {
        let req = kit::agent_request(
            "PATCH",
            &format!("/conversations/{id}"),
            Some(KEY),
            Some(json!({"status": "snoozed", "snooze_until": target})),
        );
        let (s, b) = call(&rig, req).await;
        assert_eq!(s, 200, "{b}");
        let until: DateTime<Utc> = b["conversation"]["snooze_until"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(Some(until), expected, "{target}");
    }
    let bad = kit::agent_request(
        "PATCH",
        &format!("/conversations/{id}"),
        Some(KEY),
        Some(json!({"status": "snoozed", "snooze_until": "soonish"})),
    );
    assert_eq!(call(&rig, bad).await.0, 400);

    let (s, b) = call(
        &rig,
        kit::agent_request("GET", "/templates", Some(KEY), None),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(b["templates"][0]["name"], "follow_up");
    assert_eq!(b["templates"][0]["parameters"], 1);
}
