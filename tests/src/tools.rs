//! Python tools the stack and tests need (moto server, cfn-lint), installed on first
//! use into `.venv` under the repository, and the moto server process itself.

use crate::{BoxError, workspace_root};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Pinned ranges of what `.venv` gets.
pub const PIP_PACKAGES: &[&str] = &["moto[server]>=5.1,<6", "cfn-lint>=1.20,<2"];

pub fn venv_bin(tool: &str) -> PathBuf {
    workspace_root().join(".venv").join("bin").join(tool)
}

/// Creates `.venv` and installs the tools unless they are there. Safe to call from
/// several processes at once (a file lock serialises the install).
pub fn ensure_python_tools() -> Result<(), BoxError> {
    let ready = || {
        ["moto_server", "cfn-lint"]
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
    if !ready() {
        return Err("pip finished but moto_server / cfn-lint are missing from .venv/bin".into());
    }
    Ok(())
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

/// A moto server on 127.0.0.1; killed when dropped (and when this process dies).
pub struct MotoServer {
    child: Child,
    pub endpoint: String,
}

impl MotoServer {
    pub fn start() -> Result<Self, BoxError> {
        ensure_python_tools()?;
        let port = free_port();
        let mut cmd = Command::new(venv_bin("moto_server"));
        cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
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
