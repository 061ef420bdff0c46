//! Conformance: every real WhatsApp payload in ../shared/corpus/whatsapp (beside the
//! repository; CI has it) goes through the inbound handler. Skips, saying so, when the
//! corpus is absent (a fresh clone).

use asyncdesk::channels::Outbound;
use asyncdesk::conversation::{Channel, Endpoint, MessageKind};
use asyncdesk::store::ConversationStore;
use asyncdesk_tests::kit::{self, APP_SECRET, TestTable, VERIFY_TOKEN};
use asyncdesk_tests::server;
use chrono::Utc;
use inbound_webhook::{Inbound, handle};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("ASYNCDESK_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            asyncdesk_tests::workspace_root()
                .join("..")
                .join("shared")
                .join("corpus")
        })
        .join("whatsapp");
    if dir.is_dir() {
        Some(dir)
    } else {
        // Written straight to stderr: cargo's capture would hide eprintln! of a passing test.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: WhatsApp conformance corpus not found at {} (set ASYNCDESK_CORPUS to run it)",
            dir.display()
        );
        None
    }
}

fn load(dir: &std::path::Path, name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join(name)).unwrap()).unwrap()
}

#[tokio::test]
async fn every_corpus_webhook_is_accepted_and_normalized() {
    let Some(dir) = corpus() else { return };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
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
        let deps = Inbound {
            store: table.store.clone(),
            whatsapp_app_secret: APP_SECRET.into(),
            whatsapp_verify_token: VERIFY_TOKEN.into(),
        };
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
                "interactive" => "interactive",
                other => other,
            };
            assert_eq!(stored.kind.as_str(), expected, "{name}");
            match stored.kind {
                MessageKind::Image => assert_eq!(
                    stored.media.as_ref().unwrap().id,
                    m["image"]["id"].as_str().unwrap()
                ),
                MessageKind::Text => assert_eq!(stored.text.as_deref(), m["text"]["body"].as_str()),
                MessageKind::Interactive => assert_eq!(
                    stored.choice.as_ref().unwrap().title,
                    m["interactive"]["button_reply"]["title"].as_str().unwrap()
                ),
                MessageKind::Reaction => assert_eq!(
                    stored.reaction.as_ref().unwrap().emoji.as_deref(),
                    m["reaction"]["emoji"].as_str()
                ),
                MessageKind::Unknown => assert!(
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
    let channels = asyncdesk::channels::Channels::new(&asyncdesk::config::OutboundConfig {
        whatsapp_access_token: "t".into(),
        whatsapp_api_base: base,
    });
    let to = Endpoint {
        channel: Channel::Whatsapp,
        business_id: "106540352242922".into(),
        customer_id: "16505551234".into(),
    };
    let sent = channels.send_text(&to, "hello").await.unwrap();
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
