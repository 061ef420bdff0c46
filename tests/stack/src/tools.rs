//! Python tools the stack and tests need (moto server, cfn-lint, schemathesis), installed on first
//! use into `.venv` under the repository, and the moto server process itself.

use crate::{BoxError, workspace_root};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What `.venv` gets. moto is pinned to the version `tests/moto_local.py` patches;
/// schemathesis to the version the contract test's options are written for.
pub const PIP_PACKAGES: &[&str] = &[
    "moto[server]==5.2.5",
    "cfn-lint>=1.20,<2",
    "schemathesis==4.32.5",
];

/// The launcher that runs moto linearizably, with bounded transactions.
pub fn moto_launcher() -> PathBuf {
    workspace_root().join("tests").join("moto_local.py")
}

pub fn venv_bin(tool: &str) -> PathBuf {
    workspace_root().join(".venv").join("bin").join(tool)
}

/// Creates `.venv` and installs the tools unless they are there. Safe to call from
/// several processes at once (a file lock serialises the install).
pub fn ensure_python_tools() -> Result<(), BoxError> {
    // The marker names the pinned packages, so changing the pins reinstalls.
    let marker = workspace_root()
        .join(".venv")
        .join(format!(".asyncdesk-{:016x}", pins_digest()));
    let ready = || {
        marker.exists()
            && ["moto_server", "cfn-lint", "st", "python"]
                .iter()
                .all(|t| venv_bin(t).exists())
    };
    if ready() {
        return Ok(());
    }
    let root = workspace_root();
    let lock = std::fs::File::create(root.join(".venv.lock"))?;
    lock.lock()?;
    if ready() {
        return Ok(());
    }
    eprintln!(
        "asyncdesk: installing {} into .venv (first run only)...",
        PIP_PACKAGES.join(", ")
    );
    let venv = root.join(".venv");
    if !venv.join("bin").join("pip").exists() {
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        run(
            Command::new(&python).args(["-m", "venv"]).arg(&venv),
            "python3 -m venv .venv",
        )?;
    }
    run(
        Command::new(venv.join("bin").join("pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .args(PIP_PACKAGES),
        "pip install",
    )?;
    std::fs::write(&marker, PIP_PACKAGES.join("\n"))?;
    if !ready() {
        return Err("pip finished but moto_server / cfn-lint are missing from .venv/bin".into());
    }
    Ok(())
}

/// What the browser tests add to `.venv`: Playwright (driving the system's Debian
/// Chromium; no browser download) and axe-core (vendored by axe-playwright-python).
pub const BROWSER_PIP_PACKAGES: &[&str] = &["playwright==1.65.2", "axe-playwright-python==0.1.8"];

/// The system Chromium (`CHROMIUM`, else Debian's `/usr/bin/chromium`), if any.
pub fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    path.exists().then_some(path)
}

/// Installs the browser tests' packages into `.venv` unless they are there.
pub fn ensure_browser_tools() -> Result<(), BoxError> {
    ensure_python_tools()?;
    let marker = workspace_root().join(".venv").join(format!(
        ".asyncdesk-browser-{:016x}",
        digest(BROWSER_PIP_PACKAGES)
    ));
    if marker.exists() {
        return Ok(());
    }
    let lock = std::fs::File::create(workspace_root().join(".venv.lock"))?;
    lock.lock()?;
    if marker.exists() {
        return Ok(());
    }
    eprintln!(
        "asyncdesk: installing {} into .venv (first run only)...",
        BROWSER_PIP_PACKAGES.join(", ")
    );
    run(
        Command::new(venv_bin("pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .args(BROWSER_PIP_PACKAGES),
        "pip install (browser tests)",
    )?;
    std::fs::write(&marker, BROWSER_PIP_PACKAGES.join("\n"))?;
    Ok(())
}

fn pins_digest() -> u64 {
    digest(PIP_PACKAGES)
}

fn digest(packages: &[&str]) -> u64 {
    // FNV-1a: stable across runs and Rust versions.
    packages
        .join("\n")
        .bytes()
        .fold(0xcbf29ce484222325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
        })
}

fn run(cmd: &mut Command, what: &str) -> Result<(), BoxError> {
    let status = cmd
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("{what}: {e}"))?;
    if !status.success() {
        return Err(format!("{what} failed ({status})").into());
    }
    Ok(())
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

/// A moto server on 127.0.0.1, run by `tests/moto_local.py` (one request at a time,
/// transactions that copy only what they touch); killed when dropped (and when this
/// process dies).
pub struct MotoServer {
    child: Child,
    pub endpoint: String,
}

impl MotoServer {
    /// The process id (benchmarks read its memory).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn start() -> Result<Self, BoxError> {
        ensure_python_tools()?;
        let port = free_port();
        let mut cmd = Command::new(venv_bin("python"));
        cmd.arg(moto_launcher())
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .stdout(Stdio::null());
        #[cfg(target_os = "linux")]
        unsafe {
            use std::os::unix::process::CommandExt;
            // Do not outlive the process that started us (tests that panic, Ctrl-C).
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .map_err(|e| format!("starting moto_server: {e}"))?;
        let server = MotoServer {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err("moto_server did not start listening within 60 s".into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(server)
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One moto server per test process (or the one `AWS_ENDPOINT_URL` names). It is
/// started from a thread that lives as long as the process, so the parent-death
/// signal only fires when the process ends.
pub fn shared_endpoint() -> &'static str {
    static ENDPOINT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ENDPOINT.get_or_init(|| {
        if let Ok(ep) = std::env::var("AWS_ENDPOINT_URL") {
            return ep;
        }
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || match MotoServer::start() {
            Ok(server) => {
                tx.send(Ok(server.endpoint.clone())).ok();
                loop {
                    std::thread::park();
                }
            }
            Err(e) => {
                tx.send(Err(e.to_string())).ok();
            }
        });
        rx.recv()
            .expect("moto thread answers")
            .unwrap_or_else(|e| panic!("cannot start moto: {e}"))
    })
}
