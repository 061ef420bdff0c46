//! The contract: schemathesis (from PyPI, in `.venv`) generates requests from
//! docs/openapi.yaml against the local stack and checks that no answer is a server
//! error, that every status code and body is the one documented, and that the
//! operations work statefully (links). Two checks are left out on purpose:
//! - positive_data_acceptance: the document cannot say everything the API checks
//!   ("within 5 years of now", "an agent id of AGENT_API_KEYS", "a cursor issued for
//!   this listing", "snooze_until only with snoozed"), so some schema-valid requests
//!   are rightly refused with a documented 400/422;
//! - unsupported_method: API Gateway answers 404 for a method a route does not have,
//!   and the local stack answers as it does.

use asyncdesk_tests::stack::{self, DEV_AGENT_KEY, Settings};
use asyncdesk_tests::{tools, workspace_root};
use std::collections::HashMap;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn schemathesis_finds_no_failure_against_the_local_stack() {
    tools::ensure_python_tools().expect("python tools install");
    let overrides: HashMap<&str, String> = HashMap::from([
        ("PORT", "0".to_string()),
        (
            "TABLE_NAME",
            format!("asyncdesk-contract-{}", uuid::Uuid::new_v4().simple()),
        ),
    ]);
    let running = stack::start(Settings::new(&|k| overrides.get(k).cloned()))
        .await
        .expect("local stack starts");
    let base = running.base_url.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(tools::venv_bin("st"))
            .current_dir(std::env::temp_dir())
            .args([
                "run",
                workspace_root()
                    .join("docs")
                    .join("openapi.yaml")
                    .to_str()
                    .unwrap(),
            ])
            .args(["--url", &base])
            .args(["-H", &format!("Authorization: Bearer {DEV_AGENT_KEY}")])
            .args(["--max-examples", "25", "--seed", "1"])
            .args([
                "--exclude-checks",
                "positive_data_acceptance,unsupported_method",
            ])
            .env("SCHEMATHESIS_HOOKS", "")
            .output()
            .expect("schemathesis runs")
    })
    .await
    .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    running.stop();
    assert!(out.status.success(), "schemathesis found failures:\n{text}");
    assert!(text.contains("passed"), "{text}");
}
