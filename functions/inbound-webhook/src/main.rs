//! Lambda wiring: config and clients once at cold start, then the handler per request.

use asyncdesk::config::{InboundConfig, process_env};
use asyncdesk::store::dynamo::DynamoStore;
use inbound_webhook::{Inbound, handle};
use lambda_http::{Error, Request, service_fn};
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
        &[
            "WHATSAPP_APP_SECRET",
            "WHATSAPP_VERIFY_TOKEN",
            "TELEGRAM_WEBHOOK_SECRET",
        ],
    )
    .await?;
    let config = InboundConfig::load(&|k| secrets.get(&process_env, k))?;
    let store = DynamoStore::from_config(&sdk, &config.table_name).with_retention(config.retention);
    let deps = Arc::new(Inbound::new(store, &config));
    lambda_http::run(service_fn(move |req: Request| {
        let deps = Arc::clone(&deps);
        async move { Ok::<_, Error>(handle(&req, &deps, chrono::Utc::now()).await) }
    }))
    .await
}
