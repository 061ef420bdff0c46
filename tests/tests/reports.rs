//! The promise reports, golden: scripted Telegram conversations over a weekend with a
//! DST change, a holiday, a split day, an overnight shift, an auto-reply's promise,
//! a note, a bot, a second auto-reply in one wait, a resolve without answer and a
//! reopen. Customers write through the
//! webhook handler, agents through the agent API (to a Bot API stand-in), the
//! table's real stream (moto) feeds the auto-reply function that records the waits,
//! and the reports function answers with exact figures. Then: the whole stream
//! delivered again changes nothing, and other business hours recompute.

use asyncdesk::auth::{AgentKeys, hash_key};
use asyncdesk::channels::Channels;
use asyncdesk::conversation::Channel;
use asyncdesk::hours::BusinessHours;
use asyncdesk::store::dynamo::DynamoStore;
use asyncdesk_tests::bot_sandbox::BotSandbox;
use asyncdesk_tests::kit::{self, TestTable};
use aws_lambda_events::event::dynamodb::Event;
use chrono::{DateTime, Utc};
use off_hours_auto_reply::AutoReply;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// Europe/Berlin; weekdays 09:00-12:00 and 13:00-17:00; Saturday night 22:00-02:00
/// (into Sunday 29 March 2026, the night clocks go forward at 02:00); Monday 30
/// March a holiday; 60 minutes to answer.
const HOURS: &str = r#"{"timezone":"Europe/Berlin",
  "weekly":{"mon":["09:00-12:00","13:00-17:00"],"tue":["09:00-12:00","13:00-17:00"],
    "wed":["09:00-12:00","13:00-17:00"],"thu":["09:00-12:00","13:00-17:00"],
    "fri":["09:00-12:00","13:00-17:00"],"sat":["22:00-02:00"]},
  "holidays":["2026-03-30"],"first_response_minutes":60,
  "auto_reply":{"default":"We're away. A person will answer by {reply_by}."}}"#;

/// The same week in one stretch a day and 120 minutes to answer.
const OTHER_HOURS: &str = r#"{"timezone":"Europe/Berlin",
  "weekly":{"mon":["09:00-17:00"],"tue":["09:00-17:00"],"wed":["09:00-17:00"],
    "thu":["09:00-17:00"],"fri":["09:00-17:00"],"sat":["22:00-02:00"]},
  "holidays":["2026-03-30"],"first_response_minutes":120,
  "auto_reply":{"default":"Away until {reply_by}."}}"#;

const BOB_KEY: &str = "bob-key";

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

struct Rig {
    table: TestTable,
    bot: BotSandbox,
    auto_reply: AutoReply<DynamoStore, Channels>,
    agent: agent_reply::Agent<DynamoStore, Channels>,
    fed: Mutex<HashSet<String>>,
    update: Mutex<i64>,
    _task: tokio::task::JoinHandle<()>,
}

fn reports_over(store: DynamoStore, hours: &str) -> reports::Reports<DynamoStore> {
    reports::Reports {
        store,
        keys: AgentKeys::parse(&format!("alice={}", hash_key(kit::ALICE_KEY))).unwrap(),
        hours: BusinessHours::from_json(hours, Utc::now()).unwrap(),
        session_secret: None,
    }
}

impl Rig {
    async fn new() -> Rig {
        let table = TestTable::new().await;
        let bot = BotSandbox::new();
        let (base, task) = bot.start().await;
        let channels =
            Channels::default().with(Channel::Telegram, Arc::new(kit::telegram_client(&base)));
        let auto_reply = kit::auto_reply(table.store.clone(), channels.clone(), HOURS, Vec::new());
        let mut agent = kit::agent(table.store.clone(), channels);
        agent.keys = AgentKeys::parse(&format!(
            "alice={},bob={}",
            hash_key(kit::ALICE_KEY),
            hash_key(BOB_KEY)
        ))
        .unwrap();
        agent.hours = BusinessHours::from_json(HOURS, Utc::now()).unwrap();
        Rig {
            table,
            bot,
            auto_reply,
            agent,
            fed: Mutex::new(HashSet::new()),
            update: Mutex::new(0),
            _task: task,
        }
    }

    /// The stream records not handed to the function yet, handed at `now` (as the
    /// event source mapping would, shortly after they were written).
    async fn pump(&self, now: DateTime<Utc>) {
        let event = self.table.stream_event().await;
        let fresh: Vec<_> = {
            let mut fed = self.fed.lock().unwrap();
            event
                .records
                .into_iter()
                .filter(|r| fed.insert(r.change.sequence_number.clone().unwrap_or_default()))
                .collect()
        };
        self.feed(fresh, now).await;
    }

