//! The AWS SDK's configuration (region, credentials, `AWS_ENDPOINT_URL[_*]`), loaded
//! once at cold start by each function's `main` and handed to every adapter (the
//! store, S3, SSM), so no adapter loads its own.

pub use aws_config::SdkConfig;

/// The standard AWS environment's configuration. Call once, at cold start.
pub async fn load() -> SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}
