//! The off-hours auto-reply handler, fed the table's real stream (moto) in the Lambda
//! event shape and through the template's filter, sending to a local Graph API stand-in.

use asyncdesk::channels::{Channels, whatsapp};
use asyncdesk::conversation::{Author, DeliveryState};
use asyncdesk::hours::BusinessHours;
use asyncdesk::store::ConversationStore;
use asyncdesk_tests::kit::{self, TestTable};
use asyncdesk_tests::sandbox::GraphSandbox;
use chrono::{DateTime, Duration, Utc};
use off_hours_auto_reply::{AutoReply, auto_reply_to, handle_batch};
use serde_json::json;

/// Open Mondays 08:00-18:00 UTC only. 2026-11-24 is a Tuesday.
const HOURS: &str = r#"{"timezone":"UTC","weekly":{"mon":["08:00-18:00"]},"first_response_minutes":30,
    "auto_reply":{"default":"We're away; we'll reply by {reply_by}."}}"#;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

struct Rig {
    table: TestTable,
    sandbox: GraphSandbox,
    deps: AutoReply<asyncdesk::store::dynamo::DynamoStore, Channels>,
    _task: tokio::task::JoinHandle<()>,
}

async fn rig() -> Rig {
    let table = TestTable::new().await;
    let sandbox = GraphSandbox::new();
    let (base, task) = sandbox.start().await;
    let channels = kit::whatsapp_channels(&base, "token-xyz");
    let deps = AutoReply {
        store: table.store.clone(),
        outbound: channels,
        hours: BusinessHours::from_json(HOURS, Utc::now()).unwrap(),
        max_age: Duration::minutes(60),
        daily_cap: 3,
        hourly_cap: off_hours_auto_reply::HourlyTokens::new(1000),
        own_addresses: Vec::new(),
        retries: None,
        continuity: None,
    };
    Rig {
        table,
        sandbox,
        deps,
        _task: task,
    }
}

async fn receive(rig: &Rig, customer: &str, messages: serde_json::Value, now: DateTime<Utc>) {
    let body = kit::webhook(customer, "Ada", messages, json!([]));
    for m in whatsapp::inbound::parse_webhook(&body, now)
        .unwrap()
        .messages
    {
        rig.table.store.record_inbound(&m, now).await.unwrap();
    }
}

#[tokio::test]
async fn off_hours_message_gets_exactly_one_auto_reply_per_period() {
    let rig = rig().await;
    let now = at("2026-11-24T21:00:00Z"); // Tuesday evening: closed until Monday 08:00.
    receive(
        &rig,
        "4930",
        json!([kit::text_message(
            "4930",
            "w1",
            now.timestamp() - 60,
            "Hello?"
        )]),
        now,
    )
    .await;
    receive(
        &rig,
        "4930",
        json!([kit::text_message(
            "4930",
            "w2",
            now.timestamp() - 30,
            "Anyone?"
        )]),
        now,
    )
    .await;

    let event = rig.table.stream_event().await;
    assert_eq!(
        kit::message_records(&event),
        2,
        "the filter passes new inbound messages only"
    );
    let resp = handle_batch(event.clone(), &rig.deps, now).await;
    assert!(resp.batch_item_failures.is_empty());
    // Lambda may deliver the same records again: still one auto-reply.
    handle_batch(event, &rig.deps, now).await;

    let outbox = rig.sandbox.outbox();
    assert_eq!(outbox.len(), 1, "{outbox:?}");
    assert_eq!(outbox[0].to, "+4930", "international format");
    assert_eq!(outbox[0].business_id, kit::PHONE_NUMBER_ID);
    assert_eq!(
        outbox[0].text,
        "We're away; we'll reply by Mon 30 Nov, 08:30 UTC."
    );
    assert_eq!(rig.sandbox.authorizations(), vec!["Bearer token-xyz"]);

    let id = asyncdesk::conversation::Endpoint {
        channel: asyncdesk::conversation::Channel::Whatsapp,
        business_id: kit::PHONE_NUMBER_ID.into(),
        customer_id: "4930".into(),
    }
    .conversation_id();
    let thread = rig.table.store.get_thread(&id).await.unwrap().unwrap();
    let auto: Vec<_> = thread
        .messages
        .iter()
        .filter(|m| m.author == Author::AutoReply)
        .collect();
    assert_eq!(auto.len(), 1);
    assert_eq!(
        auto[0].provider_message_id.as_deref(),
        Some(outbox[0].id.as_str())
    );
    assert_eq!(auto[0].author, Author::AutoReply);
    // The auto-reply does not count as an answer: the customer is still waiting.
    assert_eq!(
        thread.conversation.status,
        asyncdesk::conversation::ConversationStatus::Open
    );

    // The next off-hours period (after Monday's opening) gets its own auto-reply.
    let later = at("2026-11-30T19:00:00Z");
    receive(
        &rig,
        "4930",
        json!([kit::text_message("4930", "w3", later.timestamp(), "Again")]),
        later,
    )
    .await;
    let event = rig.table.stream_event().await;
    handle_batch(event, &rig.deps, later).await;
    assert_eq!(rig.sandbox.outbox().len(), 2);
}

