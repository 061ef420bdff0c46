//! Benchmark (not a test): the agents' queue at size. Seeds open conversations
//! (10% urgent, 30% holding an auto-reply's promise, 20% assigned) in steps up to
//! the largest size into moto behind the charging proxy; pages `order=due` through
//! the store (100 a page) and compares the pages with a brute-force sort of all
//! seeded conversations (every row once, in order); prints read units and requests
//! per page and the latency (against moto, a Python server that scans: only
//! relative). Then seeds snoozed conversations (1% due) in a table of their own and
//! runs the snooze sweep in a child process until nothing is due, printing its peak
//! memory.
//!
//!     cargo run -p asyncdesk-tests --bin asyncdesk-bench-queue [-- 1000,10000,50000 [SNOOZED [PAGES]]]
//!
//! PAGES caps the pages compared per size above 1,000 (default 10: moto takes
//! seconds a page at 50,000); 1,000 is always paged through to the end.

use asyncdesk::conversation::{ConversationId, ConversationStatus, Priority};
use asyncdesk::hours::BusinessHours;
use asyncdesk::lifecycle::State;
use asyncdesk::lifecycle::keys;
use asyncdesk::ports::{AssigneeFilter, ConversationStore, Order, QueueQuery};
use asyncdesk_tests::capacity::Capacity;
use asyncdesk_tests::kit::TestTable;
use asyncdesk_tests::proxy::CountingProxy;
use aws_sdk_dynamodb::types::{AttributeValue as A, PutRequest, WriteRequest};
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use std::time::Instant;

const HOURS: &str = r#"{"timezone":"Europe/Berlin","weekly":{"mon":["09:00-17:00"],"tue":["09:00-17:00"],"wed":["09:00-17:00"],"thu":["09:00-17:00"],"fri":["09:00-17:00"]},"first_response_minutes":240,"auto_reply":{"default":"x"}}"#;

/// A small deterministic generator (no seed file needed to repeat a run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below.max(1)
    }
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-02T12:00:00Z")
        .unwrap()
        .to_utc()
}

fn ms(t: DateTime<Utc>) -> A {
    A::N(t.timestamp_millis().to_string())
}

/// A conversation item as the store writes it, with its index keys.
fn item(id: &ConversationId, st: &State) -> HashMap<String, A> {
    let mut i = HashMap::from([
        ("pk".to_string(), A::S(format!("CONV#{id}"))),
        ("sk".into(), A::S("META".into())),
        ("item_type".into(), A::S("conversation".into())),
        ("id".into(), A::S(id.to_string())),
        ("channel".into(), A::S("whatsapp".into())),
        ("business_id".into(), A::S("106540352242922".into())),
        ("customer_id".into(), A::S(id.digest()[..12].to_string())),
        ("status".into(), A::S(st.status.as_str().into())),
        ("status_since".into(), ms(st.status_since)),
        ("created_at".into(), ms(st.status_since)),
        ("updated_at".into(), ms(st.status_since)),
        ("last_message_at".into(), ms(st.status_since)),
        (
            "preview".into(),
            A::S("Where is my order? It was due last week.".into()),
        ),
        ("unanswered".into(), A::N("1".into())),
        ("message_count".into(), A::N("1".into())),
        ("rev".into(), A::N("0".into())),
        (
            "priority".into(),
            A::S(
                if st.priority == Priority::Urgent {
                    "urgent"
                } else {
                    "normal"
                }
                .into(),
            ),
        ),
    ]);
    let opt = [
        ("waiting_since", st.waiting_since),
        ("snooze_until", st.snooze_until),
        ("promised_reply_by", st.promised_reply_by),
        ("promise_for", st.promise_for),
    ];
    for (k, v) in opt {
        if let Some(v) = v {
            i.insert(k.into(), ms(v));
        }
    }
    if let Some(a) = &st.assignee {
        i.insert("assignee".into(), A::S(a.clone()));
    }
    let k = keys::keys(id, st);
    i.insert("sq".into(), A::S(k.status.partition));
    i.insert("sq_at".into(), A::S(k.status.sort));
    if let Some(d) = k.deadline {
        i.insert("dl".into(), A::S(d.partition));
        i.insert("dl_at".into(), A::S(d.sort));
    }
    if let Some(a) = k.agent {
        i.insert("aq".into(), A::S(a.partition));
        i.insert("aq_at".into(), A::S(a.sort));
    }
    i
}

