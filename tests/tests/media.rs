//! Media capture against real parts: the webhook stores a media message with its
//! attachments `pending` and makes no download; the capture function, fed by the
//! table's stream (the template's filter), copies each file from the Graph API or
//! Bot API stand-in, or from the mail, into the media bucket on moto's S3, and the
//! thread answer gives each stored file a presigned URL that downloads the same
//! bytes. Failures, caps, type mismatches, virus verdicts and erasure included.

use asyncdesk::channels::MediaSources;
use asyncdesk::channels::email::media::EmailMedia;
use asyncdesk::conversation::{Attachment, MediaKind, MediaState, Message};
use asyncdesk::media::MediaLimits;
use asyncdesk::media::s3::S3Media;
use asyncdesk::ports::{MediaSource, ObjectReader};
use asyncdesk::store::dynamo::DynamoStore;
use asyncdesk_tests::bot_sandbox::BotSandbox;
use asyncdesk_tests::kit::{self, TestTable};
use asyncdesk_tests::sandbox::GraphSandbox;
use asyncdesk_tests::{mail, tools};
use chrono::Utc;
use media_capture::{MediaCapture, Outcome};
use serde_json::{Value, json};
use std::sync::Arc;

const TOKEN: &str = "media-test-token";
/// A JPEG's first bytes (what type sniffing reads), then filler.
fn jpeg(tag: &str) -> Vec<u8> {
    let mut b = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0,
    ];
    b.extend_from_slice(tag.as_bytes());
    b.extend(std::iter::repeat_n(7u8, 2000));
    b
}
fn png() -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    b.extend(std::iter::repeat_n(1u8, 500));
    b
}
fn ogg() -> Vec<u8> {
    let mut b = b"OggS\0\x02".to_vec();
    b.extend(std::iter::repeat_n(3u8, 800));
    b
}
const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n";

struct Rig {
    table: TestTable,
    graph: GraphSandbox,
    bot: BotSandbox,
    bucket: S3Media,
    capture: MediaCapture<DynamoStore>,
    _servers: Vec<tokio::task::JoinHandle<()>>,
}

async fn rig_with(limits: MediaLimits) -> Rig {
    let endpoint = tools::shared_endpoint();
    let table = TestTable::new().await;
    let graph = GraphSandbox::new();
    let (graph_base, g) = graph.start().await;
    let bot = BotSandbox::new();
    let (bot_base, b) = bot.start().await;
    let bucket_name = format!("media-{}", uuid::Uuid::new_v4().simple());
    let bucket = asyncdesk_tests::media::bucket(endpoint, &bucket_name)
        .await
        .expect("bucket");
    let objects: Arc<dyn ObjectReader> = Arc::new(mail::s3_objects(endpoint).await);
    let sources: Vec<Arc<dyn MediaSource>> = vec![
        Arc::new(asyncdesk::channels::whatsapp::WhatsAppClient::new(
            reqwest::Client::new(),
            &graph_base,
            TOKEN,
        )),
        Arc::new(kit::telegram_client(&bot_base)),
        Arc::new(EmailMedia::new(objects)),
    ];
    let capture = MediaCapture {
        store: table.store.clone(),
        sources: MediaSources::new(sources),
        bucket: Arc::new(bucket.clone()),
        limits,
        retries: None,
    };
    Rig {
        table,
        graph,
        bot,
        bucket,
        capture,
        _servers: vec![g, b],
    }
}

async fn rig() -> Rig {
    rig_with(MediaLimits::default()).await
}

impl Rig {
    /// Runs the stream's records through the capture (the template's filter).
    async fn run_stream(&self) -> Value {
        let event = self.table.stream_event_of("MediaCaptureFunction").await;
        let event = serde_json::to_value(event).unwrap();
        media_capture::handle_event(event, &self.capture)
            .await
            .expect("a stream batch")
    }

    async fn only_message(&self) -> Message {
        let mut all = self.table.messages().await;
        assert_eq!(all.len(), 1, "{all:?}");
        all.remove(0)
    }

