//! Telegram end to end at the handler level: webhook updates into moto, the table's
//! stream into the auto-reply handler, and agent replies out through a local Bot API
//! stand-in.

use agent_reply::Agent;
use asyncdesk::channels::Channels;
use asyncdesk::conversation::{Author, Channel, Content};
use asyncdesk::store::ConversationStore;
use asyncdesk::store::dynamo::DynamoStore;
use asyncdesk_tests::bot_sandbox::BotSandbox;
use asyncdesk_tests::kit::{self, TG_SECRET, TestTable};
use asyncdesk_tests::proxy::CountingProxy;
use chrono::{DateTime, Utc};
use inbound_webhook::Inbound;
use off_hours_auto_reply::AutoReply;
use serde_json::{Value, json};
use std::sync::Arc;

/// Open Mondays 08:00-18:00 UTC only.
const HOURS: &str = r#"{"timezone":"UTC","weekly":{"mon":["08:00-18:00"]},"first_response_minutes":30,
    "auto_reply":{"default":"We're away; we'll reply by {reply_by}."}}"#;

struct Rig {
    table: TestTable,
    bot: BotSandbox,
    inbound: Arc<Inbound<DynamoStore>>,
    agent: Agent<DynamoStore, Channels>,
    auto_reply: AutoReply<DynamoStore, Channels>,
    _task: tokio::task::JoinHandle<()>,
}

async fn rig() -> Rig {
    let table = TestTable::new().await;
    let bot = BotSandbox::new();
    let (base, task) = bot.start().await;
    let channels =
        Channels::default().with(Channel::Telegram, Arc::new(kit::telegram_client(&base)));
    Rig {
        inbound: Arc::new(kit::inbound(table.store.clone())),
        agent: kit::agent(table.store.clone(), channels.clone()),
        auto_reply: kit::auto_reply(table.store.clone(), channels, HOURS, Vec::new()),
        table,
        bot,
        _task: task,
    }
}

/// Tuesday evening: closed.
fn evening() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-24T21:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

impl Rig {
    async fn post(&self, update: &Value, now: DateTime<Utc>) -> (u16, Value) {
        kit::read(
            inbound_webhook::handle(
                &kit::telegram_post(update, Some(TG_SECRET)),
                &self.inbound,
                now,
            )
            .await,
        )
    }

    async fn reply(&self, chat: i64, text: &str) -> (u16, Value) {
        let id = kit::tg_endpoint(chat).conversation_id();
        let req = kit::agent_request(
            "POST",
            &format!("/conversations/{id}/messages"),
            Some(kit::ALICE_KEY),
            Some(json!({ "text": text })),
        );
        kit::read(agent_reply::handle(&req, &self.agent, Utc::now()).await)
    }

