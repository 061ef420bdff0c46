//! Lambda wiring: config and clients once at cold start, then the handler per event
//! (a stream batch, or the schedule that wakes snoozed conversations).

use asyncdesk::config::{AutoReplyConfig, process_env};
use asyncdesk::retries::SqsRetryQueue;
use asyncdesk::store::dynamo::DynamoStore;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use off_hours_auto_reply::{AutoReply, handle_event};
use serde_json::Value;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    asyncdesk::init_lambda_tracing();
    // Secrets from SSM Parameter Store (one request), the rest from the environment.
    // The SDK's configuration, once, for every adapter.
    let sdk = asyncdesk::sdk::load().await;
    let secrets = asyncdesk::secrets::load(
        &sdk,
        &process_env,
        &["WHATSAPP_ACCESS_TOKEN", "TELEGRAM_BOT_TOKEN"],
    )
    .await?;
    let config = AutoReplyConfig::load(&|k| secrets.get(&process_env, k))?;
    let store = DynamoStore::from_config(&sdk, &config.table_name).with_retention(config.retention);
    let mut deps = AutoReply::new(store, config.channels.clone(), &config);
    if let Some(url) = &config.retry_queue_url {
        deps = deps.with_retries(Arc::new(SqsRetryQueue::from_config(&sdk, url)));
    }
    let deps = Arc::new(deps);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let deps = Arc::clone(&deps);
        async move { Ok::<_, Error>(handle_event(event.payload, &deps, chrono::Utc::now()).await?) }
    }))
    .await
}
