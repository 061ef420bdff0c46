//! `PATCH /conversations/{id}`: status (`open`, `resolved`, `snoozed` until an
//! instant, the next opening or the next business day), assignee, priority.

use crate::{Agent, Store, json_body};
use asyncdesk::conversation::ConversationId;
use asyncdesk::hours::BusinessHours;
use asyncdesk::http::{ApiError, json};
use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, Response};
use serde_json::json as j;
use tracing::info;

/// `snooze_until`: an RFC 3339 instant, `next_opening` (the business's next
/// opening after the current open stretch) or `next_business_day` (the first
/// opening on a later local date), from `BUSINESS_HOURS`.
fn snooze_target(
    v: Option<&str>,
    hours: &BusinessHours,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, ApiError> {
    let none = || ApiError::bad_request("the business hours have no opening within the horizon");
    match v {
        Some("next_opening") => hours.next_opening(now).ok_or_else(none),
        Some("next_business_day") => hours.next_business_day(now).ok_or_else(none),
        Some(t) => DateTime::parse_from_rfc3339(t)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| bad_snooze()),
        None => Err(bad_snooze()),
    }
}

fn bad_snooze() -> ApiError {
    ApiError::bad_request(
        "snooze_until must be an RFC 3339 instant, \"next_opening\" or \"next_business_day\"",
    )
}

/// Snoozing is for up to a year.
pub const MAX_SNOOZE_DAYS: i64 = 366;

/// `PATCH /conversations/{id}`: status (`open`, `resolved`, `snoozed` with
/// `snooze_until`), `assignee` (an agent id, `me`, or null), `priority`.
pub(crate) async fn change<S: Store, O>(
    id: ConversationId,
    req: &Request,
    agent: &str,
    deps: &Agent<S, O>,
    now: DateTime<Utc>,
) -> Result<Response<Body>, ApiError> {
    use asyncdesk::conversation::Priority;
    use asyncdesk::ports::{StateChange, StatusChange};
    let body: serde_json::Map<String, serde_json::Value> = json_body(req, "a JSON object")?;
    let allowed = ["status", "snooze_until", "assignee", "priority"];
    if let Some(unknown) = body.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(ApiError::bad_request(format!(
            "unknown field {unknown:?}; one of status, snooze_until, assignee, priority"
        )));
    }
    if body.is_empty() {
        return Err(ApiError::bad_request("nothing to change"));
    }
    let mut change = StateChange::default();
    let snooze_until = match body.get("snooze_until") {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => Some(snooze_target(v.as_str(), &deps.hours, now)?),
    };
    match body.get("status").map(|v| v.as_str()) {
        None => {
            if snooze_until.is_some() {
                return Err(ApiError::bad_request(
                    "snooze_until goes with \"status\": \"snoozed\"",
                ));
            }
        }
        Some(Some("open")) | Some(Some("resolved")) if snooze_until.is_some() => {
            return Err(ApiError::bad_request(
                "snooze_until goes with \"status\": \"snoozed\"",
            ));
        }
        Some(Some("open")) => change.status = Some(StatusChange::Open),
        Some(Some("resolved")) => change.status = Some(StatusChange::Resolved),
        Some(Some("snoozed")) => {
            let until = snooze_until.ok_or_else(|| {
                ApiError::bad_request("\"status\": \"snoozed\" needs snooze_until")
            })?;
            if until <= now || until > now + chrono::Duration::days(MAX_SNOOZE_DAYS) {
                return Err(ApiError::bad_request(
                    "snooze_until must be in the future, within a year",
                ));
            }
            change.status = Some(StatusChange::Snoozed { until });
        }
        _ => {
            return Err(ApiError::bad_request(
                "status must be open, resolved or snoozed",
            ));
        }
    }
    match body.get("assignee") {
        None => {}
        Some(serde_json::Value::Null) => change.assignee = Some(None),
        Some(serde_json::Value::String(a)) if a == "me" => {
            change.assignee = Some(Some(agent.to_string()))
        }
        Some(serde_json::Value::String(a)) if deps.keys.knows(a) => {
            change.assignee = Some(Some(a.clone()))
        }
        Some(_) => {
            return Err(ApiError::bad_request(
                "assignee must be an agent id of AGENT_API_KEYS, \"me\" or null",
            ));
        }
    }
    match body.get("priority").map(|v| v.as_str()) {
        None => {}
        Some(Some("normal")) => change.priority = Some(Priority::Normal),
        Some(Some("urgent")) => change.priority = Some(Priority::Urgent),
        _ => return Err(ApiError::bad_request("priority must be normal or urgent")),
    }
    let conversation = deps.store.change_state(&id, &change, now).await?;
    info!(event = "state", conversation = %id, agent, status = conversation.status.as_str(), "conversation changed");
    Ok(json(
        200,
        &j!({ "conversation": crate::queue::row(&conversation, deps, now) }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours() -> BusinessHours {
        BusinessHours::from_json(
            r#"{"timezone":"Europe/Berlin","weekly":{"mon":["09:00-17:00"],"tue":["09:00-17:00"]},"auto_reply":{"default":"x"}}"#,
            "2026-11-01T00:00:00Z".parse().unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn snooze_targets_are_instants_or_the_schedules_openings() {
        let h = hours();
        // Monday 2026-11-23, 10:00 in Berlin: open; next opening Tuesday 09:00.
        let now: DateTime<Utc> = "2026-11-23T09:00:00Z".parse().unwrap();
        let tuesday: DateTime<Utc> = "2026-11-24T08:00:00Z".parse().unwrap();
        assert_eq!(
            snooze_target(Some("next_opening"), &h, now).unwrap(),
            tuesday
        );
        assert_eq!(
            snooze_target(Some("next_business_day"), &h, now).unwrap(),
            tuesday
        );
        assert_eq!(
            snooze_target(Some("2026-11-25T10:00:00+01:00"), &h, now).unwrap(),
            "2026-11-25T09:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        for bad in [Some("tomorrow"), Some(""), None] {
            assert_eq!(snooze_target(bad, &h, now).unwrap_err().status, 400);
        }
    }
}
