//! Conformance: every real WhatsApp and Telegram payload in ../shared/corpus (beside
//! the repository; CI has it) goes through the inbound handler. Skips, saying so, when
//! the corpus is absent (a fresh clone).

use asyncdesk::conversation::{Author, Channel, Content, Endpoint};
use asyncdesk::ports::{Outbound, Outgoing};
use asyncdesk::store::ConversationStore;
use asyncdesk_tests::kit::{self, APP_SECRET, TestTable};
use asyncdesk_tests::server;
use chrono::Utc;
use inbound_webhook::{Inbound, handle};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

fn corpus() -> Option<PathBuf> {
    corpus_of("whatsapp")
}

/// `../shared/corpus/<channel>`, or None (saying so) when it is not there.
fn corpus_of(channel: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("ASYNCDESK_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            asyncdesk_tests::workspace_root()
                .join("..")
                .join("shared")
                .join("corpus")
        })
        .join(channel);
    if dir.is_dir() {
        Some(dir)
    } else {
        // Written straight to stderr: cargo's capture would hide eprintln! of a passing test.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: {channel} conformance corpus not found at {} (set ASYNCDESK_CORPUS to run it)",
            dir.display()
        );
        None
    }
}

/// The JSON files of a corpus folder, sorted.
fn json_files(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

fn load(dir: &std::path::Path, name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join(name)).unwrap()).unwrap()
}

#[tokio::test]
async fn every_corpus_webhook_is_accepted_and_normalized() {
    let Some(dir) = corpus() else { return };
    let files = json_files(&dir);
    let mut webhooks = 0;
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        let payload: Value = serde_json::from_slice(&bytes).unwrap();
        if payload.get("object").is_none() {
            continue; // send-API samples, checked below
        }
        webhooks += 1;
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let table = TestTable::new().await;
        let deps: Inbound<_> = kit::inbound(table.store.clone());
        // The exact bytes of the file, signed as Meta would sign them.
        let (status, receipt) = kit::read(
            handle(
                &kit::signed_post("/webhooks/whatsapp", &bytes, APP_SECRET),
                &deps,
                Utc::now(),
            )
            .await,
        );
        assert_eq!(status, 200, "{name}: {receipt}");
        let changes: Vec<&Value> = payload["entry"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|e| e["changes"].as_array().unwrap())
            .collect();
        let messages: Vec<&Value> = changes
            .iter()
            .flat_map(|c| c["value"]["messages"].as_array().into_iter().flatten())
            .collect();
        let statuses = changes
            .iter()
            .flat_map(|c| c["value"]["statuses"].as_array().into_iter().flatten())
            .count();
        assert_eq!(receipt["messages"], messages.len(), "{name}");
        assert_eq!(receipt["statuses"], statuses, "{name}");
        let unique: std::collections::HashSet<_> = messages
            .iter()
            .map(|m| (m["id"].as_str(), m["reaction"]["emoji"].as_str()))
            .collect();
        assert_eq!(receipt["stored"], unique.len(), "{name}");
        assert_eq!(
            receipt["duplicates"],
            messages.len() - unique.len(),
            "{name}"
        );
        // What was stored reads back, with the kind the payload declared. A repeated
        // message id (the batch sample reuses one) is a redelivery: the first wins.
        let mut seen = std::collections::HashSet::new();
        for (change, m) in changes.iter().flat_map(|c| {
            c["value"]["messages"]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |m| (c, m))
        }) {
            if !seen.insert((m["id"].as_str(), m["reaction"]["emoji"].as_str())) {
                continue;
            }
            let ep = Endpoint {
                channel: Channel::Whatsapp,
                business_id: change["value"]["metadata"]["phone_number_id"]
                    .as_str()
                    .unwrap()
                    .into(),
                customer_id: m["from"].as_str().unwrap().into(),
            };
            let thread = table
                .store
                .get_thread(&ep.conversation_id())
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("{name}: no conversation"));
            let stored = thread
                .messages
                .iter()
                .find(|s| s.provider_message_id.as_deref() == m["id"].as_str())
                .unwrap();
            let declared = m["type"].as_str().unwrap_or("unsupported");
            let expected = match declared {
                "unsupported" => "unknown",
                "interactive" | "button" => "choice",
                "image" | "video" | "audio" | "document" | "sticker" => "media",
                other => other,
            };
            assert_eq!(stored.content.kind(), expected, "{name}");
            match &stored.content {
                Content::Media { attachments, .. } => assert_eq!(
                    attachments[0].file_id.as_deref(),
                    m[declared]["id"].as_str()
                ),
                Content::Text { text } => {
                    assert_eq!(Some(text.as_str()), m["text"]["body"].as_str())
                }
                Content::Choice { choice } => assert_eq!(
                    Some(choice.title.as_str()),
                    m["interactive"]["button_reply"]["title"]
                        .as_str()
                        .or(m["interactive"]["list_reply"]["title"].as_str())
                        .or(m["button"]["text"].as_str())
                ),
                Content::Reaction { reaction } => {
                    assert_eq!(reaction.emoji.as_deref(), m["reaction"]["emoji"].as_str())
                }
                Content::Unknown => assert!(
                    stored.raw.is_some(),
                    "{name}: unknown types keep their JSON"
                ),
                _ => {}
            }
        }
    }
    assert!(
        webhooks >= 10,
        "expected the corpus's webhooks, found {webhooks}"
    );
}

