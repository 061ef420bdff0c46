//! Email threading: which conversation a mail belongs to.
//!
//! The rule (docs/data-model.md, "Email threads"), first match wins:
//! 1. A recipient `<our local part>+<conversation id>@<our domain>`: the Reply-To
//!    token of our replies, so threading survives clients that drop headers.
//! 2. In-Reply-To, then References (newest first): a Message-ID we stored, of a
//!    customer mail or of our own reply (SES rewrites ours to `<SES id@...amazonses.com>`
//!    in every region's form, matched by the SES id).
//! 3. The same customer's most recent conversation with the same subject, after
//!    stripping reply and forward prefixes (Re:, Fwd:, AW:, SV:, ...).
//! 4. Otherwise the mail starts a conversation of its own.
//!
//! Keys are digests, so no address or header value shows in a table key.

use crate::conversation::{Channel, ConversationId};
use sha2::{Digest, Sha256};

fn digest(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p.as_bytes());
    }
    hex::encode(&h.finalize()[..16])
}

/// The id between the angle brackets, trimmed.
pub fn bare_id(id: &str) -> &str {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
}

/// `id` (with or without angle brackets) when it is a msg-id by RFC 5322 3.6.4
/// (`dot-atom-text "@" (dot-atom-text / no-fold-literal)`, at most 250 characters),
/// without its brackets; `None` otherwise. Only such ids are kept and echoed.
pub fn valid_msg_id(id: &str) -> Option<String> {
    let bare = bare_id(id);
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    let dot_atom =
        |s: &str| !s.is_empty() && s.split('.').all(|a| !a.is_empty() && a.chars().all(atext));
    let (left, right) = bare.rsplit_once('@')?;
    let literal = |s: &str| {
        s.len() >= 2
            && s.starts_with('[')
            && s.ends_with(']')
            && s[1..s.len() - 1]
                .chars()
                .all(|c| c.is_ascii_graphic() && !matches!(c, '[' | ']' | '\\'))
    };
    (bare.len() <= 250 && dot_atom(left) && (dot_atom(right) || literal(right)))
        .then(|| bare.to_string())
}

/// The SES message id a Message-ID carries when SES assigned it
/// (`<id@email.amazonses.com>`, `<id@us-west-2.amazonses.com>`, ...).
pub fn ses_id(message_id: &str) -> Option<&str> {
    let (local, domain) = bare_id(message_id).rsplit_once('@')?;
    let domain = domain.to_ascii_lowercase();
    (domain == "amazonses.com" || domain.ends_with(".amazonses.com")).then_some(local)
}

/// The thread key of a Message-ID.
pub fn message_id_key(message_id: &str) -> String {
    match ses_id(message_id) {
        Some(id) => ses_key(id),
        None => format!("mid:{}", digest(&[bare_id(message_id)])),
    }
}

/// The thread key of a mail SES accepted from us, by the id SendEmail returned.
pub fn ses_key(ses_message_id: &str) -> String {
    format!("ses:{}", digest(&[ses_message_id.trim()]))
}

/// Reply and forward prefixes stripped from subjects (case-insensitive), in the
/// languages mail clients write them in.
const PREFIXES: &[&str] = &[
    "re",
    "fw",
    "fwd",
    "aw",
    "wg",
    "sv",
    "vs",
    "antw",
    "doorst",
    "tr",
    "rif",
    "r",
    "ref",
    "réf",
    "res",
    "enc",
    "odp",
    "pd",
    "ynt",
    "ilt",
    "atb",
    "vl",
    "vb",
    "auto",
    "automatic reply",
    "autoreply",
    "out of office",
];

