//! The website chat as a visitor uses it: a real Chromium (Debian's, driven by
//! Playwright for Python from `.venv`) on the demo shop page (`/dev/site`, served as
//! `localhost`) embedding the widget from the API's origin (`127.0.0.1`), under a
//! strict CSP. Two runs of `tests/browser/widget.py`: open hours (live replies, a
//! reload, a second tab, a minute offline, 360 px, axe-core) and closed hours (the
//! promise equals /availability's and the auto-reply's, the contact field).
//! Screenshots land in `target/widget-screenshots` (with `UPDATE_SCREENSHOTS=1`, in
//! `docs/img` for the README).
//!
//! Without a Chromium the test says so and skips, except under `CI=true`.

use asyncdesk_tests::kit;
use asyncdesk_tests::stack::{self, DEV_AGENT_KEY, Settings};
use asyncdesk_tests::{tools, workspace_root};
use std::collections::HashMap;

async fn run(scenario: &str, hours: String) {
    let Some(chromium) = tools::chromium() else {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        assert!(
            !ci,
            "CI=true but no Chromium: .ci/run installs Debian's chromium (apt-get install chromium)"
        );
        eprintln!(
            "SKIPPED widget browser test ({scenario}): no Chromium at /usr/bin/chromium (apt-get install chromium, or set CHROMIUM)"
        );
        return;
    };
    tools::ensure_browser_tools().expect("playwright and axe-core install into .venv");
    let overrides: HashMap<&str, String> = HashMap::from([
        ("PORT", "0".to_string()),
        (
            "TABLE_NAME",
            format!("asyncdesk-widget-{}", uuid::Uuid::new_v4().simple()),
        ),
        ("BUSINESS_HOURS", hours),
    ]);
    let running = stack::start(Settings::new(&|k| overrides.get(k).cloned()))
        .await
        .expect("local stack starts");
    let shots = if std::env::var("UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1") {
        workspace_root().join("docs").join("img")
    } else {
        workspace_root().join("target").join("widget-screenshots")
    };
    std::fs::create_dir_all(&shots).unwrap();
    let base = running.base_url.clone();
    let site = format!("{}/dev/site", base.replace("127.0.0.1", "localhost"));
    let scenario_name = scenario.to_string();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(tools::venv_bin("python"))
            .arg(
                workspace_root()
                    .join("tests")
                    .join("browser")
                    .join("widget.py"),
            )
            .env("WIDGET_BASE_URL", &base)
            .env("SITE_URL", &site)
            .env("WIDGET_SCENARIO", &scenario_name)
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
        "the widget's {scenario} scenario failed:\n{text}"
    );
    assert!(text.contains("ALL WIDGET SCENARIOS PASSED"), "{text}");
}

/// One after the other: the open run measures reply latency, which a second
/// browser on the same two cores would skew.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_visitor_chats_live_in_hours_and_is_told_the_truth_outside_them() {
    let days: serde_json::Map<String, serde_json::Value> =
        ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
            .iter()
            .map(|d| (d.to_string(), serde_json::json!(["00:00-24:00"])))
            .collect();
    let hours = serde_json::json!({"timezone": "Europe/Berlin", "weekly": days,
        "first_response_minutes": 15, "auto_reply": {"default": "Away until {reply_by_local}."}});
    run("open", hours.to_string()).await;
    run(
        "closed",
        kit::closed_now_hours("We're away. A person will answer by {reply_by_local}."),
    )
    .await;
}
