//! Auto-replies under rate limits: a channel's 429 leaves the customer's claim
//! waiting and puts the next attempt on the retry queue (SQS on moto, with the
//! channel's `retry_after` as the delay); the retry sends once, within the promise;
//! a send that died midway is never sent again; a batch runs its customers at once;
//! an auto-reply costs two writes (counted by the proxy).

use asyncdesk::autoreply::{Claim, Stage};
use asyncdesk::channels::Channels;
use asyncdesk::conversation::{Author, Channel, DeliveryState};
use asyncdesk::ports::{AutoReplyClaims, ConversationStore, MessageKey, MessageRetry};
use asyncdesk::store::dynamo::DynamoStore;
use asyncdesk_tests::bot_sandbox::BotSandbox;
use asyncdesk_tests::kit::{self, TestTable};
use asyncdesk_tests::proxy::CountingProxy;
use asyncdesk_tests::retry_queue::LocalQueue;
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use chrono::{DateTime, Duration, Utc};
use off_hours_auto_reply::{AutoReply, Outcome, handle_batch, handle_retries};
use serde_json::{Value, json};
use std::sync::Arc;

/// Open Mondays 08:00-18:00 UTC only; the promise is Monday 08:30.
const HOURS: &str = r#"{"timezone":"UTC","weekly":{"mon":["08:00-18:00"]},"first_response_minutes":30,
    "auto_reply":{"default":"We're away; we'll reply by {reply_by}."}}"#;

/// Tuesday evening: closed until Monday 08:00.
fn evening() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-24T21:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn promise() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-30T08:30:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

struct Rig {
    table: TestTable,
    bot: BotSandbox,
    queue: LocalQueue,
    deps: AutoReply<DynamoStore, Channels>,
    _task: tokio::task::JoinHandle<()>,
}

async fn rig() -> Rig {
    let table = TestTable::new().await;
    rig_on(table, None).await
}

/// The rig, with the store seen through `via` (a counting proxy) when given.
async fn rig_on(table: TestTable, via: Option<&str>) -> Rig {
    let bot = BotSandbox::new();
    let (base, task) = bot.start().await;
    let channels =
        Channels::default().with(Channel::Telegram, Arc::new(kit::telegram_client(&base)));
    let name = format!("asyncdesk-retries-{}", uuid::Uuid::new_v4().simple());
    let queue = LocalQueue::create(&table.endpoint, &name).await.unwrap();
    let store = match via {
        Some(endpoint) => table.store_via(endpoint).await,
        None => table.store.clone(),
    };
    let deps = kit::auto_reply(store, channels, HOURS, Vec::new())
        .with_retries(Arc::new(queue.adapter(&table.endpoint).await));
    Rig {
        table,
        bot,
        queue,
        deps,
        _task: task,
    }
}

impl Rig {
    /// Customer `chat` writes `text` at `at`; the message is stored as the webhook
    /// stores it.
    async fn customer_writes(&self, update: i64, chat: i64, at: DateTime<Utc>) {
        let update = kit::tg_text(update, chat, update, at.timestamp(), "help!");
        let inbound = kit::inbound(self.table.store.clone());
        let (status, _) = kit::read(
            inbound_webhook::handle(
                &kit::telegram_post(&update, Some(kit::TG_SECRET)),
                &Arc::new(inbound),
                at,
            )
            .await,
        );
        assert_eq!(status, 200);
    }

    fn flood_control(&self, secs: u64) {
        self.bot.fail_next(
            429,
            json!({"ok":false,"error_code":429,"description":format!("Too Many Requests: retry after {secs}"),"parameters":{"retry_after":secs}}),
        );
    }

    async fn auto_replies(&self, chat: i64) -> Vec<asyncdesk::conversation::Message> {
        let id = kit::tg_endpoint(chat).conversation_id();
        let thread = self.table.store.get_thread(&id).await.unwrap().unwrap();
        thread
            .messages
            .into_iter()
            .filter(|m| m.author == Author::AutoReply)
            .collect()
    }

    async fn claim(&self, chat: i64) -> Claim {
        let customer = kit::tg_endpoint(chat).conversation_id();
        self.table
            .store
            .read_claim(&customer)
            .await
            .unwrap()
            .unwrap()
    }
}

