//! Helpers for the integration tests: fresh tables on the shared moto server, signed
//! webhook requests, payload builders and the table's stream as Lambda events.

use crate::template::Template;
use crate::{aws, filter, stream, tools};
use asyncdesk::channels::telegram::{BotToken, TelegramClient, TelegramWebhook};
use asyncdesk::channels::whatsapp::{self, WhatsAppWebhook};
use asyncdesk::channels::{Channels, Webhooks};
use asyncdesk::conversation::{Channel, ConversationId, Endpoint};
use asyncdesk::store::dynamo::DynamoStore;
use aws_lambda_events::event::dynamodb::Event;
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use serde_json::{Value, json};
use std::sync::Arc;

pub const APP_SECRET: &str = "test-app-secret";
pub const VERIFY_TOKEN: &str = "test-verify-token";
pub const PHONE_NUMBER_ID: &str = "106540352242922";
pub const TG_SECRET: &str = "test-telegram-secret";
pub const TG_BOT_ID: &str = "777000";
pub const TG_TOKEN: &str = "777000:test-bot-token";
/// The agent key of the agent `alice` in handler-level tests.
pub const ALICE_KEY: &str = "alice-key";

/// The agent API over `store` and `outbound`, with `alice`'s key ([`ALICE_KEY`]).
pub fn agent<S, O>(store: S, outbound: O) -> agent_reply::Agent<S, O> {
    agent_reply::Agent {
        store,
        outbound,
        keys: asyncdesk::auth::AgentKeys::parse(&format!(
            "alice={}",
            asyncdesk::auth::hash_key(ALICE_KEY)
        ))
        .expect("a valid key list"),
        hours: asyncdesk::hours::BusinessHours::from_json(DEV_HOURS, chrono::Utc::now())
            .expect("valid hours"),
        objects: None,
        media: None,
        upload_limit: asyncdesk::media::MediaLimits::default().max_file_bytes,
        templates: Vec::new(),
        session_secret: None,
    }
}

/// Business hours for handler tests that do not depend on them (Mon-Fri office
/// hours in Europe/Berlin).
pub const DEV_HOURS: &str = r#"{"timezone":"Europe/Berlin","weekly":{"mon":["09:00-17:00"],"tue":["09:00-17:00"],"wed":["09:00-17:00"],"thu":["09:00-17:00"],"fri":["09:00-17:00"]},"first_response_minutes":60,"auto_reply":{"default":"We'll reply by {reply_by}."}}"#;

/// The auto-reply handler over `store` and `outbound` with business hours `hours`
/// (JSON), a 60-minute age limit, a daily cap of 3 and `own_addresses`.
pub fn auto_reply<S, O>(
    store: S,
    outbound: O,
    hours: &str,
    own_addresses: Vec<String>,
) -> off_hours_auto_reply::AutoReply<S, O> {
    off_hours_auto_reply::AutoReply {
        store,
        outbound,
        hours: asyncdesk::hours::BusinessHours::from_json(hours, chrono::Utc::now())
            .expect("valid hours"),
        max_age: chrono::Duration::minutes(60),
        daily_cap: 3,
        hourly_cap: off_hours_auto_reply::HourlyTokens::new(1000),
        own_addresses,
        retries: None,
        continuity: None,
    }
}

/// The conversation id of a WhatsApp customer of the test business number.
pub fn wa_conversation(customer: &str) -> ConversationId {
    wa_endpoint(customer).conversation_id()
}

pub fn wa_endpoint(customer: &str) -> Endpoint {
    Endpoint {
        channel: Channel::Whatsapp,
        business_id: PHONE_NUMBER_ID.into(),
        customer_id: customer.into(),
    }
}

/// The conversation of a Telegram chat with the test bot.
pub fn tg_endpoint(chat: i64) -> Endpoint {
    Endpoint {
        channel: Channel::Telegram,
        business_id: TG_BOT_ID.into(),
        customer_id: chat.to_string(),
    }
}

/// The webhooks of both channels with the test secrets.
pub fn webhooks() -> Webhooks {
    Webhooks::new(vec![
        Arc::new(WhatsAppWebhook::new(APP_SECRET, VERIFY_TOKEN)),
        Arc::new(TelegramWebhook::new(TG_SECRET, TG_BOT_ID)),
    ])
}

/// The inbound handler's dependencies over `store`, both channels enabled.
pub fn inbound<S: asyncdesk::ports::ConversationStore>(store: S) -> inbound_webhook::Inbound<S> {
    inbound_webhook::Inbound {
        store,
        webhooks: webhooks(),
    }
}

/// Senders for WhatsApp (Graph API at `base`, token `token`).
pub fn whatsapp_channels(base: &str, token: &str) -> Channels {
    Channels::default().with(
        Channel::Whatsapp,
        Arc::new(whatsapp::WhatsAppClient::new(
            reqwest::Client::new(),
            base,
            token,
        )),
    )
}

pub fn telegram_client(base: &str) -> TelegramClient {
    TelegramClient::new(
        reqwest::Client::new(),
        base,
        BotToken::parse(TG_TOKEN).expect("test token"),
    )
}

