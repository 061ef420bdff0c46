//! What the stack prints holds no personal data and no secret: the README's local
//! walkthrough (a WhatsApp, a Telegram and an email customer, their auto-replies,
//! an agent's answers, a redelivery, a forged mail) runs through `asyncdesk-local`
//! as a separate process, and everything it printed is scanned for the phone number,
//! chat id, addresses, names, texts, message ids and secrets that went in.

use asyncdesk::channels::whatsapp;
use asyncdesk_tests::{kit, tools};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PHONE: &str = "4915112345678";
const WAMID: &str = "wamid.HBgNNDkxNTExMjM0NTY3OBUCABIYFjNFQjBDMDdBRUY5";
const CHAT: i64 = 408258968;
const ADDRESS: &str = "ada.lovelace@example.org";
const REPLY_TO: &str = "ada.private@elsewhere.example";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stack_prints_no_personal_data_and_no_secret() {
    tools::ensure_python_tools().expect("moto installs");
    let port = tools::free_port();
    let printed = Arc::new(Mutex::new(String::new()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_asyncdesk-local"))
        .env("PORT", port.to_string())
        .env("RUST_LOG", "debug,aws_config=warn,aws_smithy_runtime=warn,aws_smithy_runtime_api=warn,hyper=warn,reqwest=warn,h2=warn,rustls=warn,aws_sigv4=warn")
        .env("BUSINESS_HOURS", kit::closed_now_hours("Thanks {customer_name}, we reply by {reply_by}."))
        .env("TABLE_NAME", format!("asyncdesk-privacy-{}", uuid::Uuid::new_v4().simple()))
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_DYNAMODB")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("asyncdesk-local runs");
    for pipe in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let printed = printed.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut p = printed.lock().unwrap();
                p.push_str(&line);
                p.push('\n');
            }
        });
    }
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let started = Instant::now();
    while !printed.lock().unwrap().contains("Ctrl-C stops everything") {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{}",
            printed.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let now = chrono::Utc::now().timestamp();

    // WhatsApp: a message, and its redelivery.
    let wa = kit::webhook(
        PHONE,
        "Ada Lovelace",
        json!([kit::text_message(
            PHONE,
            WAMID,
            now,
            "My card number is 4111 1111 1111 1111"
        )]),
        json!([]),
    );
    for _ in 0..2 {
        let status = http
            .post(format!("{base}/webhooks/whatsapp"))
            .header(
                "x-hub-signature-256",
                whatsapp::verify::sign(b"dev-app-secret", &wa),
            )
            .header("content-type", "application/json")
            .body(wa.clone())
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200);
    }
    // Telegram.
    let tg = json!({"update_id": 100001, "message": {"message_id": 1, "date": now,
        "chat": {"id": CHAT, "type": "private", "first_name": "Ada", "username": "ada_secret_handle"},
        "from": {"id": CHAT, "is_bot": false, "first_name": "Ada", "last_name": "Lovelace", "username": "ada_secret_handle"},
        "text": "Telegram secret text"}});
    let status = http
        .post(format!("{base}/webhooks/telegram"))
        .header("x-telegram-bot-api-secret-token", "dev-telegram-secret")
        .json(&tg)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
    // Email: an authenticated one and a forged one.
    let mail = format!(
        "From: Ada Lovelace <{ADDRESS}>\r\nReply-To: {REPLY_TO}\r\nTo: Acme Support <support@acme.example>\r\nSubject: Private subject line\r\nMessage-ID: <private-id-42@example.org>\r\nDate: {}\r\n\r\nEmail secret text\r\n",
        chrono::Utc::now().to_rfc2822()
    );
    for query in ["", "?spf=FAIL&dkim=FAIL&dmarc=FAIL"] {
        let r: Value = http
            .post(format!("{base}/dev/email{query}"))
            .body(mail.replace("private-id-42", &format!("private-id-42{}", query.len())))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(r["stored"], 1, "{r}");
    }
    // The auto-replies go out; then an agent answers every conversation.
    let started = Instant::now();
    loop {
        let outbox: Value = http
            .get(format!("{base}/dev/outbox"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if outbox["messages"].as_array().unwrap().len() >= 3 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "auto-replies: {outbox}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let queue: Value = http
        .get(format!("{base}/conversations"))
        .bearer_auth("dev-agent-key")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<String> = queue["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 4, "{queue}");
    for id in &ids {
        let status = http
            .post(format!("{base}/conversations/{id}/messages"))
            .bearer_auth("dev-agent-key")
            .json(&json!({"text": "Agent secret answer"}))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 201);
    }
    // A wrong key and a bad signature are refused and printed without the secrets.
    let _ = http
        .get(format!("{base}/conversations"))
        .bearer_auth("a-guessed-key-xyz")
        .send()
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let _ = child.kill();
    let _ = child.wait();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let printed = printed.lock().unwrap().clone();
    assert!(
        printed.contains("stored"),
        "the stack logged its events:\n{printed}"
    );
    let forbidden = [
        PHONE,
        &PHONE[2..],
        WAMID,
        "HBgNNDkxNTExMjM0NTY3OBUCABIYFjNFQjBDMDdBRUY5",
        &CHAT.to_string(),
        ADDRESS,
        REPLY_TO,
        "ada_secret_handle",
        "Lovelace",
        "4111 1111",
        "secret text",
        "Private subject",
        "private-id-42",
        "Agent secret answer",
        "dev-app-secret",
        "dev-access-token",
        "dev-bot-token",
        "dev-telegram-secret",
        "a-guessed-key-xyz",
    ];
    let leaks: Vec<String> = forbidden
        .iter()
        .filter(|f| printed.contains(*f))
        .map(|f| {
            let line = printed.lines().find(|l| l.contains(*f)).unwrap_or_default();
            format!("{f:?} in: {line}")
        })
        .collect();
    assert!(
        leaks.is_empty(),
        "printed personal data or secrets:\n{}",
        leaks.join("\n")
    );
}
