//! Agents send files: an upload target from the agent API, the file PUT straight to
//! the media bucket (moto's S3), then a reply naming it, sent as the channel's media
//! message to the Graph API and Bot API stand-ins and through SES on moto. Each
//! channel's limits are checked before anything is sent; Idempotency-Key, based_on
//! and WhatsApp's window work as for text.

use asyncdesk::channels::Channels;
use asyncdesk::conversation::{Channel, MediaState};
use asyncdesk::media::s3::S3Media;
use asyncdesk::store::dynamo::DynamoStore;
use asyncdesk_tests::bot_sandbox::BotSandbox;
use asyncdesk_tests::kit::{self, TestTable};
use asyncdesk_tests::sandbox::GraphSandbox;
use asyncdesk_tests::{mail, tools};
use chrono::Utc;
use serde_json::{Value, json};
use std::sync::Arc;

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n";
fn png(len: usize) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    b.resize(len, 1);
    b
}

struct Rig {
    table: TestTable,
    graph: GraphSandbox,
    bot: BotSandbox,
    agent: agent_reply::Agent<DynamoStore, Channels>,
    _servers: Vec<tokio::task::JoinHandle<()>>,
}

async fn bucket() -> S3Media {
    asyncdesk_tests::media::bucket(
        tools::shared_endpoint(),
        &format!("media-{}", uuid::Uuid::new_v4().simple()),
    )
    .await
    .expect("bucket")
}

async fn rig() -> Rig {
    let table = TestTable::new().await;
    let graph = GraphSandbox::new();
    let (graph_base, g) = graph.start().await;
    let bot = BotSandbox::new();
    let (bot_base, b) = bot.start().await;
    let channels = kit::whatsapp_channels(&graph_base, "token")
        .with(Channel::Telegram, Arc::new(kit::telegram_client(&bot_base)));
    let mut agent = kit::agent(table.store.clone(), channels);
    agent.media = Some(Arc::new(bucket().await));
    Rig {
        table,
        graph,
        bot,
        agent,
        _servers: vec![g, b],
    }
}

async fn call<S: agent_reply::Store, O: asyncdesk::ports::Outbound>(
    agent: &agent_reply::Agent<S, O>,
    method: &str,
    path: &str,
    body: Option<Value>,
    key: Option<&str>,
) -> (u16, Value) {
    let mut req = kit::agent_request(method, path, Some(kit::ALICE_KEY), body);
    if let Some(k) = key {
        req.headers_mut()
            .insert("idempotency-key", k.parse().unwrap());
    }
    kit::read(agent_reply::handle(&req, agent, Utc::now()).await)
}

/// Uploads `bytes` as `filename` of `mime` through the agent API's target; the id.
async fn upload<S: agent_reply::Store, O: asyncdesk::ports::Outbound>(
    agent: &agent_reply::Agent<S, O>,
    conversation: &str,
    filename: &str,
    mime: &str,
    bytes: &[u8],
) -> String {
    let (status, target) = call(
        agent,
        "POST",
        &format!("/conversations/{conversation}/attachments"),
        Some(json!({"filename": filename, "mime_type": mime, "size": bytes.len()})),
        None,
    )
    .await;
    assert_eq!(status, 201, "{target}");
    let mut put = reqwest::Client::new()
        .put(target["upload"]["url"].as_str().unwrap())
        .body(bytes.to_vec());
    for (k, v) in target["upload"]["headers"].as_object().unwrap() {
        put = put.header(k.as_str(), v.as_str().unwrap());
    }
    let resp = put.send().await.unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    target["attachment"]["id"].as_str().unwrap().to_string()
}

fn sha(bytes: &[u8]) -> String {
    asyncdesk::media::sha256_hex(bytes)
}

