//! The agents' queue: orders (the promise made to the customer, waiting, recent),
//! filters, the rows' fields, and cursors that only work where they were issued.

use asyncdesk::channels::whatsapp;
use asyncdesk::conversation::{Author, Message};
use asyncdesk::hours::BusinessHours;
use asyncdesk::store::{ConversationStore, OutboundEffect};
use asyncdesk_tests::kit::{self, TestTable};
use chrono::{Duration, Utc};
use serde_json::{Value, json};

/// Open around the clock; a first answer within 60 minutes.
const ALWAYS: &str = r#"{"timezone":"UTC","weekly":{"mon":["00:00-24:00"],"tue":["00:00-24:00"],"wed":["00:00-24:00"],"thu":["00:00-24:00"],"fri":["00:00-24:00"],"sat":["00:00-24:00"],"sun":["00:00-24:00"]},"first_response_minutes":60,"auto_reply":{"default":"x"}}"#;

struct Rig {
    table: TestTable,
    agent: agent_reply::Agent<asyncdesk::store::dynamo::DynamoStore, asyncdesk::channels::Channels>,
}

impl Rig {
    async fn new() -> Rig {
        let table = TestTable::new().await;
        let mut agent = kit::agent(
            table.store.clone(),
            asyncdesk::channels::Channels::default(),
        );
        agent.hours = BusinessHours::from_json(ALWAYS, Utc::now()).unwrap();
        Rig { table, agent }
    }

    /// A WhatsApp customer message `minutes_ago`; the conversation id.
    async fn writes(&self, customer: &str, id: &str, minutes_ago: i64, text: &str) -> String {
        let at = Utc::now() - Duration::minutes(minutes_ago);
        let body = kit::webhook(
            customer,
            "Ada",
            json!([kit::text_message(customer, id, at.timestamp(), text)]),
            json!([]),
        );
        let inbound = whatsapp::inbound::parse_webhook(&body, at)
            .unwrap()
            .messages
            .remove(0);
        self.table.store.record_inbound(&inbound, at).await.unwrap();
        inbound.message.conversation_id.to_string()
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let req = kit::agent_request("GET", path, Some(kit::ALICE_KEY), None);
        kit::read(agent_reply::handle(&req, &self.agent, Utc::now()).await)
    }

