//! asyncdesk's common crate: the conversation model, one module per channel, time
//! rules, the store port with its DynamoDB adapter, configuration and the HTTP edge
//! helpers. Function crates depend on this and never on AWS SDK crates directly.

pub mod auth;
pub mod channels;
pub mod config;
pub mod conversation;
pub mod hours;
pub mod http;
pub mod store;

/// Installs the tracing subscriber for a Lambda function: JSON when
/// `AWS_LAMBDA_LOG_FORMAT=JSON`, level from `AWS_LAMBDA_LOG_LEVEL` / `RUST_LOG`.
pub fn init_lambda_tracing() {
    lambda_http::tracing::init_default_subscriber();
}
