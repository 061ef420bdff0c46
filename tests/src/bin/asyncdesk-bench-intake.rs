//! Benchmark (not a test): inbound messages through the local stack, as in
//! `cargo local`. Starts the stack (moto through `tests/moto_local.py`), posts
//! signed WhatsApp webhooks from 16 concurrent senders (60 customers, every 10th
//! delivery a redelivery), and prints throughput and moto's resident memory at each
//! 1,000 messages. Target: >= 50 messages/s steady, moto RSS <= 500 MB.
//!
//!     cargo run --release -p asyncdesk-tests --bin asyncdesk-bench-intake [-- MESSAGES]

use asyncdesk::channels::whatsapp;
use asyncdesk_tests::kit;
use asyncdesk_tests::stack::{self, Settings};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

const SENDERS: usize = 16;
const CUSTOMERS: usize = 60;
const STEP: usize = 1000;

fn rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

#[tokio::main]
async fn main() {
    let total: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(5000);
    let overrides: HashMap<&str, String> = HashMap::from([
        ("PORT", "0".to_string()),
        (
            "TABLE_NAME",
            format!("asyncdesk-bench-{}", uuid::Uuid::new_v4().simple()),
        ),
    ]);
    let running = stack::start(Settings::new(&|k| overrides.get(k).cloned()))
        .await
        .expect("local stack starts");
    let pid = running.moto_pid().expect("the stack started moto");
    let base = running.base_url.clone();
    let http = reqwest::Client::new();
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    println!(
        "{total} inbound messages, {SENDERS} senders, {CUSTOMERS} customers; moto pid {pid}, RSS at start {:.0} MB",
        rss_mb(pid).unwrap_or(0.0)
    );
    println!(
        "{:>8} {:>12} {:>14} {:>10}",
        "messages", "elapsed s", "last 1,000/s", "moto RSS"
    );
    let reporter = {
        let done = done.clone();
        tokio::spawn(async move {
            let mut reported = 0;
            let mut last = Instant::now();
            while reported < total {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                let d = done.load(Ordering::Relaxed);
                if d / STEP > reported / STEP || d == total {
                    let step = d - reported;
                    let rate = step as f64 / last.elapsed().as_secs_f64();
                    println!(
                        "{:>8} {:>12.1} {:>14.0} {:>7.0} MB",
                        d,
                        start.elapsed().as_secs_f64(),
                        rate,
                        rss_mb(pid).unwrap_or(0.0)
                    );
                    reported = d;
                    last = Instant::now();
                }
            }
        })
    };
    let mut senders = tokio::task::JoinSet::new();
    let now = chrono::Utc::now().timestamp();
    for _ in 0..SENDERS {
        let (http, base, next, done) = (http.clone(), base.clone(), next.clone(), done.clone());
        senders.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                // Every 10th delivery repeats the one before (a platform retry).
                let n = if i % 10 == 9 { i - 1 } else { i };
                let customer = format!("4917{:08}", n % CUSTOMERS);
                let body = kit::text_webhook(&customer, &format!("wamid.bench.{n}"), now, "hi");
                let resp = http
                    .post(format!("{base}/webhooks/whatsapp"))
                    .header(
                        "x-hub-signature-256",
                        whatsapp::verify::sign(b"dev-app-secret", &body),
                    )
                    .body(body)
                    .send()
                    .await
                    .expect("the stack answers");
                assert_eq!(resp.status(), 200, "delivery {i}");
                done.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    senders.join_all().await;
    reporter.await.ok();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "total: {total} in {secs:.1} s = {:.0} messages/s; moto RSS {:.0} MB",
        total as f64 / secs,
        rss_mb(pid).unwrap_or(0.0)
    );
    running.stop();
}
