//! Nothing a sender does can make an item near DynamoDB's 400 KB: a message edited
//! again and again keeps its first text and its newest edits. Against moto.

use asyncdesk::store::ConversationStore;
use asyncdesk::store::dynamo::MAX_EDITS;
use asyncdesk_tests::kit::{self, TestTable};
use chrono::Utc;
use serde_json::json;

#[tokio::test]
async fn a_message_edited_forever_keeps_its_first_text_and_its_newest_edits() {
    let table = TestTable::new().await;
    let inbound = kit::inbound(table.store.clone());
    let now = Utc::now();
    let ts = now.timestamp() - 3600;
    let post = |update: serde_json::Value| {
        let req = kit::telegram_post(&update, Some(kit::TG_SECRET));
        let inbound = &inbound;
        async move { kit::read(inbound_webhook::handle(&req, inbound, now).await) }
    };
    let (status, _) = post(kit::tg_text(1, 9301, 7, ts, "first words")).await;
    assert_eq!(status, 200);
    let edits = MAX_EDITS + 15;
    for i in 1..=edits {
        let mut edit = json!({"update_id": 1 + i, "edited_message": kit::tg_text(0, 9301, 7, ts, &format!("edit {i} {}", "x".repeat(3000)))["message"].clone()});
        edit["edited_message"]["edit_date"] = json!(ts + i as i64);
        let (status, body) = post(edit).await;
        assert_eq!(status, 200, "{body}");
    }
    let id = kit::tg_endpoint(9301).conversation_id();
    let thread = table.store.get_thread(&id).await.unwrap().unwrap();
    let m = &thread.messages[0];
    assert_eq!(m.edits.len(), MAX_EDITS);
    assert_eq!(m.original_text.as_deref(), Some("first words"));
    assert!(m.text().unwrap().starts_with(&format!("edit {edits} ")));
    assert!(
        m.edits[0]
            .text
            .as_deref()
            .unwrap()
            .starts_with(&format!("edit {} ", edits - MAX_EDITS + 1))
    );
    // An old edit arriving late changes nothing.
    let mut late = json!({"update_id": 999, "edited_message": kit::tg_text(0, 9301, 7, ts, "late")["message"].clone()});
    late["edited_message"]["edit_date"] = json!(ts + 2);
    post(late).await;
    let again = table.store.get_thread(&id).await.unwrap().unwrap();
    assert_eq!(again.messages[0].edits, m.edits);
}

#[tokio::test]
async fn a_message_the_table_cannot_hold_is_a_rejection_and_a_200() {
    let table = TestTable::new().await;
    let inbound = kit::inbound(table.store.clone());
    let now = Utc::now();
    // Meta signed it, but its text alone is over DynamoDB's 400 KB item limit: the
    // table refuses it for good, so a 503 would only bring it back for 7 days.
    let huge = "x".repeat(450 * 1024);
    let body = kit::webhook(
        "4915100000001",
        "Ada",
        json!([
            kit::text_message("4915100000001", "wamid.huge", now.timestamp(), &huge),
            kit::text_message("4915100000001", "wamid.small", now.timestamp(), "and this")
        ]),
        json!([]),
    );
    let req = kit::signed_post("/webhooks/whatsapp", &body, kit::APP_SECRET);
    let (status, receipt) = kit::read(inbound_webhook::handle(&req, &inbound, now).await);
    assert_eq!(status, 200, "{receipt}");
    assert_eq!(
        (receipt["stored"].as_u64(), receipt["rejected"].as_u64()),
        (Some(1), Some(1)),
        "{receipt}"
    );
    let items = table.items().await;
    let rejection = items
        .iter()
        .find(|i| i["item_type"].as_s().unwrap() == "rejection")
        .expect("kept as a rejection");
    assert!(rejection["raw"].as_s().unwrap().len() <= 300_000);
    assert_eq!(table.messages().await.len(), 1, "the good one is stored");
}
