//! The store: the port (`ConversationStore`, in `crate::ports`), its DynamoDB
//! adapter and the item mapping. `docs/data-model.md` lists the key shapes and the
//! request count of each access pattern.

mod cursors;
pub mod dynamo;
mod erase;
pub mod expr;
mod intake;
pub mod items;
mod outbound;
mod queue;
mod redrive;
pub mod rekey;
pub mod state;
mod statuses;
mod threads;

pub use crate::ports::{
    ConversationStore, OutboundEffect, Recorded, StatusApplied, StoreError, Thread, ThreadPage,
};
pub use statuses::WAKE_BATCH;
