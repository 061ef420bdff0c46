//! The browser scenarios (`tests/browser/*.py`: Playwright for Python from `.venv`
//! driving Debian's Chromium) against a fresh local stack: the stack's settings, the
//! script's environment, its screenshots (with `UPDATE_SCREENSHOTS=1`, in
//! `docs/img` for the README, else `target/<what>-screenshots`), and its verdict.
//!
//! Without a Chromium (`CHROMIUM`, else `/usr/bin/chromium`) a run says so and
//! skips, except under `CI=true`, where `.ci/run` installs it: there it fails.

use crate::stack::{self, DEV_AGENT_KEY, Settings};
use crate::{tools, workspace_root};
use std::collections::HashMap;

/// Runs `tests/browser/<script>` against a stack started with `overrides` (and a
/// fresh table on a free port), with the environment `env` gives for the stack's
/// base URL; fails with the script's output unless it printed `passed`.
pub async fn run(
    script: &str,
    what: &str,
    overrides: &[(&'static str, String)],
    env: impl FnOnce(&str) -> Vec<(&'static str, String)> + Send + 'static,
    passed: &str,
) {
    let Some(chromium) = tools::chromium() else {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        assert!(
            !ci,
            "CI=true but no Chromium: .ci/run installs Debian's chromium (apt-get install chromium)"
        );
        eprintln!(
            "SKIPPED {what} browser test: no Chromium at /usr/bin/chromium (apt-get install chromium, or set CHROMIUM)"
        );
        return;
    };
    tools::ensure_browser_tools().expect("playwright and axe-core install into .venv");
    let mut vars: HashMap<&str, String> = HashMap::from([
        ("PORT", "0".to_string()),
        (
            "TABLE_NAME",
            format!("asyncdesk-{what}-{}", uuid::Uuid::new_v4().simple()),
        ),
    ]);
    vars.extend(overrides.iter().cloned());
    let running = stack::start(Settings::new(&|k| vars.get(k).cloned()))
        .await
        .expect("local stack starts");
    let shots = if std::env::var("UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1") {
        workspace_root().join("docs").join("img")
    } else {
        workspace_root()
            .join("target")
            .join(format!("{what}-screenshots"))
    };
    std::fs::create_dir_all(&shots).unwrap();
    let base = running.base_url.clone();
    let path = workspace_root().join("tests").join("browser").join(script);
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(tools::venv_bin("python"))
            .arg(path)
            .envs(env(&base))
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
        "the {what} browser scenarios failed:\n{text}"
    );
    assert!(text.contains(passed), "{text}");
}
