//! The real store (moto) with faults and interleavings injected where tests need
//! them: an outage of the final write of a send, or a customer message that arrives
//! while a reply is being sent.

use async_trait::async_trait;
use asyncdesk::conversation::{
    Channel, Conversation, ConversationId, InboundMessage, Message, MessageEdit, Rejection,
    StatusUpdate,
};
use asyncdesk::ports::{
    AutoReplyClaims, ClaimWrite, ConversationStore, HourlyTake, IdempotencyRecord, MessageKey,
    OutboundEffect, QueuePage, QueueQuery, Recorded, ReplyBy, StateChange, StatusApplied,
    StoreError, Thread, ThreadCandidate, ThreadPage,
};
use asyncdesk::store::dynamo::DynamoStore;
use chrono::{DateTime, Utc};
use std::sync::Mutex;

pub struct Hooked {
    pub inner: DynamoStore,
    /// `record_outbound` fails as in an outage (after the send went out).
    pub fail_record_outbound: bool,
    /// Stored (as the customer's) right after the next `sending` record: a message
    /// that arrives during the send.
    pub arriving: Mutex<Option<InboundMessage>>,
}

impl Hooked {
    pub fn new(inner: DynamoStore) -> Self {
        Hooked {
            inner,
            fail_record_outbound: false,
            arriving: Mutex::new(None),
        }
    }
}