async fn whatsapp_customer(rig: &Rig, customer: &str) -> String {
    let deps = kit::inbound(rig.table.store.clone());
    let body = kit::text_webhook(
        customer,
        &format!("wamid.{customer}"),
        Utc::now().timestamp(),
        "Send me the invoice",
    );
    let (status, _) = kit::read(
        inbound_webhook::handle(
            &kit::signed_post("/webhooks/whatsapp", &body, kit::APP_SECRET),
            &deps,
            Utc::now(),
        )
        .await,
    );
    assert_eq!(status, 200);
    kit::wa_conversation(customer).as_str().to_string()
}

#[tokio::test]
async fn an_agent_sends_a_pdf_on_whatsapp_once_whatever_the_retries() {
    let rig = rig().await;
    let id = whatsapp_customer(&rig, "16505559001").await;
    let upload_id = upload(&rig.agent, &id, "Rechnung März.pdf", "application/pdf", PDF).await;
    let body = json!({"text": "Your invoice", "attachments": [upload_id], "based_on": "wamid.16505559001"});
    let path = format!("/conversations/{id}/messages");
    let (status, sent) = call(
        &rig.agent,
        "POST",
        &path,
        Some(body.clone()),
        Some("invoice-1"),
    )
    .await;
    assert_eq!(status, 201, "{sent}");
    // A double click: the first answer, nothing sent again.
    let (again, replayed) = call(&rig.agent, "POST", &path, Some(body), Some("invoice-1")).await;
    assert_eq!((again, &replayed), (201, &sent));
    let outbox = rig.graph.outbox();
    assert_eq!(outbox.len(), 1, "{outbox:?}");
    assert_eq!(outbox[0].text, "Your invoice");
    let file = &outbox[0].attachments[0];
    assert_eq!(file.kind, "document");
    assert_eq!(file.filename.as_deref(), Some("Rechnung März.pdf"));
    assert_eq!(file.sha256, sha(PDF), "the bytes, exactly");
    // The thread keeps it as a stored file the agent can open again.
    let m = &sent["message"];
    assert_eq!(m["kind"], "media");
    assert_eq!(m["attachments"][0]["state"], "stored");
    assert_eq!(m["attachments"][0]["sha256"], sha(PDF));
    let (_, thread) = call(
        &rig.agent,
        "GET",
        &format!("/conversations/{id}"),
        None,
        None,
    )
    .await;
    let url = thread["messages"][0]["attachments"][0]["url"]
        .as_str()
        .expect("a URL");
    assert_eq!(
        reqwest::get(url)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .to_vec(),
        PDF
    );
    let stored = rig.table.messages().await;
    let out = stored.iter().find(|m| m.content.kind() == "media").unwrap();
    assert_eq!(out.content.attachments()[0].state, Some(MediaState::Stored));
}