/// A Telegram webhook POST with the secret token header (`secret` = None: without).
pub fn telegram_post(update: &Value, secret: Option<&str>) -> lambda_http::Request {
    let mut b = http::Request::builder()
        .method("POST")
        .uri("/webhooks/telegram")
        .header("content-type", "application/json");
    if let Some(s) = secret {
        b = b.header("x-telegram-bot-api-secret-token", s);
    }
    b.body(lambda_http::Body::Binary(update.to_string().into_bytes()))
        .unwrap()
}

/// A private-chat text update from `chat` (a user named Ada Lovelace).
pub fn tg_text(update_id: i64, chat: i64, message_id: i64, date: i64, text: &str) -> Value {
    json!({"update_id": update_id, "message": {
        "message_id": message_id, "date": date, "text": text,
        "chat": {"id": chat, "type": "private", "first_name": "Ada", "last_name": "Lovelace", "username": "ada"},
        "from": {"id": chat, "is_bot": false, "first_name": "Ada", "last_name": "Lovelace", "username": "ada", "language_code": "en"}}})
}

/// A table made from the template on the shared moto server.
pub struct TestTable {
    pub name: String,
    pub endpoint: String,
    pub client: aws_sdk_dynamodb::Client,
    pub store: DynamoStore,
}

impl TestTable {
    pub async fn new() -> Self {
        Self::on(tools::shared_endpoint()).await
    }

    /// A fresh table on the server at `endpoint` (e.g. a counting proxy in front of moto).
    pub async fn on(endpoint: &str) -> Self {
        let name = format!("asyncdesk-test-{}", uuid::Uuid::new_v4().simple());
        let sdk = aws::local_config(endpoint).await;
        let client = aws_sdk_dynamodb::Client::new(&sdk);
        let def = Template::load()
            .expect("template loads")
            .table()
            .expect("template has the table");
        aws::create_table(&client, &name, &def)
            .await
            .expect("create table");
        let store = DynamoStore::new(client.clone(), &name);
        TestTable {
            name,
            endpoint: endpoint.to_string(),
            client,
            store,
        }
    }

    /// The same table seen through another endpoint (e.g. a counting proxy).
    pub async fn store_via(&self, endpoint: &str) -> DynamoStore {
        let sdk = aws::local_config(endpoint).await;
        DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), &self.name)
    }

    /// Every item in the table (a Scan, 1 MB a page; tests only).
    pub async fn items(
        &self,
    ) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        let mut all = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.name)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .expect("scan");
            all.extend(out.items().iter().cloned());
            match out.last_evaluated_key {
                Some(k) => start = Some(k),
                None => return all,
            }
        }
    }

    /// The items of one `item_type`.
    pub async fn items_of(
        &self,
        item_type: &str,
    ) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        self.items()
            .await
            .into_iter()
            .filter(|i| {
                i.get("item_type")
                    .and_then(|v| v.as_s().ok())
                    .map(String::as_str)
                    == Some(item_type)
            })
            .collect()
    }

    /// Every message in the table, in the order they were stored.
    pub async fn messages(&self) -> Vec<asyncdesk::conversation::Message> {
        let mut all: Vec<asyncdesk::conversation::Message> = self
            .items_of(asyncdesk::store::items::TYPE_MESSAGE)
            .await
            .into_iter()
            .map(|i| {
                asyncdesk::store::items::from_item::<_, asyncdesk::store::items::MessageItem>(i)
                    .expect("a message item")
                    .message
            })
            .collect();
        all.sort_by_key(|m| m.stored_at);
        all
    }

    /// The `item_type`s in the table, sorted.
    pub async fn item_types(&self) -> Vec<String> {
        let mut types: Vec<String> = self
            .items()
            .await
            .iter()
            .map(|i| {
                i.get("item_type")
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default()
            })
            .collect();
        types.sort();
        types
    }

    /// All stream records written so far, in the Lambda event shape, filtered by the
    /// template's FilterCriteria exactly as the auto-reply's event source mapping would.
    pub async fn stream_event(&self) -> Event {
        self.stream_event_of("OffHoursAutoReplyFunction").await
    }

    /// The same, through the mapping of `function`.
    pub async fn stream_event_of(&self, function: &str) -> Event {
        let sdk = aws::local_config(&self.endpoint).await;
        let streams = aws_sdk_dynamodbstreams::Client::new(&sdk);
        let arn = self
            .client
            .describe_table()
            .table_name(&self.name)
            .send()
            .await
            .unwrap()
            .table()
            .and_then(|t| t.latest_stream_arn())
            .unwrap()
            .to_string();
        let (_, patterns) = Template::load()
            .unwrap()
            .stream_consumer_of(function)
            .unwrap();
        let desc = streams
            .describe_stream()
            .stream_arn(&arn)
            .send()
            .await
            .unwrap();
        let mut records = Vec::new();
        for shard in desc.stream_description().unwrap().shards() {
            let mut it = streams
                .get_shard_iterator()
                .stream_arn(&arn)
                .shard_id(shard.shard_id().unwrap())
                .shard_iterator_type(ShardIteratorType::TrimHorizon)
                .send()
                .await
                .unwrap()
                .shard_iterator()
                .map(str::to_string);
            while let Some(i) = it {
                let out = streams
                    .get_records()
                    .shard_iterator(&i)
                    .send()
                    .await
                    .unwrap();
                if out.records().is_empty() {
                    break;
                }
                records.extend(out.records().iter().map(|r| stream::record_json(r, &arn)));
                it = out.next_shard_iterator().map(str::to_string);
            }
        }
        let records: Vec<Value> = records
            .into_iter()
            .filter(|r| filter::passes(&patterns, r))
            .collect();
        serde_json::from_value(json!({ "Records": records })).expect("Lambda event shape")
    }
}

