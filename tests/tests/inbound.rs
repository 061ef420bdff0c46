//! The inbound webhook handler against moto, fed real API Gateway (HTTP API v2) events.

use asyncdesk::conversation::{Author, Content};
use asyncdesk::store::ConversationStore;
use asyncdesk_tests::kit::{self, APP_SECRET, TestTable, VERIFY_TOKEN};
use base64::Engine;
use chrono::Utc;
use inbound_webhook::{Inbound, handle};
use serde_json::json;

fn deps<S: ConversationStore>(store: S) -> Inbound<S> {
    kit::inbound(store)
}

/// An API Gateway HTTP API event, as Lambda receives it.
fn apigw_event(
    method: &str,
    query: &str,
    headers: serde_json::Value,
    body: Option<&[u8]>,
) -> lambda_http::Request {
    let event = json!({
        "version": "2.0",
        "routeKey": format!("{method} /webhooks/whatsapp"),
        "rawPath": "/webhooks/whatsapp",
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc123", "domainName": "abc123.execute-api.eu-central-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {"method": method, "path": "/webhooks/whatsapp", "protocol": "HTTP/1.1", "sourceIp": "173.252.0.1", "userAgent": "facebookexternalua"},
            "requestId": "req-1", "routeKey": format!("{method} /webhooks/whatsapp"), "stage": "$default",
            "time": "24/Nov/2026:10:00:00 +0000", "timeEpoch": 1_795_000_000_000i64
        },
        "body": body.map(|b| base64::engine::general_purpose::STANDARD.encode(b)),
        "isBase64Encoded": body.is_some()
    });
    lambda_http::request::from_str(&event.to_string()).expect("valid API Gateway event")
}

#[tokio::test]
async fn handshake_echoes_the_challenge_only_for_the_right_token() {
    let table = TestTable::new().await;
    let deps = deps(table.store.clone());
    let ok = apigw_event(
        "GET",
        &format!("hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token={VERIFY_TOKEN}"),
        json!({}),
        None,
    );
    let resp = handle(&ok, &deps, Utc::now()).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.body().as_ref(), b"1158201444");
    let bad = apigw_event(
        "GET",
        "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=guess",
        json!({}),
        None,
    );
    let (status, body) = kit::read(handle(&bad, &deps, Utc::now()).await);
    assert_eq!(status, 403);
    assert_eq!(body["error"]["code"], "forbidden");
}

#[tokio::test]
async fn signed_base64_event_is_verified_on_raw_bytes_and_stored() {
    let table = TestTable::new().await;
    let deps = deps(table.store.clone());
    let now = Utc::now();
    let body = kit::webhook(
        "4915112345678",
        "Zoë",
        json!([kit::text_message(
            "4915112345678",
            "wamid.emoji",
            now.timestamp(),
            "Grüße 👋 — where's my order?"
        )]),
        json!([]),
    );
    let sig = asyncdesk::channels::whatsapp::verify::sign(APP_SECRET.as_bytes(), &body);
    let req = apigw_event(
        "POST",
        "",
        json!({"content-type": "application/json", "x-hub-signature-256": sig}),
        Some(&body),
    );
    let (status, receipt) = kit::read(handle(&req, &deps, now).await);
    assert_eq!(status, 200, "{receipt}");
    assert_eq!(receipt["stored"], 1);
    let id = kit::wa_conversation("4915112345678");
    assert!(
        !id.as_str().contains("4915112345678"),
        "no phone number in ids"
    );
    let thread = table
        .store
        .get_thread(&id)
        .await
        .unwrap()
        .expect("conversation stored");
    assert_eq!(
        thread.messages[0].text(),
        Some("Grüße 👋 — where's my order?")
    );
    assert_eq!(thread.conversation.customer_name.as_deref(), Some("Zoë"));
}

#[tokio::test]
async fn bad_or_missing_signature_is_401_and_stores_nothing() {
    let table = TestTable::new().await;
    let deps = deps(table.store.clone());
    let body = kit::webhook(
        "4915",
        "Eve",
        json!([kit::text_message(
            "4915",
            "wamid.x",
            Utc::now().timestamp(),
            "hi"
        )]),
        json!([]),
    );
    for req in [
        kit::signed_post("/webhooks/whatsapp", &body, "wrong-secret"),
        {
            let mut r = kit::signed_post("/webhooks/whatsapp", &body, APP_SECRET);
            r.headers_mut().remove("x-hub-signature-256");
            r
        },
        {
            // Signed, then tampered with.
            let mut tampered = body.clone();
            let n = tampered.len();
            tampered[n - 3] = b' ';
            let mut r = kit::signed_post("/webhooks/whatsapp", &body, APP_SECRET);
            *r.body_mut() = lambda_http::Body::Binary(tampered);
            r
        },
    ] {
        let (status, err) = kit::read(handle(&req, &deps, Utc::now()).await);
        assert_eq!(status, 401, "{err}");
        assert_eq!(err["error"]["code"], "unauthorized");
    }
    assert!(table.items().await.is_empty());
}

