//! The website chat refuses who it should: a signed-in user's conversation follows
//! them and nobody can claim it (`user_hash`), and the per-visitor and per-address
//! limits answer 429 with `Retry-After`. Over HTTP against the local stack.

use asyncdesk::channels::web::visitor::{WidgetSecret, user_hash};
use asyncdesk_tests::widget_rig::{Browser, open_all_week, start, texts};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_signed_in_user_keeps_one_conversation_and_nobody_can_claim_it() {
    let running = start(&[("BUSINESS_HOURS", open_all_week())]).await;
    let browser = Browser::new(&running.base_url);
    let identity = WidgetSecret::new("dev-widget-identity-secret-not-for-production").unwrap();
    let hash = user_hash(&identity, "user-42");
    let (s, laptop) = browser
        .session(json!({"user_id": "user-42", "user_hash": hash}))
        .await;
    assert_eq!(
        (s, laptop["identified"].clone()),
        (200, json!(true)),
        "{laptop}"
    );
    let (s, phone) = browser
        .session(json!({"user_id": "user-42", "user_hash": hash.to_uppercase()}))
        .await;
    assert_eq!(s, 200);
    assert_eq!(laptop["conversation_id"], phone["conversation_id"]);
    let (s, _) = browser
        .send(
            laptop["token"].as_str().unwrap(),
            "client-user-0001",
            "from my laptop",
        )
        .await;
    assert_eq!(s, 201);
    let (_, v) = browser
        .messages(phone["token"].as_str().unwrap(), None)
        .await;
    assert_eq!(texts(&v), ["from my laptop"]);
    // Someone else's id with a made-up hash, or with user-42's hash.
    for (id, h) in [
        ("user-43", hash.clone()),
        ("user-42", "0".repeat(64)),
        ("user-42", String::new()),
    ] {
        let (s, v) = browser
            .session(json!({"user_id": id, "user_hash": h}))
            .await;
        assert_eq!(
            (s, v["error"]["code"].clone()),
            (403, json!("user_hash_mismatch")),
            "{id}"
        );
    }
    let (s, v) = browser.session(json!({"user_id": "user-42"})).await;
    assert_eq!(s, 403, "{v}");
    running.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_limits_answer_429_with_retry_after() {
    let running = start(&[
        ("BUSINESS_HOURS", open_all_week()),
        ("WIDGET_VISITOR_MESSAGES_PER_MINUTE", "3".to_string()),
        ("WIDGET_IP_MESSAGES_PER_MINUTE", "5".to_string()),
        ("WIDGET_IP_SESSIONS_PER_MINUTE", "4".to_string()),
    ])
    .await;
    let browser = Browser::new(&running.base_url);
    // The counters are per clock minute: start early in one.
    let second = chrono::Utc::now().timestamp() % 60;
    if second > 40 {
        tokio::time::sleep(std::time::Duration::from_secs((61 - second) as u64)).await;
    }
    let (token, _) = browser.token().await;
    let mut statuses = Vec::new();
    for i in 0..4 {
        let (s, _, _) = browser
            .call(
                "POST",
                "/widget/messages",
                Some(&token),
                Some(json!({"client_message_id": format!("client-rate-{i:04}"), "text": format!("message {i}")})),
                &[],
            )
            .await;
        statuses.push(s);
    }
    // Per visitor: three a minute.
    assert_eq!(statuses, [201, 201, 201, 429]);
    let (token2, _) = browser.token().await;
    // Per address: five a minute across visitors (3 so far, then 2, then refused).
    let mut answers = Vec::new();
    for i in 0..3 {
        answers.push(
            browser
                .call(
                    "POST",
                    "/widget/messages",
                    Some(&token2),
                    Some(json!({"client_message_id": format!("client-ip-{i:04}"), "text": "hi"})),
                    &[],
                )
                .await,
        );
    }
    let refused = answers
        .into_iter()
        .find(|(s, _, _)| *s == 429)
        .expect("the address's sixth message in a minute is refused");
    let retry: u64 = refused.1["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(refused.2["error"]["code"], "rate_limited");
    // New visitors from one address: four a minute.
    let mut refused = false;
    for _ in 0..6 {
        let (s, _) = browser.session(json!({})).await;
        refused |= s == 429;
    }
    assert!(refused, "new sessions from one address are limited");
    running.stop();
}
