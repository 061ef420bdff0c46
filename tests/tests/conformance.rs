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
            covers: None,
            endpoint: to,
            author: Author::Agent("a".into()),
            template: None,
            promise: None,
            files: Vec::new(),
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

// ---------------------------------------------------------------------------------
// Email: every mail in ../shared/corpus/email through SES -> SNS (Base64, and UTF-8
// where the mail is UTF-8), and every notification in ../shared/corpus/ses-sns.
// ---------------------------------------------------------------------------------

/// Corpus mails written by machines (auto-replies and bounces): never auto-replied.
const EMAIL_LOOP_CASES: &[&str] = &[
    "email_auto_reply_auto_submitted.eml",
    "email_auto_reply_exchange_no_auto_submitted.eml",
    "email_auto_reply_precedence_bulk_multipart.eml",
    "email_bounce_amazonses.eml",
    "email_bounce_gmail_no_auto_submitted.eml",
    "email_bounce_mailer_daemon_postfix.eml",
    "email_bounce_sendmail_auto_generated.eml",
];

/// The new text (above the quoted history) of the reply samples.
const EMAIL_NEW_TEXT: &[(&str, &str)] = &[
    ("email_reply_gmail_quote_talon.eml", "Hello"),
    ("email_reply_outlook_quote_talon.eml", "Hello"),
    (
        "email_reply_iphone_qp_quote_talon.eml",
        "Hello\n\nSent from my iPhone",
    ),
];

fn email_deps(
    table: &TestTable,
    objects: asyncdesk::objects::S3Objects,
) -> inbound_email::InboundEmail<asyncdesk::store::dynamo::DynamoStore, asyncdesk::objects::S3Objects>
{
    inbound_email::InboundEmail {
        store: table.store.clone(),
        objects,
        settings: mail::settings(),
    }
}

async fn sent_count(to: &str) -> usize {
    mail::sent_mail(asyncdesk_tests::tools::shared_endpoint())
        .await
        .iter()
        .filter(|m| m.destinations.iter().any(|d| d.eq_ignore_ascii_case(to)))
        .count()
}

use asyncdesk_tests::mail::{self, Encoding};

#[tokio::test]
async fn every_corpus_mail_is_stored_once_and_auto_replied_only_when_a_person_wrote() {
    let Some(dir) = corpus_of("email") else {
        return;
    };
    let endpoint = asyncdesk_tests::tools::shared_endpoint();
    mail::verify_identity(endpoint, mail::SUPPORT_ADDRESS).await;
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    assert!(files.len() >= 16, "the corpus has its mails");
    let (mut replied, mut guarded) = (0, 0);
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let bytes = std::fs::read(&path).unwrap();
        let mut encodings = vec![Encoding::Base64];
        if std::str::from_utf8(&bytes).is_ok() {
            encodings.push(Encoding::Utf8);
        }
        for encoding in encodings {
            let table = TestTable::new().await;
            let deps = email_deps(&table, mail::s3_objects(endpoint).await);
            let n = mail::received_notification(&bytes, encoding, "ses-corpus");
            let event = mail::sns_event(&[("sns-corpus", &n)]);
            let first = inbound_email::handle_event(event.clone(), &deps, Utc::now())
                .await
                .unwrap();
            assert_eq!(
                (first.receipt.stored, first.receipt.rejected),
                (1, 0),
                "{name} {encoding:?}"
            );
            let again = inbound_email::handle_event(event, &deps, Utc::now())
                .await
                .unwrap();
            assert_eq!(again.receipt.duplicates, 1, "{name}: redelivery");
            let message = table.messages().await.remove(0);
            let meta = message.mail.clone().unwrap();
            // RFC 2047 subjects and every charset decode.
            let subject = meta.subject.clone().unwrap_or_default();
            assert!(
                !subject.contains("=?") && !subject.contains('\u{fffd}'),
                "{name}: {subject:?}"
            );
            let text = message.text().unwrap_or_default().to_string();
            assert!(!text.trim().is_empty(), "{name}: a text");
            assert!(!text.contains('\u{fffd}'), "{name}: {text:?}");
            if let Some((_, want)) = EMAIL_NEW_TEXT.iter().find(|(f, _)| *f == name) {
                assert_eq!(text.replace("\r\n", "\n").trim(), *want, "{name}");
                assert!(meta.quoted.is_some(), "{name}: the quote is kept");
            }
            // The loop guard decides, and the auto-reply function agrees.
            let is_loop = EMAIL_LOOP_CASES.contains(&name.as_str());
            assert_eq!(
                message.wants_answer, !is_loop,
                "{name}: {:?}",
                message.automated
            );
            assert_eq!(message.automated.is_some(), is_loop, "{name}");
            let auto = kit::auto_reply(
                table.store.clone(),
                mail::email_channels(endpoint).await,
                &kit::closed_now_hours("Away until {reply_by}."),
                mail::settings().own_addresses,
            );
            let to = message.endpoint.customer_id.clone();
            let before = sent_count(&to).await;
            // Every stream record, not only the filtered ones: the handler decides too.
            let outcome = off_hours_auto_reply::auto_reply_to(&message, &auto, Utc::now())
                .await
                .unwrap();
            let sent = sent_count(&to).await - before;
            if is_loop {
                assert_eq!(sent, 0, "{name}: {outcome:?}");
                guarded += 1;
            } else {
                assert_eq!(sent, 1, "{name}: exactly one auto-reply ({outcome:?})");
                // And never a second one for a redelivered record.
                off_hours_auto_reply::auto_reply_to(&message, &auto, Utc::now())
                    .await
                    .unwrap();
                assert_eq!(sent_count(&to).await - before, 1, "{name}");
                replied += 1;
            }
        }
    }
    eprintln!(
        "email corpus: {replied} deliveries auto-replied once, {guarded} loop cases left alone"
    );
}

