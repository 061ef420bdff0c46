//! The AWS SDK's configuration, built once at cold start by each function's `main`
//! from the environment Lambda gives it (`AWS_REGION`, `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`) and the standard endpoint overrides
//! (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`), and handed to every adapter
//! (the store, S3, SSM, SQS, SES), so no adapter loads its own.
//!
//! Built here rather than by `aws-config`: a function's credentials are always
//! Lambda's environment variables, and aws-config's chain for everything else
//! (profiles, SSO, STS web identity, IMDS) made up a large part of each bootstrap.
//! Operators' tools on a workstation use aws-config (`tests/ops`).

use aws_sdk_dynamodb::config::{
    BehaviorVersion, Credentials, Region, SharedCredentialsProvider, retry::RetryConfig,
};
pub use aws_types::SdkConfig;
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};

/// The configuration from the process environment. Call once, at cold start.
pub async fn load() -> SdkConfig {
    from_env(&|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
}

/// The configuration from `env` (a lookup of environment variables).
pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> SdkConfig {
    let mut config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(http_client())
        .sleep_impl(aws_smithy_async::rt::sleep::SharedAsyncSleep::new(
            aws_smithy_async::rt::sleep::TokioSleep::new(),
        ))
        .retry_config(RetryConfig::standard())
        .service_config(EndpointOverrides(
            ENDPOINT_SERVICES
                .iter()
                .filter_map(|s| {
                    let var = format!("AWS_ENDPOINT_URL_{s}");
                    env(&var).map(|url| (var, url))
                })
                .collect(),
        ));
    if let Some(region) = env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION")) {
        config = config.region(Region::new(region));
    }
    if let (Some(id), Some(secret)) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
        let credentials =
            Credentials::new(id, secret, env("AWS_SESSION_TOKEN"), None, "environment");
        config = config.credentials_provider(SharedCredentialsProvider::new(credentials));
    }
    if let Some(url) = env("AWS_ENDPOINT_URL") {
        config = config.endpoint_url(url);
    }
    config.build()
}

/// The services whose `AWS_ENDPOINT_URL_<SERVICE>` is honoured (the SDK's service
/// ids, upper case).
const ENDPOINT_SERVICES: [&str; 5] = ["DYNAMODB", "S3", "SESV2", "SQS", "SSM"];

/// `AWS_ENDPOINT_URL_<SERVICE>` as read at cold start; a client takes its service's
/// before `AWS_ENDPOINT_URL`.
#[derive(Debug)]
struct EndpointOverrides(Vec<(String, String)>);

impl LoadServiceConfig for EndpointOverrides {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        let service: String = key
            .service_id()
            .chars()
            .map(|c| {
                if c == ' ' {
                    '_'
                } else {
                    c.to_ascii_uppercase()
                }
            })
            .collect();
        let var = format!("{}_{service}", key.env());
        self.0
            .iter()
            .find(|(v, _)| *v == var)
            .map(|(_, url)| url.clone())
    }
}

/// The SDK's HTTPS client: rustls with ring (the crypto the rest of the binary
/// already links) and the system's certificate store.
pub fn http_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_credentials_and_endpoints_come_from_the_environment() {
        let vars = [
            ("AWS_REGION", "eu-central-1"),
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000"),
        ];
        let config = from_env(&|k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        });
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-central-1"));
        assert!(config.credentials_provider().is_some());
        assert_eq!(config.endpoint_url(), Some("http://127.0.0.1:5000"));
        // Asked the way each client asks (service id, the variable's stem).
        let overrides = config.service_config().expect("endpoint overrides");
        let key = |service| {
            ServiceConfigKey::builder()
                .service_id(service)
                .env("AWS_ENDPOINT_URL")
                .profile("endpoint_url")
                .build()
                .unwrap()
        };
        assert_eq!(
            overrides.load_config(key("DynamoDB")).as_deref(),
            Some("http://127.0.0.1:8000")
        );
        assert_eq!(overrides.load_config(key("SQS")), None);
    }
}
