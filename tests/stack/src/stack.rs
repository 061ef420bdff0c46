//! The whole product on 127.0.0.1: moto (or the DynamoDB-API server `AWS_ENDPOINT_URL`
//! names), the table from the template, the HTTP routes of the deployed API served by
//! the same handlers, the stream fed to the auto-reply handler, sandboxes of the
//! WhatsApp and Telegram APIs, and email through SES on the same moto server
//! (`POST /dev/email` plays SES receiving -> SNS -> the inbound-email function).

use crate::bot_sandbox::BotSandbox;
use crate::sandbox::GraphSandbox;
use crate::server::{self, Request};
use crate::template::Template;
use crate::tools::MotoServer;
use crate::{BoxError, aws, stream};
use agent_reply::Agent;
use asyncdesk::auth::hash_key;
use asyncdesk::channels::email::EmailSettings;
use asyncdesk::config::{AgentConfig, AutoReplyConfig, EmailInboundConfig, InboundConfig};
use asyncdesk::conversation::Channel;
use asyncdesk::store::dynamo::DynamoStore;
use inbound_webhook::Inbound;
use off_hours_auto_reply::AutoReply;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::task::JoinHandle;

/// The dev agent key printed at start; `AGENT_API_KEYS` defaults to its hash.
pub const DEV_AGENT_KEY: &str = "dev-agent-key";
/// How often the local stack runs the schedule (the template: every minute): wakes
/// snoozed conversations, mails the website chat's unfetched replies.
pub const SWEEP_SECS: u64 = 15;
/// Path under which the local server plays the Graph API.
pub const SANDBOX_PREFIX: &str = "/dev/graph";
/// Path under which the local server plays the Telegram Bot API.
pub const BOT_SANDBOX_PREFIX: &str = "/dev/telegram";

/// Dev defaults of every setting; each is overridden by the variable of that name.
pub fn dev_defaults() -> Vec<(&'static str, String)> {
    vec![
        ("PORT", "3000".into()),
        ("TABLE_NAME", "asyncdesk-local".into()),
        ("WHATSAPP_APP_SECRET", "dev-app-secret".into()),
        ("WHATSAPP_VERIFY_TOKEN", "dev-verify-token".into()),
        ("WHATSAPP_ACCESS_TOKEN", "dev-access-token".into()),
        ("TELEGRAM_BOT_TOKEN", "123456:dev-bot-token".into()),
        ("TELEGRAM_WEBHOOK_SECRET", "dev-telegram-secret".into()),
        ("EMAIL_FROM", "Acme Support <support@acme.example>".into()),
        (
            "BUSINESS_HOURS",
            r#"{"timezone":"Europe/Berlin","weekly":{"mon":["09:00-17:00"],"tue":["09:00-12:30","13:30-17:00"],"wed":["09:00-17:00"],"thu":["09:00-17:00"],"fri":["09:00-15:00"]},"first_response_minutes":60,"auto_reply":{"default":"Thanks for your message. We're away right now; we'll reply by {reply_by}."}}"#.into(),
        ),
        ("MEDIA_BUCKET", crate::media::DEV_BUCKET.into()),
        // Signs the desk's sessions (in a deployment: a SecureString in SSM).
        (
            "DESK_SESSION_SECRET",
            "dev-desk-session-secret-not-for-production".into(),
        ),
        // A template to try the desk's closed-window flow with (the WhatsApp sandbox
        // takes any).
        (
            "WHATSAPP_TEMPLATES",
            r#"[{"name":"follow_up","language":"en_US","parameters":1,"text":"Hello {{1}}, we have an update on your request. Reply to continue."}]"#.into(),
        ),
        // The website chat: visitors' tokens and the demo site's signed-in user
        // (in a deployment: SecureStrings in SSM). WIDGET_ORIGINS defaults to the
        // demo page's origin, http://localhost:<port> (/dev/site).
        (
            "WIDGET_SESSION_SECRET",
            "dev-widget-session-secret-not-for-production".into(),
        ),
        (
            "WIDGET_IDENTITY_SECRET",
            "dev-widget-identity-secret-not-for-production".into(),
        ),
        ("WIDGET_BUSINESS_NAME", "Acme Support".into()),
        // The dev agent may also erase (admin scope), to try it locally.
        ("AGENT_API_KEYS", format!("dev={}:admin", hash_key(DEV_AGENT_KEY))),
    ]
}

/// Settings: dev defaults, overridden by `overrides` (the process environment for
/// the binary, a map in tests).
#[derive(Debug, Clone)]
pub struct Settings {
    vars: HashMap<String, String>,
}

