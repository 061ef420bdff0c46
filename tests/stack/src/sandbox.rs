//! Stand-ins for the channels' APIs: what they share (a record of what was sent and
//! the files it carried, answers to give instead, multipart forms). The WhatsApp
//! Cloud API is in `graph_sandbox.rs`, the Telegram Bot API in `bot_sandbox.rs`.

use crate::server::{self, Request, Response};
use chrono::{DateTime, Utc};
use mail_parser::MimeHeaders;
use serde::Serialize;
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// A message a sandbox accepted, whatever its channel.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OutboxEntry {
    pub id: String,
    pub channel: &'static str,
    /// WhatsApp: phone_number_id; Telegram: the bot's id.
    pub business_id: String,
    /// WhatsApp: +E.164; Telegram: the chat id.
    pub to: String,
    pub text: String,
    /// The message it replies to (Telegram reply_parameters.message_id; email
    /// In-Reply-To).
    pub reply_to: Option<String>,
    pub at: DateTime<Utc>,
    /// Email: the subject and the header fields that thread and mark it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<std::collections::BTreeMap<String, String>>,
    /// The files it carried (`text` is then their caption).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<OutboxFile>,
}

/// A file a sandbox received with a message.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OutboxFile {
    /// As the channel sends it (WhatsApp `image`, Telegram `sendPhoto`...).
    pub kind: String,
    pub filename: Option<String>,
    pub mime_type: Option<String>,
    pub size: usize,
    /// Hex SHA-256 of the bytes received.
    pub sha256: String,
}

impl OutboxFile {
    pub fn of(
        kind: &str,
        filename: Option<String>,
        mime_type: Option<String>,
        bytes: &[u8],
    ) -> Self {
        use sha2::Digest;
        OutboxFile {
            kind: kind.to_string(),
            filename,
            mime_type,
            size: bytes.len(),
            sha256: hex_digest(&sha2::Sha256::digest(bytes)),
        }
    }
}

fn hex_digest(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One field of a `multipart/form-data` request.
#[derive(Debug, Clone)]
pub struct FormField {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

impl FormField {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// The fields of a `multipart/form-data` request (read as the MIME it is), or
/// `None` when it is not one.
pub fn form_fields(req: &Request) -> Option<Vec<FormField>> {
    let content_type = req
        .headers()
        .get("content-type")?
        .to_str()
        .ok()?
        .to_string();
    if !content_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        return None;
    }
    let mut mime = format!("Content-Type: {content_type}\r\n\r\n").into_bytes();
    mime.extend_from_slice(req.body());
    let parsed = mail_parser::MessageParser::default().parse(&mime)?;
    let fields = parsed
        .parts
        .iter()
        .skip(1)
        .filter_map(|part| {
            let disposition = part.content_disposition()?;
            let name = disposition.attribute("name")?.to_string();
            Some(FormField {
                name,
                filename: disposition.attribute("filename").map(str::to_string),
                content_type: part.content_type().map(|c| match c.subtype() {
                    Some(sub) => format!("{}/{}", c.ctype(), sub),
                    None => c.ctype().to_string(),
                }),
                bytes: part.contents().to_vec(),
            })
        })
        .collect();
    Some(fields)
}

/// What every channel sandbox records, and the answers it was told to give.
#[derive(Default)]
pub struct Recorded {
    pub sent: Vec<OutboxEntry>,
    pub failures: VecDeque<(u16, Value)>,
    pub requests: usize,
    /// A rate the channel takes messages at; above it, 429 (benchmarks).
    pub limit: Option<RateLimit>,
    /// How long each call takes (benchmarks).
    pub latency: std::time::Duration,
}

/// A token bucket: `per_second` messages a second, bursts of up to one second's
/// worth; a call above it is answered 429 with `retry_after` seconds.
pub struct RateLimit {
    pub per_second: f64,
    pub retry_after: u64,
    tokens: f64,
    last: std::time::Instant,
    /// Calls answered 429.
    pub refused: usize,
}

impl RateLimit {
    pub fn new(per_second: f64, retry_after: u64) -> Self {
        RateLimit {
            per_second,
            retry_after,
            tokens: per_second,
            last: std::time::Instant::now(),
            refused: 0,
        }
    }

    /// Whether a call now is within the rate (and counts it).
    pub fn admit(&mut self) -> bool {
        let now = std::time::Instant::now();
        let earned = now.duration_since(self.last).as_secs_f64() * self.per_second;
        self.tokens = (self.tokens + earned).min(self.per_second);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return true;
        }
        self.refused += 1;
        false
    }
}

/// A channel's API as a sandbox plays it: what it keeps beyond [`Recorded`], and how
/// it answers a request (`path` relative to the API base).
pub trait ChannelApi: Default + Send + 'static {
    fn handle(&mut self, recorded: &mut Recorded, path: &str, req: &Request) -> Response;

    /// Where the API is served (for URLs it hands out, e.g. media downloads).
    fn set_base(&mut self, _base: &str) {}
}

