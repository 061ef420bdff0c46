//! The store: the port (`ConversationStore`, in `crate::ports`), its DynamoDB
//! adapter and the item mapping. `docs/data-model.md` lists the key shapes and the
//! request count of each access pattern.

mod cursors;
pub mod dynamo;
mod erase;
pub mod items;
mod redrive;
mod threads;
mod updates;

pub use crate::ports::{
    ConversationPage, ConversationStore, OutboundEffect, Recorded, StatusApplied, StoreError,
    Thread, ThreadPage,
};