/// How many of a stream event's records are messages (the rest are conversation
/// changes, for the reports' waits).
pub fn message_records(event: &Event) -> usize {
    event
        .records
        .iter()
        .filter(|r| {
            matches!(r.change.new_image.get("item_type"),
                Some(serde_dynamo::AttributeValue::S(t)) if t == "message")
        })
        .count()
}

/// The event with its message records only (what the auto-reply's budget counts).
pub fn messages_only(mut event: Event) -> Event {
    event.records.retain(|r| {
        matches!(r.change.new_image.get("item_type"),
            Some(serde_dynamo::AttributeValue::S(t)) if t == "message")
    });
    event
}

/// A store whose DynamoDB endpoint refuses connections (an outage).
pub async fn unreachable_store() -> DynamoStore {
    let sdk = aws::local_config(&format!("http://127.0.0.1:{}", tools::free_port())).await;
    DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), "asyncdesk-unreachable")
}

/// A WhatsApp webhook body with `messages` and `statuses` for one customer.
pub fn webhook(customer: &str, name: &str, messages: Value, statuses: Value) -> Vec<u8> {
    json!({"object":"whatsapp_business_account","entry":[{"id":"WABA-1","changes":[{"field":"messages","value":{
        "messaging_product":"whatsapp",
        "metadata":{"display_phone_number":"15550783881","phone_number_id":PHONE_NUMBER_ID},
        "contacts":[{"profile":{"name":name},"wa_id":customer}],
        "messages":messages,"statuses":statuses}}]}]})
    .to_string()
    .into_bytes()
}

/// A webhook carrying one text message from `customer` (named "Ada") at unix time `ts`.
pub fn text_webhook(customer: &str, id: &str, ts: i64, body: &str) -> Vec<u8> {
    webhook(
        customer,
        "Ada",
        json!([text_message(customer, id, ts, body)]),
        json!([]),
    )
}

/// A text message object sent by `customer` at unix time `ts`.
pub fn text_message(customer: &str, id: &str, ts: i64, body: &str) -> Value {
    json!({"from":customer,"id":id,"timestamp":ts.to_string(),"type":"text","text":{"body":body}})
}

/// A POST as API Gateway's HTTP API delivers it to the function, signed with `secret`.
pub fn signed_post(path: &str, body: &[u8], secret: &str) -> lambda_http::Request {
    http::Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/json")
        .header(
            "x-hub-signature-256",
            whatsapp::verify::sign(secret.as_bytes(), body),
        )
        .body(lambda_http::Body::Binary(body.to_vec()))
        .unwrap()
}

/// A request with a bearer key and optional JSON body.
pub fn agent_request(
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> lambda_http::Request {
    let mut b = http::Request::builder().method(method).uri(path);
    if let Some(k) = key {
        b = b.header("authorization", format!("Bearer {k}"));
    }
    let body = match body {
        Some(v) => lambda_http::Body::Text(v.to_string()),
        None => lambda_http::Body::Empty,
    };
    b.body(body).unwrap()
}

/// Status and JSON body of a handler response.
pub fn read(resp: lambda_http::Response<lambda_http::Body>) -> (u16, Value) {
    let status = resp.status().as_u16();
    let body = serde_json::from_slice(resp.body().as_ref()).unwrap_or(Value::Null);
    (status, body)
}

/// Business hours that are closed now (open one hour, two days from today), with
/// `auto_reply` as the template of the auto-reply.
pub fn closed_now_hours(auto_reply: &str) -> String {
    use chrono::Datelike;
    let day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        [(chrono::Utc::now().weekday().num_days_from_monday() as usize + 2) % 7];
    json!({"timezone": "UTC", "weekly": {day: ["09:00-10:00"]}, "first_response_minutes": 45,
        "auto_reply": {"default": auto_reply}})
    .to_string()
}

/// What the local stack's channel sandboxes sent (`GET /dev/outbox`).
pub async fn outbox(http: &reqwest::Client, base: &str) -> Vec<Value> {
    let v: Value = http
        .get(format!("{base}/dev/outbox"))
        .send()
        .await
        .expect("the stack answers")
        .json()
        .await
        .expect("JSON");
    v["messages"].as_array().cloned().unwrap_or_default()
}
