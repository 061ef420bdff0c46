//! Golden tests: the items the store writes and the queue's answers (rows and
//! cursors) for a fixed story, compared with `tests/golden/*.json`, so a re-layout
//! of the store or the lifecycle cannot change them unnoticed. After a deliberate
//! change, `ASYNCDESK_BLESS=1 cargo test -p asyncdesk-tests --test golden` rewrites
//! the files; the diff is then reviewed like code.

use asyncdesk::channels::whatsapp;
use asyncdesk::conversation::{Author, InboundMessage, Message};
use asyncdesk::store::{ConversationStore, OutboundEffect};
use asyncdesk_tests::kit::{self, TestTable};
use asyncdesk_tests::workspace_root;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

fn t(minutes: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2027-01-15T10:00:00Z")
        .unwrap()
        .to_utc()
        + Duration::minutes(minutes)
}

fn inbound(customer: &str, id: &str, at: DateTime<Utc>) -> InboundMessage {
    let body = kit::webhook(
        customer,
        "Ada",
        json!([kit::text_message(
            customer,
            id,
            at.timestamp(),
            "where is my order?"
        )]),
        json!([]),
    );
    whatsapp::inbound::parse_webhook(&body, at)
        .unwrap()
        .messages
        .remove(0)
}

/// Compares `actual` with the golden file `name` (or writes it when blessing).
fn golden(name: &str, actual: &Value) {
    let path = workspace_root().join("tests").join("golden").join(name);
    let text = serde_json::to_string_pretty(actual).unwrap() + "\n";
    if std::env::var("ASYNCDESK_BLESS").is_ok() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (ASYNCDESK_BLESS=1 writes it)", path.display()));
    assert_eq!(text, expected, "{name} changed; review, then bless");
}

/// An item as JSON with its attributes sorted (DynamoDB's own JSON shape).
fn item_json(
    item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
) -> Value {
    let v: serde_dynamo::Item = item.clone().into();
    let json: Value = serde_dynamo::from_item(v).unwrap();
    let mut sorted = serde_json::Map::new();
    // When the change feed saw the write: the clock at the write, not the story's.
    let mut keys: Vec<_> = json
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| k.as_str() != asyncdesk::store::items::CH_AT)
        .cloned()
        .collect();
    keys.sort();
    for k in keys {
        sorted.insert(k.clone(), json[&k].clone());
    }
    Value::Object(sorted)
}

#[tokio::test]
async fn the_stored_items_and_the_queue_answers_stay_as_they_are() {
    let table = TestTable::new().await;
    let store = &table.store;
    // A waits; B got an auto-reply's promise; C was answered (pending); D is urgent.
    for (customer, id, at) in [
        ("4901", "wamid.gA", t(0)),
        ("4902", "wamid.gB", t(10)),
        ("4903", "wamid.gC", t(20)),
        ("4904", "wamid.gD", t(30)),
    ] {
        store
            .record_inbound(&inbound(customer, id, at), at)
            .await
            .unwrap();
    }
    let mut promise = Message::outbound(
        &kit::wa_endpoint("4902"),
        Author::AutoReply,
        "We'll reply by 12:00.",
        t(11),
    );
    promise.id = "out-golden-promise".into();
    promise.promised_reply_by = Some(t(120));
    store
        .record_outbound(&promise, OutboundEffect::KeepStatus, t(11))
        .await
        .unwrap();
    let mut answer = Message::outbound(
        &kit::wa_endpoint("4903"),
        Author::Agent("alice".into()),
        "On its way.",
        t(25),
    );
    answer.id = "out-golden-answer".into();
    store
        .record_outbound(&answer, OutboundEffect::AwaitCustomer, t(25))
        .await
        .unwrap();
    let agent = kit::agent(
        table.store.clone(),
        asyncdesk::channels::Channels::default(),
    );
    let d = kit::wa_conversation("4904");
    let req = kit::agent_request(
        "PATCH",
        &format!("/conversations/{d}"),
        Some(kit::ALICE_KEY),
        Some(json!({"priority": "urgent", "assignee": "me"})),
    );
    assert_eq!(agent_reply::handle(&req, &agent, t(31)).await.status(), 200);

    let mut conversations: Vec<Value> = table
        .items_of("conversation")
        .await
        .iter()
        .map(item_json)
        .collect();
    conversations.sort_by_key(|c| c["id"].as_str().unwrap_or("").to_string());
    golden("conversations.json", &Value::Array(conversations));

    let mut answers = serde_json::Map::new();
    let mut path = "/conversations?limit=2".to_string();
    for page in 0..3 {
        let req = kit::agent_request("GET", &path, Some(kit::ALICE_KEY), None);
        let (status, body) = kit::read(agent_reply::handle(&req, &agent, t(40)).await);
        assert_eq!(status, 200, "{body}");
        answers.insert(format!("due page {page}"), body.clone());
        match body["next_cursor"].as_str() {
            Some(c) => path = format!("/conversations?limit=2&cursor={c}"),
            None => break,
        }
    }
    for listing in [
        "/conversations?order=waiting",
        "/conversations?status=pending",
        "/conversations?assignee=me",
    ] {
        let req = kit::agent_request("GET", listing, Some(kit::ALICE_KEY), None);
        let (status, body) = kit::read(agent_reply::handle(&req, &agent, t(40)).await);
        assert_eq!(status, 200, "{body}");
        let ids: Vec<Value> = body["conversations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].clone())
            .collect();
        answers.insert(listing.to_string(), Value::Array(ids));
    }
    golden("queue.json", &Value::Object(answers));
}
