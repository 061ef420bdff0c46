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

async fn run(scenario: &'static str, hours: String) {
    asyncdesk_tests::browser::run(
        "widget.py",
        "widget",
        &[("BUSINESS_HOURS", hours)],
        move |base| {
            vec![
                ("WIDGET_BASE_URL", base.to_string()),
                (
                    "SITE_URL",
                    format!("{}/dev/site", base.replace("127.0.0.1", "localhost")),
                ),
                ("WIDGET_SCENARIO", scenario.to_string()),
            ]
        },
        "ALL WIDGET SCENARIOS PASSED",
    )
    .await;
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
