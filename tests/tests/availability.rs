//! `GET /availability`: public, cacheable, the schedule's answer for an instant, served
//! by the availability function (handler level, no table) and by the local stack
//! (through the template's route).

use asyncdesk::hours::BusinessHours;
use asyncdesk_tests::kit;
use asyncdesk_tests::stack::{self, Settings};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::collections::HashMap;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

async fn get(path: &str, now: DateTime<Utc>) -> (u16, Value, Option<String>) {
    let hours = BusinessHours::from_json(kit::DEV_HOURS, now).unwrap();
    // No Authorization header: the route is public; the function has no table.
    let resp = availability::handle(&kit::agent_request("GET", path, None, None), &hours, now);
    let cache = resp
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_string());
    let (status, body) = kit::read(resp);
    (status, body, cache)
}

#[tokio::test]
async fn closed_open_and_now_in_the_businesss_offset() {
    let now = at("2026-11-25T10:00:00Z");
    // Saturday in Berlin (DEV_HOURS: Mon-Fri 09:00-17:00, 60 minutes to reply).
    let (status, body, cache) = get("/availability?at=2026-11-28T12:00:00Z", now).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"at": "2026-11-28T13:00:00+01:00", "timezone": "Europe/Berlin", "open": false,
            "closes_at": null, "next_open": "2026-11-30T09:00:00+01:00",
            "reply_by": "2026-11-30T10:00:00+01:00"})
    );
    assert_eq!(cache.as_deref(), Some("public, max-age=3600"));
    // Open: when it closes, and reply-by counted from now.
    let (_, body, _) = get("/availability?at=2026-11-30T16:30:00%2B01:00", now).await;
    assert_eq!(
        (
            &body["open"],
            &body["closes_at"],
            &body["next_open"],
            &body["reply_by"]
        ),
        (
            &json!(true),
            &json!("2026-11-30T17:00:00+01:00"),
            &Value::Null,
            &json!("2026-12-01T09:30:00+01:00")
        )
    );
    // An unencoded '+' arrives as a space, and is read as the '+' it was.
    let (status, body, _) = get("/availability?at=2026-11-30T16:30:00+01:00", now).await;
    assert_eq!((status, &body["open"]), (200, &json!(true)));
    // Without `at`: now, cacheable for a minute.
    let (status, body, cache) = get("/availability", now).await;
    assert_eq!(
        (status, &body["at"], &body["open"]),
        (200, &json!("2026-11-25T11:00:00+01:00"), &json!(true))
    );
    assert_eq!(cache.as_deref(), Some("public, max-age=60"));
}

#[tokio::test]
async fn a_bad_instant_is_a_400_with_a_json_error() {
    let now = at("2026-11-25T10:00:00Z");
    for bad in [
        "tomorrow",
        "2026-11-30",
        "2026-11-30T25:00:00Z",
        "2032-01-01T00:00:00Z",
        "2020-01-01T00:00:00Z",
    ] {
        let (status, body, _) = get(&format!("/availability?at={bad}"), now).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "bad_request", "{body}");
    }
    let hours = BusinessHours::from_json(kit::DEV_HOURS, now).unwrap();
    let resp = availability::handle(
        &kit::agent_request("POST", "/availability", None, None),
        &hours,
        now,
    );
    assert_eq!(resp.status().as_u16(), 405);
}

#[tokio::test]
async fn the_local_stack_serves_it() {
    let overrides: HashMap<&str, String> = HashMap::from([
        ("PORT", "0".to_string()),
        ("TABLE_NAME", format!("asyncdesk-local-{}", uuid::Uuid::new_v4().simple())),
        ("BUSINESS_HOURS", r#"{"timezone":"Asia/Kathmandu","weekly":{"sun":["10:00-11:00"]},"first_response_minutes":90,"auto_reply":{"default":"x"}}"#.to_string()),
    ]);
    let running = stack::start(Settings::new(&|k| overrides.get(k).cloned()))
        .await
        .unwrap();
    let resp = reqwest::get(format!(
        "{}/availability?at=2026-11-28T00:00:00Z",
        running.base_url
    ))
    .await
    .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
    let body: Value = resp.json().await.unwrap();
    // Sunday 10:00 +05:45, and 90 minutes of open time: the rest of Sunday's hour,
    // then 30 minutes the next Sunday.
    assert_eq!(body["next_open"], "2026-11-29T10:00:00+05:45");
    assert_eq!(body["reply_by"], "2026-12-06T10:30:00+05:45");
    running.stop();
}
