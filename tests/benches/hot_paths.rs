//! criterion benches of the hot paths that run per inbound message, without I/O:
//! verify + parse + normalise a WhatsApp batch (3 messages), a Telegram update, an
//! SES notification with its MIME mail, and the lifecycle's decision. After
//! criterion's estimates, each path is timed call by call and its p50 and p99 are
//! printed.
//!
//!     cargo bench -p asyncdesk-tests --bench hot_paths

use asyncdesk::channels::email::{inbound as mail_inbound, notification};
use asyncdesk::channels::{telegram, whatsapp};
use asyncdesk::lifecycle::{self, Event};
use asyncdesk_tests::kit;
use asyncdesk_tests::mail::{self, Encoding};
use chrono::{DateTime, Duration, Utc};
use criterion::{Criterion, black_box};
use std::time::Instant;

const APP_SECRET: &[u8] = b"bench-app-secret";

struct Inputs {
    now: DateTime<Utc>,
    wa_body: Vec<u8>,
    wa_signature: String,
    tg_body: Vec<u8>,
    ses_message: String,
    settings: asyncdesk::channels::email::EmailSettings,
}

fn inputs() -> Inputs {
    let now = Utc::now();
    let ts = now.timestamp();
    let messages = serde_json::json!([
        kit::text_message(
            "4915112345678",
            "wamid.b1",
            ts,
            "Hi, my order 1234 has not arrived"
        ),
        kit::text_message("4915112345678", "wamid.b2", ts + 1, "It was due on Monday"),
        kit::text_message("4915112345678", "wamid.b3", ts + 2, "Can you check?"),
    ]);
    let wa_body = kit::webhook("4915112345678", "Ada", messages, serde_json::json!([]));
    let wa_signature = whatsapp::verify::sign(APP_SECRET, &wa_body);
    let tg_body =
        serde_json::to_vec(&kit::tg_text(1, 6001, 11, ts, "where is my parcel?")).unwrap();
    let mail_bytes = mail::customer_mail(
        "ada@example.com",
        "Order 1234",
        "bench-1@example.com",
        "",
        "Hello,\r\n\r\nmy order 1234 has not arrived. Could you check?\r\n\r\nAda",
    );
    let ses = mail::received_notification(&mail_bytes, Encoding::Base64, "bench-ses-id");
    Inputs {
        now,
        wa_body,
        wa_signature,
        tg_body,
        ses_message: ses.to_string(),
        settings: mail::settings(),
    }
}

fn whatsapp_batch(i: &Inputs) -> usize {
    whatsapp::verify::verify_signature(APP_SECRET, &i.wa_body, Some(&i.wa_signature)).unwrap();
    whatsapp::inbound::parse_webhook(&i.wa_body, i.now)
        .unwrap()
        .messages
        .len()
}

fn telegram_update(i: &Inputs) -> usize {
    telegram::verify::verify_secret_token(Some(kit::TG_SECRET), kit::TG_SECRET).unwrap();
    telegram::inbound::parse_update(&i.tg_body, kit::TG_BOT_ID, i.now)
        .unwrap()
        .messages
        .len()
}

fn ses_notification(i: &Inputs) -> usize {
    let n = notification::read_notification(&i.ses_message, "bench-sns-id", &i.settings).unwrap();
    let notification::Notification::Received(received) = n else {
        panic!("a received mail")
    };
    let notification::MailSource::Inline(bytes) = &received.source else {
        panic!("inline mail")
    };
    usize::from(mail_inbound::parse_mail(bytes, &received, &i.settings, i.now).is_some())
}

fn lifecycle_decision(i: &Inputs) -> bool {
    let state = lifecycle::apply(None, &Event::CustomerMessage { at: i.now }).unwrap();
    let promised = lifecycle::apply(
        Some(&state),
        &Event::Promised {
            reply_by: i.now + Duration::hours(12),
        },
    )
    .unwrap_or(state);
    let answered =
        lifecycle::apply(Some(&promised), &Event::Answered { at: i.now }).unwrap_or(promised);
    lifecycle::apply(Some(&answered), &Event::CustomerMessage { at: i.now }).is_some()
}

/// p50 and p99 of `n` single calls, in microseconds.
fn percentiles<T>(n: usize, mut f: impl FnMut() -> T) -> (f64, f64) {
    let mut times: Vec<f64> = (0..n)
        .map(|_| {
            let start = Instant::now();
            black_box(f());
            start.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    times.sort_by(f64::total_cmp);
    (times[n / 2], times[n * 99 / 100])
}

fn main() {
    let i = inputs();
    assert_eq!(whatsapp_batch(&i), 3);
    assert_eq!(telegram_update(&i), 1);
    assert_eq!(ses_notification(&i), 1);
    assert!(lifecycle_decision(&i));
    let mut c = Criterion::default().configure_from_args();
    c.bench_function("whatsapp: verify + parse a batch of 3", |b| {
        b.iter(|| whatsapp_batch(black_box(&i)))
    });
    c.bench_function("telegram: verify + parse an update", |b| {
        b.iter(|| telegram_update(black_box(&i)))
    });
    c.bench_function("email: SES notification + MIME", |b| {
        b.iter(|| ses_notification(black_box(&i)))
    });
    c.bench_function("lifecycle: four decisions", |b| {
        b.iter(|| lifecycle_decision(black_box(&i)))
    });
    c.final_summary();
    println!("\nper call, 20,000 calls each (microseconds):");
    for (name, (p50, p99)) in [
        (
            "whatsapp batch of 3",
            percentiles(20_000, || whatsapp_batch(&i)),
        ),
        (
            "telegram update",
            percentiles(20_000, || telegram_update(&i)),
        ),
        (
            "email notification + MIME",
            percentiles(20_000, || ses_notification(&i)),
        ),
        (
            "lifecycle, four decisions",
            percentiles(20_000, || lifecycle_decision(&i)),
        ),
    ] {
        println!("  {name:<28} p50 {p50:>8.1}  p99 {p99:>8.1}");
    }
}