#[tokio::test]
async fn a_bad_message_does_not_lose_the_good_ones() {
    let table = TestTable::new().await;
    let deps = deps(table.store.clone());
    let ts = Utc::now().timestamp();
    let good = kit::text_message("4916", "wamid.ok", ts, "fine");
    let body = kit::webhook(
        "4916",
        "Ann",
        json!([
            good,
            // No sender: no conversation to put it in, kept as a rejection.
            {"id":"wamid.nofrom","timestamp":ts.to_string(),"type":"text","text":{"body":"x"}},
            // A timestamp that is not one: kept as an unknown message, raw.
            {"from":"4916","id":"wamid.bad","timestamp":"soon","type":"text","text":{"body":"y"}}
        ]),
        json!([]),
    );
    let req = kit::signed_post("/webhooks/whatsapp", &body, APP_SECRET);
    let (status, receipt) = kit::read(handle(&req, &deps, Utc::now()).await);
    assert_eq!(status, 200, "{receipt}");
    assert_eq!(
        (&receipt["stored"], &receipt["rejected"]),
        (&json!(2), &json!(1))
    );
    let thread = table
        .store
        .get_thread(&kit::wa_conversation("4916"))
        .await
        .unwrap()
        .unwrap();
    let texts: Vec<Option<&str>> = thread.messages.iter().map(|m| m.text()).collect();
    assert!(texts.contains(&Some("fine")), "{texts:?}");
    let unknown = thread
        .messages
        .iter()
        .find(|m| m.id == "wamid.bad")
        .unwrap();
    assert_eq!(unknown.content, Content::Unknown);
    assert!(unknown.raw.as_deref().unwrap().contains("soon"));
    assert!(table.item_types().await.contains(&"rejection".to_string()));
    // A redelivery stores nothing new and keeps one rejection.
    let (_, again) = kit::read(handle(&req, &deps, Utc::now()).await);
    assert_eq!(again["duplicates"], 2);
    let rejections = table
        .item_types()
        .await
        .into_iter()
        .filter(|t| t == "rejection")
        .count();
    assert_eq!(rejections, 1);
}

#[tokio::test]
async fn signed_foreign_envelopes_are_kept_as_rejections_and_answered_200() {
    let table = TestTable::new().await;
    let deps = deps(table.store.clone());
    let bodies = [
        b"{not json".to_vec(),
        br#"{"object":"whatsapp_business_account"}"#.to_vec(),
        br#"{"object":"instagram","entry":[]}"#.to_vec(),
    ];
    for body in &bodies {
        // Meta signed it: a 4xx would only make Meta send it again for 7 days.
        let req = kit::signed_post("/webhooks/whatsapp", body, APP_SECRET);
        let (status, receipt) = kit::read(handle(&req, &deps, Utc::now()).await);
        assert_eq!(status, 200, "{receipt}");
        assert_eq!(receipt["rejected"], 1);
        assert_eq!(receipt["stored"], 0);
    }
    let items = table.items().await;
    assert_eq!(
        items.len(),
        bodies.len(),
        "one rejection each, nothing else"
    );
    assert!(
        items
            .iter()
            .all(|i| i["item_type"].as_s().unwrap() == "rejection")
    );
    // Unsigned, the same bodies are 401 and stored nowhere.
    let req = kit::signed_post("/webhooks/whatsapp", &bodies[0], "wrong-secret");
    assert_eq!(kit::read(handle(&req, &deps, Utc::now()).await).0, 401);
    assert_eq!(table.items().await.len(), bodies.len());
}