/// The retry queue's event for `retry`, as Lambda hands it over.
fn sqs_event(retry: &MessageRetry) -> SqsEvent {
    let mut record = SqsMessage::default();
    record.message_id = Some(uuid::Uuid::new_v4().to_string());
    record.body = Some(serde_json::to_string(retry).unwrap());
    record.event_source = Some("aws:sqs".into());
    let mut event = SqsEvent::default();
    event.records = vec![record];
    event
}

#[tokio::test]
async fn a_429_waits_on_the_queue_for_retry_after_and_is_sent_once() {
    let rig = rig().await;
    let now = evening();
    rig.customer_writes(1, 7001, now).await;
    let event = rig.table.stream_event().await;
    // Telegram's flood control asks for 6 s: longer than a send waits in itself.
    rig.flood_control(6);
    let resp = handle_batch(event.clone(), &rig.deps, now).await;
    assert!(
        resp.batch_item_failures.is_empty(),
        "the queue has it, not the stream"
    );
    assert!(rig.bot.outbox().is_empty());
    let claim = rig.claim(7001).await;
    assert_eq!((claim.stage, claim.attempts), (Stage::Waiting, 1));
    assert_eq!(
        rig.queue.counts().await.unwrap(),
        (1, 0),
        "delayed, not yet due"
    );
    assert!(rig.queue.receive().await.unwrap().records.is_empty());

    // Due after the channel's 6 seconds.
    let mut retry = SqsEvent::default();
    for _ in 0..40 {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        retry = rig.queue.receive().await.unwrap();
        if !retry.records.is_empty() {
            break;
        }
    }
    assert_eq!(retry.records.len(), 1, "the retry came due");
    let body: Value = serde_json::from_str(retry.records[0].body.as_deref().unwrap()).unwrap();
    assert_eq!(body["attempts"], 1);
    assert!(
        !body.to_string().contains("help!") && !body.to_string().contains("7001\""),
        "the queue carries the message's key, not its text: {body}"
    );
    let later = now + Duration::seconds(7);
    let resp = handle_retries(retry.clone(), &rig.deps, later).await;
    assert!(resp.batch_item_failures.is_empty());
    rig.queue.settle(&retry, &resp).await.unwrap();
    assert_eq!(rig.bot.outbox().len(), 1);
    // The queue hands it over again, and the stream delivers the record again:
    // nothing more goes out.
    handle_retries(retry, &rig.deps, later).await;
    handle_batch(event, &rig.deps, later).await;
    assert_eq!(rig.bot.outbox().len(), 1, "zero doubled");
    let replies = rig.auto_replies(7001).await;
    assert_eq!(replies.len(), 1);
    assert_eq!(
        replies[0].delivery.as_ref().unwrap().state,
        DeliveryState::Accepted
    );
    assert_eq!(replies[0].promised_reply_by, Some(promise()));
    assert_eq!(rig.queue.counts().await.unwrap(), (0, 0));
}

#[tokio::test]
async fn a_retry_that_would_arrive_after_the_promise_is_given_up() {
    let rig = rig().await;
    let now = evening();
    rig.customer_writes(1, 7002, now).await;
    let event = rig.table.stream_event().await;
    let message = off_hours_auto_reply_message(&event);
    rig.flood_control(60);
    assert_eq!(
        off_hours_auto_reply::handle_record(event.records[0].clone(), &rig.deps, now)
            .await
            .unwrap(),
        Outcome::Retrying { delay_secs: 60 }
    );
    // The next attempt, 30 s before the promise, is refused again for a minute:
    // any later and the auto-reply would promise a time already past.
    rig.flood_control(60);
    let late = promise() - Duration::seconds(30);
    let retry = MessageRetry {
        message: MessageKey::of(&message),
        attempts: 1,
    };
    let resp = handle_retries(sqs_event(&retry), &rig.deps, late).await;
    assert!(resp.batch_item_failures.is_empty());
    assert!(rig.bot.outbox().is_empty());
    let replies = rig.auto_replies(7002).await;
    assert_eq!(replies.len(), 1, "the attempt is in the thread");
    assert_eq!(
        replies[0].delivery.as_ref().unwrap().state,
        DeliveryState::Failed
    );
    // Nothing more is queued than the first retry.
    assert_eq!(rig.queue.counts().await.unwrap().0, 1);
}

