//! The local DynamoDB tells the truth, and the local stack behaves as the platforms
//! will make it behave: concurrent conditional writes on one key (exactly one wins,
//! every round), redeliveries followed by new customers, and a burst of duplicated
//! deliveries from many customers on both channels (one auto-reply each).

use asyncdesk::channels::whatsapp;
use asyncdesk_tests::kit::{self, TestTable};
use asyncdesk_tests::stack::{self, RunningStack, Settings};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_conditional_writes_on_one_key_have_exactly_one_winner() {
    let table = TestTable::new().await;
    for round in 0..20 {
        let mut racers = tokio::task::JoinSet::new();
        for racer in 0..16 {
            let (client, name) = (table.client.clone(), table.name.clone());
            racers.spawn(async move {
                client
                    .put_item()
                    .table_name(name)
                    .item("pk", AttributeValue::S(format!("RACE#{round}")))
                    .item("sk", AttributeValue::S("RACE".into()))
                    .item("winner", AttributeValue::N(racer.to_string()))
                    .condition_expression("attribute_not_exists(pk)")
                    .send()
                    .await
                    .is_ok()
            });
        }
        let winners = racers.join_all().await.into_iter().filter(|w| *w).count();
        assert_eq!(winners, 1, "round {round}");
    }
}

async fn start_closed_stack() -> RunningStack {
    let overrides: HashMap<&str, String> = HashMap::from([
        ("PORT", "0".to_string()),
        (
            "BUSINESS_HOURS",
            kit::closed_now_hours("Away until {reply_by}."),
        ),
        (
            "TABLE_NAME",
            format!("asyncdesk-local-{}", uuid::Uuid::new_v4().simple()),
        ),
    ]);
    stack::start(Settings::new(&|k| overrides.get(k).cloned()))
        .await
        .expect("local stack starts")
}

