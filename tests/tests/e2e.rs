//! End to end through the local stack, over HTTP, as a newcomer would use it:
//! signed webhook in -> one off-hours auto-reply in the outbox -> the agent lists,
//! reads and replies -> the reply is in the outbox -> its delivery status arrives.

use asyncdesk::channels::whatsapp;
use asyncdesk::hours::BusinessHours;
use asyncdesk_tests::kit;
use asyncdesk_tests::stack::{self, DEV_AGENT_KEY, Settings};
use asyncdesk_tests::template::Template;
use chrono::Utc;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::{Duration, Instant};

fn closed_now_hours() -> String {
    kit::closed_now_hours("Thanks! A human will reply by {reply_by}.")
}

/// GET `path` as the dev agent; the JSON body.
async fn agent_get(client: &reqwest::Client, base: &str, path: &str) -> Value {
    client
        .get(format!("{base}{path}"))
        .header("authorization", format!("Bearer {DEV_AGENT_KEY}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn outbox(client: &reqwest::Client, base: &str) -> Vec<Value> {
    kit::outbox(client, base).await
}

async fn wait_for_outbox(client: &reqwest::Client, base: &str, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = outbox(client, base).await;
        if out.len() >= n || Instant::now() > deadline {
            return out;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn post_webhook(client: &reqwest::Client, base: &str, body: &[u8]) -> (u16, Value) {
    let resp = client
        .post(format!("{base}/webhooks/whatsapp"))
        .header("content-type", "application/json")
        .header(
            "x-hub-signature-256",
            whatsapp::verify::sign(b"dev-app-secret", body),
        )
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    (
        resp.status().as_u16(),
        resp.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn webhook_to_auto_reply_to_agent_reply_through_the_local_stack() {
    let hours_json = closed_now_hours();
    let overrides: HashMap<&str, String> = HashMap::from([
        ("PORT", "0".to_string()),
        ("BUSINESS_HOURS", hours_json.clone()),
        (
            "TABLE_NAME",
            format!("asyncdesk-e2e-{}", uuid::Uuid::new_v4().simple()),
        ),
    ]);
    let settings = Settings::new(&|k| overrides.get(k).cloned());
    let running = stack::start(settings).await.expect("local stack starts");
    let base = running.base_url.clone();
    let http = reqwest::Client::new();
    let auth = format!("Bearer {DEV_AGENT_KEY}");

    // Meta's subscription handshake.
    let challenge = http
        .get(format!("{base}/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=dev-verify-token&hub.challenge=987654"))
        .send()
        .await
        .unwrap();
    assert_eq!(challenge.status(), 200);
    assert_eq!(challenge.text().await.unwrap(), "987654");

    // An off-hours message, delivered twice (Meta retries), then a follow-up.
    let now = Utc::now();
    let first = kit::text_webhook(
        "4917012345678",
        "wamid.e2e.1",
        now.timestamp(),
        "Is my order on its way?",
    );
    assert_eq!(
        post_webhook(&http, &base, &first).await,
        (
            200,
            json!({"messages":1,"stored":1,"duplicates":0,"edits":0,"statuses":0,"statuses_applied":0,"rejected":0,"ignored":0})
        )
    );
    assert_eq!(post_webhook(&http, &base, &first).await.1["duplicates"], 1);
    let unsigned = http
        .post(format!("{base}/webhooks/whatsapp"))
        .body(first.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);

    let out = wait_for_outbox(&http, &base, 1).await;
    assert_eq!(out.len(), 1, "one auto-reply: {out:?}");
    let hours = BusinessHours::from_json(&hours_json, Utc::now()).unwrap();
    let period = hours.off_hours_period(now).unwrap();
    assert_eq!(
        out[0]["text"],
        format!(
            "Thanks! A human will reply by {}.",
            hours.render_reply_by(period.reply_by)
        )
    );
    assert_eq!(out[0]["to"], "+4917012345678");

    let second = kit::text_webhook(
        "4917012345678",
        "wamid.e2e.2",
        now.timestamp() + 1,
        "Hello?",
    );
    assert_eq!(post_webhook(&http, &base, &second).await.0, 200);

    // The agent's queue, thread and reply.
    assert_eq!(
        http.get(format!("{base}/conversations"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let queue: Value = agent_get(&http, &base, "/conversations?status=open").await;
    let convs = queue["conversations"].as_array().unwrap();
    assert_eq!(convs.len(), 1);
    let id = convs[0]["id"].as_str().unwrap().to_string();
    assert_eq!(convs[0]["customer_name"], "Ada");

    let deadline = Instant::now() + Duration::from_secs(20);
    let thread = loop {
        let thread: Value = agent_get(&http, &base, &format!("/conversations/{id}")).await;
        if thread["messages"].as_array().unwrap().len() >= 3 || Instant::now() > deadline {
            break thread;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let authors: Vec<&Value> = thread["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["author"])
        .collect();
    assert!(
        authors.contains(&&json!("auto_reply"))
            && authors.iter().filter(|a| ***a == json!("customer")).count() == 2,
        "{authors:?}"
    );

    let reply = http
        .post(format!("{base}/conversations/{id}/messages"))
        .header("authorization", &auth)
        .json(&json!({"text": "Yes, it ships today."}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 201);
    let reply: Value = reply.json().await.unwrap();
    let out = outbox(&http, &base).await;
    assert_eq!(
        out.len(),
        2,
        "the follow-up got no second auto-reply; the agent's reply went out: {out:?}"
    );
    assert_eq!(out[1]["text"], "Yes, it ships today.");
    assert_eq!(reply["message"]["provider_message_id"], out[1]["id"]);

    // Meta reports the reply delivered.
    let status = kit::webhook(
        "4917012345678",
        "Ada",
        json!([]),
        json!([{"id": out[1]["id"], "status": "delivered", "timestamp": (now.timestamp() + 5).to_string(), "recipient_id": "4917012345678"}]),
    );
    assert_eq!(
        post_webhook(&http, &base, &status).await.1["statuses_applied"],
        1
    );
    let thread: Value = agent_get(&http, &base, &format!("/conversations/{id}")).await;
    assert_eq!(thread["conversation"]["status"], "pending");
    let sent = thread["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == reply["message"]["id"])
        .unwrap()
        .clone();
    assert_eq!(sent["delivery"]["state"], "delivered");

    // Every route of the deployed API is served locally by the same handlers.
    for route in Template::load().unwrap().http_routes() {
        let mut path = route.path.replace("{proxy+}", "index.html");
        if path.starts_with("/saved-replies/") {
            // A saved reply of its own for each route that names one.
            let created: Value = http
                .post(format!("{base}/saved-replies"))
                .header("authorization", &auth)
                .json(&json!({"title": "t", "text": "x"}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            path = path.replace("{id}", created["saved_reply"]["id"].as_str().unwrap());
        }
        let path = path.replace("{id}", &id);
        let mut req = http
            .request(route.method.parse().unwrap(), format!("{base}{path}"))
            .header("authorization", &auth);
        if route.method == "POST" && path.starts_with("/conversations") {
            req = req.json(&json!({}));
        }
        if route.method == "PUT" {
            req = req.json(&json!({"title": "t", "text": "y"}));
        }
        let status = req.send().await.unwrap().status().as_u16();
        assert_ne!(status, 404, "{} {} is not served", route.method, route.path);
        assert!(status < 500, "{} {} -> {status}", route.method, route.path);
    }
    running.stop();
}
