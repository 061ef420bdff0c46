//! The agent API sends once, against moto and the Graph API stand-in: one key, one
//! send, whatever the repeats; a reply based on an old view is stopped; a customer
//! message arriving during the send keeps the conversation open.

use agent_reply::handle;
use asyncdesk::channels::whatsapp;
use asyncdesk::conversation::ConversationStatus;
use asyncdesk::store::ConversationStore;
use asyncdesk_tests::agent_rig::*;
use asyncdesk_tests::kit::{self};
use chrono::Utc;
use serde_json::json;

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
