//! The test kit the cross-function tests share: tables on the shared moto server,
//! webhook and mail fixtures, a counting and charging proxy in front of DynamoDB,
//! the fuzz targets and the benchmarks. It builds on the dev stack
//! (`asyncdesk-stack`), whose modules it re-exports; the operators' tools are
//! `asyncdesk-ops`.

pub use asyncdesk_stack::{
    BoxError, aws, bot_sandbox, filter, mail, media, retry_queue, sandbox, server, stack, stream,
    template, tools, workspace_root,
};

pub mod agent_rig;
pub mod browser;
pub mod capacity;
pub mod charging;
pub mod email_rig;
pub mod fuzz;
pub mod hooked;
pub mod kit;
pub mod media_rig;
pub mod proxy;
pub mod widget_rig;
