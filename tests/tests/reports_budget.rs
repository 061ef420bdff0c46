//! The reports' DynamoDB requests through the counting proxy (the budget in
//! docs/data-model.md): recording a wait costs one UpdateItem per change (and a
//! GetItem at its end), nothing on the intake or reply path; a redelivered change
//! changes nothing; a report reads one Query per month; and every action each
//! function performs is one its policy allows.

use asyncdesk::channels::Channels;
use asyncdesk::conversation::Channel;
use asyncdesk_tests::bot_sandbox::BotSandbox;
use asyncdesk_tests::kit::{self, TestTable};
use asyncdesk_tests::proxy::CountingProxy;
use asyncdesk_tests::template::Template;
use aws_lambda_events::event::dynamodb::Event;
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Open all week: no auto-reply, so the stream's message records cost nothing.
const ALWAYS: &str = r#"{"timezone":"UTC","weekly":{"mon":["00:00-24:00"],"tue":["00:00-24:00"],"wed":["00:00-24:00"],"thu":["00:00-24:00"],"fri":["00:00-24:00"],"sat":["00:00-24:00"],"sun":["00:00-24:00"]},"first_response_minutes":30,"auto_reply":{"default":"x"}}"#;

fn ops(proxy: &CountingProxy) -> Vec<String> {
    proxy.operation_names()
}

