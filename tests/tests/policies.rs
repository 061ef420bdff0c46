//! Least privilege that works: every DynamoDB action a function performs, including
//! its rare paths (a status that overtook its message, a claim given back), is allowed
//! by that function's policy in `infra/template.yaml`. The handlers run against moto
//! through a proxy that records the IAM action of each request.

use asyncdesk::channels::{Channels, whatsapp};
use asyncdesk::conversation::{Author, Channel, DeliveryState, Endpoint, Message, StatusUpdate};
use asyncdesk::hours::BusinessHours;
use asyncdesk::store::dynamo::DynamoStore;
use asyncdesk::store::{ConversationStore, OutboundEffect, StatusApplied};
use asyncdesk_tests::kit::{self, APP_SECRET, TestTable};
use asyncdesk_tests::proxy::CountingProxy;
use asyncdesk_tests::sandbox::GraphSandbox;
use asyncdesk_tests::template::Template;
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use std::collections::BTreeSet;

struct Rig {
    table: TestTable,
    proxy: CountingProxy,
    /// The table seen through the proxy: what the function under test uses.
    store: DynamoStore,
    sandbox: GraphSandbox,
    channels: Channels,
    _tasks: [tokio::task::JoinHandle<()>; 2],
}

async fn rig() -> Rig {
    let table = TestTable::new().await;
    let (proxy, proxy_task) = CountingProxy::start(&table.endpoint).await;
    let store = table.store_via(&proxy.endpoint).await;
    let sandbox = GraphSandbox::new();
    let (base, sandbox_task) = sandbox.start().await;
    let channels = kit::whatsapp_channels(&base, "wa-token");
    Rig {
        table,
        proxy,
        store,
        sandbox,
        channels,
        _tasks: [proxy_task, sandbox_task],
    }
}

impl Rig {
    /// A customer message stored directly (not through the proxy); its conversation id.
    async fn customer_writes(&self, customer: &str, at: DateTime<Utc>) -> String {
        let body = kit::text_webhook(customer, &format!("w{customer}"), at.timestamp(), "hi");
        let inbound = whatsapp::inbound::parse_webhook(&body, at)
            .unwrap()
            .messages
            .remove(0);
        self.table.store.record_inbound(&inbound, at).await.unwrap();
        inbound.message.conversation_id.to_string()
    }

    /// A status callback that arrives before the message with `provider_id` is stored,
    /// and the channel's next send that gets that id.
    async fn status_overtakes_next_send(&self, provider_id: &str, at: DateTime<Utc>) {
        let update = StatusUpdate {
            channel: Channel::Whatsapp,
            business_id: kit::PHONE_NUMBER_ID.into(),
            provider_message_id: provider_id.into(),
            state: DeliveryState::Sent,
            at,
            error: None,
        };
        assert_eq!(
            self.table.store.apply_status(&update).await.unwrap(),
            StatusApplied::Parked
        );
        self.sandbox.next_message_id(provider_id);
    }

    /// Asserts the function's policy allows every action seen, and that the run
    /// covered at least `exercised`.
    fn assert_policy_covers(&self, function: &str, exercised: &[&str]) {
        let allowed: BTreeSet<String> = Template::load()
            .unwrap()
            .dynamodb_actions(function)
            .into_iter()
            .collect();
        let performed = self.proxy.iam_actions();
        let missing: Vec<&String> = performed.difference(&allowed).collect();
        assert!(
            missing.is_empty(),
            "{function} performs {missing:?}, which its policy does not allow"
        );
        for action in exercised {
            assert!(
                performed.contains(*action),
                "the run should exercise {action}; it did {performed:?}"
            );
        }
    }
}

