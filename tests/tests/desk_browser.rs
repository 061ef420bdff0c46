//! The desk as an agent uses it: a real Chromium (Debian's, driven by Playwright for
//! Python from `.venv`) against the local stack, elements found by role and
//! accessible name, axe-core on every view. The scenarios are in
//! `tests/browser/desk.py`; `asyncdesk_tests::browser::run` starts the stack, runs
//! them and fails with their output. Screenshots land in `target/desk-screenshots`
//! (with `UPDATE_SCREENSHOTS=1`, in `docs/img` for the README).

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_agent_works_the_queue_in_a_real_browser() {
    asyncdesk_tests::browser::run(
        "desk.py",
        "desk",
        &[],
        |base| vec![("DESK_BASE_URL", base.to_string())],
        "ALL DESK SCENARIOS PASSED",
    )
    .await;
}
