//! The media test rig: a table, the Graph and Bot API stand-ins serving customers'
//! files, a media bucket on moto's S3, and the capture function over them; file
//! fixtures whose first bytes show their type.

use crate::bot_sandbox::BotSandbox;
use crate::kit::{self, TestTable};
use crate::sandbox::GraphSandbox;
use crate::{mail, tools};
use asyncdesk::channels::MediaSources;
use asyncdesk::channels::email::media::EmailMedia;
use asyncdesk::conversation::{Attachment, Message};
use asyncdesk::media::MediaLimits;
use asyncdesk::media::s3::S3Media;
use asyncdesk::ports::{MediaSource, ObjectReader};
use asyncdesk::store::dynamo::DynamoStore;
use chrono::Utc;
use media_capture::MediaCapture;
use serde_json::{Value, json};
use std::sync::Arc;

pub const TOKEN: &str = "media-test-token";
/// A JPEG's first bytes (what type sniffing reads), then filler.
pub fn jpeg(tag: &str) -> Vec<u8> {
    let mut b = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0,
    ];
    b.extend_from_slice(tag.as_bytes());
    b.extend(std::iter::repeat_n(7u8, 2000));
    b
}
pub fn png() -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    b.extend(std::iter::repeat_n(1u8, 500));
    b
}
pub fn ogg() -> Vec<u8> {
    let mut b = b"OggS\0\x02".to_vec();
    b.extend(std::iter::repeat_n(3u8, 800));
    b
}
pub const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n";

pub struct Rig {
    pub table: TestTable,
    pub graph: GraphSandbox,
    pub bot: BotSandbox,
    pub bucket: S3Media,
    pub capture: MediaCapture<DynamoStore>,
    _servers: Vec<tokio::task::JoinHandle<()>>,
}

pub async fn rig_with(limits: MediaLimits) -> Rig {
    let endpoint = tools::shared_endpoint();
    let table = TestTable::new().await;
    let graph = GraphSandbox::new();
    let (graph_base, g) = graph.start().await;
    let bot = BotSandbox::new();
    let (bot_base, b) = bot.start().await;
    let bucket_name = format!("media-{}", uuid::Uuid::new_v4().simple());
    let bucket = crate::media::bucket(endpoint, &bucket_name)
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

pub async fn rig() -> Rig {
    rig_with(MediaLimits::default()).await
}

impl Rig {
    /// Runs the stream's records through the capture (the template's filter).
    pub async fn run_stream(&self) -> Value {
        let event = self.table.stream_event_of("MediaCaptureFunction").await;
        let event = serde_json::to_value(event).unwrap();
        media_capture::handle_event(event, &self.capture)
            .await
            .expect("a stream batch")
    }

    pub async fn only_message(&self) -> Message {
        let mut all = self.table.messages().await;
        assert_eq!(all.len(), 1, "{all:?}");
        all.remove(0)
    }

    pub async fn objects(&self, prefix: &str) -> Vec<String> {
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

    pub async fn object(&self, key: &str) -> Vec<u8> {
        use asyncdesk::ports::MediaStore;
        self.bucket.get(key).await.expect("the object")
    }

    /// The thread as the agent API answers it, with the media bucket.
    pub async fn thread(&self, conversation: &str) -> Value {
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

pub fn attachments(m: &Message) -> &[Attachment] {
    m.content.attachments()
}

pub fn wa_media(customer: &str, id: &str, kind: &str, media: Value) -> Vec<u8> {
    let mut message = json!({"from": customer, "id": id, "timestamp": Utc::now().timestamp().to_string(), "type": kind});
    message[kind] = media;
    kit::webhook(customer, "Ada", json!([message]), json!([]))
}

pub async fn post_whatsapp(rig: &Rig, body: &[u8]) -> Value {
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

pub fn b64_sha(bytes: &[u8]) -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(bytes))
}