    async fn objects(&self, prefix: &str) -> Vec<String> {
        let s3 = mail::s3_client(tools::shared_endpoint()).await;
        let out = s3
            .list_objects_v2()
            .bucket(self.bucket.bucket())
            .prefix(prefix)
            .send()
            .await
            .unwrap();
        out.contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_string))
            .collect()
    }

    async fn object(&self, key: &str) -> Vec<u8> {
        use asyncdesk::ports::MediaStore;
        self.bucket.get(key).await.expect("the object")
    }

    /// The thread as the agent API answers it, with the media bucket.
    async fn thread(&self, conversation: &str) -> Value {
        let mut agent = kit::agent(
            self.table.store.clone(),
            asyncdesk::channels::Channels::default(),
        );
        agent.media = Some(Arc::new(self.bucket.clone()));
        let req = kit::agent_request(
            "GET",
            &format!("/conversations/{conversation}"),
            Some(kit::ALICE_KEY),
            None,
        );
        let (status, body) = kit::read(agent_reply::handle(&req, &agent, Utc::now()).await);
        assert_eq!(status, 200, "{body}");
        body
    }
}

fn attachments(m: &Message) -> &[Attachment] {
    m.content.attachments()
}

fn wa_media(customer: &str, id: &str, kind: &str, media: Value) -> Vec<u8> {
    let mut message = json!({"from": customer, "id": id, "timestamp": Utc::now().timestamp().to_string(), "type": kind});
    message[kind] = media;
    kit::webhook(customer, "Ada", json!([message]), json!([]))
}

async fn post_whatsapp(rig: &Rig, body: &[u8]) -> Value {
    let deps = kit::inbound(rig.table.store.clone());
    let (status, receipt) = kit::read(
        inbound_webhook::handle(
            &kit::signed_post("/webhooks/whatsapp", body, kit::APP_SECRET),
            &deps,
            Utc::now(),
        )
        .await,
    );
    assert_eq!(status, 200, "{receipt}");
    receipt
}

fn b64_sha(bytes: &[u8]) -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(bytes))
}

#[tokio::test]
async fn a_whatsapp_photo_is_copied_off_the_webhook_path_and_opened_by_the_agent() {
    let rig = rig().await;
    let photo = jpeg("wa");
    rig.graph
        .add_media("1003383421387256", &photo, "image/jpeg");
    let body = wa_media(
        "16505551234",
        "wamid.photo1",
        "image",
        json!({"caption": "the broken part", "mime_type": "image/jpeg", "sha256": b64_sha(&photo), "id": "1003383421387256"}),
    );
    let receipt = post_whatsapp(&rig, &body).await;
    assert_eq!(receipt["stored"], 1);
    // The webhook stored the message and fetched nothing.
    assert_eq!(rig.graph.requests(), 0);
    let pending = rig.only_message().await;
    assert_eq!(attachments(&pending)[0].state, Some(MediaState::Pending));

    rig.run_stream().await;
    let m = rig.only_message().await;
    let a = &attachments(&m)[0];
    assert_eq!(a.state, Some(MediaState::Stored), "{a:?}");
    assert_eq!(a.size, Some(photo.len() as u64));
    assert_eq!(
        a.sha256.as_deref(),
        Some(asyncdesk::media::sha256_hex(&photo).as_str())
    );
    assert_eq!(a.sniffed_mime_type.as_deref(), Some("image/jpeg"));
    assert!(!a.mime_mismatch);
    assert_eq!(a.filename.as_deref(), Some("image.jpg"));
    let key = a.key.clone().unwrap();
    assert!(
        key.starts_with(&format!("media/{}/", m.conversation_id)),
        "{key}"
    );
    assert_eq!(rig.object(&key).await, photo, "the bytes, exactly");
    // Both calls carried the access token.
    assert!(
        rig.graph
            .authorizations()
            .iter()
            .all(|a| a == &format!("Bearer {TOKEN}"))
    );

    // The agent opens it: a short-lived URL that downloads the same bytes, as an
    // attachment with the safe name, and an inline preview for the image.
    let thread = rig.thread(m.conversation_id.as_str()).await;
    let shown = &thread["messages"][0]["attachments"][0];
    let url = shown["url"].as_str().expect("a download URL");
    assert!(shown["url_expires_at"].is_string());
    let http = reqwest::Client::new();
    let resp = http.get(url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let disposition = resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        disposition.starts_with("attachment; filename=\"image.jpg\""),
        "{disposition}"
    );
    assert_eq!(resp.headers()["content-type"], "image/jpeg");
    assert_eq!(resp.bytes().await.unwrap().to_vec(), photo);
    let preview = http
        .get(shown["preview_url"].as_str().expect("a preview URL"))
        .send()
        .await
        .unwrap();
    assert!(
        preview.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("inline")
    );
}

