//! Conversation state: PATCH (status, snooze, assignee, priority), what reopens a
//! conversation (a customer message, the snooze's time, a failed delivery) and what
//! never does (a machine's message).

use asyncdesk::channels::whatsapp;
use asyncdesk::conversation::ConversationStatus;
use asyncdesk::store::ConversationStore;
use asyncdesk_tests::kit::{self, TestTable};
use asyncdesk_tests::sandbox::GraphSandbox;
use chrono::{Duration, Utc};
use serde_json::{Value, json};

struct Rig {
    table: TestTable,
    agent: agent_reply::Agent<asyncdesk::store::dynamo::DynamoStore, asyncdesk::channels::Channels>,
    _task: tokio::task::JoinHandle<()>,
}

async fn rig() -> Rig {
    let table = TestTable::new().await;
    let sandbox = GraphSandbox::new();
    let (base, task) = sandbox.start().await;
    let agent = kit::agent(table.store.clone(), kit::whatsapp_channels(&base, "t"));
    Rig {
        table,
        agent,
        _task: task,
    }
}

impl Rig {
    async fn customer_writes(&self, customer: &str, id: &str) -> String {
        let now = Utc::now();
        let body = kit::webhook(
            customer,
            "Ada",
            json!([kit::text_message(customer, id, now.timestamp(), "hi")]),
            json!([]),
        );
        let inbound = whatsapp::inbound::parse_webhook(&body, now)
            .unwrap()
            .messages
            .remove(0);
        self.table
            .store
            .record_inbound(&inbound, now)
            .await
            .unwrap();
        inbound.message.conversation_id.to_string()
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let req = kit::agent_request(method, path, Some(kit::ALICE_KEY), body);
        kit::read(agent_reply::handle(&req, &self.agent, Utc::now()).await)
    }

    async fn patch(&self, id: &str, body: Value) -> (u16, Value) {
        self.call("PATCH", &format!("/conversations/{id}"), Some(body))
            .await
    }
}

#[tokio::test]
async fn patch_moves_a_conversation_between_states() {
    let rig = rig().await;
    let id = rig.customer_writes("4970", "s1").await;
    let (status, body) = rig
        .patch(&id, json!({"assignee": "me", "priority": "urgent"}))
        .await;
    assert_eq!(status, 200, "{body}");
    let c = &body["conversation"];
    assert_eq!(
        (
            c["assignee"].as_str(),
            c["priority"].as_str(),
            c["status"].as_str()
        ),
        (Some("alice"), Some("urgent"), Some("open"))
    );
    let (_, body) = rig
        .patch(&id, json!({"status": "resolved", "assignee": null}))
        .await;
    assert_eq!(body["conversation"]["status"], "resolved");
    assert_eq!(body["conversation"]["assignee"], Value::Null);
    assert_eq!(body["conversation"]["waiting_since"], Value::Null);
    let until = (Utc::now() + Duration::hours(3)).to_rfc3339();
    let (_, body) = rig
        .patch(&id, json!({"status": "snoozed", "snooze_until": until}))
        .await;
    assert_eq!(body["conversation"]["status"], "snoozed");
    assert!(body["conversation"]["snooze_until"].is_string());
    let (_, list) = rig.call("GET", "/conversations?status=snoozed", None).await;
    assert_eq!(list["conversations"].as_array().unwrap().len(), 1);
    let (_, body) = rig.patch(&id, json!({"status": "open"})).await;
    assert_eq!(body["conversation"]["status"], "open");
    assert_eq!(body["conversation"]["snooze_until"], Value::Null);
    assert!(body["conversation"]["waiting_since"].is_string());
    let past = (Utc::now() - Duration::minutes(1)).to_rfc3339();
    for bad in [
        json!({}),
        json!({"status": "snoozed"}),
        json!({"status": "snoozed", "snooze_until": past}),
        json!({"status": "snoozed", "snooze_until": "tomorrow"}),
        json!({"status": "open", "snooze_until": until}),
        json!({"status": "pending"}),
        json!({"priority": "high"}),
        json!({"assignee": "mallory"}),
        json!({"colour": "red"}),
    ] {
        let (status, body) = rig.patch(&id, bad.clone()).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (status, _) = rig
        .patch(
            "wa-0123456789abcdef0123456789abcdef",
            json!({"status": "open"}),
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_customer_message_reopens_but_a_machines_never_does() {
    let rig = rig().await;
    let id = rig.customer_writes("4971", "r1").await;
    let until = (Utc::now() + Duration::hours(3)).to_rfc3339();
    rig.patch(&id, json!({"status": "snoozed", "snooze_until": until}))
        .await;
    rig.customer_writes("4971", "r2").await;
    let cid = asyncdesk::conversation::ConversationId::parse(&id).unwrap();
    let c = rig
        .table
        .store
        .get_conversation(&cid)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (c.status, c.snooze_until),
        (ConversationStatus::Open, None),
        "snoozed -> open"
    );
    rig.patch(&id, json!({"status": "resolved"})).await;
    // An automatic message from the customer's side (an auto-reply, a bounce).
    let now = Utc::now();
    let body = kit::webhook(
        "4971",
        "Ada",
        json!([kit::text_message(
            "4971",
            "r3",
            now.timestamp(),
            "I am away"
        )]),
        json!([]),
    );
    let mut machine = whatsapp::inbound::parse_webhook(&body, now)
        .unwrap()
        .messages
        .remove(0);
    machine.message.automated = Some("auto_submitted".into());
    machine.message.wants_answer = false;
    rig.table.store.record_inbound(&machine, now).await.unwrap();
    let c = rig
        .table
        .store
        .get_conversation(&cid)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        c.status,
        ConversationStatus::Resolved,
        "a machine's message reopens nothing"
    );
    rig.customer_writes("4971", "r4").await;
    let c = rig
        .table
        .store
        .get_conversation(&cid)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.status, ConversationStatus::Open, "resolved -> open");
}