#[tokio::test]
async fn every_change_and_message_of_a_batch_is_stored_and_statuses_applied() {
    let table = TestTable::new().await;
    let deps = deps(table.store.clone());
    let now = Utc::now();
    let ts = now.timestamp();
    // An outbound message that the status callbacks refer to.
    let ep = asyncdesk::conversation::Endpoint {
        channel: asyncdesk::conversation::Channel::Whatsapp,
        business_id: kit::PHONE_NUMBER_ID.into(),
        customer_id: "4917".into(),
    };
    table
        .store
        .record_inbound(
            &asyncdesk::channels::whatsapp::inbound::parse_webhook(
                &kit::webhook(
                    "4917",
                    "B",
                    json!([kit::text_message("4917", "w0", ts - 60, "first")]),
                    json!([]),
                ),
                now,
            )
            .unwrap()
            .messages[0],
            now,
        )
        .await
        .unwrap();
    let mut out = asyncdesk::conversation::Message::outbound(
        &ep,
        Author::Agent("alice".into()),
        "hello",
        now,
    );
    out.provider_message_id = Some("wamid.out".into());
    table
        .store
        .record_outbound(&out, asyncdesk::store::OutboundEffect::AwaitCustomer, now)
        .await
        .unwrap();

    let change = |customer: &str, msgs: serde_json::Value, statuses: serde_json::Value| {
        json!({"field":"messages","value":{"messaging_product":"whatsapp",
            "metadata":{"display_phone_number":"1555","phone_number_id":kit::PHONE_NUMBER_ID},
            "contacts":[{"profile":{"name":"C"},"wa_id":customer}],"messages":msgs,"statuses":statuses}})
    };
    let body = json!({"object":"whatsapp_business_account","entry":[
        {"id":"W1","changes":[
            change("4917", json!([kit::text_message("4917","w1",ts,"a"), kit::text_message("4917","w2",ts+1,"b")]), json!([])),
            change("4918", json!([kit::text_message("4918","w3",ts,"c")]), json!([{"id":"wamid.out","status":"delivered","timestamp":ts.to_string(),"recipient_id":"4917"}]))
        ]},
        {"id":"W2","changes":[{"field":"account_update","value":{"event":"VERIFIED_ACCOUNT"}}]}
    ]}).to_string().into_bytes();
    let req = kit::signed_post("/webhooks/whatsapp", &body, APP_SECRET);
    let (status, receipt) = kit::read(handle(&req, &deps, now).await);
    assert_eq!(status, 200);
    assert_eq!(
        receipt,
        json!({"messages":3,"stored":3,"duplicates":0,"edits":0,"statuses":1,"statuses_applied":1,"rejected":0,"ignored":1})
    );
    let (status, receipt) = kit::read(handle(&req, &deps, now).await);
    assert_eq!(
        (status, &receipt["duplicates"], &receipt["stored"]),
        (200, &json!(3), &json!(0))
    );
    let thread = table
        .store
        .get_thread(&ep.conversation_id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(thread.messages.len(), 4);
    let sent = thread.messages.iter().find(|m| m.id == out.id).unwrap();
    assert_eq!(
        sent.delivery.as_ref().unwrap().state,
        asyncdesk::conversation::DeliveryState::Delivered
    );
    // The conversation went back to open when the customer wrote again.
    assert_eq!(
        thread.conversation.status,
        asyncdesk::conversation::ConversationStatus::Open
    );
}

#[tokio::test]
async fn a_store_outage_is_a_5xx_so_meta_retries() {
    let store = kit::unreachable_store().await;
    let deps = deps(store);
    let body = kit::webhook(
        "4919",
        "D",
        json!([kit::text_message("4919", "w", Utc::now().timestamp(), "hi")]),
        json!([]),
    );
    let (status, err) = kit::read(
        handle(
            &kit::signed_post("/webhooks/whatsapp", &body, APP_SECRET),
            &deps,
            Utc::now(),
        )
        .await,
    );
    assert_eq!(status, 503);
    assert_eq!(err["error"]["code"], "store_unavailable");
}

#[tokio::test]
async fn unknown_routes_and_methods_get_json_errors() {
    let table = TestTable::new().await;
    let deps = deps(table.store.clone());
    let req = kit::signed_post("/webhooks/telegraph", b"{}", APP_SECRET);
    assert_eq!(kit::read(handle(&req, &deps, Utc::now()).await).0, 404);
    // A channel this deployment has not configured says so.
    let whatsapp_only = Inbound {
        webhooks: asyncdesk::channels::Webhooks::new(vec![std::sync::Arc::new(
            asyncdesk::channels::whatsapp::WhatsAppWebhook::new(APP_SECRET, VERIFY_TOKEN),
        )]),
        ..deps
    };
    let req = kit::telegram_post(&json!({"update_id": 1}), Some(kit::TG_SECRET));
    let (status, body) = kit::read(handle(&req, &whatsapp_only, Utc::now()).await);
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("channel_not_configured"))
    );
    let deps = whatsapp_only;
    let mut req = kit::signed_post("/webhooks/whatsapp", b"{}", APP_SECRET);
    *req.method_mut() = http::Method::DELETE;
    let (status, body) = kit::read(handle(&req, &deps, Utc::now()).await);
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (405, Some("method_not_allowed"))
    );
}