impl Settings {
    pub fn new(overrides: &dyn Fn(&str) -> Option<String>) -> Self {
        let mut vars: HashMap<String, String> = dev_defaults()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        for key in [
            "PORT",
            "TABLE_NAME",
            "WHATSAPP_APP_SECRET",
            "WHATSAPP_VERIFY_TOKEN",
            "WHATSAPP_ACCESS_TOKEN",
            "WHATSAPP_API_BASE",
            "TELEGRAM_BOT_TOKEN",
            "TELEGRAM_WEBHOOK_SECRET",
            "TELEGRAM_API_BASE",
            "BUSINESS_HOURS",
            "AUTO_REPLY_MAX_AGE_MINUTES",
            "AUTO_REPLY_DAILY_CAP",
            "AUTO_REPLY_HOURLY_CAP",
            "MESSAGE_RETENTION_DAYS",
            "EMAIL_FROM",
            "EMAIL_CONFIGURATION_SET",
            "EMAIL_OWN_ADDRESSES",
            "AGENT_API_KEYS",
            "MEDIA_BUCKET",
            "MEDIA_MAX_FILE_MB",
            "MEDIA_MAX_MESSAGE_MB",
            "MEDIA_DOWNLOAD_BASE",
            "WHATSAPP_TEMPLATES",
            "DESK_SESSION_SECRET",
            "WIDGET_ORIGINS",
            "WIDGET_SESSION_SECRET",
            "WIDGET_IDENTITY_SECRET",
            "WIDGET_BUSINESS_NAME",
            "WIDGET_LAUNCHER_TEXT",
            "WIDGET_WHEN_CLOSED",
            "WIDGET_TYPICAL_REPLY",
            "WIDGET_VISITOR_MESSAGES_PER_MINUTE",
            "WIDGET_IP_MESSAGES_PER_MINUTE",
            "WIDGET_IP_SESSIONS_PER_MINUTE",
            "WIDGET_MAIL_AFTER_SECONDS",
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_DYNAMODB",
        ] {
            if let Some(v) = overrides(key) {
                vars.insert(key.to_string(), v);
            }
        }
        Settings { vars }
    }

    pub fn get(&self, key: &str) -> Option<String> {
        self.vars.get(key).cloned()
    }

    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.vars.insert(key.to_string(), value.into());
    }

    /// The DynamoDB-API server to use instead of starting moto.
    fn endpoint(&self) -> Option<String> {
        self.get("AWS_ENDPOINT_URL_DYNAMODB")
            .or_else(|| self.get("AWS_ENDPOINT_URL"))
    }

    /// Whether the agent keys are the dev default (so the dev key works).
    pub fn uses_dev_agent_key(&self) -> bool {
        self.get("AGENT_API_KEYS") == Some(format!("dev={}:admin", hash_key(DEV_AGENT_KEY)))
    }
}

pub struct RunningStack {
    pub base_url: String,
    pub sandbox: GraphSandbox,
    pub bot_sandbox: BotSandbox,
    pub dynamodb_endpoint: String,
    pub table_name: String,
    pub auto_reply: AutoReplyConfig,
    tasks: Vec<JoinHandle<()>>,
    _moto: Option<MotoServer>,
}

impl RunningStack {
    /// The process id of the moto server the stack started (None when it uses
    /// `AWS_ENDPOINT_URL`).
    pub fn moto_pid(&self) -> Option<u32> {
        self._moto.as_ref().map(MotoServer::pid)
    }

