//! Lambda wiring: config and the store once at cold start, then the handler per request.

use asyncdesk::config::process_env;
use asyncdesk::reports::config::ReportsConfig;
use asyncdesk::store::dynamo::DynamoStore;
use lambda_http::{Error, Request, service_fn};
use reports::{Reports, handle};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    asyncdesk::init_lambda_tracing();
    let sdk = asyncdesk::sdk::load().await;
    let secrets = asyncdesk::secrets::load(
        &sdk,
        &process_env,
        &["AGENT_API_KEYS", "DESK_SESSION_SECRET"],
    )
    .await?;
    let config = ReportsConfig::load(&|k| secrets.get(&process_env, k))?;
    let store = DynamoStore::from_config(&sdk, &config.table_name);
    let deps = Arc::new(Reports::new(store, &config));
    lambda_http::run(service_fn(move |req: Request| {
        let deps = Arc::clone(&deps);
        async move { Ok::<_, Error>(handle(&req, &deps, chrono::Utc::now()).await) }
    }))
    .await
}