#[async_trait]
impl ConversationStore for Hooked {
    async fn record_sending(&self, m: &Message) -> Result<(), StoreError> {
        self.inner.record_sending(m).await?;
        let arriving = self.arriving.lock().unwrap().take();
        if let Some(inbound) = arriving {
            self.inner.record_inbound(&inbound, Utc::now()).await?;
        }
        Ok(())
    }
    async fn record_outbound(
        &self,
        m: &Message,
        e: OutboundEffect,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if self.fail_record_outbound {
            return Err(StoreError::Unavailable("injected outage".into()));
        }
        self.inner.record_outbound(m, e, now).await
    }
    async fn record_inbound(
        &self,
        m: &InboundMessage,
        now: DateTime<Utc>,
    ) -> Result<Recorded, StoreError> {
        self.inner.record_inbound(m, now).await
    }
    async fn record_edit(
        &self,
        e: &MessageEdit,
        now: DateTime<Utc>,
    ) -> Result<Recorded, StoreError> {
        self.inner.record_edit(e, now).await
    }
    async fn record_rejection(&self, r: &Rejection) -> Result<(), StoreError> {
        self.inner.record_rejection(r).await
    }
    async fn apply_status(&self, u: &StatusUpdate) -> Result<StatusApplied, StoreError> {
        self.inner.apply_status(u).await
    }
    async fn queue_page(
        &self,
        q: &QueueQuery,
        reply_by: ReplyBy<'_>,
        now: DateTime<Utc>,
    ) -> Result<QueuePage, StoreError> {
        self.inner.queue_page(q, reply_by, now).await
    }
    async fn get_conversation(
        &self,
        id: &ConversationId,
    ) -> Result<Option<Conversation>, StoreError> {
        self.inner.get_conversation(id).await
    }
    async fn get_thread(&self, id: &ConversationId) -> Result<Option<Thread>, StoreError> {
        self.inner.get_thread(id).await
    }
    async fn thread_page(
        &self,
        id: &ConversationId,
        l: u32,
        c: Option<&str>,
    ) -> Result<Option<ThreadPage>, StoreError> {
        self.inner.thread_page(id, l, c).await
    }
    async fn mark_blocked(
        &self,
        id: &ConversationId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.inner.mark_blocked(id, now).await
    }
    async fn change_state(
        &self,
        id: &ConversationId,
        c: &StateChange,
        now: DateTime<Utc>,
    ) -> Result<Conversation, StoreError> {
        self.inner.change_state(id, c, now).await
    }
    async fn wake_snoozed(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        self.inner.wake_snoozed(now).await
    }
    async fn erase_conversation(
        &self,
        id: &ConversationId,
        agent: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<asyncdesk::ports::Erased>, StoreError> {
        self.inner.erase_conversation(id, agent, now).await
    }
    async fn keep_for_redrive(&self, m: &Message, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.inner.keep_for_redrive(m, now).await
    }
    async fn kept_for_redrive(&self, limit: i32) -> Result<Vec<Message>, StoreError> {
        self.inner.kept_for_redrive(limit).await
    }
    async fn redriven(&self, m: &Message) -> Result<(), StoreError> {
        self.inner.redriven(m).await
    }
    async fn find_thread(
        &self,
        c: Channel,
        b: &str,
        token: Option<&ConversationId>,
        keys: &[String],
    ) -> Result<Vec<ThreadCandidate>, StoreError> {
        self.inner.find_thread(c, b, token, keys).await
    }
    async fn claim_idempotency(
        &self,
        k: &str,
        h: &str,
        now: DateTime<Utc>,
        l: DateTime<Utc>,
        e: DateTime<Utc>,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.inner.claim_idempotency(k, h, now, l, e).await
    }
    async fn get_idempotency(&self, k: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.inner.get_idempotency(k).await
    }
    async fn finish_idempotency(&self, k: &str, s: u16, b: &str) -> Result<(), StoreError> {
        self.inner.finish_idempotency(k, s, b).await
    }
    async fn release_idempotency(&self, k: &str) -> Result<(), StoreError> {
        self.inner.release_idempotency(k).await
    }
}

#[async_trait]
impl AutoReplyClaims for Hooked {
    async fn read_claim(
        &self,
        c: &ConversationId,
    ) -> Result<Option<asyncdesk::autoreply::Claim>, StoreError> {
        self.inner.read_claim(c).await
    }
    async fn write_claim(
        &self,
        c: &ConversationId,
        claim: &asyncdesk::autoreply::Claim,
        expected: Option<u64>,
        take: Option<&HourlyTake>,
        e: DateTime<Utc>,
    ) -> Result<ClaimWrite, StoreError> {
        self.inner.write_claim(c, claim, expected, take, e).await
    }
    async fn get_message(&self, k: &MessageKey) -> Result<Option<Message>, StoreError> {
        self.inner.get_message(k).await
    }
    async fn count_intake(
        &self,
        c: &ConversationId,
        m: &str,
        e: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        self.inner.count_intake(c, m, e).await
    }
    async fn mark_flood(&self, m: &Message) -> Result<(), StoreError> {
        self.inner.mark_flood(m).await
    }
}

#[async_trait]
impl asyncdesk::ports::DeskStore for Hooked {
    async fn saved_replies(&self) -> Result<Vec<asyncdesk::ports::SavedReply>, StoreError> {
        self.inner.saved_replies().await
    }
    async fn put_saved_reply(
        &self,
        r: &asyncdesk::ports::SavedReply,
        create: bool,
    ) -> Result<(), StoreError> {
        self.inner.put_saved_reply(r, create).await
    }
    async fn delete_saved_reply(&self, id: &str) -> Result<(), StoreError> {
        self.inner.delete_saved_reply(id).await
    }
    async fn changed_since(
        &self,
        after: DateTime<Utc>,
        limit: i32,
    ) -> Result<asyncdesk::ports::Changes, StoreError> {
        self.inner.changed_since(after, limit).await
    }
}

#[async_trait]
impl asyncdesk::ports::WidgetStore for Hooked {
    async fn thread_since(
        &self,
        id: &ConversationId,
        since: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<asyncdesk::ports::ThreadSince, StoreError> {
        self.inner.thread_since(id, since, limit).await
    }
    async fn take(&self, key: &str, limit: u32, now: DateTime<Utc>) -> Result<bool, StoreError> {
        self.inner.take(key, limit, now).await
    }
}

#[async_trait]
impl asyncdesk::ports::WebMailStore for Hooked {
    async fn due_mail_watches(
        &self,
        before: DateTime<Utc>,
        limit: i32,
    ) -> Result<Vec<asyncdesk::ports::MailWatch>, StoreError> {
        self.inner.due_mail_watches(before, limit).await
    }
    async fn clear_mail_watch(
        &self,
        id: &ConversationId,
        upto: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.inner.clear_mail_watch(id, upto).await
    }
}