#[tokio::test]
async fn limits_are_checked_before_anything_is_sent() {
    let rig = rig().await;
    let id = whatsapp_customer(&rig, "16505559002").await;
    let path = format!("/conversations/{id}/messages");
    // An image over WhatsApp's 5 MB.
    let big = upload(
        &rig.agent,
        &id,
        "big.png",
        "image/png",
        &png(6 * 1024 * 1024),
    )
    .await;
    let (status, err) = call(
        &rig.agent,
        "POST",
        &path,
        Some(json!({"attachments": [big]})),
        None,
    )
    .await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(err["error"]["code"], "channel_limit");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("up to 5 MB"),
        "{err}"
    );
    // A caption over 1024 characters.
    let pdf = upload(&rig.agent, &id, "a.pdf", "application/pdf", PDF).await;
    let long = "x".repeat(1025);
    let (status, err) = call(
        &rig.agent,
        "POST",
        &path,
        Some(json!({"text": long, "attachments": [pdf]})),
        None,
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (422, Some("channel_limit")),
        "{err}"
    );
    assert!(
        err["error"]["message"].as_str().unwrap().contains("1024"),
        "{err}"
    );
    // Audio takes no caption on WhatsApp.
    let mut ogg = b"OggS\0\x02".to_vec();
    ogg.resize(500, 3);
    let voice = upload(&rig.agent, &id, "note.ogg", "audio/ogg", &ogg).await;
    let (status, err) = call(
        &rig.agent,
        "POST",
        &path,
        Some(json!({"text": "listen", "attachments": [voice]})),
        None,
    )
    .await;
    assert_eq!(status, 422, "{err}");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("without a caption"),
        "{err}"
    );
    // An id never uploaded, and one that is not ours.
    let (status, err) = call(
        &rig.agent,
        "POST",
        &path,
        Some(json!({"attachments": [format!("up-{}", "0".repeat(32))]})),
        None,
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (422, Some("unknown_attachment"))
    );
    let (status, _) = call(
        &rig.agent,
        "POST",
        &path,
        Some(json!({"attachments": ["../../etc/passwd"]})),
        None,
    )
    .await;
    assert_eq!(status, 422);
    // Too large to upload at all.
    let (status, err) = call(
        &rig.agent,
        "POST",
        &format!("/conversations/{id}/attachments"),
        Some(json!({"filename": "huge.bin", "mime_type": "application/octet-stream", "size": 26u64 * 1024 * 1024})),
        None,
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (422, Some("too_large")),
        "{err}"
    );
    // Nothing went out, nothing was stored as sent.
    assert!(rig.graph.outbox().is_empty());
    assert!(
        rig.table
            .messages()
            .await
            .iter()
            .all(|m| m.content.kind() != "media")
    );
    // The audio alone goes, as audio.
    let (status, sent) = call(
        &rig.agent,
        "POST",
        &path,
        Some(json!({"attachments": [voice]})),
        None,
    )
    .await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(rig.graph.outbox()[0].attachments[0].kind, "audio");
}

#[tokio::test]
async fn the_window_and_based_on_hold_for_files_too() {
    let rig = rig().await;
    let customer = "16505559003";
    let deps = kit::inbound(rig.table.store.clone());
    // The customer wrote 25 hours ago: WhatsApp's window is closed.
    let old = Utc::now().timestamp() - 25 * 3600;
    let body = kit::text_webhook(customer, "wamid.old", old, "hello");
    kit::read(
        inbound_webhook::handle(
            &kit::signed_post("/webhooks/whatsapp", &body, kit::APP_SECRET),
            &deps,
            Utc::now() - chrono::Duration::hours(25),
        )
        .await,
    );
    let id = kit::wa_conversation(customer).as_str().to_string();
    let pdf = upload(&rig.agent, &id, "a.pdf", "application/pdf", PDF).await;
    let path = format!("/conversations/{id}/messages");
    let (status, err) = call(
        &rig.agent,
        "POST",
        &path,
        Some(json!({"attachments": [pdf.clone()]})),
        None,
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (409, Some("whatsapp_window_closed")),
        "{err}"
    );
    // The customer writes again: open, but the agent has not read it.
    let body = kit::text_webhook(
        customer,
        "wamid.new",
        Utc::now().timestamp(),
        "still there?",
    );
    kit::read(
        inbound_webhook::handle(
            &kit::signed_post("/webhooks/whatsapp", &body, kit::APP_SECRET),
            &deps,
            Utc::now(),
        )
        .await,
    );
    let (status, err) = call(
        &rig.agent,
        "POST",
        &path,
        Some(json!({"attachments": [pdf], "based_on": "wamid.old"})),
        None,
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (409, Some("conversation_changed")),
        "{err}"
    );
    assert!(rig.graph.outbox().is_empty());
}