fn off_hours_auto_reply_message(
    event: &aws_lambda_events::event::dynamodb::Event,
) -> asyncdesk::conversation::Message {
    asyncdesk::store::items::message_from_image(event.records[0].change.new_image.clone())
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn a_send_that_died_midway_is_recorded_as_unconfirmed_and_never_sent_again() {
    let rig = rig().await;
    let now = evening();
    rig.customer_writes(1, 7003, now).await;
    let event = rig.table.stream_event().await;
    let message = off_hours_auto_reply_message(&event);
    // An earlier attempt claimed, began the send, and ended (a timeout, a crash)
    // before it recorded anything.
    let customer = kit::tg_endpoint(7003).conversation_id();
    let claim = Claim {
        period: "2026-11-30T08:00Z".into(),
        answers: message.id.clone(),
        reply_id: "out-died".into(),
        reply_at: now,
        stage: Stage::Sending,
        attempts: 0,
        recent: vec![now],
        rev: 0,
    };
    rig.table
        .store
        .write_claim(&customer, &claim, None, None, now + Duration::days(8))
        .await
        .unwrap();
    let resp = handle_batch(event, &rig.deps, now).await;
    assert!(resp.batch_item_failures.is_empty());
    assert!(rig.bot.outbox().is_empty(), "at most once");
    let replies = rig.auto_replies(7003).await;
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].id, "out-died");
    assert_eq!(
        replies[0].delivery.as_ref().unwrap().state,
        DeliveryState::Unconfirmed
    );
}

#[tokio::test]
async fn a_batch_of_many_customers_gets_one_auto_reply_each_and_costs_two_writes_each() {
    let table = TestTable::new().await;
    let (proxy, _task) = CountingProxy::start(&table.endpoint).await;
    let rig = rig_on(table, Some(&proxy.endpoint)).await;
    let now = evening();
    let customers: Vec<i64> = (0..40).map(|i| 7100 + i).collect();
    for (i, chat) in customers.iter().enumerate() {
        rig.customer_writes(i as i64 + 1, *chat, now).await;
        // A second message of the same customer, in the same batch.
        rig.customer_writes(i as i64 + 1001, *chat, now + Duration::seconds(1))
            .await;
    }
    // The messages (the conversations' changes record the reports' waits, counted in
    // reports_budget.rs).
    let event = kit::messages_only(rig.table.stream_event().await);
    assert_eq!(event.records.len(), 80);
    proxy.reset();
    let resp = handle_batch(event.clone(), &rig.deps, now + Duration::seconds(2)).await;
    assert!(resp.batch_item_failures.is_empty());
    let outbox = rig.bot.outbox();
    assert_eq!(outbox.len(), 40, "one each");
    let mut to: Vec<String> = outbox.iter().map(|o| o.to.clone()).collect();
    to.sort();
    to.dedup();
    assert_eq!(to.len(), 40, "none doubled");
    let ops = proxy.operations();
    let writes = |name: &str| ops.iter().filter(|o| o.ends_with(name)).count();
    // Per customer: the first message counts its minute, claims and records its
    // outcome; the second counts its minute and finds the period taken. The claims
    // take the hour's count in blocks of 10.
    let claims_and_outcomes = writes(".PutItem") + writes(".TransactWriteItems");
    println!(
        "80 messages, 40 auto-replies: {} GetItem, {} UpdateItem, {} PutItem, {} TransactWriteItems",
        writes(".GetItem"),
        writes(".UpdateItem"),
        writes(".PutItem"),
        writes(".TransactWriteItems")
    );
    assert_eq!(writes(".UpdateItem"), 80, "the per-minute counts");
    assert_eq!(writes(".DeleteItem"), 0);
    assert!(
        claims_and_outcomes <= 2 * 40,
        "{claims_and_outcomes} claim and outcome writes for 40 auto-replies"
    );
    // Redelivered: no write at all, nothing sent.
    proxy.reset();
    handle_batch(event, &rig.deps, now + Duration::seconds(3)).await;
    assert_eq!(rig.bot.outbox().len(), 40);
    let ops = proxy.operations();
    let written = ops
        .iter()
        .filter(|o| {
            [".PutItem", ".TransactWriteItems", ".DeleteItem"]
                .iter()
                .any(|w| o.ends_with(w))
        })
        .count();
    assert_eq!(written, 0, "{ops:?}");
}
