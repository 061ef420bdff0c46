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
pub mod metrics;
pub mod objects;
pub mod ports;
pub mod retries;
pub mod sdk;
pub mod secret;
pub mod secrets;
pub mod store;

/// Installs the tracing subscriber for a Lambda function: JSON when
/// `AWS_LAMBDA_LOG_FORMAT=JSON`, level from `AWS_LAMBDA_LOG_LEVEL` / `RUST_LOG`.
pub fn init_lambda_tracing() {
    lambda_http::tracing::init_default_subscriber();
}
