//! The desk as an agent uses it: a real Chromium (Debian's, driven by Playwright for
//! Python from `.venv`) against the local stack, elements found by role and
//! accessible name, axe-core on every view. The scenarios are in
//! `tests/browser/desk.py`; this test starts the stack, runs them and fails with
//! their output. Screenshots land in `target/desk-screenshots` (with
//! `UPDATE_SCREENSHOTS=1`, in `docs/img` for the README).
//!
//! Without a Chromium (`CHROMIUM`, else `/usr/bin/chromium`) the test says so and
//! skips, except under `CI=true`, where `.ci/run` installs it: there it fails.

use asyncdesk_tests::stack::{self, DEV_AGENT_KEY, Settings};
use asyncdesk_tests::{tools, workspace_root};
use std::collections::HashMap;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_agent_works_the_queue_in_a_real_browser() {
    let Some(chromium) = tools::chromium() else {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        assert!(
            !ci,
            "CI=true but no Chromium: .ci/run installs Debian's chromium (apt-get install chromium)"
        );
        eprintln!(
            "SKIPPED desk browser test: no Chromium at /usr/bin/chromium (apt-get install chromium, or set CHROMIUM)"
        );
        return;
    };
    tools::ensure_browser_tools().expect("playwright and axe-core install into .venv");
    let overrides: HashMap<&str, String> = HashMap::from([
        ("PORT", "0".to_string()),
        (
            "TABLE_NAME",
            format!("asyncdesk-desk-{}", uuid::Uuid::new_v4().simple()),
        ),
    ]);
    let running = stack::start(Settings::new(&|k| overrides.get(k).cloned()))
        .await
        .expect("local stack starts");
    let shots = if std::env::var("UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1") {
        workspace_root().join("docs").join("img")
    } else {
        workspace_root().join("target").join("desk-screenshots")
    };
    std::fs::create_dir_all(&shots).unwrap();
    let base = running.base_url.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(tools::venv_bin("python"))
            .arg(
                workspace_root()
                    .join("tests")
                    .join("browser")
                    .join("desk.py"),
            )
            .env("DESK_BASE_URL", &base)
            .env("DESK_AGENT_KEY", DEV_AGENT_KEY)
            .env("CHROMIUM", &chromium)
            .env("SCREENSHOTS", &shots)
            .output()
            .expect("python runs")
    })
    .await
    .unwrap();
    running.stop();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}");
    assert!(
        out.status.success(),
        "the desk's browser scenarios failed:\n{text}"
    );
    assert!(text.contains("ALL DESK SCENARIOS PASSED"), "{text}");
}
