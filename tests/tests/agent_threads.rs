//! The agent API on big threads, against moto: threads of thousands of messages open
//! page by page under 1 MB, raw payloads only when asked, cursors only where issued.

use asyncdesk_tests::agent_rig::*;
use asyncdesk_tests::kit::{self};
use chrono::Utc;

#[tokio::test]
async fn a_5000_message_thread_opens_page_by_page_under_1_mb() {
    let rig = rig().await;
    let id = bulk_messages(&rig, "4990", 5000, 0).await;
    let mut seen = std::collections::HashSet::new();
    let mut cursor: Option<String> = None;
    let mut last_sent: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/conversations/{id}?limit=200&cursor={c}"),
            None => format!("/conversations/{id}?limit=200"),
        };
        let resp = agent_reply::handle(
            &kit::agent_request("GET", &path, Some(KEY), None),
            &rig.deps,
            Utc::now(),
        )
        .await;
        assert!(resp.body().as_ref().len() < 1024 * 1024);
        let (status, page) = kit::read(resp);
        assert_eq!(status, 200, "{page}");
        pages += 1;
        for m in page["messages"].as_array().unwrap() {
            let sent = m["sent_at"].as_str().unwrap().to_string();
            if let Some(prev) = &last_sent {
                assert!(sent <= *prev, "newest first across pages");
            }
            last_sent = Some(sent);
            assert!(
                seen.insert(m["id"].as_str().unwrap().to_string()),
                "no repeats"
            );
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5001, "every message once (and the first one)");
    assert!(pages >= 26, "{pages} pages");
}

#[tokio::test]
async fn big_raw_payloads_come_only_when_asked_and_pages_stay_under_1_mb() {
    let rig = rig().await;
    let id = bulk_messages(&rig, "4991", 8, 300 * 1024).await;
    let get = |path: String| {
        let deps = &rig.deps;
        async move {
            let resp = agent_reply::handle(
                &kit::agent_request("GET", &path, Some(KEY), None),
                deps,
                Utc::now(),
            )
            .await;
            let len = resp.body().as_ref().len();
            (len, kit::read(resp).1)
        }
    };
    // Without raw: small answers. (DynamoDB reads at most 1 MB per request, so a page
    // of big items may hold fewer than `limit`; the cursor goes on.)
    let mut all = 0;
    let mut path = format!("/conversations/{id}");
    loop {
        let (len, page) = get(path.clone()).await;
        assert!(len < 64 * 1024, "no raw by default: {len} bytes");
        assert!(page["messages"][0].get("raw").is_none());
        all += page["messages"].as_array().unwrap().len();
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/conversations/{id}?cursor={c}"),
            None => break,
        }
    }
    assert_eq!(all, 9);
    let (len, page) = get(format!("/conversations/{id}?raw=true")).await;
    assert!(len < 1024 * 1024, "{len}");
    let first = page["messages"].as_array().unwrap().len();
    assert!((2..9).contains(&first), "cut by size: {first}");
    assert_eq!(
        page["messages"][1]["raw"].as_str().unwrap().len(),
        300 * 1024
    );
    // The rest follows from the cursor, raw included.
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, rest) = get(format!("/conversations/{id}?raw=true&cursor={cursor}")).await;
    assert!(!rest["messages"].as_array().unwrap().is_empty());
    assert_ne!(rest["messages"][0]["id"], page["messages"][0]["id"]);
}

#[tokio::test]
async fn cursors_are_only_good_where_they_were_issued() {
    let rig = rig().await;
    let a = bulk_messages(&rig, "4992", 5, 0).await;
    let b = bulk_messages(&rig, "4993", 5, 0).await;
    let (_, page) = call(
        &rig,
        "GET",
        &format!("/conversations/{a}?limit=2"),
        Some(KEY),
        None,
    )
    .await;
    let thread_cursor = page["next_cursor"].as_str().unwrap().to_string();
    let (_, queue) = call(&rig, "GET", "/conversations?limit=1", Some(KEY), None).await;
    let queue_cursor = queue["next_cursor"].as_str().unwrap().to_string();
    let mut mangled = thread_cursor.clone();
    mangled.insert(5, 'A');
    for (path, what) in [
        (
            format!("/conversations/{b}?cursor={thread_cursor}"),
            "another conversation's",
        ),
        (
            format!("/conversations/{a}?cursor={queue_cursor}"),
            "the queue's",
        ),
        (format!("/conversations/{a}?cursor={mangled}"), "mangled"),
        (format!("/conversations/{a}?cursor=%00%ff"), "garbage"),
        (
            format!("/conversations?cursor={thread_cursor}"),
            "a thread's, on the queue",
        ),
    ] {
        let (status, body) = call(&rig, "GET", &path, Some(KEY), None).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("invalid_cursor")),
            "{what}: {body}"
        );
    }
    let (status, _) = call(
        &rig,
        "GET",
        &format!("/conversations/{a}?cursor={thread_cursor}"),
        Some(KEY),
        None,
    )
    .await;
    assert_eq!(status, 200);
}