    async fn thread(&self, chat: i64) -> asyncdesk::store::Thread {
        let id = kit::tg_endpoint(chat).conversation_id();
        self.table.store.get_thread(&id).await.unwrap().unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn only_the_secret_token_gets_in_and_redeliveries_are_stored_once() {
    let rig = rig().await;
    let now = Utc::now();
    let update = kit::tg_text(100, 408258968, 1, now.timestamp(), "hi there");
    for secret in [None, Some("wrong"), Some("")] {
        let req = kit::telegram_post(&update, secret);
        let (status, err) = kit::read(inbound_webhook::handle(&req, &rig.inbound, now).await);
        assert_eq!(status, 401, "{err}");
    }
    assert!(rig.table.items().await.is_empty(), "nothing stored");
    let (status, receipt) = rig.post(&update, now).await;
    assert_eq!((status, &receipt["stored"]), (200, &json!(1)), "{receipt}");
    assert_eq!(rig.post(&update, now).await.1["duplicates"], 1);

    // Ten copies of a new update at once: exactly one is stored.
    let racing = kit::tg_text(101, 408258968, 2, now.timestamp(), "are you there?");
    let mut copies = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let (inbound, racing) = (rig.inbound.clone(), racing.clone());
        copies.spawn(async move {
            let req = kit::telegram_post(&racing, Some(TG_SECRET));
            kit::read(inbound_webhook::handle(&req, &inbound, now).await)
        });
    }
    let receipts = copies.join_all().await;
    let stored: i64 = receipts
        .iter()
        .map(|(s, r)| {
            assert_eq!(*s, 200, "{r}");
            r["stored"].as_i64().unwrap()
        })
        .sum();
    assert_eq!(stored, 1, "{receipts:?}");
    let thread = rig.thread(408258968).await;
    assert_eq!(thread.messages.len(), 2);
    assert_eq!(thread.conversation.message_count, 2);
    assert_eq!(
        thread.conversation.customer_name.as_deref(),
        Some("Ada Lovelace")
    );
    assert_eq!(
        thread.conversation.customer_username.as_deref(),
        Some("ada")
    );
    assert_eq!(thread.conversation.customer_language.as_deref(), Some("en"));
    assert!(
        !thread.conversation.id.as_str().contains("408258968"),
        "no chat id in the conversation id"
    );
}

#[tokio::test]
async fn one_dynamodb_request_per_inbound_telegram_message() {
    let table = TestTable::new().await;
    let (proxy, _task) = CountingProxy::start(&table.endpoint).await;
    let store = table.store_via(&proxy.endpoint).await;
    let deps = kit::inbound(store);
    let now = Utc::now();
    for (i, update) in [
        kit::tg_text(1, 5001, 1, now.timestamp(), "first"),
        kit::tg_text(2, 5001, 2, now.timestamp(), "second"),
    ]
    .iter()
    .enumerate()
    {
        proxy.reset();
        let resp =
            inbound_webhook::handle(&kit::telegram_post(update, Some(TG_SECRET)), &deps, now).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(
            proxy.operations(),
            [
                "DynamoDB_20120810.GetItem",
                "DynamoDB_20120810.PutItem",
                "DynamoDB_20120810.UpdateItem"
            ],
            "message {i}"
        );
    }
}

#[tokio::test]
async fn off_hours_auto_reply_once_in_a_private_chat_never_to_bots_or_groups() {
    let rig = rig().await;
    let now = evening();
    let ts = now.timestamp();
    let mut from_bot = kit::tg_text(3, 6003, 1, ts, "beep");
    from_bot["message"]["from"]["is_bot"] = json!(true);
    let group = json!({"update_id": 4, "message": {"message_id": 9, "date": ts, "text": "anyone?",
        "chat": {"id": -1001293752024i64, "type": "supergroup", "title": "Customers"},
        "from": {"id": 6004, "is_bot": false, "first_name": "Cy"}}});
    for update in [
        kit::tg_text(1, 6001, 11, ts, "help!"),
        kit::tg_text(2, 6001, 12, ts + 1, "hello??"),
        from_bot,
        group,
    ] {
        assert_eq!(rig.post(&update, now).await.0, 200);
    }
    let event = rig.table.stream_event().await;
    assert_eq!(
        kit::message_records(&event),
        2,
        "the filter passes only the private customer's messages"
    );
    let resp = off_hours_auto_reply::handle_batch(event.clone(), &rig.auto_reply, now).await;
    assert!(resp.batch_item_failures.is_empty());
    // The stream may deliver again.
    off_hours_auto_reply::handle_batch(event, &rig.auto_reply, now).await;
    let outbox = rig.bot.outbox();
    assert_eq!(outbox.len(), 1, "{outbox:?}");
    assert_eq!(outbox[0].to, "6001");
    assert_eq!(outbox[0].business_id, kit::TG_BOT_ID);
    assert_eq!(
        outbox[0].reply_to.as_deref(),
        Some("11"),
        "answers the message"
    );
    assert!(
        outbox[0]
            .text
            .starts_with("We're away; we'll reply by Mon 30 Nov")
    );
    let thread = rig.thread(6001).await;
    let auto = thread
        .messages
        .iter()
        .find(|m| m.author == Author::AutoReply)
        .unwrap();
    assert_eq!(
        auto.provider_message_id.as_deref(),
        Some(format!("6001:{}", outbox[0].id).as_str())
    );
    // Bots and groups: stored, no auto-reply.
    assert_eq!(rig.thread(6003).await.messages.len(), 1);
    let group = rig.thread(-1001293752024).await;
    assert!(group.conversation.group);
    assert_eq!(group.messages.len(), 1);
    assert!(
        !rig.bot
            .tokens()
            .iter()
            .any(|t| !t.starts_with(kit::TG_BOT_ID))
    );
}

#[tokio::test]
async fn agent_replies_answer_the_customers_message_and_long_ones_are_split() {
    let rig = rig().await;
    let now = Utc::now();
    rig.post(
        &kit::tg_text(1, 7001, 41, now.timestamp(), "where is it?"),
        now,
    )
    .await;
    let (status, body) = rig.reply(7001, "On its way.").await;
    assert_eq!(status, 201, "{body}");
    let outbox = rig.bot.outbox();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].reply_to.as_deref(), Some("41"));
    assert_eq!(body["message"]["author"], json!({"agent": "alice"}));
    assert_eq!(
        body["message"]["provider_message_id"],
        format!("7001:{}", outbox[0].id)
    );
    assert_eq!(
        rig.thread(7001).await.conversation.status.as_str(),
        "pending"
    );

    // 2.5 pages of text: split at paragraphs, then sentences, into three messages.
    let paragraph = "This sentence is about forty characters. ".repeat(50);
    let long = format!(
        "{}\n\n{}\n\n{}",
        paragraph.trim(),
        paragraph.trim(),
        paragraph.trim()
    );
    assert!(long.chars().count() > 4096);
    let (status, body) = rig.reply(7001, &long).await;
    assert_eq!(status, 201, "{body}");
    let parts = body["messages"].as_array().unwrap();
    let outbox = rig.bot.outbox();
    assert_eq!(parts.len(), outbox.len() - 1);
    assert!(parts.len() >= 2, "{}", parts.len());
    for (part, sent) in parts.iter().zip(&outbox[1..]) {
        assert!(sent.text.chars().count() <= 4096);
        assert!(sent.text.ends_with('.'), "split at a sentence end");
        assert_eq!(part["provider_message_id"], format!("7001:{}", sent.id));
    }
    assert_eq!(outbox[1].reply_to.as_deref(), Some("41"));
    assert_eq!(outbox[2].reply_to, None, "only the first part quotes");
    let rejoined: Vec<&str> = outbox[1..].iter().map(|e| e.text.as_str()).collect();
    assert_eq!(
        rejoined.join(" ").split_whitespace().collect::<Vec<_>>(),
        long.split_whitespace().collect::<Vec<_>>()
    );
    let stored = rig.thread(7001).await;
    let agent_messages = stored
        .messages
        .iter()
        .filter(|m| matches!(m.author, Author::Agent(_)))
        .count();
    assert_eq!(agent_messages, 1 + parts.len());
}