    async fn ids(&self, path: &str) -> Vec<String> {
        let (status, body) = self.get(path).await;
        assert_eq!(status, 200, "{path}: {body}");
        body["conversations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect()
    }
}

#[tokio::test]
async fn the_queue_orders_by_the_promise_and_filters() {
    let rig = Rig::new().await;
    let a = rig.writes("4980", "qa1", 50, "first").await;
    rig.writes("4980", "qa2", 45, "second, and a long one that the preview cuts short because nobody reads a whole essay in a queue row anyway, do they? no.").await;
    let b = rig.writes("4981", "qb1", 90, "hello?").await;
    let c = rig.writes("4982", "qc1", 5, "urgent!").await;
    let d = rig.writes("4983", "qd1", 30, "hi").await;
    // D got an auto-reply that promised an answer within 5 minutes from now.
    let d_id = asyncdesk::conversation::ConversationId::parse(&d).unwrap();
    let ep = rig
        .table
        .store
        .get_conversation(&d_id)
        .await
        .unwrap()
        .unwrap()
        .endpoint;
    let mut auto = Message::outbound(
        &ep,
        Author::AutoReply,
        "We'll reply soon.",
        Utc::now() - Duration::minutes(29),
    );
    auto.promised_reply_by = Some(Utc::now() + Duration::minutes(5));
    rig.table
        .store
        .record_outbound(&auto, OutboundEffect::KeepStatus, Utc::now())
        .await
        .unwrap();
    let patch = |id: &str, body: Value| {
        let req = kit::agent_request(
            "PATCH",
            &format!("/conversations/{id}"),
            Some(kit::ALICE_KEY),
            Some(body),
        );
        let agent = &rig.agent;
        async move {
            agent_reply::handle(&req, agent, Utc::now())
                .await
                .status()
                .as_u16()
        }
    };
    assert_eq!(patch(&c, json!({"priority": "urgent"})).await, 200);
    assert_eq!(patch(&a, json!({"assignee": "me"})).await, 200);

    // due (the default for open): urgent first, then the promise, soonest (overdue) first.
    assert_eq!(
        rig.ids("/conversations").await,
        [c.clone(), b.clone(), d.clone(), a.clone()]
    );
    assert_eq!(
        rig.ids("/conversations?order=waiting").await,
        [b.clone(), a.clone(), d.clone(), c.clone()]
    );
    assert_eq!(rig.ids("/conversations?order=recent").await[0], c);
    // Filters.
    assert_eq!(
        rig.ids("/conversations?priority=urgent").await,
        std::slice::from_ref(&c)
    );
    assert_eq!(
        rig.ids("/conversations?assignee=me").await,
        std::slice::from_ref(&a)
    );
    assert_eq!(
        rig.ids("/conversations?assignee=alice").await,
        std::slice::from_ref(&a)
    );
    assert_eq!(rig.ids("/conversations?assignee=none").await.len(), 3);
    assert_eq!(rig.ids("/conversations?channel=telegram").await.len(), 0);
    assert_eq!(rig.ids("/conversations?channel=whatsapp").await.len(), 4);
    // The rows.
    let (_, body) = rig.get("/conversations").await;
    let rows = body["conversations"].as_array().unwrap();
    let row = |id: &str| rows.iter().find(|r| r["id"] == id).unwrap().clone();
    assert_eq!(row(&b)["overdue"], true);
    assert_eq!(row(&a)["overdue"], false);
    assert_eq!(row(&a)["unanswered"], 2);
    assert!(row(&a)["preview"].as_str().unwrap().chars().count() <= 140);
    assert!(row(&a)["preview"].as_str().unwrap().starts_with("second"));
    assert_eq!(row(&a)["customer_name"], "Ada");
    assert!(row(&a)["reply_window"]["open"].as_bool().unwrap());
    let due_d =
        chrono::DateTime::parse_from_rfc3339(row(&d)["reply_due"].as_str().unwrap()).unwrap();
    assert!(
        (due_d.to_utc() - (Utc::now() + Duration::minutes(5)))
            .num_minutes()
            .abs()
            <= 1,
        "the promise, not the computed deadline"
    );
    for bad in [
        "/conversations?order=fastest",
        "/conversations?status=resolved&order=due",
        "/conversations?channel=fax",
        "/conversations?assignee=mallory",
        "/conversations?priority=high",
    ] {
        assert_eq!(rig.get(bad).await.0, 400, "{bad}");
    }
}

#[tokio::test]
async fn queue_cursors_are_stable_and_only_good_for_their_listing() {
    let rig = Rig::new().await;
    let mut expected = Vec::new();
    for (i, minutes) in [70, 60, 50, 40, 30].iter().enumerate() {
        expected.push(
            rig.writes(&format!("499{i}"), &format!("qq{i}"), *minutes, "hi")
                .await,
        );
    }
    let (_, first) = rig.get("/conversations?limit=2").await;
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    // A new customer message between pages does not shift what follows.
    rig.writes("4999", "qq-new", 1, "me too").await;
    let (_, second) = rig
        .get(&format!("/conversations?limit=2&cursor={cursor}"))
        .await;
    let page_ids = |p: &Value| -> Vec<String> {
        p["conversations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(page_ids(&first), expected[..2]);
    assert_eq!(page_ids(&second), expected[2..4]);
    let mut mangled = cursor.clone();
    mangled.replace_range(3..4, if &cursor[3..4] == "A" { "B" } else { "A" });
    for (path, what) in [
        (
            format!("/conversations?limit=2&order=waiting&cursor={cursor}"),
            "another order",
        ),
        (
            format!("/conversations?limit=2&status=pending&cursor={cursor}"),
            "another status",
        ),
        (
            format!("/conversations?limit=2&priority=urgent&cursor={cursor}"),
            "another filter",
        ),
        (
            format!("/conversations?limit=2&cursor={mangled}"),
            "tampered",
        ),
        (
            format!("/conversations?limit=2&cursor=x{cursor}"),
            "garbage",
        ),
    ] {
        let (status, body) = rig.get(&path).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("invalid_cursor")),
            "{what}: {body}"
        );
    }
}
