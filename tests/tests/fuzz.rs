//! Every fuzz target runs briefly on each test run (the long runs are
//! `asyncdesk-fuzz`, README "Fuzzing"): the harness works, and no input of a few
//! thousand makes a parser panic or the agent API answer 500.

use asyncdesk_tests::fuzz;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_target_runs_clean_for_a_moment() {
    let mut targets = fuzz::pure_targets();
    let (agent, _table) = fuzz::agent_api().await;
    targets.push(agent);
    assert_eq!(targets.len(), 7);
    for target in &targets {
        let report = fuzz::run(target, Duration::from_secs(2)).unwrap_or_else(|f| {
            panic!(
                "{}: {} on {:?}",
                f.target,
                f.reason,
                String::from_utf8_lossy(&f.input)
            )
        });
        assert!(report.cases >= 512, "{report:?}");
    }
}