#[tokio::test]
async fn telegram_gets_a_photo_and_a_document_by_upload() {
    let rig = rig().await;
    let chat = 408_258_001;
    let deps = kit::inbound(rig.table.store.clone());
    let update = kit::tg_text(
        1,
        chat,
        1,
        Utc::now().timestamp(),
        "what does it look like?",
    );
    kit::read(
        inbound_webhook::handle(
            &kit::telegram_post(&update, Some(kit::TG_SECRET)),
            &deps,
            Utc::now(),
        )
        .await,
    );
    let id = kit::tg_endpoint(chat)
        .conversation_id()
        .as_str()
        .to_string();
    let photo = png(3000);
    let p = upload(&rig.agent, &id, "part.png", "image/png", &photo).await;
    let d = upload(&rig.agent, &id, "manual.pdf", "application/pdf", PDF).await;
    let (status, sent) = call(
        &rig.agent,
        "POST",
        &format!("/conversations/{id}/messages"),
        Some(json!({"text": "Like this", "attachments": [p, d]})),
        None,
    )
    .await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(
        sent["messages"].as_array().unwrap().len(),
        2,
        "one file a message"
    );
    let outbox = rig.bot.outbox();
    assert_eq!(outbox.len(), 2);
    assert_eq!(outbox[0].attachments[0].kind, "sendPhoto");
    assert_eq!(outbox[0].text, "Like this", "the caption with the first");
    assert_eq!(
        outbox[0].reply_to.as_deref(),
        Some("1"),
        "quoting the customer"
    );
    assert_eq!(outbox[0].attachments[0].sha256, sha(&photo));
    assert_eq!(outbox[1].attachments[0].kind, "sendDocument");
    assert_eq!(
        outbox[1].attachments[0].filename.as_deref(),
        Some("manual.pdf")
    );
    assert_eq!(outbox[1].text, "");
    assert!(rig.bot.tokens().iter().all(|t| t == kit::TG_TOKEN));
    assert_eq!(rig.bot.uploads(), 2);
    // The same manual again: Telegram has it, so it goes by its file_id.
    let again = upload(&rig.agent, &id, "manual.pdf", "application/pdf", PDF).await;
    let (status, sent) = call(
        &rig.agent,
        "POST",
        &format!("/conversations/{id}/messages"),
        Some(json!({"attachments": [again]})),
        None,
    )
    .await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(rig.bot.uploads(), 2, "no second upload");
    let outbox = rig.bot.outbox();
    assert_eq!(outbox[2].attachments[0].sha256, sha(PDF));
    assert!(sent["message"]["attachments"][0]["file_id"].is_string());
}

#[tokio::test]
async fn email_carries_the_files_as_mime_attachments() {
    let mut rig = asyncdesk_tests::email_rig::rig().await;
    rig.agent.media = Some(Arc::new(bucket().await));
    let from = asyncdesk_tests::email_rig::customer("files");
    let mail_bytes = mail::customer_mail(
        &from,
        "Invoice please",
        &format!("{}@example.org", uuid::Uuid::new_v4().simple()),
        "",
        "Can I have the invoice?",
    );
    rig.receive(
        &mail_bytes,
        mail::Encoding::Base64,
        &uuid::Uuid::new_v4().to_string(),
    )
    .await;
    let id = rig.conversation_ids().await[0].clone();
    let a = upload(&rig.agent, &id, "invoice.pdf", "application/pdf", PDF).await;
    let photo = png(2000);
    let b = upload(&rig.agent, &id, "photo.png", "image/png", &photo).await;
    let (status, sent) = call(
        &rig.agent,
        "POST",
        &format!("/conversations/{id}/messages"),
        Some(json!({"text": "Here you are.", "attachments": [a, b]})),
        None,
    )
    .await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["messages"].as_array().unwrap().len(), 1, "one mail");
    let outbox = mail::outbox(tools::shared_endpoint(), mail::SUPPORT_ADDRESS).await;
    let ours = outbox.iter().find(|m| m.to == from).expect("the mail");
    assert_eq!(ours.text, "Here you are.");
    let files: Vec<(Option<&str>, &str)> = ours
        .attachments
        .iter()
        .map(|f| (f.filename.as_deref(), f.sha256.as_str()))
        .collect();
    assert_eq!(
        files,
        [
            (Some("invoice.pdf"), sha(PDF).as_str()),
            (Some("photo.png"), sha(&photo).as_str())
        ]
    );
}