async fn post_whatsapp(http: &reqwest::Client, base: &str, body: Vec<u8>) -> u16 {
    http.post(format!("{base}/webhooks/whatsapp"))
        .header(
            "x-hub-signature-256",
            whatsapp::verify::sign(b"dev-app-secret", &body),
        )
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn post_telegram(http: &reqwest::Client, base: &str, update: &Value) -> u16 {
    http.post(format!("{base}/webhooks/telegram"))
        .header("x-telegram-bot-api-secret-token", "dev-telegram-secret")
        .json(update)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Waits until the outbox holds `n` messages (or 30 s passed), then a little longer
/// to see that no more arrive.
async fn settled_outbox(http: &reqwest::Client, base: &str, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while kit::outbox(http, base).await.len() < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    kit::outbox(http, base).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn after_redeliveries_a_new_customer_still_gets_exactly_one_auto_reply() {
    let running = start_closed_stack().await;
    let (http, base) = (reqwest::Client::new(), running.base_url.clone());
    let now = Utc::now().timestamp();
    let a = kit::text_webhook("4915100000001", "wamid.a1", now, "hello");
    assert_eq!(post_whatsapp(&http, &base, a.clone()).await, 200);
    assert_eq!(settled_outbox(&http, &base, 1).await.len(), 1);
    // Meta redelivers A's webhook: a cancelled transaction in the store.
    assert_eq!(post_whatsapp(&http, &base, a).await, 200);
    // A new customer writes afterwards, on each channel.
    let b = kit::text_webhook("4915100000002", "wamid.b1", now, "hi");
    assert_eq!(post_whatsapp(&http, &base, b).await, 200);
    let c = kit::tg_text(1, 555001, 1, now, "hey");
    assert_eq!(post_telegram(&http, &base, &c).await, 200);
    assert_eq!(post_telegram(&http, &base, &c).await, 200);
    let d = kit::tg_text(2, 555002, 1, now, "hey there");
    assert_eq!(post_telegram(&http, &base, &d).await, 200);
    let out = settled_outbox(&http, &base, 4).await;
    let mut to: Vec<&str> = out.iter().map(|m| m["to"].as_str().unwrap()).collect();
    to.sort();
    assert_eq!(
        to,
        ["+4915100000001", "+4915100000002", "555001", "555002"],
        "{out:?}"
    );
    assert!(
        out.iter()
            .any(|m| m["channel"] == "telegram" && m["reply_to"] == "1")
    );
    running.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_duplicated_deliveries_gets_one_auto_reply_per_customer() {
    let running = start_closed_stack().await;
    let (http, base) = (reqwest::Client::new(), running.base_url.clone());
    let now = Utc::now().timestamp();
    // 40 WhatsApp and 20 Telegram customers, 2 messages each, every delivery twice,
    // from 16 senders at once.
    let mut deliveries: Vec<(bool, Value)> = Vec::new();
    for c in 0..40 {
        let customer = format!("49170{c:08}");
        for m in 0..2 {
            let body = kit::text_webhook(&customer, &format!("wamid.{c}.{m}"), now + m, "hi");
            let v: Value = serde_json::from_slice(&body).unwrap();
            deliveries.push((true, v.clone()));
            deliveries.push((true, v));
        }
    }
    for c in 0..20 {
        for m in 0..2 {
            let u = kit::tg_text(1000 + c * 2 + m, 700_000 + c, 10 + m, now + m, "hello");
            deliveries.push((false, u.clone()));
            deliveries.push((false, u));
        }
    }
    // Interleave: a duplicate rarely follows its original directly.
    let n = deliveries.len();
    let order: Vec<usize> = (0..n).map(|i| (i * 37) % n).collect();
    assert_eq!(order.iter().collect::<HashSet<_>>().len(), n);
    let queue = std::sync::Arc::new(std::sync::Mutex::new(
        order
            .into_iter()
            .map(|i| deliveries[i].clone())
            .collect::<Vec<_>>(),
    ));
    let mut senders = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (queue, http, base) = (queue.clone(), http.clone(), base.clone());
        senders.spawn(async move {
            let mut statuses = Vec::new();
            loop {
                let next = queue.lock().unwrap().pop();
                let Some((is_whatsapp, payload)) = next else {
                    break;
                };
                statuses.push(if is_whatsapp {
                    post_whatsapp(&http, &base, payload.to_string().into_bytes()).await
                } else {
                    post_telegram(&http, &base, &payload).await
                });
            }
            statuses
        });
    }
    let statuses: Vec<u16> = senders.join_all().await.into_iter().flatten().collect();
    assert_eq!(statuses.len(), n);
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let out = settled_outbox(&http, &base, 60).await;
    let mut per_customer: HashMap<String, usize> = HashMap::new();
    for m in &out {
        *per_customer
            .entry(m["to"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(per_customer.len(), 60, "{per_customer:?}");
    assert!(per_customer.values().all(|n| *n == 1), "{per_customer:?}");
    // Every message was stored once.
    let queue: Value = http
        .get(format!("{base}/conversations?status=open&limit=100"))
        .header("authorization", "Bearer dev-agent-key")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let convs = queue["conversations"].as_array().unwrap();
    assert_eq!(convs.len(), 60);
    for conv in convs {
        // Two messages and the auto-reply.
        assert_eq!(conv["message_count"], 3, "{conv}");
    }
    running.stop();
}

/// The README's email walkthrough: a raw mail posted to /dev/email (as SES -> SNS
/// would deliver it) gets one auto-reply that threads; the agent's answer goes out
/// through SES with the threading headers; both show in /dev/outbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_mail_posted_to_the_local_stack_is_auto_replied_and_answered() {
    let running = start_closed_stack().await;
    let (http, base) = (reqwest::Client::new(), running.base_url.clone());
    let mail = "From: Ada Lovelace <ada@example.org>\r\nTo: Acme Support <support@acme.example>\r\nSubject: Where is my order?\r\nMessage-ID: <order-1@example.org>\r\nDate: "
        .to_string()
        + &Utc::now().to_rfc2822()
        + "\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHi, order 42 has not arrived.\r\n";
    for encoding in ["base64", "utf8"] {
        let r: Value = http
            .post(format!(
                "{base}/dev/email?encoding={encoding}&sns_message_id=n-{encoding}"
            ))
            .body(mail.clone())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        // The second delivery is the same mail (same Message-ID): a duplicate.
        let (stored, duplicates) = if encoding == "base64" { (1, 0) } else { (0, 1) };
        assert_eq!(
            (r["stored"].as_u64(), r["duplicates"].as_u64()),
            (Some(stored), Some(duplicates)),
            "{r}"
        );
    }
    let out = settled_outbox(&http, &base, 1).await;
    assert_eq!(out.len(), 1, "{out:?}");
    let auto = &out[0];
    assert_eq!(auto["channel"], "email");
    assert_eq!(auto["to"], "ada@example.org");
    assert_eq!(auto["headers"]["Auto-Submitted"], "auto-replied");
    assert_eq!(auto["headers"]["In-Reply-To"], "<order-1@example.org>");
    assert_eq!(auto["headers"]["Subject"], "Auto: Re: Where is my order?");
    // The agent finds the conversation and answers it.
    let list: Value = http
        .get(format!("{base}/conversations"))
        .bearer_auth(stack::DEV_AGENT_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let conversation = list["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["channel"] == "email")
        .expect("the email conversation is in the queue")
        .clone();
    assert_eq!(conversation["subject"], "Where is my order?");
    let id = conversation["id"].as_str().unwrap();
    let sent = http
        .post(format!("{base}/conversations/{id}/messages"))
        .bearer_auth(stack::DEV_AGENT_KEY)
        .json(&serde_json::json!({"text": "It ships today."}))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status().as_u16(), 201);
    let out = settled_outbox(&http, &base, 2).await;
    let answer = out
        .iter()
        .find(|m| m["text"] == "It ships today.")
        .expect("sent");
    assert_eq!(answer["headers"]["Subject"], "Re: Where is my order?");
    assert_eq!(answer["headers"]["References"], "<order-1@example.org>");
    assert!(answer["headers"].get("Auto-Submitted").is_none());
    assert_eq!(
        answer["headers"]["Reply-To"],
        format!("<support+{id}@acme.example>")
    );
    running.stop();
}

/// The README's walkthrough of a photo: a file put into the Graph sandbox as a
/// customer's, the webhook that names it, the capture fed by the stack's stream, and
/// the agent opening it through the thread's download URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_customers_photo_reaches_the_agent_on_the_local_stack() {
    let stack = start_closed_stack().await;
    let (http, base) = (reqwest::Client::new(), stack.base_url.clone());
    let mut photo = vec![0xFF, 0xD8, 0xFF, 0xE0];
    photo.extend_from_slice(b" a photo of the broken part");
    let media: Value = http
        .post(format!("{base}/dev/media?channel=whatsapp&type=image/jpeg"))
        .body(photo.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = media["id"].as_str().expect("a media id");
    let customer = "4915112340077";
    let body = kit::webhook(
        customer,
        "Ada",
        serde_json::json!([{"from": customer, "id": "wamid.localphoto", "timestamp": Utc::now().timestamp().to_string(),
            "type": "image", "image": {"id": id, "mime_type": "image/jpeg", "caption": "broken"}}]),
        serde_json::json!([]),
    );
    assert_eq!(post_whatsapp(&http, &base, body).await, 200);
    let conversation = whatsapp_conversation(customer);
    let deadline = Instant::now() + Duration::from_secs(20);
    let attachment = loop {
        let thread: Value = http
            .get(format!("{base}/conversations/{conversation}"))
            .bearer_auth(stack::DEV_AGENT_KEY)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        // The customer's message (the auto-reply may be newer).
        let a = thread["messages"]
            .as_array()
            .and_then(|m| m.iter().find(|m| m["id"] == "wamid.localphoto"))
            .map(|m| m["attachments"][0].clone())
            .unwrap_or_default();
        if a["state"] == "stored" || Instant::now() > deadline {
            break a;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(attachment["state"], "stored", "{attachment}");
    let url = attachment["url"].as_str().expect("a download URL");
    // Through the stand-in of the template's CloudFront distribution, which adds
    // the security headers S3 cannot send.
    assert!(url.starts_with(&format!("{base}/dev/cdn/")), "{url}");
    let opened = http.get(url).send().await.unwrap();
    assert_eq!(opened.status(), 200);
    assert_eq!(opened.headers()["x-content-type-options"], "nosniff");
    assert!(
        opened.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(opened.bytes().await.unwrap().to_vec(), photo);

    // The agent answers with a PDF: the upload target, the PUT, the reply naming it;
    // the Graph sandbox's outbox shows the file.
    let pdf = b"%PDF-1.4\n%%EOF\n".to_vec();
    let target: Value = http
        .post(format!("{base}/conversations/{conversation}/attachments"))
        .bearer_auth(stack::DEV_AGENT_KEY)
        .json(&serde_json::json!({"filename": "invoice.pdf", "mime_type": "application/pdf", "size": pdf.len()}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut put = http
        .put(target["upload"]["url"].as_str().expect("an upload URL"))
        .body(pdf.clone());
    for (k, v) in target["upload"]["headers"].as_object().unwrap() {
        put = put.header(k.as_str(), v.as_str().unwrap());
    }
    assert!(put.send().await.unwrap().status().is_success());
    let sent = http
        .post(format!("{base}/conversations/{conversation}/messages"))
        .bearer_auth(stack::DEV_AGENT_KEY)
        .json(&serde_json::json!({"text": "Your invoice", "attachments": [target["attachment"]["id"]]}))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 201);
    let outbox = kit::outbox(&http, &base).await;
    let last = outbox.last().expect("the reply");
    assert_eq!(last["text"], "Your invoice");
    assert_eq!(last["attachments"][0]["filename"], "invoice.pdf");
    assert_eq!(
        last["attachments"][0]["sha256"],
        asyncdesk::media::sha256_hex(&pdf)
    );
    stack.stop();
}

fn whatsapp_conversation(customer: &str) -> String {
    asyncdesk::conversation::Endpoint {
        channel: asyncdesk::conversation::Channel::Whatsapp,
        business_id: kit::PHONE_NUMBER_ID.into(),
        customer_id: customer.into(),
    }
    .conversation_id()
    .as_str()
    .to_string()
}
