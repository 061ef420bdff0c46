//! The agent API handler against moto, replying through a local Graph API stand-in.

use agent_reply::{Agent, handle};
use asyncdesk::auth::{AgentKeys, hash_key};
use asyncdesk::channels::{Channels, whatsapp};
use asyncdesk::conversation::ConversationStatus;
use asyncdesk::store::ConversationStore;
use asyncdesk_tests::kit::{self, TestTable};
use asyncdesk_tests::sandbox::GraphSandbox;
use chrono::{Duration, Utc};
use serde_json::json;

const KEY: &str = "alice-secret-key";

struct Rig {
    table: TestTable,
    sandbox: GraphSandbox,
    deps: Agent<asyncdesk::store::dynamo::DynamoStore, Channels>,
    _task: tokio::task::JoinHandle<()>,
}

async fn rig() -> Rig {
    let table = TestTable::new().await;
    let sandbox = GraphSandbox::new();
    let (base, task) = sandbox.start().await;
    let deps = Agent {
        store: table.store.clone(),
        outbound: kit::whatsapp_channels(&base, "wa-token"),
        keys: AgentKeys::parse(&format!(
            "alice={},bob={}",
            hash_key(KEY),
            hash_key("bob-key")
        ))
        .unwrap(),
        hours: asyncdesk::hours::BusinessHours::from_json(kit::DEV_HOURS, Utc::now()).unwrap(),
        objects: None,
        media: None,
        upload_limit: asyncdesk::media::MediaLimits::default().max_file_bytes,
        templates: Vec::new(),
        session_secret: None,
    };
    Rig {
        table,
        sandbox,
        deps,
        _task: task,
    }
}

