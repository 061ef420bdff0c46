//! After the visitor leaves: an agent's replies the widget did not fetch go to the
//! address the visitor left, batched into one mail, through SES on moto; the
//! visitor's answer to that mail joins the same website conversation; a reply the
//! widget fetched is never mailed.

use asyncdesk_tests::stack::{self, RunningStack};
use asyncdesk_tests::widget_rig::{self, ORIGIN, UA, agent};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

async fn start() -> RunningStack {
    widget_rig::start(&[
        ("WIDGET_MAIL_AFTER_SECONDS", "5".to_string()),
        ("BUSINESS_HOURS", widget_rig::open_all_week()),
    ])
    .await
}

async fn widget(
    base: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let page = widget_rig::Page {
        base,
        origin: ORIGIN,
        user_agent: UA,
    };
    let (status, _, v) = widget_rig::visitor_call(&page, method, path, token, body, &[]).await;
    (status, v)
}

/// A visitor who leaves `email` with their first message; their token and
/// conversation.
async fn visitor(base: &str, email: &str, text: &str) -> (String, String) {
    let (_, s) = widget(base, "POST", "/widget/session", None, Some(json!({}))).await;
    let token = s["token"].as_str().unwrap().to_string();
    let id = s["conversation_id"].as_str().unwrap().to_string();
    let (status, v) = widget(
        base,
        "POST",
        "/widget/messages",
        Some(&token),
        Some(json!({"client_message_id": format!("c-{}", uuid::Uuid::new_v4().simple()), "text": text, "email": email})),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    (token, id)
}

async fn mails_to(base: &str, to: &str) -> Vec<Value> {
    asyncdesk_tests::kit::outbox(&reqwest::Client::new(), base)
        .await
        .into_iter()
        .filter(|m| m["channel"] == "email" && m["to"] == to)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replies_a_visitor_left_behind_go_out_in_one_mail_and_the_answer_comes_back() {
    let running = start().await;
    let base = running.base_url.clone();

    // Ada writes and leaves; the agent answers twice; nobody fetches the answers.
    let (ada_token, ada) = visitor(&base, "ada@example.org", "Do you ship to Norway?").await;
    for text in ["Yes, we do.", "Delivery takes 3-5 days."] {
        let (s, v) = agent(
            &base,
            "POST",
            &format!("/conversations/{ada}/messages"),
            Some(json!({"text": text})),
        )
        .await;
        assert_eq!(s, 201, "{v}");
    }
    // Bob writes and stays: his widget fetches the answer.
    let (bob_token, bob) = visitor(&base, "bob@example.org", "Is the blue mug back?").await;
    let (s, _) = agent(
        &base,
        "POST",
        &format!("/conversations/{bob}/messages"),
        Some(json!({"text": "Yes, since Monday."})),
    )
    .await;
    assert_eq!(s, 201);
    let (_, v) = widget(&base, "GET", "/widget/messages", Some(&bob_token), None).await;
    assert!(
        v["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["text"] == "Yes, since Monday.")
    );

    // The schedule (every 15 s locally) mails Ada's two replies in one mail.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mail = loop {
        let mails = mails_to(&base, "ada@example.org").await;
        if let Some(m) = mails.first() {
            break m.clone();
        }
        assert!(Instant::now() < deadline, "no mail to the visitor who left");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let text = mail["text"].as_str().unwrap();
    assert!(
        text.contains("Yes, we do.") && text.contains("Delivery takes 3-5 days."),
        "{text}"
    );
    // A reply to the visitor's chat, as every mail of ours is a reply.
    assert_eq!(
        mail["headers"]["Subject"],
        "Re: Your chat with Acme Support"
    );
    assert_eq!(
        mail["headers"]["Reply-To"],
        format!("<support+{ada}@acme.example>")
    );
    // Two more sweeps: still one mail to Ada, and none to Bob.
    tokio::time::sleep(Duration::from_secs(2 * stack::SWEEP_SECS + 2)).await;
    assert_eq!(mails_to(&base, "ada@example.org").await.len(), 1);
    assert!(
        mails_to(&base, "bob@example.org").await.is_empty(),
        "Bob's widget fetched his reply"
    );

    // Ada answers the mail from her mailbox: it joins her website conversation.
    let ses_id = mail["id"].as_str().unwrap();
    let answer = format!(
        "From: Ada Lovelace <ada@example.org>\r\nTo: Acme Support <support@acme.example>\r\nSubject: Re: Your chat with Acme Support\r\nMessage-ID: <ada-answer-1@example.org>\r\nIn-Reply-To: <{ses_id}@email.amazonses.com>\r\nReferences: <{ses_id}@email.amazonses.com>\r\nDate: {}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nGreat, I'll order today.\r\n",
        chrono::Utc::now().to_rfc2822()
    );
    let r: Value = reqwest::Client::new()
        .post(format!("{base}/dev/email"))
        .body(answer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["stored"], 1, "{r}");
    let (_, conv) = agent(&base, "GET", &format!("/conversations/{ada}"), None).await;
    assert_eq!(conv["conversation"]["channel"], "web", "{conv}");
    assert_eq!(conv["conversation"]["status"], "open", "{conv}");
    let texts: Vec<&str> = conv["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["text"].as_str())
        .collect();
    assert!(
        texts.iter().any(|t| t.contains("Great, I'll order today.")),
        "{texts:?}"
    );
    // No email conversation was started for it.
    let (_, emails) = agent(&base, "GET", "/conversations?channel=email", None).await;
    assert_eq!(
        emails["conversations"].as_array().unwrap().len(),
        0,
        "{emails}"
    );
    // Back on the site, Ada's widget shows her answer, and not our mail.
    let (_, v) = widget(&base, "GET", "/widget/messages", Some(&ada_token), None).await;
    let shown: Vec<&str> = v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["text"].as_str())
        .collect();
    assert!(
        shown.iter().any(|t| t.contains("Great, I'll order today.")),
        "{shown:?}"
    );
    assert!(
        !shown
            .iter()
            .any(|t| t.contains("answered you in the website chat")),
        "{shown:?}"
    );
    running.stop();
}
