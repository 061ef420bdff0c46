//! The DynamoDB adapter against a real DynamoDB-API server (moto).

use asyncdesk::channels::whatsapp;
use asyncdesk::conversation::{
    Channel, ConversationStatus, DeliveryState, Endpoint, InboundMessage, Message, StatusUpdate,
};
use asyncdesk::ports::{AssigneeFilter, Order, QueueQuery};
use asyncdesk::store::{ConversationStore, OutboundEffect, Recorded, StatusApplied, StoreError};
use asyncdesk_tests::kit::{self, TestTable};
use asyncdesk_tests::proxy::CountingProxy;
use chrono::{DateTime, Duration, Utc};

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
}

fn inbound(customer: &str, id: &str, at: DateTime<Utc>) -> InboundMessage {
    let body = kit::webhook(
        customer,
        "Ada",
        serde_json::json!([kit::text_message(customer, id, at.timestamp(), "hi")]),
        serde_json::json!([]),
    );
    whatsapp::inbound::parse_webhook(&body, at)
        .unwrap()
        .messages
        .remove(0)
}

fn reaction(customer: &str, id: &str, at: DateTime<Utc>) -> InboundMessage {
    let msg = serde_json::json!({"from":customer,"id":id,"timestamp":at.timestamp().to_string(),"type":"reaction","reaction":{"message_id":"x","emoji":"👍"}});
    let body = kit::webhook(
        customer,
        "Ada",
        serde_json::json!([msg]),
        serde_json::json!([]),
    );
    whatsapp::inbound::parse_webhook(&body, at)
        .unwrap()
        .messages
        .remove(0)
}

fn endpoint(customer: &str) -> Endpoint {
    Endpoint {
        channel: Channel::Whatsapp,
        business_id: kit::PHONE_NUMBER_ID.into(),
        customer_id: customer.into(),
    }
}

fn agent_reply(customer: &str, at: DateTime<Utc>, provider_id: &str) -> Message {
    let mut m = Message::outbound(
        &endpoint(customer),
        asyncdesk::conversation::Author::Agent("alice".into()),
        "on it",
        at,
    );
    m.provider_message_id = Some(provider_id.into());
    m
}

fn status(provider_id: &str, state: DeliveryState, secs: i64) -> StatusUpdate {
    StatusUpdate {
        business_id: kit::PHONE_NUMBER_ID.into(),
        channel: Channel::Whatsapp,
        provider_message_id: provider_id.into(),
        state,
        at: t(secs),
        error: None,
    }
}

