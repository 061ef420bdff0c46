//! Benchmark (not a test): a burst of off-hours customers through the table's real
//! stream (moto) into the auto-reply handler, against a Telegram stand-in, with the
//! retry queue on moto's SQS fed back as Lambda would. Three runs:
//! 1. each send taking 1 s, as the function ran before (one record at a time per
//!    shard) and as it runs now (batches of 100, 10 at once per shard, 32 customers
//!    at once each): the speed-up (moto serves one request at a time, ~60 a second,
//!    which bounds the second);
//! 2. the channel taking RATE messages a second and answering 429 (retry after 6 s,
//!    beyond what a send waits itself) above it: every customer's auto-reply
//!    exactly once, none doubled, all before their promise, and the throughput;
//! 3. the model of a deployed shard from the requests counted per auto-reply.
//!
//!     cargo run -p asyncdesk-tests --bin asyncdesk-bench-autoreply [-- CUSTOMERS [RATE]]

use asyncdesk::channels::Channels;
use asyncdesk::conversation::{Author, Channel, DeliveryState};
use asyncdesk::ports::ConversationStore;
use asyncdesk_tests::bot_sandbox::BotSandbox;
use asyncdesk_tests::kit::{self, TestTable};
use asyncdesk_tests::proxy::CountingProxy;
use asyncdesk_tests::retry_queue::{self, LocalQueue};
use aws_lambda_events::event::dynamodb::Event;
use chrono::{Datelike, Duration, Utc};
use std::sync::Arc;
use std::time::Instant;

/// Stream shards the burst is spread over (a table this busy has several).
const SHARDS: usize = 4;
/// Batches a shard runs at once now (the mapping's ParallelizationFactor).
const PARALLEL: usize = 10;
const BATCH: usize = 100;

struct Run {
    seconds: f64,
    replied: usize,
    doubled: usize,
    refused: usize,
    late: usize,
    failed: usize,
    requests: usize,
}