#[tokio::test]
async fn send_request_and_response_match_the_documented_shapes() {
    let Some(dir) = corpus() else { return };
    let documented_request = load(&dir, "whatsapp_api_send_text_request.json");
    let documented_response = load(&dir, "whatsapp_api_send_text_response.json");
    let seen = Arc::new(Mutex::new(None::<Value>));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (seen2, reply) = (seen.clone(), documented_response.clone());
    let _task = server::serve(listener, move |req: server::Request| {
        let (seen, reply) = (seen2.clone(), reply.clone());
        async move {
            *seen.lock().unwrap() = serde_json::from_slice(req.body()).ok();
            server::json_response(200, &reply)
        }
    });
    let channels = kit::whatsapp_channels(&base, "t");
    let to = Endpoint {
        channel: Channel::Whatsapp,
        business_id: "106540352242922".into(),
        customer_id: "16505551234".into(),
    };
    let sent = channels
        .send(&Outgoing {
            conversation: to.conversation_id(),
            endpoint: to,
            author: Author::Agent("a".into()),
            text: "hello".into(),
            reply: None,
        })
        .await
        .unwrap();
    assert_eq!(
        sent.provider_message_id,
        documented_response["messages"][0]["id"].as_str().unwrap()
    );
    let ours = seen.lock().unwrap().clone().unwrap();
    for key in ["messaging_product", "recipient_type", "to", "type"] {
        assert_eq!(ours[key], documented_request[key], "{key}");
    }
    assert!(ours["text"]["body"].is_string() && documented_request["text"]["body"].is_string());
}

/// Every Telegram update in the corpus is authenticated, stored once (or, for kinds
/// that change a stored message or the conversation, applied), and a redelivery
/// stores nothing new. The photo sample is a bare Message: it is wrapped in an Update.
#[tokio::test]
async fn every_corpus_telegram_update_is_handled() {
    let Some(dir) = corpus_of("telegram") else {
        return;
    };
    let files = json_files(&dir);
    let mut seen = 0;
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let mut update: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        if update.get("update_id").is_none() {
            update = serde_json::json!({"update_id": 900_000 + seen, "message": update});
        }
        seen += 1;
        let table = TestTable::new().await;
        let deps = kit::inbound(table.store.clone());
        let now = Utc::now();
        let deliver = || async {
            let req = kit::telegram_post(&update, Some(kit::TG_SECRET));
            kit::read(handle(&req, &deps, now).await)
        };
        let (status, receipt) = deliver().await;
        assert_eq!(status, 200, "{name}: {receipt}");
        assert_eq!(receipt["rejected"], 0, "{name}: {receipt}");
        let body = update
            .get("message")
            .or(update.get("edited_message"))
            .or(update.get("my_chat_member"));
        let chat = body.unwrap()["chat"]["id"].as_i64().unwrap();
        let id = kit::tg_endpoint(chat).conversation_id();
        let thread = table.store.get_thread(&id).await.unwrap();
        let thread = thread.unwrap_or_else(|| panic!("{name}: no conversation"));
        assert_eq!(thread.messages.len(), 1, "{name}");
        let stored = &thread.messages[0];
        let group = chat < 0;
        assert_eq!(thread.conversation.group, group, "{name}");
        if let Some(m) = update.get("message") {
            assert_eq!(stored.id, m["message_id"].to_string(), "{name}");
            if let Some(text) = m["text"].as_str() {
                assert_eq!(stored.text(), Some(text), "{name}");
            }
            if m.get("video").is_some() {
                assert!(
                    matches!(&stored.content, Content::Media { attachments, .. } if attachments[0].file_id.as_deref() == m["video"]["file_id"].as_str()),
                    "{name}"
                );
            }
            if m.get("pinned_message").is_some() {
                assert_eq!(stored.content.kind(), "system", "{name}");
            }
            let from_person = !m["from"]["is_bot"].as_bool().unwrap_or(false);
            assert_eq!(
                stored.wants_answer,
                !group && from_person && stored.content.asks_for_reply(),
                "{name}"
            );
        }
        if update.get("my_chat_member").is_some() {
            assert!(thread.conversation.blocked, "{name}: kicked means blocked");
        }
        if let Some(m) = update.get("edited_message") {
            // An edit of a message we never had is stored as it reads now.
            assert_eq!(stored.text(), m["text"].as_str(), "{name}");
            assert!(!stored.wants_answer);
        }
        assert_ne!(stored.author, Author::AutoReply);
        // Redelivered: nothing new.
        let (status, again) = deliver().await;
        assert_eq!(status, 200, "{name}");
        assert_eq!(again["stored"], 0, "{name}: {again}");
        let thread = table.store.get_thread(&id).await.unwrap().unwrap();
        assert_eq!(thread.messages.len(), 1, "{name}");
    }
    assert!(seen >= 7, "expected the corpus's updates, found {seen}");
}
