//! The dev stack (`cargo local`, `asyncdesk-local`): a real DynamoDB-API server
//! (moto) installed into `.venv`, the table created from `infra/template.yaml`, the
//! channels' stand-ins (WhatsApp Graph API, Telegram Bot API, SES through moto), the
//! stream feeder that calls the auto-reply handler as Lambda would, and an HTTP
//! server over the same handlers. The test kit (`asyncdesk-tests`) builds on it.

pub mod aws;
pub mod bot_sandbox;
pub mod dev_email;
pub mod filter;
pub mod graph_sandbox;
pub mod mail;
pub mod media;
pub mod retry_queue;
pub mod routes;
pub mod sandbox;
pub mod server;
pub mod stack;
pub mod stream;
pub mod template;
pub mod tools;

/// The workspace root (where `infra/`, `.venv` and `README.md` live).
pub fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("tests/stack/ is two levels down")
        .to_path_buf()
}

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