#[tokio::test]
async fn no_auto_reply_in_hours_for_old_messages_or_reactions() {
    let rig = rig().await;
    let monday_noon = at("2026-11-30T12:00:00Z");
    receive(
        &rig,
        "4931",
        json!([kit::text_message(
            "4931",
            "in-hours",
            monday_noon.timestamp(),
            "hi"
        )]),
        monday_noon,
    )
    .await;
    let sunday = at("2026-11-29T12:00:00Z");
    // Sent two hours before it reached us (a delayed redelivery): too old.
    receive(
        &rig,
        "4932",
        json!([kit::text_message(
            "4932",
            "old",
            sunday.timestamp() - 7200,
            "hi"
        )]),
        sunday,
    )
    .await;
    let reaction = json!({"from":"4933","id":"r1","timestamp":sunday.timestamp().to_string(),"type":"reaction","reaction":{"message_id":"x","emoji":"👍"}});
    receive(&rig, "4933", json!([reaction]), sunday).await;

    let event = rig.table.stream_event().await;
    assert_eq!(
        kit::message_records(&event),
        2,
        "the template's filter drops the reaction"
    );
    handle_batch(event, &rig.deps, sunday).await;
    assert!(rig.sandbox.outbox().is_empty());
    assert_eq!(rig.sandbox.requests(), 0);

    // Even handed a reaction directly, the handler does not answer it.
    let body = kit::webhook("4933", "R", json!([reaction]), json!([]));
    let msg = whatsapp::inbound::parse_webhook(&body, sunday)
        .unwrap()
        .messages
        .remove(0)
        .message;
    let outcome = auto_reply_to(&msg, &rig.deps, sunday).await.unwrap();
    assert!(matches!(outcome, off_hours_auto_reply::Outcome::Skipped(_)));
}

#[tokio::test]
async fn transient_send_failure_is_reported_for_retry_and_sends_once_later() {
    let rig = rig().await;
    let now = at("2026-11-25T02:00:00Z");
    receive(
        &rig,
        "4934",
        json!([kit::text_message("4934", "w", now.timestamp(), "hi")]),
        now,
    )
    .await;
    let event = rig.table.stream_event().await;
    let seq = event.records[0].change.sequence_number.clone();

    // Unavailable three times in a row (the send's own two retries included).
    for _ in 0..3 {
        rig.sandbox.fail_next(
            503,
            json!({"error":{"message":"Service temporarily unavailable","code":2}}),
        );
    }
    let resp = handle_batch(event.clone(), &rig.deps, now).await;
    assert_eq!(resp.batch_item_failures.len(), 1);
    assert_eq!(resp.batch_item_failures[0].item_identifier, seq);
    assert!(rig.sandbox.outbox().is_empty());

    let resp = handle_batch(event, &rig.deps, now).await;
    assert!(resp.batch_item_failures.is_empty());
    assert_eq!(rig.sandbox.outbox().len(), 1);
}