async fn run(customers: usize, rate: Option<f64>, latency_ms: u64, concurrent: bool) -> Run {
    let table = TestTable::new().await;
    let (proxy, _proxy_task) = CountingProxy::start(&table.endpoint).await;
    let bot = BotSandbox::new();
    let (base, _task) = bot.start().await;
    bot.limit_rate(
        rate.unwrap_or(1e9),
        6,
        std::time::Duration::from_millis(latency_ms),
    );
    let channels =
        Channels::default().with(Channel::Telegram, Arc::new(kit::telegram_client(&base)));
    // Closed now; open one hour, three days from now.
    let now = Utc::now();
    let day = (now + Duration::days(3))
        .weekday()
        .to_string()
        .to_lowercase();
    let hours = format!(
        r#"{{"timezone":"UTC","weekly":{{"{day}":["08:00-09:00"]}},"first_response_minutes":30,
        "auto_reply":{{"default":"We're away; we'll reply by {{reply_by}}."}}}}"#
    );
    let name = format!("asyncdesk-bench-{}", uuid::Uuid::new_v4().simple());
    let queue = LocalQueue::create(&table.endpoint, &name).await.unwrap();
    let deps = Arc::new(
        kit::auto_reply(
            table.store_via(&proxy.endpoint).await,
            channels,
            &hours,
            Vec::new(),
        )
        .with_retries(Arc::new(queue.adapter(&table.endpoint).await)),
    );
    let inbound = Arc::new(kit::inbound(table.store.clone()));
    for i in 0..customers {
        let update = kit::tg_text(
            i as i64 + 1,
            800_000 + i as i64,
            1,
            now.timestamp(),
            "help!",
        );
        let (status, _) = kit::read(
            inbound_webhook::handle(
                &kit::telegram_post(&update, Some(kit::TG_SECRET)),
                &inbound,
                now,
            )
            .await,
        );
        assert_eq!(status, 200);
    }
    drop(inbound);
    let records = table.stream_event().await.records;
    assert_eq!(records.len(), customers);
    let feeder = {
        let deps = deps.clone();
        tokio::spawn(retry_queue::feed(queue, move |event| {
            let deps = deps.clone();
            async move { off_hours_auto_reply::handle_retries(event, &deps, Utc::now()).await }
        }))
    };
    proxy.reset();
    let start = Instant::now();
    // The records of each shard, in order.
    let mut shards: Vec<Vec<_>> = vec![Vec::new(); SHARDS];
    for (i, r) in records.into_iter().enumerate() {
        shards[i % SHARDS].push(r);
    }
    let mut tasks = Vec::new();
    for shard in shards {
        let deps = deps.clone();
        tasks.push(tokio::spawn(async move {
            if concurrent {
                let batches: Vec<Vec<_>> = shard.chunks(BATCH).map(|c| c.to_vec()).collect();
                for wave in batches.chunks(PARALLEL) {
                    let mut running = Vec::new();
                    for batch in wave {
                        let deps = deps.clone();
                        let mut event = Event::default();
                        event.records = batch.clone();
                        running.push(tokio::spawn(async move {
                            off_hours_auto_reply::handle_batch(event, &deps, Utc::now()).await
                        }));
                    }
                    for r in running {
                        r.await.unwrap();
                    }
                }
            } else {
                for record in shard {
                    let _ = off_hours_auto_reply::handle_record(record, &deps, Utc::now()).await;
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    // The retry queue finishes what the channel refused.
    let deadline = Instant::now() + std::time::Duration::from_secs(600);
    while bot.outbox().len() < customers && Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let seconds = start.elapsed().as_secs_f64();
    feeder.abort();
    let requests = proxy.operations().len();
    let outbox = bot.outbox();
    let mut to: Vec<&str> = outbox.iter().map(|o| o.to.as_str()).collect();
    to.sort();
    to.dedup();
    // Every auto-reply in the threads: accepted, before its promise.
    let (mut late, mut failed) = (0, 0);
    for i in 0..customers {
        let id = kit::tg_endpoint(800_000 + i as i64).conversation_id();
        let thread = table.store.get_thread(&id).await.unwrap().unwrap();
        for m in thread
            .messages
            .iter()
            .filter(|m| m.author == Author::AutoReply)
        {
            if m.delivery.as_ref().map(|d| d.state) != Some(DeliveryState::Accepted) {
                failed += 1;
            }
            let at = m.delivery.as_ref().map(|d| d.at).unwrap_or(m.sent_at);
            if m.promised_reply_by.is_none_or(|p| Utc::now().max(at) >= p) {
                late += 1;
            }
        }
    }
    Run {
        seconds,
        replied: to.len(),
        doubled: outbox.len() - to.len(),
        refused: bot.refused(),
        late,
        failed,
        requests,
    }
}

fn report(label: &str, customers: usize, r: &Run) -> f64 {
    let per_second = r.replied as f64 / r.seconds;
    println!(
        "{label}: {} of {customers} customers auto-replied exactly once, {} doubled, {} not accepted, {} after their promise; the channel answered {} x 429; {} table requests ({:.1} per auto-reply); {:.1} s, {per_second:.1} auto-replies/s",
        r.replied,
        r.doubled,
        r.failed,
        r.late,
        r.refused,
        r.requests,
        r.requests as f64 / customers as f64,
        r.seconds
    );
    assert_eq!(r.replied, customers, "every customer gets one");
    assert_eq!((r.doubled, r.late, r.failed), (0, 0, 0));
    per_second
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let customers: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(100);
    let rate: f64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(5.0);
    println!("{customers} off-hours customers at once, over {SHARDS} stream shards");
    let before = run(customers, None, 1000, false).await;
    let b = report(
        "1. sends of 1 s, one record at a time per shard (before)",
        customers,
        &before,
    );
    let now = run(customers, None, 1000, true).await;
    let n = report(
        "1. sends of 1 s, batches of 100, 10 per shard at once, 32 customers each (now)",
        customers,
        &now,
    );
    println!(
        "1. speed-up: {:.1}x (bounded here by moto, one request at a time)",
        n / b
    );
    let limited = run(customers, Some(rate), 50, true).await;
    report(
        &format!("2. the channel takes {rate}/s and answers 429 above it (retry after 6 s)"),
        customers,
        &limited,
    );
    // A deployed shard: DynamoDB answers in ~5 ms, a channel's API in ~300 ms.
    let per_reply = now.requests as f64 / customers as f64;
    let latency = per_reply * 0.005 + 0.3;
    let before_model = SHARDS as f64 / latency;
    let now_model = (SHARDS * PARALLEL * off_hours_auto_reply::CONCURRENCY) as f64 / latency;
    println!(
        "3. model, {SHARDS} shards, {per_reply:.1} requests of 5 ms and a send of 300 ms per auto-reply: before {before_model:.0}/s, now {now_model:.0}/s ({:.0}x), then the channels' own rates",
        now_model / before_model
    );
}
