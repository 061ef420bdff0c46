//! asyncdesk's common crate: the conversation model, the ports, one folder per
//! channel, time rules, the store adapter, ingest and deliver (shared by every
//! channel and function), configuration and the HTTP edge helpers. Function crates
//! depend on this and never on AWS SDK crates or HTTP clients directly.

pub mod auth;
pub mod autoreply;
pub mod channels;
pub mod config;
pub mod conversation;
pub mod deliver;
pub mod env;
pub mod hours;
pub mod http;
pub mod ingest;
pub mod lifecycle;
pub mod loop_guard;
pub mod media;
pub mod metrics;
pub mod objects;
pub mod ports;
pub mod reports;
pub mod retries;
pub mod sdk;
pub mod secret;
pub mod secrets;
pub mod store;

/// Installs the tracing subscriber for a Lambda function: JSON when
/// `AWS_LAMBDA_LOG_FORMAT=JSON`, level from `AWS_LAMBDA_LOG_LEVEL` / `RUST_LOG`.
pub fn init_lambda_tracing() {
    use tracing_subscriber::filter::LevelFilter;
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let level = var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|| var("RUST_LOG"))
        .and_then(|l| l.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    let logs = tracing_subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_max_level(level);
    if var("AWS_LAMBDA_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json")) {
        // The request's span once (not again in a span list): bytes are billed.
        logs.json().with_span_list(false).init();
    } else {
        logs.init();
    }
}
