//! Lambda wiring: config and clients once at cold start, then the handler per event.

use asyncdesk::config::{EmailInboundConfig, process_env};
use asyncdesk::objects::S3Objects;
use asyncdesk::store::dynamo::DynamoStore;
use inbound_email::{InboundEmail, handle_event};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    asyncdesk::init_lambda_tracing();
    let config = EmailInboundConfig::load(&process_env)?;
    // The SDK's configuration, once, for every adapter.
    let sdk = asyncdesk::sdk::load().await;
    let deps = Arc::new(InboundEmail {
        store: DynamoStore::from_config(&sdk, &config.table_name).with_retention(config.retention),
        objects: S3Objects::from_config(&sdk),
        settings: config.email,
    });
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let deps = Arc::clone(&deps);
        async move {
            let summary = handle_event(event.payload, &deps, chrono::Utc::now()).await?;
            Ok::<_, Error>(
                serde_json::json!({ "records": summary.records, "stored": summary.receipt.stored }),
            )
        }
    }))
    .await
}
