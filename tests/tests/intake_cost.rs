//! What storing an inbound message costs, charged by DynamoDB's capacity rules (the
//! charging proxy in front of moto), per channel: the figures `docs/cost.md` works
//! from. And the two-write intake's guarantees: a write that stops between the
//! message and the conversation is finished once by the redelivery, and messages
//! and redeliveries racing on one conversation each count once.

use asyncdesk::channels::{telegram, whatsapp};
use asyncdesk::conversation::InboundMessage;
use asyncdesk::store::{ConversationStore, Recorded};
use asyncdesk_tests::capacity::{Capacity, Totals};
use asyncdesk_tests::kit::{self, TestTable};
use asyncdesk_tests::proxy::CountingProxy;
use chrono::{DateTime, Utc};

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
}

/// A WhatsApp text as Meta sends it (a typical short question, a display name).
fn wa(customer: &str, id: &str, at: DateTime<Utc>) -> InboundMessage {
    let body = kit::webhook(
        customer,
        "Ada Lovelace",
        serde_json::json!([kit::text_message(
            customer,
            id,
            at.timestamp(),
            "Hi, my order #48213 has not arrived yet. Can you check where it is?"
        )]),
        serde_json::json!([]),
    );
    whatsapp::inbound::parse_webhook(&body, at)
        .unwrap()
        .messages
        .remove(0)
}

fn tg(update_id: i64, chat: i64, message_id: i64, at: DateTime<Utc>) -> InboundMessage {
    let update = kit::tg_text(
        update_id,
        chat,
        message_id,
        at.timestamp(),
        "Hi, my order #48213 has not arrived yet. Can you check where it is?",
    );
    telegram::inbound::parse_update(&serde_json::to_vec(&update).unwrap(), kit::TG_BOT_ID, at)
        .unwrap()
        .messages
        .remove(0)
}

fn line(what: &str, t: &Totals, requests: usize) {
    println!(
        "{what:<44} requests {requests}  write units {:.1}  index write units {:.1}  read units {:.1}",
        t.write_units, t.index_write_units, t.read_units
    );
}

#[tokio::test]
async fn an_inbound_message_costs_a_read_and_two_small_writes() {
    let table = TestTable::new().await;
    let (proxy, _task) =
        CountingProxy::start_charging(&table.endpoint, Capacity::from_template(1e9)).await;
    let store = table.store_via(&proxy.endpoint).await;
    let measure = async |what: &str, m: &InboundMessage, at: DateTime<Utc>| {
        proxy.reset();
        proxy.reset_totals();
        let recorded = store.record_inbound(m, at).await.unwrap();
        let totals = proxy.totals();
        line(what, &totals, proxy.operations().len());
        (recorded, totals, proxy.operations().len())
    };

    let (r, first, requests) = measure(
        "WhatsApp, new conversation",
        &wa("4702", "wamid.c1", t(0)),
        t(0),
    )
    .await;
    assert_eq!((r, requests), (Recorded::Stored, 3));
    assert_eq!(
        first.write_units, 2.0,
        "message and conversation, each <= 1 KB"
    );
    assert_eq!(first.read_units, 0.5, "one eventually consistent read");
    assert_eq!(
        first.index_write_units, 2.0,
        "its entry in the open queue, its key in the desk's change feed"
    );

    // The common case: another message to the open conversation.
    let (r, next, requests) = measure(
        "WhatsApp, to an open conversation",
        &wa("4702", "wamid.c2", t(60)),
        t(60),
    )
    .await;
    assert_eq!((r, requests), (Recorded::Stored, 3));
    // No queue index; its key moves in the change feed (delete and put).
    assert_eq!(
        (next.write_units, next.index_write_units, next.read_units),
        (2.0, 2.0, 0.5)
    );

    // Meta's redelivery: the read alone.
    let (r, again, requests) = measure(
        "WhatsApp, redelivered",
        &wa("4702", "wamid.c2", t(60)),
        t(90),
    )
    .await;
    assert_eq!((r, requests), (Recorded::Duplicate, 1));
    assert_eq!((again.write_units, again.read_units), (0.0, 0.5));

    // Telegram: the same (the chat, Telegram's date and the message id make the key).
    let (r, telegram, requests) =
        measure("Telegram, new conversation", &tg(1, 5101, 1, t(0)), t(0)).await;
    assert_eq!((r, requests), (Recorded::Stored, 3));
    assert_eq!((telegram.write_units, telegram.read_units), (2.0, 0.5));
    let (_, telegram, _) = measure(
        "Telegram, to an open conversation",
        &tg(2, 5101, 2, t(60)),
        t(60),
    )
    .await;
    assert_eq!(
        (telegram.write_units, telegram.index_write_units),
        (2.0, 2.0)
    );
    let (r, _, requests) = measure("Telegram, redelivered", &tg(2, 5101, 2, t(60)), t(90)).await;
    assert_eq!((r, requests), (Recorded::Duplicate, 1));
}