    async fn feed(
        &self,
        records: Vec<aws_lambda_events::event::dynamodb::EventRecord>,
        now: DateTime<Utc>,
    ) {
        let mut event = Event::default();
        event.records = records;
        let response = off_hours_auto_reply::handle_batch(event, &self.auto_reply, now).await;
        assert!(response.batch_item_failures.is_empty(), "no record fails");
    }

    /// `chat` writes at `when` (`bot`: a bot's message, which asks for nothing).
    async fn writes(&self, chat: i64, when: &str, bot: bool) {
        let when = at(when);
        let id = {
            let mut u = self.update.lock().unwrap();
            *u += 1;
            *u
        };
        let mut update = kit::tg_text(id, chat, id, when.timestamp(), "hello?");
        if bot {
            update["message"]["from"]["is_bot"] = json!(true);
        }
        let inbound = Arc::new(kit::inbound(self.table.store.clone()));
        let (status, _) = kit::read(
            inbound_webhook::handle(
                &kit::telegram_post(&update, Some(kit::TG_SECRET)),
                &inbound,
                when,
            )
            .await,
        );
        assert_eq!(status, 200);
        self.pump(when + chrono::Duration::seconds(30)).await;
    }

    async fn agent(&self, key: &str, method: &str, path: &str, body: Option<Value>, when: &str) {
        let req = kit::agent_request(method, path, Some(key), body);
        let (status, answer) = kit::read(agent_reply::handle(&req, &self.agent, at(when)).await);
        assert!(status < 300, "{method} {path}: {status} {answer}");
        self.pump(at(when) + chrono::Duration::seconds(30)).await;
    }

    async fn replies(&self, key: &str, chat: i64, when: &str) {
        let id = kit::tg_endpoint(chat).conversation_id();
        let path = format!("/conversations/{id}/messages");
        self.agent(
            key,
            "POST",
            &path,
            Some(json!({"text": "Here to help."})),
            when,
        )
        .await;
    }
}

async fn report(deps: &reports::Reports<DynamoStore>, path: &str, now: &str) -> Value {
    let req = kit::agent_request("GET", path, Some(kit::ALICE_KEY), None);
    let (status, body) = kit::read(reports::handle(&req, deps, at(now)).await);
    assert_eq!(status, 200, "{path}: {body}");
    body
}

/// The script: every wait's expected figures are in the comments (UTC; Berlin is
/// UTC+1 until Sunday 29 March 01:00 UTC, then UTC+2).
async fn script(rig: &Rig) {
    // 101, Fri 08:30 (09:30 local): a note does not answer; alice at 09:00. First
    // wait, 30 business and wall minutes, due 09:30: kept. A bot's message after it
    // starts nothing.
    rig.writes(101, "2026-03-27T08:30:00Z", false).await;
    let c101 = kit::tg_endpoint(101).conversation_id();
    rig.agent(
        BOB_KEY,
        "POST",
        &format!("/conversations/{c101}/notes"),
        Some(json!({"text": "alice knows this one"})),
        "2026-03-27T08:40:00Z",
    )
    .await;
    rig.replies(kit::ALICE_KEY, 101, "2026-03-27T09:00:00Z")
        .await;
    rig.writes(101, "2026-03-27T09:05:00Z", true).await;
    // 102, Fri 10:40, over lunch (11:00-12:00 closed): due 12:40, alice at 12:50:
    // 70 business minutes, 130 wall: broken. The customer answers at 13:00, bob at
    // 13:10: a next wait of 10 minutes, kept.
    rig.writes(102, "2026-03-27T10:40:00Z", false).await;
    rig.replies(kit::ALICE_KEY, 102, "2026-03-27T12:50:00Z")
        .await;
    rig.writes(102, "2026-03-27T13:00:00Z", false).await;
    rig.replies(BOB_KEY, 102, "2026-03-27T13:10:00Z").await;
    // 103, Fri 19:00, closed: the auto-reply promises Sat 22:00 (the night shift
    // opens 21:00, plus 60 minutes). Bob answers at 21:30: 30 business minutes,
    // 1590 wall: kept.
    rig.writes(103, "2026-03-27T19:00:00Z", false).await;
    rig.replies(BOB_KEY, 103, "2026-03-28T21:30:00Z").await;
    // 107, Fri 20:00, closed: promised Sat 22:00 too, but nobody answers in the
    // night shift. The customer writes again Sun 09:00, a new off-hours period: a
    // second auto-reply promises Tue 08:00. The wait is measured by the first
    // promise: bob's answer Tue 07:30 broke it. 270 business minutes (240 of the
    // night shift, 30 on Tuesday), 5010 wall.
    rig.writes(107, "2026-03-27T20:00:00Z", false).await;
    rig.writes(107, "2026-03-29T09:00:00Z", false).await;
    rig.replies(BOB_KEY, 107, "2026-03-31T07:30:00Z").await;
    // 106: only a bot writes: no wait.
    rig.writes(106, "2026-03-28T10:00:00Z", true).await;
    // 104, Sun 10:00 (after the clocks went forward), closed through the Monday
    // holiday: promised Tue 08:00 (09:00 CEST opening plus 60). Alice at 08:30: 90
    // business minutes, 2790 wall: broken.
    rig.writes(104, "2026-03-29T10:00:00Z", false).await;
    rig.replies(kit::ALICE_KEY, 104, "2026-03-31T08:30:00Z")
        .await;
    // 105, Tue 09:00: resolved at 09:10 without an answer (no verdict). Reopened at
    // 12:00: a first wait again, due 13:00, still waiting at 14:00: broken, overdue.
    rig.writes(105, "2026-03-31T09:00:00Z", false).await;
    let c105 = kit::tg_endpoint(105).conversation_id();
    rig.agent(
        kit::ALICE_KEY,
        "PATCH",
        &format!("/conversations/{c105}"),
        Some(json!({"status": "resolved"})),
        "2026-03-31T09:10:00Z",
    )
    .await;
    rig.writes(105, "2026-03-31T12:00:00Z", false).await;
}