#[tokio::test]
async fn one_inbound_message_is_two_small_writes_and_redelivery_stores_nothing() {
    let table = TestTable::new().await;
    let (proxy, _task) = CountingProxy::start(&table.endpoint).await;
    let store = table.store_via(&proxy.endpoint).await;
    let msg = inbound("491511", "wamid.A", t(0));

    assert_eq!(
        store.record_inbound(&msg, t(1)).await.unwrap(),
        Recorded::Stored
    );
    // The conversation read, the message (its own key dedupes it), the conversation.
    assert_eq!(
        proxy.operations(),
        [
            "DynamoDB_20120810.GetItem",
            "DynamoDB_20120810.PutItem",
            "DynamoDB_20120810.UpdateItem"
        ]
    );
    assert_eq!(table.item_types().await, vec!["conversation", "message"]);

    proxy.reset();
    assert_eq!(
        store.record_inbound(&msg, t(2)).await.unwrap(),
        Recorded::Duplicate
    );
    assert_eq!(
        proxy.operations(),
        ["DynamoDB_20120810.GetItem"],
        "the conversation lists it as applied"
    );
    assert_eq!(table.items().await.len(), 2, "a redelivery writes nothing");
    let conv = store
        .get_conversation(&msg.message.conversation_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(conv.message_count, 1);
}

#[tokio::test]
async fn conversation_persists_goes_pending_and_reopens() {
    let table = TestTable::new().await;
    let store = &table.store;
    let first = inbound("491522", "wamid.1", t(0));
    let id = first.message.conversation_id.clone();
    store.record_inbound(&first, t(0)).await.unwrap();
    // A second message while open keeps the original waiting_since.
    store
        .record_inbound(&inbound("491522", "wamid.2", t(60)), t(60))
        .await
        .unwrap();
    let conv = store.get_conversation(&id).await.unwrap().unwrap();
    assert_eq!(
        (
            conv.status,
            conv.waiting_since,
            conv.customer_name.as_deref()
        ),
        (ConversationStatus::Open, Some(t(0)), Some("Ada"))
    );

    store
        .record_outbound(
            &agent_reply("491522", t(120), "wamid.out1"),
            OutboundEffect::AwaitCustomer,
            t(120),
        )
        .await
        .unwrap();
    let conv = store.get_conversation(&id).await.unwrap().unwrap();
    assert_eq!(
        (conv.status, conv.waiting_since, conv.status_since),
        (ConversationStatus::Pending, None, t(120))
    );

    // A reaction does not reopen it...
    store
        .record_inbound(&reaction("491522", "wamid.3", t(130)), t(130))
        .await
        .unwrap();
    assert_eq!(
        store.get_conversation(&id).await.unwrap().unwrap().status,
        ConversationStatus::Pending
    );

    // ...a new message does, waiting from that message on.
    store
        .record_inbound(&inbound("491522", "wamid.4", t(300)), t(300))
        .await
        .unwrap();
    let conv = store.get_conversation(&id).await.unwrap().unwrap();
    assert_eq!(
        (conv.status, conv.waiting_since, conv.message_count),
        (ConversationStatus::Open, Some(t(300)), 5)
    );
    let thread = store.get_thread(&id).await.unwrap().unwrap();
    let ids: Vec<&str> = thread
        .messages
        .iter()
        .map(|m| m.provider_message_id.as_deref().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["wamid.1", "wamid.2", "wamid.out1", "wamid.3", "wamid.4"],
        "oldest first"
    );
}

#[tokio::test]
async fn queue_lists_longest_waiting_first_with_cursor_pagination() {
    let table = TestTable::new().await;
    let store = &table.store;
    // Stored out of order; waiting_since is the customer's first message time.
    for (customer, at) in [
        ("4901", 30),
        ("4902", 10),
        ("4903", 50),
        ("4904", 20),
        ("4905", 40),
    ] {
        store
            .record_inbound(&inbound(customer, &format!("w{customer}"), t(at)), t(100))
            .await
            .unwrap();
    }
    store
        .record_outbound(
            &agent_reply("4904", t(110), "wamid.p"),
            OutboundEffect::AwaitCustomer,
            t(110),
        )
        .await
        .unwrap();

    let all = list(store, ConversationStatus::Open, Order::Waiting, 2).await;
    let order: Vec<&str> = all
        .iter()
        .map(|c| c.endpoint.customer_id.as_str())
        .collect();
    assert_eq!(order, ["4902", "4901", "4905", "4903"]);
    let pending = list(store, ConversationStatus::Pending, Order::Recent, 10).await;
    assert_eq!(pending.len(), 1);
}

/// Every conversation of a listing, paged `limit` at a time.
async fn list(
    store: &impl ConversationStore,
    status: ConversationStatus,
    order: Order,
    limit: u32,
) -> Vec<asyncdesk::conversation::Conversation> {
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let query = QueueQuery {
            status,
            order,
            channel: None,
            assignee: AssigneeFilter::Any,
            priority: None,
            limit,
            cursor,
        };
        let page = store.queue_page(&query, &|_| None, t(1000)).await.unwrap();
        all.extend(page.conversations);
        match page.next {
            Some(next) => cursor = Some(next),
            None => return all,
        }
    }
}

