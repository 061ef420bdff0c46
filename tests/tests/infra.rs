//! The SAM template: cfn-lint clean, and consistent with what the code expects.

use asyncdesk::config::{
    AgentConfig, AutoReplyConfig, AvailabilityConfig, EmailInboundConfig, InboundConfig,
};
use asyncdesk::media::config::MediaConfig;
use asyncdesk_tests::template::Template;
use asyncdesk_tests::{tools, workspace_root};
use std::collections::HashMap;

/// An object reader the config checks never call.
struct NoObjects;

#[async_trait::async_trait]
impl asyncdesk::ports::ObjectReader for NoObjects {
    async fn read(&self, _: &str, _: &str) -> Result<Vec<u8>, asyncdesk::ports::ObjectError> {
        unreachable!("configuration is read without objects")
    }
}

#[test]
fn template_passes_cfn_lint() {
    tools::ensure_python_tools().expect("cfn-lint installs");
    let out = std::process::Command::new(tools::venv_bin("cfn-lint"))
        .arg(workspace_root().join("infra").join("template.yaml"))
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .output()
        .expect("cfn-lint runs");
    assert!(
        out.status.success(),
        "cfn-lint:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Each function starts with exactly the environment the template gives it.
#[test]
fn functions_get_the_environment_their_config_needs() {
    let template = Template::load().unwrap();
    let value = |name: &str| {
        match name {
        "BUSINESS_HOURS" => r#"{"timezone":"UTC","weekly":{"mon":["09:00-17:00"]},"auto_reply":{"default":"by {reply_by}"}}"#.to_string(),
        "AGENT_API_KEYS" => format!("a={}", asyncdesk::auth::hash_key("k")),
        "WHATSAPP_API_BASE" => "https://graph.facebook.com/v23.0".to_string(),
        "TELEGRAM_API_BASE" => "https://api.telegram.org".to_string(),
        "TELEGRAM_BOT_TOKEN" => "123456:secret".to_string(),
        "TELEGRAM_BOT_ID" => "123456".to_string(),
        "AUTO_REPLY_MAX_AGE_MINUTES" => "60".to_string(),
        "TABLE_NAME" => "asyncdesk-table".to_string(),
        "EMAIL_FROM" => "Acme Support <support@acme.example>".to_string(),
        "EMAIL_CONFIGURATION_SET" => "asyncdesk-replies".to_string(),
        "AUTO_REPLY_DAILY_CAP" => "3".to_string(),
        "AUTO_REPLY_HOURLY_CAP" => "1000".to_string(),
        "MESSAGE_RETENTION_DAYS" => "0".to_string(),
        "MEDIA_BUCKET" => "asyncdesk-media".to_string(),
        "MEDIA_DOWNLOAD_BASE" => "https://d111111abcdef8.cloudfront.net".to_string(),
        "MEDIA_MAX_FILE_MB" => "25".to_string(),
        "MEDIA_MAX_MESSAGE_MB" => "50".to_string(),
        "WHATSAPP_TEMPLATES" => "[]".to_string(),
        "DESK_SESSION_SECRET" => "a-session-secret-of-32-characters-or-more".to_string(),
        "WIDGET_SESSION_SECRET" => "a-widget-secret-of-32-characters-or-more".to_string(),
        "WIDGET_IDENTITY_SECRET" => "a-site-identity-secret-of-32-characters".to_string(),
        "WIDGET_ORIGINS" => "https://shop.example".to_string(),
        "WIDGET_WHEN_CLOSED" => "show".to_string(),
        "WIDGET_BUSINESS_NAME" | "WIDGET_LAUNCHER_TEXT" | "WIDGET_TYPICAL_REPLY" => {
            "Acme".to_string()
        }
        _ => "set".to_string(),
    }
    };
    // The environment, and the secrets its policy lets it read from SSM (which the
    // function reads like variables: shared/src/secrets.rs).
    let env_of = |function: &str| -> HashMap<String, String> {
        let resource = template
            .resources()
            .find(|(r, _)| *r == function)
            .map(|(_, v)| serde_yaml::to_string(v).unwrap())
            .unwrap_or_default();
        let granted = asyncdesk::secrets::SECRET_NAMES
            .iter()
            .filter(|n| resource.contains(&format!("${{SecretsPath}}/{n}")))
            .map(|n| n.to_string());
        template
            .function_env(function)
            .into_iter()
            .filter(|n| n != "SECRETS_SSM_PATH")
            .chain(granted)
            .map(|n| {
                let v = value(&n);
                (n, v)
            })
            .collect()
    };
    let inbound = env_of("InboundWebhookFunction");
    InboundConfig::load(&|k| inbound.get(k).cloned()).expect("inbound config");
    let auto = env_of("OffHoursAutoReplyFunction");
    AutoReplyConfig::load(&|k| auto.get(k).cloned()).expect("auto-reply config");
    let agent = env_of("AgentReplyFunction");
    AgentConfig::load(&|k| agent.get(k).cloned()).expect("agent config");
    assert!(
        agent.contains_key("MEDIA_BUCKET"),
        "download URLs and erasure"
    );
    assert!(
        agent.contains_key("MEDIA_DOWNLOAD_BASE"),
        "downloads with security headers"
    );
    let cdn = serde_yaml::to_string(
        template
            .resources()
            .find(|(r, _)| *r == "MediaDistribution")
            .map(|(_, v)| v)
            .expect("the download distribution"),
    )
    .unwrap();
    for managed in [
        // SecurityHeadersPolicy (nosniff), CachingDisabled, AllViewerExceptHostHeader.
        "67f7725c-6f97-4210-82d7-5512b31e9d03",
        "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
        "b689b0a8-53d0-40ab-baf2-68738e2966ac",
    ] {
        assert!(cdn.contains(managed), "{managed}: {cdn}");
    }
    let media = env_of("MediaCaptureFunction");
    let objects: std::sync::Arc<dyn asyncdesk::ports::ObjectReader> =
        std::sync::Arc::new(NoObjects);
    let media_config =
        MediaConfig::load(&|k| media.get(k).cloned(), &objects).expect("media config");
    assert_eq!(media_config.limits.max_file_bytes, 25 * 1024 * 1024);
    assert!(media_config.retry_queue_url.is_some());
    assert!(
        !media.contains_key("AGENT_API_KEYS"),
        "least privilege: the capture holds no agent keys"
    );
    let public = env_of("AvailabilityFunction");
    AvailabilityConfig::load(&|k| public.get(k).cloned()).expect("availability config");
    assert_eq!(
        template.dynamodb_actions("AvailabilityFunction"),
        Vec::<String>::new(),
        "the public route's function has no permission on the table"
    );
    assert!(
        public
            .keys()
            .all(|k| !asyncdesk::secrets::SECRET_NAMES.contains(&k.as_str())),
        "the public function holds no secret: {public:?}"
    );
    let widget = env_of("WidgetFunction");
    let widget_config =
        asyncdesk::config::WidgetConfig::load(&|k| widget.get(k).cloned()).expect("widget config");
    assert!(
        widget_config.widget.is_some(),
        "the web chat is on with WidgetOrigins"
    );
    assert!(
        !widget.contains_key("AGENT_API_KEYS")
            && !widget.keys().any(|k| k.starts_with("WHATSAPP_")),
        "least privilege: the public widget holds no agent key and no channel secret"
    );
    for env in [&auto, &agent] {
        assert!(
            env.contains_key("WIDGET_ORIGINS"),
            "the sending functions deliver to web conversations"
        );
    }
    let email = env_of("InboundEmailFunction");
    let email_config =
        EmailInboundConfig::load(&|k| email.get(k).cloned()).expect("inbound-email config");
    assert_eq!(email_config.email.from.address, "support@acme.example");
    for (name, env) in [("auto-reply", &auto), ("agent", &agent)] {
        assert!(env.contains_key("EMAIL_FROM"), "{name} sends mail");
        assert!(
            env.contains_key("EMAIL_CONFIGURATION_SET"),
            "{name} publishes events"
        );
    }
    assert!(
        !email
            .keys()
            .any(|k| k.starts_with("WHATSAPP_") || k.starts_with("TELEGRAM_")),
        "least privilege: the email function holds no other channel's secrets"
    );
    assert!(
        !inbound.contains_key("WHATSAPP_ACCESS_TOKEN"),
        "least privilege: the inbound function never sends on WhatsApp"
    );
    assert!(
        !inbound.contains_key("TELEGRAM_BOT_TOKEN"),
        "least privilege: the inbound function never holds the bot token"
    );
    // A Telegram-only deployment: the WhatsApp parameters are left empty, and SAM
    // passes them as empty strings.
    let telegram_only = |mut env: HashMap<String, String>| {
        for (k, v) in env.iter_mut() {
            if k.starts_with("WHATSAPP_") {
                v.clear();
            }
        }
        env
    };
    let inbound = telegram_only(inbound);
    InboundConfig::load(&|k| inbound.get(k).cloned()).expect("telegram-only inbound");
    let agent = telegram_only(agent);
    AgentConfig::load(&|k| agent.get(k).cloned()).expect("telegram-only agent");
}

/// Email: SES receipt rule -> topic -> subscription -> function, the bucket the
/// function may read (exactly its prefix), a lifecycle rule, and a dead-letter queue.
#[test]
fn email_is_wired_from_ses_to_the_function() {
    let template = Template::load().unwrap();
    let resource = |id: &str| {
        template
            .resources()
            .find(|(r, _)| *r == id)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{id} is in the template"))
    };
    let rule = resource("EmailReceiptRule");
    let rule_text = serde_yaml::to_string(&rule).unwrap();
    assert!(
        rule_text.contains("S3Action") && rule_text.contains("SNSAction"),
        "{rule_text}"
    );
    assert!(
        rule_text.contains("ObjectKeyPrefix: inbound/"),
        "{rule_text}"
    );
    assert!(rule_text.contains("Encoding: Base64"), "{rule_text}");
    assert!(rule_text.contains("EmailReceiptRuleSetName"), "{rule_text}");
    let sub = serde_yaml::to_string(&resource("EmailSubscription")).unwrap();
    assert!(
        sub.contains("Protocol: lambda") && sub.contains("InboundEmailFunction"),
        "{sub}"
    );
    assert!(sub.contains("EmailDeadLetterQueue"), "{sub}");
    let permission = serde_yaml::to_string(&resource("EmailInvokePermission")).unwrap();
    assert!(permission.contains("sns.amazonaws.com"), "{permission}");
    let bucket = serde_yaml::to_string(&resource("EmailBucket")).unwrap();
    assert!(bucket.contains("ExpirationInDays"), "{bucket}");
    let function = serde_yaml::to_string(&resource("InboundEmailFunction")).unwrap();
    assert!(function.contains("s3:GetObject"), "{function}");
    assert!(
        function.contains("${EmailBucket.Arn}/inbound/*"),
        "reads exactly the prefix SES writes: {function}"
    );
    assert!(
        function.contains("dynamodb:BatchGetItem"),
        "thread lookups: {function}"
    );
    assert!(
        function.contains("OnFailure") && function.contains("EmailDeadLetterQueue"),
        "{function}"
    );
    // The sending functions send only as EmailFrom's address.
    for sender in ["OffHoursAutoReplyFunction", "AgentReplyFunction"] {
        let f = serde_yaml::to_string(&resource(sender)).unwrap();
        assert!(
            f.contains("ses:FromAddress") && f.contains("EmailFrom"),
            "{sender}: {f}"
        );
    }
    let events = serde_yaml::to_string(&resource("EmailEventDestination")).unwrap();
    for kind in ["delivery", "bounce", "complaint"] {
        assert!(events.contains(kind), "{events}");
    }
}

/// Floods are throttled before any function runs, every function keeps its logs
/// for a set time, and failures raise alarms (docs/operations.md).
#[test]
fn the_template_throttles_keeps_logs_and_raises_alarms() {
    let template = Template::load().unwrap();
    let text = |id: &str| {
        serde_yaml::to_string(
            template
                .resources()
                .find(|(r, _)| *r == id)
                .map(|(_, v)| v)
                .unwrap_or_else(|| panic!("{id} is in the template")),
        )
        .unwrap()
    };
    let api = text("HttpApi");
    assert!(
        api.contains("DefaultRouteSettings") && api.contains("ApiRateLimit"),
        "{api}"
    );
    for route in [
        "POST /webhooks/whatsapp",
        "POST /webhooks/telegram",
        "GET /availability",
        "GET /widget/messages",
        "POST /widget/messages",
        "POST /widget/session",
        "GET /widget/config",
    ] {
        assert!(api.contains(route), "{route} has its own limit: {api}");
    }
    let functions: Vec<String> = template
        .resources()
        .filter(|(_, v)| {
            v.get("Type").and_then(serde_yaml::Value::as_str) == Some("AWS::Serverless::Function")
        })
        .map(|(id, _)| id.to_string())
        .collect();
    assert_eq!(functions.len(), 9, "{functions:?}");
    for f in &functions {
        let group = f.replace("Function", "LogGroup");
        assert!(
            text(f).contains(&format!("LogGroup: !Ref {group}")) || text(f).contains(&group),
            "{f} logs to {group}"
        );
        let g = text(&group);
        assert!(
            g.contains("LogRetentionDays") && g.contains("/asyncdesk/"),
            "{g}"
        );
        let alarm = text(&f.replace("Function", "ErrorsAlarm"));
        assert!(
            alarm.contains("Errors") && alarm.contains(f.as_str()),
            "{alarm}"
        );
    }
    for (alarm, queue) in [
        ("AutoReplyFailuresAlarm", "AutoReplyFailureQueue"),
        ("MediaFailuresAlarm", "MediaFailureQueue"),
        ("EmailDeadLettersAlarm", "EmailDeadLetterQueue"),
    ] {
        let a = text(alarm);
        assert!(
            a.contains(queue) && a.contains("ApproximateNumberOfMessagesVisible"),
            "{a}"
        );
    }
    for f in &functions {
        assert!(
            text(f).contains("ReservedConcurrentExecutions"),
            "{f} has its own reserved concurrency"
        );
    }
}

/// The auto-reply function reads exactly this table's stream: an explicit mapping,
/// not a SAM event (which attaches a managed policy over every stream).
#[test]
fn the_stream_is_read_by_an_explicit_mapping_scoped_to_our_table() {
    let template = Template::load().unwrap();
    let text = serde_yaml::to_string(template.raw()).unwrap();
    assert!(!text.contains("Type: DynamoDB"), "no SAM DynamoDB event");
    let (function, patterns) = template.stream_consumer().unwrap();
    assert_eq!(function, "OffHoursAutoReplyFunction");
    // New messages that want an answer; conversations with a wait (the reports).
    assert_eq!(patterns.len(), 3);
    let f = template
        .resources()
        .find(|(r, _)| *r == "OffHoursAutoReplyFunction")
        .map(|(_, v)| serde_yaml::to_string(v).unwrap())
        .unwrap();
    assert!(
        f.contains("dynamodb:GetRecords") && f.contains("ConversationTable.StreamArn"),
        "{f}"
    );
    let mapping = template
        .resources()
        .find(|(r, _)| *r == "AutoReplyStreamMapping")
        .map(|(_, v)| serde_yaml::to_string(v).unwrap())
        .unwrap();
    for setting in [
        "ReportBatchItemFailures",
        "BisectBatchOnFunctionError",
        "AutoReplyFailureQueue",
        "MaximumRecordAgeInSeconds",
    ] {
        assert!(mapping.contains(setting), "{setting}: {mapping}");
    }
    // The media capture reads the same stream through its own mapping: new
    // customer media messages only.
    let (function, patterns) = template.stream_consumer_of("MediaCaptureFunction").unwrap();
    assert_eq!(function, "MediaCaptureFunction");
    assert_eq!(patterns.len(), 1);
    assert_eq!(template.stream_consumers().unwrap().len(), 2);
}

/// The full BUSINESS_HOURS example of docs/configuration.md is a valid
/// configuration, and shows every feature it claims to.
#[test]
fn the_documented_business_hours_example_is_valid() {
    let doc = std::fs::read_to_string(
        asyncdesk_tests::workspace_root()
            .join("docs")
            .join("configuration.md"),
    )
    .unwrap();
    let section = &doc[doc.find("## Business hours").expect("the section")..];
    let start = section.find("```json\n").expect("a JSON example") + "```json\n".len();
    let example = &section[start..start + section[start..].find("```").unwrap()];
    let hours = asyncdesk::hours::BusinessHours::from_json(example, chrono::Utc::now())
        .unwrap_or_else(|e| panic!("the documented example: {e}"));
    for feature in [
        "22:00-06:00",
        "\"from\"",
        "\"hours\": []",
        "\"languages\"",
        "\"channels\"",
        "{reply_by_local}",
        "{customer_name}",
        "{next_open}",
    ] {
        assert!(example.contains(feature), "the example shows {feature}");
    }
    assert!(hours.templates.languages.contains_key("de"));
}
