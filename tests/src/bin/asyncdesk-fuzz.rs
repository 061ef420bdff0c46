//! `asyncdesk-fuzz [--seconds N] [target...]`: runs each fuzz target (all by
//! default) for N seconds (default 60), prints cases and rate per target, and on a
//! failure saves the shrunk input under `target/fuzz-failures/` and exits 1.
//! Targets: whatsapp, telegram, ses-notification, mime, business-hours, cursors,
//! agent-api (README, "Fuzzing").

use asyncdesk_tests::fuzz::{self, Target};
use std::time::Duration;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1).peekable();
    let mut seconds = 60u64;
    let mut wanted = Vec::new();
    while let Some(arg) = args.next() {
        if arg == "--seconds" {
            seconds = args.next().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
                eprintln!("--seconds takes a whole number");
                std::process::exit(2)
            });
        } else {
            wanted.push(arg);
        }
    }
    // Panics are what the targets look for; proptest reports them, so keep the
    // default hook quiet.
    std::panic::set_hook(Box::new(|_| {}));
    let mut targets: Vec<Target> = fuzz::pure_targets();
    let (agent, _table) = fuzz::agent_api().await;
    targets.push(agent);
    let known: Vec<&str> = targets.iter().map(|t| t.name).collect();
    if let Some(bad) = wanted.iter().find(|w| !known.contains(&w.as_str())) {
        eprintln!("unknown target {bad:?}; targets: {}", known.join(", "));
        std::process::exit(2);
    }
    let mut failed = false;
    for target in targets
        .iter()
        .filter(|t| wanted.is_empty() || wanted.iter().any(|w| w == t.name))
    {
        match fuzz::run(target, Duration::from_secs(seconds)) {
            Ok(r) => println!(
                "{:<17} {:>9} cases in {:>6.1} s ({:>7.0}/s), no failure",
                r.target,
                r.cases,
                r.elapsed.as_secs_f64(),
                r.cases as f64 / r.elapsed.as_secs_f64()
            ),
            Err(f) => {
                failed = true;
                let dir = asyncdesk_tests::workspace_root()
                    .join("target")
                    .join("fuzz-failures");
                let _ = std::fs::create_dir_all(&dir);
                let path = dir.join(format!(
                    "{}-{}.bin",
                    f.target,
                    uuid::Uuid::new_v4().simple()
                ));
                let _ = std::fs::write(&path, &f.input);
                println!(
                    "{:<17} FAILED: {} (input: {})",
                    f.target,
                    f.reason,
                    path.display()
                );
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
}