#[tokio::test]
async fn delivery_statuses_only_move_forward() {
    let table = TestTable::new().await;
    let store = &table.store;
    store
        .record_inbound(&inbound("4911", "w1", t(0)), t(0))
        .await
        .unwrap();
    let reply = agent_reply("4911", t(10), "wamid.out");
    store
        .record_outbound(&reply, OutboundEffect::AwaitCustomer, t(10))
        .await
        .unwrap();
    let update = |state, secs| status("wamid.out", state, secs);
    for (state, secs, expected) in [
        (DeliveryState::Delivered, 20, StatusApplied::Applied),
        (DeliveryState::Read, 30, StatusApplied::Applied),
        (DeliveryState::Delivered, 25, StatusApplied::Stale),
        (DeliveryState::Read, 30, StatusApplied::Stale),
    ] {
        assert_eq!(
            store.apply_status(&update(state, secs)).await.unwrap(),
            expected,
            "{state:?} at {secs}"
        );
    }
    let mut unknown = update(DeliveryState::Sent, 5);
    unknown.provider_message_id = "wamid.elsewhere".into();
    assert_eq!(
        store.apply_status(&unknown).await.unwrap(),
        StatusApplied::Parked
    );
    let thread = store
        .get_thread(&reply.conversation_id)
        .await
        .unwrap()
        .unwrap();
    let out = thread.messages.iter().find(|m| m.id == reply.id).unwrap();
    let delivery = out.delivery.as_ref().unwrap();
    assert_eq!((delivery.state, delivery.at), (DeliveryState::Read, t(30)));
}

#[tokio::test]
async fn a_status_that_overtakes_its_reply_is_parked_and_taken_over() {
    let table = TestTable::new().await;
    let store = &table.store;
    store
        .record_inbound(&inbound("4912", "w1", t(0)), t(0))
        .await
        .unwrap();
    let update = |state, secs| status("wamid.fast", state, secs);
    // The reply was accepted by the channel, but its final write has not landed
    // when the callbacks come in: a later state replaces an earlier parked one.
    for (state, secs, expected) in [
        (DeliveryState::Sent, 11, StatusApplied::Parked),
        (DeliveryState::Delivered, 12, StatusApplied::Parked),
        (DeliveryState::Sent, 11, StatusApplied::Stale),
    ] {
        assert_eq!(
            store.apply_status(&update(state, secs)).await.unwrap(),
            expected,
            "{state:?} at {secs}"
        );
    }

    let reply = agent_reply("4912", t(10), "wamid.fast");
    store
        .record_outbound(&reply, OutboundEffect::AwaitCustomer, t(10))
        .await
        .unwrap();
    let delivery_of_reply = || async {
        let thread = store
            .get_thread(&reply.conversation_id)
            .await
            .unwrap()
            .unwrap();
        let out = thread
            .messages
            .into_iter()
            .find(|m| m.id == reply.id)
            .unwrap();
        out.delivery.map(|d| (d.state, d.at))
    };
    assert_eq!(
        delivery_of_reply().await,
        Some((DeliveryState::Delivered, t(12)))
    );
    // Once linked, statuses go to the message as usual.
    assert_eq!(
        store
            .apply_status(&update(DeliveryState::Read, 13))
            .await
            .unwrap(),
        StatusApplied::Applied
    );
    assert_eq!(
        delivery_of_reply().await,
        Some((DeliveryState::Read, t(13)))
    );
    let conv = store
        .get_conversation(&reply.conversation_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (conv.status, conv.message_count),
        (ConversationStatus::Pending, 2)
    );
    // The same provider id cannot be linked to a second message.
    let again = agent_reply("4912", t(20), "wamid.fast");
    assert!(matches!(
        store
            .record_outbound(&again, OutboundEffect::AwaitCustomer, t(20))
            .await,
        Err(StoreError::Corrupt(_))
    ));
}

#[tokio::test]
async fn a_conversation_that_starts_with_a_reaction_waits_for_nothing() {
    let table = TestTable::new().await;
    let store = &table.store;
    let id = endpoint("4913").conversation_id();
    store
        .record_inbound(&reaction("4913", "wamid.r", t(0)), t(0))
        .await
        .unwrap();
    let conv = store.get_conversation(&id).await.unwrap().unwrap();
    assert_eq!(
        (conv.status, conv.waiting_since),
        (ConversationStatus::Resolved, None)
    );
    let queue = list(store, ConversationStatus::Open, Order::Due, 10).await;
    assert!(queue.is_empty());
    store
        .record_inbound(&inbound("4913", "wamid.q", t(60)), t(60))
        .await
        .unwrap();
    let conv = store.get_conversation(&id).await.unwrap().unwrap();
    assert_eq!(
        (conv.status, conv.waiting_since),
        (ConversationStatus::Open, Some(t(60)))
    );
}

