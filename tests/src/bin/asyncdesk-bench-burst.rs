//! Benchmark (not a test): a burst of new WhatsApp conversations at twice what the
//! queue index can take, through the webhook handler, with DynamoDB's capacity rules
//! and throttling charged by the test proxy (each partition key's budget scaled down
//! to BUDGET write units a second), and the platform retrying each 5xx as Meta does
//! (again after 1 s, 2 s, 4 s, ... at most 8 s; every 10th delivery also sent twice).
//! Run twice: with the index keys as stored (SHARDS partitions per status) and as if
//! unsharded (every shard drawing from one budget). Prints, for each: every distinct
//! message stored exactly once, `message_count` right, no message without its
//! conversation's part, the
//! accepted rate against the budget, requests per stored message.
//!
//!     cargo run -p asyncdesk-tests --bin asyncdesk-bench-burst [-- CONVERSATIONS [BUDGET]]

use asyncdesk::lifecycle::keys::SHARDS;
use asyncdesk::ports::ConversationStore;
use asyncdesk_tests::capacity::Capacity;
use asyncdesk_tests::kit::{self, TestTable};
use asyncdesk_tests::proxy::CountingProxy;
use chrono::Utc;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// `open#n#w#3` -> `open#n#w`: every shard of a status draws from one budget.
fn unsharded(pk: &str) -> String {
    match pk.rsplit_once('#') {
        Some((head, tail)) if tail.parse::<u32>().is_ok() => head.to_string(),
        _ => pk.to_string(),
    }
}

struct Outcome {
    stored: usize,
    seconds: f64,
    deliveries: usize,
    requests: usize,
    throttled: u64,
    checks: Vec<(&'static str, bool)>,
}

async fn run(conversations: usize, budget: f64, sharded: bool) -> Outcome {
    let table = TestTable::new().await;
    let mut capacity = Capacity::from_template(budget);
    if !sharded {
        capacity.bucket_of = unsharded;
    }
    let (proxy, _task) = CountingProxy::start_charging(&table.endpoint, capacity).await;
    let deps = Arc::new(kit::inbound(table.store_via(&proxy.endpoint).await));
    // Offered: twice the sharded index budget (one index write per new conversation).
    let offered = 2.0 * budget * f64::from(SHARDS);
    let deliveries = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..conversations {
        let deps = deps.clone();
        let deliveries = deliveries.clone();
        let customer = format!("49{:09}", 100_000 + i);
        let body = kit::webhook(
            &customer,
            "Ada",
            json!([kit::text_message(
                &customer,
                &format!("wamid.burst{i}"),
                Utc::now().timestamp(),
                "hello?"
            )]),
            json!([]),
        );
        let at = Duration::from_secs_f64(i as f64 / offered);
        let twice = i % 10 == 0;
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(at).await;
            let mut delays = [1u64, 2, 4, 8].into_iter().chain(std::iter::repeat(8));
            let mut first_ok = None;
            for copy in 0..(1 + usize::from(twice)) {
                loop {
                    deliveries.fetch_add(1, Ordering::Relaxed);
                    let req = kit::signed_post("/webhooks/whatsapp", &body, kit::APP_SECRET);
                    let status = inbound_webhook::handle(&req, deps.as_ref(), Utc::now())
                        .await
                        .status();
                    if status == 200 {
                        if copy == 0 {
                            first_ok = Some(Instant::now());
                        }
                        break;
                    }
                    assert!(
                        status.is_server_error(),
                        "only a transient failure: {status}"
                    );
                    tokio::time::sleep(Duration::from_secs(delays.next().unwrap())).await;
                }
            }
            first_ok.expect("stored")
        }));
    }
    let mut done = Vec::new();
    for t in tasks {
        done.push(t.await.expect("delivery"));
    }
    let last = done.iter().max().copied().unwrap_or(start);
    let seconds = last.duration_since(start).as_secs_f64();
    let messages = table.items_of("message").await.len();
    let conversation_items = table.items_of("conversation").await;
    let counts_right = conversation_items.iter().all(|i| {
        i.get("message_count")
            .and_then(|v| v.as_n().ok())
            .map(String::as_str)
            == Some("1")
    });
    let store = &table.store;
    let sample = kit::wa_conversation(&format!("49{:09}", 100_000));
    let sample_ok = store
        .get_conversation(&sample)
        .await
        .ok()
        .flatten()
        .is_some();
    Outcome {
        stored: messages,
        seconds,
        deliveries: deliveries.load(Ordering::Relaxed),
        requests: proxy.operations().len(),
        throttled: proxy.totals().throttled,
        checks: vec![
            (
                "every distinct message stored once",
                messages == conversations,
            ),
            (
                "one conversation each, message_count right",
                conversation_items.len() == conversations && counts_right && sample_ok,
            ),
            (
                "no message without its conversation's part",
                conversation_items.len() == messages,
            ),
        ],
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let conversations: usize = args.first().and_then(|n| n.parse().ok()).unwrap_or(400);
    let budget: f64 = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(10.0);
    println!(
        "{conversations} new conversations offered at {:.0}/s; budget {budget} write units/s per partition key; {SHARDS} shards",
        2.0 * budget * f64::from(SHARDS)
    );
    let mut rates = Vec::new();
    for sharded in [false, true] {
        let o = run(conversations, budget, sharded).await;
        let rate = o.stored as f64 / o.seconds;
        rates.push(rate);
        println!(
            "{:<10} stored {} in {:.1} s: {rate:.1}/s accepted = {:.2}x one partition's budget; {} deliveries, {} throttled answers, {:.2} requests per stored message",
            if sharded { "sharded" } else { "unsharded" },
            o.stored,
            o.seconds,
            rate / budget,
            o.deliveries,
            o.throttled,
            o.requests as f64 / o.stored as f64
        );
        for (check, ok) in &o.checks {
            println!("  {} {check}", if *ok { "ok  " } else { "FAIL" });
            if !ok {
                std::process::exit(1);
            }
        }
    }
    println!(
        "sharded / unsharded accepted rate: {:.1}x (shards: {SHARDS})",
        rates[1] / rates[0]
    );
}