    /// Stops the server and the stream feeder, and moto if the stack started it.
    pub fn stop(self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Drop for RunningStack {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

pub async fn start(mut settings: Settings) -> Result<RunningStack, BoxError> {
    let template = Template::load()?;
    let port: u16 = settings
        .get("PORT")
        .and_then(|p| p.parse().ok())
        .ok_or("PORT: must be a port number")?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("PORT: cannot listen on 127.0.0.1:{port}: {e}"))?;
    let base_url = format!("http://{}", listener.local_addr()?);
    let sandboxed = crate::routes::Sandboxed {
        whatsapp: settings.get("WHATSAPP_API_BASE").is_none(),
        telegram: settings.get("TELEGRAM_API_BASE").is_none(),
    };
    if sandboxed.whatsapp {
        settings.set("WHATSAPP_API_BASE", format!("{base_url}{SANDBOX_PREFIX}"));
    }
    if sandboxed.telegram {
        settings.set(
            "TELEGRAM_API_BASE",
            format!("{base_url}{BOT_SANDBOX_PREFIX}"),
        );
    }
    // The demo site (/dev/site) is this server under another name: a real
    // cross-origin embedding.
    if settings.get("WIDGET_ORIGINS").is_none() {
        let port = listener.local_addr()?.port();
        settings.set("WIDGET_ORIGINS", format!("http://localhost:{port}"));
    }
    // Downloads through the stand-in of the template's CloudFront distribution.
    if settings.get("MEDIA_DOWNLOAD_BASE").is_none() {
        settings.set(
            "MEDIA_DOWNLOAD_BASE",
            format!("{base_url}{}", crate::media::CDN_PREFIX),
        );
    }

    // The same validation as the deployed functions, on the same variables.
    let env = |k: &str| settings.get(k);
    let inbound_config = InboundConfig::load(&env)?;
    let mut auto_reply_config = AutoReplyConfig::load(&env)?;
    let mut agent_config = AgentConfig::load(&env)?;
    let email_config = match EmailSettings::load(&env)? {
        Some(_) => Some(EmailInboundConfig::load(&env)?),
        None => None,
    };

    let (moto, endpoint) = match settings.endpoint() {
        Some(ep) => (None, ep),
        None => {
            let moto = MotoServer::start()?;
            let ep = moto.endpoint.clone();
            (Some(moto), ep)
        }
    };
    let sdk = aws::local_config(&endpoint).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let table_def = template.table()?;
    let created = aws::create_table(&dynamodb, &inbound_config.table_name, &table_def).await?;
    let stream_arn = dynamodb
        .describe_table()
        .table_name(&inbound_config.table_name)
        .send()
        .await?
        .table()
        .and_then(|t| t.latest_stream_arn())
        .map(str::to_string)
        .ok_or("the table has no stream (StreamSpecification missing?)")?;
    let store = DynamoStore::new(dynamodb, &inbound_config.table_name)
        .with_retention(inbound_config.retention);
    // Email through SES and S3 on the same server: the sender identity is verified
    // there, and the sending functions' SES client points at it.
    let email = match &email_config {
        Some(config) => {
            crate::mail::verify_identity(&endpoint, &config.email.from.address).await;
            let sender = Arc::new(crate::mail::ses_sender(&endpoint, config.email.clone()).await);
            agent_config.channels = agent_config
                .channels
                .clone()
                .with(Channel::Email, sender.clone());
            auto_reply_config.channels = auto_reply_config
                .channels
                .clone()
                .with(Channel::Email, sender);
            Some(Arc::new(inbound_email::InboundEmail {
                store: store.clone(),
                objects: crate::mail::s3_objects(&endpoint).await,
                settings: config.email.clone(),
            }))
        }
        None => None,
    };
    let sandbox = GraphSandbox::new();
    let bot_sandbox = BotSandbox::new();
    {
        use crate::sandbox::ChannelApi;
        sandbox.with_api(|g| g.set_base(&format!("{base_url}{SANDBOX_PREFIX}")));
    }
    // Media: the bucket on the same server, the capture function fed by the stream
    // and its retry queue.
    let media_bucket = crate::media::bucket(
        &endpoint,
        &settings
            .get("MEDIA_BUCKET")
            .unwrap_or_else(|| crate::media::DEV_BUCKET.into()),
    )
    .await?;
    let media_queue = crate::retry_queue::LocalQueue::create(
        &endpoint,
        &format!("{}-media-retries", inbound_config.table_name),
    )
    .await?;
    let capture = Arc::new(crate::media::capture(
        &env,
        store.clone(),
        Arc::new(crate::mail::s3_objects(&endpoint).await),
        media_bucket.clone(),
        Some(Arc::new(media_queue.adapter(&endpoint).await)),
    )?);

    let inbound = Arc::new(Inbound::new(store.clone(), &inbound_config));
    let mut agent = Agent::new(store.clone(), agent_config.channels.clone(), &agent_config);
    // Erasure deletes mail sources from the local S3 too.
    if let Some(email) = &email {
        agent.objects = Some(Arc::new(email.objects.clone()));
    }
    agent.media = Some(Arc::new(
        media_bucket.with_download_base(agent_config.media_download_base.clone()),
    ));
    let agent = Arc::new(agent);
    // The desk's page; its previews load from /dev/cdn, the same origin.
    let desk = Arc::new(desk::Desk::new(&asyncdesk::config::DeskConfig::load(&env)?));
    // The website chat's function, on the same table.
    let widget_config = asyncdesk::config::WidgetConfig::load(&env)?;
    let widget = Arc::new(widget::Widget::new(store.clone(), &widget_config));
    // The promise reports, on the same table and keys.
    let reports = Arc::new(reports::Reports::new(
        store.clone(),
        &asyncdesk::reports::config::ReportsConfig::load(&env)?,
    ));
    // The retry queue on the same server, fed to the function as Lambda would.
    let queue_name = format!("{}-auto-reply-retries", inbound_config.table_name);
    let queue = crate::retry_queue::LocalQueue::create(&endpoint, &queue_name).await?;
    let auto_reply = Arc::new(
        AutoReply::new(
            store,
            auto_reply_config.channels.clone(),
            &auto_reply_config,
        )
        .with_retries(Arc::new(queue.adapter(&endpoint).await)),
    );
    // The template's schedule: snoozed conversations reopen when their time comes,
    // and the website chat's replies a visitor left behind are mailed.
    let sweeper = {
        let auto_reply = auto_reply.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_secs(SWEEP_SECS)).await;
                match off_hours_auto_reply::schedule(&auto_reply, chrono::Utc::now()).await {
                    Ok(done) if done != json!({"woken": 0, "mailed": 0}) => {
                        tracing::info!(event = "swept", result = %done, "schedule ran")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "schedule failed"),
                }
            }
        })
    };
    let retries = {
        let auto_reply = auto_reply.clone();
        tokio::spawn(crate::retry_queue::feed(queue, move |event| {
            let auto_reply = auto_reply.clone();
            async move {
                off_hours_auto_reply::handle_retries(event, &auto_reply, chrono::Utc::now()).await
            }
        }))
    };
    let sandboxes = crate::routes::Sandboxes {
        graph: sandbox.clone(),
        bot: bot_sandbox.clone(),
        enabled: sandboxed,
        ses: email
            .as_ref()
            .map(|e| (endpoint.clone(), e.settings.from.address.clone())),
    };

    let api_routes = Arc::new(template.http_routes());
    let cdn_origin = endpoint.clone();
    let routes = move |req: Request| {
        let (inbound, agent, desk, widget, reports, sandboxes, api_routes, email, moto_endpoint) = (
            inbound.clone(),
            agent.clone(),
            desk.clone(),
            widget.clone(),
            reports.clone(),
            sandboxes.clone(),
            api_routes.clone(),
            email.clone(),
            cdn_origin.clone(),
        );
        async move {
            if req.uri().path() == "/dev/media" {
                return crate::media::dev_media(&req, &sandboxes.graph, &sandboxes.bot);
            }
            if req.uri().path().starts_with(crate::media::CDN_PREFIX) {
                return crate::media::cdn(&req, &moto_endpoint).await;
            }
            if req.uri().path() == "/dev/email" {
                return match (&email, req.method().as_str()) {
                    (Some(email), "POST") => crate::dev_email::dev_email(req, email).await,
                    (Some(_), _) => {
                        server::json_response(405, &json!({"message": "POST a raw RFC 822 mail"}))
                    }
                    (None, _) => server::json_response(
                        404,
                        &json!({"message": "email is not configured (EMAIL_FROM)"}),
                    ),
                };
            }
            if req.uri().path() == "/dev/site" {
                return crate::routes::demo_site(&req, widget.is_some());
            }
            let functions = crate::routes::Functions {
                inbound: &inbound,
                agent: &agent,
                desk: &desk,
                widget: widget.as_ref().as_ref(),
                reports: &reports,
            };
            crate::routes::route(req, &api_routes, functions, &sandboxes).await
        }
    };
    let server_task = server::serve(listener, routes);

    let media_tasks = crate::media::feed(
        &template,
        &endpoint,
        stream_arn.clone(),
        created,
        capture,
        media_queue,
    )
    .await?;
    let (_, patterns) = template.stream_consumer()?;
    let streams = aws_sdk_dynamodbstreams::Client::new(&sdk);
    let feeder = tokio::spawn(async move {
        let handler = |event| {
            let auto_reply = auto_reply.clone();
            async move {
                off_hours_auto_reply::handle_batch(event, &auto_reply, chrono::Utc::now()).await
            }
        };
        if let Err(e) = stream::feed(streams, stream_arn, patterns, created, handler).await {
            tracing::error!(error = %e, "stream feeder stopped");
        }
    });

    Ok(RunningStack {
        base_url,
        sandbox,
        bot_sandbox,
        dynamodb_endpoint: endpoint,
        table_name: inbound_config.table_name,
        auto_reply: auto_reply_config,
        tasks: vec![server_task, feeder, sweeper, retries]
            .into_iter()
            .chain(media_tasks)
            .collect(),
        _moto: moto,
    })
}
