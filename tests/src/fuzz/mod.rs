//! Fuzzing every parser that reads outside input, on stable Rust (cargo-fuzz needs a
//! nightly toolchain): proptest generates arbitrary bytes and structure-aware
//! variants of real seeds (`gen`), each target must neither panic nor answer a 5xx,
//! and a failure is shrunk to a minimal input and saved. `asyncdesk-fuzz` runs the
//! targets for a given time (README, "Fuzzing").

pub mod inputs;
mod targets;

pub use targets::{agent_api, pure_targets};

use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use std::time::{Duration, Instant};

/// What a target checks for one input: `Err` names what went wrong.
pub type Check = Box<dyn Fn(&[u8]) -> Result<(), String>>;

pub struct Target {
    pub name: &'static str,
    pub seeds: Vec<Vec<u8>>,
    pub check: Check,
}

/// How a run went.
#[derive(Debug)]
pub struct Report {
    pub target: &'static str,
    pub cases: u64,
    pub elapsed: Duration,
}

/// A failing input, shrunk, and why it fails.
#[derive(Debug)]
pub struct Failure {
    pub target: &'static str,
    pub reason: String,
    pub input: Vec<u8>,
}

/// Runs `target` for `budget`, in rounds of 512 cases from fresh random seeds.
pub fn run(target: &Target, budget: Duration) -> Result<Report, Failure> {
    let started = Instant::now();
    let strategy = inputs::inputs(target.seeds.clone());
    let mut cases = 0u64;
    while started.elapsed() < budget {
        let mut runner = TestRunner::new(Config {
            cases: 512,
            failure_persistence: None,
            max_shrink_iters: 2048,
            ..Config::default()
        });
        let outcome = runner.run(&strategy, |input| {
            (target.check)(&input).map_err(TestCaseError::fail)
        });
        match outcome {
            Ok(()) => cases += 512,
            Err(TestError::Fail(reason, input)) => {
                return Err(Failure {
                    target: target.name,
                    reason: reason.to_string(),
                    input,
                });
            }
            Err(TestError::Abort(reason)) => {
                return Err(Failure {
                    target: target.name,
                    reason: format!("aborted: {reason}"),
                    input: Vec::new(),
                });
            }
        }
    }
    Ok(Report {
        target: target.name,
        cases,
        elapsed: started.elapsed(),
    })
}
