//! Lambda wiring: config and clients once at cold start, then the handler per event
//! (a stream batch of new media messages, or the retry queue's batch).

use asyncdesk::media::config::MediaConfig;
use asyncdesk::media::s3::S3Media;
use asyncdesk::objects::S3Objects;
use asyncdesk::ports::ObjectReader;
use asyncdesk::retries::SqsRetryQueue;
use asyncdesk::store::dynamo::DynamoStore;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use media_capture::{MediaCapture, handle_event};
use serde_json::Value;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    asyncdesk::init_lambda_tracing();
    let sdk = asyncdesk::sdk::load().await;
    let secrets = asyncdesk::secrets::load(
        &sdk,
        &asyncdesk::config::process_env,
        &["WHATSAPP_ACCESS_TOKEN", "TELEGRAM_BOT_TOKEN"],
    )
    .await?;
    let objects: Arc<dyn ObjectReader> = Arc::new(S3Objects::from_config(&sdk));
    let config = MediaConfig::load(
        &|k| secrets.get(&asyncdesk::config::process_env, k),
        &objects,
    )?;
    let mut deps = MediaCapture {
        store: DynamoStore::from_config(&sdk, &config.table_name),
        sources: config.sources.clone(),
        bucket: Arc::new(S3Media::from_config(&sdk, &config.bucket)),
        limits: config.limits,
        retries: None,
    };
    if let Some(url) = &config.retry_queue_url {
        deps.retries = Some(Arc::new(SqsRetryQueue::from_config(&sdk, url)));
    }
    let deps = Arc::new(deps);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let deps = Arc::clone(&deps);
        async move { Ok::<_, Error>(handle_event(event.payload, &deps).await?) }
    }))
    .await
}
