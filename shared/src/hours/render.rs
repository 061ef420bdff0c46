//! The auto-reply text: the template for the customer's channel and language, with
//! the promise in the business's time and, where the customer's zone is known, in
//! theirs.

use super::{BusinessHours, OffHoursPeriod, phone_zones::PHONE_ZONES};
use crate::conversation::Channel;
use chrono::{DateTime, FixedOffset, Utc};
use chrono_tz::Tz;

/// The customer's own time zone, where a channel lets us infer it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerZone {
    /// From a phone number's calling code (a country with one time zone).
    Named(Tz),
    /// From an email's Date header (an offset: it does not know about DST).
    Offset(FixedOffset),
}

impl CustomerZone {
    /// Reads the stored form: an IANA name, or an offset like `+09:00`.
    pub fn parse(s: &str) -> Option<Self> {
        if let Ok(tz) = s.parse::<Tz>() {
            return Some(CustomerZone::Named(tz));
        }
        let (sign, rest) = match s.as_bytes().first()? {
            b'+' => (1, &s[1..]),
            b'-' => (-1, &s[1..]),
            _ => return None,
        };
        let (h, m) = rest.split_once(':')?;
        let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
        if (0..=14).contains(&h) && (0..60).contains(&m) {
            FixedOffset::east_opt(sign * (h * 3600 + m * 60)).map(CustomerZone::Offset)
        } else {
            None
        }
    }

    /// From an offset in minutes east of UTC.
    pub fn from_offset_minutes(minutes: i32) -> Option<Self> {
        FixedOffset::east_opt(minutes * 60).map(CustomerZone::Offset)
    }

    /// The zone of a phone number in international form (digits, optionally with a
    /// leading `+`), when its calling code's country has one time zone.
    pub fn from_phone(number: &str) -> Option<Self> {
        let digits = number.trim_start_matches('+');
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // Calling codes are prefix-free: at most one of 1, 2 or 3 digits matches.
        (1..=3).filter(|n| *n <= digits.len()).find_map(|n| {
            let code: u16 = digits[..n].parse().ok()?;
            let i = PHONE_ZONES.binary_search_by_key(&code, |(c, _)| *c).ok()?;
            PHONE_ZONES[i].1.parse::<Tz>().ok().map(CustomerZone::Named)
        })
    }

    /// The stored form.
    pub fn as_string(&self) -> String {
        match self {
            CustomerZone::Named(tz) => tz.name().to_string(),
            CustomerZone::Offset(o) => o.to_string(),
        }
    }

    fn format(&self, at: DateTime<Utc>, format: &str) -> String {
        match self {
            CustomerZone::Named(tz) => at.with_timezone(tz).format(format).to_string(),
            CustomerZone::Offset(o) => at.with_timezone(o).format(format).to_string(),
        }
    }
}

/// Who an auto-reply goes to.
#[derive(Debug, Clone, Copy, Default)]
pub struct Recipient<'a> {
    pub channel: Option<Channel>,
    /// An IETF language tag (`de`, `pt-BR`).
    pub language: Option<&'a str>,
    pub name: Option<&'a str>,
    pub zone: Option<CustomerZone>,
}

impl BusinessHours {
    /// `at` in the business's time zone, with `reply_by_format`.
    pub fn render_reply_by(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.timezone)
            .format(&self.reply_by_format)
            .to_string()
    }

    /// `at` in the customer's own time with `local_format` ("Tue 1 Dec, 17:00 your
    /// time"), or in the business's when their zone is unknown.
    pub fn render_local(&self, at: DateTime<Utc>, zone: Option<CustomerZone>) -> String {
        match zone {
            Some(z) => z.format(at, &self.local_format),
            None => self.render_reply_by(at),
        }
    }

    /// The template for `recipient`: their channel's in their language, else the
    /// general one in their language, else their channel's default, else the default.
    /// A language matches exactly (`pt-br`) or by its primary tag (`pt`).
    pub fn template_for(&self, recipient: &Recipient) -> &str {
        let t = &self.templates;
        let tags: Vec<String> = recipient
            .language
            .map(|l| {
                let l = l.trim().to_ascii_lowercase().replace('_', "-");
                let primary = l.split('-').next().unwrap_or_default().to_string();
                if primary == l {
                    vec![l]
                } else {
                    vec![l, primary]
                }
            })
            .unwrap_or_default();
        let channel = recipient.channel.and_then(|c| t.channels.get(c.as_str()));
        fn by_language<'m>(
            map: &'m std::collections::BTreeMap<String, String>,
            tags: &[String],
        ) -> Option<&'m str> {
            tags.iter().find_map(|tag| map.get(tag)).map(String::as_str)
        }
        channel
            .and_then(|c| by_language(&c.languages, &tags))
            .or_else(|| by_language(&t.languages, &tags))
            .or_else(|| channel.and_then(|c| c.default.as_deref()))
            .unwrap_or(&t.default)
    }

    /// The auto-reply for a message received in `period`.
    pub fn auto_reply_text(&self, period: &OffHoursPeriod, recipient: &Recipient) -> String {
        let name = recipient
            .name
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .unwrap_or(&self.unknown_name);
        self.template_for(recipient)
            .replace(
                "{reply_by_local}",
                &self.render_local(period.reply_by, recipient.zone),
            )
            .replace("{reply_by}", &self.render_reply_by(period.reply_by))
            .replace("{next_open}", &self.render_reply_by(period.opens_at))
            .replace("{customer_name}", name)
    }
}
