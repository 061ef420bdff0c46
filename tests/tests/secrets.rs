//! Secrets come from SSM Parameter Store at cold start, in one request, and the
//! configuration reads them like variables; none is in a function's environment.
//! Against moto's SSM, through the counting proxy.

use asyncdesk::config::AgentConfig;
use asyncdesk::ports::Outbound;
use asyncdesk::secrets;
use asyncdesk_tests::proxy::CountingProxy;
use asyncdesk_tests::template::Template;
use asyncdesk_tests::{aws, kit, tools};
use std::collections::HashMap;
use std::time::Instant;

#[tokio::test]
async fn a_function_reads_its_secrets_in_one_request_and_none_from_its_environment() {
    let path = format!("/asyncdesk-test-{}", uuid::Uuid::new_v4().simple());
    let direct = aws_sdk_ssm::Client::new(&aws::local_config(tools::shared_endpoint()).await);
    let stored = [
        ("WHATSAPP_ACCESS_TOKEN", "EAAG-secret-access-token"),
        ("TELEGRAM_BOT_TOKEN", "777000:secret-bot-token"),
        (
            "AGENT_API_KEYS",
            &format!("alice={}", asyncdesk::auth::hash_key("k"))[..],
        ),
    ];
    for (name, value) in stored {
        direct
            .put_parameter()
            .name(format!("{path}/{name}"))
            .value(value)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .send()
            .await
            .unwrap();
    }
    let (proxy, _task) = CountingProxy::start(tools::shared_endpoint()).await;
    let client = aws_sdk_ssm::Client::new(&aws::local_config(&proxy.endpoint).await);
    let started = Instant::now();
    let loaded = secrets::read(
        &client,
        &path,
        &[
            "WHATSAPP_ACCESS_TOKEN",
            "TELEGRAM_BOT_TOKEN",
            "AGENT_API_KEYS",
            "WHATSAPP_APP_SECRET",
        ],
    )
    .await
    .unwrap();
    println!(
        "cold-start secrets: 1 GetParameters, {:?} against the local moto",
        started.elapsed()
    );
    let ops = proxy.operations();
    assert_eq!(ops.len(), 1, "{ops:?}");
    assert!(ops[0].ends_with("GetParameters"), "{ops:?}");
    assert_eq!(
        loaded.secrets_loaded(),
        3,
        "a missing parameter leaves its variable unset"
    );

    // The agent function's configuration: the environment the template gives it,
    // with the secrets on top.
    let env: HashMap<&str, String> = HashMap::from([
        ("TABLE_NAME", "asyncdesk-table".to_string()),
        ("BUSINESS_HOURS", kit::DEV_HOURS.to_string()),
        ("EMAIL_FROM", String::new()),
    ]);
    let lookup = |k: &str| env.get(k).cloned();
    let config = AgentConfig::load(&|k| loaded.get(&lookup, k)).expect("agent config");
    assert!(config.agent_keys.authenticate(Some("Bearer k")).is_some());
    assert!(
        config
            .channels
            .enabled(asyncdesk::conversation::Channel::Whatsapp)
    );
    assert!(
        config
            .channels
            .enabled(asyncdesk::conversation::Channel::Telegram)
    );
    // A parameter that is not in SSM stays unset.
    assert_eq!(loaded.get(&lookup, "WHATSAPP_APP_SECRET"), None);

    // No path: nothing is read; a bad path names the variable.
    let sdk = asyncdesk::sdk::load().await;
    let none = secrets::load(&sdk, &|_| None, &["AGENT_API_KEYS"])
        .await
        .unwrap();
    assert_eq!(none.secrets_loaded(), 0);
    let bad = secrets::load(
        &sdk,
        &|k| (k == "SECRETS_SSM_PATH").then(|| "no slash".to_string()),
        &[],
    )
    .await
    .unwrap_err();
    assert_eq!(bad.field, "SECRETS_SSM_PATH");
}

#[test]
fn no_secret_is_in_a_functions_environment_and_each_reads_only_its_own() {
    let template = Template::load().unwrap();
    let text = serde_yaml::to_string(template.raw()).unwrap();
    for (function, own) in [
        (
            "InboundWebhookFunction",
            &[
                "WHATSAPP_APP_SECRET",
                "WHATSAPP_VERIFY_TOKEN",
                "TELEGRAM_WEBHOOK_SECRET",
            ][..],
        ),
        (
            "OffHoursAutoReplyFunction",
            &["WHATSAPP_ACCESS_TOKEN", "TELEGRAM_BOT_TOKEN"][..],
        ),
        (
            "AgentReplyFunction",
            &[
                "WHATSAPP_ACCESS_TOKEN",
                "TELEGRAM_BOT_TOKEN",
                "AGENT_API_KEYS",
                "DESK_SESSION_SECRET",
            ][..],
        ),
        ("InboundEmailFunction", &[][..]),
        ("AvailabilityFunction", &[][..]),
    ] {
        let env = template.function_env(function);
        for secret in secrets::SECRET_NAMES {
            assert!(
                !env.iter().any(|v| v == secret),
                "{function} has {secret} in its environment"
            );
        }
        let resource = template
            .resources()
            .find(|(r, _)| *r == function)
            .map(|(_, v)| serde_yaml::to_string(v).unwrap())
            .unwrap();
        for secret in secrets::SECRET_NAMES {
            let granted = resource.contains(&format!("${{SecretsPath}}/{secret}"));
            assert_eq!(granted, own.contains(secret), "{function} and {secret}");
        }
        assert!(
            !resource.contains("${SecretsPath}/*"),
            "{function}: exact parameters only"
        );
    }
    assert!(text.contains("SECRETS_SSM_PATH"));
}