async fn seed(table: &TestTable, items: Vec<HashMap<String, A>>) {
    for chunk in items.chunks(25) {
        let mut pending: Vec<WriteRequest> = chunk
            .iter()
            .map(|i| {
                WriteRequest::builder()
                    .put_request(
                        PutRequest::builder()
                            .set_item(Some(i.clone()))
                            .build()
                            .unwrap(),
                    )
                    .build()
            })
            .collect();
        while !pending.is_empty() {
            let out = table
                .client
                .batch_write_item()
                .request_items(&table.name, pending)
                .send()
                .await
                .expect("seed");
            pending = out
                .unprocessed_items
                .and_then(|mut u| u.remove(&table.name))
                .unwrap_or_default();
        }
    }
}

fn open_state(r: &mut Lcg) -> State {
    let wait = now() - Duration::minutes(r.next(7 * 24 * 60) as i64);
    let promised = r.next(10) < 3;
    State {
        status: ConversationStatus::Open,
        status_since: wait,
        waiting_since: Some(wait),
        snooze_until: None,
        promised_reply_by: promised.then(|| wait + Duration::minutes(r.next(48 * 60) as i64)),
        promise_for: promised.then_some(wait),
        priority: if r.next(10) == 0 {
            Priority::Urgent
        } else {
            Priority::Normal
        },
        assignee: (r.next(5) == 0).then(|| format!("agent{}", r.next(5))),
    }
}

fn id_of(n: u64, prefix: u64) -> ConversationId {
    ConversationId::parse(&format!(
        "wa-{:016x}{:016x}",
        prefix,
        n.wrapping_mul(0x9e3779b97f4a7c15)
    ))
    .unwrap()
}

/// The brute-force order: urgent first, then the promise that holds or the deadline,
/// then the wait's start, then the id.
fn oracle(all: &[(ConversationId, State)], hours: &BusinessHours) -> Vec<String> {
    let mut keyed: Vec<(u8, i64, i64, String)> = all
        .iter()
        .map(|(id, s)| {
            let wait = s.waiting_since.unwrap();
            let due = match (s.promised_reply_by, s.promise_for) {
                (Some(p), Some(f)) if f == wait => p.timestamp_millis(),
                _ => hours
                    .reply_by(wait)
                    .map_or(9_999_999_999_999, |d| d.timestamp_millis()),
            };
            (
                u8::from(s.priority != Priority::Urgent),
                due,
                wait.timestamp_millis(),
                id.to_string(),
            )
        })
        .collect();
    keyed.sort();
    keyed.into_iter().map(|k| k.3).collect()
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))?
                .split_whitespace()
                .nth(1)?
                .parse::<f64>()
                .ok()
        })
        .unwrap_or(0.0)
        / 1024.0
}

