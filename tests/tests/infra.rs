//! The SAM template: cfn-lint clean, and consistent with what the code expects.

use asyncdesk::config::{AgentConfig, AutoReplyConfig, InboundConfig};
use asyncdesk::store::items;
use asyncdesk_tests::template::Template;
use asyncdesk_tests::{tools, workspace_root};
use std::collections::HashMap;

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

#[test]
fn table_matches_the_store_adapter() {
    let t = Template::load().unwrap().table().unwrap();
    assert_eq!(
        t.key_schema,
        [
            ("pk".to_string(), "HASH".to_string()),
            ("sk".to_string(), "RANGE".to_string())
        ]
    );
    let index = t
        .indexes
        .iter()
        .find(|i| i.name == items::STATUS_INDEX)
        .expect("status index");
    assert_eq!(
        index.key_schema,
        [
            ("status".to_string(), "HASH".to_string()),
            ("status_since".to_string(), "RANGE".to_string())
        ]
    );
    assert!(
        t.attributes
            .contains(&("status_since".to_string(), "N".to_string())),
        "numeric sort for the queue"
    );
    assert_eq!(t.ttl_attribute.as_deref(), Some(items::EXPIRES_AT));
    assert!(
        t.stream_view_type.contains("NEW_IMAGE"),
        "the auto-reply reads the new image"
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
        _ => "set".to_string(),
    }
    };
    let env_of = |function: &str| -> HashMap<String, String> {
        template
            .function_env(function)
            .into_iter()
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

#[test]
fn api_routes_are_the_documented_ones() {
    let mut routes: Vec<(String, String, String)> = Template::load()
        .unwrap()
        .http_routes()
        .into_iter()
        .map(|r| (r.method, r.path, r.function))
        .collect();
    routes.sort();
    let expected = [
        ("GET", "/conversations", "AgentReplyFunction"),
        ("GET", "/conversations/{id}", "AgentReplyFunction"),
        ("GET", "/webhooks/whatsapp", "InboundWebhookFunction"),
        ("POST", "/conversations/{id}/messages", "AgentReplyFunction"),
        ("POST", "/webhooks/telegram", "InboundWebhookFunction"),
        ("POST", "/webhooks/whatsapp", "InboundWebhookFunction"),
    ];
    let expected: Vec<(String, String, String)> = expected
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(routes, expected);
}