/// The subject without reply/forward prefixes (`Re: AW: Fwd[2]: x` -> `x`),
/// whitespace collapsed.
pub fn normalize_subject(subject: &str) -> String {
    let mut s = subject.trim();
    loop {
        let before = s;
        if let Some(colon) = s.find([':', '：']) {
            let head = s[..colon].trim();
            // "Re[2]" / "Re(2)" counters.
            let word = head
                .split(['[', '('])
                .next()
                .unwrap_or_default()
                .trim()
                .to_lowercase();
            if PREFIXES.contains(&word.as_str()) {
                let colon_len = s[colon..].chars().next().map_or(1, char::len_utf8);
                s = s[colon + colon_len..].trim_start();
            }
        }
        // "[EXTERNAL] ..." style tags some gateways add.
        if s.starts_with('[')
            && let Some(end) = s.find(']')
            && s[1..end].eq_ignore_ascii_case("external")
        {
            s = s[end + 1..].trim_start();
        }
        if s == before {
            break;
        }
    }
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The key of "this customer's latest conversation with this subject"; `None` for
/// an empty subject (those never join by subject).
pub fn subject_key(customer: &str, subject: &str) -> Option<String> {
    let normalized = normalize_subject(subject).to_lowercase();
    (!normalized.is_empty()).then(|| format!("subj:{}", digest(&[customer, &normalized])))
}

/// The conversation a recipient address names with our Reply-To token, if any.
pub fn token_conversation(recipient: &str, local: &str, domain: &str) -> Option<ConversationId> {
    let address = bare_id(recipient).to_ascii_lowercase();
    let (l, d) = address.rsplit_once('@')?;
    let (base, token) = l.split_once('+')?;
    if base != local || d != domain {
        return None;
    }
    ConversationId::parse(token).filter(|id| id.channel() == Channel::Email)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_lose_their_prefixes() {
        for (raw, want) in [
            ("Re: Refund", "Refund"),
            ("RE: AW: Fwd: Refund  please", "Refund please"),
            ("Re[2]: Refund", "Refund"),
            ("SV: VS: Tilbud", "Tilbud"),
            ("Auto: Re: Refund", "Refund"),
            ("Automatic reply: Refund", "Refund"),
            ("[EXTERNAL] Re: Refund", "Refund"),
            ("Réf : Commande", "Commande"),
            ("Recipe: pancakes", "Recipe: pancakes"),
            ("Re:", ""),
        ] {
            assert_eq!(normalize_subject(raw), want, "{raw}");
        }
        assert_eq!(
            subject_key("a@b.c", "Re: Refund"),
            subject_key("a@b.c", "refund")
        );
        assert_ne!(
            subject_key("a@b.c", "Refund"),
            subject_key("x@b.c", "Refund")
        );
        assert_eq!(subject_key("a@b.c", "Re: "), None);
    }

    #[test]
    fn only_valid_msg_ids_pass() {
        for ok in ["<a.b@c.d>", "a@b", "<x$y@[127.0.0.1]>", " <id-1@host> "] {
            assert!(valid_msg_id(ok).is_some(), "{ok}");
        }
        assert_eq!(valid_msg_id("<a@b>").as_deref(), Some("a@b"));
        for bad in [
            "",
            "<>",
            "no-at",
            "<a b@c>",
            "<a@b c>",
            "a@",
            "@b",
            "<a..b@c>",
            "<a@b>\r\nBcc: x@y",
            "<\"q\"@b>",
            "a@b@c\n",
        ] {
            assert!(valid_msg_id(bad).is_none(), "{bad:?}");
        }
        assert!(valid_msg_id(&format!("{}@b", "a".repeat(300))).is_none());
    }

    #[test]
    fn ses_rewritten_ids_match_in_every_region_form() {
        let id = "0100018c1d2e3f4a-5b6c7d8e-1111-2222-3333-444455556666-000000";
        let east = format!("<{id}@email.amazonses.com>");
        let west = format!("<{id}@us-west-2.amazonses.com>");
        assert_eq!(message_id_key(&east), ses_key(id));
        assert_eq!(message_id_key(&west), ses_key(id));
        assert_ne!(
            message_id_key("<abc@mail.gmail.com>"),
            message_id_key("<abd@mail.gmail.com>")
        );
        assert_eq!(message_id_key("<abc@x>"), message_id_key("abc@x"));
    }

    #[test]
    fn only_our_tagged_address_names_a_conversation() {
        let id = "em-0123456789abcdef0123456789abcdef";
        assert_eq!(
            token_conversation(
                &format!("Support+{id}@Acme.example"),
                "support",
                "acme.example"
            )
            .map(|c| c.to_string()),
            Some(id.to_string())
        );
        assert!(
            token_conversation(
                &format!("sales+{id}@acme.example"),
                "support",
                "acme.example"
            )
            .is_none()
        );
        assert!(
            token_conversation(
                "support+wa-0123456789abcdef0123456789abcdef@acme.example",
                "support",
                "acme.example"
            )
            .is_none()
        );
        assert!(
            token_conversation("support+junk@acme.example", "support", "acme.example").is_none()
        );
    }
}