#[tokio::test]
async fn inbound_webhook_policy_covers_messages_and_statuses() {
    let rig = rig().await;
    let now = Utc::now();
    let id = rig.customer_writes("4960", now).await;
    let endpoint = Endpoint {
        channel: Channel::Whatsapp,
        business_id: kit::PHONE_NUMBER_ID.into(),
        customer_id: "4960".into(),
    };
    assert_eq!(endpoint.conversation_id().to_string(), id);
    let mut reply = Message::outbound(&endpoint, Author::Agent("alice".into()), "on it", now);
    reply.provider_message_id = Some("wamid.linked".into());
    rig.table
        .store
        .record_outbound(&reply, OutboundEffect::AwaitCustomer, now)
        .await
        .unwrap();

    let ts = now.timestamp().to_string();
    let body = kit::webhook(
        "4960",
        "Ada",
        json!([
            kit::text_message("4960", "w2", now.timestamp(), "thanks"),
            // Kept as a rejection (no sender).
            {"id": "w3", "timestamp": ts, "type": "text", "text": {"body": "?"}}
        ]),
        json!([
            {"id": "wamid.linked", "status": "delivered", "timestamp": ts, "recipient_id": "4960"},
            {"id": "wamid.early", "status": "sent", "timestamp": ts, "recipient_id": "4960"}
        ]),
    );
    let deps = kit::inbound(rig.store.clone());
    let resp = inbound_webhook::handle(
        &kit::signed_post("/webhooks/whatsapp", &body, APP_SECRET),
        &deps,
        now,
    )
    .await;
    assert_eq!(resp.status(), 200);
    // Telegram: a message, then its edit.
    let update = kit::tg_text(1, 42, 7, now.timestamp(), "hello");
    for update in [update.clone(), {
        let mut edit = json!({"update_id": 2, "edited_message": update["message"].clone()});
        edit["edited_message"]["text"] = json!("hello!");
        edit["edited_message"]["edit_date"] = json!(now.timestamp() + 5);
        edit
    }] {
        let resp = inbound_webhook::handle(
            &kit::telegram_post(&update, Some(kit::TG_SECRET)),
            &deps,
            now,
        )
        .await;
        assert_eq!(resp.status(), 200);
    }
    rig.assert_policy_covers(
        "InboundWebhookFunction",
        &[
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
        ],
    );
}