/// The child: sweeps until nothing is due, prints what it woke and its peak memory.
async fn sweep(endpoint: &str, table: &str) {
    let sdk = asyncdesk_tests::aws::local_config(endpoint).await;
    let store =
        asyncdesk::store::dynamo::DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table);
    let (mut woken, mut runs) = (0, 0);
    let start = Instant::now();
    loop {
        let n = store.wake_snoozed(now()).await.expect("sweep");
        runs += 1;
        woken += n;
        if n == 0 {
            break;
        }
    }
    println!(
        "wake sweep: {woken} woken in {runs} runs ({} per run at most), {:.1} s, peak RSS {:.1} MB",
        asyncdesk::store::WAKE_BATCH as usize * keys::SHARDS as usize,
        start.elapsed().as_secs_f64(),
        peak_rss_mb()
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("sweep") {
        return sweep(&args[1], &args[2]).await;
    }
    let sizes: Vec<usize> = args
        .first()
        .map(|s| s.split(',').filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_else(|| vec![1000, 10_000, 50_000]);
    let snoozed: usize = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let max_pages: usize = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(10);
    let hours = BusinessHours::from_json(HOURS, now()).unwrap();
    let reply_by = |at: DateTime<Utc>| hours.reply_by(at);
    let table = TestTable::new().await;
    let (proxy, _task) =
        CountingProxy::start_charging(&table.endpoint, Capacity::from_template(1e12)).await;
    let store = table.store_via(&proxy.endpoint).await;
    let mut r = Lcg(42);
    let mut open: Vec<(ConversationId, State)> = Vec::new();
    println!(
        "{:>7} {:>6} {:>9} {:>10} {:>12} {:>12} {:>10} {:>12}",
        "open",
        "pages",
        "identical",
        "rows once",
        "RU/page avg",
        "RU/page max",
        "req/page",
        "ms/page avg"
    );
    for size in sizes {
        let mut new = Vec::new();
        while open.len() < size {
            let id = id_of(open.len() as u64, 1);
            let st = open_state(&mut r);
            new.push(item(&id, &st));
            open.push((id, st));
        }
        seed(&table, new).await;
        let expected = oracle(&open, &hours);
        let mut listed: Vec<String> = Vec::new();
        let (mut pages, mut max_ru, mut total_ru) = (0usize, 0f64, 0f64);
        proxy.reset();
        let mut cursor = None;
        let t0 = Instant::now();
        loop {
            proxy.reset_totals();
            let q = QueueQuery {
                status: ConversationStatus::Open,
                order: Order::Due,
                channel: None,
                assignee: AssigneeFilter::Any,
                priority: None,
                limit: 100,
                cursor,
            };
            let page = store.queue_page(&q, &reply_by, now()).await.expect("page");
            let ru = proxy.totals().read_units;
            pages += 1;
            total_ru += ru;
            max_ru = max_ru.max(ru);
            listed.extend(page.conversations.iter().map(|c| c.id.to_string()));
            match page.next {
                Some(next) if pages < max_pages || size <= 1000 => cursor = Some(next),
                _ => break,
            }
        }
        let elapsed = t0.elapsed().as_secs_f64() * 1000.0 / pages as f64;
        let identical = listed[..] == expected[..listed.len()];
        let unique: std::collections::HashSet<&String> = listed.iter().collect();
        let all_once = unique.len() == listed.len() && (size > 1000 || listed.len() == size);
        println!(
            "{size:>7} {pages:>6} {:>9} {:>10} {:>12.1} {:>12.1} {:>10.1} {elapsed:>12.0}",
            identical,
            all_once,
            total_ru / pages as f64,
            max_ru,
            proxy.operations().len() as f64 / pages as f64
        );
        if !identical || !all_once {
            eprintln!("MISMATCH at {size} open");
            std::process::exit(1);
        }
    }
    let sleepers = TestTable::new().await;
    let started = Instant::now();
    let snoozes: Vec<HashMap<String, A>> = (0..snoozed as u64)
        .map(|n| {
            let since = now() - Duration::days(1);
            // One in a hundred is due now; the others wake over the next month.
            let until = if r.next(100) == 0 {
                now() - Duration::minutes(r.next(600) as i64)
            } else {
                now() + Duration::minutes(1 + r.next(30 * 24 * 60) as i64)
            };
            let st = State {
                status: ConversationStatus::Snoozed,
                status_since: since,
                waiting_since: None,
                snooze_until: Some(until),
                promised_reply_by: None,
                promise_for: None,
                priority: Priority::Normal,
                assignee: None,
            };
            item(&id_of(n, 2), &st)
        })
        .collect();
    seed(&sleepers, snoozes).await;
    println!(
        "seeded {snoozed} snoozed in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    let exe = std::env::current_exe().unwrap();
    let status = std::process::Command::new(exe)
        .args(["sweep", &sleepers.endpoint, &sleepers.name])
        .status()
        .expect("the sweep runs");
    assert!(status.success());
}