#[tokio::test]
async fn reply_to_unknown_conversation_writes_nothing() {
    let table = TestTable::new().await;
    let err = table
        .store
        .record_outbound(
            &agent_reply("4999", t(0), "wamid.x"),
            OutboundEffect::AwaitCustomer,
            t(0),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err}");
    assert!(table.items().await.is_empty());
}

#[tokio::test]
async fn the_auto_reply_claim_is_written_once_per_revision_and_takes_the_hourly_share() {
    use asyncdesk::autoreply::{Claim, Stage};
    use asyncdesk::ports::{AutoReplyClaims, ClaimWrite, HourlyTake};
    let table = TestTable::new().await;
    let id = endpoint("4921").conversation_id();
    let exp = t(0) + Duration::days(8);
    let claim = Claim {
        period: "2026-11-30T08:00Z".into(),
        answers: "m1".into(),
        reply_id: "out-1".into(),
        reply_at: t(0),
        stage: Stage::Sending,
        attempts: 0,
        recent: vec![t(0)],
        rev: 0,
    };
    let store = &table.store;
    assert_eq!(store.read_claim(&id).await.unwrap(), None);
    assert_eq!(
        store
            .write_claim(&id, &claim, None, None, exp)
            .await
            .unwrap(),
        ClaimWrite::Written
    );
    // A second first claim, or a write from a stale revision, loses.
    assert_eq!(
        store
            .write_claim(&id, &claim, None, None, exp)
            .await
            .unwrap(),
        ClaimWrite::Raced
    );
    assert_eq!(store.read_claim(&id).await.unwrap(), Some(claim.clone()));
    let waiting = Claim {
        stage: Stage::Waiting,
        attempts: 1,
        rev: 1,
        ..claim.clone()
    };
    assert_eq!(
        store
            .write_claim(&id, &waiting, Some(0), None, exp)
            .await
            .unwrap(),
        ClaimWrite::Written
    );
    assert_eq!(
        store
            .write_claim(&id, &waiting, Some(0), None, exp)
            .await
            .unwrap(),
        ClaimWrite::Raced
    );
    assert_eq!(store.read_claim(&id).await.unwrap(), Some(waiting.clone()));
    // The hour's shard takes blocks up to its share; past it nothing is written.
    let take = |count| HourlyTake {
        hour: "2026-11-30T02".into(),
        shard: 3,
        share: 12,
        count,
        expires_at: exp,
    };
    let next = |rev: u64| Claim {
        rev: rev + 1,
        ..waiting.clone()
    };
    assert_eq!(
        store
            .write_claim(&id, &next(1), Some(1), Some(&take(10)), exp)
            .await
            .unwrap(),
        ClaimWrite::Written
    );
    assert_eq!(
        store
            .write_claim(&id, &next(2), Some(2), Some(&take(10)), exp)
            .await
            .unwrap(),
        ClaimWrite::HourlyCapReached
    );
    assert_eq!(
        store.read_claim(&id).await.unwrap().unwrap().rev,
        2,
        "nothing written"
    );
    assert_eq!(
        store
            .write_claim(&id, &next(2), Some(2), Some(&take(2)), exp)
            .await
            .unwrap(),
        ClaimWrite::Written
    );
    assert_eq!(
        store
            .write_claim(&id, &next(3), Some(3), Some(&take(1)), exp)
            .await
            .unwrap(),
        ClaimWrite::HourlyCapReached
    );
    // A stale revision with a take: raced, and the take is not counted.
    assert_eq!(
        store
            .write_claim(&id, &next(0), Some(0), Some(&take(1)), exp)
            .await
            .unwrap(),
        ClaimWrite::Raced
    );
}

