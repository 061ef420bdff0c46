//! GDPR erasure (`DELETE /customers/{id}/data`): only an admin key may; afterwards
//! nothing of the customer is left in the table (messages, the conversation, links
//! whose keys carry the phone number), and an audit item says who erased what.
//! Against moto, with the WhatsApp stand-in, through the counting proxy.

use asyncdesk::channels::{Channels, whatsapp};
use asyncdesk::conversation::Channel;
use asyncdesk_tests::kit::{self, TestTable};
use asyncdesk_tests::proxy::CountingProxy;
use asyncdesk_tests::sandbox::GraphSandbox;
use asyncdesk_tests::template::Template;
use asyncdesk_tests::tools;
use chrono::Utc;
use serde_json::json;
use std::sync::Arc;

const PHONE: &str = "4915188887777";

#[tokio::test]
async fn an_admin_erases_a_customer_and_leaves_only_an_audit_item() {
    let (proxy, _ptask) = CountingProxy::start(tools::shared_endpoint()).await;
    let table = TestTable::on(&proxy.endpoint).await;
    let graph = GraphSandbox::new();
    let (base, _task) = graph.start().await;
    let channels = Channels::default().with(
        Channel::Whatsapp,
        Arc::new(whatsapp::WhatsAppClient::new(
            reqwest::Client::new(),
            &base,
            "t",
        )),
    );
    let mut agent = kit::agent(table.store.clone(), channels);
    agent.keys = asyncdesk::auth::AgentKeys::parse(&format!(
        "alice={},dpo={}:admin",
        asyncdesk::auth::hash_key(kit::ALICE_KEY),
        asyncdesk::auth::hash_key("dpo-key")
    ))
    .unwrap();
    let inbound = kit::inbound(table.store.clone());
    let now = Utc::now();
    for (i, text) in ["My address is 1 Main St", "and my card ends 4242"]
        .iter()
        .enumerate()
    {
        let body = kit::text_webhook(PHONE, &format!("wamid.erase{i}"), now.timestamp(), text);
        let req = kit::signed_post("/webhooks/whatsapp", &body, kit::APP_SECRET);
        assert_eq!(
            kit::read(inbound_webhook::handle(&req, &inbound, now).await).0,
            200
        );
    }
    let id = kit::wa_endpoint(PHONE).conversation_id();
    let call = |method: &str, path: String, key: &str, body: Option<serde_json::Value>| {
        let req = kit::agent_request(method, &path, Some(key), body);
        let agent = &agent;
        async move { kit::read(agent_reply::handle(&req, agent, Utc::now()).await) }
    };
    let (status, _) = call(
        "POST",
        format!("/conversations/{id}/messages"),
        kit::ALICE_KEY,
        Some(json!({"text": "Thanks, noted."})),
    )
    .await;
    assert_eq!(status, 201);
    let before = table.items().await.len();
    assert!(before >= 5, "messages, conversation and links: {before}");

    // Not without the admin scope.
    let (status, err) = call(
        "DELETE",
        format!("/customers/{id}/data"),
        kit::ALICE_KEY,
        None,
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    assert_eq!(table.items().await.len(), before);

    proxy.reset();
    let (status, body) = call("DELETE", format!("/customers/{id}/data"), "dpo-key", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["erased"]["messages"], 3, "{body}");
    // Every DynamoDB action of the erasure is allowed by the agent function's policy.
    let allowed = Template::load()
        .unwrap()
        .dynamodb_actions("AgentReplyFunction");
    let actions: std::collections::BTreeSet<String> = proxy
        .operations()
        .iter()
        .map(|o| format!("dynamodb:{}", o.rsplit('.').next().unwrap()))
        .collect();
    for action in actions {
        assert!(
            allowed.contains(&action),
            "{action} is not in the agent policy {allowed:?}"
        );
    }

    let left = table.items().await;
    let dump = format!("{left:?}");
    for personal in [PHONE, "Main St", "4242", "wamid.erase"] {
        assert!(
            !dump.contains(personal),
            "{personal} is still in the table: {dump}"
        );
    }
    let audit: Vec<_> = left
        .iter()
        .filter(|i| {
            i.get("item_type")
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
                == Some("audit")
        })
        .collect();
    assert_eq!(audit.len(), 1, "{left:?}");
    assert_eq!(audit[0]["agent"].as_s().unwrap(), "dpo");
    assert_eq!(audit[0]["conversation_id"].as_s().unwrap(), id.as_str());
    let (status, _) = call("GET", format!("/conversations/{id}"), kit::ALICE_KEY, None).await;
    assert_eq!(status, 404);
    let (status, _) = call("DELETE", format!("/customers/{id}/data"), "dpo-key", None).await;
    assert_eq!(status, 404, "erased once");
}

#[tokio::test]
async fn erasing_an_email_customer_deletes_the_mail_ses_stored() {
    use asyncdesk::ports::ObjectReader;
    use asyncdesk_tests::email_rig::{customer, rig};
    use asyncdesk_tests::mail;
    let mut rig = rig().await;
    let endpoint = tools::shared_endpoint();
    let ada = customer("erase");
    let raw = mail::customer_mail(
        &ada,
        "Private",
        "e1@example.org",
        "",
        "My passport number is X123",
    );
    let (bucket, key) = mail::put_mail(endpoint, "inbound/e1", &raw).await;
    let n = mail::s3_notification(&bucket, &key, "ses-e1", &ada);
    inbound_email::handle_event(mail::sns_event(&[("sns-e1", &n)]), &rig.inbound, Utc::now())
        .await
        .unwrap();
    let id = rig.conversation_ids().await[0].clone();
    let objects = mail::s3_objects(endpoint).await;
    assert!(objects.read(&bucket, &key).await.is_ok());
    rig.agent.keys = asyncdesk::auth::AgentKeys::parse(&format!(
        "dpo={}:admin",
        asyncdesk::auth::hash_key("dpo-key")
    ))
    .unwrap();
    rig.agent.objects = Some(Arc::new(objects.clone()));
    let req = kit::agent_request(
        "DELETE",
        &format!("/customers/{id}/data"),
        Some("dpo-key"),
        None,
    );
    let (status, body) = kit::read(agent_reply::handle(&req, &rig.agent, Utc::now()).await);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["erased"]["sources_deleted"], 1, "{body}");
    assert!(
        objects.read(&bucket, &key).await.is_err(),
        "the mail is gone from S3"
    );
    let dump = format!("{:?}", rig.table.items().await);
    assert!(!dump.contains(&ada) && !dump.contains("X123"), "{dump}");
}