fn allowed(function: &str) -> BTreeSet<String> {
    Template::load()
        .unwrap()
        .dynamodb_actions(function)
        .into_iter()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_costs_one_write_per_change_and_a_report_one_query_per_month() {
    let table = TestTable::new().await;
    let (proxy, _task) = CountingProxy::start(&table.endpoint).await;
    let bot = BotSandbox::new();
    let (base, _bot_task) = bot.start().await;
    let channels =
        Channels::default().with(Channel::Telegram, Arc::new(kit::telegram_client(&base)));
    let via = table.store_via(&proxy.endpoint).await;
    let auto_reply = kit::auto_reply(via.clone(), channels.clone(), ALWAYS, Vec::new());
    let agent = kit::agent(table.store.clone(), channels);
    let start: DateTime<Utc> = Utc::now() - Duration::minutes(20);

    // A customer writes (directly, not counted), then the stream reaches the function.
    let update = kit::tg_text(1, 501, 1, start.timestamp(), "hello?");
    let inbound = Arc::new(kit::inbound(table.store.clone()));
    let req = kit::telegram_post(&update, Some(kit::TG_SECRET));
    assert_eq!(
        kit::read(inbound_webhook::handle(&req, &inbound, start).await).0,
        200
    );
    let mut seen = 0;
    let feed = |records: Vec<_>| {
        let auto_reply = &auto_reply;
        async move {
            let mut event = Event::default();
            event.records = records;
            let r = off_hours_auto_reply::handle_batch(event, auto_reply, Utc::now()).await;
            assert!(r.batch_item_failures.is_empty());
        }
    };
    let fresh = |all: Vec<aws_lambda_events::event::dynamodb::EventRecord>, seen: &mut usize| {
        let new = all[*seen..].to_vec();
        *seen = all.len();
        new
    };
    let all = table.stream_event().await.records;
    feed(fresh(all, &mut seen)).await;
    assert_eq!(ops(&proxy), ["UpdateItem"], "a wait starts: one write");
    proxy.reset();

    // An agent answers: one read and one write end the wait (the reply's own
    // requests unchanged)
    let id = kit::tg_endpoint(501).conversation_id();
    let req = kit::agent_request(
        "POST",
        &format!("/conversations/{id}/messages"),
        Some(kit::ALICE_KEY),
        Some(json!({"text": "On it."})),
    );
    let (s, _) = kit::read(agent_reply::handle(&req, &agent, Utc::now()).await);
    assert_eq!(s, 201);
    let all = table.stream_event().await.records;
    let records = fresh(all.clone(), &mut seen);
    feed(records).await;
    // (the wait read first: it is measured by the first promise it recorded).
    assert_eq!(
        ops(&proxy),
        ["GetItem", "UpdateItem"],
        "a wait ends: one read, one write"
    );
    proxy.reset();

    // Everything again: the start's write, which its condition refuses, and the
    // end's read, which finds the wait ended; the wait is as it was.
    let before = kit::read(
        reports::handle(
            &kit::agent_request("GET", "/reports/waits", Some(kit::ALICE_KEY), None),
            &reports_deps(via.clone()),
            Utc::now(),
        )
        .await,
    )
    .1;
    proxy.reset();
    feed(all).await;
    assert_eq!(
        ops(&proxy),
        ["UpdateItem", "GetItem"],
        "redelivered: a refused write, a read"
    );
    let auto_reply_actions = proxy.iam_actions();
    proxy.reset();

    // A report of 28 days (this month and, maybe, the last): one Query a month, then
    // the open queue (urgent and normal: 8 partitions each) for what is overdue.
    let deps = reports_deps(via.clone());
    let (s, after) = kit::read(
        reports::handle(
            &kit::agent_request("GET", "/reports/waits", Some(kit::ALICE_KEY), None),
            &deps,
            Utc::now(),
        )
        .await,
    );
    assert_eq!(s, 200);
    assert_eq!(
        after["waits"], before["waits"],
        "a redelivery changes nothing"
    );
    assert_eq!(after["waits"][0]["agent"], "alice");
    let mut report_ops = ops(&proxy);
    let months = report_ops.len();
    assert!(
        (1..=2).contains(&months),
        "waits: one Query a month, {months}"
    );
    proxy.reset();
    let (s, summary) = kit::read(
        reports::handle(
            &kit::agent_request("GET", "/reports/summary", Some(kit::ALICE_KEY), None),
            &deps,
            Utc::now(),
        )
        .await,
    );
    assert_eq!(s, 200, "{summary}");
    let summary_ops = ops(&proxy);
    report_ops.extend(summary_ops.clone());
    println!("a summary's requests: {summary_ops:?}");
    assert!(
        summary_ops
            .iter()
            .all(|o| o == "Query" || o == "BatchGetItem"),
        "{summary_ops:?}"
    );
    assert!(summary_ops.len() <= 2 + 2 * 8 + 2, "{summary_ops:?}");
    // Erasing the customer's data erases their waits (they live in the
    // conversation's partition).
    use asyncdesk::ports::{ConversationStore, WaitStore};
    let now = Utc::now();
    let erased = table
        .store
        .erase_conversation(&id, "alice", now)
        .await
        .unwrap();
    assert!(erased.is_some());
    let left = table
        .store
        .waits_page(now - Duration::days(1), now, None, 10)
        .await
        .unwrap();
    assert!(left.waits.is_empty(), "{:?}", left.waits);
    for (function, performed) in [
        ("OffHoursAutoReplyFunction", auto_reply_actions),
        (
            "ReportsFunction",
            report_ops.iter().map(|o| format!("dynamodb:{o}")).collect(),
        ),
    ] {
        let missing: Vec<String> = performed.difference(&allowed(function)).cloned().collect();
        assert!(
            missing.is_empty(),
            "{function} performs {missing:?}, which its policy does not allow"
        );
    }
}

fn reports_deps(
    store: asyncdesk::store::dynamo::DynamoStore,
) -> reports::Reports<asyncdesk::store::dynamo::DynamoStore> {
    reports::Reports {
        store,
        keys: asyncdesk::auth::AgentKeys::parse(&format!(
            "alice={}",
            asyncdesk::auth::hash_key(kit::ALICE_KEY)
        ))
        .unwrap(),
        hours: asyncdesk::hours::BusinessHours::from_json(ALWAYS, Utc::now()).unwrap(),
        session_secret: None,
    }
}
