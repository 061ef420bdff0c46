//! The agent API handler against moto, replying through a local Graph API stand-in.
//! (Big threads and cursors: `agent_threads.rs`; sending once: `agent_safety.rs`.)

use agent_reply::{Agent, handle};
use asyncdesk::auth::{AgentKeys, hash_key};
use asyncdesk::conversation::ConversationStatus;
use asyncdesk::store::ConversationStore;
use asyncdesk_tests::agent_rig::*;
use asyncdesk_tests::kit::{self};
use chrono::Utc;
use serde_json::json;

#[tokio::test]
async fn every_route_needs_a_valid_bearer_key() {
    let rig = rig().await;
    let id = customer_writes(&rig, "4940", 5).await;
    for (method, path) in [
        ("GET", "/conversations".to_string()),
        ("GET", format!("/conversations/{id}")),
        ("POST", format!("/conversations/{id}/messages")),
    ] {
        for key in [None, Some("wrong"), Some(hash_key(KEY).as_str())] {
            let resp = handle(
                &kit::agent_request(method, &path, key, Some(json!({"text":"x"}))),
                &rig.deps,
                Utc::now(),
            )
            .await;
            assert_eq!(resp.headers().get("www-authenticate").unwrap(), "Bearer");
            let (status, body) = kit::read(resp);
            assert_eq!(
                (status, body["error"]["code"].as_str()),
                (401, Some("unauthorized")),
                "{method} {path} {key:?}"
            );
        }
    }
    assert!(rig.sandbox.outbox().is_empty());
}

#[tokio::test]
async fn queue_is_longest_waiting_first_and_paginates() {
    let rig = rig().await;
    for (customer, minutes_ago) in [("4941", 10), ("4942", 30), ("4943", 20)] {
        customer_writes(&rig, customer, minutes_ago).await;
    }
    let (status, page) = call(
        &rig,
        "GET",
        "/conversations?status=open&limit=2",
        Some(KEY),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = page["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["customer_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["4942", "4943"]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, page2) = call(
        &rig,
        "GET",
        &format!("/conversations?limit=2&cursor={cursor}"),
        Some(KEY),
        None,
    )
    .await;
    assert_eq!(page2["conversations"][0]["customer_id"], "4941");
    assert_eq!(
        page2["conversations"][0]["waiting_since"]
            .as_str()
            .map(|s| s.ends_with('Z')),
        Some(true)
    );

    for bad in [
        "/conversations?status=closed",
        "/conversations?limit=0",
        "/conversations?limit=lots",
        "/conversations?cursor=xyz",
    ] {
        let (status, body) = call(&rig, "GET", bad, Some(KEY), None).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body["error"]["message"].is_string());
    }
}