#[tokio::test]
async fn agent_reply_policy_covers_queue_thread_and_replies() {
    let rig = rig().await;
    let now = Utc::now();
    let id = rig
        .customer_writes("4961", now - Duration::minutes(5))
        .await;
    rig.status_overtakes_next_send("wamid.race", now).await;
    let key = kit::ALICE_KEY;
    let deps = kit::agent(rig.store.clone(), rig.channels.clone());
    let call = |method: &str, path: String, body: Option<serde_json::Value>| {
        let req = kit::agent_request(method, &path, Some(key), body);
        let deps = &deps;
        async move { kit::read(agent_reply::handle(&req, deps, Utc::now()).await) }
    };
    let (status, _) = call("GET", "/conversations?status=open".into(), None).await;
    assert_eq!(status, 200);
    let (status, _) = call("GET", format!("/conversations/{id}"), None).await;
    assert_eq!(status, 200);
    let (status, body) = call(
        "POST",
        format!("/conversations/{id}/messages"),
        Some(json!({"text": "Here you go"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (_, thread) = call("GET", format!("/conversations/{id}"), None).await;
    // Newest first: the reply.
    let last = thread["messages"][0].clone();
    assert_eq!(
        last["delivery"]["state"], "sent",
        "the parked status was taken over: {last}"
    );
    // An idempotent reply (claim, finish), a repeat (read), and one the channel
    // rate-limits (the key is freed).
    for _ in 0..2 {
        let mut req = kit::agent_request(
            "POST",
            &format!("/conversations/{id}/messages"),
            Some(key),
            Some(json!({"text": "Once"})),
        );
        req.headers_mut()
            .insert("idempotency-key", "policy-1".parse().unwrap());
        assert_eq!(
            agent_reply::handle(&req, &deps, Utc::now()).await.status(),
            201
        );
    }
    rig.sandbox.fail_next(
        429,
        json!({"error": {"message": "slow down", "code": 131056}}),
    );
    let mut req = kit::agent_request(
        "POST",
        &format!("/conversations/{id}/messages"),
        Some(key),
        Some(json!({"text": "Twice"})),
    );
    req.headers_mut()
        .insert("idempotency-key", "policy-2".parse().unwrap());
    assert_eq!(
        agent_reply::handle(&req, &deps, Utc::now()).await.status(),
        429
    );
    rig.assert_policy_covers(
        "AgentReplyFunction",
        &[
            "dynamodb:GetItem",
            "dynamodb:Query",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
        ],
    );
}

#[tokio::test]
async fn auto_reply_policy_covers_claims_sends_and_retries() {
    let rig = rig().await;
    // Open Mondays only; 2026-11-25 is a Wednesday.
    let hours = r#"{"timezone":"UTC","weekly":{"mon":["08:00-18:00"]},"first_response_minutes":30,
        "auto_reply":{"default":"Away; we'll reply by {reply_by}."}}"#;
    let now = DateTime::parse_from_rfc3339("2026-11-25T02:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    rig.customer_writes("4962", now).await;
    let deps = off_hours_auto_reply::AutoReply {
        store: rig.store.clone(),
        outbound: rig.channels.clone(),
        hours: BusinessHours::from_json(hours, Utc::now()).unwrap(),
        max_age: Duration::minutes(60),
        daily_cap: 3,
        hourly_cap: off_hours_auto_reply::HourlyTokens::new(1000),
        own_addresses: Vec::new(),
        retries: None,
        continuity: None,
    };
    let event = rig.table.stream_event().await;

    // A transient send failure (also on the send's own retries) leaves the claim
    // waiting for the retry...
    for _ in 0..3 {
        rig.sandbox.fail_next(
            503,
            json!({"error":{"message":"Service temporarily unavailable","code":2}}),
        );
    }
    let resp = off_hours_auto_reply::handle_batch(event.clone(), &deps, now).await;
    assert_eq!(resp.batch_item_failures.len(), 1);
    // ...which sends, and takes over a status that overtook its final write.
    rig.status_overtakes_next_send("wamid.race2", now).await;
    let resp = off_hours_auto_reply::handle_batch(event, &deps, now).await;
    assert!(resp.batch_item_failures.is_empty());
    assert_eq!(rig.sandbox.outbox().len(), 1);
    // The schedule's sweep of snoozed conversations reads the status index.
    off_hours_auto_reply::handle_event(json!({"source": "aws.events"}), &deps, now)
        .await
        .unwrap();
    // The redrive of what the failed attempt kept: already answered, forgotten.
    let out = off_hours_auto_reply::handle_event(json!({"redrive": "auto-reply"}), &deps, now)
        .await
        .unwrap();
    assert_eq!(out["redriven"], 1);
    assert_eq!(out["replied"], 0);
    assert_eq!(rig.sandbox.outbox().len(), 1);
    rig.assert_policy_covers(
        "OffHoursAutoReplyFunction",
        &[
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
        ],
    );
}

#[tokio::test]
async fn inbound_email_policy_covers_mail_threads_rejections_and_statuses() {
    use asyncdesk_tests::mail::{self, Encoding};
    let rig = rig().await;
    let now = Utc::now();
    let deps = inbound_email::InboundEmail {
        store: rig.store.clone(),
        objects: mail::s3_objects(&rig.table.endpoint).await,
        settings: mail::settings(),
    };
    // A mail with a subject (thread lookup, then the transaction), a reply to it.
    let first = mail::customer_mail(
        "ada@example.org",
        "Kettle",
        "pk1@example.org",
        "",
        "It leaks",
    );
    let reply = mail::customer_mail(
        "ada@example.org",
        "Re: Kettle",
        "pk2@example.org",
        "In-Reply-To: <pk1@example.org>\r\n",
        "Hello?",
    );
    for (i, m) in [first, reply].iter().enumerate() {
        let n = mail::received_notification(m, Encoding::Base64, &format!("ses-p{i}"));
        let id = format!("sns-p{i}");
        inbound_email::handle_event(mail::sns_event(&[(id.as_str(), &n)]), &deps, now)
            .await
            .unwrap();
    }
    // Something unreadable (a rejection), and statuses of our mail: one for a sent
    // reply, one that overtook its message (parked).
    let garbage = json!({"Records": [{"Sns": {"Type": "Notification", "MessageId": "px", "Message": "not json"}}]});
    inbound_email::handle_event(garbage, &deps, now)
        .await
        .unwrap();
    let endpoint = Endpoint {
        channel: Channel::Email,
        business_id: mail::SUPPORT_ADDRESS.into(),
        customer_id: "ada@example.org".into(),
    };
    let conversation = endpoint.thread_id("pk1@example.org");
    let mut answer = Message::outbound(&endpoint, Author::Agent("alice".into()), "on it", now);
    answer.conversation_id = conversation;
    answer.provider_message_id = Some("ses-linked".into());
    rig.table
        .store
        .record_outbound(&answer, OutboundEffect::AwaitCustomer, now)
        .await
        .unwrap();
    for (n, ses_id) in [("pe1", "ses-linked"), ("pe2", "ses-early")] {
        let e = mail::ses_event("Delivery", ses_id);
        inbound_email::handle_event(mail::sns_event(&[(n, &e)]), &deps, now)
            .await
            .unwrap();
    }
    rig.assert_policy_covers(
        "InboundEmailFunction",
        &[
            "dynamodb:BatchGetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:GetItem",
        ],
    );
}