#[tokio::test]
async fn a_redelivered_webhook_and_a_redelivered_record_store_the_file_once() {
    let rig = rig().await;
    let photo = jpeg("twice");
    rig.graph.add_media("555", &photo, "image/jpeg");
    let body = wa_media(
        "16505550001",
        "wamid.twice",
        "image",
        json!({"mime_type": "image/jpeg", "id": "555"}),
    );
    post_whatsapp(&rig, &body).await;
    let again = post_whatsapp(&rig, &body).await;
    assert_eq!(again["duplicates"], 1);
    rig.run_stream().await;
    let calls = rig.graph.requests();
    assert_eq!(calls, 2, "GET /{{id}} and the download, once");
    // Lambda delivers the same record again: the message is read again, found
    // stored, and nothing is fetched or written.
    rig.run_stream().await;
    assert_eq!(rig.graph.requests(), calls);
    let m = rig.only_message().await;
    assert_eq!(
        rig.objects(&format!("media/{}/", m.conversation_id))
            .await
            .len(),
        1
    );

    // The same photo in another message of the conversation: one object still.
    rig.graph.add_media("556", &photo, "image/jpeg");
    let body = wa_media(
        "16505550001",
        "wamid.twice2",
        "image",
        json!({"mime_type": "image/jpeg", "id": "556"}),
    );
    post_whatsapp(&rig, &body).await;
    rig.run_stream().await;
    let all = rig.table.messages().await;
    assert!(
        all.iter()
            .all(|m| attachments(m)[0].state == Some(MediaState::Stored))
    );
    assert_eq!(attachments(&all[0])[0].key, attachments(&all[1])[0].key);
    assert_eq!(
        rig.objects(&format!("media/{}/", m.conversation_id))
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn telegram_photos_keep_the_largest_size_and_voice_notes_their_duration() {
    let rig = rig().await;
    let big = jpeg("big");
    rig.bot
        .add_file("small-id", &jpeg("small")[..100], "photos/file_0.jpg");
    rig.bot.add_file("big-id", &big, "photos/file_1.jpg");
    let voice = ogg();
    rig.bot.add_file("voice-id", &voice, "voice/file_2.oga");
    let deps = kit::inbound(rig.table.store.clone());
    let chat = 408_258_968;
    let photo = json!({"update_id": 1, "message": {"message_id": 1, "date": Utc::now().timestamp(),
        "chat": {"id": chat, "type": "private", "first_name": "Ada"},
        "from": {"id": chat, "is_bot": false, "first_name": "Ada"},
        "caption": "it broke",
        "photo": [{"file_id": "small-id", "file_unique_id": "s", "width": 90, "height": 90, "file_size": 100},
                  {"file_id": "big-id", "file_unique_id": "b", "width": 1280, "height": 960, "file_size": big.len()}]}});
    let note = json!({"update_id": 2, "message": {"message_id": 2, "date": Utc::now().timestamp(),
        "chat": {"id": chat, "type": "private", "first_name": "Ada"},
        "from": {"id": chat, "is_bot": false, "first_name": "Ada"},
        "voice": {"file_id": "voice-id", "file_unique_id": "v", "duration": 7, "mime_type": "audio/ogg", "file_size": voice.len()}}});
    for update in [&photo, &note] {
        let (status, _) = kit::read(
            inbound_webhook::handle(
                &kit::telegram_post(update, Some(kit::TG_SECRET)),
                &deps,
                Utc::now(),
            )
            .await,
        );
        assert_eq!(status, 200);
    }
    rig.run_stream().await;
    let all = rig.table.messages().await;
    assert_eq!(all.len(), 2);
    let p = &attachments(&all[0])[0];
    assert_eq!(
        (p.media_kind, p.state),
        (MediaKind::Image, Some(MediaState::Stored))
    );
    assert_eq!(p.unique_id.as_deref(), Some("b"));
    assert_eq!(
        rig.object(p.key.as_deref().unwrap()).await,
        big,
        "the largest size"
    );
    let v = &attachments(&all[1])[0];
    assert_eq!(
        (v.media_kind, v.state),
        (MediaKind::Voice, Some(MediaState::Stored))
    );
    assert_eq!(v.duration_secs, Some(7));
    assert_eq!(v.sniffed_mime_type.as_deref(), Some("audio/ogg"));
    assert_eq!(rig.object(v.key.as_deref().unwrap()).await, voice);
    // The bot token went only into request paths: never into the table.
    assert!(rig.bot.tokens().iter().all(|t| t == kit::TG_TOKEN));
    let stored = format!("{:?}", rig.table.items().await);
    assert!(
        !stored.contains("test-bot-token"),
        "the token is stored nowhere"
    );
}

#[tokio::test]
async fn email_attachments_come_from_the_mail_and_a_virus_verdict_blocks_them() {
    let rig = rig().await;
    let email = asyncdesk_tests::email_rig::rig().await;
    // The capture over the email rig's table.
    let capture = MediaCapture {
        store: email.table.store.clone(),
        sources: MediaSources::new(vec![Arc::new(EmailMedia::new(Arc::new(
            mail::s3_objects(tools::shared_endpoint()).await,
        )))]),
        bucket: Arc::new(rig.bucket.clone()),
        limits: MediaLimits::default(),
        retries: None,
    };
    use base64::Engine;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let from = asyncdesk_tests::email_rig::customer("media");
    let mime = |id: &str| {
        format!(
            "From: Ada <{from}>\r\nTo: {}\r\nSubject: Invoice\r\nMessage-ID: <{id}@example.org>\r\nDate: {}\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nInvoice attached.\r\n--b1\r\nContent-Type: application/pdf; name=\"invoice.pdf\"\r\nContent-Disposition: attachment; filename=\"../invoice.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b1\r\nContent-Type: image/png\r\nContent-Disposition: inline; filename=\"logo.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b1--\r\n",
            mail::SUPPORT_ADDRESS,
            Utc::now().to_rfc2822(),
            b64(PDF),
            b64(&png()),
        )
        .into_bytes()
    };
    email
        .receive(&mime("clean"), mail::Encoding::Base64, "sns-clean")
        .await;
    let event = email.table.stream_event_of("MediaCaptureFunction").await;
    media_capture::handle_event(serde_json::to_value(event).unwrap(), &capture)
        .await
        .unwrap();
    let m = &email.messages().await[0];
    let a = attachments(m);
    assert_eq!(a.len(), 2);
    assert!(
        a.iter().all(|a| a.state == Some(MediaState::Stored)),
        "{a:?}"
    );
    assert_eq!(a[0].filename.as_deref(), Some("invoice.pdf"));
    assert_eq!(rig.object(a[0].key.as_deref().unwrap()).await, PDF);
    assert!(a[1].inline);
    assert_eq!(rig.object(a[1].key.as_deref().unwrap()).await, png());

    // SES found a virus: listed, never fetched, never offered.
    let n = mail::received_notification(&mime("virus"), mail::Encoding::Base64, "ses-virus");
    let mut n = n;
    n["receipt"]["virusVerdict"]["status"] = json!("FAIL");
    inbound_email::handle_event(
        mail::sns_event(&[("sns-virus", &n)]),
        &email.inbound,
        Utc::now(),
    )
    .await
    .unwrap();
    let virus = email
        .messages()
        .await
        .into_iter()
        .find(|m| m.provider_message_id.as_deref() == Some("virus@example.org"))
        .expect("the mail is kept");
    assert!(
        attachments(&virus)
            .iter()
            .all(|a| a.state == Some(MediaState::Blocked))
    );
    let capture_of_virus = media_capture::capture_message(&virus, &capture)
        .await
        .unwrap();
    assert_eq!(capture_of_virus, Outcome::Skipped("no pending attachment"));
}

#[tokio::test]
async fn a_platform_that_fails_is_tried_again_then_the_file_is_failed() {
    let rig = rig().await;
    rig.graph.add_media("777", &jpeg("flaky"), "image/jpeg");
    post_whatsapp(
        &rig,
        &wa_media(
            "16505550002",
            "wamid.flaky",
            "image",
            json!({"id": "777", "mime_type": "image/jpeg"}),
        ),
    )
    .await;
    let key = asyncdesk::ports::MessageKey::of(&rig.only_message().await);
    // With a retry queue: the attempt is counted and the message waits there.
    let queue = asyncdesk_tests::retry_queue::LocalQueue::create(
        tools::shared_endpoint(),
        &format!("media-{}", uuid::Uuid::new_v4().simple()),
    )
    .await
    .unwrap();
    let mut capture = rig_with(MediaLimits::default()).await.capture;
    capture.store = rig.table.store.clone();
    capture.sources = rig.capture.sources.clone();
    capture.retries = Some(Arc::new(queue.adapter(tools::shared_endpoint()).await));
    rig.graph
        .fail_next(500, json!({"error": {"message": "temporarily", "code": 2}}));
    let outcome = media_capture::capture_key(&key, &capture).await.unwrap();
    assert_eq!(outcome, Outcome::Retrying { delay_secs: 60 });
    assert_eq!(
        queue.counts().await.unwrap().0 + queue.counts().await.unwrap().1,
        1
    );
    let a = attachments(&rig.only_message().await)[0].clone();
    assert_eq!((a.state, a.attempts), (Some(MediaState::Pending), 1));
    // Without one, the stream retries the record; the last attempt gives up.
    for _ in 1..asyncdesk::media::capture::MAX_ATTEMPTS {
        rig.graph.fail_next(503, json!({}));
        let _ = media_capture::capture_key(&key, &rig.capture).await;
    }
    let a = attachments(&rig.only_message().await)[0].clone();
    assert_eq!(a.state, Some(MediaState::Failed), "{a:?}");
    assert!(
        a.reason
            .as_deref()
            .unwrap()
            .starts_with("gave up after 6 attempts"),
        "{a:?}"
    );

    // Meta deleted the media: failed at once, no retry.
    post_whatsapp(
        &rig,
        &wa_media(
            "16505550002",
            "wamid.gone",
            "image",
            json!({"id": "888", "mime_type": "image/jpeg"}),
        ),
    )
    .await;
    rig.run_stream().await;
    let gone = rig
        .table
        .messages()
        .await
        .into_iter()
        .find(|m| m.id == "wamid.gone")
        .unwrap();
    let a = &attachments(&gone)[0];
    assert_eq!(a.state, Some(MediaState::Failed));
    assert_eq!(a.attempts, 0);
}

#[tokio::test]
async fn caps_and_types_are_checked_on_the_bytes() {
    let rig = rig_with(MediaLimits {
        max_file_bytes: 1000,
        max_message_bytes: 1000,
    })
    .await;
    // Over the cap: metadata only, nothing stored.
    rig.graph.add_media("901", &jpeg("big"), "image/jpeg");
    post_whatsapp(
        &rig,
        &wa_media(
            "16505550003",
            "wamid.big",
            "image",
            json!({"id": "901", "mime_type": "image/jpeg"}),
        ),
    )
    .await;
    // A "PDF" that is a PNG: stored, the mismatch recorded, served as what it is.
    rig.graph.add_media("902", &png()[..300], "application/pdf");
    post_whatsapp(
        &rig,
        &wa_media(
            "16505550003",
            "wamid.fake",
            "document",
            json!({"id": "902", "mime_type": "application/pdf", "filename": "invoice.pdf"}),
        ),
    )
    .await;
    // A Telegram file over what a bot may download: no request at all.
    let deps = kit::inbound(rig.table.store.clone());
    let huge = json!({"update_id": 3, "message": {"message_id": 3, "date": Utc::now().timestamp(),
        "chat": {"id": 42, "type": "private", "first_name": "Ada"}, "from": {"id": 42, "is_bot": false, "first_name": "Ada"},
        "document": {"file_id": "huge", "file_unique_id": "h", "file_name": "video.mov", "file_size": 30_000_000u64}}});
    kit::read(
        inbound_webhook::handle(
            &kit::telegram_post(&huge, Some(kit::TG_SECRET)),
            &deps,
            Utc::now(),
        )
        .await,
    );
    rig.run_stream().await;
    let all = rig.table.messages().await;
    let by_id = |id: &str| all.iter().find(|m| m.id.contains(id)).unwrap();
    let big = &attachments(by_id("wamid.big"))[0];
    assert_eq!(big.state, Some(MediaState::TooLarge), "{big:?}");
    assert!(big.key.is_none());
    let fake = &attachments(by_id("wamid.fake"))[0];
    assert_eq!(fake.state, Some(MediaState::Stored));
    assert!(fake.mime_mismatch);
    assert_eq!(fake.sniffed_mime_type.as_deref(), Some("image/png"));
    let tg = all
        .iter()
        .find(|m| m.endpoint.channel == asyncdesk::conversation::Channel::Telegram)
        .unwrap();
    assert_eq!(attachments(tg)[0].state, Some(MediaState::TooLarge));
    assert_eq!(rig.bot.requests(), 0);
    let thread = rig
        .thread(by_id("wamid.fake").conversation_id.as_str())
        .await;
    let shown = thread["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "wamid.fake")
        .unwrap();
    let resp = reqwest::get(shown["attachments"][0]["url"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["content-type"],
        "image/png",
        "served as what the bytes are"
    );
    let thread_big = thread["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "wamid.big")
        .unwrap();
    assert!(
        thread_big["attachments"][0].get("url").is_none(),
        "nothing to download"
    );
}

#[tokio::test]
async fn erasing_a_conversation_deletes_its_files() {
    let rig = rig().await;
    rig.graph.add_media("321", &jpeg("erase"), "image/jpeg");
    post_whatsapp(
        &rig,
        &wa_media(
            "16505550004",
            "wamid.erase",
            "image",
            json!({"id": "321", "mime_type": "image/jpeg"}),
        ),
    )
    .await;
    rig.run_stream().await;
    let m = rig.only_message().await;
    let prefix = asyncdesk::media::conversation_prefix(&m.conversation_id);
    assert_eq!(rig.objects(&prefix).await.len(), 1);
    let mut agent = kit::agent(
        rig.table.store.clone(),
        asyncdesk::channels::Channels::default(),
    );
    agent.keys = asyncdesk::auth::AgentKeys::parse(&format!(
        "alice={}:admin",
        asyncdesk::auth::hash_key(kit::ALICE_KEY)
    ))
    .unwrap();
    agent.media = Some(Arc::new(rig.bucket.clone()));
    let req = kit::agent_request(
        "DELETE",
        &format!("/customers/{}/data", m.conversation_id),
        Some(kit::ALICE_KEY),
        None,
    );
    let (status, body) = kit::read(agent_reply::handle(&req, &agent, Utc::now()).await);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["erased"]["media_deleted"], 1);
    assert!(rig.objects(&prefix).await.is_empty());
}

#[tokio::test]
async fn every_type_of_every_messaging_channel_is_captured() {
    let rig = rig().await;
    let deps = kit::inbound(rig.table.store.clone());
    let mut expected: Vec<(String, Vec<u8>, MediaKind)> = Vec::new();
    // WhatsApp: image, video, audio, a voice note, document, sticker.
    for (i, (kind, mime, media_kind, extra)) in [
        ("image", "image/jpeg", MediaKind::Image, json!({})),
        ("video", "video/mp4", MediaKind::Video, json!({})),
        ("audio", "audio/mpeg", MediaKind::Audio, json!({})),
        (
            "audio",
            "audio/ogg; codecs=opus",
            MediaKind::Voice,
            json!({"voice": true}),
        ),
        (
            "document",
            "application/pdf",
            MediaKind::Document,
            json!({"filename": "a.pdf"}),
        ),
        ("sticker", "image/webp", MediaKind::Sticker, json!({})),
    ]
    .into_iter()
    .enumerate()
    {
        let bytes = format!("whatsapp {kind} {i}").into_bytes();
        let id = format!("70{i}");
        rig.graph.add_media(&id, &bytes, mime);
        let mut media = json!({"id": id, "mime_type": mime, "sha256": b64_sha(&bytes)});
        media
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let wamid = format!("wamid.type{i}");
        post_whatsapp(&rig, &wa_media("16505550009", &wamid, kind, media)).await;
        expected.push((wamid, bytes, media_kind));
    }
    // Telegram: photo, document, voice, audio, video, video note, animation, sticker.
    for (i, (field, media_kind)) in [
        ("photo", MediaKind::Image),
        ("document", MediaKind::Document),
        ("voice", MediaKind::Voice),
        ("audio", MediaKind::Audio),
        ("video", MediaKind::Video),
        ("video_note", MediaKind::Video),
        ("animation", MediaKind::Animation),
        ("sticker", MediaKind::Sticker),
    ]
    .into_iter()
    .enumerate()
    {
        let bytes = format!("telegram {field} {i}").into_bytes();
        let file_id = format!("tg-file-{i}");
        rig.bot
            .add_file(&file_id, &bytes, &format!("files/{i}.bin"));
        let file = json!({"file_id": file_id, "file_unique_id": format!("u{i}"), "file_size": bytes.len(), "duration": 3});
        let mut message = json!({"message_id": 100 + i, "date": Utc::now().timestamp(),
            "chat": {"id": 77, "type": "private", "first_name": "Ada"},
            "from": {"id": 77, "is_bot": false, "first_name": "Ada"}});
        message[field] = if field == "photo" {
            json!([file])
        } else {
            file
        };
        let update = json!({"update_id": 500 + i, "message": message});
        let (status, _) = kit::read(
            inbound_webhook::handle(
                &kit::telegram_post(&update, Some(kit::TG_SECRET)),
                &deps,
                Utc::now(),
            )
            .await,
        );
        assert_eq!(status, 200);
        expected.push((format!("{}", 100 + i), bytes, media_kind));
    }
    rig.run_stream().await;
    let all = rig.table.messages().await;
    for (id, bytes, kind) in &expected {
        let m = all
            .iter()
            .find(|m| m.id == *id || m.id.ends_with(&format!(":{id}")))
            .unwrap_or_else(|| {
                panic!(
                    "message {id} in {:?}",
                    all.iter().map(|m| &m.id).collect::<Vec<_>>()
                )
            });
        let a = &attachments(m)[0];
        assert_eq!(
            (a.media_kind, a.state),
            (*kind, Some(MediaState::Stored)),
            "{id}: {a:?}"
        );
        assert_eq!(
            a.sha256.as_deref(),
            Some(asyncdesk::media::sha256_hex(bytes).as_str()),
            "{id}"
        );
        assert_eq!(
            &rig.object(a.key.as_deref().unwrap()).await,
            bytes,
            "{id}: the bytes"
        );
    }
}