#[tokio::test]
async fn thread_is_newest_first_and_unknown_ids_are_404() {
    let rig = rig().await;
    let id = customer_writes(&rig, "4944", 30).await;
    customer_writes(&rig, "4944", 10).await;
    let (status, thread) = call(
        &rig,
        "GET",
        &format!("/conversations/{id}"),
        Some(KEY),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(thread["conversation"]["id"], id.as_str());
    let msgs = thread["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 2);
    assert!(msgs[0]["sent_at"].as_str() > msgs[1]["sent_at"].as_str());
    assert_eq!(thread["next_cursor"], serde_json::Value::Null);
    for missing in [
        "/conversations/wa.1.2",
        "/conversations/not-an-id",
        "/conversations/wa-0123456789abcdef0123456789abcdef",
        "/conversations/wa-0123456789abcdef0123456789abcdef%2F3",
    ] {
        assert_eq!(
            call(&rig, "GET", missing, Some(KEY), None).await.0,
            404,
            "{missing}"
        );
    }
    assert_eq!(call(&rig, "GET", "/agents", Some(KEY), None).await.0, 404);
    assert_eq!(
        call(
            &rig,
            "DELETE",
            &format!("/conversations/{id}"),
            Some(KEY),
            None
        )
        .await
        .0,
        405
    );
}

#[tokio::test]
async fn reply_goes_out_on_whatsapp_is_stored_and_sets_pending() {
    let rig = rig().await;
    let id = customer_writes(&rig, "4945", 15).await;
    let (status, body) = call(
        &rig,
        "POST",
        &format!("/conversations/{id}/messages"),
        Some(KEY),
        Some(json!({"text":"  Your parcel left today.  "})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let outbox = rig.sandbox.outbox();
    assert_eq!(outbox.len(), 1);
    assert_eq!(
        (outbox[0].to.as_str(), outbox[0].text.as_str()),
        ("+4945", "Your parcel left today.")
    );
    assert_eq!(rig.sandbox.authorizations(), vec!["Bearer wa-token"]);
    assert_eq!(
        body["message"]["provider_message_id"],
        outbox[0].id.as_str()
    );
    assert_eq!(body["message"]["author"], json!({"agent": "alice"}));
    assert_eq!(body["message"]["delivery"]["state"], "accepted");

    let (_, thread) = call(
        &rig,
        "GET",
        &format!("/conversations/{id}"),
        Some(KEY),
        None,
    )
    .await;
    assert_eq!(thread["conversation"]["status"], "pending");
    assert_eq!(
        thread["conversation"]["waiting_since"],
        serde_json::Value::Null
    );
    assert_eq!(thread["messages"][0]["text"], "Your parcel left today.");
    let (_, open) = call(&rig, "GET", "/conversations", Some(KEY), None).await;
    assert!(open["conversations"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn bad_reply_bodies_are_400_and_send_nothing() {
    let rig = rig().await;
    let id = customer_writes(&rig, "4946", 5).await;
    let path = format!("/conversations/{id}/messages");
    for body in [
        json!({"text":"   "}),
        json!({"txt":"hi"}),
        json!({"text": 5}),
        json!({"text": "x".repeat(4097)}),
    ] {
        let (status, err) = call(&rig, "POST", &path, Some(KEY), Some(body.clone())).await;
        assert_eq!(status, 400, "{body}: {err}");
    }
    let req = http::Request::builder()
        .method("POST")
        .uri(&path)
        .header("authorization", format!("Bearer {KEY}"))
        .body(lambda_http::Body::Text("{oops".into()))
        .unwrap();
    assert_eq!(kit::read(handle(&req, &rig.deps, Utc::now()).await).0, 400);
    assert_eq!(
        call(
            &rig,
            "POST",
            &format!("/conversations/{}/messages", kit::wa_conversation("999")),
            Some(KEY),
            Some(json!({"text":"hi"}))
        )
        .await
        .0,
        404
    );
    assert_eq!(rig.sandbox.requests(), 0);
}

#[tokio::test]
async fn provider_errors_are_clear_json_and_the_attempt_is_kept() {
    let rig = rig().await;
    let id = customer_writes(&rig, "4947", 5).await;
    let path = format!("/conversations/{id}/messages");

    rig.sandbox.fail_next(400, json!({"error":{"message":"(#131047) Re-engagement message","code":131047,"error_data":{"details":"Message failed to send because more than 24 hours have passed since the customer last replied to this number."}}}));
    let (status, err) = call(
        &rig,
        "POST",
        &path,
        Some(KEY),
        Some(json!({"text":"late answer"})),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(err["error"]["code"], "channel_rejected");
    assert_eq!(err["error"]["details"]["provider"]["code"], "131047");
    assert_eq!(
        err["error"]["details"]["message"]["delivery"]["state"],
        "failed"
    );

    // A transient failure is retried inside the request, twice, with backoff (nothing
    // was sent); a third failure is the answer.
    for _ in 0..3 {
        rig.sandbox.fail_next(
            503,
            json!({"error":{"message":"Service temporarily unavailable","code":2}}),
        );
    }
    let (status, err) = call(
        &rig,
        "POST",
        &path,
        Some(KEY),
        Some(json!({"text":"try again"})),
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (502, Some("channel_unavailable"))
    );
    // An error of unknown outcome ("API Unknown") may have sent: never tried again.
    rig.sandbox.fail_next(
        500,
        json!({"error":{"message":"An unknown error occurred","code":1}}),
    );
    let before = rig.sandbox.requests();
    let (status, err) = call(
        &rig,
        "POST",
        &path,
        Some(KEY),
        Some(json!({"text":"once only"})),
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (504, Some("channel_unconfirmed"))
    );
    assert_eq!(rig.sandbox.requests(), before + 1, "one attempt");

    rig.sandbox.fail_next(
        429,
        json!({"error":{"message":"Rate limit hit","code":130429}}),
    );
    let resp = handle(
        &kit::agent_request("POST", &path, Some(KEY), Some(json!({"text":"slow down"}))),
        &rig.deps,
        Utc::now(),
    )
    .await;
    assert!(resp.headers().get("retry-after").is_some());
    assert_eq!(kit::read(resp).0, 429);

    rig.sandbox.fail_next(
        401,
        json!({"error":{"message":"Invalid OAuth access token","code":190}}),
    );
    assert_eq!(
        call(
            &rig,
            "POST",
            &path,
            Some(KEY),
            Some(json!({"text":"token?"}))
        )
        .await
        .0,
        502
    );

    // Accepted without an id: maybe delivered, so the agent is told not to blindly resend.
    rig.sandbox
        .fail_next(200, json!({"messaging_product": "whatsapp"}));
    let (status, err) = call(
        &rig,
        "POST",
        &path,
        Some(KEY),
        Some(json!({"text":"lost?"})),
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (504, Some("channel_unconfirmed"))
    );
    assert_eq!(
        err["error"]["details"]["message"]["delivery"]["state"],
        "unconfirmed"
    );

    // Nothing lost: all four failed attempts are in the thread, marked failed; still open.
    let cid = asyncdesk::conversation::ConversationId::parse(&id).unwrap();
    let thread = rig.table.store.get_thread(&cid).await.unwrap().unwrap();
    let failed: Vec<_> = thread
        .messages
        .iter()
        .filter(|m| {
            m.delivery
                .as_ref()
                .is_some_and(|d| d.state == asyncdesk::conversation::DeliveryState::Failed)
        })
        .collect();
    assert_eq!(failed.len(), 4);
    assert_eq!(thread.conversation.status, ConversationStatus::Open);

    // One transient failure: the retry inside the request goes through, sent once.
    let sent_before = rig.sandbox.outbox().len();
    rig.sandbox.fail_next(
        503,
        json!({"error":{"message":"Service temporarily unavailable","code":2}}),
    );
    let (status, _) = call(
        &rig,
        "POST",
        &path,
        Some(KEY),
        Some(json!({"text":"once more"})),
    )
    .await;
    assert_eq!(status, 201, "the retry went through");
    assert_eq!(rig.sandbox.outbox().len(), sent_before + 1, "sent once");
}

#[tokio::test]
async fn a_store_outage_after_the_send_neither_loses_the_reply_nor_invites_a_resend() {
    let rig = rig().await;
    let id = customer_writes(&rig, "4948", 5).await;
    let (base, _task) = {
        let sandbox = rig.sandbox.clone();
        sandbox.start().await
    };
    let deps = Agent {
        store: {
            let mut store = asyncdesk_tests::hooked::Hooked::new(rig.table.store.clone());
            store.fail_record_outbound = true;
            store
        },
        outbound: kit::whatsapp_channels(&base, "wa-token"),
        keys: AgentKeys::parse(&format!("alice={}", hash_key(KEY))).unwrap(),
        hours: asyncdesk::hours::BusinessHours::from_json(kit::DEV_HOURS, Utc::now()).unwrap(),
        objects: None,
        media: None,
        upload_limit: asyncdesk::media::MediaLimits::default().max_file_bytes,
        templates: Vec::new(),
        session_secret: None,
    };
    let req = kit::agent_request(
        "POST",
        &format!("/conversations/{id}/messages"),
        Some(KEY),
        Some(json!({"text": "on its way"})),
    );
    let (status, body) = kit::read(handle(&req, &deps, Utc::now()).await);
    assert_eq!(
        status, 201,
        "the customer got it: a 5xx would make the agent send it twice"
    );
    assert!(body["warning"].as_str().unwrap().contains("do not resend"));
    assert_eq!(rig.sandbox.outbox().len(), 1);
    let cid = asyncdesk::conversation::ConversationId::parse(&id).unwrap();
    let thread = rig.table.store.get_thread(&cid).await.unwrap().unwrap();
    let kept = thread
        .messages
        .iter()
        .find(|m| m.text() == Some("on its way"))
        .expect("the reply is in the thread");
    assert_eq!(
        kept.delivery.as_ref().unwrap().state,
        asyncdesk::conversation::DeliveryState::Sending
    );
}

#[tokio::test]
async fn errors_share_one_shape_with_the_request_id_in_body_and_header() {
    let rig = rig().await;
    let resp = agent_reply::handle(
        &kit::agent_request("GET", "/conversations", None, None),
        &rig.deps,
        Utc::now(),
    )
    .await;
    let header = resp.headers()["x-request-id"].to_str().unwrap().to_string();
    let (status, body) = kit::read(resp);
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unauthorized");
    assert_eq!(body["error"]["request_id"], header.as_str());
    assert!(body["error"].as_object().unwrap().contains_key("details"));
    // A success carries the header too; the webhooks' errors have the same shape.
    let ok = agent_reply::handle(
        &kit::agent_request("GET", "/conversations", Some(KEY), None),
        &rig.deps,
        Utc::now(),
    )
    .await;
    assert!(ok.headers().contains_key("x-request-id"));
    let deps = kit::inbound(rig.table.store.clone());
    let bad = kit::signed_post("/webhooks/whatsapp", b"{}", "wrong-secret");
    let (status, body) = kit::read(inbound_webhook::handle(&bad, &deps, Utc::now()).await);
    assert_eq!(status, 401);
    assert!(
        body["error"]["request_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "{body}"
    );
}

#[tokio::test]
async fn notes_stay_in_the_thread_and_never_go_out() {
    let rig = rig().await;
    let id = customer_writes(&rig, "4994", 5).await;
    let (status, body) = call(
        &rig,
        "POST",
        &format!("/conversations/{id}/notes"),
        Some(KEY),
        Some(json!({"text": "Customer is a reseller; check the contract first."})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["note"]["kind"], "note");
    assert_eq!(body["note"]["author"], json!({"agent": "alice"}));
    let (_, thread) = call(
        &rig,
        "GET",
        &format!("/conversations/{id}"),
        Some(KEY),
        None,
    )
    .await;
    assert_eq!(thread["messages"][0]["kind"], "note");
    assert_eq!(
        thread["conversation"]["status"], "open",
        "a note is no answer"
    );
    assert!(rig.sandbox.outbox().is_empty(), "nothing sent");
    for bad in [
        json!({}),
        json!({"text": "  "}),
        json!({"text": "x", "send": true}),
    ] {
        let (status, _) = call(
            &rig,
            "POST",
            &format!("/conversations/{id}/notes"),
            Some(KEY),
            Some(bad),
        )
        .await;
        assert_eq!(status, 400);
    }
}
