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

    /// The auto-reply for a message received in `period`. The customer's name is a
    /// sender's own words: it goes in only as [`safe_name`] allows.
    pub fn auto_reply_text(&self, period: &OffHoursPeriod, recipient: &Recipient) -> String {
        let name = recipient.name.and_then(safe_name);
        let name = name.as_deref().unwrap_or(&self.unknown_name);
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

/// Longest customer name an auto-reply repeats, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// `name` as an auto-reply may repeat it: one line, white space collapsed, at most
/// [`MAX_NAME_CHARS`] characters; `None` when it is empty or carries anything that
/// reads as a link or an address (`://`, `www.`, `@`, `/`, a dotted host name), so
/// that no one can make our mail carry their link under our name.
pub fn safe_name(name: &str) -> Option<String> {
    let words: Vec<&str> = name
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect();
    let link_like = |w: &str| {
        let lower = w.to_lowercase();
        lower.contains("://")
            || lower.starts_with("www.")
            || w.contains(['@', '/', '\\', '<', '>'])
            || w.split('.').filter(|p| !p.is_empty()).count() >= 2
                && w.split('.')
                    .skip(1)
                    .any(|p| p.chars().any(char::is_alphabetic))
                && !w.split('.').all(|p| p.chars().count() <= 1)
    };
    if words.is_empty() || words.iter().any(|w| link_like(w)) {
        return None;
    }
    Some(
        words
            .join(" ")
            .chars()
            .take(MAX_NAME_CHARS)
            .collect::<String>()
            .trim_end()
            .to_string(),
    )
}

#[cfg(test)]
mod name_tests {
    use super::safe_name;

    #[test]
    fn a_name_goes_in_only_as_one_short_line_without_links() {
        assert_eq!(
            safe_name("  Ada \r\n Lovelace ").as_deref(),
            Some("Ada Lovelace")
        );
        assert_eq!(
            safe_name("J. R. R. Tolkien").as_deref(),
            Some("J. R. R. Tolkien")
        );
        assert_eq!(
            safe_name("Zoë O'Brien-Łukasz").as_deref(),
            Some("Zoë O'Brien-Łukasz")
        );
        assert_eq!(
            safe_name(&"a".repeat(500)).map(|n| n.chars().count()),
            Some(64)
        );
        for bad in [
            "",
            "   ",
            "Visit https://evil.example now",
            "www.evil.example",
            "Claim your prize at evil.example",
            "ada@example.org",
            "Ada<script>",
            "evil.example/login",
        ] {
            assert_eq!(safe_name(bad), None, "{bad}");
        }
    }
}