/// A stand-in for a channel's API: records what was sent (the local stack shows it at
/// `GET /dev/outbox`) and can be told to fail the next calls.
pub struct Sandbox<A> {
    state: Arc<Mutex<(Recorded, A)>>,
}

impl<A> Clone for Sandbox<A> {
    fn clone(&self) -> Self {
        Sandbox {
            state: self.state.clone(),
        }
    }
}

impl<A: ChannelApi> Default for Sandbox<A> {
    fn default() -> Self {
        Sandbox {
            state: Arc::new(Mutex::new((Recorded::default(), A::default()))),
        }
    }
}

impl<A: ChannelApi> Sandbox<A> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Messages accepted so far, oldest first.
    pub fn outbox(&self) -> Vec<OutboxEntry> {
        self.state.lock().unwrap().0.sent.clone()
    }

    /// Requests received, accepted or not.
    pub fn requests(&self) -> usize {
        self.state.lock().unwrap().0.requests
    }

    /// The next call (after those already planned) succeeds as usual: with
    /// [`Sandbox::fail_next`] it makes a later call fail.
    pub fn pass_next(&self) {
        self.state
            .lock()
            .unwrap()
            .0
            .failures
            .push_back((0, Value::Null));
    }

    /// The next call answers `status` with `body` instead of succeeding.
    pub fn fail_next(&self, status: u16, body: Value) {
        self.state
            .lock()
            .unwrap()
            .0
            .failures
            .push_back((status, body));
    }

    /// Takes messages at `per_second` at most; above it answers 429 with
    /// `retry_after`. Each call takes `latency`.
    pub fn limit_rate(&self, per_second: f64, retry_after: u64, latency: std::time::Duration) {
        let mut state = self.state.lock().unwrap();
        state.0.limit = Some(RateLimit::new(per_second, retry_after));
        state.0.latency = latency;
    }

    /// Calls answered 429 by the rate limit.
    pub fn refused(&self) -> usize {
        let state = self.state.lock().unwrap();
        state.0.limit.as_ref().map_or(0, |l| l.refused)
    }

    /// Runs `f` on the channel's own state.
    pub fn with_api<T>(&self, f: impl FnOnce(&mut A) -> T) -> T {
        f(&mut self.state.lock().unwrap().1)
    }

    /// Handles a request whose path, relative to the API base, is `path`.
    pub fn handle(&self, path: &str, req: &Request) -> Response {
        let mut state = self.state.lock().unwrap();
        let (recorded, api) = &mut *state;
        recorded.requests += 1;
        api.handle(recorded, path, req)
    }

    /// Serves the sandbox on its own port; returns the API base URL.
    pub async fn start(&self) -> (String, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind sandbox");
        let base = format!("http://{}", listener.local_addr().unwrap());
        self.with_api(|a| a.set_base(&base));
        let me = self.clone();
        let task = server::serve(listener, move |req: Request| {
            let me = me.clone();
            async move {
                let latency = me.state.lock().unwrap().0.latency;
                if !latency.is_zero() {
                    tokio::time::sleep(latency).await;
                }
                me.handle(req.uri().path(), &req)
            }
        });
        (base, task)
    }
}

pub use crate::graph_sandbox::{GraphApi, GraphSandbox};
