//! The store: the port (`ConversationStore`, in `crate::ports`), its DynamoDB
//! adapter and the item mapping. `docs/data-model.md` lists the key shapes and the
//! request count of each access pattern.

mod claims;
mod cursors;
mod deliveries;
mod desk;
pub mod dynamo;
mod edits;
mod erase;
pub mod expr;
mod idempotency;
mod intake;
pub mod items;
mod media;
mod outbound;
mod queue;
mod reads;
mod redrive;
pub mod rekey;
pub mod state;
mod statuses;
mod threads;
pub mod waits;
mod widget;

pub use crate::ports::{
    ConversationStore, OutboundEffect, Recorded, StatusApplied, StoreError, Thread, ThreadPage,
};
pub use statuses::WAKE_BATCH;