#[tokio::test]
async fn a_write_that_stopped_between_message_and_conversation_is_finished_once() {
    let table = TestTable::new().await;
    let (proxy, _task) = CountingProxy::start(&table.endpoint).await;
    let store = table.store_via(&proxy.endpoint).await;
    let m = wa("4703", "wamid.d1", t(0));
    // The message is written, then the conversation's update fails for good (the
    // function answers 5xx and Meta delivers again).
    proxy.fail_next(
        "UpdateItem",
        400,
        serde_json::json!({"__type": "com.amazon.coral.service#UnrecognizedClientException", "message": "stopped"}),
    );
    assert!(store.record_inbound(&m, t(1)).await.is_err());
    assert_eq!(table.item_types().await, ["message"]);

    // The redelivery finds the message and applies the conversation's part once.
    assert_eq!(
        store.record_inbound(&m, t(30)).await.unwrap(),
        Recorded::Stored
    );
    assert_eq!(
        store.record_inbound(&m, t(60)).await.unwrap(),
        Recorded::Duplicate
    );
    let thread = store
        .get_thread(&m.message.conversation_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(thread.messages.len(), 1);
    assert_eq!(thread.conversation.message_count, 1);
    assert_eq!(thread.conversation.unanswered, 1);
}

#[tokio::test]
async fn messages_and_redeliveries_racing_on_one_conversation_count_once_each() {
    let table = TestTable::new().await;
    let store = table.store.clone();
    let messages: Vec<InboundMessage> = (0..6)
        .map(|i| wa("4704", &format!("wamid.r{i}"), t(i)))
        .collect();
    // Every message delivered twice, all at once.
    let runs = messages.iter().chain(messages.iter()).map(|m| {
        let store = store.clone();
        async move { store.record_inbound(m, t(10)).await.unwrap() }
    });
    let outcomes = futures_util::future::join_all(runs).await;
    let stored = outcomes.iter().filter(|r| **r == Recorded::Stored).count();
    assert_eq!(stored, 6, "{outcomes:?}");
    let thread = store
        .get_thread(&messages[0].message.conversation_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(thread.messages.len(), 6);
    assert_eq!(thread.conversation.message_count, 6);
    assert_eq!(thread.conversation.unanswered, 6);
}

/// The log bytes of a stored message (CloudWatch Logs charges each event's bytes,
/// plus 26): at the default level (INFO) only the delivery's metric line (EMF);
/// at DEBUG, a line per delivery and per message, as `init_lambda_tracing` writes
/// them under Lambda's JSON log format. Nothing personal in either.
#[tokio::test]
async fn a_stored_message_logs_only_its_metric_line_by_default() {
    #[derive(Clone, Default)]
    struct Buffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let table = TestTable::new().await;
    let deps = kit::inbound(table.store.clone());
    let mut logged = Vec::new();
    for (i, level) in [tracing::Level::INFO, tracing::Level::DEBUG]
        .into_iter()
        .enumerate()
    {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let logs = tracing_subscriber::fmt()
            .with_target(false)
            .without_time()
            .with_max_level(level)
            .json()
            .with_span_list(false)
            .with_writer(move || writer.clone())
            .finish();
        let _logs = tracing::subscriber::set_default(logs);
        let now = Utc::now();
        let body = kit::text_webhook(
            "4915112345678",
            &format!("wamid.log{i}"),
            now.timestamp(),
            "where is my order?",
        );
        let resp = inbound_webhook::handle(
            &kit::signed_post("/webhooks/whatsapp", &body, kit::APP_SECRET),
            &deps,
            now,
        )
        .await;
        assert_eq!(resp.status(), 200);
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert!(
            !text.contains("4915112345678") && !text.contains("where is my order"),
            "{text}"
        );
        logged.push(text);
    }
    assert_eq!(logged[0], "", "nothing at INFO for a message stored");
    // At DEBUG (the SDK's own debug lines aside): the delivery's and the message's.
    let ours: Vec<&str> = logged[1]
        .lines()
        .filter(|l| l.contains(r#""event":"received""#) || l.contains(r#""event":"stored""#))
        .collect();
    assert_eq!(ours.len(), 2, "{}", logged[1]);
    // The metric line the handler prints for the delivery (same record, same counts).
    let emf = asyncdesk::metrics::record(
        Utc::now().timestamp_millis(),
        &[("Channel", "whatsapp")],
        &[("Received", 1), ("Stored", 1)],
    )
    .to_string();
    let debug: usize = ours.iter().map(|l| l.len() + 26).sum();
    println!(
        "logs per stored WhatsApp message: INFO {} bytes billed (the metric line), DEBUG +{debug}",
        emf.len() + 26
    );
    assert!(emf.len() < 300, "{emf}");
}

/// An email's intake, charged the same way: the thread lookup, the conversation
/// read, the mail's items in one transaction (its two dedupe keys, the message,
/// its Message-ID and subject links), the conversation.
#[tokio::test]
async fn an_email_costs_its_lookup_a_transaction_and_the_conversation() {
    use asyncdesk_tests::email_rig::{customer, rig};
    use asyncdesk_tests::mail::{self, Encoding, customer_mail};
    use asyncdesk_tests::tools;
    let (proxy, _task) =
        CountingProxy::start_charging(tools::shared_endpoint(), Capacity::from_template(1e9)).await;
    let rig = rig().await;
    let deps = inbound_email::InboundEmail {
        store: rig.table.store_via(&proxy.endpoint).await,
        objects: mail::s3_objects(tools::shared_endpoint()).await,
        settings: mail::settings(),
    };
    let ada = customer("cost");
    let body =
        "Hello, my order #48213 has not arrived yet. Could you check where it is? Thanks, Ada";
    for (what, mail, sns) in [
        (
            "email, a new thread",
            customer_mail(&ada, "Order 48213", "k1@example.org", "", body),
            "k1",
        ),
        (
            "email, a reply in the thread",
            customer_mail(
                &ada,
                "Re: Order 48213",
                "k2@example.org",
                "<k1@example.org>",
                body,
            ),
            "k2",
        ),
    ] {
        proxy.reset();
        proxy.reset_totals();
        let n = mail::received_notification(&mail, Encoding::Base64, sns);
        let summary = inbound_email::handle_event(mail::sns_event(&[(sns, &n)]), &deps, Utc::now())
            .await
            .unwrap();
        assert_eq!(summary.receipt.stored, 1, "{what}");
        let totals = proxy.totals();
        line(what, &totals, proxy.operations().len());
        assert!(totals.write_units <= 14.0, "{what}: {totals:?}");
        assert!(totals.read_units <= 1.5, "{what}: {totals:?}");
    }
}