#[tokio::test]
async fn a_refused_auto_reply_is_recorded_as_failed_and_not_retried() {
    let rig = rig().await;
    let now = at("2026-11-25T02:00:00Z");
    receive(
        &rig,
        "4935",
        json!([kit::text_message("4935", "w", now.timestamp(), "hi")]),
        now,
    )
    .await;
    let event = rig.table.stream_event().await;
    rig.sandbox.fail_next(400, json!({"error":{"message":"Recipient phone number not in allowed list","code":131030,"error_data":{"details":"not allowed"}}}));
    let resp = handle_batch(event.clone(), &rig.deps, now).await;
    assert!(
        resp.batch_item_failures.is_empty(),
        "permanent failures must not block the shard"
    );
    handle_batch(event, &rig.deps, now).await;
    assert_eq!(
        rig.sandbox.requests(),
        1,
        "no second attempt in the same period"
    );
    let id = kit::wa_conversation("4935");
    let thread = rig.table.store.get_thread(&id).await.unwrap().unwrap();
    let failed = thread
        .messages
        .iter()
        .find(|m| m.author == Author::AutoReply)
        .unwrap();
    let delivery = failed.delivery.as_ref().unwrap();
    assert_eq!(delivery.state, DeliveryState::Failed);
    assert_eq!(
        delivery.error.as_ref().unwrap().code.as_deref(),
        Some("131030")
    );
}

#[tokio::test]
async fn a_message_dated_ahead_of_our_clock_is_judged_when_it_arrived() {
    let rig = rig().await;
    let now = at("2026-11-24T21:00:00Z"); // Tuesday evening: closed.
    let monday_open = at("2026-11-30T09:00:00Z");
    let body = kit::text_webhook("4936", "wf", monday_open.timestamp(), "hi");
    let inbound = whatsapp::inbound::parse_webhook(&body, now)
        .unwrap()
        .messages
        .remove(0);
    rig.table.store.record_inbound(&inbound, now).await.unwrap();
    let outcome = auto_reply_to(&inbound.message, &rig.deps, now)
        .await
        .unwrap();
    assert!(
        matches!(outcome, off_hours_auto_reply::Outcome::Replied { .. }),
        "{outcome:?}"
    );
    assert_eq!(rig.sandbox.outbox().len(), 1);
}

/// Office hours in Berlin with a three-week closure at the year end; the template
/// uses the customer's name and their own time.
const BERLIN_HOLIDAYS: &str = r#"{"timezone":"Europe/Berlin",
    "weekly":{"mon":["09:00-17:00"],"tue":["09:00-17:00"],"wed":["09:00-17:00"],"thu":["09:00-17:00"],"fri":["09:00-17:00"]},
    "holidays":[{"from":"2026-12-21","to":"2027-01-10"}],"first_response_minutes":60,
    "auto_reply":{"default":"Hi {customer_name}, we reply by {reply_by} ({reply_by_local})."}}"#;