#[tokio::test]
async fn every_ses_and_sns_sample_is_handled_without_failing_the_invocation() {
    let Some(dir) = corpus_of("ses-sns") else {
        return;
    };
    let endpoint = asyncdesk_tests::tools::shared_endpoint();
    let plain = corpus_of("email").map(|d| std::fs::read(d.join("email_plain.eml")).unwrap());
    for path in json_files(&dir) {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let sample = load(&dir, &name);
        let table = TestTable::new().await;
        let deps = email_deps(&table, mail::s3_objects(endpoint).await);
        // HTTP-endpoint envelopes and bare SES notifications are wrapped as SNS
        // delivers them to Lambda; Lambda events go in as they are.
        let event = if sample.get("Records").is_some() {
            sample.clone()
        } else if let Some(message) = sample.get("Message").and_then(Value::as_str) {
            let mut record =
                serde_json::json!({"Records": [{"EventSource": "aws:sns", "Sns": sample.clone()}]});
            record["Records"][0]["Sns"]["Message"] = Value::String(message.to_string());
            record
        } else {
            mail::sns_event(&[("sns-official", &sample)])
        };
        // The S3 action's object, where SES would have stored it.
        let inner: Value = sample
            .get("Message")
            .and_then(Value::as_str)
            .and_then(|m| serde_json::from_str(m).ok())
            .unwrap_or(Value::Null);
        if inner["receipt"]["action"]["type"] == "S3" {
            let s3 = mail::s3_client(endpoint).await;
            let bucket = inner["receipt"]["action"]["bucketName"].as_str().unwrap();
            let key = inner["receipt"]["action"]["objectKey"].as_str().unwrap();
            let _ = s3.create_bucket().bucket(bucket).send().await;
            let body = plain
                .clone()
                .unwrap_or_else(|| b"From: a@example.org\r\nSubject: x\r\n\r\nhello".to_vec());
            s3.put_object()
                .bucket(bucket)
                .key(key)
                .body(body.into())
                .send()
                .await
                .unwrap();
        }
        let summary = inbound_email::handle_event(event, &deps, Utc::now())
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let is_mail =
            inner["notificationType"] == "Received" || sample["notificationType"] == "Received";
        let lambda_sns_text = sample["Records"][0]["Sns"]["Message"] == "Hello\r\nworld!";
        match () {
            _ if is_mail => assert_eq!(summary.receipt.stored, 1, "{name}: {summary:?}"),
            _ if sample["Type"] == "SubscriptionConfirmation" => {
                assert_eq!(summary.receipt.ignored, 1, "{name}: not a notification")
            }
            _ => {
                assert!(
                    lambda_sns_text || summary.receipt.rejected == 1,
                    "{name}: {summary:?}"
                );
                assert_eq!(summary.receipt.rejected, 1, "{name}: kept raw, {summary:?}");
            }
        }
    }
}
