//! Under `MESSAGE_RETENTION_DAYS`, messages carry the table's TTL from when they
//! were stored and the conversation from its last message; without it nothing
//! expires. Against moto.

use asyncdesk::store::ConversationStore;
use asyncdesk_tests::kit::{self, TestTable};
use chrono::{Duration, Utc};

#[tokio::test]
async fn messages_and_conversations_expire_only_under_a_retention() {
    let table = TestTable::new().await;
    let now = Utc::now();
    let store = table.store.clone().with_retention(Some(Duration::days(30)));
    let webhook = |id: &str, phone: &str| {
        asyncdesk::channels::whatsapp::inbound::parse_webhook(
            &kit::text_webhook(phone, id, now.timestamp(), "hi"),
            now,
        )
        .unwrap()
        .messages
        .remove(0)
    };
    store
        .record_inbound(&webhook("wamid.r1", "4915100000011"), now)
        .await
        .unwrap();
    table
        .store
        .record_inbound(&webhook("wamid.r2", "4915100000012"), now)
        .await
        .unwrap();
    let items = table.items().await;
    let expiry = |phone: &str, ty: &str| {
        let conversation = kit::wa_endpoint(phone).conversation_id().to_string();
        items
            .iter()
            .find(|i| {
                i["item_type"].as_s().unwrap() == ty
                    && i.get("conversation_id")
                        .or(i.get("id"))
                        .and_then(|v| v.as_s().ok())
                        == Some(&conversation)
            })
            .unwrap_or_else(|| panic!("{ty} of {phone}"))
            .get("expires_at")
            .map(|v| v.as_n().unwrap().parse::<i64>().unwrap())
    };
    let want = (now + Duration::days(30)).timestamp();
    for ty in ["message", "conversation"] {
        let at = expiry("4915100000011", ty).expect("expires under the retention");
        assert!((at - want).abs() <= 5, "{ty}: {at} vs {want}");
        assert_eq!(
            expiry("4915100000012", ty),
            None,
            "{ty} without a retention"
        );
    }
}