#[tokio::test]
async fn one_auto_reply_per_night_and_one_for_a_whole_holiday_run_in_the_customers_time() {
    let rig = rig().await;
    let deps = AutoReply {
        store: rig.deps.store.clone(),
        outbound: rig.deps.outbound.clone(),
        hours: BusinessHours::from_json(BERLIN_HOLIDAYS, at("2026-11-01T00:00:00Z")).unwrap(),
        max_age: rig.deps.max_age,
        daily_cap: rig.deps.daily_cap,
        hourly_cap: off_hours_auto_reply::HourlyTokens::new(rig.deps.hourly_cap.cap()),
        own_addresses: Vec::new(),
        retries: None,
        continuity: None,
    };
    let customer = "819012345678"; // Tokyo
    let mut n = 0;
    let mut write = |when: &str| {
        n += 1;
        (at(when), format!("wn{n}"))
    };
    let sends = [
        write("2026-11-30T19:00:00Z"), // Mon 20:00 CET
        write("2026-11-30T22:30:00Z"), // the same night, 23:30 CET
        write("2026-12-01T19:00:00Z"), // the next night
        write("2026-12-22T10:00:00Z"), // the holiday run...
        write("2027-01-05T10:00:00Z"), // ...still the same closed stretch
    ];
    for (when, id) in &sends {
        receive(
            &rig,
            customer,
            json!([kit::text_message(customer, id, when.timestamp(), "Hello?")]),
            *when,
        )
        .await;
        let stored = rig
            .table
            .messages()
            .await
            .into_iter()
            .find(|m| m.id == *id)
            .unwrap();
        assert_eq!(stored.sender.zone.as_deref(), Some("Asia/Tokyo"));
        auto_reply_to(&stored, &deps, *when + Duration::minutes(1))
            .await
            .unwrap();
    }
    let texts: Vec<String> = rig.sandbox.outbox().into_iter().map(|m| m.text).collect();
    assert_eq!(
        texts,
        [
            "Hi Ada, we reply by Tue 1 Dec, 10:00 CET (Tue 1 Dec, 18:00 your time).",
            "Hi Ada, we reply by Wed 2 Dec, 10:00 CET (Wed 2 Dec, 18:00 your time).",
            "Hi Ada, we reply by Mon 11 Jan, 10:00 CET (Mon 11 Jan, 18:00 your time).",
        ]
    );
}

#[tokio::test]
async fn a_flooding_sender_is_stored_marked_and_answered_once() {
    let rig = rig().await;
    let now = at("2026-11-24T21:00:00Z"); // closed
    let messages: Vec<serde_json::Value> = (0..65)
        .map(|i| kit::text_message("4931", &format!("flood{i}"), now.timestamp() - 30, "spam"))
        .collect();
    receive(&rig, "4931", json!(messages), now).await;
    let stored = rig.table.messages().await;
    assert_eq!(stored.len(), 65, "every message is stored");
    let mut replied = 0;
    for m in &stored {
        if let off_hours_auto_reply::Outcome::Replied { .. } =
            auto_reply_to(m, &rig.deps, now).await.unwrap()
        {
            replied += 1;
        }
    }
    assert_eq!(replied, 1);
    assert_eq!(
        rig.sandbox.outbox().len(),
        1,
        "one auto-reply for the whole flood"
    );
    let flood = rig
        .table
        .messages()
        .await
        .iter()
        .filter(|m| m.author == Author::Customer && m.flood)
        .count();
    assert_eq!(flood, 5, "the messages past 60 in the minute are marked");
}

#[tokio::test]
async fn a_record_the_stream_gave_up_on_is_redriven_from_what_was_kept() {
    let rig = rig().await;
    let now = at("2026-11-25T02:00:00Z");
    receive(
        &rig,
        "4936",
        json!([kit::text_message("4936", "w", now.timestamp(), "hi")]),
        now,
    )
    .await;
    let event = rig.table.stream_event().await;
    for _ in 0..3 {
        rig.sandbox.fail_next(
            503,
            json!({"error":{"message":"Service temporarily unavailable","code":2}}),
        );
    }
    let resp = handle_batch(event, &rig.deps, now).await;
    assert_eq!(resp.batch_item_failures.len(), 1);
    assert!(rig.sandbox.outbox().is_empty());
    // The stream is done with it (retries spent, or 24 hours gone): the redrive
    // needs nothing but the table.
    let later = now + Duration::minutes(20);
    let out =
        off_hours_auto_reply::handle_event(json!({"redrive": "auto-reply"}), &rig.deps, later)
            .await
            .unwrap();
    assert_eq!(out, json!({"redriven": 1, "replied": 1, "left": 0}));
    assert_eq!(
        rig.sandbox.outbox().len(),
        1,
        "the auto-reply went out once"
    );
    // Nothing is left to redrive, and a second redrive sends nothing.
    let again =
        off_hours_auto_reply::handle_event(json!({"redrive": "auto-reply"}), &rig.deps, later)
            .await
            .unwrap();
    assert_eq!(again, json!({"redriven": 0, "replied": 0, "left": 0}));
    assert_eq!(rig.sandbox.outbox().len(), 1);
}
