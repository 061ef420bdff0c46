//! `BUSINESS_HOURS`: parsing and validation. Every error names its JSON field.

use super::{
    BusinessHours, ChannelTemplates, DEFAULT_LOCAL_FORMAT, DEFAULT_REPLY_BY_FORMAT,
    DEFAULT_UNKNOWN_NAME, HORIZON_DAYS, Templates, Window,
};
use crate::conversation::Channel;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use thiserror::Error;

/// A business-hours configuration that failed validation; `field` names the JSON path.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("BUSINESS_HOURS.{field}: {reason}")]
pub struct HoursError {
    pub field: String,
    pub reason: String,
}

fn err(field: impl Into<String>, reason: impl Into<String>) -> HoursError {
    HoursError {
        field: field.into(),
        reason: reason.into(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHours {
    timezone: String,
    #[serde(default)]
    weekly: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    holidays: Vec<Value>,
    #[serde(default)]
    first_response_minutes: u32,
    auto_reply: RawAutoReply,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAutoReply {
    default: String,
    #[serde(default)]
    languages: BTreeMap<String, String>,
    #[serde(default)]
    channels: BTreeMap<String, RawChannelTemplates>,
    reply_by_format: Option<String>,
    local_format: Option<String>,
    unknown_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChannelTemplates {
    default: Option<String>,
    #[serde(default)]
    languages: BTreeMap<String, String>,
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// The placeholders an auto-reply template may use.
pub const PLACEHOLDERS: [&str; 4] = ["reply_by", "next_open", "reply_by_local", "customer_name"];

/// Longest holiday range (days).
const MAX_RANGE_DAYS: i64 = 366;

fn windows(list: &[String], field: &str) -> Result<Vec<Window>, HoursError> {
    let mut parsed = Vec::with_capacity(list.len());
    for (i, w) in list.iter().enumerate() {
        parsed.push(Window::parse(w).map_err(|r| err(format!("{field}[{i}]"), r))?);
    }
    parsed.sort_by_key(|w| w.start);
    for pair in parsed.windows(2) {
        if pair[1].start < pair[0].end {
            return Err(err(field, "windows of the same date overlap"));
        }
    }
    Ok(parsed)
}

fn date(v: &str, field: &str) -> Result<NaiveDate, HoursError> {
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .ok()
        .filter(|_| v.len() == 10)
        .ok_or_else(|| err(field, format!("{v:?} is not a date like \"2026-12-25\"")))
}

/// The dates `holidays` lists, each with its own windows (empty: closed).
fn holidays(raw: &[Value]) -> Result<BTreeMap<NaiveDate, Vec<Window>>, HoursError> {
    let mut listed = BTreeMap::new();
    let mut add = |d: NaiveDate, w: Vec<Window>, field: &str| {
        if listed.insert(d, w).is_some() {
            return Err(err(field, format!("{d} is listed more than once")));
        }
        Ok(())
    };
    for (i, entry) in raw.iter().enumerate() {
        let field = format!("holidays[{i}]");
        match entry {
            Value::String(s) => add(date(s, &field)?, Vec::new(), &field)?,
            Value::Object(o) if o.contains_key("from") || o.contains_key("to") => {
                if o.len() != 2 {
                    return Err(err(&field, "a range is {\"from\": date, \"to\": date}"));
                }
                let get = |k: &str| {
                    o.get(k)
                        .and_then(Value::as_str)
                        .ok_or_else(|| err(format!("{field}.{k}"), "must be a date string"))
                };
                let from = date(get("from")?, &format!("{field}.from"))?;
                let to = date(get("to")?, &format!("{field}.to"))?;
                if to < from {
                    return Err(err(
                        &field,
                        format!("the range runs backwards ({from} > {to})"),
                    ));
                }
                if (to - from).num_days() >= MAX_RANGE_DAYS {
                    return Err(err(&field, "a range is at most 366 days"));
                }
                let mut d = from;
                while d <= to {
                    add(d, Vec::new(), &field)?;
                    d = d
                        .succ_opt()
                        .ok_or_else(|| err(&field, "date out of range"))?;
                }
            }
            Value::Object(o) if o.contains_key("date") => {
                if o.keys().any(|k| k != "date" && k != "hours") {
                    return Err(err(
                        &field,
                        "special hours are {\"date\": date, \"hours\": [...]}",
                    ));
                }
                let d = o
                    .get("date")
                    .and_then(Value::as_str)
                    .ok_or_else(|| err(format!("{field}.date"), "must be a date string"))?;
                let d = date(d, &format!("{field}.date"))?;
                let hours: Vec<String> = match o.get("hours") {
                    Some(Value::Array(a)) => a
                        .iter()
                        .map(|h| h.as_str().map(str::to_string))
                        .collect::<Option<_>>()
                        .ok_or_else(|| {
                            err(
                                format!("{field}.hours"),
                                "must be a list of \"HH:MM-HH:MM\"",
                            )
                        })?,
                    _ => {
                        return Err(err(
                            format!("{field}.hours"),
                            "must be a list of \"HH:MM-HH:MM\" ([] for closed)",
                        ));
                    }
                };
                add(d, windows(&hours, &format!("{field}.hours"))?, &field)?;
            }
            _ => {
                return Err(err(
                    &field,
                    "must be a date \"2026-12-25\", a range {\"from\", \"to\"} or {\"date\", \"hours\"}",
                ));
            }
        }
    }
    Ok(listed)
}

/// Checks a template's placeholders.
fn check_template(template: &str, field: &str) -> Result<(), HoursError> {
    if template.trim().is_empty() {
        return Err(err(field, "must not be empty"));
    }
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let close = rest[open..]
            .find('}')
            .ok_or_else(|| err(field, "unclosed '{' in template"))?
            + open;
        let name = &rest[open + 1..close];
        if !PLACEHOLDERS.contains(&name) {
            return Err(err(
                field,
                format!(
                    "unknown placeholder {{{name}}}; use {}",
                    PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", ")
                ),
            ));
        }
        rest = &rest[close + 1..];
    }
    Ok(())
}

fn languages(
    raw: BTreeMap<String, String>,
    field: &str,
) -> Result<BTreeMap<String, String>, HoursError> {
    let mut out = BTreeMap::new();
    for (tag, template) in raw {
        let f = format!("{field}.{tag}");
        let ok = !tag.is_empty()
            && tag.len() <= 35
            && tag
                .split('-')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric()));
        if !ok {
            return Err(err(&f, "must be a language tag like \"de\" or \"pt-BR\""));
        }
        check_template(&template, &f)?;
        if out.insert(tag.to_ascii_lowercase(), template).is_some() {
            return Err(err(&f, "language listed twice (tags are case-insensitive)"));
        }
    }
    Ok(out)
}

/// A strftime format chrono can render (some specifiers parse but cannot format).
fn check_format(format: &str, tz: Tz, field: &str) -> Result<(), HoursError> {
    use std::fmt::Write;
    let sample = DateTime::<Utc>::UNIX_EPOCH.with_timezone(&tz);
    let mut out = String::new();
    let ok = !chrono::format::StrftimeItems::new(format)
        .any(|i| matches!(i, chrono::format::Item::Error))
        && write!(out, "{}", sample.format(format)).is_ok();
    if ok {
        Ok(())
    } else {
        Err(err(
            field,
            format!("{format:?} is not a valid strftime format"),
        ))
    }
}

impl BusinessHours {
    /// Parses and validates the `BUSINESS_HOURS` JSON; `now` is when the function
    /// starts (the schedule must open within the 366 days after it).
    pub fn from_json(json: &str, now: DateTime<Utc>) -> Result<Self, HoursError> {
        let mut de = serde_json::Deserializer::from_str(json);
        let raw: RawHours = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let msg = e.inner().to_string();
            // serde names an unknown or missing field in backticks; add it to the path.
            let named = (msg.starts_with("unknown field") || msg.starts_with("missing field"))
                .then(|| msg.split('`').nth(1))
                .flatten();
            let field = match (path.as_str(), named) {
                (".", Some(name)) => name.to_string(),
                (".", None) => "(root)".to_string(),
                (p, Some(name)) if !p.ends_with(name) => format!("{p}.{name}"),
                (p, _) => p.to_string(),
            };
            err(field, msg)
        })?;
        let timezone: Tz = raw.timezone.parse().map_err(|_| {
            err(
                "timezone",
                format!("{:?} is not an IANA time zone", raw.timezone),
            )
        })?;
        let mut weekly: [Vec<Window>; 7] = Default::default();
        for (day, list) in &raw.weekly {
            let idx = DAYS.iter().position(|d| d == day).ok_or_else(|| {
                err(
                    format!("weekly.{day}"),
                    "day must be one of mon, tue, wed, thu, fri, sat, sun",
                )
            })?;
            weekly[idx] = windows(list, &format!("weekly.{day}"))?;
        }
        let listed = holidays(&raw.holidays)?;
        if raw.first_response_minutes > 7 * 24 * 60 {
            return Err(err(
                "first_response_minutes",
                "must be at most one week (10080)",
            ));
        }
        let a = raw.auto_reply;
        check_template(&a.default, "auto_reply.default")?;
        let mut channels = BTreeMap::new();
        for (name, t) in a.channels {
            let f = format!("auto_reply.channels.{name}");
            if Channel::parse(&name).is_none() {
                return Err(err(
                    &f,
                    format!(
                        "unknown channel; one of {}",
                        Channel::ALL.map(|c| c.as_str()).join(", ")
                    ),
                ));
            }
            if let Some(d) = &t.default {
                check_template(d, &format!("{f}.default"))?;
            }
            channels.insert(
                name,
                ChannelTemplates {
                    default: t.default,
                    languages: languages(t.languages, &format!("{f}.languages"))?,
                },
            );
        }
        let templates = Templates {
            default: a.default,
            languages: languages(a.languages, "auto_reply.languages")?,
            channels,
        };
        let reply_by_format = a
            .reply_by_format
            .unwrap_or_else(|| DEFAULT_REPLY_BY_FORMAT.to_string());
        check_format(&reply_by_format, timezone, "auto_reply.reply_by_format")?;
        let local_format = a
            .local_format
            .unwrap_or_else(|| DEFAULT_LOCAL_FORMAT.to_string());
        check_format(&local_format, timezone, "auto_reply.local_format")?;
        let hours = BusinessHours {
            timezone,
            weekly,
            listed,
            first_response_minutes: raw.first_response_minutes,
            templates,
            reply_by_format,
            local_format,
            unknown_name: a
                .unknown_name
                .unwrap_or_else(|| DEFAULT_UNKNOWN_NAME.to_string()),
        };
        let horizon = now + Duration::days(HORIZON_DAYS);
        if !hours.is_open(now) && hours.next_open(now).is_none_or(|t| t > horizon) {
            let field = if hours.weekly.iter().all(Vec::is_empty) {
                "weekly"
            } else {
                "holidays"
            };
            return Err(err(
                field,
                "the schedule has no open time in the coming 366 days",
            ));
        }
        Ok(hours)
    }
}