#[tokio::test]
async fn snoozed_conversations_wake_when_their_time_comes() {
    let rig = rig().await;
    let soon = rig.customer_writes("4972", "z1").await;
    let later = rig.customer_writes("4973", "z2").await;
    let now = Utc::now();
    rig.patch(
        &soon,
        json!({"status": "snoozed", "snooze_until": (now + Duration::minutes(1)).to_rfc3339()}),
    )
    .await;
    rig.patch(
        &later,
        json!({"status": "snoozed", "snooze_until": (now + Duration::hours(1)).to_rfc3339()}),
    )
    .await;
    let auto = kit::auto_reply(
        rig.table.store.clone(),
        asyncdesk::channels::Channels::default(),
        kit::DEV_HOURS,
        Vec::new(),
    );
    // The schedule's event, two minutes later.
    let schedule = json!({"version": "0", "id": "x", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "1", "time": now.to_rfc3339(), "region": "us-east-1", "resources": [], "detail": {}});
    let out =
        off_hours_auto_reply::handle_event(schedule.clone(), &auto, now + Duration::minutes(2))
            .await
            .unwrap();
    assert_eq!(out["woken"], 1);
    let status = |id: &str| {
        let store = rig.table.store.clone();
        let id = asyncdesk::conversation::ConversationId::parse(id).unwrap();
        async move { store.get_conversation(&id).await.unwrap().unwrap().status }
    };
    assert_eq!(status(&soon).await, ConversationStatus::Open);
    assert_eq!(status(&later).await, ConversationStatus::Snoozed);
    let again = off_hours_auto_reply::handle_event(schedule, &auto, now + Duration::minutes(3))
        .await
        .unwrap();
    assert_eq!(again["woken"], 0, "nothing twice");
    assert!(
        off_hours_auto_reply::handle_event(json!({"hello": 1}), &auto, now)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_failed_delivery_reopens_the_conversation() {
    let rig = rig().await;
    let id = rig.customer_writes("4974", "f1").await;
    let (status, body) = rig
        .call(
            "POST",
            &format!("/conversations/{id}/messages"),
            Some(json!({"text": "Here."})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let wamid = body["message"]["provider_message_id"]
        .as_str()
        .unwrap()
        .to_string();
    let cid = asyncdesk::conversation::ConversationId::parse(&id).unwrap();
    assert_eq!(
        rig.table
            .store
            .get_conversation(&cid)
            .await
            .unwrap()
            .unwrap()
            .status,
        ConversationStatus::Pending
    );
    let ts = Utc::now().timestamp().to_string();
    let webhook = kit::webhook(
        "4974",
        "Ada",
        json!([]),
        json!([{"id": wamid, "status": "failed", "timestamp": ts,
        "recipient_id": "4974", "errors": [{"code": 131026, "title": "Message undeliverable"}]}]),
    );
    let deps = kit::inbound(rig.table.store.clone());
    let resp = inbound_webhook::handle(
        &kit::signed_post("/webhooks/whatsapp", &webhook, kit::APP_SECRET),
        &deps,
        Utc::now(),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let c = rig
        .table
        .store
        .get_conversation(&cid)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        c.status,
        ConversationStatus::Open,
        "the agent sees the failure in the open queue"
    );
    assert!(c.waiting_since.is_some());
}

#[tokio::test]
async fn outside_the_whatsapp_window_only_a_template_goes_out() {
    let table = TestTable::new().await;
    let sandbox = GraphSandbox::new();
    let (base, _task) = sandbox.start().await;
    let agent = kit::agent(table.store.clone(), kit::whatsapp_channels(&base, "t"));
    // The customer wrote 25 hours ago.
    let then = Utc::now() - Duration::hours(25);
    let body = kit::webhook(
        "4975",
        "Ada",
        json!([kit::text_message("4975", "old1", then.timestamp(), "hi")]),
        json!([]),
    );
    let inbound = whatsapp::inbound::parse_webhook(&body, then)
        .unwrap()
        .messages
        .remove(0);
    table.store.record_inbound(&inbound, then).await.unwrap();
    let id = inbound.message.conversation_id.to_string();
    let call = |path: String, body: Value| {
        let agent = &agent;
        async move {
            let req = kit::agent_request("POST", &path, Some(kit::ALICE_KEY), Some(body));
            kit::read(agent_reply::handle(&req, agent, Utc::now()).await)
        }
    };
    let (_, thread) = call(
        format!("/conversations/{id}/notes"),
        json!({"text": "checking"}),
    )
    .await;
    assert!(thread["note"].is_object());
    let req = kit::agent_request(
        "GET",
        &format!("/conversations/{id}"),
        Some(kit::ALICE_KEY),
        None,
    );
    let (_, thread) = kit::read(agent_reply::handle(&req, &agent, Utc::now()).await);
    assert_eq!(thread["conversation"]["reply_window"]["open"], false);
    let (status, body) = call(
        format!("/conversations/{id}/messages"),
        json!({"text": "Sorry for the wait"}),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("whatsapp_window_closed")),
        "{body}"
    );
    assert!(body["error"]["details"]["window_closed_at"].is_string());
    assert!(sandbox.outbox().is_empty(), "Meta was not called");
    let (status, body) = call(
        format!("/conversations/{id}/messages"),
        json!({"template": {"name": "order_update", "language": "en_US", "parameters": ["Ada", "42"]}}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["message"]["kind"], "template");
    assert_eq!(
        sandbox.outbox()[0].text,
        "template order_update (en_US): Ada | 42"
    );
    for bad in [
        json!({"text": "x", "template": {"name": "a", "language": "en"}}),
        json!({}),
        json!({"template": {"name": "", "language": "en"}}),
    ] {
        let (status, _) = call(format!("/conversations/{id}/messages"), bad.clone()).await;
        assert_eq!(status, 400, "{bad}");
    }
    // The customer writes: the window opens again and text goes.
    let now = Utc::now();
    let body = kit::webhook(
        "4975",
        "Ada",
        json!([kit::text_message("4975", "new1", now.timestamp(), "hello?")]),
        json!([]),
    );
    let inbound = whatsapp::inbound::parse_webhook(&body, now)
        .unwrap()
        .messages
        .remove(0);
    table.store.record_inbound(&inbound, now).await.unwrap();
    let (status, _) = call(
        format!("/conversations/{id}/messages"),
        json!({"text": "Here we are"}),
    )
    .await;
    assert_eq!(status, 201);
    let (_, list) = kit::read(
        agent_reply::handle(
            &kit::agent_request(
                "GET",
                "/conversations?status=pending",
                Some(kit::ALICE_KEY),
                None,
            ),
            &agent,
            Utc::now(),
        )
        .await,
    );
    let row = &list["conversations"][0];
    assert_eq!(row["reply_window"]["open"], true, "{row}");
}

#[tokio::test]
async fn templates_are_refused_where_the_channel_has_none() {
    let table = TestTable::new().await;
    let bot = asyncdesk_tests::bot_sandbox::BotSandbox::new();
    let (base, _task) = bot.start().await;
    let channels = asyncdesk::channels::Channels::default().with(
        asyncdesk::conversation::Channel::Telegram,
        std::sync::Arc::new(kit::telegram_client(&base)),
    );
    let agent = kit::agent(table.store.clone(), channels);
    let update = kit::tg_text(1, 4242, 1, Utc::now().timestamp(), "hi");
    let deps = kit::inbound(table.store.clone());
    inbound_webhook::handle(
        &kit::telegram_post(&update, Some(kit::TG_SECRET)),
        &deps,
        Utc::now(),
    )
    .await;
    let id = kit::tg_endpoint(4242).conversation_id();
    let req = kit::agent_request(
        "POST",
        &format!("/conversations/{id}/messages"),
        Some(kit::ALICE_KEY),
        Some(json!({"template": {"name": "x", "language": "en"}})),
    );
    let (status, _) = kit::read(agent_reply::handle(&req, &agent, Utc::now()).await);
    assert_eq!(status, 400);
    assert!(bot.outbox().is_empty());
}

#[tokio::test]
async fn resolved_conversations_list_newest_first_across_month_partitions() {
    use asyncdesk::ports::{StateChange, StatusChange};
    let rig = rig().await;
    let now = Utc::now();
    let mut expected = Vec::new();
    for (i, days_ago) in [70i64, 35, 0].iter().enumerate() {
        let id = rig
            .customer_writes(&format!("497{i}9"), &format!("m{i}"))
            .await;
        let cid = asyncdesk::conversation::ConversationId::parse(&id).unwrap();
        let change = StateChange {
            status: Some(StatusChange::Resolved),
            ..StateChange::default()
        };
        rig.table
            .store
            .change_state(&cid, &change, now - Duration::days(*days_ago))
            .await
            .unwrap();
        expected.push(id);
    }
    expected.reverse(); // the most recently resolved first
    // Each resolved conversation sits in its month's partition of the queue index.
    let queues: std::collections::BTreeSet<String> = rig
        .table
        .items()
        .await
        .iter()
        .filter_map(|i| i.get("sq").and_then(|v| v.as_s().ok()).cloned())
        .map(|q| {
            q.rsplit_once('#')
                .map_or(q.clone(), |(month, _)| month.to_string())
        })
        .collect();
    assert!(
        queues.len() >= 2 && queues.iter().all(|q| q.starts_with("resolved#")),
        "{queues:?}"
    );
    let (status, first) = rig
        .call("GET", "/conversations?status=resolved&limit=2", None)
        .await;
    assert_eq!(status, 200, "{first}");
    let ids = |p: &Value| -> Vec<String> {
        p["conversations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect()
    };
    let cursor = first["next_cursor"].as_str().expect("more").to_string();
    let (_, second) = rig
        .call(
            "GET",
            &format!("/conversations?status=resolved&limit=2&cursor={cursor}"),
            None,
        )
        .await;
    let mut all = ids(&first);
    all.extend(ids(&second));
    assert_eq!(all, expected);
    assert_eq!(second["next_cursor"], Value::Null);
    // A resolved cursor is no good for the open queue.
    let (status, _) = rig
        .call(
            "GET",
            &format!("/conversations?status=open&order=recent&cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(status, 400);
}
