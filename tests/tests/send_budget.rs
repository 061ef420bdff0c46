//! Sends end inside their function's time: a channel that hangs is abandoned as
//! `unconfirmed` at the budget (never retried), and a part that finds no time left
//! is not tried. Against moto and a Telegram stand-in.

use asyncdesk::channels::Channels;
use asyncdesk::conversation::{Author, Channel, DeliveryState};
use asyncdesk::deliver::deliver;
use asyncdesk::ports::{Outgoing, SendError};
use asyncdesk_tests::bot_sandbox::BotSandbox;
use asyncdesk_tests::kit::{self, TestTable};
use chrono::Utc;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn outgoing(chat: i64, text: &str) -> Outgoing {
    let endpoint = kit::tg_endpoint(chat);
    Outgoing {
        conversation: endpoint.conversation_id(),
        covers: None,
        endpoint,
        author: Author::Agent("alice".into()),
        template: None,
        promise: None,
        files: Vec::new(),
        text: text.to_string(),
        reply: None,
    }
}

#[tokio::test]
async fn a_hanging_channel_is_abandoned_at_the_budget_as_unconfirmed() {
    let table = TestTable::new().await;
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let _hold = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let channels =
        Channels::default().with(Channel::Telegram, Arc::new(kit::telegram_client(&base)));
    let started = Instant::now();
    let delivered = deliver(
        &table.store,
        &channels,
        &outgoing(9101, "hello"),
        Utc::now(),
        Duration::from_millis(500),
    )
    .await
    .unwrap();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert!(
        matches!(delivered.result, Err(SendError::Unconfirmed(_))),
        "{:?}",
        delivered.result
    );
    assert_eq!(delivered.messages.len(), 1);
    assert_eq!(
        delivered.messages[0].delivery.as_ref().unwrap().state,
        DeliveryState::Unconfirmed
    );
}

#[tokio::test]
async fn a_part_that_finds_no_time_left_is_not_tried() {
    let table = TestTable::new().await;
    let bot = BotSandbox::new();
    let (base, _task) = bot.start().await;
    let channels =
        Channels::default().with(Channel::Telegram, Arc::new(kit::telegram_client(&base)));
    let long = format!("{}\n\n{}", "a".repeat(4000), "b".repeat(300));
    // Less than one attempt's time: the first part goes, the second is not tried.
    let delivered = deliver(
        &table.store,
        &channels,
        &outgoing(9102, &long),
        Utc::now(),
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    assert_eq!(bot.outbox().len(), 1);
    assert!(
        matches!(delivered.result, Err(SendError::Unavailable(_))),
        "{:?}",
        delivered.result
    );
    let states: Vec<DeliveryState> = delivered
        .messages
        .iter()
        .map(|m| m.delivery.as_ref().unwrap().state)
        .collect();
    assert_eq!(states, [DeliveryState::Accepted, DeliveryState::Failed]);
}