#[tokio::test]
async fn an_unreachable_table_is_a_transient_error() {
    let store = kit::unreachable_store().await;
    let err = store
        .record_inbound(&inbound("4931", "w", t(0)), t(0))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
}

/// What DynamoDB answers when another request was writing one of the items.
fn transaction_conflict(items: usize) -> serde_json::Value {
    let mut reasons = vec![serde_json::json!({"Code": "None"}); items];
    reasons[items - 1] = serde_json::json!({"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"});
    serde_json::json!({
        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "message": "Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict]",
        "CancellationReasons": reasons
    })
}

#[tokio::test]
async fn a_transaction_conflict_is_run_again_not_reported() {
    let table = TestTable::new().await;
    let (proxy, _task) = CountingProxy::start(&table.endpoint).await;
    let store = table.store_via(&proxy.endpoint).await;
    // A Telegram button press is written with its update's dedupe key in one
    // transaction.
    let tg = tg_press(1, t(0));
    proxy.fail_next("TransactWriteItems", 400, transaction_conflict(2));
    assert_eq!(
        store.record_inbound(&tg, t(1)).await.unwrap(),
        Recorded::Stored
    );
    assert_eq!(
        proxy.operations(),
        [
            "DynamoDB_20120810.GetItem",
            "DynamoDB_20120810.TransactWriteItems",
            "DynamoDB_20120810.TransactWriteItems",
            "DynamoDB_20120810.UpdateItem"
        ]
    );
    let msg = inbound("491533", "wamid.C", t(0));
    store.record_inbound(&msg, t(1)).await.unwrap();

    // The auto-reply's final write meets a customer message updating the
    // conversation: it is not left `sending`.
    let reply = agent_reply("491533", t(10), "wamid.out.C");
    store.record_sending(&reply).await.unwrap();
    proxy.fail_next("TransactWriteItems", 400, transaction_conflict(3));
    store
        .record_outbound(&reply, OutboundEffect::KeepStatus, t(10))
        .await
        .unwrap();
    let thread = store
        .get_thread(&msg.message.conversation_id)
        .await
        .unwrap()
        .unwrap();
    let out = thread.messages.iter().find(|m| m.id == reply.id).unwrap();
    assert_eq!(out.delivery, reply.delivery);
    assert_eq!(thread.conversation.message_count, 2);

    // A conflict that persists is a transient error, and nothing was written.
    let other = tg_press(2, t(20));
    for _ in 0..3 {
        proxy.fail_next("TransactWriteItems", 400, transaction_conflict(2));
    }
    assert!(matches!(
        store.record_inbound(&other, t(21)).await,
        Err(StoreError::Unavailable(_))
    ));
    let conversation = store
        .get_thread(&tg.message.conversation_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(conversation.conversation.message_count, 1);
    assert_eq!(conversation.messages.len(), 1);
}

fn tg_press(update_id: i64, at: DateTime<Utc>) -> InboundMessage {
    let update = serde_json::json!({"update_id": update_id, "callback_query": {
        "id": format!("cbq-{update_id}"), "chat_instance": "ci",
        "from": {"id": 5150, "is_bot": false, "first_name": "Ada"}, "data": "refund",
        "message": {"message_id": 8, "date": at.timestamp(), "chat": {"id": 5150, "type": "private"},
            "reply_markup": {"inline_keyboard": [[{"text": "Money back", "callback_data": "refund"}]]}}}});
    asyncdesk::channels::telegram::inbound::parse_update(
        &serde_json::to_vec(&update).unwrap(),
        kit::TG_BOT_ID,
        at,
    )
    .unwrap()
    .messages
    .remove(0)
}

/// The upgrade from the first release's `by_queue` index: conversations written
/// then (a `queue` attribute, no index keys, no revision) are re-keyed, after which
/// every listing has them where they belong; a second run writes nothing, and a
/// conversation the functions wrote meanwhile is left alone.
#[tokio::test]
async fn a_table_from_before_the_queue_indexes_is_rekeyed() {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    let table = TestTable::new().await;
    let store = &table.store;
    let fresh = inbound("4998", "new1", t(0));
    store.record_inbound(&fresh, t(0)).await.unwrap();
    // As the earlier release wrote them: open (waiting since t(-600)), snoozed
    // until t(-60) (due), resolved, pending and assigned to alice.
    let old = |i: u32| format!("wa-{i:032x}");
    type Shape<'a> = (&'a str, &'a str, &'a [(&'a str, A)]);
    let shapes: [Shape; 4] = [
        (
            "open",
            "open",
            &[(
                "waiting_since",
                A::N(t(-600).timestamp_millis().to_string()),
            )],
        ),
        (
            "snoozed",
            "snoozed",
            &[("snooze_until", A::N(t(-60).timestamp_millis().to_string()))],
        ),
        ("resolved", "resolved#2027-01", &[]),
        ("pending", "pending", &[("assignee", A::S("alice".into()))]),
    ];
    for (i, (status, queue, extra)) in shapes.iter().enumerate() {
        let id = old(i as u32 + 1);
        let mut put = table
            .client
            .put_item()
            .table_name(&table.name)
            .item("pk", A::S(format!("CONV#{id}")))
            .item("sk", A::S("META".into()))
            .item("item_type", A::S("conversation".into()))
            .item("id", A::S(id.clone()))
            .item("channel", A::S("whatsapp".into()))
            .item("business_id", A::S("106540352242922".into()))
            .item("customer_id", A::S(format!("49{i}")))
            .item("status", A::S(status.to_string()))
            .item("queue", A::S(queue.to_string()))
            .item("status_since", A::N(t(-600).timestamp_millis().to_string()))
            .item("created_at", A::N(t(-900).timestamp_millis().to_string()))
            .item("updated_at", A::N(t(-600).timestamp_millis().to_string()))
            .item(
                "last_message_at",
                A::N(t(-600).timestamp_millis().to_string()),
            );
        for (k, v) in extra.iter() {
            put = put.item(*k, v.clone());
        }
        put.send().await.unwrap();
    }
    let ids = |cs: Vec<asyncdesk::conversation::Conversation>| -> Vec<String> {
        cs.into_iter().map(|c| c.id.to_string()).collect()
    };
    // Before the re-key the old ones are in no listing.
    assert_eq!(
        ids(list(store, ConversationStatus::Open, Order::Due, 10).await),
        [fresh.message.conversation_id.to_string()]
    );
    let done = store.rekey().await.unwrap();
    assert_eq!((done.updated, done.unreadable), (4, 0), "{done:?}");
    assert_eq!(
        done.unchanged, 1,
        "the conversation written by this release"
    );
    assert_eq!(
        ids(list(store, ConversationStatus::Open, Order::Due, 1).await),
        [old(1), fresh.message.conversation_id.to_string()],
        "the longest waiting first"
    );
    assert_eq!(
        ids(list(store, ConversationStatus::Resolved, Order::Recent, 10).await),
        [old(3)]
    );
    assert_eq!(
        ids(list(store, ConversationStatus::Pending, Order::Recent, 10).await),
        [old(4)]
    );
    // Alice's queue reads her partition.
    let mine = QueueQuery {
        status: ConversationStatus::Pending,
        order: Order::Recent,
        channel: None,
        assignee: AssigneeFilter::Agent("alice".into()),
        priority: None,
        limit: 10,
        cursor: None,
    };
    assert_eq!(
        ids(store
            .queue_page(&mine, &|_| None, t(0))
            .await
            .unwrap()
            .conversations),
        [old(4)]
    );
    // The snoozed one is due: the sweep finds it in the wake index.
    assert_eq!(store.wake_snoozed(t(0)).await.unwrap(), 1);
    assert!(
        !table.items().await.iter().any(|i| i.contains_key("queue")),
        "the old attribute goes"
    );
    let again = store.rekey().await.unwrap();
    assert_eq!(
        (again.updated, again.unchanged),
        (0, 5),
        "nothing twice: {again:?}"
    );
}
