//! Lambda wiring: configuration and the store once at cold start, then the handler
//! per request.

use asyncdesk::config::{WidgetConfig, process_env};
use asyncdesk::store::dynamo::DynamoStore;
use lambda_http::{Error, Request, service_fn};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    asyncdesk::init_lambda_tracing();
    let sdk = asyncdesk::sdk::load().await;
    // Its two secrets from SSM Parameter Store (one request).
    let secrets = asyncdesk::secrets::load(
        &sdk,
        &process_env,
        &["WIDGET_SESSION_SECRET", "WIDGET_IDENTITY_SECRET"],
    )
    .await?;
    let config = WidgetConfig::load(&|k| secrets.get(&process_env, k))?;
    let store = DynamoStore::from_config(&sdk, &config.table_name).with_retention(config.retention);
    let Some(deps) = widget::Widget::new(store, &config).map(Arc::new) else {
        return lambda_http::run(service_fn(|req: Request| async move {
            Ok::<_, Error>(widget::not_configured(&req))
        }))
        .await;
    };
    lambda_http::run(service_fn(move |req: Request| {
        let deps = Arc::clone(&deps);
        async move { Ok::<_, Error>(widget::handle(&req, &deps, chrono::Utc::now()).await) }
    }))
    .await
}