#[tokio::test]
async fn flood_control_blocked_users_and_moved_groups() {
    let rig = rig().await;
    let now = Utc::now();
    rig.post(&kit::tg_text(1, 8001, 5, now.timestamp(), "hi"), now)
        .await;
    // A short flood wait is honoured inside the send.
    rig.bot.fail_next(
        429,
        json!({"ok":false,"error_code":429,"description":"Too Many Requests: retry after 1","parameters":{"retry_after":1}}),
    );
    let (status, body) = rig.reply(8001, "after a second").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(rig.bot.outbox().len(), 1);
    // A long one is handed back to the agent.
    rig.bot.fail_next(
        429,
        json!({"ok":false,"error_code":429,"description":"Too Many Requests: retry after 35","parameters":{"retry_after":35}}),
    );
    let id = kit::tg_endpoint(8001).conversation_id();
    let req = kit::agent_request(
        "POST",
        &format!("/conversations/{id}/messages"),
        Some(kit::ALICE_KEY),
        Some(json!({"text": "later"})),
    );
    let resp = agent_reply::handle(&req, &rig.agent, now).await;
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "35");

    // A long reply whose second part hits a long flood wait: the first part is out,
    // so the Idempotency-Key keeps this answer and a retry sends nothing again.
    let long = format!("{}\n\n{}", "a".repeat(4000), "b".repeat(300));
    rig.bot.pass_next();
    rig.bot.fail_next(
        429,
        json!({"ok":false,"error_code":429,"description":"Too Many Requests: retry after 35","parameters":{"retry_after":35}}),
    );
    let sent_before = rig.bot.outbox().len();
    let keyed = || {
        let mut req = kit::agent_request(
            "POST",
            &format!("/conversations/{id}/messages"),
            Some(kit::ALICE_KEY),
            Some(json!({"text": long})),
        );
        req.headers_mut()
            .insert("idempotency-key", "partial-1".parse().unwrap());
        req
    };
    let (status, body) = kit::read(agent_reply::handle(&keyed(), &rig.agent, now).await);
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "partially_sent", "{body}");
    assert_eq!(rig.bot.outbox().len(), sent_before + 1, "part 1 went out");
    let requests = rig.bot.requests();
    for _ in 0..3 {
        let (again, replay) = kit::read(agent_reply::handle(&keyed(), &rig.agent, now).await);
        assert_eq!(again, status);
        assert!(
            replay["error"]["details"] == body["error"]["details"]
                && replay["error"]["code"] == "partially_sent",
            "the same answer"
        );
    }
    assert_eq!(rig.bot.requests(), requests, "part 1 is never sent again");

    // The customer blocked the bot: 422, and the conversation knows.
    rig.bot.block(8001);
    let (status, err) = rig.reply(8001, "hello?").await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (422, Some("customer_unreachable")),
        "{err}"
    );
    assert!(rig.thread(8001).await.conversation.blocked);
    let before = rig.bot.requests();
    let (status, _) = rig.reply(8001, "still there?").await;
    assert_eq!(status, 422);
    assert_eq!(rig.bot.requests(), before, "Telegram is not called again");

    // A group that moved to a supergroup: the reply follows it.
    let group = json!({"update_id": 9, "message": {"message_id": 3, "date": now.timestamp(), "text": "help",
        "chat": {"id": -4001, "type": "group", "title": "Old group"},
        "from": {"id": 1, "is_bot": false, "first_name": "A"}}});
    rig.post(&group, now).await;
    rig.bot.migrate(-4001, -1004001);
    let (status, body) = rig.reply(-4001, "answered").await;
    assert_eq!(status, 201, "{body}");
    let last = rig.bot.outbox().pop().unwrap();
    assert_eq!(last.to, "-1004001");
}

