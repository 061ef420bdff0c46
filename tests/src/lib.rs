//! The local stack (`asyncdesk-local`) and the kit the cross-function tests share:
//! a real DynamoDB-API server (moto) installed into `.venv`, the table created from
//! `infra/template.yaml`, a WhatsApp Graph API sandbox, the stream feeder that calls
//! the auto-reply handler as Lambda would, and an HTTP server over the same handlers.

pub mod aws;
pub mod bot_sandbox;
pub mod capacity;
pub mod charging;
pub mod email_rig;
pub mod filter;
pub mod fuzz;
pub mod hooked;
pub mod kit;
pub mod mail;
pub mod proxy;
pub mod sandbox;
pub mod server;
pub mod stack;
pub mod stream;
pub mod template;
pub mod tools;

/// The workspace root (where `infra/`, `.venv` and `README.md` live).
pub fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
