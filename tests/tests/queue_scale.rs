//! The core at scale, charged by DynamoDB's capacity rules (the charging proxy in
//! front of moto): what each operation costs in write and read units and index
//! writes (the budgets of docs/data-model.md), that a message to an open
//! conversation writes no index, that a queue page reads tens of units whatever the
//! queue's size, and that a throttled write is answered as DynamoDB answers it and
//! the platform's retries complete it, each message counted once.

use asyncdesk::channels::whatsapp;
use asyncdesk::conversation::{Author, ConversationStatus, InboundMessage, Message};
use asyncdesk::ports::{AssigneeFilter, Order, QueueQuery};
use asyncdesk::store::{ConversationStore, OutboundEffect, StoreError};
use asyncdesk_tests::capacity::Capacity;
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
        serde_json::json!([kit::text_message(
            customer,
            id,
            at.timestamp(),
            "where is my order?"
        )]),
        serde_json::json!([]),
    );
    whatsapp::inbound::parse_webhook(&body, at)
        .unwrap()
        .messages
        .remove(0)
}

fn due_page(limit: u32) -> QueueQuery {
    QueueQuery {
        status: ConversationStatus::Open,
        order: Order::Due,
        channel: None,
        assignee: AssigneeFilter::Any,
        priority: None,
        limit,
        cursor: None,
    }
}

#[tokio::test]
async fn each_operation_stays_within_its_unit_budget() {
    let table = TestTable::new().await;
    let (proxy, _task) =
        CountingProxy::start_charging(&table.endpoint, Capacity::from_template(1e9)).await;
    let store = table.store_via(&proxy.endpoint).await;

    // A new conversation: a read, two small writes (the message, the conversation),
    // its entry in the status index and its key in the desk's change feed.
    store
        .record_inbound(&inbound("4701", "wamid.s1", t(0)), t(0))
        .await
        .unwrap();
    let first = proxy.totals();
    println!("new conversation: {first:?}");
    assert_eq!(first.index_writes, 2, "{first:?}");
    assert_eq!(first.index_write_units, 2.0, "{first:?}");
    assert_eq!(first.write_units, 2.0, "{first:?}");
    assert_eq!(first.read_units, 0.5, "{first:?}");

    // A second message to the open conversation: no queue index write; its key
    // moves in the change feed (delete and put, ~100 bytes each).
    proxy.reset_totals();
    store
        .record_inbound(&inbound("4701", "wamid.s2", t(60)), t(60))
        .await
        .unwrap();
    let second = proxy.totals();
    println!("message to an open conversation: {second:?}");
    assert_eq!(second.index_writes, 2, "{second:?}");
    assert_eq!(second.index_write_units, 2.0, "{second:?}");
    assert_eq!(second.read_units, 0.5, "one eventually consistent read");
    assert_eq!(second.write_units, 2.0, "{second:?}");

    // An agent's answer moves it to pending: a read, and the entry moves.
    proxy.reset_totals();
    let ep = kit::wa_endpoint("4701");
    let reply = Message::outbound(&ep, Author::Agent("alice".into()), "on its way", t(120));
    store.record_sending(&reply).await.unwrap();
    store
        .record_outbound(&reply, OutboundEffect::AwaitCustomer, t(121))
        .await
        .unwrap();
    let answered = proxy.totals();
    println!("agent reply (sending + outcome): {answered:?}");
    // Delete and put in the status index, and in the change feed.
    assert_eq!(answered.index_writes, 4, "{answered:?}");
    assert!(answered.read_units <= 1.0, "{answered:?}");

    // The customer answers: reopened (the same read and two writes).
    proxy.reset_totals();
    store
        .record_inbound(&inbound("4701", "wamid.s3", t(300)), t(300))
        .await
        .unwrap();
    let reopened = proxy.totals();
    println!("reopen: {reopened:?}");
    assert_eq!(reopened.index_writes, 4, "{reopened:?}");
    assert!(reopened.write_units <= 3.0, "{reopened:?}");
}

#[tokio::test]
async fn a_queue_page_reads_the_same_whatever_the_queue_size() {
    let table = TestTable::new().await;
    let (proxy, _task) =
        CountingProxy::start_charging(&table.endpoint, Capacity::from_template(1e9)).await;
    let store = table.store_via(&proxy.endpoint).await;
    let mut reads = Vec::new();
    let mut stored = 0;
    // From 120 on, each of the 4 open partitions holds more than a page.
    for size in [120, 240] {
        while stored < size {
            let customer = format!("48{stored:05}");
            store
                .record_inbound(
                    &inbound(&customer, &format!("wamid.q{stored}"), t(stored)),
                    t(stored),
                )
                .await
                .unwrap();
            stored += 1;
        }
        proxy.reset_totals();
        proxy.reset();
        let page = store
            .queue_page(
                &due_page(25),
                &|at| Some(at + Duration::hours(1)),
                t(10_000),
            )
            .await
            .unwrap();
        assert_eq!(page.conversations.len(), 25);
        let totals = proxy.totals();
        println!(
            "{size} open: {} requests, {} read units",
            proxy.operations().len(),
            totals.read_units
        );
        reads.push(totals.read_units);
        assert!(totals.read_units <= 40.0, "tens of read units: {totals:?}");
    }
    // Which partitions a page draws from depends on the data; its cost does not
    // grow with the queue.
    assert!(
        (reads[1] - reads[0]).abs() <= 2.0,
        "the same page costs about the same at twice the queue: {reads:?}"
    );
}

#[tokio::test]
async fn a_spent_partition_throttles_as_dynamodb_does_and_retries_complete_it_once() {
    let table = TestTable::new().await;
    // Two units a second per partition; four messages to one conversation at once
    // want eight.
    let (proxy, _task) =
        CountingProxy::start_charging(&table.endpoint, Capacity::from_template(2.0)).await;
    let store = table.store_via(&proxy.endpoint).await;
    let id = kit::wa_conversation("4702");
    let messages: Vec<InboundMessage> = (0..4)
        .map(|i| inbound("4702", &format!("wamid.h{i}"), t(i)))
        .collect();
    let mut pending: Vec<&InboundMessage> = messages.iter().collect();
    let mut refused = 0;
    // The platform delivers again what was answered with an error, until stored.
    for _ in 0..20 {
        let runs = pending.iter().map(|m| store.record_inbound(m, t(10)));
        let results = futures_util::future::join_all(runs).await;
        let mut again = Vec::new();
        for (m, r) in pending.iter().zip(results) {
            match r {
                Ok(_) => {}
                Err(StoreError::Unavailable(_)) => {
                    refused += 1;
                    again.push(*m);
                }
                Err(e) => panic!("{e:?}"),
            }
        }
        pending = again;
        if pending.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    assert!(pending.is_empty(), "every message stored in the end");
    println!(
        "throttled requests {}, refused intakes {refused}",
        proxy.totals().throttled
    );
    assert!(proxy.totals().throttled >= 1, "{:?}", proxy.totals());
    let thread = table.store.get_thread(&id).await.unwrap().unwrap();
    assert_eq!(thread.messages.len(), 4);
    assert_eq!(
        thread.conversation.message_count, 4,
        "each message counted once, whatever was refused midway"
    );
    assert_eq!(thread.conversation.unanswered, 4);
}
