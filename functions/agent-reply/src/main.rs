//! Lambda wiring: config and clients once at cold start, then the handler per request.

use agent_reply::{Agent, handle};
use asyncdesk::config::{AgentConfig, process_env};
use asyncdesk::store::dynamo::DynamoStore;
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
            "WHATSAPP_ACCESS_TOKEN",
            "TELEGRAM_BOT_TOKEN",
            "AGENT_API_KEYS",
            "DESK_SESSION_SECRET",
        ],
    )
    .await?;
    let config = AgentConfig::load(&|k| secrets.get(&process_env, k))?;
    let store = DynamoStore::from_config(&sdk, &config.table_name).with_retention(config.retention);
    let mut agent = Agent::new(store, config.channels.clone(), &config);
    // With email, erasure deletes the mail sources SES stored in S3.
    if asyncdesk::ports::Outbound::enabled(
        &config.channels,
        asyncdesk::conversation::Channel::Email,
    ) {
        agent.objects = Some(Arc::new(asyncdesk::objects::S3Objects::from_config(&sdk)));
    }
    if let Some(bucket) = &config.media_bucket {
        agent.media = Some(Arc::new(
            asyncdesk::media::s3::S3Media::from_config(&sdk, bucket)
                .with_download_base(config.media_download_base.clone()),
        ));
    }
    let deps = Arc::new(agent);
    lambda_http::run(service_fn(move |req: Request| {
        let deps = Arc::clone(&deps);
        async move { Ok::<_, Error>(handle(&req, &deps, chrono::Utc::now()).await) }
    }))
    .await
}