const NOW: &str = "2026-03-31T14:00:00Z";
const PERIOD: &str = "from=2026-03-27&to=2026-03-31";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn golden_week_gives_exact_figures_that_redelivery_keeps_and_other_hours_recompute() {
    let rig = Rig::new().await;
    script(&rig).await;
    let deps = reports_over(rig.table.store.clone(), HOURS);

    let s = report(
        &deps,
        &format!("/reports/summary?{PERIOD}&group_by=day"),
        NOW,
    )
    .await;
    let t = &s["totals"];
    assert_eq!(
        (
            &t["waits"],
            &t["answered"],
            &t["ended_without_answer"],
            &t["waiting"]
        ),
        (&json!(8), &json!(6), &json!(1), &json!(1)),
        "{s:#}"
    );
    assert_eq!(
        (&t["promises_due"], &t["promises_kept"], &t["kept_rate"]),
        (&json!(7), &json!(3), &json!(0.4286))
    );
    assert_eq!(
        t["first_reply"],
        json!({"count": 5, "business_minutes": {"median": 70.0, "p90": 270.0},
               "wall_minutes": {"median": 1590.0, "p90": 5010.0}})
    );
    assert_eq!(
        t["next_reply"],
        json!({"count": 1, "business_minutes": {"median": 10.0, "p90": 10.0},
               "wall_minutes": {"median": 10.0, "p90": 10.0}})
    );
    assert_eq!(s["overdue_now"], 1);
    assert_eq!(s["recomputed"], 0);
    let days: Vec<(Value, Value, Value)> = s["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["key"].clone(), g["waits"].clone(), g["kept_rate"].clone()))
        .collect();
    assert_eq!(
        days,
        vec![
            (json!("2026-03-27"), json!(5), json!(0.6)),
            (json!("2026-03-29"), json!(1), json!(0.0)),
            (json!("2026-03-31"), json!(2), json!(0.0)),
        ]
    );

    // By agent: the unanswered ones under "".
    let by_agent = report(
        &deps,
        &format!("/reports/summary?{PERIOD}&group_by=agent"),
        NOW,
    )
    .await;
    let agents: Vec<(Value, Value)> = by_agent["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["key"].clone(), g["answered"].clone()))
        .collect();
    assert_eq!(
        agents,
        vec![
            (json!(""), json!(0)),
            (json!("alice"), json!(3)),
            (json!("bob"), json!(3))
        ]
    );

    // The waits behind the broken promises: the drill-down.
    let broken = report(&deps, &format!("/reports/waits?{PERIOD}&kept=false"), NOW).await;
    let rows: Vec<(Value, Value, Value, Value)> = broken["waits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["conversation"].clone(),
                w["business_minutes"].clone(),
                w["promise_kind"].clone(),
                w["verdict"].clone(),
            )
        })
        .collect();
    let id = |chat: i64| json!(kit::tg_endpoint(chat).conversation_id().as_str());
    assert_eq!(
        rows,
        vec![
            (id(102), json!(70.0), json!("target"), json!("broken")),
            (id(107), json!(270.0), json!("told"), json!("broken")),
            (id(104), json!(90.0), json!("told"), json!("broken")),
            (id(105), Value::Null, json!("target"), json!("broken")),
        ]
    );
    let told = report(
        &deps,
        &format!("/reports/waits?{PERIOD}&channel=telegram&agent=bob&kind=first"),
        NOW,
    )
    .await;
    assert_eq!(told["waits"][0]["told_reply_by"], "2026-03-28T22:00:00Z");
    assert_eq!(told["waits"][0]["wall_minutes"], 1590.0);
    // 107's second auto-reply did not move its promise.
    assert_eq!(told["waits"][1]["conversation"], id(107));
    assert_eq!(told["waits"][1]["told_reply_by"], "2026-03-28T22:00:00Z");
    assert_eq!(told["waits"][1]["wall_minutes"], 5010.0);
    assert_eq!(told["waits"].as_array().unwrap().len(), 2);

    // Paged, then as CSV.
    let page = report(&deps, &format!("/reports/waits?{PERIOD}&limit=5"), NOW).await;
    assert_eq!(page["waits"].as_array().unwrap().len(), 5);
    let cursor = page["next_cursor"].as_str().unwrap().to_string();
    let rest = report(
        &deps,
        &format!("/reports/waits?{PERIOD}&limit=5&cursor={cursor}"),
        NOW,
    )
    .await;
    assert_eq!(rest["waits"].as_array().unwrap().len(), 3);
    assert_eq!(rest["next_cursor"], Value::Null);
    let req = kit::agent_request(
        "GET",
        &format!("/reports/waits?{PERIOD}&format=csv"),
        Some(kit::ALICE_KEY),
        None,
    );
    let resp = reports::handle(&req, &deps, at(NOW)).await;
    assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = String::from_utf8(resp.body().to_vec()).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 9, "{csv}");
    assert!(lines[0].starts_with("conversation,channel,kind,started_at,ended_at,outcome,agent"));
    assert!(
        lines.iter().any(|l| l.contains(",2026-03-27T10:40:00Z,2026-03-27T12:50:00Z,answered,alice,target,2026-03-27T12:40:00Z,,70,130,false,broken,")),
        "{csv}"
    );

    // Calibration over the week before now: the six answered waits needed 10, 30,
    // 30, 70, 90 and 270 minutes; 60 kept 3 of 6; 270 keeps all.
    let c = report(&deps, "/reports/calibration?weeks=1", NOW).await;
    let all = c["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["channel"] == "all")
        .unwrap()
        .clone();
    assert_eq!(
        all,
        json!({"channel": "all", "samples": 6, "enough_samples": false, "configured_minutes": 60,
               "configured_kept_rate": 0.5, "suggested_minutes": 270, "suggested_kept_rate": 1.0})
    );

    // The whole stream again, later (a redelivery): nothing changes, nothing sent twice.
    let before = report(&deps, &format!("/reports/waits?{PERIOD}"), NOW).await;
    let sent_before = rig.bot.outbox().len();
    let all_records = rig.table.stream_event().await.records;
    rig.feed(all_records, at("2026-03-31T14:05:00Z")).await;
    let after = report(&deps, &format!("/reports/waits?{PERIOD}"), NOW).await;
    assert_eq!(before, after);
    assert_eq!(rig.bot.outbox().len(), sent_before, "no auto-reply twice");

    // Other hours: the same raw times measured again, and said so.
    let other = reports_over(rig.table.store.clone(), OTHER_HOURS);
    let s2 = report(&other, &format!("/reports/summary?{PERIOD}"), NOW).await;
    assert_eq!(s2["recomputed"], 8);
    assert_ne!(s2["hours"], s["hours"]);
    assert_eq!(
        s2["totals"]["first_reply"]["business_minutes"],
        json!({"median": 90.0, "p90": 270.0}),
        "no lunch break: 102 waited 130 business minutes"
    );
    // 120 minutes to answer in one stretch: 102 still due 12:40 (broken); 105 due
    // 14:00, not passed yet; the told promises stay what the customers were told.
    assert_eq!(
        (
            &s2["totals"]["promises_due"],
            &s2["totals"]["promises_kept"]
        ),
        (&json!(6), &json!(3))
    );
}
