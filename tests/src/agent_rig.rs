//! The agent API test rig: a table on moto, the Graph API stand-in, and the agent
//! handler over them with the keys of `alice` ([`KEY`]) and `bob`; customers writing
//! through the WhatsApp parser; requests with a key.

use crate::kit::{self, TestTable};
use crate::sandbox::GraphSandbox;
use agent_reply::{Agent, handle};
use asyncdesk::auth::{AgentKeys, hash_key};
use asyncdesk::channels::{Channels, whatsapp};
use asyncdesk::store::ConversationStore;
use chrono::{Duration, Utc};
use serde_json::json;

pub const KEY: &str = "alice-secret-key";

pub struct Rig {
    pub table: TestTable,
    pub sandbox: GraphSandbox,
    pub deps: Agent<asyncdesk::store::dynamo::DynamoStore, Channels>,
    pub _task: tokio::task::JoinHandle<()>,
}

pub async fn rig() -> Rig {
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

pub async fn customer_writes(rig: &Rig, customer: &str, minutes_ago: i64) -> String {
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

pub async fn call(
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

/// Writes `n` customer messages straight into the table (BatchWriteItem), one a
/// second, each with a `raw` of `raw_bytes`.
pub async fn bulk_messages(rig: &Rig, customer: &str, n: usize, raw_bytes: usize) -> String {
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

pub fn keyed_reply(id: &str, key: &str, body: serde_json::Value) -> lambda_http::Request {
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
