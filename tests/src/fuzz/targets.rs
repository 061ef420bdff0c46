//! The fuzz targets: each parser of outside input with real seeds.

use super::{Check, Target};
use crate::kit::{self, TestTable};
use crate::mail::{self, Encoding, customer_mail};
use asyncdesk::channels::email::notification::{MailSource, Received, read_notification};
use asyncdesk::channels::email::{EmailSettings, inbound::parse_mail};
use asyncdesk::channels::{telegram, whatsapp};
use asyncdesk::conversation::{ConversationId, MailAuth};
use asyncdesk::hours::BusinessHours;
use asyncdesk::ports::Cursor;
use asyncdesk::store::ConversationStore;
use asyncdesk::store::dynamo::{decode_thread_cursor, encode_thread_cursor};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-02T10:00:00Z")
        .unwrap()
        .to_utc()
}

fn bytes(v: Value) -> Vec<u8> {
    v.to_string().into_bytes()
}

fn target(
    name: &'static str,
    seeds: Vec<Vec<u8>>,
    check: impl Fn(&[u8]) -> Result<(), String> + 'static,
) -> Target {
    Target {
        name,
        seeds,
        check: Box::new(check) as Check,
    }
}

/// The targets that need nothing but the code.
pub fn pure_targets() -> Vec<Target> {
    let t = now().timestamp();
    let settings = EmailSettings::new(mail::SUPPORT);
    let settings2 = settings.clone();
    let mails = vec![
        customer_mail("ada@example.org", "Refund", "m1@example.org", "Reply-To: x@y.example\r\nIn-Reply-To: <a@b>\r\nReferences: <a@b> <c@d>\r\n", "Where is it?\r\n\r\nOn Mon, Ada wrote:\r\n> hi"),
        b"From: =?utf-8?B?w4Rk?= <a@b.example>\r\nSubject: =?ISO-8859-1?Q?caf=E9?=\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/html; charset=euc-kr\r\n\r\n<p>hi</p>\r\n--XX\r\nContent-Type: image/png; name=a.png\r\nContent-Disposition: attachment\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--XX--\r\n".to_vec(),
        b"From: MAILER-DAEMON@x.example\r\nAuto-Submitted: auto-replied\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\nStatus: 5.1.1\r\n--B--\r\n".to_vec(),
    ];
    let thread_id = ConversationId::parse("wa-0123456789abcdef0123456789abcdef").unwrap();
    let cursor_seeds = vec![
        encode_thread_cursor(&thread_id, "MSG#0001764669600000#wamid.1").into_bytes(),
        agent_reply::queue_cursor(
            "open|due||none|",
            &Cursor {
                class: 1,
                status_after: Some("1800000000000#wa-1".into()),
                promise_after: Some("1800000600000#1800000000000#wa-2".into()),
            },
        )
        .into_bytes(),
        agent_reply::queue_cursor("resolved|recent|||", &Cursor::default()).into_bytes(),
    ];
    vec![
        target(
            "whatsapp",
            vec![
                kit::text_webhook("4915112345678", "wamid.1", t, "hi"),
                kit::webhook("4915112345678", "Ada", json!([{"from":"4915112345678","id":"wamid.2","timestamp":t.to_string(),"type":"image","image":{"id":"m1","mime_type":"image/jpeg","sha256":"x","caption":"c"}},{"from":"4915112345678","id":"wamid.3","timestamp":t.to_string(),"type":"reaction","reaction":{"message_id":"wamid.1","emoji":"👍"}}]), json!([{"id":"wamid.9","status":"failed","timestamp":t.to_string(),"recipient_id":"4915112345678","errors":[{"code":131047,"title":"Re-engagement message"}]}])),
            ],
            move |b| {
                let _ = whatsapp::inbound::parse_webhook(b, now());
                Ok(())
            },
        ),
        target(
            "telegram",
            vec![
                bytes(kit::tg_text(1, 408258968, 5, t, "hi")),
                bytes(json!({"update_id":2,"edited_message":kit::tg_text(0, -100123, 7, t, "edit")["message"].clone()})),
                bytes(json!({"update_id":3,"callback_query":{"id":"q1","from":{"id":5,"is_bot":false,"first_name":"A"},"message":kit::tg_text(0, 5, 8, t, "pick")["message"].clone(),"data":"yes"}})),
                bytes(json!({"update_id":4,"my_chat_member":{"chat":{"id":5,"type":"private"},"from":{"id":5,"is_bot":false,"first_name":"A"},"date":t,"old_chat_member":{"status":"member","user":{"id":1,"is_bot":true,"first_name":"B"}},"new_chat_member":{"status":"kicked","user":{"id":1,"is_bot":true,"first_name":"B"}}}})),
            ],
            move |b| {
                let _ = telegram::inbound::parse_update(b, kit::TG_BOT_ID, now());
                Ok(())
            },
        ),
        target(
            "ses-notification",
            vec![
                bytes(mail::received_notification(&mails[0], Encoding::Base64, "ses-1")),
                bytes(mail::received_notification(&mails[1], Encoding::Utf8, "ses-2")),
                bytes(mail::s3_notification("bucket", "inbound/k", "ses-3", "a@b.example")),
                bytes(mail::ses_event("Bounce", "ses-4")),
                bytes(mail::ses_event("Delivery", "ses-5")),
            ],
            move |b| {
                let _ = read_notification(&String::from_utf8_lossy(b), "sns-1", &settings);
                Ok(())
            },
        ),
        target("mime", mails, move |b| {
            let received = Received {
                sns_message_id: "sns-1".into(),
                ses_message_id: "ses-1".into(),
                source: MailSource::Inline(b.to_vec()),
                envelope_sender: Some("ada@example.org".into()),
                recipients: vec!["support+em-0123456789abcdef0123456789abcdef@acme.example".into()],
                received_at: Some(now()),
                verdict: None,
                auth: MailAuth { spf: Some("PASS".into()), dkim: Some("PASS".into()), dmarc: Some("PASS".into()), by: None },
            };
            if let Some(m) = parse_mail(b, &received, &settings2, now()) {
                let item = asyncdesk::store::items::MessageItem::new(&m.message);
                serde_dynamo::to_item::<_, asyncdesk::store::dynamo::Item>(&item)
                    .map_err(|e| format!("a parsed mail does not map to an item: {e}"))?;
            }
            Ok(())
        }),
        target(
            "business-hours",
            vec![
                kit::DEV_HOURS.as_bytes().to_vec(),
                br#"{"timezone":"America/New_York","weekly":{"mon":["22:00-06:00"],"sat":["10:00-12:00","13:00-15:30"]},"holidays":["2026-12-25",{"from":"2026-12-28","to":"2027-01-02"},{"date":"2026-12-24","hours":["09:00-12:00"]}],"first_response_minutes":240,"auto_reply":{"default":"by {reply_by} ({reply_by_local}) {customer_name}","languages":{"de":"bis {reply_by}"},"channels":{"email":{"default":"mail {next_open}"}}},"local_format":"%a %d %b, %H:%M","unknown_name":"there"}"#.to_vec(),
            ],
            move |b| {
                let Ok(hours) = BusinessHours::from_json(&String::from_utf8_lossy(b), now()) else {
                    return Ok(());
                };
                // A valid schedule answers for any instant in range without panicking.
                for days in [-400i64, -1, 0, 1, 45, 366] {
                    let at = now() + Duration::days(days) + Duration::minutes(b.len() as i64 % 1440);
                    let _ = hours.availability(at);
                    let _ = hours.moment(at);
                }
                Ok(())
            },
        ),
        target("cursors", cursor_seeds, move |b| {
            let s = String::from_utf8_lossy(b);
            let _ = decode_thread_cursor(&s, &thread_id);
            for listing in ["open|due||none|", "resolved|recent|||"] {
                let _ = agent_reply::read_queue_cursor(&s, listing);
            }
            Ok(())
        }),
    ]
}