async fn customer_writes(rig: &Rig, customer: &str, minutes_ago: i64) -> String {
    let now = Utc::now();
    let ts = (now - Duration::minutes(minutes_ago)).timestamp();
    let body = kit::webhook(
        customer,
        "Cust",
        json!([kit::text_message(
            customer,
            &format!("w{customer}{ts}"),
            ts,
            "help"
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

async fn call(
    rig: &Rig,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    kit::read(
        handle(
            &kit::agent_request(method, path, key, body),
            &rig.deps,
            Utc::now(),
        )
        .await,
    )
}

#[tokio::test]
async fn every_route_needs_a_valid_bearer_key() {
    let rig = rig().await;
    let id = customer_writes(&rig, "4940", 5).await;
    for (method, path) in [
        ("GET", "/conversations".to_string()),
        ("GET", format!("/conversations/{id}")),
        ("POST", format!("/conversations/{id}/messages")),
    ] {
        for key in [None, Some("wrong"), Some(hash_key(KEY).as_str())] {
            let resp = handle(
                &kit::agent_request(method, &path, key, Some(json!({"text":"x"}))),
                &rig.deps,
                Utc::now(),
            )
            .await;
            assert_eq!(resp.headers().get("www-authenticate").unwrap(), "Bearer");
            let (status, body) = kit::read(resp);
            assert_eq!(
                (status, body["error"]["code"].as_str()),
                (401, Some("unauthorized")),
                "{method} {path} {key:?}"
            );
        }
    }
    assert!(rig.sandbox.outbox().is_empty());
}

#[tokio::test]
async fn queue_is_longest_waiting_first_and_paginates() {
    let rig = rig().await;
    for (customer, minutes_ago) in [("4941", 10), ("4942", 30), ("4943", 20)] {
        customer_writes(&rig, customer, minutes_ago).await;
    }
    let (status, page) = call(
        &rig,
        "GET",
        "/conversations?status=open&limit=2",
        Some(KEY),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = page["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["customer_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["4942", "4943"]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, page2) = call(
        &rig,
        "GET",
        &format!("/conversations?limit=2&cursor={cursor}"),
        Some(KEY),
        None,
    )
    .await;
    assert_eq!(page2["conversations"][0]["customer_id"], "4941");
    assert_eq!(
        page2["conversations"][0]["waiting_since"]
            .as_str()
            .map(|s| s.ends_with('Z')),
        Some(true)
    );

    for bad in [
        "/conversations?status=closed",
        "/conversations?limit=0",
        "/conversations?limit=lots",
        "/conversations?cursor=xyz",
    ] {
        let (status, body) = call(&rig, "GET", bad, Some(KEY), None).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body["error"]["message"].is_string());
    }
}

#[tokio::test]
async fn thread_is_newest_first_and_unknown_ids_are_404() {
    let rig = rig().await;
    let id = customer_writes(&rig, "4944", 30).await;
    customer_writes(&rig, "4944", 10).await;
    let (status, thread) = call(
        &rig,
        "GET",
        &format!("/conversations/{id}"),
        Some(KEY),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(thread["conversation"]["id"], id.as_str());
    let msgs = thread["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 2);
    assert!(msgs[0]["sent_at"].as_str() > msgs[1]["sent_at"].as_str());
    assert_eq!(thread["next_cursor"], serde_json::Value::Null);
    for missing in [
        "/conversations/wa.1.2",
        "/conversations/not-an-id",
        "/conversations/wa-0123456789abcdef0123456789abcdef",
        "/conversations/wa-0123456789abcdef0123456789abcdef%2F3",
    ] {
        assert_eq!(
            call(&rig, "GET", missing, Some(KEY), None).await.0,
            404,
            "{missing}"
        );
    }
    assert_eq!(call(&rig, "GET", "/agents", Some(KEY), None).await.0, 404);
    assert_eq!(
        call(
            &rig,
            "DELETE",
            &format!("/conversations/{id}"),
            Some(KEY),
            None
        )
        .await
        .0,
        405
    );
}

#[tokio::test]
async fn reply_goes_out_on_whatsapp_is_stored_and_sets_pending() {
    let rig = rig().await;
    let id = customer_writes(&rig, "4945", 15).await;
    let (status, body) = call(
        &rig,
        "POST",
        &format!("/conversations/{id}/messages"),
        Some(KEY),
        Some(json!({"text":"  Your parcel left today.  "})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let outbox = rig.sandbox.outbox();
    assert_eq!(outbox.len(), 1);
    assert_eq!(
        (outbox[0].to.as_str(), outbox[0].text.as_str()),
        ("+4945", "Your parcel left today.")
    );
    assert_eq!(rig.sandbox.authorizations(), vec!["Bearer wa-token"]);
    assert_eq!(
        body["message"]["provider_message_id"],
        outbox[0].id.as_str()
    );
    assert_eq!(body["message"]["author"], json!({"agent": "alice"}));
    assert_eq!(body["message"]["delivery"]["state"], "accepted");

    let (_, thread) = call(
        &rig,
        "GET",
        &format!("/conversations/{id}"),
        Some(KEY),
        None,
    )
    .await;
    assert_eq!(thread["conversation"]["status"], "pending");
    assert_eq!(
        thread["conversation"]["waiting_since"],
        serde_json::Value::Null
    );
    assert_eq!(thread["messages"][0]["text"], "Your parcel left today.");
    let (_, open) = call(&rig, "GET", "/conversations", Some(KEY), None).await;
    assert!(open["conversations"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn bad_reply_bodies_are_400_and_send_nothing() {
    let rig = rig().await;
    let id = customer_writes(&rig, "4946", 5).await;
    let path = format!("/conversations/{id}/messages");
    for body in [
        json!({"text":"   "}),
        json!({"txt":"hi"}),
        json!({"text": 5}),
        json!({"text": "x".repeat(4097)}),
    ] {
        let (status, err) = call(&rig, "POST", &path, Some(KEY), Some(body.clone())).await;
        assert_eq!(status, 400, "{body}: {err}");
    }
    let req = http::Request::builder()
        .method("POST")
        .uri(&path)
        .header("authorization", format!("Bearer {KEY}"))
        .body(lambda_http::Body::Text("{oops".into()))
        .unwrap();
    assert_eq!(kit::read(handle(&req, &rig.deps, Utc::now()).await).0, 400);
    assert_eq!(
        call(
            &rig,
            "POST",
            &format!("/conversations/{}/messages", kit::wa_conversation("999")),
            Some(KEY),
            Some(json!({"text":"hi"}))
        )
        .await
        .0,
        404
    );
    assert_eq!(rig.sandbox.requests(), 0);
}

#[tokio::test]
async fn provider_errors_are_clear_json_and_the_attempt_is_kept() {
    let rig = rig().await;
    let id = customer_writes(&rig, "4947", 5).await;
    let path = format!("/conversations/{id}/messages");

    rig.sandbox.fail_next(400, json!({"error":{"message":"(#131047) Re-engagement message","code":131047,"error_data":{"details":"Message failed to send because more than 24 hours have passed since the customer last replied to this number."}}}));
    let (status, err) = call(
        &rig,
        "POST",
        &path,
        Some(KEY),
        Some(json!({"text":"late answer"})),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(err["error"]["code"], "channel_rejected");
    assert_eq!(err["error"]["details"]["provider"]["code"], "131047");
    assert_eq!(
        err["error"]["details"]["message"]["delivery"]["state"],
        "failed"
    );

    // A transient failure is retried inside the request, twice, with backoff (nothing
    // was sent); a third failure is the answer.
    for _ in 0..3 {
        rig.sandbox.fail_next(
            503,
            json!({"error":{"message":"Service temporarily unavailable","code":2}}),
        );
    }
    let (status, err) = call(
        &rig,
        "POST",
        &path,
        Some(KEY),
        Some(json!({"text":"try again"})),
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (502, Some("channel_unavailable"))
    );
    // An error of unknown outcome ("API Unknown") may have sent: never tried again.
    rig.sandbox.fail_next(
        500,
        json!({"error":{"message":"An unknown error occurred","code":1}}),
    );
    let before = rig.sandbox.requests();
    let (status, err) = call(
        &rig,
        "POST",
        &path,
        Some(KEY),
        Some(json!({"text":"once only"})),
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (504, Some("channel_unconfirmed"))
    );
    assert_eq!(rig.sandbox.requests(), before + 1, "one attempt");

    rig.sandbox.fail_next(
        429,
        json!({"error":{"message":"Rate limit hit","code":130429}}),
    );
    let resp = handle(
        &kit::agent_request("POST", &path, Some(KEY), Some(json!({"text":"slow down"}))),
        &rig.deps,
        Utc::now(),
    )
    .await;
    assert!(resp.headers().get("retry-after").is_some());
    assert_eq!(kit::read(resp).0, 429);

    rig.sandbox.fail_next(
        401,
        json!({"error":{"message":"Invalid OAuth access token","code":190}}),
    );
    assert_eq!(
        call(
            &rig,
            "POST",
            &path,
            Some(KEY),
            Some(json!({"text":"token?"}))
        )
        .await
        .0,
        502
    );

    // Accepted without an id: maybe delivered, so the agent is told not to blindly resend.
    rig.sandbox
        .fail_next(200, json!({"messaging_product": "whatsapp"}));
    let (status, err) = call(
        &rig,
        "POST",
        &path,
        Some(KEY),
        Some(json!({"text":"lost?"})),
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (504, Some("channel_unconfirmed"))
    );
    assert_eq!(
        err["error"]["details"]["message"]["delivery"]["state"],
        "unconfirmed"
    );

    // Nothing lost: all four failed attempts are in the thread, marked failed; still open.
    let cid = asyncdesk::conversation::ConversationId::parse(&id).unwrap();
    let thread = rig.table.store.get_thread(&cid).await.unwrap().unwrap();
    let failed: Vec<_> = thread
        .messages
        .iter()
        .filter(|m| {
            m.delivery
                .as_ref()
                .is_some_and(|d| d.state == asyncdesk::conversation::DeliveryState::Failed)
        })
        .collect();
    assert_eq!(failed.len(), 4);
    assert_eq!(thread.conversation.status, ConversationStatus::Open);

    // One transient failure: the retry inside the request goes through, sent once.
    let sent_before = rig.sandbox.outbox().len();
    rig.sandbox.fail_next(
        503,
        json!({"error":{"message":"Service temporarily unavailable","code":2}}),
    );
    let (status, _) = call(
        &rig,
        "POST",
        &path,
        Some(KEY),
        Some(json!({"text":"once more"})),
    )
    .await;
    assert_eq!(status, 201, "the retry went through");
    assert_eq!(rig.sandbox.outbox().len(), sent_before + 1, "sent once");
}

#[tokio::test]
async fn a_store_outage_after_the_send_neither_loses_the_reply_nor_invites_a_resend() {
    let rig = rig().await;
    let id = customer_writes(&rig, "4948", 5).await;
    let (base, _task) = {
        let sandbox = rig.sandbox.clone();
        sandbox.start().await
    };
    let deps = Agent {
        store: {
            let mut store = asyncdesk_tests::hooked::Hooked::new(rig.table.store.clone());
            store.fail_record_outbound = true;
            store
        },
        outbound: kit::whatsapp_channels(&base, "wa-token"),
        keys: AgentKeys::parse(&format!("alice={}", hash_key(KEY))).unwrap(),
        hours: asyncdesk::hours::BusinessHours::from_json(kit::DEV_HOURS, Utc::now()).unwrap(),
        objects: None,
        media: None,
        upload_limit: asyncdesk::media::MediaLimits::default().max_file_bytes,
        templates: Vec::new(),
        session_secret: None,
    };
    let req = kit::agent_request(
        "POST",
        &format!("/conversations/{id}/messages"),
        Some(KEY),
        Some(json!({"text": "on its way"})),
    );
    let (status, body) = kit::read(handle(&req, &deps, Utc::now()).await);
    assert_eq!(
        status, 201,
        "the customer got it: a 5xx would make the agent send it twice"
    );
    assert!(body["warning"].as_str().unwrap().contains("do not resend"));
    assert_eq!(rig.sandbox.outbox().len(), 1);
    let cid = asyncdesk::conversation::ConversationId::parse(&id).unwrap();
    let thread = rig.table.store.get_thread(&cid).await.unwrap().unwrap();
    let kept = thread
        .messages
        .iter()
        .find(|m| m.text() == Some("on its way"))
        .expect("the reply is in the thread");
    assert_eq!(
        kept.delivery.as_ref().unwrap().state,
        asyncdesk::conversation::DeliveryState::Sending
    );
}

#[tokio::test]
async fn errors_share_one_shape_with_the_request_id_in_body_and_header() {
    let rig = rig().await;
    let resp = agent_reply::handle(
        &kit::agent_request("GET", "/conversations", None, None),
        &rig.deps,
        Utc::now(),
    )
    .await;
    let header = resp.headers()["x-request-id"].to_str().unwrap().to_string();
    let (status, body) = kit::read(resp);
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unauthorized");
    assert_eq!(body["error"]["request_id"], header.as_str());
    assert!(body["error"].as_object().unwrap().contains_key("details"));
    // A success carries the header too; the webhooks' errors have the same shape.
    let ok = agent_reply::handle(
        &kit::agent_request("GET", "/conversations", Some(KEY), None),
        &rig.deps,
        Utc::now(),
    )
    .await;
    assert!(ok.headers().contains_key("x-request-id"));
    let deps = kit::inbound(rig.table.store.clone());
    let bad = kit::signed_post("/webhooks/whatsapp", b"{}", "wrong-secret");
    let (status, body) = kit::read(inbound_webhook::handle(&bad, &deps, Utc::now()).await);
    assert_eq!(status, 401);
    assert!(
        body["error"]["request_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "{body}"
    );
}

/// Writes `n` customer messages straight into the table (BatchWriteItem), one a
/// second, each with a `raw` of `raw_bytes`.
async fn bulk_messages(rig: &Rig, customer: &str, n: usize, raw_bytes: usize) -> String {
    use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
    let id = customer_writes(rig, customer, 5).await;
    let ep = kit::wa_endpoint(customer);
    let start = Utc::now() - chrono::Duration::days(30);
    let items: Vec<WriteRequest> = (0..n)
        .map(|i| {
            let mut m = asyncdesk::conversation::Message::inbound(
                ep.clone(),
                format!("bulk-{i:05}"),
                asyncdesk::conversation::Content::Text {
                    text: format!("message {i}"),
                },
                start + chrono::Duration::seconds(i as i64),
                start + chrono::Duration::seconds(i as i64),
            );
            m.wants_answer = false;
            if raw_bytes > 0 {
                m.raw = Some("x".repeat(raw_bytes));
            }
            let item =
                serde_dynamo::to_item(asyncdesk::store::items::MessageItem::new(&m)).unwrap();
            WriteRequest::builder()
                .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
                .build()
        })
        .collect();
    for chunk in items.chunks(25) {
        rig.table
            .client
            .batch_write_item()
            .request_items(&rig.table.name, chunk.to_vec())
            .send()
            .await
            .unwrap();
    }
    id
}

#[tokio::test]
async fn a_5000_message_thread_opens_page_by_page_under_1_mb() {
    let rig = rig().await;
    let id = bulk_messages(&rig, "4990", 5000, 0).await;
    let mut seen = std::collections::HashSet::new();
    let mut cursor: Option<String> = None;
    let mut last_sent: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/conversations/{id}?limit=200&cursor={c}"),
            None => format!("/conversations/{id}?limit=200"),
        };
        let resp = agent_reply::handle(
            &kit::agent_request("GET", &path, Some(KEY), None),
            &rig.deps,
            Utc::now(),
        )
        .await;
        assert!(resp.body().as_ref().len() < 1024 * 1024);
        let (status, page) = kit::read(resp);
        assert_eq!(status, 200, "{page}");
        pages += 1;
        for m in page["messages"].as_array().unwrap() {
            let sent = m["sent_at"].as_str().unwrap().to_string();
            if let Some(prev) = &last_sent {
                assert!(sent <= *prev, "newest first across pages");
            }
            last_sent = Some(sent);
            assert!(
                seen.insert(m["id"].as_str().unwrap().to_string()),
                "no repeats"
            );
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5001, "every message once (and the first one)");
    assert!(pages >= 26, "{pages} pages");
}

#[tokio::test]
async fn big_raw_payloads_come_only_when_asked_and_pages_stay_under_1_mb() {
    let rig = rig().await;
    let id = bulk_messages(&rig, "4991", 8, 300 * 1024).await;
    let get = |path: String| {
        let deps = &rig.deps;
        async move {
            let resp = agent_reply::handle(
                &kit::agent_request("GET", &path, Some(KEY), None),
                deps,
                Utc::now(),
            )
            .await;
            let len = resp.body().as_ref().len();
            (len, kit::read(resp).1)
        }
    };
    // Without raw: small answers. (DynamoDB reads at most 1 MB per request, so a page
    // of big items may hold fewer than `limit`; the cursor goes on.)
    let mut all = 0;
    let mut path = format!("/conversations/{id}");
    loop {
        let (len, page) = get(path.clone()).await;
        assert!(len < 64 * 1024, "no raw by default: {len} bytes");
        assert!(page["messages"][0].get("raw").is_none());
        all += page["messages"].as_array().unwrap().len();
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/conversations/{id}?cursor={c}"),
            None => break,
        }
    }
    assert_eq!(all, 9);
    let (len, page) = get(format!("/conversations/{id}?raw=true")).await;
    assert!(len < 1024 * 1024, "{len}");
    let first = page["messages"].as_array().unwrap().len();
    assert!((2..9).contains(&first), "cut by size: {first}");
    assert_eq!(
        page["messages"][1]["raw"].as_str().unwrap().len(),
        300 * 1024
    );
    // The rest follows from the cursor, raw included.
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, rest) = get(format!("/conversations/{id}?raw=true&cursor={cursor}")).await;
    assert!(!rest["messages"].as_array().unwrap().is_empty());
    assert_ne!(rest["messages"][0]["id"], page["messages"][0]["id"]);
}

#[tokio::test]
async fn cursors_are_only_good_where_they_were_issued() {
    let rig = rig().await;
    let a = bulk_messages(&rig, "4992", 5, 0).await;
    let b = bulk_messages(&rig, "4993", 5, 0).await;
    let (_, page) = call(
        &rig,
        "GET",
        &format!("/conversations/{a}?limit=2"),
        Some(KEY),
        None,
    )
    .await;
    let thread_cursor = page["next_cursor"].as_str().unwrap().to_string();
    let (_, queue) = call(&rig, "GET", "/conversations?limit=1", Some(KEY), None).await;
    let queue_cursor = queue["next_cursor"].as_str().unwrap().to_string();
    let mut mangled = thread_cursor.clone();
    mangled.insert(5, 'A');
    for (path, what) in [
        (
            format!("/conversations/{b}?cursor={thread_cursor}"),
            "another conversation's",
        ),
        (
            format!("/conversations/{a}?cursor={queue_cursor}"),
            "the queue's",
        ),
        (format!("/conversations/{a}?cursor={mangled}"), "mangled"),
        (format!("/conversations/{a}?cursor=%00%ff"), "garbage"),
        (
            format!("/conversations?cursor={thread_cursor}"),
            "a thread's, on the queue",
        ),
    ] {
        let (status, body) = call(&rig, "GET", &path, Some(KEY), None).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("invalid_cursor")),
            "{what}: {body}"
        );
    }
    let (status, _) = call(
        &rig,
        "GET",
        &format!("/conversations/{a}?cursor={thread_cursor}"),
        Some(KEY),
        None,
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn notes_stay_in_the_thread_and_never_go_out() {
    let rig = rig().await;
    let id = customer_writes(&rig, "4994", 5).await;
    let (status, body) = call(
        &rig,
        "POST",
        &format!("/conversations/{id}/notes"),
        Some(KEY),
        Some(json!({"text": "Customer is a reseller; check the contract first."})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["note"]["kind"], "note");
    assert_eq!(body["note"]["author"], json!({"agent": "alice"}));
    let (_, thread) = call(
        &rig,
        "GET",
        &format!("/conversations/{id}"),
        Some(KEY),
        None,
    )
    .await;
    assert_eq!(thread["messages"][0]["kind"], "note");
    assert_eq!(
        thread["conversation"]["status"], "open",
        "a note is no answer"
    );
    assert!(rig.sandbox.outbox().is_empty(), "nothing sent");
    for bad in [
        json!({}),
        json!({"text": "  "}),
        json!({"text": "x", "send": true}),
    ] {
        let (status, _) = call(
            &rig,
            "POST",
            &format!("/conversations/{id}/notes"),
            Some(KEY),
            Some(bad),
        )
        .await;
        assert_eq!(status, 400);
    }
}

fn keyed_reply(id: &str, key: &str, body: serde_json::Value) -> lambda_http::Request {
    let mut req = kit::agent_request(
        "POST",
        &format!("/conversations/{id}/messages"),
        Some(KEY),
        Some(body),
    );
    req.headers_mut()
        .insert("idempotency-key", key.parse().unwrap());
    req
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_identical_requests_with_one_key_send_once_and_all_get_the_first_answer() {
    let rig = std::sync::Arc::new(rig().await);
    let id = customer_writes(&rig, "4995", 5).await;
    let mut racers = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let (rig, id) = (rig.clone(), id.clone());
        racers.spawn(async move {
            let req = keyed_reply(&id, "double-click-1", json!({"text": "On its way."}));
            let resp = handle(&req, &rig.deps, Utc::now()).await;
            let replayed = resp.headers().contains_key("idempotent-replayed");
            let (status, body) = kit::read(resp);
            (
                status,
                body["message"]["id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                replayed,
            )
        });
    }
    let answers = racers.join_all().await;
    assert!(answers.iter().all(|(s, _, _)| *s == 201), "{answers:?}");
    let ids: std::collections::HashSet<&String> = answers.iter().map(|(_, id, _)| id).collect();
    assert_eq!(ids.len(), 1, "one message: {answers:?}");
    assert_eq!(
        answers.iter().filter(|(_, _, r)| !r).count(),
        1,
        "nine replays"
    );
    assert_eq!(rig.sandbox.outbox().len(), 1, "one send");
    // Later, the same key and body: the same answer; another body: 422.
    let (status, body) = kit::read(
        handle(
            &keyed_reply(&id, "double-click-1", json!({"text": "On its way."})),
            &rig.deps,
            Utc::now(),
        )
        .await,
    );
    assert_eq!(
        (status, body["message"]["id"].as_str()),
        (201, ids.iter().next().map(|s| s.as_str()))
    );
    let (status, body) = kit::read(
        handle(
            &keyed_reply(&id, "double-click-1", json!({"text": "Something else"})),
            &rig.deps,
            Utc::now(),
        )
        .await,
    );
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("idempotency_key_reused"))
    );
    assert_eq!(rig.sandbox.outbox().len(), 1);
    // Without the header a reply still works; with a bad key it is 400.
    let (status, _) = call(
        &rig,
        "POST",
        &format!("/conversations/{id}/messages"),
        Some(KEY),
        Some(json!({"text": "More."})),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = kit::read(
        handle(
            &keyed_reply(&id, &"k".repeat(300), json!({"text": "x"})),
            &rig.deps,
            Utc::now(),
        )
        .await,
    );
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_reply_based_on_an_old_view_is_stopped_with_the_new_messages() {
    let rig = rig().await;
    let id = customer_writes(&rig, "4996", 10).await;
    let (_, thread) = call(
        &rig,
        "GET",
        &format!("/conversations/{id}"),
        Some(KEY),
        None,
    )
    .await;
    let seen = thread["messages"][0]["id"].as_str().unwrap().to_string();
    // The customer writes again before the agent answers.
    customer_writes(&rig, "4996", 1).await;
    let (status, body) = call(
        &rig,
        "POST",
        &format!("/conversations/{id}/messages"),
        Some(KEY),
        Some(json!({"text": "Done!", "based_on": seen})),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "conversation_changed");
    let new = body["error"]["details"]["new_messages"].as_array().unwrap();
    assert_eq!(new.len(), 1);
    assert!(rig.sandbox.outbox().is_empty(), "nothing sent");
    // Based on the newest message: sent.
    let newest = new[0]["id"].as_str().unwrap();
    let (status, _) = call(
        &rig,
        "POST",
        &format!("/conversations/{id}/messages"),
        Some(KEY),
        Some(json!({"text": "Done!", "based_on": newest})),
    )
    .await;
    assert_eq!(status, 201);
    let (status, body) = call(
        &rig,
        "POST",
        &format!("/conversations/{id}/messages"),
        Some(KEY),
        Some(json!({"text": "x", "based_on": "no-such-message"})),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("unknown_message"))
    );
}

#[tokio::test]
async fn a_customer_message_arriving_during_the_send_keeps_the_conversation_open() {
    let rig = rig().await;
    let id = customer_writes(&rig, "4997", 10).await;
    let now = Utc::now();
    let body = kit::webhook(
        "4997",
        "Cust",
        json!([kit::text_message(
            "4997",
            "w4997-late",
            now.timestamp(),
            "and also..."
        )]),
        json!([]),
    );
    let late = whatsapp::inbound::parse_webhook(&body, now)
        .unwrap()
        .messages
        .remove(0);
    let deps = kit::agent(
        asyncdesk_tests::hooked::Hooked {
            inner: rig.table.store.clone(),
            fail_record_outbound: false,
            arriving: std::sync::Mutex::new(Some(late)),
        },
        rig.deps.outbound.clone(),
    );
    let req = kit::agent_request(
        "POST",
        &format!("/conversations/{id}/messages"),
        Some(kit::ALICE_KEY),
        Some(json!({"text": "Here."})),
    );
    let (status, _) = kit::read(handle(&req, &deps, Utc::now()).await);
    assert_eq!(status, 201);
    let conversation = rig
        .table
        .store
        .get_conversation(&asyncdesk::conversation::ConversationId::parse(&id).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        conversation.status,
        ConversationStatus::Open,
        "the newer message still waits"
    );
    let thread = rig.table.messages().await;
    assert!(
        thread.iter().any(|m| m.text() == Some("Here.")),
        "the reply is recorded"
    );
}