#[tokio::test]
async fn buttons_edits_and_blocks_from_the_customer() {
    let rig = rig().await;
    let now = Utc::now();
    let ts = now.timestamp();
    rig.post(&kit::tg_text(1, 9001, 7, ts, "I want a refnud"), now)
        .await;
    // The customer fixes the typo; the edit is redelivered.
    let mut edit = json!({"update_id": 2, "edited_message": kit::tg_text(0, 9001, 7, ts, "I want a refund")["message"].clone()});
    edit["edited_message"]["edit_date"] = json!(ts + 30);
    let (status, receipt) = rig.post(&edit, now).await;
    assert_eq!((status, &receipt["edits"]), (200, &json!(1)));
    rig.post(&edit, now).await;
    let thread = rig.thread(9001).await;
    assert_eq!(thread.messages.len(), 1);
    let m = &thread.messages[0];
    assert_eq!(m.text(), Some("I want a refund"));
    assert_eq!(m.original_text.as_deref(), Some("I want a refnud"));
    assert_eq!(
        m.edits.len(),
        1,
        "the redelivered edit is not applied twice"
    );
    // An edit does not earn an auto-reply: the stream holds only the original.
    assert_eq!(kit::message_records(&rig.table.stream_event().await), 1);

    // A button press: stored as the choice, and answered.
    let press = json!({"update_id": 3, "callback_query": {"id": "cbq-42", "chat_instance": "ci",
        "from": {"id": 9001, "is_bot": false, "first_name": "Ada"}, "data": "refund",
        "message": {"message_id": 8, "date": ts, "chat": {"id": 9001, "type": "private"},
            "reply_markup": {"inline_keyboard": [[{"text": "Money back", "callback_data": "refund"}]]}}}});
    // Answered in the webhook's response: Telegram runs the method it names.
    let (status, answer) = rig.post(&press, now).await;
    assert_eq!(
        (status, answer),
        (
            200,
            json!({"method": "answerCallbackQuery", "callback_query_id": "cbq-42"})
        )
    );
    let requests = rig.bot.requests();
    assert_eq!(rig.post(&press, now).await.0, 200, "a redelivered press");
    assert_eq!(
        rig.bot.requests(),
        requests,
        "the webhook makes no Bot API call"
    );
    let thread = rig.thread(9001).await;
    assert!(thread.messages.iter().any(|m| matches!(&m.content,
        Content::Choice { choice } if choice.title == "Money back")));

    // The customer blocks the bot: the conversation shows it, replies are refused.
    let kicked = json!({"update_id": 4, "my_chat_member": {
        "chat": {"id": 9001, "type": "private", "first_name": "Ada"},
        "from": {"id": 9001, "is_bot": false, "first_name": "Ada"}, "date": ts,
        "old_chat_member": {"user": {"id": 777000, "is_bot": true, "first_name": "bot"}, "status": "member"},
        "new_chat_member": {"user": {"id": 777000, "is_bot": true, "first_name": "bot"}, "status": "kicked", "until_date": 0}}});
    rig.post(&kicked, now).await;
    let thread = rig.thread(9001).await;
    assert!(thread.conversation.blocked);
    let before = rig.bot.requests();
    let (status, err) = rig.reply(9001, "we sent it").await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (422, Some("customer_unreachable"))
    );
    assert_eq!(rig.bot.requests(), before);
    // Other update kinds are acknowledged, never a 5xx.
    let (status, receipt) = rig
        .post(
            &json!({"update_id": 5, "message_reaction": {"chat": {"id": 9001, "type": "private"}}}),
            now,
        )
        .await;
    assert_eq!((status, &receipt["ignored"]), (200, &json!(1)));
    let (status, _) = rig.post(&json!({"not": "an update"}), now).await;
    assert_eq!(status, 400);
}