/// The agent API end to end against a real table (moto): a request spec (method,
/// path, query, body, key) built from the input; no answer may be a 500.
pub async fn agent_api() -> (Target, TestTable) {
    let table = TestTable::new().await;
    let t = Utc::now().timestamp();
    let batch = whatsapp::inbound::parse_webhook(
        &kit::text_webhook("4915112345678", "wamid.f1", t, "hi"),
        Utc::now(),
    )
    .unwrap();
    table
        .store
        .record_inbound(&batch.messages[0], Utc::now())
        .await
        .unwrap();
    let id = batch.messages[0].message.conversation_id.to_string();
    let agent = kit::agent(
        table.store.clone(),
        asyncdesk::channels::Channels::default(),
    );
    let rt = tokio::runtime::Handle::current();
    let seeds = [
        json!({"method":"GET","path":"/conversations","query":{"status":"open","order":"due","limit":"2"},"key":true}),
        json!({"method":"GET","path":"/conversations","query":{"status":"resolved","cursor":"eyJxIjoib3BlbiJ9"},"key":true}),
        json!({"method":"GET","path":format!("/conversations/{id}"),"query":{"limit":"1","raw":"true"},"key":true}),
        json!({"method":"POST","path":format!("/conversations/{id}/messages"),"body":{"text":"hello","based_on":"x"},"key":true,"idempotency":"k1"}),
        json!({"method":"POST","path":format!("/conversations/{id}/notes"),"body":{"text":"note"},"key":true}),
        json!({"method":"PATCH","path":format!("/conversations/{id}"),"body":{"status":"snoozed","snooze_until":"2030-01-01T00:00:00Z","assignee":"me","priority":"urgent"},"key":true}),
        json!({"method":"POST","path":format!("/conversations/{id}/messages"),"body":{"template":{"name":"t","language":"en","parameters":["a"]}},"key":true}),
    ]
    .into_iter()
    .map(bytes)
    .collect();
    let check = move |b: &[u8]| {
        let Ok(spec) = serde_json::from_slice::<Value>(b) else {
            return Ok(());
        };
        let text = |k: &str| {
            spec.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let method = match text("method").as_str() {
            m @ ("GET" | "POST" | "PATCH" | "DELETE" | "PUT") => m.to_string(),
            _ => "GET".into(),
        };
        let mut uri: String = text("path")
            .chars()
            .flat_map(|c| {
                if c.is_ascii_alphanumeric() || "/-_.~".contains(c) {
                    vec![c.to_string()]
                } else {
                    c.to_string().bytes().map(|b| format!("%{b:02X}")).collect()
                }
            })
            .collect();
        if !uri.starts_with('/') {
            uri.insert(0, '/');
        }
        if let Some(q) = spec.get("query").and_then(Value::as_object) {
            let mut query = form_urlencoded::Serializer::new(String::new());
            for (k, v) in q {
                query.append_pair(
                    k,
                    &v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string()),
                );
            }
            uri = format!("{uri}?{}", query.finish());
        }
        let mut req = http::Request::builder().method(method.as_str()).uri(&uri);
        if spec.get("key").and_then(Value::as_bool).unwrap_or(false) {
            req = req.header("authorization", format!("Bearer {}", kit::ALICE_KEY));
        }
        if let Some(k) = spec.get("idempotency").and_then(Value::as_str)
            && let Ok(v) = http::HeaderValue::from_str(k)
        {
            req = req.header("idempotency-key", v);
        }
        let body = match spec.get("body") {
            Some(Value::String(raw)) => lambda_http::Body::Text(raw.clone()),
            Some(v) => lambda_http::Body::Text(v.to_string()),
            None => lambda_http::Body::Empty,
        };
        let Ok(req) = req.body(body) else {
            return Ok(());
        };
        let resp = tokio::task::block_in_place(|| {
            rt.block_on(agent_reply::handle(&req, &agent, Utc::now()))
        });
        let status = resp.status().as_u16();
        if status == 500 {
            return Err(format!(
                "500 for {method} {uri}: {}",
                String::from_utf8_lossy(resp.body().as_ref())
            ));
        }
        serde_json::from_slice::<Value>(resp.body().as_ref())
            .map_err(|e| format!("{status} without a JSON body for {method} {uri}: {e}"))?;
        Ok(())
    };
    (target("agent-api", seeds, check), table)
}
